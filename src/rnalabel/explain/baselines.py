"""Reference inputs for integrated gradients: the paper's low-score mean, zeros, dinucleotide shuffles."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np
import torch

from rnalabel.data import Dataset
from rnalabel.data.shuffle import shuffle_tokens
from rnalabel.engine.bundle import Bundle
from rnalabel.errors import InputError
from rnalabel.explain.core import AttributionWarning, Windows, label_scores, prepare_windows

BASELINES = ("low-score", "zero", "shuffle")


@dataclass
class Baseline:
    """Reference inputs for integrated gradients.

    Attributes
    ----------
    kind : str
    arrays : dict of str to numpy.ndarray
        Shape (1, ...) (one reference for every input) or (S, W, ...) (S references per input).
    n_samples : int
        Windows averaged (low-score) or shuffles per input (shuffle).
    """

    kind: str
    arrays: dict[str, np.ndarray]
    n_samples: int = 1


def low_score_baseline(
    model: Bundle,
    reference: Dataset | Windows | Mapping[str, np.ndarray],
    *,
    label: str | int,
    n_low: int = 2000,
    batch_size: int = 512,
    device: str | torch.device | None = None,
    progress: bool = True,
) -> Baseline:
    """The mean input of the ``n_low`` reference windows with the lowest score for ``label`` (the paper's).

    Parameters
    ----------
    model : Bundle
    reference : Dataset, Windows or dict of str to numpy.ndarray
        Where the low-scoring windows are taken from (the paper: the test set).
    label : str or int
    n_low : int
        Default is 2000. With fewer windows available all are used and a warning says so.
    """
    ref = prepare_windows(model, reference)
    if len(ref) == 0:
        raise InputError("the reference dataset for the low-score baseline is empty.")
    s = label_scores(model, ref.arrays, label=label, batch_size=batch_size, device=device)
    k = min(int(n_low), len(ref))
    if k < n_low:
        warnings.warn(f"the reference has {len(ref)} windows, fewer than n_low={n_low}; the low-score "
                      f"baseline averages the {k} lowest-scoring ones. A larger reference (--reference, or "
                      f"reference=) gives a baseline closer to the paper's.", AttributionWarning, stacklevel=2)
    low = np.argsort(s, kind="stable")[:k]
    arrays = {n: a[low].astype(np.float32).mean(axis=0, keepdims=True) for n, a in ref.arrays.items()}
    return Baseline("low-score", arrays, k)


def zero_baseline(model: Bundle, windows: Windows) -> Baseline:
    """All-zero inputs."""
    return Baseline("zero", {n: np.zeros((1, *a.shape[1:]), np.float32) for n, a in windows.arrays.items()})


def shuffle_baseline(model: Bundle, windows: Windows, *, n_shuffles: int = 8, seed: int = 0) -> Baseline:
    """``n_shuffles`` dinucleotide shuffles of every window, featurised through the model's views."""
    if windows.dataset is None:
        raise InputError("the shuffle baseline needs sequences, not featurised arrays.",
                         remedy="pass a Dataset, or use baseline='zero' or 'low-score'.")
    shuf = shuffle_tokens(windows.tokens, windows.lengths, n=n_shuffles, seed=seed)
    per: list[dict[str, np.ndarray]] = []
    for k in range(n_shuffles):
        per.append(model.featurize(replace(windows.dataset, tokens=shuf[k])))
    arrays = {n: np.stack([p[n] for p in per]) for n in windows.arrays}
    return Baseline("shuffle", arrays, n_shuffles)


def resolve_baseline(
    model: Bundle,
    win: Windows,
    baseline: str | Baseline | Mapping[str, np.ndarray],
    *,
    reference: Dataset | Windows | Mapping[str, np.ndarray] | None,
    label: str | int,
    n_low: int,
    n_shuffles: int,
    seed: int,
    device: str | torch.device | None,
    progress: bool,
) -> Baseline:
    """The :class:`Baseline` for ``win`` named by ``baseline`` (a name, a Baseline, or one array per view).

    The low-score baseline is taken from ``reference``, or from ``win`` itself when no reference is given.
    """
    if isinstance(baseline, Baseline):
        return baseline
    if isinstance(baseline, Mapping):
        arrays = {}
        for k, a in win.arrays.items():
            if k not in baseline:
                raise InputError(f"the given baseline lacks view {k!r}.")
            b = np.asarray(baseline[k], dtype=np.float32)
            arrays[k] = b if b.ndim == a.ndim and len(b) == 1 else b.reshape(1, *a.shape[1:])
        return Baseline("given", arrays)
    if baseline == "zero":
        return zero_baseline(model, win)
    if baseline == "shuffle":
        return shuffle_baseline(model, win, n_shuffles=n_shuffles, seed=seed)
    if baseline == "low-score":
        ref = win if reference is None else reference
        return low_score_baseline(model, ref, label=label, n_low=n_low, device=device, progress=progress)
    raise InputError(f"unknown baseline {baseline!r}.", remedy=f"choose one of: {', '.join(BASELINES)}.")


