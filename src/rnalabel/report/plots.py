"""Plots and small report files: per-label ROC / precision-recall curves, training history."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from rnalabel.data import atomic_path, write_text_atomic


def plot_curves(
    y_true: np.ndarray,
    y_score: np.ndarray,
    label_names: Sequence[str],
    path: str | os.PathLike,
    *,
    title: str = "",
    max_labels: int = 20,
) -> Path:
    """Per-label ROC and precision-recall curves in one PNG (two panels), written atomically.

    Labels with one class only among their known entries are listed in the legend as undefined. With more than
    ``max_labels`` labels, the ``max_labels`` with most positives are drawn.

    Parameters
    ----------
    y_true : array, shape=(N, K)
        1 / 0 / NaN (unknown).
    y_score : array, shape=(N, K)
    label_names : sequence of str
    path : path
        PNG file.
    title : str
        Figure title. Default is "".
    max_labels : int
        Default is 20.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score, roc_curve

    y_true = np.asarray(y_true, dtype=float)
    y_score = np.asarray(y_score, dtype=float)
    npos = np.nansum(y_true == 1, axis=0)
    order = np.argsort(-npos)[:max_labels]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 5.2))
    cmap = plt.get_cmap("tab20" if len(order) > 10 else "tab10")
    for c, j in enumerate(order):
        m = ~np.isnan(y_true[:, j])
        t, s = y_true[m, j], y_score[m, j]
        name = label_names[j]
        if not (0 < t.sum() < t.size):
            ax1.plot([], [], label=f"{name} (undefined: one class)")
            continue
        fpr, tpr, _ = roc_curve(t, s)
        prec, rec, _ = precision_recall_curve(t, s)
        col = cmap(c % cmap.N)
        ax1.plot(fpr, tpr, color=col, lw=1.5, label=f"{name} AUROC {roc_auc_score(t, s):.3f}")
        ax2.plot(rec, prec, color=col, lw=1.5,
                 label=f"{name} AP {average_precision_score(t, s):.3f} (pos rate {t.mean():.2f})")
    ax1.plot([0, 1], [0, 1], color="grey", lw=0.8, ls="--")
    ax1.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC", xlim=(0, 1), ylim=(0, 1.01))
    ax2.set(xlabel="recall", ylabel="precision", title="precision-recall", xlim=(0, 1), ylim=(0, 1.01))
    for ax in (ax1, ax2):
        ax.legend(fontsize=7, loc="lower right" if ax is ax1 else "lower left")
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
    return path


def write_history(history: Sequence[dict], path: str | os.PathLike) -> Path:
    """Training history as a TSV: epoch, train_loss, val_loss, seconds, then any other recorded column."""
    cols = ["epoch", "train_loss", "val_loss", "seconds"]
    for h in history:
        cols += [k for k in h if k not in cols]
    lines = ["\t".join(cols)] + ["\t".join(f"{h.get(c, '')}" for c in cols) for h in history]
    return write_text_atomic(path, "\n".join(lines) + "\n")
