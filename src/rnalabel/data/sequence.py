"""Nucleotide alphabet, normalisation, tokens and validation.

Tokens are uint8: A=0, C=1, G=2, U=3 and 4 for anything else (N, the other IUPAC ambiguity codes, padding).
DNA input is accepted and converted (T -> U). Characters outside IUPAC raise :class:`SequenceError`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from rnalabel.errors import SequenceError

ALPHABET = "ACGU"
PAD = 4
#: IUPAC nucleotide codes accepted on input (after upper-casing and T -> U). '-' and '.' are not accepted.
IUPAC = frozenset("ACGUTRYSWKMBDHVN")
_COMPLEMENT = str.maketrans("ACGUTRYSWKMBDHVN", "UGCAAYRSWMKVHDBN")

# byte -> token look-up table, shared by encode() and encode_batch()
_LUT = np.full(256, PAD, dtype=np.uint8)
for _i, _c in enumerate("ACGU"):
    _LUT[ord(_c)] = _i
    _LUT[ord(_c.lower())] = _i
_LUT[ord("T")] = 3
_LUT[ord("t")] = 3
_VALID = np.zeros(256, dtype=bool)
for _c in IUPAC:
    _VALID[ord(_c)] = True
    _VALID[ord(_c.lower())] = True


def normalize(seq: str) -> str:
    """Strip whitespace, upper-case, and convert T to U.

    Parameters
    ----------
    seq : str
        A nucleotide sequence (RNA or DNA).

    Returns
    -------
    str
        The normalised RNA sequence. No validation is done; see :func:`validate`.
    """
    return "".join(seq.split()).upper().replace("T", "U")


def invalid_characters(seq: str) -> list[str]:
    """Characters of ``seq`` outside the IUPAC nucleotide alphabet, in order of first appearance."""
    bad: list[str] = []
    for c in seq:
        if c.upper() not in IUPAC and c not in bad:
            bad.append(c)
    return bad


def validate(
    seq: str,
    *,
    name: str | None = None,
    path: str | None = None,
    line: int | None = None,
    max_length: int | None = None,
) -> str:
    """Normalise ``seq`` and check it, raising :class:`SequenceError` with file and line on failure.

    Parameters
    ----------
    seq : str
        The raw sequence.
    name : str, optional
        Record id, quoted in the message. Default is None.
    path, line : optional
        Where the sequence came from, quoted in the message. Default is None.
    max_length : int, optional
        Refuse sequences longer than this. Default is None (no limit).

    Returns
    -------
    str
        The normalised sequence.
    """
    return check_letters(
        normalize(seq), _VALID, who=f"sequence {name!r}" if name is not None else "sequence",
        alphabet="the IUPAC nucleotide alphabet", remedy="use only A, C, G, U/T and IUPAC ambiguity codes (N, R, Y, ...).",
        unit="nt", path=path, line=line, max_length=max_length,
    )


def check_letters(
    s: str,
    valid: np.ndarray,
    *,
    who: str,
    alphabet: str,
    remedy: str,
    unit: str,
    path: str | None = None,
    line: int | None = None,
    max_length: int | None = None,
) -> str:
    """The checks every sequence type shares (RNA here, proteins in :mod:`rnalabel.data.protein`): not empty, only
    letters ``valid`` (a boolean table over bytes) accepts, at most ``max_length`` long. Returns ``s``."""
    if not s:
        raise SequenceError(f"{who} is empty.", path=path, line=line, remedy="remove the record or give it a sequence.")
    ok = s.isascii() and bool(valid[np.frombuffer(s.encode("ascii"), dtype=np.uint8)].all())
    if not ok:
        bad: list[str] = []
        for c in s:
            if (not c.isascii() or not valid[ord(c)]) and c not in bad:
                bad.append(c)
        shown = ", ".join(repr(c) for c in bad[:5])
        raise SequenceError(f"{who} contains characters outside {alphabet}: {shown}.", path=path, line=line,
                            remedy=remedy)
    if max_length is not None and len(s) > max_length:
        raise SequenceError(f"{who} is {len(s)} {unit} long, longer than the limit of {max_length} {unit}.",
                            path=path, line=line, remedy="split the sequence or raise the limit.")
    return s


def encode(seq: str) -> np.ndarray:
    """Encode one sequence as uint8 tokens (A,C,G,U = 0..3; anything else = 4).

    Parameters
    ----------
    seq : str
        A normalised or raw sequence; lower case and T are accepted.

    Returns
    -------
    numpy.ndarray, shape=(len(seq),), dtype=uint8
    """
    return _LUT[np.frombuffer(seq.encode("ascii", "replace"), dtype=np.uint8)]


def encode_batch(seqs: Sequence[str], length: int | None = None, pad: int = PAD) -> np.ndarray:
    """Encode many sequences into one padded token matrix.

    Parameters
    ----------
    seqs : sequence of str
        Sequences; longer ones are cut at ``length``.
    length : int, optional
        Width of the matrix. Default is the longest sequence.
    pad : int
        Token used after the end of each sequence. Default is 4.

    Returns
    -------
    numpy.ndarray, shape=(N, length), dtype=uint8
    """
    n = len(seqs)
    if length is None:
        length = max((len(s) for s in seqs), default=0)
    out = np.full((n, length), pad, dtype=np.uint8)
    if n == 0 or length == 0:
        return out
    lengths = np.fromiter((len(s) for s in seqs), dtype=np.int64, count=n)
    if np.all(lengths == length):  # the common case: fixed-width CLIP windows, one vectorised pass
        buf = np.frombuffer("".join(seqs).encode("ascii", "replace"), dtype=np.uint8)
        return _LUT[buf].reshape(n, length)
    for i, s in enumerate(seqs):
        t = encode(s[:length])
        out[i, : len(t)] = t
    return out


def decode(tokens: np.ndarray | Iterable[int], length: int | None = None) -> str:
    """Decode uint8 tokens back to an RNA string (token 4 becomes N).

    Parameters
    ----------
    tokens : array of int, shape=(L,)
    length : int, optional
        Decode only the first ``length`` tokens. Default is all.
    """
    t = np.asarray(tokens, dtype=np.uint8)
    if length is not None:
        t = t[:length]
    return np.frombuffer(b"ACGUN", dtype=np.uint8)[np.minimum(t, 4)].tobytes().decode("ascii")


def reverse_complement(seq: str) -> str:
    """Reverse complement of an RNA sequence (IUPAC-aware; T is read as U)."""
    return normalize(seq).translate(_COMPLEMENT)[::-1]


def are_valid(seqs: Sequence[str]) -> np.ndarray:
    """Vectorised check: True for each non-empty sequence with only IUPAC characters."""
    out = np.zeros(len(seqs), dtype=bool)
    for i, s in enumerate(seqs):
        if s:
            out[i] = bool(_VALID[np.frombuffer(s.encode("latin-1", "replace"), dtype=np.uint8)].all())
    return out
