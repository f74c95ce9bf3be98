"""Training input streamed from a Parquet dataset: bounded memory for tables of any length.

:class:`StreamUnits` is the training loader's dataset when :func:`rnalabel.engine.training.fit` is given a
:class:`~rnalabel.data.stream.ParquetStream`: each DataLoader worker reads its share of the row groups (in an
order drawn per epoch), keeps the training rows, adds the recipe's shortened copies, featurises them with the
bundle's views and shuffles them in a buffer of ``buffer_rows`` rows before yielding batches. Memory holds one
row group and one buffer per worker, whatever the length of the table.

Each worker keeps the same share of the row groups every epoch (balanced by rows, so the epoch's length is fixed)
and reads them in an order drawn per epoch; a row group larger than
:data:`~rnalabel.data.dataset.ROW_GROUP_ROWS` (files written by older versions) is read in slices of that size.
A worker's last batch is dropped when it would hold a single row. Under DDP
(:meth:`StreamUnits.set_rank`) the training rows are dealt to the processes in turn and all processes run the
same number of batches. The shuffle is a block shuffle: rows meet rows
of the same buffer (several row groups when the buffer is larger than a group), not of the whole table. Rows written in an order that correlates with their labels (e.g. one
experiment after another) are mixed only as far as the buffer reaches; a bigger ``buffer_rows``, or a table
written in random order, mixes more.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping

import numpy as np
import torch

from rnalabel.data import Dataset
from rnalabel.data.augment import shortened_copies
from rnalabel.data.dataset import ROW_GROUP_ROWS
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
        DataLoader workers that will read it (each a fixed share of the row groups, balanced by rows). Default is 0.
    """

    def __init__(self, stream: ParquetStream, rows: np.ndarray, views: Mapping[str, View], *, kind: str,
                 window: int | None, stride: int | None, batch_size: int, short_copies: float = 0.0,
                 seed: int = 0, buffer_rows: int = 65_536, workers: int = 0, lengths: np.ndarray | None = None
                 ) -> None:
        self.stream, self.views, self.kind, self.window, self.stride = stream, dict(views), kind, window, stride
        self.batch_size, self.short_copies, self.seed = int(batch_size), float(short_copies), int(seed)
        self.buffer_rows, self.workers, self.epoch = max(int(buffer_rows), 1), max(int(workers), 0), 0
        rows = np.asarray(rows, dtype=bool)
        self._lengths = None if lengths is None else np.asarray(lengths)
        # pieces: at most ROW_GROUP_ROWS rows of one row group (files with bigger groups are read in slices)
        self.pieces: list[tuple[int, int, int]] = []
        self.local: list[np.ndarray] = []
        for g in range(stream.n_groups):
            a, b = int(stream.group_starts[g]), int(stream.group_starts[g + 1])
            for lo in range(a, b, ROW_GROUP_ROWS):
                hi = min(lo + ROW_GROUP_ROWS, b)
                loc = np.flatnonzero(rows[lo:hi])
                if not len(loc):
                    continue
                self.pieces.append((g, lo - a, hi - a))
                self.local.append(loc)
        # training rows before each piece: under DDP the rows of a piece are dealt on from where the last piece
        # stopped, so no process is always first to get a piece's odd rows
        self._before = np.cumsum([0] + [len(x) for x in self.local[:-1]]) if self.local else np.zeros(0, np.int64)
        self.set_rank(0, 1)

    def _mine(self, i: int, rank: int, world: int) -> np.ndarray:
        """The training rows of piece ``i`` (piece-local numbers) that process ``rank`` of ``world`` trains on."""
        return self.local[i][(rank - int(self._before[i])) % world::world]

    def _piece_units(self, i: int, rank: int, world: int) -> int:
        """Training units piece ``i`` gives the process of rank ``rank`` (its rows and their shortened copies)."""
        loc = self._mine(i, rank, world)
        n = len(loc)
        if self.short_copies > 0 and self._lengths is not None:  # as shortened_copies draws (length 1: none)
            g, lo, _ = self.pieces[i]
            start = int(self.stream.group_starts[g]) + lo
            n += min(int(np.sum(self._lengths[start + loc] > 1)), int(round(self.short_copies * len(loc))))
        return n

    def set_rank(self, rank: int, world: int) -> None:
        """Read as process ``rank`` of ``world`` (DDP): the training rows are dealt to the processes in turn, row
        after row across the pieces (all processes read every row group; each featurises and trains on its own
        rows), and every process runs the same number of batches (the smallest process's count; the others stop
        that many batches early, dropping rows drawn at random from their last buffer: a few batches, since the
        processes' training rows differ by at most one and their shortened copies by rounding per piece)."""
        world = max(int(world), 1)
        rank = int(rank)
        if not 0 <= rank < world:
            raise ValueError(f"rank {rank} outside 0..{world - 1}")
        self.rank, self.world = rank, world
        w = max(self.workers, 1)
        per_rank = []
        for r in range(world):
            units = [self._piece_units(i, r, world) for i in range(len(self.pieces))]
            # a fixed share of the row groups per worker, balanced by units: each worker's batch count, and so
            # the epoch's length Lightning reads once, is the same every epoch
            group_units: dict[int, int] = {}
            for (g, _, _), u in zip(self.pieces, units, strict=True):
                group_units[g] = group_units.get(g, 0) + int(u)
            load = [0] * w
            share_of: dict[int, int] = {}
            for g in sorted(group_units, key=lambda x: (-group_units[x], x)):
                k = int(np.argmin(load))
                share_of[g] = k
                load[k] += group_units[g]
            per_rank.append((units, share_of, load))
        _, self.share_of, self.share_units = per_rank[rank]
        self.n_units = int(sum(sum(u) for u, _, _ in per_rank))  # the epoch's units over all processes
        counts = [sum(self._batches(u) for u in load) for _, _, load in per_rank]
        # the same batch count in every process (DDP steps together); a worker with the most batches gives up one
        # at a time until this process has the smallest count
        self.caps = [self._batches(u) for u in self.share_units]
        for _ in range(counts[rank] - min(counts)):
            self.caps[int(np.argmax(self.caps))] -= 1

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def _batches(self, units: int) -> int:
        # the last batch of a worker is dropped when it would hold one row (BatchNorm cannot train on one)
        return units // self.batch_size + (1 if units % self.batch_size >= 2 else 0)

    def __len__(self) -> int:
        return sum(self.caps)

    def _plan(self, worker: int) -> list[int]:
        """This worker's pieces for the current epoch: its row groups in a drawn order, each group's pieces
        together (one group is read once) in a drawn order."""
        rng = np.random.default_rng([self.seed, self.epoch, 7])
        groups = [g for g in sorted(self.share_of) if self.share_of[g] == worker]
        by_group: dict[int, list[int]] = {}
        for i, (g, _, _) in enumerate(self.pieces):
            by_group.setdefault(g, []).append(i)
        plan = []
        for g in rng.permutation(np.asarray(groups, dtype=np.int64)) if groups else []:
            plan += [by_group[int(g)][j] for j in rng.permutation(len(by_group[int(g)]))]
        return plan

    def _chunk(self, i: int, ds: Dataset) -> tuple[dict[str, np.ndarray], np.ndarray]:
        part = ds.subset(self._mine(i, self.rank, self.world))
        if self.short_copies > 0:
            g, lo, _ = self.pieces[i]
            seed = (self.seed * 1_000_003 + g) * 1_000_003 + lo
            if self.world > 1:
                seed = seed * 1_000_003 + self.rank
            part = Dataset.concat([part, shortened_copies(part, self.short_copies, seed=seed)])
        units = make_units(part, kind=self.kind, window=self.window, stride=self.stride).dataset
        return featurize(self.views, units, training=True), units.labels

    def __iter__(self) -> Iterator[tuple[dict[str, torch.Tensor], torch.Tensor]]:
        info = torch.utils.data.get_worker_info()
        wid = 0 if info is None else info.id
        if self.world == 1:
            rng = np.random.default_rng([self.seed, self.epoch, wid])
        else:
            rng = np.random.default_rng([self.seed, self.epoch, self.rank, wid])
        cap = self.caps[wid if self.workers else 0]
        yield from itertools.islice(self._batches_of(wid, rng), cap)

    def _batches_of(self, wid: int, rng) -> Iterator[tuple[dict[str, torch.Tensor], torch.Tensor]]:
        xs: list[dict[str, np.ndarray]] = []
        ys: list[np.ndarray] = []
        held = 0
        for i in self._plan(wid if self.workers else 0):
            g, lo, hi = self.pieces[i]
            x, y = self._chunk(i, self.stream.group(g, lo, hi))
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
            if len(ix) < 2:  # a last batch of one row is dropped (counted so in __len__)
                break
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
        for lo in range(0, int(starts[g + 1] - starts[g]), ROW_GROUP_ROWS):
            hi = min(lo + ROW_GROUP_ROWS, int(starts[g + 1] - starts[g]))
            local = np.flatnonzero(rows[starts[g] + lo:starts[g] + hi])
            if not len(local):
                continue
            part = stream.group(g, lo, hi).subset(local)
            ys.append(part.labels)
            ss.append(sequence_scores(model, part, device=device, progress=False))
    k = len(stream.label_names)
    if not ys:
        return np.zeros((0, k), np.float32), np.zeros((0, k), np.float32)
    return np.concatenate(ys), np.concatenate(ss)


__all__ = ["StreamUnits", "stream_scores"]
