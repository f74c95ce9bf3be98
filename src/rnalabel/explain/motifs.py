"""Motifs from attributions: seqlets, clustering into PWMs, comparison with published RBP motifs, MEME files.

1. **Seqlets.** In each window, the ``width``-nt stretch with the largest summed contribution is a seqlet; up to
   ``max_per_window`` non-overlapping ones are taken, each at least ``min_fraction`` of the window's best.
2. **Clustering** (greedy seed-and-refine, in the spirit of HOMER/STREME, on seqlets instead of whole sequences):
   the ``k``-mer most enriched in the seqlets over the background of the windows (score ``c * log((c + 1) /
   (e + 1))``, c = seqlets containing it, e = expected) seeds a cluster of every seqlet holding it with at most
   ``mismatches`` mismatches; the aligned members (extended by ``extend`` nt each side) give a PWM; the PWM then
   re-scans the seqlets and keeps those with a relative score of at least ``min_relative_score``, twice; edge
   columns under ``trim_ic`` bits are trimmed. Members are removed and the next seed is taken, until a cluster
   would have fewer than ``min_seqlets`` members. Motifs are ranked by their number of seqlets.
3. **Similarity** (:func:`pwm_similarity`): the Pearson correlation of aligned columns (as TOMTOM's PCC and
   Pietrokovski's column score), summed over the overlap at the best offset and divided by the length of the
   shorter motif, so a perfect match of the whole shorter motif scores 1 and a partial overlap scores less.
   Each discovered motif is compared with :data:`rnalabel.data.published_motifs.PUBLISHED_MOTIFS`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import product
from pathlib import Path

import numpy as np

from rnalabel.data import write_text_atomic
from rnalabel.data.published_motifs import IUPAC_BASES, PUBLISHED_MOTIFS, PublishedMotif, consensus_to_pwm
from rnalabel.data.sequence import ALPHABET, PAD


# seqlets ----------------------------------------------------------------------------------------------------
@dataclass
class Seqlets:
    """High-contribution stretches of windows.

    Attributes
    ----------
    window : numpy.ndarray, shape=(S,)
        Index of the window (row of the attribution arrays) each seqlet is in.
    start : numpy.ndarray, shape=(S,)
        0-based start in the window.
    width : int
    score : numpy.ndarray, shape=(S,)
        Summed contribution over the seqlet.
    tokens : numpy.ndarray, shape=(W, L), dtype=uint8
        The windows' tokens (for alignment beyond the seqlet's edges).
    """

    window: np.ndarray
    start: np.ndarray
    width: int
    score: np.ndarray
    tokens: np.ndarray

    def __len__(self) -> int:
        return len(self.window)

    def sequences(self) -> list[str]:
        """The seqlets as strings."""
        from rnalabel.data.sequence import decode

        return [decode(self.tokens[w, s:s + self.width]) for w, s in zip(self.window, self.start, strict=True)]


def extract_seqlets(
    contributions: np.ndarray,
    tokens: np.ndarray,
    lengths: np.ndarray,
    *,
    width: int = 8,
    max_per_window: int = 2,
    min_fraction: float = 0.5,
) -> Seqlets:
    """Top-contribution windows (seqlets) of each sequence.

    Parameters
    ----------
    contributions : numpy.ndarray, shape=(W, L)
        Per-nucleotide contribution (e.g. :attr:`Attributions.sequence_track`).
    tokens : numpy.ndarray, shape=(W, L), dtype=uint8
    lengths : numpy.ndarray, shape=(W,)
    width : int
        Seqlet width. Default is 8.
    max_per_window : int
        Default is 2.
    min_fraction : float
        A further seqlet must reach this fraction of the window's best one. Default is 0.5.
    """
    contributions = np.asarray(contributions, dtype=np.float64)
    n, length = contributions.shape
    rows, starts, scores = [], [], []
    for i in range(n):
        m = min(int(lengths[i]), length)
        if m < width:
            continue
        c = np.cumsum(np.r_[0.0, contributions[i, :m]])
        s = c[width:] - c[:-width]  # s[a] = sum over [a, a + width)
        best = None
        for _ in range(max_per_window):
            a = int(np.argmax(s))
            v = s[a]
            if not np.isfinite(v) or v <= 0 or (best is not None and v < min_fraction * best):
                break
            best = v if best is None else best
            rows.append(i)
            starts.append(a)
            scores.append(v)
            s[max(0, a - width + 1):a + width] = -np.inf
    return Seqlets(np.asarray(rows, dtype=np.int64), np.asarray(starts, dtype=np.int64), width,
                   np.asarray(scores, dtype=np.float64), np.asarray(tokens))


# PWMs -------------------------------------------------------------------------------------------------------
def information_content(pwm: np.ndarray, background: np.ndarray | None = None) -> np.ndarray:
    """Bits per column, shape=(w,): relative entropy of each column to ``background`` (uniform by default)."""
    bg = np.full(4, 0.25) if background is None else np.asarray(background, dtype=float)
    p = np.clip(pwm, 1e-12, 1.0)
    return np.sum(pwm * np.log2(p / bg), axis=1)


def consensus(pwm: np.ndarray) -> str:
    """IUPAC consensus of a PWM, by Cavener's (1987) rules, extended to three-base codes.

    A base whose frequency is above 0.5 and twice the second's; else the two most frequent bases if they hold
    more than 0.75; else the three most frequent if the fourth is below 0.1; else N.
    """
    code = {frozenset(v): k for k, v in IUPAC_BASES.items() if k != "T"}
    out = []
    for col in np.asarray(pwm, dtype=float):
        col = col / max(col.sum(), 1e-12)
        order = np.argsort(-col, kind="stable")
        p = col[order]
        if p[0] > 0.5 and p[0] > 2 * p[1]:
            n = 1
        elif p[0] + p[1] > 0.75:
            n = 2
        elif p[3] < 0.1:
            n = 3
        else:
            n = 4
        out.append(code[frozenset(ALPHABET[i] for i in order[:n])])
    return "".join(out)


def _column_pcc(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation of matching rows of a and b, shape=(w,); 0 where a column is constant."""
    ac = a - a.mean(axis=1, keepdims=True)
    bc = b - b.mean(axis=1, keepdims=True)
    den = np.sqrt((ac * ac).sum(axis=1) * (bc * bc).sum(axis=1))
    return np.where(den > 1e-12, (ac * bc).sum(axis=1) / np.maximum(den, 1e-12), 0.0)


def pwm_similarity(a: np.ndarray, b: np.ndarray, *, min_overlap: int = 4) -> tuple[float, int]:
    """Similarity of two PWMs: summed column Pearson correlation at the best offset / shorter length.

    Parameters
    ----------
    a, b : numpy.ndarray, shape=(wa, 4) and (wb, 4)
        Probability matrices (rows sum to 1), columns A, C, G, U.
    min_overlap : int
        Fewest aligned columns (or the shorter length, if smaller). Default is 4.

    Returns
    -------
    (score, offset)
        ``score`` in [-1, 1]; ``offset`` is where b's first column falls in a (may be negative).
    """
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    wa, wb = len(a), len(b)
    short = min(wa, wb)
    need = min(min_overlap, short)
    best, best_off = -np.inf, 0
    for off in range(-(wb - need), wa - need + 1):
        i0, i1 = max(0, off), min(wa, off + wb)
        if i1 - i0 < need:
            continue
        s = _column_pcc(a[i0:i1], b[i0 - off:i1 - off]).sum() / short
        if s > best:
            best, best_off = s, off
    return float(best), int(best_off)


@dataclass(frozen=True)
class MotifMatch:
    """A published motif compared with a discovered one."""

    rbp: str
    consensus: str
    score: float
    offset: int
    source: str = ""


def match_published(
    pwm: np.ndarray, table: Mapping[str, PublishedMotif] | None = None, *, min_overlap: int = 4
) -> list[MotifMatch]:
    """Every motif of ``table`` (default :data:`PUBLISHED_MOTIFS`) scored against ``pwm``, best first."""
    table = PUBLISHED_MOTIFS if table is None else table
    out = []
    for m in table.values():
        score, off = pwm_similarity(pwm, consensus_to_pwm(m.consensus), min_overlap=min_overlap)
        out.append(MotifMatch(m.rbp, m.consensus, score, off, m.source))
    return sorted(out, key=lambda x: -x.score)


@dataclass
class Motif:
    """A discovered motif.

    Attributes
    ----------
    name : str
    pwm : numpy.ndarray, shape=(w, 4)
        Letter probabilities, columns A, C, G, U.
    n_seqlets : int
        Seqlets in the cluster.
    n_windows : int
        Distinct windows those seqlets come from.
    contribution : float
        Summed contribution of its seqlets.
    seed : str
        The k-mer the cluster was seeded with.
    matches : list of MotifMatch
        Published motifs, best first.
    members : numpy.ndarray
        Indices of its seqlets.
    """

    name: str
    pwm: np.ndarray
    n_seqlets: int
    n_windows: int
    contribution: float
    seed: str
    matches: list[MotifMatch] = field(default_factory=list)
    members: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    @property
    def consensus(self) -> str:
        return consensus(self.pwm)

    @property
    def best_match(self) -> MotifMatch | None:
        return self.matches[0] if self.matches else None


# clustering -------------------------------------------------------------------------------------------------
def _kmer_codes(tokens: np.ndarray, k: int) -> np.ndarray:
    """Integer code of every k-mer of each row, shape=(N, L-k+1); -1 where it has N or padding."""
    n, length = tokens.shape
    if length < k:
        return np.full((n, 0), -1, dtype=np.int64)
    t = tokens.astype(np.int64)
    codes = np.zeros((n, length - k + 1), dtype=np.int64)
    bad = np.zeros_like(codes, dtype=bool)
    for j in range(k):
        col = t[:, j:length - k + 1 + j]
        codes = codes * 4 + np.minimum(col, 3)
        bad |= col > 3
    codes[bad] = -1
    return codes


def _regions(seqlets: Seqlets, pad: int) -> tuple[np.ndarray, np.ndarray]:
    """Each seqlet with ``pad`` nt either side, (S, width + 2 pad) tokens, and the region starts."""
    padded = np.pad(seqlets.tokens, ((0, 0), (pad, pad)), constant_values=PAD)
    cols = seqlets.start[:, None] + np.arange(seqlets.width + 2 * pad)[None, :]
    return padded[seqlets.window[:, None], cols], seqlets.start - pad


def _aligned(seqlets: Seqlets, idx: np.ndarray, pos: np.ndarray, width: int) -> np.ndarray:
    """Window tokens of seqlets ``idx`` from ``pos`` (window coordinates) over ``width`` nt, PAD outside."""
    big = width + 1
    padded = np.pad(seqlets.tokens, ((0, 0), (big, big)), constant_values=PAD)
    cols = pos[:, None] + big + np.arange(width)[None, :]
    return padded[seqlets.window[idx][:, None], cols]


def _counts_pwm(aligned: np.ndarray, pseudo: float = 0.5) -> np.ndarray:
    onehot = (aligned[:, :, None] == np.arange(4)[None, None, :]).sum(axis=0).astype(float)
    return (onehot + pseudo) / (onehot.sum(axis=1, keepdims=True) + 4 * pseudo)


def _scan(pwm: np.ndarray, regions: np.ndarray, bg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Best relative log-odds score of ``pwm`` in each region row and its offset."""
    w = len(pwm)
    lo = np.log(pwm / bg[None, :])
    lo_n = np.vstack([lo.T, np.zeros((1, w))])  # row 4: N/padding scores 0
    n, length = regions.shape
    if length < w:
        return np.zeros(n), np.zeros(n, dtype=np.int64)
    score = np.zeros((n, length - w + 1))
    for j in range(w):
        score += lo_n[np.minimum(regions[:, j:length - w + 1 + j], 4), j]
    mx, mn = lo.max(axis=1).sum(), lo.min(axis=1).sum()
    best = score.argmax(axis=1)
    rel = (score[np.arange(n), best] - mn) / max(mx - mn, 1e-12)
    return rel, best


def _trim(pwm: np.ndarray, bg: np.ndarray, trim_ic: float, min_width: int) -> tuple[np.ndarray, int]:
    ic = information_content(pwm, bg)
    a, b = 0, len(pwm)
    while b - a > min_width and ic[a] < trim_ic:
        a += 1
    while b - a > min_width and ic[b - 1] < trim_ic:
        b -= 1
    return pwm[a:b], a


def discover_motifs(
    seqlets: Seqlets,
    *,
    k: int = 6,
    mismatches: int = 1,
    extend: int = 4,
    max_motifs: int = 5,
    min_seqlets: int = 10,
    min_relative_score: float = 0.8,
    trim_ic: float = 0.3,
    table: Mapping[str, PublishedMotif] | None = None,
) -> list[Motif]:
    """Cluster seqlets into motifs (see the module docstring), ranked by number of seqlets.

    Parameters
    ----------
    seqlets : Seqlets
    k : int
        Seed length. Default is 6.
    mismatches : int
        Mismatches allowed between a seqlet and the seed. Default is 1.
    extend : int
        Columns added each side of the seed before trimming. Default is 4.
    max_motifs : int
        Default is 5.
    min_seqlets : int
        Smallest cluster reported. Default is 10.
    min_relative_score : float
        Relative PWM score (0 = worst, 1 = best possible) a seqlet needs to join a cluster. Default is 0.8.
    trim_ic : float
        Edge columns below this many bits are trimmed. Default is 0.3.
    table : mapping, optional
        Published motifs to compare with. Default is :data:`PUBLISHED_MOTIFS`.

    Returns
    -------
    list of Motif
        Best (most seqlets) first; names ``motif_1`` ...
    """
    n = len(seqlets)
    if n == 0:
        return []
    toks = seqlets.tokens
    valid = toks[toks < 4]
    bg = (np.bincount(valid, minlength=4) + 1.0) / (len(valid) + 4.0)
    regions, region_start = _regions(seqlets, k // 2)
    codes = _kmer_codes(regions, k)
    # background k-mer frequencies over all windows holding seqlets
    all_codes = _kmer_codes(toks[np.unique(seqlets.window)], k).ravel()
    all_codes = all_codes[all_codes >= 0]
    bg_freq = (np.bincount(all_codes, minlength=4 ** k) + 1.0) / (len(all_codes) + 4 ** k)
    slots = codes.shape[1]
    kmers = np.asarray(list(product(range(4), repeat=k)), dtype=np.int64)  # code -> letters
    remaining = np.ones(n, dtype=bool)
    motifs: list[Motif] = []
    while len(motifs) < max_motifs and remaining.sum() >= min_seqlets:
        rows = np.flatnonzero(remaining)
        present = np.zeros((len(rows), 4 ** k), dtype=bool)
        for j in range(slots):
            c = codes[rows, j]
            ok = c >= 0
            present[np.flatnonzero(ok), c[ok]] = True
        count = present.sum(axis=0).astype(float)
        expected = len(rows) * (1.0 - (1.0 - bg_freq) ** slots)
        enrich = count * np.log((count + 1.0) / (expected + 1.0))
        seed = int(np.argmax(enrich))
        if enrich[seed] <= 0:
            break
        # members: best (fewest-mismatch) seed occurrence in each remaining seqlet's region
        letters = regions[rows]
        mism = np.full((len(rows), slots), k + 1, dtype=np.int64)
        for j in range(slots):
            window = letters[:, j:j + k]
            mism[:, j] = np.where((window > 3).any(axis=1), k + 1, (window != kmers[seed][None, :]).sum(axis=1))
        best = mism.argmin(axis=1)
        hit = mism[np.arange(len(rows)), best] <= mismatches
        members = rows[hit]
        if len(members) < min_seqlets:
            break
        pos = region_start[members] + best[hit] - extend  # window coordinates of the PWM's first column
        width = k + 2 * extend
        pwm = _counts_pwm(_aligned(seqlets, members, pos, width))
        for _ in range(2):  # refine: re-scan every remaining seqlet with the PWM
            scan_regions, scan_start = _regions(seqlets, width // 2)  # the PWM's centre stays in the seqlet
            rel, off = _scan(pwm, scan_regions[rows], bg)
            keep = rel >= min_relative_score
            if keep.sum() < min_seqlets:
                break
            members = rows[keep]
            pos = scan_start[members] + off[keep]
            pwm = _counts_pwm(_aligned(seqlets, members, pos, width))
        trimmed, _ = _trim(pwm, bg, trim_ic, min_width=min(k, 4))
        remaining[members] = False
        motifs.append(Motif(
            name="", pwm=trimmed, n_seqlets=int(len(members)),
            n_windows=int(len(np.unique(seqlets.window[members]))),
            contribution=float(seqlets.score[members].sum()),
            seed="".join(ALPHABET[b] for b in kmers[seed]),
            matches=match_published(trimmed, table), members=members,
        ))
    motifs.sort(key=lambda m: (-m.n_seqlets, -m.contribution))
    for i, m in enumerate(motifs):
        m.name = f"motif_{i + 1}"
    return motifs


# MEME -------------------------------------------------------------------------------------------------------
def meme_text(motifs: Sequence[Motif], *, background: np.ndarray | None = None, prefix: str = "") -> str:
    """Motifs in MEME minimal motif format (version 4, RNA alphabet ACGU, + strand only)."""
    bg = np.full(4, 0.25) if background is None else np.asarray(background, dtype=float)
    lines = ["MEME version 4", "", "ALPHABET= ACGU", "", "strands: +", "", "Background letter frequencies",
             " ".join(f"{b} {p:.3f}" for b, p in zip(ALPHABET, bg, strict=True)), ""]
    for m in motifs:
        alt = m.best_match.rbp if m.best_match is not None else m.consensus
        lines.append(f"MOTIF {prefix}{m.name} {m.consensus}" + (f"_best_{alt}" if m.best_match else ""))
        lines.append(f"letter-probability matrix: alength= 4 w= {len(m.pwm)} nsites= {m.n_seqlets} E= 0")
        for row in m.pwm:
            lines.append(" " + "  ".join(f"{v:.6f}" for v in row / row.sum()))
        lines.append("")
    return "\n".join(lines)


def write_meme(motifs: Sequence[Motif], path: str | os.PathLike, *, background: np.ndarray | None = None,
               prefix: str = "") -> Path:
    """Write :func:`meme_text` to ``path`` atomically."""
    return write_text_atomic(path, meme_text(motifs, background=background, prefix=prefix))
