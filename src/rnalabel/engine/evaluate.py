"""Scores of a trained model on labelled data, labels matched by name."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from rnalabel.data import Dataset
from rnalabel.engine.bundle import Bundle
from rnalabel.engine.forward import sequence_scores
from rnalabel.engine.metrics import MultiLabelScores, evaluate_arrays
from rnalabel.errors import LabelError


class Evaluation(NamedTuple):
    """What :func:`evaluate` measured: the scores, and the labels and probabilities they were computed from."""

    scores: MultiLabelScores
    y_true: np.ndarray
    y_score: np.ndarray


def align_labels(model: Bundle, ds: Dataset) -> np.ndarray:
    """The dataset's labels in the model's label order; labels the dataset lacks are NaN (unknown)."""
    common = [n for n in model.label_names if n in ds.label_names]
    if not common:
        raise LabelError(
            "the data has none of the model's labels.",
            remedy=f"the model predicts: {', '.join(model.label_names[:20])}; name the label columns alike.",
        )
    y = np.full((len(ds), model.n_labels), np.nan, dtype=np.float32)
    for j, n in enumerate(model.label_names):
        if n in ds.label_names:
            y[:, j] = ds.labels[:, ds.label_names.index(n)]
    return y


def evaluate(
    model: Bundle,
    dataset: Dataset,
    *,
    batch_size: int = 512,
    device: str | None = None,
    progress: bool = True,
    precision: str = "auto",
) -> Evaluation:
    """Score ``model`` on a labelled dataset (matched by label name) at the card's thresholds.

    Every kind is scored on its per-label probabilities per sequence (a windowed model's max over windows; an
    embedding model's training head).

    Returns
    -------
    Evaluation
        ``(scores, y_true (N, K), y_score (N, K))``.
    """
    y = align_labels(model, dataset)
    from rnalabel.engine.bundle import warn_remembered

    warn_remembered(model, dataset)
    s = sequence_scores(model, dataset, batch_size=batch_size, device=device, progress=progress, precision=precision)
    return Evaluation(evaluate_arrays(y, s, label_names=model.label_names, thresholds=model.thresholds), y, s)
