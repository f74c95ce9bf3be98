"""Prediction: sequences in, what the bundle's kind gives out.

* ``windowed`` and ``whole-sequence`` bundles: :class:`Predictions`, per-label probabilities per sequence (for a
  windowed model the maximum over the sequence's windows: sequences no longer than the window are padded, longer
  ones scanned with the card's window and stride, the last window aligned to the sequence end) and per unit
  (window, or the sequence itself), with the labels called at the card's thresholds.
* ``embedding`` bundles: :class:`Embeddings`, one vector per sequence.

The work runs through the one featurise-and-forward path (:mod:`rnalabel.engine.forward`): units are featurised a
chunk at a time and run in batches.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from rnalabel.data import Dataset, atomic_path
from rnalabel.engine.bundle import Bundle
from rnalabel.engine.forward import per_sequence, unit_outputs


@dataclass
class Predictions:
    """Probabilities per sequence and per unit (window).

    Attributes
    ----------
    ids : numpy.ndarray of str, shape=(N,)
    label_names : list of str
    scores : numpy.ndarray, shape=(N, K)
        Per-sequence probability: the maximum over the sequence's windows (its only unit for whole-sequence
        models).
    calls : numpy.ndarray of bool, shape=(N, K)
        ``scores >= thresholds``.
    window_source : numpy.ndarray, shape=(W,)
        Sequence row of each window.
    window_start : numpy.ndarray, shape=(W,)
        0-based start of each window.
    window_end : numpy.ndarray, shape=(W,)
        1-based inclusive end of each window's last nucleotide (padding excluded).
    window_scores : numpy.ndarray, shape=(W, K)
    thresholds : numpy.ndarray, shape=(K,)
    """

    ids: np.ndarray
    label_names: list[str]
    scores: np.ndarray
    calls: np.ndarray
    window_source: np.ndarray
    window_start: np.ndarray
    window_end: np.ndarray
    window_scores: np.ndarray
    thresholds: np.ndarray

    def tsv_lines(self, *, windows: bool = False, header: bool = True) -> list[str]:
        """The rows :meth:`to_tsv` writes (with or without the header line)."""
        lines = []
        if not windows:
            if header:
                lines.append("\t".join(["id", *self.label_names, "called_labels"]))
            for i, sid in enumerate(self.ids):
                called = ",".join(n for n, c in zip(self.label_names, self.calls[i], strict=True) if c)
                lines.append("\t".join([str(sid), *(f"{v:.6g}" for v in self.scores[i]), called or "-"]))
        else:
            if header:
                lines.append("\t".join(["id", "start", "end", *self.label_names]))
            for w in range(len(self.window_source)):
                lines.append("\t".join([
                    str(self.ids[self.window_source[w]]), str(int(self.window_start[w]) + 1),
                    str(int(self.window_end[w])), *(f"{v:.6g}" for v in self.window_scores[w]),
                ]))
        return lines

    def to_tsv(self, path: str | os.PathLike, *, windows: bool = False) -> Path:
        """Write a TSV atomically: one row per sequence (``id``, one column per label, ``called_labels``), or per
        window with ``windows=True`` (``id``, ``start``, ``end`` 1-based inclusive, one column per label)."""
        return _write_lines(path, self.tsv_lines(windows=windows))


@dataclass
class Embeddings:
    """One vector per sequence (embedding bundles).

    Attributes
    ----------
    ids : numpy.ndarray of str, shape=(N,)
    vectors : numpy.ndarray, shape=(N, D), float32
    """

    ids: np.ndarray
    vectors: np.ndarray

    def tsv_lines(self, *, header: bool = True) -> list[str]:
        """The rows :meth:`to_tsv` writes (with or without the header line)."""
        lines = ["\t".join(["id", *(f"d{j}" for j in range(self.vectors.shape[1]))])] if header else []
        lines += ["\t".join([str(sid), *(f"{v:.6g}" for v in row)]) for sid, row in zip(self.ids, self.vectors,
                                                                                       strict=True)]
        return lines

    def to_tsv(self, path: str | os.PathLike) -> Path:
        """Write a TSV atomically: ``id`` and one column per dimension (``d0`` ...)."""
        return _write_lines(path, self.tsv_lines())


def _write_lines(path: str | os.PathLike, lines: list[str]) -> Path:
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text("\n".join(lines) + "\n")
    return path


def predict(
    model: Bundle,
    dataset: Dataset,
    *,
    batch_size: int = 512,
    device: str | torch.device | None = None,
    progress: bool = True,
    precision: str = "auto",
    chunk: int = 16384,
) -> Predictions | Embeddings:
    """Predict for every sequence of ``dataset`` what the bundle's kind gives: label probabilities (scanning long
    sequences with a windowed model), or embeddings.

    Parameters
    ----------
    model : Bundle
    dataset : Dataset
        Labels, if any, are ignored.
    batch_size : int
        Default is 512.
    device : str, optional
        Default is None (CUDA when present, else CPU).
    progress : bool
        Show a progress bar for large inputs. Default is True.
    precision : "auto", "32" or "bf16"
        Arithmetic of the forward pass (see :func:`rnalabel.engine.forward.forward_arrays`). Default is "auto"
        (as trained).
    chunk : int
        Units featurised at a time. Default is 16384.

    Returns
    -------
    Predictions, or Embeddings for an embedding bundle

    Warns
    -----
    ShortSequenceWarning
        When sequences are shorter than any the model was trained on and it was trained without shortened
        copies (see :meth:`rnalabel.engine.bundle.Bundle.units`).
    """
    kw = {"batch_size": batch_size, "device": device, "precision": precision, "progress": progress, "chunk": chunk}
    if model.kind_info.output == "vectors":
        units, vectors = unit_outputs(model, dataset, output="embedding", **kw)
        return Embeddings(ids=dataset.ids, vectors=vectors)
    units, wscores = unit_outputs(model, dataset, output="probability", **kw)
    scores = per_sequence(units, wscores, len(dataset))
    calls = scores >= model.thresholds[None, :]
    pseudo = [j for j, n in enumerate(model.label_names) if (model.label_info.get(n) or {}).get("pseudo")]
    calls[:, pseudo] = False  # a pseudo-label (eCLIP's `negative`: bound by none) is no protein to call
    _warn_uninformative(dataset, calls)
    _warn_unreliable(model)
    from rnalabel.engine.bundle import warn_remembered

    warn_remembered(model, dataset)
    return Predictions(
        ids=dataset.ids, label_names=list(model.label_names), scores=scores,
        calls=calls, window_source=units.source, window_start=units.start,
        window_end=units.start + units.dataset.lengths, window_scores=wscores,
        thresholds=np.asarray(model.thresholds),
    )


def _warn_uninformative(dataset: Dataset, calls: np.ndarray) -> None:
    """Sequences without one A, C, G or U get no calls (their scores say nothing about them), with one warning."""
    from rnalabel.data.sequence import PAD
    from rnalabel.engine.bundle import UninformativeSequenceWarning

    if not len(dataset):
        return
    inside = np.arange(dataset.tokens.shape[1])[None, :] < dataset.lengths[:, None]
    blank = ~((dataset.tokens < PAD) & inside).any(axis=1)
    if blank.any():
        calls[blank] = False
        first = dataset.ids[np.flatnonzero(blank)[0]]
        warnings.warn(f"{int(blank.sum())} sequence(s) have no A, C, G or U (e.g. {first!r}: all N or ambiguity "
                      "codes): scored, but no label is called for them.", UninformativeSequenceWarning, stacklevel=3)


def _warn_unreliable(model: Bundle) -> None:
    """One warning naming the labels whose validation AUROC (stored in the card) is near chance."""
    from rnalabel.engine.bundle import RELIABLE_AUROC, UnreliableLabelWarning

    per = (((model.card or {}).get("metrics") or {}).get("val") or {}).get("per_label") or {}
    weak = [f"{n} {per[n]['auroc']:.2f}" for n in model.label_names
            if isinstance(per.get(n), dict) and isinstance(per[n].get("auroc"), float)
            and per[n]["auroc"] < RELIABLE_AUROC]
    if weak:
        warnings.warn(f"{len(weak)} label(s) had a validation AUROC below {RELIABLE_AUROC} when this model was "
                      f"trained, so their calls are little better than chance: {', '.join(weak[:10])}"
                      + (", ..." if len(weak) > 10 else "") + ".", UnreliableLabelWarning, stacklevel=3)
