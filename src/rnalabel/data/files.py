"""Atomic file output: a temporary file next to the target, renamed into place only on success."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from rnalabel.errors import InputError


def safe_filename(name: Any, *, limit: int = 80) -> str:
    """``name`` (a label, a sequence id ... that comes from data) made safe as one file or folder name: letters,
    digits, ``-``, ``_`` and ``.`` are kept, everything else becomes ``_``, and a name that starts with a dot
    (``..``, a hidden file) or is empty gets a ``_`` in front, so it can never leave the folder it is written in."""
    text = "".join(c if (c.isascii() and c.isalnum()) or c in "-_." else "_" for c in str(name))[:limit]
    return "_" + text if not text or text.startswith(".") else text


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


class atomic_path:  # noqa: N801 - used as a context manager
    """Context manager yielding a temporary path next to ``path``; renamed onto ``path`` only on success.

    A failed write leaves no partial file behind.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)

    def __enter__(self) -> Path:
        if self.path.is_dir():
            raise InputError("is a directory; a file is to be written here.", path=self.path,
                             remedy="give a file name (inside the directory, say).")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent)
        except OSError as exc:  # read-only folder, a file where a folder should be, no space ...
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


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return Path(path)
