"""Views through the genetic code: the 3-frame translated amino-acid one-hot and the dipeptide histogram.

These are the second and third views of the MMFA RNA–RBP paper (Han et al., J Cloud Comp 2024, "The
representation of the amino acid sequence" and "... of the dipeptide component").

Translation
    The RNA is read in its three forward frames (from base 1, 2 and 3) with the standard genetic code, and the
    three peptides are concatenated: frame 0 first, then frame 1, then frame 2. A window of ``W`` nt (plus
    ``flank`` padding bases at each end) gives ``P = sum_f floor((W + 2 * flank - f) / 3)`` residues, about
    ``W`` (99 for ``W = 101``). A codon that is a stop codon, or that touches padding or an ambiguous base
    (N, IUPAC codes), becomes the letter ``O``. The width depends on the window only, never on the sequence,
    so every row of a dataset has the same width.

Amino-acid one-hot (:class:`AminoAcid`, ``type: aminoacid``)
    ``(N, 20, P)`` over ``ACDEFGHIKLMNPQRSTVWY``; an ``O`` column holds ``other_value`` (0.05, the paper's value)
    in all 20 rows.

Dipeptide histogram (:class:`Dipeptide`, ``type: dipeptide``)
    g-gap dipeptides ``(a, b)`` are residue pairs ``g`` positions apart (``g = 0``: neighbours) **within one
    frame's peptide**; pairs are not counted across the junction of two concatenated frames (those residues are
    not neighbours in any reading). The alphabet is the 20 amino acids plus ``O``; the pair ``OO`` is left out,
    which leaves 21 * 21 - 1 = 440 dipeptides, index ``21 * a + b`` in the order ``ACDEFGHIKLMNPQRSTVWYO``
    (``OO`` would be the last index, 440). Padding ``O`` residues count like stop ``O`` residues, as in the paper,
    whose peptides carry the padding of short RNAs. A count ``c`` becomes a row whose first ``min(c, bins)``
    cells are 1 (the paper's 440 x 30 histogram). The model sees it as a per-position view of **440 channels
    (dipeptides) by 30 positions (histogram cells)**, ``(N, 440, 30)``: a 1-D convolution then slides along the
    count axis, so each filter reads count thresholds of every dipeptide at once. The paper's figure shows the
    30 x 440 transpose; it does not say which axis its convolution slides along.

For attribution maps (``rnalabel.explain``), :func:`aminoacid_nucleotide_map` and :func:`dipeptide_occurrences`
say which nucleotides each amino-acid position and each counted dipeptide come from.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from rnalabel.data.protein import AMINO_ACIDS  # the paper's (alphabetical one-letter) order
from rnalabel.data.sequence import PAD
from rnalabel.errors import ConfigError
from rnalabel.views.base import View, register_view
from rnalabel.views.mapping import NucleotideMap, occurrence_track

if TYPE_CHECKING:
    from rnalabel.data import Dataset

#: the 21-letter peptide alphabet: the amino acids and O (stop codon, padding, untranslatable codon)
PEPTIDE_ALPHABET = AMINO_ACIDS + "O"
#: code of O in translated peptides
OTHER = 20
#: number of dipeptides over the 21-letter alphabet without OO
N_DIPEPTIDES = 21 * 21 - 1
#: the dipeptides in index order ("AA", "AC", ..., "OY"); OO is left out
DIPEPTIDES = tuple(a + b for a in PEPTIDE_ALPHABET for b in PEPTIDE_ALPHABET)[:N_DIPEPTIDES]

# Standard genetic code (NCBI table 1), codons listed with bases in the order U, C, A, G; '*' is a stop codon.
_NCBI_BASES = "UCAG"
_NCBI_TABLE1 = "FFLLSSSSYY**CC*WLLLLPPPPHHQQRRRRIIIMTTTTNNKKSSRRVVVVAAAADDEEGGGG"


def _codon_table() -> np.ndarray:
    """Codon index ``16 * b1 + 4 * b2 + b3`` (tokens A,C,G,U = 0..3) -> peptide code; index 64 = untranslatable."""
    table = np.full(65, OTHER, dtype=np.uint8)
    tok = {c: i for i, c in enumerate("ACGU")}
    for i, aa in enumerate(_NCBI_TABLE1):
        b1, b2, b3 = _NCBI_BASES[i // 16], _NCBI_BASES[(i // 4) % 4], _NCBI_BASES[i % 4]
        table[16 * tok[b1] + 4 * tok[b2] + tok[b3]] = OTHER if aa == "*" else AMINO_ACIDS.index(aa)
    return table


CODON_TABLE = _codon_table()


# translation ------------------------------------------------------------------------------------------------
def frame_lengths(width: int, *, flank: int = 0) -> tuple[int, int, int]:
    """Residues of each frame's peptide for a window of ``width`` nt with ``flank`` padding bases at each end."""
    n = width + 2 * flank
    return tuple(max(0, (n - f) // 3) for f in range(3))  # type: ignore[return-value]


def peptide_length(width: int, *, flank: int = 0) -> int:
    """P, the length of the concatenated 3-frame peptide of a ``width``-nt window (see the module docstring)."""
    return int(sum(frame_lengths(width, flank=flank)))


def _codon_starts(width: int, flank: int) -> np.ndarray:
    """0-based start of each residue's codon in the flanked window, shape=(P,), frames concatenated."""
    return np.concatenate([f + 3 * np.arange(m) for f, m in enumerate(frame_lengths(width, flank=flank))]).astype(
        np.int64
    )


def translate_frames(tokens: np.ndarray, *, flank: int = 0) -> np.ndarray:
    """Translate every row in its three forward frames and concatenate the peptides.

    Parameters
    ----------
    tokens : numpy.ndarray, shape=(N, W), dtype=uint8
        A,C,G,U = 0..3; anything else (4) is padding or an ambiguous base.
    flank : int
        Padding bases added at each end before translating. Default is 0.

    Returns
    -------
    numpy.ndarray, shape=(N, P), dtype=uint8
        Peptide codes 0..19 (``AMINO_ACIDS``) and 20 (``O``: stop codon, padding or untranslatable codon);
        ``P = peptide_length(W, flank=flank)``.
    """
    tokens = np.asarray(tokens)
    if tokens.ndim != 2:
        raise ValueError(f"tokens must be a (N, W) matrix, got shape {tokens.shape}")
    if flank:
        tokens = np.pad(tokens, ((0, 0), (flank, flank)), constant_values=PAD)
    starts = _codon_starts(tokens.shape[1] - 2 * flank, flank)
    b = tokens[:, starts[:, None] + np.arange(3)[None, :]].astype(np.int64)  # (N, P, 3)
    bad = np.any(b > 3, axis=2)
    idx = np.where(bad, 64, 16 * b[..., 0] + 4 * b[..., 1] + b[..., 2])
    return CODON_TABLE[idx]


def peptide_string(codes: np.ndarray) -> str:
    """A peptide code row as letters (``ACDEFGHIKLMNPQRSTVWYO``)."""
    return "".join(PEPTIDE_ALPHABET[int(c)] for c in np.asarray(codes).ravel())


def aminoacid_nucleotide_map(length: int, *, width: int | None = None, flank: int = 0) -> np.ndarray:
    """Which nucleotides each position of the 3-frame peptide comes from.

    Parameters
    ----------
    length : int
        Length of the sequence in nt.
    width : int, optional
        Width of the window the view was computed on (the model's window). Default is ``length``.
    flank : int
        The view's ``flank``. Default is 0.

    Returns
    -------
    numpy.ndarray, shape=(P, 3), dtype=int64
        For each peptide position (frames concatenated, as in :func:`translate_frames`), the 0-based positions
        in the sequence of its codon's three bases; -1 where a base is padding (a flank, or past ``length``).
        Rows are aligned with the last axis of the :class:`AminoAcid` view.
    """
    width = length if width is None else width
    pos = _codon_starts(width, flank)[:, None] + np.arange(3)[None, :] - flank
    return np.where((pos >= 0) & (pos < min(length, width)), pos, -1)


def aminoacid_one_hot(tokens: np.ndarray, *, flank: int = 0, other_value: float = 0.05) -> np.ndarray:
    """One-hot of the 3-frame peptide, ``O`` columns filled with ``other_value``.

    Parameters
    ----------
    tokens : numpy.ndarray, shape=(N, W), dtype=uint8
    flank : int
        Default is 0.
    other_value : float
        Value in all 20 rows of an ``O`` position. Default is 0.05 (the paper's).

    Returns
    -------
    numpy.ndarray, shape=(N, 20, P), dtype=float32
    """
    table = np.zeros((21, 20), dtype=np.float32)
    table[:20] = np.eye(20, dtype=np.float32)
    table[OTHER] = other_value
    return np.ascontiguousarray(table[translate_frames(tokens, flank=flank)].transpose(0, 2, 1))


# dipeptides -------------------------------------------------------------------------------------------------
def _pair_positions(width: int, gap: int, flank: int) -> tuple[np.ndarray, np.ndarray]:
    """Peptide positions (i, j) of every g-gap pair inside one frame, frames concatenated."""
    first, second, offset = [], [], 0
    for m in frame_lengths(width, flank=flank):
        i = np.arange(max(0, m - gap - 1))
        first.append(offset + i)
        second.append(offset + i + gap + 1)
        offset += m
    return np.concatenate(first).astype(np.int64), np.concatenate(second).astype(np.int64)


def dipeptide_counts(tokens: np.ndarray, *, gap: int = 0, flank: int = 0) -> np.ndarray:
    """g-gap dipeptide counts of each row's 3-frame peptide (pairs within a frame only; OO left out).

    Parameters
    ----------
    tokens : numpy.ndarray, shape=(N, W), dtype=uint8
    gap : int
        Residues between the two of a pair; 0 = neighbours. Default is 0.
    flank : int
        Default is 0.

    Returns
    -------
    numpy.ndarray, shape=(N, 440), dtype=int64
        Column ``21 * a + b`` counts the pair (a, b) in the order ``ACDEFGHIKLMNPQRSTVWYO`` (see ``DIPEPTIDES``).
    """
    if gap < 0:
        raise ValueError(f"gap must be >= 0, got {gap}")
    codes = translate_frames(tokens, flank=flank).astype(np.int64)
    n = codes.shape[0]
    i, j = _pair_positions(np.asarray(tokens).shape[1], gap, flank)
    idx = 21 * codes[:, i] + codes[:, j]  # (N, pairs); 440 = OO
    flat = (np.arange(n)[:, None] * 441 + idx).ravel()
    return np.bincount(flat, minlength=n * 441).reshape(n, 441)[:, :N_DIPEPTIDES]


def dipeptide_histogram(counts: np.ndarray, *, bins: int = 30) -> np.ndarray:
    """Turn counts into the paper's histogram: count ``c`` sets the first ``min(c, bins)`` cells of its row.

    Parameters
    ----------
    counts : numpy.ndarray, shape=(N, D)
    bins : int
        Default is 30.

    Returns
    -------
    numpy.ndarray, shape=(N, D, bins), dtype=float32
    """
    counts = np.asarray(counts)
    return (np.arange(bins)[None, None, :] < counts[:, :, None]).astype(np.float32)


def dipeptide_occurrences(
    tokens_row: np.ndarray, length: int, gap: int = 0, *, flank: int = 0
) -> list[tuple[int, int]]:
    """Every dipeptide counted for one sequence, and where it lies on the RNA.

    Parameters
    ----------
    tokens_row : numpy.ndarray, shape=(W,), dtype=uint8
        One row of a dataset's tokens (the window the view saw).
    length : int
        The sequence's length; bases past it are padding.
    gap : int
        Default is 0.
    flank : int
        Default is 0.

    Returns
    -------
    list of (int, int)
        ``(dipeptide_index, nucleotide_start)`` per counted pair, in peptide order: the column of the
        :class:`Dipeptide` view (``DIPEPTIDES[dipeptide_index]``) and the 0-based position in the sequence of the
        first base of the pair's first codon. The pair covers the bases ``nucleotide_start`` ..
        ``nucleotide_start + 3 * (gap + 2) - 1`` of one reading frame (first codon, ``3 * gap`` bases of the
        residues in between, second codon). ``nucleotide_start`` can be negative (inside a flank) and the span
        can pass ``length`` when a residue is padding ``O``; clip to ``[0, length)`` before drawing.
        ``len(result)`` per index equals :func:`dipeptide_counts` of the row.
    """
    row = np.asarray(tokens_row, dtype=np.uint8).copy()
    row[length:] = PAD
    codes = translate_frames(row[None, :], flank=flank)[0].astype(np.int64)
    i, j = _pair_positions(row.shape[0], gap, flank)
    starts = _codon_starts(row.shape[0], flank) - flank
    idx = 21 * codes[i] + codes[j]
    keep = idx < N_DIPEPTIDES
    return [(int(d), int(s)) for d, s in zip(idx[keep], starts[i][keep], strict=True)]


# views ------------------------------------------------------------------------------------------------------
@register_view
@dataclass(frozen=True)
class AminoAcid(View):
    """3-frame translated amino-acid one-hot, (N, 20, P) with P = ``peptide_length(W, flank=flank)``.

    Parameters
    ----------
    flank : int
        Padding bases added at each end before translating. Default is 0.
    other_value : float
        Value of ``O`` (stop, padding) positions in all 20 rows. Default is 0.05.
    """

    type = "aminoacid"
    kind = "position"
    flank: int = 0
    other_value: float = 0.05

    def __post_init__(self) -> None:
        if self.flank < 0:
            raise ConfigError(f"aminoacid view: flank must be >= 0, got {self.flank}.")

    def channels(self, dataset: Dataset | None = None) -> int:
        return 20

    def channel_names(self, dataset: Dataset | None = None) -> list[str]:
        return list(AMINO_ACIDS)

    def transform(self, dataset: Dataset) -> np.ndarray:
        return aminoacid_one_hot(dataset.tokens, flank=self.flank, other_value=self.other_value)

    def position_map(self, n_positions: int, window: int) -> np.ndarray | None:
        """Each peptide position's three codon bases (the three frames concatenated)."""
        pos = np.asarray(aminoacid_nucleotide_map(window, width=window, flank=self.flank), dtype=np.int64)
        return pos if len(pos) == n_positions else None


@register_view
@dataclass(frozen=True)
class Dipeptide(View):
    """g-gap dipeptide histogram of the 3-frame peptide, (N, 440, bins): 440 dipeptide channels x ``bins`` cells.

    Parameters
    ----------
    gap : int
        0 = neighbouring residues (the paper's 0-gap dipeptides). Default is 0.
    bins : int
        Histogram cells per dipeptide; larger counts are cut to ``bins``. Default is 30.
    flank : int
        Padding bases added at each end before translating. Default is 0.
    """

    type = "dipeptide"
    kind = "position"
    gap: int = 0
    bins: int = 30
    flank: int = 0

    def __post_init__(self) -> None:
        if self.gap < 0 or self.bins < 1 or self.flank < 0:
            raise ConfigError(
                f"dipeptide view: gap ({self.gap}) and flank ({self.flank}) must be >= 0 and bins ({self.bins}) >= 1."
            )

    def channels(self, dataset: Dataset | None = None) -> int:
        return N_DIPEPTIDES

    def channel_names(self, dataset: Dataset | None = None) -> list[str]:
        return list(DIPEPTIDES)

    def transform(self, dataset: Dataset) -> np.ndarray:
        return dipeptide_histogram(dipeptide_counts(dataset.tokens, gap=self.gap, flank=self.flank), bins=self.bins)

    def to_nucleotides(self, values: np.ndarray, *, tokens: np.ndarray, lengths: np.ndarray,
                       window: int) -> NucleotideMap:
        """A dipeptide's attribution (summed over its histogram cells) is split equally over its occurrences in the
        three frames and, within one, over the six bases of its two codons."""
        values = np.asarray(values, dtype=np.float64)
        if values.ndim != 3:
            return NucleotideMap.unmappable(values, window)
        second = 3 * (self.gap + 1)
        occurrences = []
        for row, n in zip(tokens, lengths, strict=True):
            occ = []
            for d, s in dipeptide_occurrences(row, int(n), self.gap, flank=self.flank):
                nts = np.r_[s:s + 3, s + second:s + second + 3]
                occ.append((d, nts[(nts >= 0) & (nts < int(n))]))
            occurrences.append(occ)
        track, unplaced = occurrence_track(values.sum(axis=2), occurrences, window)
        return NucleotideMap(track, None, True, "each dipeptide split over the 6 nt of its occurrences", unplaced)
