"""Map each view's attributions back onto the nucleotides of the RNA they were computed from.

* Per-position views whose positions are the nucleotides (``onehot``, ``structure``, ``region`` and any view of
  width L) map one to one; the one-hot's ``flank`` padding columns are dropped.
* ``aminoacid`` (MMFA; three reading frames concatenated): each peptide position's attribution is split equally
  over the three bases of its codon (:func:`rnalabel.views.codon.aminoacid_nucleotide_map`).
* ``dipeptide`` (MMFA; 440 dipeptides x histogram cells): a dipeptide's attribution (summed over its cells) is
  split equally over its occurrences in the three frames (:func:`rnalabel.views.codon.dipeptide_occurrences`)
  and, within one, over the six bases of its two codons.
* ``kmer`` frequencies: a k-mer's attribution is split over its occurrences and their k bases.

Splitting keeps the total, except for what a feature earns by being *absent* (a dipeptide or k-mer with no
occurrence whose baseline value is not zero): that part has no nucleotide and is reported as ``unplaced``.
Other views (language-model embeddings ...) cannot be put on the RNA and are reported as unmapped.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnalabel.views.base import View


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
        Attribution with no nucleotide to go to (features absent from the sequence).
    """

    track: np.ndarray
    channels: np.ndarray | None
    mapped: bool
    how: str
    unplaced: np.ndarray


def position_map(view: View, n_positions: int, window: int) -> np.ndarray | None:
    """Nucleotide positions behind each position of a per-position view, or None if there is no such map.

    Returns
    -------
    numpy.ndarray, shape=(P, k), dtype=int64, or None
        ``-1`` marks padding (no nucleotide).
    """
    flank = int(getattr(view, "flank", 0) or 0)
    if view.type == "aminoacid":
        from rnalabel.views.codon import aminoacid_nucleotide_map

        return np.asarray(aminoacid_nucleotide_map(window, width=window, flank=flank), dtype=np.int64)
    if view.type == "onehot" or n_positions == window + 2 * flank:
        pos = np.arange(n_positions) - flank
        pos[(pos < 0) | (pos >= window)] = -1
        return pos[:, None]
    return None


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


def _occurrence_track(per_feature: np.ndarray, occurrences: list[list[tuple[int, np.ndarray]]],
                      window: int) -> tuple[np.ndarray, np.ndarray]:
    """Spread per-feature values (W, D) over occurrences: ``occurrences[i]`` = [(feature, nucleotides), ...]."""
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


def _dipeptide_occurrences(view: View, tokens: np.ndarray, lengths: np.ndarray) -> list:
    """Per row: (dipeptide index, the 6 nt of its two codons inside the sequence) for every counted pair."""
    from rnalabel.views.codon import dipeptide_occurrences

    gap, flank = int(getattr(view, "gap", 0)), int(getattr(view, "flank", 0))
    second = 3 * (gap + 1)
    out = []
    for row, n in zip(tokens, lengths, strict=True):
        occ = []
        for d, s in dipeptide_occurrences(row, int(n), gap, flank=flank):
            nts = np.r_[s:s + 3, s + second:s + second + 3]
            occ.append((d, nts[(nts >= 0) & (nts < int(n))]))
        out.append(occ)
    return out


def _kmer_occurrences(view: View, tokens: np.ndarray, lengths: np.ndarray) -> list:
    out = []
    for row, n in zip(tokens, lengths, strict=True):
        occ, offset = [], 0
        for k in view.k:
            for p in range(int(n) - k + 1):
                word = row[p:p + k]
                if np.all(word < 4):
                    code = int(np.dot(word.astype(np.int64), 4 ** np.arange(k - 1, -1, -1)))
                    occ.append((offset + code, np.arange(p, p + k)))
            offset += 4 ** k
        out.append(occ)
    return out


def to_nucleotides(
    view: View,
    values: np.ndarray,
    *,
    tokens: np.ndarray,
    lengths: np.ndarray,
    window: int,
) -> NucleotideMap:
    """Put one view's attributions on the RNA.

    Parameters
    ----------
    view : View
    values : numpy.ndarray, shape=(W, C, P) or (W, D)
        The view's attributions.
    tokens : numpy.ndarray, shape=(W, L), dtype=uint8
        The windows the attributions were computed on.
    lengths : numpy.ndarray, shape=(W,)
    window : int
        L.

    Returns
    -------
    NucleotideMap
    """
    w = len(values)
    values = np.asarray(values, dtype=np.float64)
    beyond = np.arange(window)[None, :] >= np.asarray(lengths)[:, None]
    if view.type == "dipeptide" and values.ndim == 3:
        track, unplaced = _occurrence_track(values.sum(axis=2), _dipeptide_occurrences(view, tokens, lengths),
                                            window)
        return NucleotideMap(track, None, True, "each dipeptide split over the 6 nt of its occurrences", unplaced)
    if view.type == "kmer" and values.ndim == 2:
        track, unplaced = _occurrence_track(values, _kmer_occurrences(view, tokens, lengths), window)
        return NucleotideMap(track, None, True, "each k-mer split over the nt of its occurrences", unplaced)
    if values.ndim == 3:
        pos = position_map(view, values.shape[2], window)
        if pos is not None:
            ch = spread(values, pos, window)
            ch[np.broadcast_to(beyond[:, None, :], ch.shape)] = 0.0
            outside = values.sum(axis=(1, 2)) - ch.sum(axis=(1, 2))  # flank and padding columns
            one_to_one = pos.shape[1] == 1
            how = "per position" if one_to_one else f"each position split over its {pos.shape[1]} nt"
            return NucleotideMap(ch.sum(axis=1), ch if one_to_one else None, True, how, outside)
    total = values.reshape(w, -1).sum(axis=1)
    return NucleotideMap(np.zeros((w, window)), None, False, "not mappable to nucleotides", total)
