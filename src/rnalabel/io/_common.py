"""Helpers shared by the readers: whole-file text reading and bulk sequence validation.

Bulk validation checks many sequences with one vectorised pass and, only when something is wrong, re-runs
:func:`rnalabel.data.sequence.validate` on the first bad sequence so the error is exactly the one a single-sequence
reader would give (same message, file and line).
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from rnalabel.data.sequence import IUPAC, normalize, validate
from rnalabel.errors import InputError
from rnalabel.io.fasta import open_text

# upper-case IUPAC bytes (after normalisation T has become U, but T is harmless to accept)
_OK = np.zeros(256, dtype=bool)
for _c in IUPAC:
    _OK[ord(_c)] = True


def read_text(path: str | os.PathLike, *, what: str = "a text file") -> str:
    """The whole content of a plain or gzip-compressed text file (gzip detected by its magic bytes).

    Raises
    ------
    InputError
        Missing file, a directory, bytes that are not UTF-8 text, or a truncated gzip stream.
    """
    p = Path(path)
    try:
        with open_text(p) as fh:
            return fh.read()
    except UnicodeDecodeError:
        raise InputError(f"not {what} (cannot decode as UTF-8 text).", path=p,
                         remedy=f"give {what}, plain or gzip-compressed.") from None
    except (EOFError, gzip.BadGzipFile, OSError) as exc:
        if isinstance(exc, InputError):
            raise
        raise InputError(f"cannot read the file ({exc}).", path=p, remedy="check the file is complete.") from None


def validate_many(
    seqs: Sequence[str],
    *,
    path: str | os.PathLike,
    lines: Sequence[int] | np.ndarray,
    names: Sequence[str] | None = None,
    max_length: int | None = None,
    normalized: bool = False,
) -> list[str]:
    """Normalise and validate many sequences at once.

    Parameters
    ----------
    seqs : sequence of str, length N
        Raw sequences.
    path : path
        File they come from (quoted in errors).
    lines : sequence of int, length N
        1-based line (or row) of each sequence (quoted in errors).
    names : sequence of str, length N, optional
        Record ids, quoted in errors. Default is None.
    max_length : int, optional
        Refuse longer sequences. Default is None (no limit).
    normalized : bool
        Set when the caller has already upper-cased and converted T to U (skips :func:`normalize`).
        Default is False.

    Returns
    -------
    list of str, length N
        The normalised sequences.

    Raises
    ------
    SequenceError
        For the first empty, non-IUPAC or too long sequence, with its line.
    """
    out = list(seqs) if normalized else [normalize(s) for s in seqs]
    n = len(out)
    if n == 0:
        return out
    lengths = np.fromiter(map(len, out), dtype=np.int64, count=n)
    bad = lengths == 0
    if max_length is not None:
        bad |= lengths > max_length
    ok = _OK[np.frombuffer("".join(out).encode("ascii", "replace"), dtype=np.uint8)]
    if not ok.all():
        ends = np.cumsum(lengths)
        bad[np.searchsorted(ends, np.flatnonzero(~ok), side="right")] = True
    if bad.any():
        i = int(np.argmax(bad))
        validate(seqs[i], name=None if names is None else names[i], path=str(path), line=int(lines[i]),
                 max_length=max_length)
        raise AssertionError("validate_many found a bad sequence that validate accepts")  # pragma: no cover
    return out


def file_stem(path: str | os.PathLike) -> str:
    """Name of a data file without its compression and format suffixes.

    ``AARS_K562.gz`` -> ``AARS_K562``; ``AGO1.both.fa.gz`` -> ``AGO1``; ``PUM2.tsv`` -> ``PUM2``.
    """
    name = Path(path).name
    for suffix in (".gz", ".both.fa", ".fasta", ".fa", ".txt", ".tsv", ".csv"):
        if name.endswith(suffix) and len(name) > len(suffix):
            name = name[: -len(suffix)]
    return name
