"""Training copies that teach a model what a short input looks like, without wrong labels.

A model trained only on full windows has never seen padding: a sequence shorter than its window (a 22-nt miRNA
given to a 101-nt RBP model, a truncated transcript end) is padded with a value it never learned, and it may call
every label on padding alone. :func:`shortened_copies` adds, for a fraction of the training rows, a copy that
keeps a random stretch of the row (1 nt up to one less than the row's length), placed at the start and padded
after it, exactly as a short input is at prediction.

Labels of a copy are kept where the row is a negative (a part of an unbound RNA is unbound) and set unknown
(NaN, skipped by the loss) where the row is a positive (the stretch may have lost the site), so the copies add
no wrong label: they only teach that padding is no evidence of binding.
"""

from __future__ import annotations

import numpy as np

from rnalabel.data.dataset import Dataset, Track
from rnalabel.data.sequence import PAD
from rnalabel.errors import InputError


def shortened_copies(ds: Dataset, fraction: float, *, seed: int = 0) -> Dataset:
    """Shortened copies of a random ``fraction`` of the rows of ``ds`` (see the module docstring).

    Parameters
    ----------
    ds : Dataset
    fraction : float
        Share of the rows copied, from 0 to 1.
    seed : int
        Seeds which rows, which stretch and how long. Default is 0.

    Returns
    -------
    Dataset
        ``round(fraction * N)`` rows (rows of length 1 are skipped) with ids ``<id>:short<start>-<end>``, the
        copied stretch (1-based, inclusive) in the id; no split column.
    """
    if not 0 <= fraction <= 1:
        raise InputError(f"the fraction of shortened copies must be between 0 and 1, got {fraction}.")
    rng = np.random.default_rng(seed)
    candidates = np.flatnonzero(ds.lengths > 1)
    n = min(len(candidates), int(round(fraction * len(ds))))
    rows = np.sort(rng.choice(candidates, size=n, replace=False)) if n else np.zeros(0, dtype=np.int64)
    lengths = ds.lengths[rows].astype(np.int64)
    new_len = rng.integers(1, lengths)  # 1 .. length - 1
    start = rng.integers(0, lengths - new_len + 1)
    width = ds.width
    cols = np.arange(width)[None, :]
    src = start[:, None] + cols
    keep = cols < new_len[:, None]
    src = np.where(keep, src, 0)
    tokens = np.where(keep, ds.tokens[rows[:, None], src], PAD).astype(np.uint8)
    tracks = {
        k: Track(np.where(keep, v.codes[rows[:, None], src], 255).astype(np.uint8), list(v.categories))
        for k, v in ds.tracks.items()
    }
    labels = ds.labels[rows].copy()
    labels[labels == 1] = np.nan
    ids = np.asarray([f"{ds.ids[r]}:short{s + 1}-{s + m}" for r, s, m in zip(rows, start, new_len, strict=True)],
                     dtype=object)
    return Dataset(ids=ids, tokens=tokens, lengths=new_len.astype(np.int32), labels=labels,
                   label_names=list(ds.label_names), tracks=tracks, provenance=dict(ds.provenance))
