"""The one batched forward pass every caller uses: prediction, evaluation, training's validation scores,
explanation and (later) the server.

:func:`forward_arrays` runs the module on featurised inputs batch by batch, under ``torch.inference_mode`` and
bfloat16 autocast where the model was trained so (or asked), restoring the module's device and mode afterwards;
it returns logits, probabilities, one label's column, or embeddings. :func:`unit_outputs` goes from sequences:
it cuts them into the bundle's units (:func:`rnalabel.engine.inputs.make_units`), featurises a chunk of units at a
time and runs the forward pass on it, with a progress bar on long inputs; :func:`sequence_scores` reduces unit
scores to one row per sequence (the max over a sequence's windows).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch

from rnalabel._runtime import (
    native_bf16,
    preserve_state,
    progress_bar,
    resolve_device,
    resolve_precision,
    to_tensors,
)
from rnalabel.data import Dataset, Windows
from rnalabel.engine.bundle import Bundle
from rnalabel.errors import ConfigError, InputError

OUTPUTS = ("logit", "probability", "embedding")
INFERENCE_PRECISIONS = ("auto", "32", "bf16")


def inference_bf16(bundle: Bundle, precision: str = "auto", device: str | torch.device | None = None) -> bool:
    """Whether to run the forward pass under bfloat16 autocast.

    ``"auto"`` follows the precision the model was trained with (its recipe's, resolved for ``device``) where
    ``device`` does bf16 natively, and is fp32 elsewhere (emulated bf16 is many times slower than fp32; the
    weights are fp32 either way); ``"32"`` and ``"bf16"`` force either.
    """
    if precision == "auto":
        return resolve_precision(bundle.recipe.train.precision, device).startswith("bf16") and native_bf16(device)
    if precision not in INFERENCE_PRECISIONS:
        raise ConfigError(f"unknown inference precision {precision!r}.", remedy="use auto, 32 or bf16.")
    return precision == "bf16"


def _check_batch_size(batch_size: int) -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int | np.integer) or batch_size < 1:
        raise InputError(f"batch size must be a positive integer, got {batch_size!r}.", remedy="e.g. 512.")
    return int(batch_size)


def forward_arrays(
    bundle: Bundle,
    arrays: Mapping[str, np.ndarray],
    *,
    output: str = "probability",
    label: int | None = None,
    batch_size: int = 512,
    device: str | torch.device | None = None,
    precision: str = "auto",
) -> np.ndarray:
    """Run the bundle's module on featurised inputs, one batch at a time.

    Parameters
    ----------
    bundle : Bundle
    arrays : mapping of str to numpy.ndarray
        One array per view, (N, C, L), (N, D) or (N, C, L, L).
    output : "logit", "probability" or "embedding"
        The logits, their sigmoid, or ``module.embed(x)`` (embedding models). Default is "probability".
    label : int, optional
        Return only this label's column, shape (N,). Default is None (all labels).
    batch_size : int
        Default is 512.
    device : str, optional
        Default is None (CUDA when present, else CPU). The module's device and mode are restored afterwards.
    precision : "auto", "32" or "bf16"
        Arithmetic: bfloat16 autocast is about 2.5x faster on CPUs with bf16 instructions; "auto" follows the
        training precision. Default is "auto".

    Returns
    -------
    numpy.ndarray, float32, shape (N, K), (N,) with ``label``, or (N, D) for embeddings
    """
    if output not in OUTPUTS:
        raise InputError(f"unknown output {output!r}.", remedy=f"choose one of: {', '.join(OUTPUTS)}.")
    if output == "embedding" and not callable(getattr(bundle.module, "embed", None)):
        raise ConfigError(f"this {bundle.kind} model has no embeddings (its module has no `embed`).")
    batch_size = _check_batch_size(batch_size)
    dev = resolve_device(device)
    bf16 = inference_bf16(bundle, precision, dev)
    n = len(next(iter(arrays.values()))) if arrays else 0
    out: np.ndarray | None = None
    with preserve_state(bundle.module, dev) as m, torch.inference_mode(), \
            torch.autocast(dev.type, dtype=torch.bfloat16, enabled=bf16):
        for a in range(0, n, batch_size):
            x = to_tensors({k: v[a:a + batch_size] for k, v in arrays.items()}, dev)
            y = m.embed(x) if output == "embedding" else m(x)
            if label is not None:
                y = y[:, label]
            if output == "probability":
                y = torch.sigmoid(y.float())
            y = y.float().cpu().numpy()
            if out is None:
                out = np.empty((n, *y.shape[1:]), dtype=np.float32)
            out[a:a + len(y)] = y
    if out is None:  # no rows
        width = () if label is not None else ((bundle.n_labels,) if output != "embedding" else (0,))
        out = np.empty((0, *width), dtype=np.float32)
    return out


def unit_outputs(
    bundle: Bundle,
    dataset: Dataset,
    *,
    output: str = "probability",
    label: int | None = None,
    batch_size: int = 512,
    device: str | torch.device | None = None,
    precision: str = "auto",
    progress: bool = True,
    chunk: int = 16384,
) -> tuple[Windows, np.ndarray]:
    """The bundle's outputs for every unit (window, or whole sequence) of ``dataset``.

    Units are featurised ``chunk`` at a time, so memory for view arrays is bounded by the chunk, not the input; a
    progress bar shows when there is more than one chunk. Other parameters are those of :func:`forward_arrays`.

    Returns
    -------
    (Windows, numpy.ndarray)
        The units and their outputs, one row per unit.
    """
    units = bundle.units(dataset)
    uds = units.dataset
    n = len(uds)
    bar = progress_bar(progress and n > chunk, n, "predicting")
    out: np.ndarray | None = None
    for a in range(0, n, chunk):
        part = uds.subset(slice(a, a + chunk))
        y = forward_arrays(bundle, bundle.featurize(part), output=output, label=label, batch_size=batch_size,
                           device=device, precision=precision)
        if out is None:
            out = np.empty((n, *y.shape[1:]), dtype=np.float32)
        out[a:a + len(part)] = y
        if bar is not None:
            bar.advance(bar.task_ids[0], len(part))
    if bar is not None:
        bar.stop()
    if out is None:
        out = forward_arrays(bundle, {}, output=output, label=label)
    return units, out


def per_sequence(units: Windows, values: np.ndarray, n: int) -> np.ndarray:
    """Reduce unit rows to sequence rows: the maximum over each sequence's units (NaN for a sequence without)."""
    out = np.full((n, *values.shape[1:]), np.nan, dtype=np.float32)
    if len(values):
        starts = np.flatnonzero(np.r_[True, units.source[1:] != units.source[:-1]])
        out[units.source[starts]] = np.maximum.reduceat(values, starts, axis=0)
    return out


def sequence_scores(
    bundle: Bundle,
    dataset: Dataset,
    *,
    batch_size: int = 512,
    device: str | torch.device | None = None,
    precision: str = "auto",
    progress: bool = True,
) -> np.ndarray:
    """Per-label probabilities per sequence, shape (N, K): for a windowed model the max over its windows."""
    units, scores = unit_outputs(bundle, dataset, output="probability", batch_size=batch_size, device=device,
                                 precision=precision, progress=progress)
    return per_sequence(units, scores, len(dataset))
