"""The one featurise-and-window path: sequences -> the model's inputs, for training, prediction and explanation.

:func:`make_units` cuts a dataset into what one model input is for the bundle's kind (windows for ``windowed``,
whole sequences padded to the input width otherwise; see :mod:`rnalabel.engine.kinds`), :func:`featurize` applies
the views, and :func:`input_specs` describes the resulting arrays to the model (per-position (N, C, L),
per-sequence (N, D), pairwise (N, C, L, L)), checking each view returned the shape its kind promises.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from rnalabel.data import Dataset, Windows, make_windows
from rnalabel.engine.kinds import get_kind
from rnalabel.errors import ConfigError, a_or_an
from rnalabel.models.registry import InputSpec
from rnalabel.views.base import View, featurize, refuse_longer

__all__ = ["make_units", "featurize", "input_specs"]


def make_units(dataset: Dataset, *, kind: str, window: int | None, stride: int | None) -> Windows:
    """The model inputs of ``dataset`` for a bundle of ``kind``, before featurisation.

    Parameters
    ----------
    dataset : Dataset
    kind : str
        ``windowed``: windows of ``window`` nt every ``stride`` nt (shorter sequences padded, the last window
        aligned to the sequence end). Other kinds: one unit per sequence, padded to ``window`` nt when it is set;
        a longer sequence raises :class:`SequenceError`.
    window, stride : int or None

    Returns
    -------
    Windows
        One row per unit, with the sequence (``source``) and start of each.
    """
    k = get_kind(kind)
    if k.scans:
        if not window or not stride:
            raise ConfigError(f"{a_or_an(kind)} model needs a window and a stride (got {window}, {stride}).")
        return make_windows(dataset, int(window), int(stride))
    if window:
        refuse_longer(dataset, int(window), f"this {kind} model takes",
                      remedy=f"give sequences of at most {window} nt, or train a model with a larger window.")
        return make_windows(dataset, int(window), int(window))
    n = len(dataset)
    return Windows(dataset, np.arange(n, dtype=np.int64), np.zeros(n, dtype=np.int64))


def input_specs(views: Mapping[str, View], arrays: Mapping[str, np.ndarray]) -> list[InputSpec]:
    """One :class:`InputSpec` per view, from its array; a view whose array does not have its kind's shape raises."""
    ndim = {"position": 3, "sequence": 2, "pair": 4}
    specs = []
    for name, view in views.items():
        a = arrays[name]
        if a.ndim != ndim[view.kind] or (view.kind == "pair" and a.shape[2] != a.shape[3]):
            raise ConfigError(
                f"view {name!r} ({view.type}) is a {view.kind} view but returned an array of shape {a.shape}.",
                remedy="per-position views return (N, C, L), per-sequence (N, D), pairwise (N, C, L, L).",
            )
        specs.append(InputSpec(name, view.kind, int(a.shape[1]), int(a.shape[2]) if a.ndim > 2 else 0))
    return specs
