"""Fixed-width windows cut from a dataset: short sequences padded, long ones scanned with a stride."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from rnalabel.data.dataset import Dataset, Track
from rnalabel.data.sequence import PAD
from rnalabel.errors import InputError


@dataclass(frozen=True)
class Windows:
    """Fixed-width windows cut from a dataset, and where each came from.

    Attributes
    ----------
    dataset : Dataset
        One row per window; tokens of width ``window``, padded with 4 where a sequence is shorter.
    source : numpy.ndarray, shape=(W,), dtype=int64
        Row of the original dataset each window comes from.
    start : numpy.ndarray, shape=(W,), dtype=int64
        0-based start of each window in its sequence.
    """

    dataset: Dataset
    source: np.ndarray
    start: np.ndarray


def window_starts(length: int, window: int, stride: int) -> np.ndarray:
    """Start positions that cover a sequence of ``length`` with windows of ``window`` every ``stride``.

    The last window is aligned to the end of the sequence so no position is left out; a sequence no longer
    than the window gets one window starting at 0.
    """
    if length <= window:
        return np.zeros(1, dtype=np.int64)
    starts = list(range(0, length - window + 1, stride))
    if starts[-1] != length - window:
        starts.append(length - window)
    return np.asarray(starts, dtype=np.int64)


def make_windows(ds: Dataset, window: int, stride: int) -> Windows:
    """Cut every sequence into windows of ``window`` nt every ``stride`` nt (see :func:`window_starts`).

    Shorter sequences are padded; labels and tracks are carried along.
    """
    if window < 1 or stride < 1:
        raise InputError(f"window ({window}) and stride ({stride}) must be positive.")
    starts = [window_starts(int(n), window, stride) for n in ds.lengths]
    counts = np.fromiter((len(s) for s in starts), dtype=np.int64, count=len(starts))
    source = np.repeat(np.arange(len(ds)), counts)
    start = np.concatenate(starts) if starts else np.zeros(0, dtype=np.int64)
    if np.all(counts == 1) and ds.width <= window:  # fast path: nothing to cut
        pad = window - ds.width
        tokens = np.pad(ds.tokens, ((0, 0), (0, pad)), constant_values=PAD) if pad else ds.tokens
        tracks = {
            k: Track(np.pad(v.codes, ((0, 0), (0, pad)), constant_values=255) if pad else v.codes, v.categories)
            for k, v in ds.tracks.items()
        }
        out = replace(ds, tokens=tokens, tracks=tracks)
        return Windows(out, source, start)
    cols = start[:, None] + np.arange(window)[None, :]
    src_tokens = np.pad(ds.tokens, ((0, 0), (0, window)), constant_values=PAD)
    tokens = src_tokens[source[:, None], cols]
    lengths = np.minimum(ds.lengths[source] - start, window).astype(np.int32)
    # positions past each sequence's end are padding already (the source is padded with 4)
    tracks = {}
    for k, v in ds.tracks.items():
        codes = np.pad(v.codes, ((0, 0), (0, window)), constant_values=255)[source[:, None], cols]
        tracks[k] = Track(codes, list(v.categories))
    ids = np.asarray(
        [f"{ds.ids[s]}" if c == 1 else f"{ds.ids[s]}:{b + 1}-{b + min(window, int(ds.lengths[s]) - b)}"
         for s, b, c in zip(source, start, counts[source], strict=True)],
        dtype=object,
    )
    out = Dataset(
        ids=ids,
        tokens=tokens,
        lengths=lengths,
        labels=ds.labels[source],
        label_names=list(ds.label_names),
        tracks=tracks,
        split=None if ds.split is None else ds.split[source],
        provenance=dict(ds.provenance),
    )
    return Windows(out, source, start)
