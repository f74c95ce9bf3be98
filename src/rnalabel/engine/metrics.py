"""Multi-label metrics and per-label decision thresholds.

All functions take ``y_true`` of shape (N, K) with 1 / 0 / NaN (NaN = unknown, skipped) and scores ``y_score``
(probabilities) of the same shape.

* Ranking metrics per label: AUROC and average precision (AP). A label with only one class among its known test
  entries gets NaN, is reported in ``undefined`` and is left out of the macro and weighted averages (never
  silently dropped). Micro averages pool every known (sequence, label) entry.
* Threshold metrics: F1 per label and macro/micro/weighted, at per-label thresholds (chosen on validation data
  with :func:`choose_thresholds` and stored in the model card; 0.5 when none are given).
* Example-based metrics over each sequence's known labels: exact match (subset accuracy), Hamming loss,
  example-based accuracy (Jaccard; a row with empty truth and empty prediction scores 1, as in scikit-learn),
  and one-error (the top-scored known label is not a positive; rows without any positive are left out).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score

from rnalabel.data.files import jsonable


@dataclass
class MultiLabelScores:
    """Scores of one evaluation.

    Attributes
    ----------
    label_names : list of str
    per_label : dict of str to dict
        For each label: ``auroc``, ``ap``, ``f1``, ``threshold``, ``n_pos``, ``n_neg``.
    averages : dict of str to float
        ``auroc_macro``, ``auroc_micro``, ``auroc_weighted``, ``ap_*`` likewise, ``f1_*`` likewise,
        ``exact_match``, ``hamming_loss``, ``jaccard`` (example-based accuracy), ``one_error``,
        ``precision_example``, ``recall_example``, ``f1_example`` (see :data:`PAPER_METRICS`).
    undefined : list of str
        Labels whose AUROC/AP are NaN (one class only among the known test entries).
    n : int
        Number of sequences evaluated.
    split : str or None
        Which rows were evaluated, when known (``test``; ``all (no split column)``). Default is None.
    """

    label_names: list[str]
    per_label: dict[str, dict[str, float]]
    averages: dict[str, float]
    undefined: list[str] = field(default_factory=list)
    n: int = 0
    split: str | None = None

    def undefined_reasons(self) -> dict[str, list[str]]:
        """The undefined labels by why: ``no known entries`` (all unknown here) or ``one class only``."""
        out: dict[str, list[str]] = {}
        for name in self.undefined:
            r = self.per_label.get(name, {})
            none = (r.get("n_pos") or 0) + (r.get("n_neg") or 0) == 0
            out.setdefault("no known entries" if none else "one class only", []).append(name)
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict; NaN becomes None."""
        return jsonable(
            {"n": self.n, "averages": self.averages, "per_label": self.per_label, "undefined": self.undefined}
        )


def _check(y_true: np.ndarray, y_score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y_true = np.asarray(y_true, dtype=np.float64)
    y_score = np.asarray(y_score, dtype=np.float64)
    if y_true.ndim == 1:
        y_true, y_score = y_true[:, None], y_score.reshape(-1, 1)
    if y_true.shape != y_score.shape:
        raise ValueError(f"y_true {y_true.shape} and y_score {y_score.shape} differ in shape")
    return y_true, y_score


def per_label_auc(y_true: np.ndarray, y_score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """AUROC and AP for each label over its known entries; NaN where a label has one class only.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray), each shape=(K,)
    """
    y_true, y_score = _check(y_true, y_score)
    k = y_true.shape[1]
    auroc = np.full(k, np.nan)
    ap = np.full(k, np.nan)
    for j in range(k):
        m = ~np.isnan(y_true[:, j])
        t = y_true[m, j]
        if t.size and 0 < t.sum() < t.size:
            auroc[j] = roc_auc_score(t, y_score[m, j])
            ap[j] = average_precision_score(t, y_score[m, j])
    return auroc, ap


def choose_thresholds(y_true: np.ndarray, y_score: np.ndarray, *, default: float = 0.5) -> np.ndarray:
    """Per-label thresholds that maximise F1 on the given (validation) data.

    A label with no positive among its known entries keeps ``default``.

    Returns
    -------
    numpy.ndarray, shape=(K,)
    """
    y_true, y_score = _check(y_true, y_score)
    out = np.full(y_true.shape[1], default)
    for j in range(y_true.shape[1]):
        m = ~np.isnan(y_true[:, j])
        t = y_true[m, j]
        if t.sum() == 0 or t.sum() == t.size:
            continue
        prec, rec, thr = precision_recall_curve(t, y_score[m, j])
        f1 = np.where(prec + rec > 0, 2 * prec * rec / np.maximum(prec + rec, 1e-12), 0.0)[:-1]
        out[j] = float(thr[int(np.argmax(f1))])
    return out


def _f1_counts(t: np.ndarray, p: np.ndarray, m: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    tp = np.sum((t == 1) & p & m, axis=0)
    fp = np.sum((t == 0) & p & m, axis=0)
    fn = np.sum((t == 1) & ~p & m, axis=0)
    return tp, fp, fn


def evaluate_arrays(
    y_true: np.ndarray,
    y_score: np.ndarray,
    *,
    label_names: Sequence[str] | None = None,
    thresholds: np.ndarray | Sequence[float] | None = None,
) -> MultiLabelScores:
    """Every metric of this module on one prediction matrix.

    Parameters
    ----------
    y_true : array, shape=(N, K)
        1 / 0 / NaN (unknown).
    y_score : array, shape=(N, K)
        Probabilities.
    label_names : sequence of str, optional
        Default is ``label0 ... label{K-1}``.
    thresholds : array, shape=(K,), optional
        Decision thresholds for F1 and the example-based metrics. Default is 0.5 for every label.
    """
    y_true, y_score = _check(y_true, y_score)
    n, k = y_true.shape
    names = list(label_names) if label_names is not None else [f"label{j}" for j in range(k)]
    thr = np.full(k, 0.5) if thresholds is None else np.asarray(thresholds, dtype=np.float64)
    known = ~np.isnan(y_true)
    t = np.where(known, y_true, 0.0)
    pred = y_score >= thr[None, :]
    n_pos = np.sum(t == 1, axis=0)
    n_neg = np.sum(known & (t == 0), axis=0)

    auroc, ap = per_label_auc(y_true, y_score)
    defined = ~np.isnan(auroc)
    tp, fp, fn = _f1_counts(t, pred, known)
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(n_pos > 0, 2 * tp / np.maximum(2 * tp + fp + fn, 1), np.nan)

    def wmean(v: np.ndarray) -> float:
        ok = ~np.isnan(v)
        w = n_pos[ok]
        return float(np.sum(v[ok] * w) / np.sum(w)) if ok.any() and w.sum() > 0 else float("nan")

    flat_t, flat_s = t[known], y_score[known]
    both = 0 < flat_t.sum() < flat_t.size
    avg: dict[str, float] = {
        "auroc_macro": float(np.nanmean(auroc)) if defined.any() else float("nan"),
        "auroc_micro": float(roc_auc_score(flat_t, flat_s)) if both else float("nan"),
        "auroc_weighted": wmean(auroc),
        "ap_macro": float(np.nanmean(ap)) if defined.any() else float("nan"),
        "ap_micro": float(average_precision_score(flat_t, flat_s)) if both else float("nan"),
        "ap_weighted": wmean(ap),
        "f1_macro": float(np.nanmean(f1)) if (~np.isnan(f1)).any() else float("nan"),
        "f1_micro": float(2 * tp.sum() / max(2 * tp.sum() + fp.sum() + fn.sum(), 1)),
        "f1_weighted": wmean(f1),
    }
    avg.update(example_based(y_true, y_score, thr))
    per = {
        name: {
            "auroc": float(auroc[j]),
            "ap": float(ap[j]),
            "f1": float(f1[j]),
            "threshold": float(thr[j]),
            "n_pos": int(n_pos[j]),
            "n_neg": int(n_neg[j]),
        }
        for j, name in enumerate(names)
    }
    return MultiLabelScores(names, per, avg, [names[j] for j in np.flatnonzero(~defined)], n)


def example_based(y_true: np.ndarray, y_score: np.ndarray, thresholds: np.ndarray) -> dict[str, float]:
    """Example-based metrics over known labels: exact match, Hamming loss, Jaccard (example-based accuracy),
    one-error, example-based precision and recall, and F1 = 2PR / (P + R) from them. A row with nothing true and
    nothing predicted scores 1 for Jaccard, precision and recall (as scikit-learn's Jaccard does)."""
    y_true, y_score = _check(y_true, y_score)
    known = ~np.isnan(y_true)
    t = np.where(known, y_true, 0.0) == 1
    p = (y_score >= np.asarray(thresholds)[None, :]) & known
    rows = known.any(axis=1)
    if not rows.any():
        return {k: float("nan") for k in ("exact_match", "hamming_loss", "jaccard", "one_error", "precision_example",
                                           "recall_example", "f1_example")}
    wrong = (t != p) & known
    exact = float(np.mean(~wrong[rows].any(axis=1)))
    hamming = float(wrong.sum() / known.sum())
    inter = np.sum(t & p, axis=1)
    union = np.sum(t | p, axis=1)
    jac = np.where(union > 0, inter / np.maximum(union, 1), 1.0)
    jaccard = float(np.mean(jac[rows]))
    n_t, n_p = np.sum(t, axis=1), np.sum(p, axis=1)
    prec = np.where(n_p > 0, inter / np.maximum(n_p, 1), (n_t == 0).astype(float))  # nothing predicted, nothing true: 1
    rec = np.where(n_t > 0, inter / np.maximum(n_t, 1), (n_p == 0).astype(float))
    precision, recall = float(np.mean(prec[rows])), float(np.mean(rec[rows]))
    f1_example = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    has_pos = np.sum(t, axis=1) > 0
    masked = np.where(known, y_score, -np.inf)
    top = np.argmax(masked, axis=1)
    one_err = float(np.mean(~t[np.arange(len(t)), top][has_pos])) if has_pos.any() else float("nan")
    return {"exact_match": exact, "hamming_loss": hamming, "jaccard": jaccard, "one_error": one_err,
            "precision_example": precision, "recall_example": recall, "f1_example": f1_example}


#: the five metrics of the MMLmiRLocNet paper (its eqs. 11-15) -> the key in ``MultiLabelScores.averages``.
#: Accuracy is example-based (|Y ∩ h| / |Y ∪ h|, i.e. Jaccard), SubsetAcc exact match, Hloss the Hamming loss
#: over known labels, AucMacro the mean per-label AUROC, and F1 = 2PR / (P + R) from the example-based precision
#: P = mean |Y ∩ h| / |h| and recall R = mean |Y ∩ h| / |Y| (the paper gives this formula without saying how P
#: and R are averaged; example-based is the usual reading in its reference [70], Zhang & Zhou 2014).
PAPER_METRICS = {"Accuracy": "jaccard", "AucMacro": "auroc_macro", "SubsetAcc": "exact_match", "F1": "f1_example",
                 "Hloss": "hamming_loss"}
