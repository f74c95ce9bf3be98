"""Protein sequences, a data type of their own: the amino-acid alphabet, tokens, validation and a set of proteins.

Tokens are uint8: the 20 amino acids in alphabetical one-letter order ``ACDEFGHIKLMNPQRSTVWY`` = 0..19, and 20 for
anything else (the ambiguity codes B, Z, J, X, the rare U (selenocysteine) and O (pyrrolysine), and padding).
Input is upper-cased, whitespace removed and one trailing ``*`` (stop) dropped; any other character raises
:class:`~rnalabel.errors.SequenceError` naming the file, line and remedy, exactly as for RNA.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rnalabel.data.sequence import check_letters
from rnalabel.errors import LabelError, SequenceError

#: the 20 amino acids, in alphabetical one-letter order (token i = AMINO_ACIDS[i])
AMINO_ACIDS = "ACDEFGHIKLMNPQRSTVWY"
#: token of every other accepted letter, and of padding
OTHER_AA = 20
#: letters accepted on input (after upper-casing): the 20, the ambiguity codes B Z J X, selenocysteine U, pyrrolysine O
PROTEIN_LETTERS = frozenset(AMINO_ACIDS + "BZJXUO")

_LUT = np.full(256, OTHER_AA, dtype=np.uint8)
for _i, _c in enumerate(AMINO_ACIDS):
    _LUT[ord(_c)] = _i
    _LUT[ord(_c.lower())] = _i
_VALID = np.zeros(256, dtype=bool)
for _c in PROTEIN_LETTERS:
    _VALID[ord(_c)] = _VALID[ord(_c.lower())] = True


def normalize_protein(seq: str) -> str:
    """Strip whitespace, upper-case, and drop one trailing ``*`` (a stop codon). No validation."""
    s = "".join(seq.split()).upper()
    return s[:-1] if s.endswith("*") else s


#: a protein at least this long spelled only with A C G T U N is taken for a nucleotide sequence given by mistake
NUCLEOTIDE_LIKE = 20


def validate_protein(
    seq: str,
    *,
    name: str | None = None,
    path: str | None = None,
    line: int | None = None,
    max_length: int | None = None,
) -> str:
    """Normalise a protein sequence and check it; raises :class:`SequenceError` with file and line on failure.

    Parameters
    ----------
    seq : str
    name : str, optional
        Record id, quoted in the message. Default is None.
    path, line : optional
        Where the sequence came from. Default is None.
    max_length : int, optional
        Refuse longer sequences. Default is None (no limit).

    Returns
    -------
    str
        The normalised sequence.
    """
    who = f"protein {name!r}" if name is not None else "protein"
    s = check_letters(
        normalize_protein(seq), _VALID, who=who, alphabet="the amino-acid alphabet",
        remedy="use the 20 one-letter amino-acid codes (and B, Z, J, X, U, O); '*' only at the end.",
        unit="residues", path=path, line=line, max_length=max_length,
    )
    if len(s) >= NUCLEOTIDE_LIKE and set(s.rstrip("*")) <= set("ACGTUN"):
        raise SequenceError(f"{who} has only the letters A, C, G, T/U and N: it reads as a nucleotide sequence.",
                            path=path, line=line, remedy="give the protein's amino-acid sequence.")
    return s


def encode_protein(seqs: Sequence[str], length: int | None = None) -> np.ndarray:
    """Encode proteins into one padded token matrix, shape=(N, length) (default: the longest), uint8."""
    n = len(seqs)
    if length is None:
        length = max((len(s) for s in seqs), default=0)
    out = np.full((n, length), OTHER_AA, dtype=np.uint8)
    for i, s in enumerate(seqs):
        t = _LUT[np.frombuffer(s[:length].encode("ascii", "replace"), dtype=np.uint8)]
        out[i, : len(t)] = t
    return out


def decode_protein(tokens: np.ndarray, length: int | None = None) -> str:
    """Tokens back to letters (token 20 becomes X)."""
    t = np.asarray(tokens, dtype=np.uint8)[:length]
    return np.frombuffer((AMINO_ACIDS + "X").encode(), dtype=np.uint8)[np.minimum(t, OTHER_AA)].tobytes().decode()


@dataclass
class ProteinSet:
    """Protein sequences (e.g. the RBPs a model ranks), as tokens.

    Attributes
    ----------
    ids : numpy.ndarray of str, shape=(N,)
    tokens : numpy.ndarray, shape=(N, L), dtype=uint8
        Amino acids 0..19, 20 for other letters and padding.
    lengths : numpy.ndarray, shape=(N,), dtype=int32
    sequences : list of str
        The validated sequences as given (ambiguity codes kept).
    provenance : dict
    """

    ids: np.ndarray
    tokens: np.ndarray
    lengths: np.ndarray
    sequences: list[str]
    provenance: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_sequences(cls, ids: Sequence[str], sequences: Sequence[str], *,
                       provenance: dict[str, Any] | None = None) -> ProteinSet:
        """Build from validated sequences (see :func:`validate_protein`)."""
        if len(ids) != len(sequences):
            raise LabelError(f"{len(ids)} ids for {len(sequences)} proteins.")
        return cls(ids=np.asarray(list(ids), dtype=object), tokens=encode_protein(sequences),
                   lengths=np.fromiter((len(s) for s in sequences), dtype=np.int32, count=len(sequences)),
                   sequences=list(sequences), provenance=dict(provenance or {}))

    def __len__(self) -> int:
        return len(self.ids)

    def index(self, protein_id: str) -> int:
        """Row of ``protein_id``; an unknown id raises :class:`LabelError` listing some known ones."""
        hits = np.flatnonzero(self.ids == protein_id)
        if not len(hits):
            shown = ", ".join(map(str, self.ids[:20])) + (" ..." if len(self) > 20 else "")
            raise LabelError(f"no protein {protein_id!r}.", remedy=f"choose one of: {shown}.")
        return int(hits[0])
