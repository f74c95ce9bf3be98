"""Atomic file output: a temporary file next to the target, renamed into place only on success."""

from __future__ import annotations

import hashlib
import os
import shutil
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
    """Whether two paths name one file (through links and relative parts); False for what is not a path."""
    try:
        a, b = Path(a), Path(b)
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
        return a.resolve() == b.resolve()
    except (TypeError, OSError):
        return False


class atomic_path:  # noqa: N801 - used as a context manager
    """Context manager yielding a temporary path next to ``path``; renamed onto ``path`` only on success.

    A failed write leaves no partial file behind, nor the folders made for it.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)

    def __enter__(self) -> Path:
        if self.path.is_dir():
            raise InputError("is a directory; a file is to be written here.", path=self.path,
                             remedy="give a file name (inside the directory, say).")
        self.made: list[Path] = []
        try:
            self.made = _make_parents(self.path)
            fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent)
        except OSError as exc:  # read-only folder, a file where a folder should be, no space ...
            _remove_made(self.made)
            raise InputError(f"cannot write here ({exc.strerror or exc}).", path=self.path,
                             remedy="choose a writable folder.") from None
        os.close(fd)
        self.tmp = Path(tmp)
        return self.tmp

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            umask = os.umask(0)  # mkstemp makes 0600 files; give the usual permissions of a new file
            os.umask(umask)
            os.chmod(self.tmp, 0o666 & ~umask)
            os.replace(self.tmp, self.path)
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
        given = [Path(p) for p in paths if p is not None]
        for i, p in enumerate(given):
            if any(same_file(p, q) for q in inputs if q is not None):
                raise InputError("is also an input of this command; writing here would replace it.", path=p,
                                 remedy="give another --out.")
            if any(same_file(p, q) for q in given[:i]):
                raise InputError("is given for two outputs of this command.", path=p,
                                 remedy="give each output its own file.")
        self.parts = [None if p is None else atomic_path(p) for p in paths]

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
        p = self.path
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
            self.tmp = Path(tempfile.mkdtemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent))
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


def open_output(tmp: str | os.PathLike, target: str | os.PathLike, mode: str = "w"):
    """Open the temporary file ``tmp`` of an output ``target``: gzip-compressed when ``target`` ends with ``.gz``
    (what the name promises), plain otherwise. ``mode`` is "w" (text) or "wb"."""
    if str(target).endswith(".gz"):
        import gzip

        return gzip.open(tmp, "wt" if mode == "w" else mode)
    return open(tmp, mode)


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return Path(path)
