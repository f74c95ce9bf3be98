"""Training input streamed from a Parquet dataset: bounded memory for tables of any length.

:class:`StreamUnits` is the training loader's dataset when :func:`rnalabel.engine.training.fit` is given a
:class:`~rnalabel.data.stream.ParquetStream`: each DataLoader worker reads its share of the row groups (in an
order drawn per epoch), keeps the training rows, adds the recipe's shortened copies, featurises them with the
bundle's views and shuffles them in a buffer of ``buffer_rows`` rows before yielding batches. Memory holds one
row group and one buffer per worker, whatever the length of the table.

The shuffle is a block shuffle: rows meet rows of the same buffer (several row groups when the buffer is larger
than a group), not of the whole table. Rows written in an order that correlates with their labels (e.g. one
experiment after another) are mixed only as far as the buffer reaches; a bigger ``buffer_rows``, or a table
written in random order, mixes more.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping

import numpy as np
import torch

from rnalabel.data import Dataset
from rnalabel.data.augment import shortened_copies
from rnalabel.data.stream import ParquetStream
from rnalabel.engine.inputs import featurize, make_units
from rnalabel.views.base import View


class StreamUnits(torch.utils.data.IterableDataset):
    """Batches of featurised training rows read from disk (see the module docstring).

    Parameters
    ----------
    stream : ParquetStream
    rows : numpy.ndarray of bool, shape=(N,)
        Which rows of the file are training rows.
    views : dict of str to View
        Fitted views, as the bundle keeps them.
    kind, window, stride
        As for :func:`rnalabel.engine.inputs.make_units` (training rows are never cut: one unit each).
    batch_size : int
    short_copies : float
        The recipe's share of shortened copies, drawn per row group (seeded by ``seed`` and the group).
    seed : int
    buffer_rows : int
        Rows shuffled together before batching. Default is 65,536.
    workers : int
        DataLoader workers that will read it (each takes every ``workers``-th row group). Default is 0.
    """

    def __init__(self, stream: ParquetStream, rows: np.ndarray, views: Mapping[str, View], *, kind: str,
                 window: int | None, stride: int | None, batch_size: int, short_copies: float = 0.0,
                 seed: int = 0, buffer_rows: int = 65_536, workers: int = 0, lengths: np.ndarray | None = None
                 ) -> None:
        self.stream, self.views, self.kind, self.window, self.stride = stream, dict(views), kind, window, stride
        self.batch_size, self.short_copies, self.seed = int(batch_size), float(short_copies), int(seed)
        self.buffer_rows, self.workers, self.epoch = max(int(buffer_rows), 1), max(int(workers), 0), 0
        starts = stream.group_starts
        rows = np.asarray(rows, dtype=bool)
        self.local = [np.flatnonzero(rows[starts[g]:starts[g + 1]]) for g in range(stream.n_groups)]
        units = np.array([len(r) for r in self.local], dtype=np.int64)
        if self.short_copies > 0 and lengths is not None:  # as shortened_copies draws: rows of length 1 are skipped
            for g, loc in enumerate(self.local):
                longer = int(np.sum(lengths[starts[g] + loc] > 1))
                units[g] += min(longer, int(round(self.short_copies * len(loc))))
        self.units = units
        self.n_units = int(units.sum())

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def _order(self) -> np.ndarray:
        groups = np.flatnonzero(self.units > 0)
        return np.random.default_rng([self.seed, self.epoch, 7]).permutation(groups)

    def _shares(self) -> list[np.ndarray]:
        order, w = self._order(), max(self.workers, 1)
        return [order[i::w] for i in range(w)]

    def __len__(self) -> int:
        return sum(math.ceil(int(self.units[s].sum()) / self.batch_size) for s in self._shares())

    def _chunk(self, g: int, ds: Dataset) -> tuple[dict[str, np.ndarray], np.ndarray]:
        part = ds.subset(self.local[g])
        if self.short_copies > 0:
            part = Dataset.concat([part, shortened_copies(part, self.short_copies, seed=self.seed * 1_000_003 + g)])
        units = make_units(part, kind=self.kind, window=self.window, stride=self.stride).dataset
        return featurize(self.views, units), units.labels

    def __iter__(self) -> Iterator[tuple[dict[str, torch.Tensor], torch.Tensor]]:
        info = torch.utils.data.get_worker_info()
        wid = 0 if info is None else info.id
        share = self._shares()[wid] if self.workers else self._order()
        rng = np.random.default_rng([self.seed, self.epoch, wid])
        xs: list[dict[str, np.ndarray]] = []
        ys: list[np.ndarray] = []
        held = 0
        for g in share:
            g = int(g)
            x, y = self._chunk(g, self.stream.group(g))
            xs.append(x)
            ys.append(y)
            held += len(y)
            if held >= self.buffer_rows:
                xs, ys, held = (yield from self._emit(xs, ys, rng, keep_rest=True))
        if held:
            yield from self._emit(xs, ys, rng, keep_rest=False)

    def _emit(self, xs, ys, rng, *, keep_rest: bool):
        x = {k: np.concatenate([c[k] for c in xs]) for k in xs[0]}
        y = np.concatenate(ys)
        perm = rng.permutation(len(y))
        bs = self.batch_size
        full = (len(y) // bs) * bs if keep_rest else len(y)
        for i in range(0, full, bs):
            ix = perm[i:i + bs]
            yield ({k: torch.from_numpy(np.ascontiguousarray(v[ix])) for k, v in x.items()},
                   torch.from_numpy(np.ascontiguousarray(y[ix], dtype=np.float32)))
        rest = perm[full:]
        if not len(rest):
            return [], [], 0
        return [{k: v[rest] for k, v in x.items()}], [y[rest]], len(rest)


def stream_scores(model, stream: ParquetStream, rows: np.ndarray, *, device=None) -> tuple[np.ndarray, np.ndarray]:
    """Labels and per-sequence scores of the rows ``rows`` (bool, shape (N,)) of ``stream``, a row group at a
    time (what :func:`rnalabel.engine.predict.sequence_scores` gives for them, in file order)."""
    from rnalabel.engine.forward import sequence_scores

    ys, ss = [], []
    starts = stream.group_starts
    for g in range(stream.n_groups):
        local = np.flatnonzero(rows[starts[g]:starts[g + 1]])
        if not len(local):
            continue
        part = stream.group(g).subset(local)
        ys.append(part.labels)
        ss.append(sequence_scores(model, part, device=device, progress=False))
    k = len(stream.label_names)
    if not ys:
        return np.zeros((0, k), np.float32), np.zeros((0, k), np.float32)
    return np.concatenate(ys), np.concatenate(ss)


__all__ = ["StreamUnits", "stream_scores"]
