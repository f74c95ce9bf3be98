"""Integrated gradients for one label of a :class:`~rnalabel.engine.bundle.Bundle`, on every view.

Attributions are computed with captum on each view's input tensor (one-hot, structure profile, region one-hot,
amino-acid one-hot, dipeptide histogram ...) and then put on the RNA by each view
(:meth:`rnalabel.views.base.View.to_nucleotides`).

Choices the paper leaves open, written down here:

* **What is attributed.** The label's logit by default (``output="logit"``); ``output="probability"`` attributes
  the sigmoid, as the paper's figures do. The sigmoid saturates for confident predictions, so most of the path
  has a tiny gradient and the maps fade; the logit does not (the usual choice since DeepLIFT).
* **Path integral.** captum's Gauss-Legendre quadrature with ``steps`` points (50, the paper's count). The paper
  used a Riemann sum; ``method="riemann_trapezoid"`` gives that. On ReLU networks both converge at about the
  same rate; Gauss-Legendre is better on smooth stretches of the path.
* **Baselines** (the paper compares the first two; the third is the usual genomics reference):
  ``"low-score"`` is the mean input of the ``n_low`` (2000) windows of a reference dataset with the lowest
  score for the label; ``"zero"`` is all zeros; ``"shuffle"`` averages IG over ``n_shuffles`` dinucleotide
  shuffles of each input (every view is recomputed from the shuffled sequence), i.e. an expected-gradients
  style reference whose completeness target is ``f(x) - mean_k f(x'_k)``.
* **Completeness.** For every window the sum of all attributions is compared with ``f(x) - f(x')``; when the
  relative gap exceeds ``tolerance`` an :class:`AttributionWarning` suggests more steps.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np
import torch

from rnalabel._runtime import preserve_state, progress_bar, resolve_device
from rnalabel.data import Dataset
from rnalabel.engine.bundle import Bundle
from rnalabel.errors import InputError
from rnalabel.explain.baselines import Baseline, resolve_baseline
from rnalabel.explain.core import (
    OUTPUTS,
    Attributions,
    AttributionWarning,
    Windows,
    _forward,
    channel_names,
    label_scores,
    prepare_windows,
)

#: rows (inputs x interpolation steps) per forward pass inside captum
_MAX_ROWS = 4096


# integrated gradients ---------------------------------------------------------------------------------------
def integrated_gradients(
    model: Bundle,
    data: Dataset | Windows | Mapping[str, np.ndarray],
    *,
    label: str | int,
    baseline: str | Baseline | Mapping[str, np.ndarray] = "low-score",
    reference: Dataset | Windows | Mapping[str, np.ndarray] | None = None,
    n_low: int = 2000,
    n_shuffles: int = 8,
    steps: int = 50,
    method: str = "gausslegendre",
    output: str = "logit",
    tolerance: float = 0.05,
    seed: int = 0,
    batch_size: int = 64,
    device: str | torch.device | None = None,
    progress: bool = True,
) -> Attributions:
    """Integrated gradients of one label on every view of ``model``, mapped back to nucleotides.

    Parameters
    ----------
    model : Bundle
    data : Dataset, Windows or dict of str to numpy.ndarray
        Sequences (cut into the card's windows), prepared windows, or the model's view arrays, one row per
        window.
    label : str or int
        Label name or column.
    baseline : "low-score", "zero", "shuffle", Baseline or dict of arrays
        Reference point; see the module docstring. Default is "low-score".
    reference : Dataset, Windows or dict of arrays, optional
        Where the low-score windows come from. Default is ``data`` itself.
    n_low : int
        Windows averaged by the low-score baseline. Default is 2000 (the paper's).
    n_shuffles : int
        Shuffles per input for the shuffle baseline. Default is 8.
    steps : int
        Points of the path integral. Default is 50 (the paper's).
    method : str
        captum's approximation: "gausslegendre" or "riemann_left/right/middle/trapezoid". Default is
        "gausslegendre".
    output : "logit" or "probability"
        Default is "logit".
    tolerance : float
        Largest relative completeness gap accepted without a warning. Default is 0.05.
    seed : int
        Seed of the shuffles. Default is 0.
    batch_size : int
        Windows per captum call (each is expanded to ``steps`` interpolated inputs). Default is 64.
    device : str, optional
        Default is None (CUDA when present, else CPU). The module's device and mode are restored afterwards.
    progress : bool
        Default is True.

    Returns
    -------
    Attributions
    """
    from captum.attr import IntegratedGradients

    if output not in OUTPUTS:
        raise InputError(f"unknown output {output!r}.", remedy=f"choose one of: {', '.join(OUTPUTS)}.")
    if steps < 2 or batch_size < 1:
        raise InputError(f"steps ({steps}) must be at least 2 and batch_size ({batch_size}) positive.")
    j = model.label_index(label)
    name = model.label_names[j]
    win = prepare_windows(model, data)
    base = resolve_baseline(model, win, baseline, reference=reference, label=j, n_low=n_low,
                             n_shuffles=n_shuffles, seed=seed, device=device, progress=progress)
    names = list(win.arrays)
    attributed = [k for k in names if np.issubdtype(win.arrays[k].dtype, np.floating)]
    fixed = [k for k in names if k not in attributed]
    n = len(win)
    n_ref = next(iter(base.arrays.values())).shape[0] if base.arrays else 1
    per_ref = base.kind == "shuffle" or any(a.ndim == win.arrays[k].ndim + 1 for k, a in base.arrays.items())
    values = {k: np.zeros(win.arrays[k].shape, dtype=np.float64) for k in attributed}
    base_scores = np.zeros(n, dtype=np.float64)
    dev = resolve_device(device)
    bar = progress_bar(progress and n * n_ref > 4 * batch_size, n * n_ref, "integrated gradients")
    with preserve_state(model.module, dev) as m:
        ig = IntegratedGradients(_forward(m, attributed + fixed, j, output))
        for a in range(0, n, batch_size):
            b = min(n, a + batch_size)
            xs = tuple(_tensor(win.arrays[k][a:b], dev) for k in attributed)
            extra = tuple(torch.from_numpy(np.ascontiguousarray(win.arrays[k][a:b])).to(dev) for k in fixed)
            for r in range(n_ref if per_ref else 1):
                bs = tuple(_tensor(_ref_rows(base.arrays[k], r, a, b, per_ref), dev) for k in attributed)
                out = ig.attribute(xs, baselines=bs, additional_forward_args=extra or None, n_steps=steps,
                                   method=method, internal_batch_size=max(b - a, min((b - a) * steps, _MAX_ROWS)))
                for k, t in zip(attributed, out, strict=True):
                    values[k][a:b] += t.detach().double().cpu().numpy()
                with torch.inference_mode():
                    base_scores[a:b] += _forward(m, attributed + fixed, j, output)(*bs, *extra).double().cpu().numpy()
                if bar is not None:
                    bar.advance(bar.task_ids[0], b - a)
    if bar is not None:
        bar.stop()
    k_ref = n_ref if per_ref else 1
    values = {k: v / k_ref for k, v in values.items()}
    base_scores /= k_ref
    scores = label_scores(model, win.arrays, label=j, output=output, device=device)
    return _finish(model, win, values, name=name, method="integrated_gradients", baseline=base.kind,
                   output=output, scores=scores, base_scores=base_scores, steps=steps, tolerance=tolerance,
                   info={"n_baseline_samples": base.n_samples, "quadrature": method})


def _tensor(a: np.ndarray, dev: torch.device) -> torch.Tensor:
    return torch.tensor(np.asarray(a, dtype=np.float32), device=dev)  # a copy: broadcast views are read-only


def _ref_rows(a: np.ndarray, r: int, lo: int, hi: int, per_ref: bool) -> np.ndarray:
    if per_ref:
        return a[r, lo:hi]
    return np.broadcast_to(a[:1], (hi - lo, *a.shape[1:]))


def _finish(model, win, values, *, name, method, baseline, output, scores, base_scores, steps, tolerance,
            info) -> Attributions:
    """Map to nucleotides, check completeness, build the result."""
    nuc, chans, unmapped, chnames, unplaced = {}, {}, [], {}, {}
    for k, v in values.items():
        view = model.views[k]
        chnames[k] = channel_names(view, win.dataset, v.shape[1], k)
        nm = view.to_nucleotides(v, tokens=win.tokens, lengths=win.lengths, window=win.tokens.shape[1])
        unplaced[k] = nm.unplaced
        if nm.mapped:
            nuc[k] = nm.track
            if nm.channels is not None:
                chans[k] = nm.channels
        else:
            unmapped.append(k)
        info.setdefault("mapping", {})[k] = nm.how
    total = np.array([v.reshape(len(v), -1).sum(axis=1) for v in values.values()]).sum(axis=0)
    delta = total - (scores - base_scores)
    res = Attributions(
        label=name, method=method, baseline=baseline, output=output, windows=win, values=values,
        channel_names=chnames, nucleotide=nuc, channels=chans,
        sequence_views=[k for k in values if model.views[k].logo], unmapped=unmapped,
        unplaced=unplaced,
        scores=scores, baseline_scores=base_scores, delta=delta, steps=steps, info=info,
    )
    if len(res) and method == "integrated_gradients":
        worst = float(np.max(res.relative_delta))
        res.info["max_relative_delta"] = worst
        if worst > tolerance:
            warnings.warn(
                f"integrated gradients for {name!r} did not converge: the attributions miss f(x) - f(x') by up "
                f"to {100 * worst:.1f}% (median {100 * float(np.median(res.relative_delta)):.1f}%, tolerance "
                f"{100 * tolerance:.0f}%) over {len(res)} windows. Raise steps (now {steps}).",
                AttributionWarning, stacklevel=3,
            )
    return res


