"""The in-memory dataset and its Parquet form.

A :class:`Dataset` holds ids, sequences as uint8 tokens ``(N, L)`` padded with 4, their lengths, a label matrix
``(N, K)`` float32 with NaN where a label is unknown, optional categorical per-position tracks (region type ...),
an optional split column (``train``/``val``/``test``) and a provenance dict.

On disk a dataset is one Parquet file: columns ``id``, ``sequence``, one float column per label (NaN = unknown),
``split`` when present, ``track:<name>`` string columns (one category code character per position), and the
label names, track categories and provenance in the schema metadata under the key ``rnalabel``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from rnalabel.data.files import atomic_path
from rnalabel.data.sequence import PAD, decode, encode_batch
from rnalabel.errors import InputError, LabelError

SPLITS = ("train", "val", "test")
_META_KEY = b"rnalabel"
#: characters used to store categorical track codes in Parquet (code i -> _CODES[i])
_CODES = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def label_index(names: Sequence[str], label: str | int, *, owner: str = "") -> int:
    """Column of ``label`` among ``names``: a label name, or a column number.

    The one label look-up of the package (datasets, trained models, explain). An unknown name or an out-of-range
    number raises :class:`LabelError` naming the labels there are.

    Parameters
    ----------
    names : sequence of str
    label : str or int
    owner : str
        Who has the labels, for the message (e.g. "the model"). Default is "".
    """
    names = list(names)
    where = f" of {owner}" if owner else ""
    if isinstance(label, int | np.integer) and not isinstance(label, bool):
        if not 0 <= int(label) < len(names):
            raise LabelError(f"label number {int(label)} is out of range: there are {len(names)} labels{where}.",
                             remedy=f"give a number from 0 to {len(names) - 1}, or a label name.")
        return int(label)
    try:
        return names.index(str(label))
    except ValueError:
        shown = ", ".join(names[:30]) + (" ..." if len(names) > 30 else "")
        what = f"{owner} has no label {label!r}." if owner else f"unknown label {label!r}."
        raise LabelError(what, remedy=f"choose one of: {shown}.") from None


@dataclass
class Track:
    """A categorical per-position annotation (e.g. region type) aligned with the sequence.

    Attributes
    ----------
    codes : numpy.ndarray, shape=(N, L), dtype=uint8
        Category index per position; positions past a sequence's end hold 255.
    categories : list of str
        Name of each category index.
    """

    codes: np.ndarray
    categories: list[str]


ROW_GROUP_ROWS = 65_536  # rows per Parquet row group: what a streaming reader holds at a time


@dataclass
class Dataset:
    """Sequences with multi-label targets.

    Attributes
    ----------
    ids : numpy.ndarray of str, shape=(N,)
    tokens : numpy.ndarray, shape=(N, L), dtype=uint8
        A,C,G,U = 0..3, other IUPAC codes and padding = 4.
    lengths : numpy.ndarray, shape=(N,), dtype=int32
    labels : numpy.ndarray, shape=(N, K), dtype=float32
        1 bound / 0 not bound / NaN unknown.
    label_names : list of str, length K
    tracks : dict of str to Track
    split : numpy.ndarray of str, shape=(N,), or None
    provenance : dict
    """

    ids: np.ndarray
    tokens: np.ndarray
    lengths: np.ndarray
    labels: np.ndarray
    label_names: list[str]
    tracks: dict[str, Track] = field(default_factory=dict)
    split: np.ndarray | None = None
    provenance: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.ids)
        if self.tokens.shape[0] != n or self.lengths.shape[0] != n or self.labels.shape[0] != n:
            raise LabelError(
                f"dataset arrays disagree on the number of sequences: ids {n}, tokens {self.tokens.shape[0]}, "
                f"lengths {self.lengths.shape[0]}, labels {self.labels.shape[0]}."
            )
        if self.labels.ndim != 2 or self.labels.shape[1] != len(self.label_names):
            raise LabelError(
                f"label matrix has shape {self.labels.shape} but {len(self.label_names)} label names were given."
            )
        if self.split is not None and len(self.split) != n:
            raise LabelError(f"split column has {len(self.split)} entries for {n} sequences.")

    # construction -------------------------------------------------------------------------------------------
    @classmethod
    def from_sequences(
        cls,
        ids: Sequence[str],
        sequences: Sequence[str],
        labels: np.ndarray | None = None,
        label_names: Sequence[str] | None = None,
        *,
        tracks: dict[str, Track] | None = None,
        split: Sequence[str] | None = None,
        provenance: dict[str, Any] | None = None,
    ) -> Dataset:
        """Build a dataset from normalised sequences (see :func:`rnalabel.data.sequence.validate`).

        Parameters
        ----------
        ids : sequence of str, length N
        sequences : sequence of str, length N
        labels : array, shape=(N, K), optional
            Default is an empty (N, 0) matrix (sequences to predict on).
        label_names : sequence of str, length K, optional
        """
        n = len(sequences)
        if len(ids) != n:
            raise LabelError(f"{len(ids)} ids for {n} sequences.")
        if labels is None:
            labels = np.zeros((n, 0), dtype=np.float32)
            label_names = []
        labels = np.asarray(labels, dtype=np.float32)
        if labels.ndim == 1:
            labels = labels[:, None]
        if label_names is None:
            label_names = [f"label{i}" for i in range(labels.shape[1])]
        return cls(
            ids=np.asarray(list(ids), dtype=object),
            tokens=encode_batch(sequences),
            lengths=np.fromiter((len(s) for s in sequences), dtype=np.int32, count=n),
            labels=labels,
            label_names=list(label_names),
            tracks=dict(tracks or {}),
            split=None if split is None else np.asarray(list(split), dtype=object),
            provenance=dict(provenance or {}),
        )

    # basic properties ---------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.ids)

    @property
    def n_labels(self) -> int:
        return len(self.label_names)

    @property
    def width(self) -> int:
        """Width L of the token matrix (the longest sequence)."""
        return int(self.tokens.shape[1])

    @property
    def sequences(self) -> list[str]:
        """The sequences as RNA strings (ambiguity codes come back as N)."""
        return [decode(t, int(n)) for t, n in zip(self.tokens, self.lengths, strict=True)]

    def label_index(self, name: str | int) -> int:
        """Column of label ``name`` (or a column number); raises :class:`LabelError` listing the known labels."""
        return label_index(self.label_names, name)

    # selection ----------------------------------------------------------------------------------------------
    def subset(self, index: np.ndarray | Sequence[int] | slice) -> Dataset:
        """A new dataset with the rows ``index`` (an integer array, boolean mask or slice)."""
        idx = index if isinstance(index, slice) else np.asarray(index)
        return Dataset(
            ids=self.ids[idx],
            tokens=self.tokens[idx],
            lengths=self.lengths[idx],
            labels=self.labels[idx],
            label_names=list(self.label_names),
            tracks={k: Track(v.codes[idx], list(v.categories)) for k, v in self.tracks.items()},
            split=None if self.split is None else self.split[idx],
            provenance=dict(self.provenance),
        )

    @classmethod
    def concat(cls, parts: Sequence[Dataset]) -> Dataset:
        """The rows of ``parts`` one after another; they must have the same labels and tracks. The token matrix
        is as wide as the widest part; the split column is kept only when every part has one."""
        first = parts[0]
        if any(p.label_names != first.label_names or set(p.tracks) != set(first.tracks) for p in parts):
            raise LabelError("datasets with different labels or tracks cannot be concatenated.")
        width = max(p.width for p in parts)

        def pad(a: np.ndarray, value: int) -> np.ndarray:
            return np.pad(a, ((0, 0), (0, width - a.shape[1])), constant_values=value)

        return cls(
            ids=np.concatenate([p.ids for p in parts]),
            tokens=np.concatenate([pad(p.tokens, PAD) for p in parts]),
            lengths=np.concatenate([p.lengths for p in parts]).astype(np.int32),
            labels=np.concatenate([p.labels for p in parts]),
            label_names=list(first.label_names),
            tracks={k: Track(np.concatenate([pad(p.tracks[k].codes, 255) for p in parts]), list(v.categories))
                    for k, v in first.tracks.items()},
            split=(np.concatenate([p.split for p in parts]) if all(p.split is not None for p in parts) else None),
            provenance=dict(first.provenance),
        )

    def select_split(self, name: str) -> Dataset:
        """Rows whose split is ``name`` (``train``, ``val`` or ``test``)."""
        if self.split is None:
            raise InputError(
                f"the dataset has no split column, so there is no {name!r} split.",
                remedy="assign one with rnalabel.data.split_iterative (or `rnalabel data build`).",
            )
        return self.subset(np.flatnonzero(self.split == name))

    def with_split(self, split: Sequence[str] | np.ndarray) -> Dataset:
        return replace(self, split=np.asarray(split, dtype=object))

    # summaries ----------------------------------------------------------------------------------------------
    def label_counts(self) -> dict[str, dict[str, int]]:
        """Positives, negatives and unknowns per label."""
        y = self.labels
        return {
            name: {
                "positive": int(np.sum(y[:, j] == 1)),
                "negative": int(np.sum(y[:, j] == 0)),
                "unknown": int(np.sum(np.isnan(y[:, j]))),
            }
            for j, name in enumerate(self.label_names)
        }

    def cooccurrence(self) -> np.ndarray:
        """Label co-occurrence counts, shape=(K, K): sequences positive for both labels (diagonal: positives)."""
        pos = (np.nan_to_num(self.labels, nan=0.0) == 1).astype(np.int64)
        return pos.T @ pos

    # Parquet ------------------------------------------------------------------------------------------------
    def to_parquet(self, path: str | os.PathLike) -> Path:
        """Write the dataset as one Parquet file, atomically (a temporary file renamed into place)."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        path = Path(path)
        cols: dict[str, Any] = {"id": pa.array([str(i) for i in self.ids], pa.string())}
        cols["sequence"] = pa.array(self.sequences, pa.string())
        for j, name in enumerate(self.label_names):
            cols[f"label:{name}"] = pa.array(self.labels[:, j], pa.float32())
        if self.split is not None:
            cols["split"] = pa.array([str(s) for s in self.split], pa.string())
        for name, tr in self.tracks.items():
            if len(tr.categories) > len(_CODES):
                raise InputError(f"track {name!r} has more than {len(_CODES)} categories.")
            lut = np.frombuffer(_CODES.encode(), dtype=np.uint8)
            strings = [
                lut[row[:n]].tobytes().decode() for row, n in zip(tr.codes, self.lengths, strict=True)
            ]
            cols[f"track:{name}"] = pa.array(strings, pa.string())
        meta = {
            "label_names": self.label_names,
            "tracks": {k: v.categories for k, v in self.tracks.items()},
            "provenance": self.provenance,
            "format": 1,
        }
        table = pa.table(cols).replace_schema_metadata({_META_KEY: json.dumps(meta).encode()})
        with atomic_path(path) as tmp:  # row groups of 65,536 rows: what a streaming reader takes at a time
            pq.write_table(table, tmp, row_group_size=ROW_GROUP_ROWS)
        return path

    @classmethod
    def from_parquet(cls, path: str | os.PathLike) -> Dataset:
        """Read a dataset written by :meth:`to_parquet`."""
        import pyarrow.parquet as pq

        path = Path(path)
        if not path.exists():
            raise InputError("file not found.", path=path, remedy="check the path.")
        try:
            table = pq.read_table(path)
        except Exception as exc:  # pyarrow raises several types for a non-Parquet file
            raise InputError(
                f"not a readable Parquet file ({exc.__class__.__name__}).",
                path=path,
                remedy="give a dataset written by `rnalabel data import` or `rnalabel data build`.",
            ) from None
        meta = dataset_metadata(table.schema, path)
        return cls._from_table(table, meta)

    @classmethod
    def _from_table(cls, table, meta: dict) -> Dataset:
        """The rows of a pyarrow table in :meth:`to_parquet`'s layout (``meta``: its rnalabel metadata)."""
        names = list(meta["label_names"])
        ids = table.column("id").to_pylist()
        seqs = table.column("sequence").to_pylist()
        labels = np.zeros((len(ids), len(names)), dtype=np.float32)
        for j, name in enumerate(names):
            labels[:, j] = table.column(f"label:{name}").to_numpy(zero_copy_only=False)
        split = table.column("split").to_pylist() if "split" in table.column_names else None
        ds = cls.from_sequences(ids, seqs, labels, names, split=split, provenance=meta.get("provenance", {}))
        for name, cats in meta.get("tracks", {}).items():
            strings = table.column(f"track:{name}").to_pylist()
            ds.tracks[name] = track_from_strings(strings, cats, width=ds.width)
        return ds


def dataset_metadata(schema, path: str | os.PathLike) -> dict:
    """The rnalabel metadata of a Parquet schema (label names, tracks, provenance); InputError if absent."""
    raw = (schema.metadata or {}).get(_META_KEY)
    if raw is None:
        raise InputError(
            "this Parquet file was not written by rnalabel (no 'rnalabel' schema metadata).",
            path=path,
            remedy="import label tables with `rnalabel data import table FILE`.",
        )
    return json.loads(raw)


def track_from_strings(strings: Sequence[str], categories: Sequence[str], *, width: int) -> Track:
    """Decode stored track strings (one code character per position) into a :class:`Track`."""
    lut = np.full(256, 255, dtype=np.uint8)
    for i, c in enumerate(_CODES[: len(categories)]):
        lut[ord(c)] = i
    codes = np.full((len(strings), width), 255, dtype=np.uint8)
    for i, s in enumerate(strings):
        codes[i, : len(s)] = lut[np.frombuffer(s.encode(), dtype=np.uint8)]
    return Track(codes, list(categories))
