"""Train / validation / test splits by iterative stratification over the labels (seeded)."""

from __future__ import annotations

import numpy as np

from rnalabel.data.dataset import Dataset
from rnalabel.errors import InputError


def check_fractions(fractions) -> tuple[float, float, float]:
    """``fractions`` as three train / validation / test fractions, finite, non-negative and summing to 1 (an
    :class:`InputError` otherwise: NaN or infinity would pass a comparison silently)."""
    try:
        f = np.asarray(fractions, dtype=float)
    except (TypeError, ValueError):
        f = np.array([np.nan])
    if f.shape != (3,) or not np.all(np.isfinite(f)) or np.any(f < 0) or abs(f.sum() - 1) > 1e-6:
        shown = tuple(float(v) for v in f) if f.shape == (3,) else fractions
        raise InputError(f"split fractions {shown} must be three finite, non-negative numbers summing to 1.",
                         remedy="give e.g. 0.7,0.1,0.2 (train,val,test).")
    return tuple(float(v) for v in f)  # type: ignore[return-value]


def split_iterative(
    ds: Dataset,
    fractions: tuple[float, float, float] = (0.7, 0.1, 0.2),
    *,
    seed: int = 0,
    only_unsplit: bool = False,
) -> Dataset:
    """Assign ``train``/``val``/``test`` by iterative stratification over the labels (seeded).

    The algorithm is ``iterstrat``'s multi-label stratified shuffle split, which keeps each label's positive
    rate close in every part (Sechidis et al. 2011), run by :func:`_iterative_stratification`: the same splits
    and random draws as ``iterstrat`` (checked in the tests), about 5x faster on sparse labels (an eCLIP
    matrix of 333,547 x 92 splits in seconds instead of half a minute). Unknown labels (NaN) count as negative
    for stratification only.

    Parameters
    ----------
    ds : Dataset
    fractions : (float, float, float)
        Train, validation and test fractions; they must sum to 1. Default is (0.7, 0.1, 0.2).
    seed : int
        Default is 0.
    only_unsplit : bool
        When True, keep existing ``test`` rows and split only the rest into train and val in the ratio of
        the first two fractions. Default is False.

    Returns
    -------
    Dataset
        A copy with its ``split`` column set.
    """
    f = np.asarray(check_fractions(fractions))
    n = len(ds)
    y = (np.nan_to_num(ds.labels, nan=0.0) == 1).astype(np.int8)
    if y.shape[1] == 0:
        y = np.zeros((n, 1), dtype=np.int8)
    split = np.full(n, "train", dtype=object)
    if only_unsplit and ds.split is not None:
        split = ds.split.copy()
        rest = np.flatnonzero(split != "test")
        val_frac = f[1] / max(f[0] + f[1], 1e-12)
        split[rest] = "train"
        if val_frac > 0 and len(rest) > 1:
            _, v = _stratified_two_way(y[rest], val_frac, seed)
            split[rest[v]] = "val"
        return ds.with_split(split)
    idx = np.arange(n)
    if f[2] > 0:
        rest, test = _stratified_two_way(y, f[2], seed)
        split[test] = "test"
        idx = rest
    if f[1] > 0 and len(idx) > 1:
        _, v = _stratified_two_way(y[idx], f[1] / (f[0] + f[1]), seed + 1)
        split[idx[v]] = "val"
    return ds.with_split(split)


def _stratified_two_way(y: np.ndarray, frac: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    n = len(y)
    n_b = int(round(frac * n))
    if n_b <= 0:
        return np.arange(n), np.zeros(0, dtype=np.int64)
    if n_b >= n:
        return np.zeros(0, dtype=np.int64), np.arange(n)
    if y.shape[1] == 1:  # iterstrat wants a multi-label indicator matrix: add the complement column
        y = np.hstack([y, 1 - y])
    # as iterstrat.MultilabelStratifiedShuffleSplit(n_splits=1, test_size=n_b / n, random_state=seed) does it
    n_test = int(np.ceil(n_b / n * n))  # scikit-learn's _validate_shuffle_split, float round-off included
    rng = np.random.RandomState(seed)
    r = np.array([n - n_test, n_test]) / n
    order = np.arange(n)
    rng.shuffle(order)
    folds = _iterative_stratification(np.asarray(y, dtype=bool)[order], r, rng)
    in_b = folds[np.argsort(order)] == 1
    return np.flatnonzero(~in_b), np.flatnonzero(in_b)


def _iterative_stratification(y: np.ndarray, r: np.ndarray, rng: np.random.RandomState) -> np.ndarray:
    """Iterative stratification (Sechidis et al. 2011) of boolean labels ``y`` (N, K) into folds of ratios ``r``.

    A re-implementation of ``iterstrat.ml_stratifiers.IterativeStratification`` giving the same folds with the
    same random draws: it keeps per-sample and per-label index lists and running counts instead of re-summing
    the (N, K) matrix for every label and using NumPy for every sample. Returns the fold of each row (N,).
    """
    n, k = y.shape
    fr = range(len(r))
    c_folds = (r * n).tolist()  # desired rows per fold
    c_labels = np.outer(r, y.sum(axis=0)).tolist()  # desired positives per fold and label
    rows, cols = np.nonzero(y)  # by row, labels ascending
    row_ptr = np.searchsorted(rows, np.arange(n + 1)).tolist()
    row_labels = cols.tolist()
    by_label = np.lexsort((rows, cols))
    label_rows = rows[by_label].tolist()
    label_ptr = np.searchsorted(cols[by_label], np.arange(k + 1)).tolist()
    remaining = np.bincount(cols, minlength=k).astype(np.int64)
    done = bytearray(n)
    out = [0] * n
    while True:
        left = remaining[remaining > 0]
        if len(left) == 0:
            break
        cand = np.flatnonzero(remaining == left.min())  # the rarest label, ties broken at random
        lab = int(cand[rng.choice(cand.shape[0])]) if len(cand) > 1 else int(cand[0])
        for s in label_rows[label_ptr[lab]:label_ptr[lab + 1]]:
            if done[s]:
                continue
            want = [c_labels[f][lab] for f in fr]
            best = [f for f in fr if want[f] == max(want)]
            if len(best) > 1:  # ties: the fold that wants most rows, then at random
                most = max(c_folds[f] for f in best)
                best = [f for f in best if c_folds[f] == most]
                fold = best[rng.choice(len(best))] if len(best) > 1 else best[0]
            else:
                fold = best[0]
            out[s] = fold
            done[s] = 1
            for lab2 in row_labels[row_ptr[s]:row_ptr[s + 1]]:
                c_labels[fold][lab2] -= 1
                remaining[lab2] -= 1
            c_folds[fold] -= 1
    for s in range(n):  # rows without any positive label: the fold that wants most rows
        if not done[s]:
            most = max(c_folds)
            best = [f for f in fr if c_folds[f] == most]
            fold = best[rng.choice(len(best))] if len(best) > 1 else best[0]
            out[s] = fold
            c_folds[fold] -= 1
    return np.asarray(out, dtype=np.int64)
