"""A trained model together with everything needed to use it: views, labels, window, thresholds, card.

:class:`LabelModel` is what :func:`rnalabel.train.fit` returns, :func:`rnalabel.checkpoint.save_model` writes
and :func:`rnalabel.checkpoint.load_model` reads back; :func:`rnalabel.predict.predict` and the explain tools take
it as their first argument.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from rnalabel.data import Dataset
from rnalabel.models.base import InputSpec
from rnalabel.recipe import Recipe
from rnalabel.views.base import View, build_view


@dataclass
class LabelModel:
    """A network and its featurisation.

    Attributes
    ----------
    module : torch.nn.Module
        Takes ``{view name: tensor}``, returns (N, K) logits.
    recipe : Recipe
        The recipe it was trained with (views with data-dependent parameters filled in).
    views : dict of str to View
    inputs : list of InputSpec
    label_names : list of str
    window : int
        Input width in nucleotides; longer sequences are scanned.
    stride : int
        Scanning stride.
    thresholds : numpy.ndarray, shape=(K,)
        Per-label decision thresholds (chosen on validation data).
    card : dict
        Everything else the model card records (provenance, metrics, history ...).
    """

    module: nn.Module
    recipe: Recipe
    views: dict[str, View]
    inputs: list[InputSpec]
    label_names: list[str]
    window: int
    stride: int
    thresholds: np.ndarray
    card: dict[str, Any] = field(default_factory=dict)

    @property
    def n_labels(self) -> int:
        return len(self.label_names)

    def featurize(self, dataset: Dataset) -> dict[str, np.ndarray]:
        """The model's input arrays for ``dataset`` (whose rows must already be windows of ``window`` nt)."""
        return {name: view.transform(dataset) for name, view in self.views.items()}

    def label_index(self, name: str) -> int:
        from rnalabel.errors import LabelError

        if name not in self.label_names:
            shown = ", ".join(self.label_names[:30]) + (" ..." if self.n_labels > 30 else "")
            raise LabelError(f"the model has no label {name!r}.", remedy=f"choose one of: {shown}.")
        return self.label_names.index(name)


def views_from_specs(specs: dict[str, dict[str, Any]]) -> dict[str, View]:
    """Build the views of a recipe or card, in order."""
    return {name: build_view(spec) for name, spec in specs.items()}


def native_bf16(device: str | torch.device | None = None) -> bool:
    """Whether ``device`` does bfloat16 arithmetic natively (so bf16 autocast is a speed-up, not an emulation).

    CUDA: ``torch.cuda.is_bf16_supported()``. CPU: the ``avx512_bf16`` or ``amx_bf16`` flag in ``/proc/cpuinfo``
    (Linux; other systems answer False).
    """
    dev = resolve_device(device)
    if dev.type == "cuda":
        return bool(torch.cuda.is_bf16_supported())
    if dev.type != "cpu":
        return False
    return _cpu_has_bf16()


@functools.lru_cache(maxsize=1)
def _cpu_has_bf16() -> bool:
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return bool(flags & {"avx512_bf16", "amx_bf16"})
    except OSError:
        pass
    return False


def resolve_precision(precision: str, device: str | torch.device | None = None) -> str:
    """The Lightning precision a recipe's ``precision`` means on ``device`` ("auto" -> bf16-mixed or 32)."""
    if precision == "auto":
        return "bf16-mixed" if native_bf16(device) else "32"
    return precision


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``None`` means CUDA when present, else CPU."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def to_tensors(arrays: dict[str, np.ndarray], device: torch.device) -> dict[str, torch.Tensor]:
    return {k: torch.from_numpy(np.ascontiguousarray(v)).to(device) for k, v in arrays.items()}


class preserve_state:  # noqa: N801 - context manager
    """Put a module in eval mode on ``device`` and restore its mode and device afterwards (tangermeme's habit)."""

    def __init__(self, module: nn.Module, device: torch.device) -> None:
        self.module, self.device = module, device

    def __enter__(self) -> nn.Module:
        self.training = self.module.training
        p = next(self.module.parameters(), None)
        self.old_device = p.device if p is not None else torch.device("cpu")
        self.module.eval().to(self.device)
        return self.module

    def __exit__(self, *exc) -> None:
        self.module.train(self.training).to(self.old_device)
