"""Putting attributions back on the nucleotides of the RNA they were computed from.

Every view maps its own attributions (:meth:`rnalabel.views.base.View.to_nucleotides`); this module holds what
they share: the result type and the two ways of spreading values onto nucleotides.

* :func:`spread`: per-position values, each position of the view split equally over the nucleotides behind it
  (one for a nucleotide track, three for a codon's amino acid);
* :func:`occurrence_track`: per-feature values (a k-mer, a dipeptide), each split equally over the feature's
  occurrences and, within one, over its nucleotides;
* :func:`pair_track`: pairwise values (an L x L map), each pair split equally over its two nucleotides.

Splitting keeps the total, except for what a feature earns by being *absent* (a dipeptide or k-mer with no
occurrence whose baseline value is not zero), or what padding and flanks earn: that part has no nucleotide and
is reported as ``unplaced``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class NucleotideMap:
    """One view's attributions on the RNA.

    Attributes
    ----------
    track : numpy.ndarray, shape=(W, L)
        Contribution of each nucleotide (summed over the view's channels); zeros when not mapped.
    channels : numpy.ndarray, shape=(W, C, L), or None
        Per-channel contributions on the nucleotide axis (one-to-one per-position views only).
    mapped : bool
        False for views that cannot be put on the RNA.
    how : str
        How the mapping was made, for plot titles and reports.
    unplaced : numpy.ndarray, shape=(W,)
        Attribution with no nucleotide to go to (padding, flanks, features absent from the sequence).
    """

    track: np.ndarray
    channels: np.ndarray | None
    mapped: bool
    how: str
    unplaced: np.ndarray

    @classmethod
    def unmappable(cls, values: np.ndarray, window: int) -> NucleotideMap:
        """A view that cannot be put on the RNA: every attribution is unplaced."""
        w = len(values)
        total = np.asarray(values, dtype=np.float64).reshape(w, -1).sum(axis=1)
        return cls(np.zeros((w, window)), None, False, "not mappable to nucleotides", total)


def beyond_end(lengths: np.ndarray, window: int) -> np.ndarray:
    """Boolean (W, L): positions past each window's last nucleotide (padding)."""
    return np.arange(window)[None, :] >= np.asarray(lengths)[:, None]


def spread(values: np.ndarray, positions: np.ndarray, window: int) -> np.ndarray:
    """Spread per-position values onto nucleotides, each position split equally over its nucleotides.

    Parameters
    ----------
    values : numpy.ndarray, shape=(W, C, P)
    positions : numpy.ndarray, shape=(P, k)
        Nucleotide index per position and slot; -1 = none.
    window : int
        L, the number of nucleotides.

    Returns
    -------
    numpy.ndarray, shape=(W, C, L)
    """
    w, c, _ = values.shape
    out = np.zeros((w, c, window), dtype=np.float64)
    valid = positions >= 0
    share = np.where(valid, 1.0 / np.maximum(valid.sum(axis=1, keepdims=True), 1), 0.0)  # (P, k)
    for slot in range(positions.shape[1]):
        ok = np.flatnonzero(valid[:, slot])
        if len(ok):
            np.add.at(out, (slice(None), slice(None), positions[ok, slot]), values[:, :, ok] * share[ok, slot])
    return out


def positions_track(values: np.ndarray, positions: np.ndarray, *, lengths: np.ndarray, window: int) -> NucleotideMap:
    """A per-position view's :class:`NucleotideMap` from its position map (see :func:`spread`)."""
    values = np.asarray(values, dtype=np.float64)
    ch = spread(values, positions, window)
    ch[np.broadcast_to(beyond_end(lengths, window)[:, None, :], ch.shape)] = 0.0
    outside = values.sum(axis=(1, 2)) - ch.sum(axis=(1, 2))  # flank and padding columns
    one_to_one = positions.shape[1] == 1
    how = "per position" if one_to_one else f"each position split over its {positions.shape[1]} nt"
    return NucleotideMap(ch.sum(axis=1), ch if one_to_one else None, True, how, outside)


def occurrence_track(per_feature: np.ndarray, occurrences: list[list[tuple[int, np.ndarray]]],
                     window: int) -> tuple[np.ndarray, np.ndarray]:
    """Spread per-feature values over their occurrences.

    Parameters
    ----------
    per_feature : numpy.ndarray, shape=(W, D)
    occurrences : list of list of (int, numpy.ndarray)
        Per row, ``(feature, nucleotide positions)`` of every occurrence.
    window : int

    Returns
    -------
    (track (W, L), unplaced (W,))
    """
    w = len(per_feature)
    out = np.zeros((w, window), dtype=np.float64)
    placed = np.zeros(per_feature.shape, dtype=bool)
    for i, occ in enumerate(occurrences):
        if not occ:
            continue
        feats = np.asarray([f for f, _ in occ], dtype=np.int64)
        n_occ = np.bincount(feats, minlength=per_feature.shape[1])
        for f, nts in occ:
            nts = nts[(nts >= 0) & (nts < window)]
            if len(nts):
                np.add.at(out[i], nts, per_feature[i, f] / n_occ[f] / len(nts))
                placed[i, f] = True
    unplaced = np.where(placed, 0.0, per_feature).sum(axis=1)
    return out, unplaced


def pair_track(values: np.ndarray, *, lengths: np.ndarray, window: int) -> NucleotideMap:
    """Pairwise attributions (W, C, L, L) on the RNA: the value of pair (i, j) is split equally over i and j."""
    values = np.asarray(values, dtype=np.float64)
    per_pair = values.sum(axis=1)  # (W, L, L)
    n = per_pair.shape[1]
    track = 0.5 * (per_pair.sum(axis=2) + per_pair.sum(axis=1))
    if n != window:
        return NucleotideMap.unmappable(values, window)
    track[beyond_end(lengths, window)] = 0.0
    unplaced = per_pair.sum(axis=(1, 2)) - track.sum(axis=1)
    return NucleotideMap(track, None, True, "each pair split over its 2 nt", unplaced)
