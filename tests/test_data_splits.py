"""The fast iterative stratification in rnalabel.data gives exactly iterstrat's splits."""

from __future__ import annotations

import numpy as np
import pytest

from rnalabel.data import Dataset, split_iterative
from rnalabel.data.splits import _stratified_two_way


def _iterstrat(y: np.ndarray, frac: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    from iterstrat.ml_stratifiers import MultilabelStratifiedShuffleSplit

    n = len(y)
    n_b = int(round(frac * n))
    if y.shape[1] == 1:
        y = np.hstack([y, 1 - y])
    a, b = next(MultilabelStratifiedShuffleSplit(n_splits=1, test_size=n_b / n, random_state=seed)
                .split(np.zeros(n), y))
    return np.sort(a), np.sort(b)


@pytest.mark.parametrize("trial", range(12))
def test_same_split_as_iterstrat(trial):
    g = np.random.default_rng(trial)
    n, k = int(g.integers(20, 300)), int(g.integers(1, 7))
    y = (g.random((n, k)) < g.random(k) * 0.5).astype(np.int8)
    if trial % 3 == 0:
        y[: n // 3] = 0  # rows without any label
    frac = float(g.choice([0.1, 0.2, 0.33, 0.5]))
    ours = _stratified_two_way(y, frac, trial)
    ref = _iterstrat(y, frac, trial)
    assert np.array_equal(ours[0], ref[0]) and np.array_equal(ours[1], ref[1])


def test_split_iterative_sparse_many_labels_is_fast_and_stratified():
    g = np.random.default_rng(0)
    n, k = 20000, 40
    y = np.zeros((n, k), dtype=np.float32)
    y[np.arange(n), g.integers(0, k, n)] = 1  # one label per row, like a bound eCLIP site
    ds = Dataset.from_sequences([str(i) for i in range(n)], ["ACGU"] * n, y, [f"l{j}" for j in range(k)])
    s = split_iterative(ds, (0.7, 0.1, 0.2), seed=0)
    for part, frac in (("train", 0.7), ("val", 0.1), ("test", 0.2)):
        m = s.split == part
        assert abs(m.mean() - frac) < 0.002
        assert np.all(np.abs(y[m].sum(axis=0) / y.sum(axis=0) - frac) < 0.01)


@pytest.mark.parametrize("fractions", [(float("nan"), 0.1, 0.2), (0.7, 0.1, float("inf")), (1.2, -0.2, 0.0),
                                       (0.5, 0.5), (float("nan"),) * 3])
def test_split_iterative_refuses_non_finite_or_negative_fractions(fractions):
    from rnalabel.errors import InputError

    ds = Dataset.from_sequences([f"s{i}" for i in range(10)], ["ACGU"] * 10,
                                np.eye(2, dtype=np.float32)[np.arange(10) % 2], ["a", "b"])
    with pytest.raises(InputError, match="finite, non-negative"):
        split_iterative(ds, fractions)
