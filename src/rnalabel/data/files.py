"""Atomic file output: a temporary file next to the target, renamed into place only on success.

Only regular files are replaced that way. A symbolic link is followed (its target is written atomically, the
link stays), a character device or a FIFO is written through (``/dev/null``, a named pipe), and ``-`` means
standard output for the writers that open their output with :func:`open_output`.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import shutil
import stat
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from rnalabel.errors import InputError

#: environment variable naming the cache root
CACHE_ENV = "RNALABEL_CACHE"


def cache_root() -> Path:
    """The cache root: ``$RNALABEL_CACHE`` when set (and not empty), else ``~/.cache/rnalabel``."""
    env = os.environ.get(CACHE_ENV)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "rnalabel"


def safe_filename(name: Any, *, limit: int = 80) -> str:
    """``name`` (a label, a sequence id ... that comes from data) made safe as one file or folder name: letters,
    digits, ``-``, ``_`` and ``.`` are kept, everything else becomes ``_``, and a name that starts with a dot
    (``..``, a hidden file) or is empty gets a ``_`` in front, so it can never leave the folder it is written in."""
    text = "".join(c if (c.isascii() and c.isalnum()) or c in "-_." else "_" for c in str(name))[:limit]
    return "_" + text if not text or text.startswith(".") else text


def sha256_file(path: str | os.PathLike) -> str:
    """SHA-256 of a file's bytes, as hex (read in 1 MiB pieces)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def jsonable(obj: Any) -> Any:
    """``obj`` with numpy numbers turned into Python ones, tuples into lists, and NaN / infinity into None (JSON
    has no NaN), recursively through dicts and lists."""
    if isinstance(obj, dict):
        return {k: jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [jsonable(v) for v in obj]
    if isinstance(obj, float | np.floating):
        return None if not np.isfinite(obj) else float(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


def _make_parents(path: Path) -> list[Path]:
    """Make the missing folders above ``path``; returns those it made, outermost first (to undo on failure)."""
    made = [q for q in reversed(path.parents) if not q.exists()]
    path.parent.mkdir(parents=True, exist_ok=True)
    return made


def _remove_made(made: list[Path]) -> None:
    """Remove folders :func:`_make_parents` made, innermost first, where they are still empty."""
    for q in reversed(made):
        try:
            q.rmdir()
        except OSError:
            break


def same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """Whether two paths name one file (through links and relative parts); False for what is not a path (and for
    standard output, ``-``)."""
    try:
        a, b = Path(a), Path(b)
        if STDOUT in (str(a), str(b)):
            return False
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
        return a.resolve() == b.resolve()
    except (TypeError, OSError, RuntimeError):  # RuntimeError: a loop of links (Python < 3.13)
        return False


#: the output name that means standard output
STDOUT = "-"


def output_target(path: str | os.PathLike) -> Path:
    """Where writing ``path`` lands: ``path`` itself, or, when it is a symbolic link (even one to a file yet to be
    made), the file the link names, so that the link stays and its target is replaced. A loop of links (or a
    chain too long to follow) is an :class:`InputError` naming ``path``."""
    path = Path(path)
    try:
        os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise InputError("is a loop of symbolic links; nothing can be written through it.", path=path,
                             remedy="remove or repoint the link, or give another --out.") from None
    except (TypeError, ValueError):
        return path
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def writes_through(path: str | os.PathLike) -> bool:
    """Whether output to ``path`` is written straight to it rather than to a temporary file renamed into place:
    standard output (``-``), a character device (``/dev/null``) or a FIFO, also behind a symbolic link."""
    if str(path) == STDOUT:
        return True
    try:
        mode = os.stat(output_target(path)).st_mode
    except OSError:
        return False
    return stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)


def _write_error(path: str | os.PathLike, exc: OSError) -> InputError:
    where = "standard output" if str(path) == STDOUT else None
    return InputError(f"cannot write {where or 'here'} ({exc.strerror or exc}).",
                      path=None if where else path, remedy="free some space, or choose another --out.")


class atomic_path:  # noqa: N801 - used as a context manager
    """Context manager yielding a temporary path next to ``path``; renamed onto ``path`` only on success.

    A failed write leaves no partial file behind, nor the folders made for it. Only a regular file (or a name not
    yet taken) is replaced so: a symbolic link is followed and its target written (the link stays); a character
    device or a FIFO is yielded itself and written through (nothing to rename, nothing to undo); ``-`` is yielded
    as is, for :func:`open_output` to give standard output; a block device or a socket is refused.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.direct = str(path) == STDOUT
        self.target = self.path if self.direct else output_target(self.path)

    def __enter__(self) -> Path:
        self.made: list[Path] = []
        if self.direct:
            self.tmp = self.path
            return self.tmp
        if self.target.is_dir():
            raise InputError("is a directory; a file is to be written here.", path=self.path,
                             remedy="give a file name (inside the directory, say).")
        try:
            mode = os.stat(self.target).st_mode
        except OSError:
            mode = None
        if mode is not None and (stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)):
            self.direct = True  # /dev/null, a named pipe: written through, never replaced by a file
            self.tmp = self.target
            return self.tmp
        if mode is not None and not stat.S_ISREG(mode):
            raise InputError("is neither a regular file nor a character device or FIFO; it is not replaced.",
                             path=self.path, remedy="give a file name.")
        try:
            self.made = _make_parents(self.target)
            fd, tmp = tempfile.mkstemp(prefix=f".{self.target.name}.", suffix=".tmp", dir=self.target.parent)
        except OSError as exc:  # read-only folder, a file where a folder should be, no space ...
            _remove_made(self.made)
            raise InputError(f"cannot write here ({exc.strerror or exc}).", path=self.path,
                             remedy="choose a writable folder.") from None
        os.close(fd)
        self.tmp = Path(tmp)
        return self.tmp

    def __exit__(self, exc_type, exc, tb) -> None:
        if self.direct:
            return
        if exc_type is None:
            umask = os.umask(0)  # mkstemp makes 0600 files; give the usual permissions of a new file
            os.umask(umask)
            try:
                os.chmod(self.tmp, 0o666 & ~umask)
                os.replace(self.tmp, self.target)
            except OSError as error:
                self.tmp.unlink(missing_ok=True)
                _remove_made(self.made)
                raise _write_error(self.path, error) from None
        else:
            self.tmp.unlink(missing_ok=True)
            _remove_made(self.made)


class atomic_paths:  # noqa: N801 - context manager
    """Several output files written all or none: yields one temporary path per target (``None`` targets give
    ``None``), created before any work, so an unwritable target fails first; on success every temporary file is
    renamed onto its target, on failure (an error, Ctrl-C) every one is removed.

    ``inputs``: files the command reads; a target that is one of them (or two targets that are one file) is refused
    before anything is written, since the rename would replace what was read."""

    def __init__(self, *paths: str | os.PathLike | None, inputs: tuple[str | os.PathLike | None, ...] = ()) -> None:
        self.parts = [None if p is None else atomic_path(p) for p in paths]  # a loop of links fails here
        given = [Path(p) for p in paths if p is not None]
        for i, p in enumerate(given):
            if any(same_file(p, q) for q in inputs if q is not None):
                raise InputError("is also an input of this command; writing here would replace it.", path=p,
                                 remedy="give another --out.")
            if any(same_file(p, q) for q in given[:i]):
                raise InputError("is given for two outputs of this command.", path=p,
                                 remedy="give each output its own file.")

    def __enter__(self) -> list[Path | None]:
        entered: list[atomic_path] = []
        try:
            for part in self.parts:
                if part is not None:
                    part.__enter__()
                    entered.append(part)
        except BaseException as exc:
            for part in reversed(entered):  # the last made first: folders made for them empty in that order
                part.__exit__(type(exc), exc, None)
            raise
        return [None if p is None else p.tmp for p in self.parts]

    def __exit__(self, exc_type, exc, tb) -> None:
        for part in reversed(self.parts):
            if part is not None:
                part.__exit__(exc_type, exc, tb)


def _owner() -> str:
    """This process, as it appears in the names of its temporary folders: host and process id."""
    import socket

    return f"{safe_filename(socket.gethostname(), limit=40).replace('.', '_')}-{os.getpid()}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process
        return True
    return True


def remove_stale_temporaries(path: str | os.PathLike) -> list[Path]:
    """Remove what a killed writer of the folder ``path`` left beside it (SIGKILL skips every clean-up): the
    temporary folders of :class:`atomic_dir` whose process (named in them) is gone from this host, and those of
    the older unnamed form, or of a folder replaced mid-way (``.old-PID``), when empty. Nothing else is touched
    (another host's, a live process's, or anything not of rnalabel's naming). Returns what was removed."""
    path = Path(path)
    host = _owner().rsplit("-", 1)[0]
    ours = re.compile(re.escape(f".{path.name}.") + r"(?:(?P<host>[A-Za-z0-9_-]+)-(?P<pid>\d+)\.)?[A-Za-z0-9_]{8}\.tmp$")
    old = re.compile(re.escape(f".{path.name}.old-") + r"(?P<pid>\d+)$")
    removed = []
    try:
        entries = list(path.parent.iterdir())
    except OSError:
        return removed
    for q in entries:
        m = ours.match(q.name) or old.match(q.name)
        if m is None or q.is_symlink() or not q.is_dir():
            continue
        pid = m.groupdict().get("pid")
        dead = pid is not None and int(pid) != os.getpid() and not _alive(int(pid))
        if m.re is ours and m.group("host") is not None:
            if m.group("host") != host or not dead:
                continue
            shutil.rmtree(q, ignore_errors=True)  # its writer was killed: nothing in it is wanted
        else:
            if pid is not None and not dead:
                continue
            try:
                q.rmdir()  # only when empty
            except OSError:
                continue
        if not q.exists():
            removed.append(q)
    return removed


class atomic_dir:  # noqa: N801 - context manager
    """An output folder written all or none (a run folder, an explain folder).

    Yields a temporary folder beside ``path``, made before any work (so an unwritable place fails first). On
    success it takes the place of ``path``; on failure or Ctrl-C it is removed and ``path`` is untouched. An
    existing ``path`` that holds files is replaced only with ``overwrite=True``, and then only when it holds one
    of ``markers`` (it was written by rnalabel), so that a mistyped ``--out`` never deletes someone's folder;
    old and new files are never mixed.

    Parameters
    ----------
    path : path
    overwrite : bool
        Default is False.
    markers : tuple of str
        File names that mark an rnalabel output folder. Default is ("card.json",).
    """

    def __init__(self, path: str | os.PathLike, *, overwrite: bool = False,
                 markers: tuple[str, ...] = ("card.json",)) -> None:
        self.path, self.overwrite, self.markers = Path(path), overwrite, markers

    def __enter__(self) -> Path:
        p = self.path = output_target(self.path)  # a link to a folder: the folder is replaced, the link stays
        if p.exists() and not p.is_dir():
            raise InputError("is a file; a folder is to be written here.", path=p, remedy="give a folder name.")
        if p.is_dir() and any(p.iterdir()):
            if not self.overwrite:
                raise InputError("already holds files (an earlier run?); nothing was changed.", path=p,
                                 remedy="give --overwrite to replace it, or another --out.")
            if not any((p / m).exists() for m in self.markers):
                raise InputError(f"holds files but no {' or '.join(self.markers)}, so it was not written by rnalabel "
                                 "and is not replaced.", path=p, remedy="choose another --out.")
        self.made: list[Path] = []
        try:
            self.made = _make_parents(p)
            remove_stale_temporaries(p)
            self.tmp = Path(tempfile.mkdtemp(prefix=f".{p.name}.{_owner()}.", suffix=".tmp", dir=p.parent))
        except OSError as exc:
            _remove_made(self.made)
            raise InputError(f"cannot write here ({exc.strerror or exc}).", path=p,
                             remedy="choose a writable folder.") from None
        return self.tmp

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            _remove_made(self.made)
            return
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(self.tmp, 0o777 & ~umask)  # mkdtemp makes 0700 folders
        old = None
        if self.path.exists():
            old = self.path.with_name(f".{self.path.name}.old-{os.getpid()}")
            os.replace(self.path, old)
        os.replace(self.tmp, self.path)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


class _Output:
    """A file open for writing whose write errors (no space left, a closed pipe) are an :class:`InputError`
    naming the output; standard output is flushed, not closed."""

    def __init__(self, f, target: str | os.PathLike, *, close: bool = True) -> None:
        self.f, self.target, self.close_it = f, target, close

    def write(self, data):
        try:
            return self.f.write(data)
        except OSError as exc:
            raise _write_error(self.target, exc) from None

    def close(self) -> None:
        try:
            self.f.close() if self.close_it else self.f.flush()
        except OSError as exc:
            raise _write_error(self.target, exc) from None

    def __getattr__(self, name):
        return getattr(self.f, name)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            try:
                self.close()
            except InputError:
                pass  # the error already on its way matters more


def open_output(tmp: str | os.PathLike, target: str | os.PathLike, mode: str = "w"):
    """Open the temporary file ``tmp`` of an output ``target``: gzip-compressed when ``target`` ends with ``.gz``
    (what the name promises), plain otherwise; standard output when ``tmp`` is ``-``. ``mode`` is "w" (text) or
    "wb". A write error is an :class:`InputError` naming ``target``."""
    return _open(tmp, target, mode, gz=str(target).endswith(".gz"))


def _open(tmp: str | os.PathLike, target: str | os.PathLike, mode: str, *, gz: bool) -> _Output:
    if str(tmp) == STDOUT:
        return _Output(sys.stdout if mode == "w" else sys.stdout.buffer, STDOUT, close=False)
    try:
        if gz:
            import gzip

            return _Output(gzip.open(tmp, "wt" if mode == "w" else mode), target)
        return _Output(open(tmp, mode), target)
    except OSError as exc:
        raise _write_error(target, exc) from None


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` atomically (standard output when ``path`` is ``-``)."""
    with atomic_path(path) as tmp, _open(tmp, path, "w", gz=False) as f:
        f.write(text)
    return Path(path)
