"""Prediction: sequences in, per-window and per-sequence label probabilities out.

Sequences no longer than the model's window are padded; longer ones are scanned with the card's window and
stride (the last window aligned to the sequence end), and each sequence's score per label is the maximum over its
windows. Work is done in chunks, so memory does not grow with the input.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from rnalabel._runtime import preserve_state, resolve_device, resolve_precision, to_tensors
from rnalabel.data import Dataset, atomic_path, make_windows
from rnalabel.engine.bundle import LabelModel


@dataclass
class Predictions:
    """Probabilities per sequence and per window.

    Attributes
    ----------
    ids : numpy.ndarray of str, shape=(N,)
    label_names : list of str
    scores : numpy.ndarray, shape=(N, K)
        Per-sequence probability: the maximum over the sequence's windows.
    calls : numpy.ndarray of bool, shape=(N, K)
        ``scores >= thresholds``.
    window_source : numpy.ndarray, shape=(W,)
        Sequence row of each window.
    window_start : numpy.ndarray, shape=(W,)
        0-based start of each window.
    window_scores : numpy.ndarray, shape=(W, K)
    thresholds : numpy.ndarray, shape=(K,)
    """

    ids: np.ndarray
    label_names: list[str]
    scores: np.ndarray
    calls: np.ndarray
    window_source: np.ndarray
    window_start: np.ndarray
    window_scores: np.ndarray
    thresholds: np.ndarray
    window: int = 0

    def to_tsv(self, path: str | os.PathLike, *, windows: bool = False) -> Path:
        """Write a TSV atomically: one row per sequence (``id``, one column per label, ``top_labels``), or per
        window with ``windows=True`` (``id``, ``start``, ``end`` 1-based inclusive, one column per label)."""
        path = Path(path)
        lines = []
        if not windows:
            lines.append("\t".join(["id", *self.label_names, "called_labels"]))
            for i, sid in enumerate(self.ids):
                called = ",".join(n for n, c in zip(self.label_names, self.calls[i], strict=True) if c)
                lines.append("\t".join([str(sid), *(f"{v:.6g}" for v in self.scores[i]), called or "-"]))
        else:
            lines.append("\t".join(["id", "start", "end", *self.label_names]))
            for w in range(len(self.window_source)):
                s = int(self.window_start[w])
                lines.append("\t".join([
                    str(self.ids[self.window_source[w]]), str(s + 1), str(s + self.window),
                    *(f"{v:.6g}" for v in self.window_scores[w]),
                ]))
        with atomic_path(path) as tmp:
            tmp.write_text("\n".join(lines) + "\n")
        return path


def predict_arrays(
    model: LabelModel,
    arrays: dict[str, np.ndarray],
    *,
    batch_size: int = 512,
    device: str | torch.device | None = None,
    progress: bool = False,
    precision: str = "auto",
) -> np.ndarray:
    """Sigmoid outputs of ``model.module`` on already featurised inputs.

    Parameters
    ----------
    model : LabelModel
    arrays : dict of str to numpy.ndarray
        View arrays, (N, C, L) or (N, D).
    batch_size : int
        Default is 512.
    device : str, optional
        Default is None (CUDA when present, else CPU).
    progress : bool
        Default is False.
    precision : "auto", "32" or "bf16"
        Arithmetic of the forward pass: fp32, or bfloat16 autocast (about 2.5x faster on CPUs with bf16
        instructions). "auto" follows the precision the model was trained with (its recipe). Default is "auto".

    Returns
    -------
    numpy.ndarray, shape=(N, K), float32
    """
    dev = resolve_device(device)
    bf16 = inference_bf16(model, precision, dev)
    n = len(next(iter(arrays.values())))
    out = np.empty((n, model.n_labels), dtype=np.float32)
    with preserve_state(model.module, dev) as m, torch.inference_mode(), \
            torch.autocast(dev.type, dtype=torch.bfloat16, enabled=bf16):
        for a in range(0, n, batch_size):
            x = to_tensors({k: v[a:a + batch_size] for k, v in arrays.items()}, dev)
            out[a:a + batch_size] = torch.sigmoid(m(x).float()).cpu().numpy()
    return out


def inference_bf16(model: LabelModel, precision: str = "auto", device=None) -> bool:
    """Whether to run the forward pass under bfloat16 autocast (see :func:`predict_arrays`)."""
    if precision == "auto":
        return resolve_precision(model.recipe.train.precision, device).startswith("bf16")
    if precision not in ("32", "bf16"):
        from rnalabel.errors import ConfigError

        raise ConfigError(f"unknown inference precision {precision!r}.", remedy="use auto, 32 or bf16.")
    return precision == "bf16"


def predict(
    model: LabelModel,
    dataset: Dataset,
    *,
    batch_size: int = 512,
    device: str | torch.device | None = None,
    progress: bool = True,
    precision: str = "auto",
    chunk: int = 16384,
) -> Predictions:
    """Predict every label for every sequence of ``dataset``, scanning long sequences.

    Parameters
    ----------
    model : LabelModel
    dataset : Dataset
        Labels, if any, are ignored.
    batch_size : int
        Default is 512.
    device : str, optional
        Default is None (CUDA when present, else CPU).
    progress : bool
        Show a progress bar for large inputs. Default is True.
    precision : "auto", "32" or "bf16"
        See :func:`predict_arrays`. Default is "auto" (as trained).
    chunk : int
        Windows featurised at a time. Default is 16384.

    Returns
    -------
    Predictions
    """
    win = make_windows(dataset, model.window, model.stride)
    wds = win.dataset
    n_win = len(wds)
    wscores = np.empty((n_win, model.n_labels), dtype=np.float32)
    bar = _bar(progress and n_win > chunk, n_win)
    for a in range(0, n_win, chunk):
        part = wds.subset(slice(a, a + chunk))
        wscores[a:a + chunk] = predict_arrays(model, model.featurize(part), batch_size=batch_size, device=device,
                                              precision=precision)
        if bar is not None:
            bar.advance(bar.task_ids[0], len(part))
    if bar is not None:
        bar.stop()
    scores = np.full((len(dataset), model.n_labels), np.nan, dtype=np.float32)
    if n_win:
        starts = np.flatnonzero(np.r_[True, win.source[1:] != win.source[:-1]])
        scores[win.source[starts]] = np.maximum.reduceat(wscores, starts, axis=0)
    return Predictions(
        ids=dataset.ids, label_names=list(model.label_names), scores=scores,
        calls=scores >= model.thresholds[None, :], window_source=win.source, window_start=win.start,
        window_scores=wscores, thresholds=np.asarray(model.thresholds), window=model.window,
    )


def _bar(show: bool, total: int):
    if not show:
        return None
    from rich.progress import Progress

    p = Progress(transient=True)
    p.start()
    p.add_task("predicting", total=total)
    return p
