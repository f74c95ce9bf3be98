"""What the explain tools share: the windows being explained, the attribution result, the label's output.

:class:`Windows` holds the model-width windows cut from the input and their view arrays; :class:`Attributions`
is what integrated gradients (:mod:`rnalabel.explain.attribution`) and in-silico mutagenesis
(:mod:`rnalabel.explain.mutagenesis`) return, so plots, tables and motif discovery take either.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from rnalabel.data import Dataset
from rnalabel.data import Windows as Units
from rnalabel.data.sequence import PAD
from rnalabel.engine.bundle import Bundle
from rnalabel.engine.forward import forward_arrays
from rnalabel.errors import InputError

OUTPUTS = ("logit", "probability")
#: output differences below this are treated as this, when judging completeness (see relative_delta)
_FLOOR = {"logit": 0.1, "probability": 0.01}


class AttributionWarning(UserWarning):
    """Integrated gradients did not converge (completeness gap above tolerance)."""


@dataclass
class Windows:
    """The windows being explained and their view arrays.

    Attributes
    ----------
    ids : numpy.ndarray of str, shape=(W,)
    source : numpy.ndarray, shape=(W,)
        Row of the input dataset each window comes from.
    start : numpy.ndarray, shape=(W,)
        0-based start of each window in its sequence.
    tokens : numpy.ndarray, shape=(W, L), dtype=uint8
    lengths : numpy.ndarray, shape=(W,)
    arrays : dict of str to numpy.ndarray
        The model's view inputs, (W, C, P), (W, D) or (W, C, L, L).
    dataset : Dataset or None
        The windows as a dataset (None when arrays were given directly).
    """

    ids: np.ndarray
    source: np.ndarray
    start: np.ndarray
    tokens: np.ndarray
    lengths: np.ndarray
    arrays: dict[str, np.ndarray]
    dataset: Dataset | None = None

    def __len__(self) -> int:
        return len(self.ids)

    def subset(self, index) -> Windows:
        """Windows ``index`` only (an integer array or boolean mask)."""
        idx = np.asarray(index)
        return Windows(self.ids[idx], self.source[idx], self.start[idx], self.tokens[idx], self.lengths[idx],
                       {k: v[idx] for k, v in self.arrays.items()},
                       None if self.dataset is None else self.dataset.subset(idx))


@dataclass
class Attributions:
    """Attributions of one label for a set of windows (integrated gradients or in-silico mutagenesis).

    Attributes
    ----------
    label : str
    method : str
        ``"integrated_gradients"`` or ``"ism"``.
    baseline : str
        The reference (``"low-score"``, ``"zero"``, ``"shuffle"``, ``"given"``; ``"reference base"`` for ISM).
    output : str
        ``"logit"`` or ``"probability"``.
    windows : Windows
    values : dict of str to numpy.ndarray
        Raw attributions per view, shaped like the view's input: (W, C, P), (W, D) or (W, C, L, L).
    channel_names : dict of str to list of str
    nucleotide : dict of str to numpy.ndarray, shape=(W, L)
        Each mapped view's contribution per nucleotide (see :meth:`rnalabel.views.base.View.to_nucleotides`).
    channels : dict of str to numpy.ndarray, shape=(W, C, L)
        Per-channel contributions on the nucleotide axis, for one-to-one per-position views.
    sequence_views : list of str
        Views drawn as the sequence logo (the nucleotide one-hot views).
    unmapped : list of str
        Views that cannot be put on the RNA (their attributions are only in ``values``).
    unplaced : dict of str to numpy.ndarray, shape=(W,)
        Per view, the part of the attributions that has no nucleotide (padding, one-hot flanks, absent
        dipeptides or k-mers, unmapped views); ``total`` plus these sums to all attributions.
    scores : numpy.ndarray, shape=(W,)
        Model output f(x) (logit or probability).
    baseline_scores : numpy.ndarray, shape=(W,)
        f(x') (the mean over references for the shuffle baseline).
    delta : numpy.ndarray, shape=(W,)
        Completeness gap: sum of all attributions minus (f(x) - f(x')); NaN for ISM.
    steps : int
    """

    label: str
    method: str
    baseline: str
    output: str
    windows: Windows
    values: dict[str, np.ndarray]
    channel_names: dict[str, list[str]]
    nucleotide: dict[str, np.ndarray]
    channels: dict[str, np.ndarray]
    sequence_views: list[str]
    unmapped: list[str]
    unplaced: dict[str, np.ndarray]
    scores: np.ndarray
    baseline_scores: np.ndarray
    delta: np.ndarray
    steps: int = 0
    info: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.windows)

    @property
    def total(self) -> np.ndarray:
        """Contribution per nucleotide summed over all mapped views, shape=(W, L)."""
        return self._sum(list(self.nucleotide))

    @property
    def sequence_track(self) -> np.ndarray:
        """Contribution per nucleotide of the sequence (logo) views, shape=(W, L); all views when none."""
        return self._sum(self.sequence_views or list(self.nucleotide))

    def _sum(self, views: list[str]) -> np.ndarray:
        """Per-nucleotide sum of ``views``; zeros (W, L) when no view could be put on the RNA."""
        if not views:
            return np.zeros((len(self.windows), self.windows.tokens.shape[1]))
        return np.sum([self.nucleotide[v] for v in views], axis=0)

    @property
    def relative_delta(self) -> np.ndarray:
        """Completeness gap relative to the output difference, shape=(W,).

        ``|delta| / max(|f(x) - f(x')|, floor)`` with ``floor`` 0.1 for logits and 0.01 for probabilities, so
        that windows whose output barely moves from the baseline do not count as unconverged for a tiny gap.
        """
        floor = _FLOOR.get(self.output, 1e-6)
        return np.abs(self.delta) / np.maximum(np.abs(self.scores - self.baseline_scores), floor)

    def subset(self, index) -> Attributions:
        """The same attributions for windows ``index`` only."""
        idx = np.asarray(index)
        return replace(
            self, windows=self.windows.subset(idx), values={k: v[idx] for k, v in self.values.items()},
            nucleotide={k: v[idx] for k, v in self.nucleotide.items()},
            channels={k: v[idx] for k, v in self.channels.items()},
            unplaced={k: v[idx] for k, v in self.unplaced.items()},
            scores=self.scores[idx], baseline_scores=self.baseline_scores[idx], delta=self.delta[idx],
        )


# inputs -----------------------------------------------------------------------------------------------------
def _tokens_from_arrays(arrays: Mapping[str, np.ndarray], model: Bundle, n: int) -> np.ndarray:
    for name, view in model.views.items():
        tok = view.tokens_from_array(arrays[name]) if name in arrays else None
        if tok is not None:
            return tok
    return np.full((n, model.window or 0), PAD, dtype=np.uint8)


def prepare_windows(model: Bundle, data: Dataset | Windows | Mapping[str, np.ndarray]) -> Windows:
    """Cut a dataset into the model's windows and featurise them, or wrap already featurised arrays.

    Parameters
    ----------
    model : Bundle
    data : Dataset, Windows, rnalabel.data.Windows or dict of str to numpy.ndarray
        Sequences (cut into the bundle's units: see :meth:`rnalabel.engine.bundle.Bundle.units`), windows
        prepared before (returned as they are), units from ``Bundle.units`` (featurised here),
        or the model's view arrays, one row per window (tokens are then read back from a view that is the
        sequence itself, the one-hot, when there is one).
    """
    if isinstance(data, Windows):
        return data
    if isinstance(data, Dataset | Units):
        win = data if isinstance(data, Units) else model.units(data)
        wds = win.dataset
        return Windows(wds.ids, win.source, win.start, wds.tokens, wds.lengths, model.featurize(wds), wds)
    missing = [k for k in model.views if k not in data]
    if missing:
        raise InputError(f"the arrays lack the model's view(s) {', '.join(missing)}.",
                         remedy=f"give one array per view: {', '.join(model.views)}.")
    arrays = {k: np.asarray(data[k]) for k in model.views}
    n = len(next(iter(arrays.values())))
    tokens = _tokens_from_arrays(arrays, model, n)
    lengths = np.full(n, tokens.shape[1], dtype=np.int32)
    ids = np.asarray([f"row{i}" for i in range(n)], dtype=object)
    return Windows(ids, np.arange(n), np.zeros(n, dtype=np.int64), tokens, lengths, arrays, None)


# forward ----------------------------------------------------------------------------------------------------
def _forward(module, names: list[str], j: int, output: str):
    def f(*xs: torch.Tensor) -> torch.Tensor:
        out = module(dict(zip(names, xs, strict=True)))[:, j]
        return torch.sigmoid(out) if output == "probability" else out

    return f


def label_scores(
    model: Bundle,
    arrays: Mapping[str, np.ndarray],
    *,
    label: str | int,
    output: str = "logit",
    batch_size: int = 512,
    device: str | torch.device | None = None,
    precision: str = "32",
) -> np.ndarray:
    """The model's output for one label on featurised inputs, shape=(N,), float64 (logit or probability).

    Runs the shared batched forward pass (:func:`rnalabel.engine.forward.forward_arrays`); fp32 by default, the
    arithmetic attributions are checked against.
    """
    j = model.label_index(label)
    return forward_arrays(model, arrays, output=output, label=j, batch_size=batch_size, device=device,
                          precision=precision).astype(np.float64)


def channel_names(view, dataset: Dataset | None, n: int, name: str) -> list[str]:
    """A name per channel of a view (:meth:`~rnalabel.views.base.View.channel_names`); ``name:i`` when the view
    cannot name ``n`` channels."""
    try:
        names = [str(x) for x in view.channel_names(dataset)]
    except Exception:  # a view that cannot name its channels without data
        names = []
    return names if len(names) == n else [f"{name}:{i}" for i in range(n)]
