"""Scores of a trained model on labelled data, labels matched by name."""

from __future__ import annotations

import numpy as np

from rnalabel.data import Dataset
from rnalabel.engine.bundle import LabelModel
from rnalabel.engine.metrics import MultiLabelScores, evaluate_arrays
from rnalabel.engine.predict import predict
from rnalabel.errors import LabelError


def align_labels(model: LabelModel, ds: Dataset) -> np.ndarray:
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
    model: LabelModel,
    dataset: Dataset,
    *,
    batch_size: int = 512,
    device: str | None = None,
    progress: bool = True,
    precision: str = "auto",
) -> tuple[MultiLabelScores, np.ndarray, np.ndarray]:
    """Score ``model`` on a labelled dataset (matched by label name) at the card's thresholds.

    Returns
    -------
    (MultiLabelScores, y_true (N, K), y_score (N, K))
    """
    y = align_labels(model, dataset)
    scores = predict(model, dataset, batch_size=batch_size, device=device, progress=progress,
                     precision=precision).scores
    return evaluate_arrays(y, scores, label_names=model.label_names, thresholds=model.thresholds), y, scores
