"""Attribution maps and motif logos as PNG files (matplotlib + logomaker).

An attribution map follows the paper's Figs. 3-5: on top, a sequence logo whose letters are the bases of the
window, each as high (or, below the axis, as deep) as its contribution; beneath it one panel per further view:
per-position views with named channels (structure: paired/unpaired or loop contexts; region types) as bars per
channel, coloured by channel; views mapped through codons (amino-acid, dipeptide) or k-mers as a logo of their
contribution on the RNA; in-silico mutagenesis adds a heat map of every substitution's effect.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from rnalabel.data import atomic_path
from rnalabel.data.published_motifs import consensus_to_pwm
from rnalabel.data.sequence import ALPHABET
from rnalabel.explain.attribution import Attributions
from rnalabel.explain.motifs import Motif, information_content

#: base colours (the usual A green, C blue, G orange, U red)
BASE_COLORS = {"A": "#109648", "C": "#255c99", "G": "#f7b32b", "U": "#d62839"}
#: the most channels drawn as separate bars; wider views are drawn as one logo
MAX_BAR_CHANNELS = 12


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: str | os.PathLike, dpi: int) -> Path:
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi, bbox_inches="tight")
    _plt().close(fig)
    return path


def contribution_matrix(tokens: np.ndarray, contribution: np.ndarray) -> np.ndarray:
    """(L, 4) matrix with each position's contribution in the column of its base (0 for N / padding)."""
    mat = np.zeros((len(tokens), 4))
    ok = tokens < 4
    mat[np.flatnonzero(ok), tokens[ok].astype(np.int64)] = contribution[ok]
    return mat


def _logo(ax, matrix: np.ndarray, first: int = 1) -> None:
    import logomaker
    import pandas as pd

    df = pd.DataFrame(matrix, columns=list(ALPHABET), index=np.arange(first, first + len(matrix)))
    logomaker.Logo(df, ax=ax, color_scheme=BASE_COLORS, flip_below=False, fade_below=0.3, shade_below=0.0)
    ax.axhline(0, color="black", lw=0.5)
    ax.spines[["top", "right"]].set_visible(False)


def _bars(ax, values: np.ndarray, names: Sequence[str], first: int) -> None:
    """Stacked bars per channel (positive values up, negative down)."""
    plt = _plt()
    x = np.arange(first, first + values.shape[1])
    cmap = plt.get_cmap("tab10" if len(names) <= 10 else "tab20")
    up = np.zeros(values.shape[1])
    down = np.zeros(values.shape[1])
    for c, name in enumerate(names):
        v = values[c]
        pos, neg = np.clip(v, 0, None), np.clip(v, None, 0)
        ax.bar(x, pos, bottom=up, width=0.9, color=cmap(c % cmap.N), label=name, linewidth=0)
        ax.bar(x, neg, bottom=down, width=0.9, color=cmap(c % cmap.N), linewidth=0)
        up += pos
        down += neg
    ax.axhline(0, color="black", lw=0.5)
    ax.legend(fontsize=7, ncol=min(len(names), 6), loc="upper left", bbox_to_anchor=(0, 1.25), frameon=False)
    ax.spines[["top", "right"]].set_visible(False)


def _heatmap(ax, effects: np.ndarray, first: int) -> None:
    lim = float(np.abs(effects).max()) or 1.0
    im = ax.imshow(effects, aspect="auto", cmap="RdBu_r", vmin=-lim, vmax=lim, interpolation="nearest",
                   extent=(first - 0.5, first + effects.shape[1] - 0.5, 3.5, -0.5))
    ax.set_yticks(range(4), list(ALPHABET))
    ax.figure.colorbar(im, ax=ax, fraction=0.02, pad=0.01, label="output change")


def plot_attribution_map(
    attributions: Attributions,
    index: int,
    path: str | os.PathLike,
    *,
    title: str | None = None,
    dpi: int = 110,
) -> Path:
    """Draw the attribution map of window ``index`` and write it as a PNG (atomically).

    Parameters
    ----------
    attributions : Attributions
    index : int
        Row (window) to draw.
    path : path
        PNG file.
    title : str, optional
        Default: window id, label, score, method, baseline and completeness gap.
    dpi : int
        Default is 110.
    """
    plt = _plt()
    a = attributions
    w = a.windows
    n = int(w.lengths[index])
    first = int(w.start[index]) + 1
    tokens = w.tokens[index, :n]
    unit = "output change" if a.method == "ism" else f"contribution\n({a.output})"
    panels: list[tuple[str, str, object]] = [("logo", f"sequence\n{unit}", a.sequence_track[index, :n])]
    for k in a.values:
        if k in a.sequence_views:
            continue
        if k in a.channels and a.channels[k].shape[1] <= MAX_BAR_CHANNELS:
            panels.append(("bars", k, (a.channels[k][index, :, :n], a.channel_names[k])))
        elif k in a.nucleotide:
            panels.append(("logo", f"{k}\n(on the RNA)", a.nucleotide[k][index, :n]))
    if a.method == "ism":
        panels.append(("heat", "substitution\neffect", a.values["ism"][index, :, :n]))
    heights = [2.2 if kind == "logo" else 1.4 for kind, _, _ in panels]
    fig, axes = plt.subplots(len(panels), 1, figsize=(max(8.0, 0.13 * n + 2), sum(heights) + 0.9),
                             gridspec_kw={"height_ratios": heights, "hspace": 0.55}, squeeze=False)
    for ax, (kind, name, data) in zip(axes[:, 0], panels, strict=True):
        if kind == "logo":
            _logo(ax, contribution_matrix(tokens, np.asarray(data)), first)
        elif kind == "bars":
            values, names = data
            _bars(ax, values, names, first)
        else:
            _heatmap(ax, np.asarray(data), first)
        ax.set_ylabel(name, fontsize=8)
        ax.set_xlim(first - 0.5, first + n - 0.5)
        ax.tick_params(labelsize=7)
    axes[-1, 0].set_xlabel("position in the sequence (nt)")
    if title is None:
        title = default_title(a, index)
    fig.suptitle(title, fontsize=9, x=0.01, ha="left")
    return _save(fig, path, dpi)


def default_title(a: Attributions, index: int) -> str:
    """``id:start-end  label  score  method / baseline / steps  completeness``."""
    w = a.windows
    s = int(w.start[index])
    method = "integrated gradients" if a.method == "integrated_gradients" else "in-silico mutagenesis"
    span = f"{s + 1}-{s + int(w.lengths[index])}"
    wid = str(w.ids[index])
    head = (wid if wid.endswith(span) else f"{wid} ({span})") + f"   {a.label}: {a.output} {a.scores[index]:.2f}"
    if a.output == "logit":
        head += f" (p = {1 / (1 + np.exp(-a.scores[index])):.3f})"
    tail = f"{method}"
    if a.method == "integrated_gradients":
        tail += (f", baseline {a.baseline}, {a.steps} steps, completeness gap "
                 f"{100 * a.relative_delta[index]:.1f}%")
    if a.unmapped:
        tail += f"; not on the RNA: {', '.join(a.unmapped)}"
    return head + "\n" + tail


def plot_motifs(
    motifs: Sequence[Motif],
    path: str | os.PathLike,
    *,
    title: str = "",
    background: np.ndarray | None = None,
    dpi: int = 110,
) -> Path:
    """Information-content logos of discovered motifs, each above its best published match (aligned).

    Parameters
    ----------
    motifs : sequence of Motif
    path : path
        PNG file.
    title : str
        Default is "".
    background : numpy.ndarray, shape=(4,), optional
        For the information content. Default is uniform.
    dpi : int
        Default is 110.
    """
    import logomaker
    import pandas as pd

    plt = _plt()
    if not motifs:
        fig, ax = plt.subplots(figsize=(5, 1.2))
        ax.text(0.5, 0.5, "no motif found", ha="center", va="center")
        ax.axis("off")
        return _save(fig, path, dpi)
    bg = np.full(4, 0.25) if background is None else np.asarray(background)
    height = 2.1 * len(motifs) + 0.6
    fig, axes = plt.subplots(len(motifs), 2, figsize=(9, height), squeeze=False,
                             gridspec_kw={"width_ratios": [1, 1], "wspace": 0.25, "hspace": 0.75})
    fig.subplots_adjust(top=1 - 0.75 / height, bottom=0.3 / height)
    for row, m in zip(axes, motifs, strict=True):
        best = m.best_match
        off = best.offset if best is not None else 0
        lo = min(0, off)
        ref = consensus_to_pwm(best.consensus) if best is not None else None
        hi = max(len(m.pwm), off + len(ref)) if ref is not None else len(m.pwm)
        for ax, pwm, shift, name in (
            (row[0], m.pwm, 0, f"{m.name}: {m.consensus}  ({m.n_seqlets} seqlets, {m.n_windows} windows)"),
            (row[1], ref, off, "" if best is None else
             f"best match {best.rbp} {best.consensus}: similarity {best.score:.2f}"),
        ):
            if pwm is None:
                ax.axis("off")
                continue
            ic = information_content(pwm, bg)[:, None] * pwm
            df = pd.DataFrame(ic, columns=list(ALPHABET), index=np.arange(shift - lo, shift - lo + len(pwm)))
            logomaker.Logo(df, ax=ax, color_scheme=BASE_COLORS)
            ax.set_xlim(-0.5, hi - lo - 0.5)
            ax.set_ylim(0, 2)
            ax.set_ylabel("bits", fontsize=8)
            ax.set_title(name, fontsize=8, loc="left")
            ax.tick_params(labelsize=7)
            ax.spines[["top", "right"]].set_visible(False)
    if title:
        fig.suptitle(title, fontsize=10, x=0.01, ha="left", y=1 - 0.15 / height, va="top")
    return _save(fig, path, dpi)
