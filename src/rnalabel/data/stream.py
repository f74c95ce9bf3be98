"""A dataset on disk, read a row group at a time: training beyond memory.

:class:`ParquetStream` opens a dataset written by :meth:`Dataset.to_parquet` (row groups of
:data:`~rnalabel.data.dataset.ROW_GROUP_ROWS` rows) without reading its sequences. What training must know of
every row is small and is read whole: the labels, the split and the lengths (:meth:`ParquetStream.skeleton`, a
:class:`Dataset` whose ids are row numbers and whose tokens are empty); the sequences are read a row group at a
time (:meth:`ParquetStream.groups`) or for chosen rows (:meth:`ParquetStream.read_rows`).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from rnalabel.data.dataset import Dataset, dataset_metadata
from rnalabel.errors import InputError


class ParquetStream:
    """A Parquet dataset read lazily (see the module docstring).

    Parameters
    ----------
    path : path
        A file written by ``rnalabel data import/build`` or :meth:`Dataset.to_parquet`.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        import pyarrow.parquet as pq

        self.path = Path(path)
        if not self.path.is_file():
            raise InputError("file not found.", path=self.path, remedy="check the path.")
        try:
            self._file = pq.ParquetFile(self.path)
        except Exception as exc:  # pyarrow raises several types for a non-Parquet file
            raise InputError(f"not a readable Parquet file ({exc.__class__.__name__}).", path=self.path,
                             remedy="streaming reads Parquet datasets written by `rnalabel data import/build`.") from None
        self.meta = dataset_metadata(self._file.schema_arrow, self.path)
        self.label_names = list(self.meta["label_names"])
        self.provenance = dict(self.meta.get("provenance", {}))
        md = self._file.metadata
        self.n = int(md.num_rows)
        self.group_starts = np.cumsum([0] + [md.row_group(g).num_rows for g in range(md.num_row_groups)])
        names = set(self._file.schema_arrow.names)
        missing = {"id", "sequence", *(f"label:{n}" for n in self.label_names)} - names
        if missing:
            raise InputError(f"the dataset lacks column(s) {', '.join(sorted(missing))}.", path=self.path)
        self.has_split = "split" in names
        self._cache: tuple[int, object] | None = None  # the last row group read (its pieces are read in turn)

    def __len__(self) -> int:
        return self.n

    @property
    def n_groups(self) -> int:
        return len(self.group_starts) - 1

    def __getstate__(self) -> dict:  # DataLoader workers get the path and reopen the file
        state = dict(self.__dict__)
        state["_file"], state["_cache"] = None, None
        return state

    def __setstate__(self, state: dict) -> None:
        import pyarrow.parquet as pq

        self.__dict__.update(state)
        self._file = pq.ParquetFile(self.path)

    def _read(self, what: str, fn):
        try:
            return fn()
        except Exception as exc:  # noqa: BLE001 - pyarrow raises OSError, ArrowInvalid, ... for damaged files
            raise InputError(f"cannot read {what} ({type(exc).__name__}: {exc}).", path=self.path,
                             remedy="the file is damaged: write it again (rnalabel data import/build).") from None

    def _column(self, name: str):
        col = self._read(f"column {name!r}", lambda: self._file.read(columns=[name]).column(0))
        if col.null_count and name in ("sequence", "split"):
            first = int(np.flatnonzero(col.is_null().to_numpy(zero_copy_only=False))[0])
            raise InputError(f"row {first + 1} has no {name} (a null value).", path=self.path,
                             remedy="fill or drop the row and write the file again.")
        return col

    def skeleton(self) -> Dataset:
        """Every row's labels, split and length, without sequences: ids are row numbers (0-based) and tokens are
        an (N, 1) placeholder. Enough to split, weigh labels and check lengths; never featurised."""
        import pyarrow.compute as pc

        labels = np.zeros((self.n, len(self.label_names)), dtype=np.float32)
        for j, name in enumerate(self.label_names):
            labels[:, j] = self._column(f"label:{name}").to_numpy(zero_copy_only=False)
        lengths = np.empty(self.n, dtype=np.int32)
        for g in range(self.n_groups):
            col = self._read(f"row group {g}", lambda g=g: self._file.read_row_group(g, columns=["sequence"]))
            col = col.column(0)
            if col.null_count:
                first = int(np.flatnonzero(col.is_null().to_numpy(zero_copy_only=False))[0])
                raise InputError(f"row {int(self.group_starts[g]) + first + 1} has no sequence (a null value).",
                                 path=self.path, remedy="fill or drop the row and write the file again.")
            lengths[self.group_starts[g]:self.group_starts[g + 1]] = pc.utf8_length(col).to_numpy(
                zero_copy_only=False)
        split = None
        if self.has_split:  # three shared strings, not one object per row
            enc = pc.dictionary_encode(self._column("split")).combine_chunks()
            names = np.asarray([str(x) for x in enc.dictionary.to_pylist()], dtype=object)
            split = names[enc.indices.to_numpy(zero_copy_only=False)]
        ids = np.arange(self.n, dtype=np.int32 if self.n < 2**31 else np.int64)
        return Dataset(ids=ids, tokens=np.zeros((self.n, 1), np.uint8), lengths=lengths,
                       labels=labels, label_names=list(self.label_names), split=split,
                       provenance=dict(self.provenance))

    def group(self, g: int, lo: int = 0, hi: int | None = None) -> Dataset:
        """Rows ``lo:hi`` of row group ``g`` as a dataset (ids, sequences, labels, tracks, split); the group's
        table is kept until another group is asked for, so its slices are read once."""
        if self._cache is None or self._cache[0] != g:
            self._cache = None
            self._cache = (g, self._read(f"row group {g}", lambda: self._file.read_row_group(g)))
        table = self._cache[1]
        hi = table.num_rows if hi is None else hi
        try:
            return Dataset._from_table(table.slice(lo, hi - lo), self.meta)
        except (TypeError, ValueError, KeyError) as exc:
            raise InputError(f"row group {g} cannot be read as sequences and labels ({type(exc).__name__}: {exc}).",
                             path=self.path, remedy="write the file with rnalabel data import/build.") from None

    def groups(self, order: Sequence[int] | None = None) -> Iterator[tuple[int, Dataset]]:
        """(first row number, dataset) of each row group, in ``order`` (default: file order)."""
        for g in (range(self.n_groups) if order is None else order):
            yield int(self.group_starts[g]), self.group(int(g))

    def read_rows(self, rows: np.ndarray | Sequence[int]) -> Dataset:
        """The rows numbered ``rows`` (0-based), read group by group, in ascending order."""
        rows = np.unique(np.asarray(rows, dtype=np.int64))
        if len(rows) and (rows[0] < 0 or rows[-1] >= self.n):
            raise InputError(f"row numbers outside 0..{self.n - 1}.", path=self.path)
        parts = []
        gid = np.searchsorted(self.group_starts, rows, side="right") - 1
        for g in np.unique(gid):
            local = rows[gid == g] - self.group_starts[g]
            parts.append(self.group(int(g)).subset(local))
        self._cache = None
        if not parts:
            return self.group(0, 0, 0)
        return Dataset.concat(parts) if len(parts) > 1 else parts[0]

    def digest(self) -> str:
        """SHA-256 of the file (what a resumed training must read again)."""
        h = hashlib.sha256()
        with self.path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        return h.hexdigest()


__all__ = ["ParquetStream"]
