"""k-mer frequency view: per-sequence vectors of normalised k-mer counts for one or several k.

For each k the 4**k k-mers are ordered lexicographically in the alphabet A, C, G, U (AA, AC, AG, AU, CA, ...; see
:func:`kmer_names`); the vector for one k holds each k-mer's count divided by the number of k-mers counted in
that sequence, so it sums to 1 (or is all zero when the sequence has no k-mer: shorter than k, or all N).
Only the real sequence is read (positions < length); a k-mer containing N or another ambiguity code is skipped,
i.e. counted neither in the numerator nor in the denominator. Vectors for several k are concatenated in the
order given (MMLmiRLocNet's k-mer view uses k = 1..3 or more).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from rnalabel.errors import ConfigError
from rnalabel.views.base import View, register_view
from rnalabel.views.mapping import NucleotideMap, occurrence_track

if TYPE_CHECKING:
    from rnalabel.data import Dataset

ALPHABET = "ACGU"
MAX_K = 8
_BLOCK = 8192


def kmer_names(k: int, alphabet: str = ALPHABET) -> list[str]:
    """The 4**k k-mers in column order (lexicographic in ``alphabet``)."""
    return ["".join(p) for p in itertools.product(alphabet, repeat=k)]


def kmer_frequencies(tokens: np.ndarray, lengths: np.ndarray, k: int, *, alphabet_size: int = 4) -> np.ndarray:
    """Normalised k-mer frequencies of every row of a token matrix (vectorised; no loop over positions).

    Parameters
    ----------
    tokens : numpy.ndarray, shape=(N, L), dtype=uint8
        Letters 0..alphabet_size-1; anything larger is N/padding.
    lengths : numpy.ndarray, shape=(N,)
        Real length of each row.
    k : int
    alphabet_size : int
        Default is 4.

    Returns
    -------
    numpy.ndarray, shape=(N, alphabet_size**k), dtype=float32
    """
    tokens = np.asarray(tokens)
    lengths = np.asarray(lengths)
    n, width = tokens.shape
    dim = alphabet_size**k
    out = np.zeros((n, dim), dtype=np.float32)
    if width < k:
        return out
    block = max(1, min(_BLOCK, (1 << 22) // dim))  # bounded memory (the count table is block x dim)
    for a in range(0, n, block):  # vectorised within a block of rows
        codes = kmer_codes(tokens[a:a + block], lengths[a:a + block], k, alphabet_size=alphabet_size)
        ok = codes >= 0
        rows = np.broadcast_to(np.arange(len(codes))[:, None], codes.shape)
        counts = np.bincount((rows * dim + codes)[ok], minlength=len(codes) * dim).reshape(len(codes), dim)
        total = counts.sum(axis=1, keepdims=True)
        out[a:a + block] = counts / np.maximum(total, 1)
    return out


def kmer_codes(tokens: np.ndarray, lengths: np.ndarray, k: int, *, alphabet_size: int = 4) -> np.ndarray:
    """The k-mer starting at each position, as its column index (lexicographic, see :func:`kmer_names`).

    Returns
    -------
    numpy.ndarray, shape=(N, max(L - k + 1, 0)), dtype=int64
        -1 where the k-mer runs past the sequence's end or holds N / padding.
    """
    tokens = np.asarray(tokens)
    n, width = tokens.shape
    span = max(width - k + 1, 0)
    codes = np.zeros((n, span), dtype=np.int64)
    ok = (np.arange(span) + k)[None, :] <= np.asarray(lengths)[:, None]
    for i in range(k):  # loop over the k letters of a k-mer, not over positions
        col = tokens[:, i:i + span]
        ok &= col < alphabet_size
        codes = codes * alphabet_size + np.minimum(col, alphabet_size - 1)
    return np.where(ok, codes, -1)


def kmer_profile(tokens: np.ndarray, lengths: np.ndarray, ks: Sequence[int] = (1, 2, 3)) -> np.ndarray:
    """:func:`kmer_frequencies` for each k in ``ks``, concatenated: shape=(N, sum 4**k), float32."""
    return np.concatenate([kmer_frequencies(tokens, lengths, int(k)) for k in ks], axis=1)


@register_view
@dataclass(frozen=True)
class Kmer(View):
    """k-mer frequency vectors, (N, sum over k of 4**k).

    Parameters
    ----------
    k : tuple of int
        The k-mer lengths, each 1..8, concatenated in this order; a single int is accepted. Default is (1, 2, 3).
    """

    type = "kmer"
    kind = "sequence"
    k: tuple[int, ...] = (1, 2, 3)

    def __post_init__(self) -> None:
        ks = (self.k,) if isinstance(self.k, int) else tuple(self.k)
        if not ks or not all(isinstance(v, int) and 1 <= v <= MAX_K for v in ks):
            raise ConfigError(
                f"kmer view: k must be one or more integers from 1 to {MAX_K}, got {self.k!r}.",
                remedy="e.g. k: [1, 2, 3].",
            )
        object.__setattr__(self, "k", ks)

    def channels(self, dataset: Dataset | None = None) -> int:
        return sum(4**v for v in self.k)

    def channel_names(self, dataset: Dataset | None = None) -> list[str]:
        """The k-mers, in column order."""
        return [name for v in self.k for name in kmer_names(v)]

    def transform(self, dataset: Dataset) -> np.ndarray:
        return kmer_profile(dataset.tokens, dataset.lengths, self.k)

    def to_nucleotides(self, values: np.ndarray, *, tokens: np.ndarray, lengths: np.ndarray,
                       window: int) -> NucleotideMap:
        """A k-mer's attribution is split equally over its occurrences and, within one, over its k bases."""
        values = np.asarray(values, dtype=np.float64)
        if values.ndim != 2:
            return NucleotideMap.unmappable(values, window)
        occurrences = []
        for row, n in zip(tokens, lengths, strict=True):
            occ, offset = [], 0
            for k in self.k:
                for p in range(int(n) - k + 1):
                    word = row[p:p + k]
                    if np.all(word < 4):
                        code = int(np.dot(word.astype(np.int64), 4 ** np.arange(k - 1, -1, -1)))
                        occ.append((offset + code, np.arange(p, p + k)))
                offset += 4 ** k
            occurrences.append(occ)
        track, unplaced = occurrence_track(values, occurrences, window)
        return NucleotideMap(track, None, True, "each k-mer split over the nt of its occurrences", unplaced)
