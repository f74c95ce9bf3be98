import numpy as np
import pytest
from sklearn.metrics import (
    average_precision_score,
    f1_score,
    hamming_loss,
    jaccard_score,
    roc_auc_score,
)

from rnalabel.engine.metrics import choose_thresholds, evaluate_arrays


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    y = (rng.random((300, 5)) < [0.5, 0.3, 0.2, 0.1, 0.4]).astype(float)
    s = np.clip(0.6 * y + 0.6 * rng.random((300, 5)), 0, 1)
    return y, s


def test_matches_sklearn_on_complete_labels(data):
    y, s = data
    thr = np.array([0.5, 0.4, 0.6, 0.5, 0.55])
    r = evaluate_arrays(y, s, thresholds=thr)
    p = s >= thr
    a = r.averages
    for avg in ("macro", "micro", "weighted"):
        assert a[f"auroc_{avg}"] == pytest.approx(roc_auc_score(y, s, average=avg))
        assert a[f"ap_{avg}"] == pytest.approx(average_precision_score(y, s, average=avg))
        assert a[f"f1_{avg}"] == pytest.approx(f1_score(y, p, average=avg))
    assert a["hamming_loss"] == pytest.approx(hamming_loss(y, p))
    assert a["jaccard"] == pytest.approx(jaccard_score(y, p, average="samples", zero_division=1.0))
    assert a["exact_match"] == pytest.approx(np.mean((y == p).all(axis=1)))
    for j, name in enumerate(r.label_names):
        assert r.per_label[name]["auroc"] == pytest.approx(roc_auc_score(y[:, j], s[:, j]))


def test_one_error_by_hand():
    y = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 0, 0]], float)
    s = np.array([[0.9, 0.1, 0.2], [0.8, 0.7, 0.1], [0.1, 0.2, 0.3], [0.5, 0.5, 0.5]])
    r = evaluate_arrays(y, s)
    # row 2's top label is wrong; the row without positives is left out
    assert r.averages["one_error"] == pytest.approx(1 / 3)


def test_single_class_label_is_nan_and_reported(data):
    y, s = data
    y = y.copy()
    y[:, 2] = 0
    r = evaluate_arrays(y, s, label_names=list("abcde"))
    assert np.isnan(r.per_label["c"]["auroc"]) and "c" in r.undefined
    defined = [roc_auc_score(y[:, j], s[:, j]) for j in (0, 1, 3, 4)]
    assert r.averages["auroc_macro"] == pytest.approx(np.mean(defined))
    assert r.to_dict()["per_label"]["c"]["auroc"] is None


def test_unknown_labels_are_skipped(data):
    y, s = data
    y = y.copy()
    y[:100, 0] = np.nan
    r = evaluate_arrays(y, s)
    assert r.per_label["label0"]["auroc"] == pytest.approx(roc_auc_score(y[100:, 0], s[100:, 0]))
    assert r.per_label["label0"]["n_pos"] + r.per_label["label0"]["n_neg"] == 200


def test_thresholds_maximise_f1(data):
    y, s = data
    thr = choose_thresholds(y, s)
    for j in range(y.shape[1]):
        best = f1_score(y[:, j], s[:, j] >= thr[j])
        for t in np.linspace(0.05, 0.95, 19):
            assert best >= f1_score(y[:, j], s[:, j] >= t) - 1e-9
    assert choose_thresholds(np.zeros((5, 1)), np.random.rand(5, 1))[0] == 0.5


def test_the_mmlmirlocnet_papers_five_metrics():
    from sklearn.metrics import hamming_loss, jaccard_score, precision_score, recall_score, roc_auc_score

    from rnalabel.engine.metrics import PAPER_METRICS, evaluate_arrays

    rng = np.random.default_rng(0)
    y = (rng.random((200, 4)) < 0.4).astype(float)
    y[np.arange(200), rng.integers(0, 4, 200)] = 1  # every row has a true label
    s = np.clip(y * 0.3 + rng.random((200, 4)) * 0.7, 0, 1)
    s[np.arange(200), rng.integers(0, 4, 200)] = 0.99  # and a predicted one
    m = evaluate_arrays(y, s).averages
    p = s >= 0.5
    P, R = precision_score(y, p, average="samples"), recall_score(y, p, average="samples")
    assert m["precision_example"] == pytest.approx(P) and m["recall_example"] == pytest.approx(R)
    assert m[PAPER_METRICS["F1"]] == pytest.approx(2 * P * R / (P + R))
    assert m[PAPER_METRICS["Accuracy"]] == pytest.approx(jaccard_score(y, p, average="samples"))
    assert m[PAPER_METRICS["SubsetAcc"]] == pytest.approx(np.mean((y == p).all(axis=1)))
    assert m[PAPER_METRICS["Hloss"]] == pytest.approx(hamming_loss(y, p))
    assert m[PAPER_METRICS["AucMacro"]] == pytest.approx(roc_auc_score(y, s, average="macro"))
