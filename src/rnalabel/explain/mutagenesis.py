"""In-silico mutagenesis (ISM): a model-agnostic check on integrated gradients.

Every position of every window is mutated to each of the three other bases, each mutant is featurised through
all of the model's views (so structure, codon and other derived views change with the sequence, as they would
in reality), and the change of the label's output is recorded. A nucleotide's importance is the drop of the
output when it is replaced, averaged over the three replacements: ``f(x) - mean_b f(x with b at i)``; this is
what is compared with the per-nucleotide IG contribution.
"""

from __future__ import annotations

import numpy as np
import torch

from rnalabel._runtime import progress_bar
from rnalabel.data import Dataset, Track
from rnalabel.engine.bundle import Bundle
from rnalabel.errors import InputError
from rnalabel.explain.core import Attributions, Windows, label_scores, prepare_windows


def _mutants(tokens: np.ndarray, length: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All single-base substitutions of one window: (M, L) tokens, position and new base of each."""
    pos, base = [], []
    for i in range(length):
        if tokens[i] > 3:
            continue
        for b in range(4):
            if b != tokens[i]:
                pos.append(i)
                base.append(b)
    pos_a, base_a = np.asarray(pos, dtype=np.int64), np.asarray(base, dtype=np.uint8)
    mut = np.repeat(tokens[None, :], len(pos_a), axis=0)
    mut[np.arange(len(pos_a)), pos_a] = base_a
    return mut, pos_a, base_a


def in_silico_mutagenesis(
    model: Bundle,
    data: Dataset | Windows,
    *,
    label: str | int,
    output: str = "logit",
    batch_size: int = 512,
    device: str | torch.device | None = None,
    progress: bool = True,
) -> Attributions:
    """Effect of every single-base substitution on one label's output.

    Parameters
    ----------
    model : Bundle
    data : Dataset or Windows
        Sequences, cut into the card's windows (or windows prepared by
        :func:`rnalabel.explain.core.prepare_windows`).
    label : str or int
    output : "logit" or "probability"
        Default is "logit".
    batch_size : int
        Mutants per forward pass. Default is 512.
    device : str, optional
        Default is None (CUDA when present, else CPU).
    progress : bool
        Default is True.

    Returns
    -------
    Attributions
        ``values["ism"]``, shape=(W, 4, L): output change when the base at each position is replaced by A, C,
        G or U (0 for the base already there, 0 at N and padding). ``nucleotide["ism"]``, shape=(W, L): the
        importance of each nucleotide, ``-mean`` of its three substitution effects. ``delta`` is NaN.
    """
    j = model.label_index(label)
    name = model.label_names[j]
    win = prepare_windows(model, data) if isinstance(data, Dataset | Windows) else None
    if win is None or win.dataset is None:
        raise InputError("in-silico mutagenesis needs sequences (a Dataset), not featurised arrays.")
    n, width = win.tokens.shape
    ref = label_scores(model, win.arrays, label=j, output=output, batch_size=batch_size, device=device)
    effects = np.zeros((n, 4, width), dtype=np.float64)
    bar = progress_bar(progress and n > 8, n, "in-silico mutagenesis")
    wds = win.dataset
    for w in range(n):
        mut, pos, base = _mutants(win.tokens[w], int(win.lengths[w]))
        if len(mut) == 0:
            continue
        m = len(mut)
        rows = Dataset(
            ids=np.repeat(wds.ids[w:w + 1], m), tokens=mut, lengths=np.repeat(wds.lengths[w:w + 1], m),
            labels=np.repeat(wds.labels[w:w + 1], m, axis=0), label_names=list(wds.label_names),
            tracks={k: Track(np.repeat(t.codes[w:w + 1], m, axis=0), t.categories) for k, t in wds.tracks.items()},
        )
        s = label_scores(model, model.featurize(rows), label=j, output=output, batch_size=batch_size,
                         device=device)
        effects[w, base, pos] = s - ref[w]
        if bar is not None:
            bar.advance(bar.task_ids[0], 1)
    if bar is not None:
        bar.stop()
    importance = -effects.sum(axis=1) / 3.0
    channels = {"ism": effects}
    return Attributions(
        label=name, method="ism", baseline="reference base", output=output, windows=win,
        values={"ism": effects}, channel_names={"ism": list("ACGU")}, nucleotide={"ism": importance},
        channels=channels, sequence_views=["ism"], unmapped=[], unplaced={"ism": np.zeros(n)}, scores=ref, baseline_scores=ref.copy(),
        delta=np.full(n, np.nan), steps=0, info={"n_mutants": int(3 * win.lengths.sum())},
    )
