"""Label tables: CSV/TSV (plain or gzip) and plain Parquet tables of sequences and 0/1 labels.

A sequence table has a column ``id``, a column ``sequence`` and one column per label whose values are ``1``,
``0`` or empty (unknown, stored as NaN). ``NA``/``NaN`` and ``1.0``/``0.0`` are accepted as the same three
values; anything else is an error that names the column, line and value. An optional ``split`` column holds
``train``, ``val`` or ``test`` (case-insensitive).

A label table (:func:`read_labels`) is the same without the sequence column; :func:`attach_labels` joins it by
id onto sequences read from FASTA.

Line numbers in errors are 1-based lines of the text file (the header is line 1); for Parquet they are 1-based
row numbers.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from rnalabel.data import SPLITS, Dataset
from rnalabel.errors import InputError, LabelError
from rnalabel.io._common import read_text, validate_many

SPLIT_COL = "split"
#: cell text (stripped, lower-cased) -> label value; 2.0 stands for unknown (NaN) while mapping
_LABEL_TEXT = {"1": 1.0, "0": 0.0, "1.0": 1.0, "0.0": 0.0, "": 2.0, "na": 2.0, "nan": 2.0}


@dataclass(frozen=True)
class LabelTable:
    """Labels read from a table, keyed by id.

    Attributes
    ----------
    ids : numpy.ndarray of str, shape=(M,)
    labels : numpy.ndarray, shape=(M, K), dtype=float32
        1, 0 or NaN (unknown).
    label_names : list of str, length K
    split : numpy.ndarray of str, shape=(M,), or None
        ``train``/``val``/``test`` when the table has a ``split`` column.
    lines : numpy.ndarray, shape=(M,), dtype=int64
        1-based line (row for Parquet) of each id.
    path : str
    """

    ids: np.ndarray
    labels: np.ndarray
    label_names: list[str]
    split: np.ndarray | None
    lines: np.ndarray
    path: str


@dataclass(frozen=True)
class _Raw:
    header: list[str]
    columns: dict[str, list]  # column name -> cell values (str for text tables, python values for Parquet)
    lines: np.ndarray
    numeric: frozenset[str]  # Parquet columns that hold numbers (not text)


def _suffix(path: Path) -> str:
    name = path.name.lower()
    return name[:-3] if name.endswith(".gz") else name


def _delimiter(path: Path, header_line: str) -> str:
    name = _suffix(path)
    if name.endswith((".tsv", ".tab")):
        return "\t"
    if name.endswith(".csv"):
        return ","
    for d in ("\t", ",", ";"):  # sniff from the header line
        if d in header_line:
            return d
    return ","


def _read_text_table(path: Path) -> _Raw:
    text = read_text(path, what="a CSV/TSV table")
    if "\x00" in text:
        raise InputError("not a text table (contains NUL bytes).", path=path,
                         remedy="give a CSV/TSV file, plain or gzip-compressed, or a Parquet table.")
    text = text.lstrip("\ufeff")
    if not text.strip():
        raise InputError("the table is empty.", path=path, remedy="give a header line and at least one row.")
    first = text.split("\n", 1)[0]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(path, first))
    header: list[str] | None = None
    rows: list[list[str]] = []
    lines: list[int] = []
    line_before = 0
    try:
        for row in reader:
            start = line_before + 1  # first line of this record
            line_before = reader.line_num
            if not row or all(not c.strip() for c in row):
                continue
            if header is None:
                header = [c.strip() for c in row]
                header_line = start
                continue
            if len(row) != len(header):
                raise InputError(
                    f"row has {len(row)} fields but the header (line {header_line}) has {len(header)}.",
                    path=path, line=start, remedy="give every row the same columns as the header.",
                )
            rows.append(row)
            lines.append(start)
    except csv.Error as exc:
        raise InputError(f"malformed table ({exc}).", path=path, line=reader.line_num,
                         remedy="check the quoting on this line.") from None
    if header is None:
        raise InputError("the table is empty.", path=path, remedy="give a header line and at least one row.")
    _check_header(header, path, header_line)
    if not rows:
        raise InputError("the table has a header but no rows.", path=path, remedy="add at least one row.")
    columns = {name: [r[j] for r in rows] for j, name in enumerate(header)}
    return _Raw(header, columns, np.asarray(lines, dtype=np.int64), frozenset())


def _read_parquet_table(path: Path) -> _Raw:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises several types for a non-Parquet file
        raise InputError(f"not a readable Parquet file ({exc.__class__.__name__}).", path=path,
                         remedy="give a Parquet table, or a CSV/TSV file with a .csv/.tsv suffix.") from None
    header = [str(c) for c in table.column_names]
    _check_header(header, path, 1)
    if table.num_rows == 0:
        raise InputError("the table has no rows.", path=path, remedy="add at least one row.")
    columns: dict[str, list] = {}
    numeric = set()
    for name in header:
        col = table.column(name)
        if pa.types.is_integer(col.type) or pa.types.is_floating(col.type) or pa.types.is_boolean(col.type):
            numeric.add(name)
        columns[name] = col.to_pylist()
    return _Raw(header, columns, np.arange(1, table.num_rows + 1, dtype=np.int64), frozenset(numeric))


def _check_header(header: list[str], path: Path, line: int) -> None:
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise InputError(f"column {name!r} appears twice in the header.", path=path, line=line,
                             remedy="give every column a unique name.")
        seen.add(name)


def _load(path: str | os.PathLike) -> tuple[Path, _Raw]:
    p = Path(path)
    if not p.exists():
        raise InputError("file not found.", path=p, remedy="check the path.")
    if _suffix(p).endswith((".parquet", ".pq")):
        return p, _read_parquet_table(p)
    return p, _read_text_table(p)


def _require(raw: _Raw, col: str, what: str, path: Path, option: str) -> None:
    if col not in raw.columns:
        shown = ", ".join(repr(c) for c in raw.header[:12]) + (" ..." if len(raw.header) > 12 else "")
        raise InputError(
            f"no {what} column {col!r}; the header has {shown}.", path=path, line=1,
            remedy=f"name the column {col!r} or choose it with {option}.",
        )


def _ids(raw: _Raw, id_col: str, path: Path) -> np.ndarray:
    ids = ["" if v is None else str(v).strip() for v in raw.columns[id_col]]
    seen: dict[str, int] = {}
    for rid, line in zip(ids, raw.lines, strict=True):
        if not rid:
            raise InputError(f"empty id in column {id_col!r}.", path=path, line=int(line),
                             remedy="give every row an id.")
        if rid in seen:
            raise InputError(f"duplicate id {rid!r} (first seen on line {seen[rid]}).", path=path,
                             line=int(line), remedy="make ids unique.")
        seen[rid] = int(line)
    return np.asarray(ids, dtype=object)


def _label_column(values: list, name: str, numeric: bool, lines: np.ndarray, path: Path) -> np.ndarray:
    """One label column as float32 (1, 0, NaN); the first value outside {1, 0, empty} raises LabelError."""
    import pandas as pd

    if numeric:
        y = np.asarray([np.nan if v is None else float(v) for v in values], dtype=np.float64)
        bad = ~(np.isnan(y) | (y == 0) | (y == 1))
    else:
        codes, uniques = pd.factorize(np.asarray([str(v) for v in values], dtype=object))
        mapped = np.asarray([_LABEL_TEXT.get(u.strip().lower(), np.nan) for u in uniques], dtype=np.float64)
        y = mapped[codes] if len(uniques) else np.zeros(0)
        bad = np.isnan(y)
        y[y == 2.0] = np.nan
    if bad.any():
        i = int(np.argmax(bad))
        raise LabelError(
            f"label column {name!r} has the value {values[i]!r}; labels must be 1, 0 or empty (unknown).",
            path=path, line=int(lines[i]),
            remedy=f"fix the value, or if {name!r} is not a label, choose the label columns "
                   "(label_cols=..., CLI --labels).",
        )
    return y.astype(np.float32)


def _is_text_column(raw: _Raw, name: str) -> bool:
    """A text column none of whose non-empty cells is a label value (a miRNA's name, a description): metadata."""
    if name in raw.numeric:
        return False
    cells = {str(v).strip().lower() for v in raw.columns[name] if v is not None and str(v).strip()}
    return bool(cells) and not any(c in _LABEL_TEXT for c in cells)


def _labels(raw: _Raw, label_cols: Sequence[str] | None, skip: set[str], path: Path):
    if label_cols is None:
        names = [c for c in raw.header if c not in skip and not _is_text_column(raw, c)]
    else:
        names = list(label_cols)
        for c in names:
            if c not in raw.columns or c in skip:
                raise LabelError(
                    f"no label column {c!r} in the table.", path=path, line=1,
                    remedy="choose among: " + ", ".join(x for x in raw.header if x not in skip) + ".",
                )
        if len(set(names)) != len(names):
            raise LabelError("a label column is named twice.", path=path, remedy="name each label once.")
    y = np.zeros((len(raw.lines), len(names)), dtype=np.float32)
    for j, c in enumerate(names):
        y[:, j] = _label_column(raw.columns[c], c, c in raw.numeric, raw.lines, path)
    return y, names


def _split(raw: _Raw, path: Path) -> np.ndarray | None:
    if SPLIT_COL not in raw.columns:
        return None
    out = np.empty(len(raw.lines), dtype=object)
    for i, (v, line) in enumerate(zip(raw.columns[SPLIT_COL], raw.lines, strict=True)):
        s = "" if v is None else str(v).strip().lower()
        if s not in SPLITS:
            raise InputError(f"split value {v!r} is not one of train, val, test.", path=path, line=int(line),
                             remedy="use train, val or test in the split column (or drop the column).")
        out[i] = s
    return out


def read_table(
    path: str | os.PathLike,
    *,
    id_col: str = "id",
    seq_col: str = "sequence",
    label_cols: Sequence[str] | None = None,
    max_length: int | None = None,
) -> Dataset:
    """Read a CSV/TSV (optionally gzip) or plain Parquet table of sequences and 0/1 labels.

    Parameters
    ----------
    path : path
        ``.csv`` (comma), ``.tsv``/``.tab`` (tab), anything else sniffed from the header line (tab, comma or
        semicolon); ``.parquet``/``.pq`` for Parquet.
    id_col : str
        Column of unique ids. Default is "id".
    seq_col : str
        Column of sequences (RNA or DNA, IUPAC; normalised to upper-case RNA). Default is "sequence".
    label_cols : sequence of str, optional
        Label columns, in this order. Default is every column except ``id_col``, ``seq_col``, ``split`` and text
        columns none of whose cells is a label value (names, descriptions: kept out as metadata, listed in the
        provenance's ``metadata_cols``).
    max_length : int, optional
        Refuse longer sequences. Default is None (no limit).

    Returns
    -------
    Dataset
        Labels shape=(N, K) float32 with NaN for empty cells; ``split`` set when the table has a split column.

    Raises
    ------
    InputError
        Missing id/sequence column, duplicate or empty id, ragged row, bad split value, unreadable file.
    SequenceError
        Empty sequence or characters outside IUPAC (with the line).
    LabelError
        A label value other than 1, 0 or empty (naming column, line and value).
    """
    p, raw = _load(path)
    _require(raw, id_col, "id", p, "--id-col NAME (rnalabel predict, evaluate, data import table; id_col= in Python)")
    _require(raw, seq_col, "sequence", p, "--seq-col NAME (rnalabel predict, evaluate, data import table; seq_col= in "
             "Python)")
    ids = _ids(raw, id_col, p)
    seqs = ["" if v is None else str(v) for v in raw.columns[seq_col]]
    seqs = validate_many(seqs, path=p, lines=raw.lines, names=ids, max_length=max_length)
    y, names = _labels(raw, label_cols, {id_col, seq_col, SPLIT_COL}, p)
    meta = [c for c in raw.header if c not in names and c not in (id_col, seq_col, SPLIT_COL)]
    return Dataset.from_sequences(
        ids, seqs, y, names, split=_split(raw, p),
        provenance={"source": str(p), "format": "table", "id_col": id_col, "seq_col": seq_col,
                    **({"metadata_cols": meta} if meta else {})},
    )


def read_labels(
    path: str | os.PathLike, *, id_col: str = "id", label_cols: Sequence[str] | None = None
) -> LabelTable:
    """Read a label table without sequences (ids, 0/1/empty labels, optional split).

    Parameters
    ----------
    path : path
        CSV/TSV (optionally gzip) or Parquet; see :func:`read_table`.
    id_col : str
        Default is "id".
    label_cols : sequence of str, optional
        Default is every column except ``id_col`` and ``split``.

    Returns
    -------
    LabelTable
    """
    p, raw = _load(path)
    _require(raw, id_col, "id", p, "id_col= (CLI --id-col)")
    ids = _ids(raw, id_col, p)
    y, names = _labels(raw, label_cols, {id_col, SPLIT_COL}, p)
    return LabelTable(ids, y, names, _split(raw, p), raw.lines, str(p))


def attach_labels(
    ds: Dataset,
    table: str | os.PathLike | LabelTable,
    *,
    id_col: str = "id",
    label_cols: Sequence[str] | None = None,
    max_shown: int = 5,
) -> Dataset:
    """Join a label table onto sequences by id (e.g. a FASTA file plus a CSV of labels).

    Every id of ``ds`` must be in the table and every id of the table in ``ds``.

    Parameters
    ----------
    ds : Dataset
        Sequences (usually unlabelled, from :func:`rnalabel.io.read_fasta_dataset`); not modified.
    table : path or LabelTable
        The labels (see :func:`read_labels`).
    id_col, label_cols
        Passed to :func:`read_labels` when ``table`` is a path.
    max_shown : int
        How many unmatched ids an error lists. Default is 5.

    Returns
    -------
    Dataset
        A copy of ``ds`` whose labels (and split, when the table has one) are the table's, in ``ds`` order;
        labels already on ``ds`` are replaced.

    Raises
    ------
    LabelError
        Ids present on one side only (the first few of each are listed).
    """
    lt = table if isinstance(table, LabelTable) else read_labels(table, id_col=id_col, label_cols=label_cols)
    row = {rid: i for i, rid in enumerate(lt.ids)}
    ds_ids = [str(i) for i in ds.ids]
    missing = [rid for rid in ds_ids if rid not in row]
    extra_set = set(row).difference(ds_ids)
    if missing or extra_set:
        extra = [rid for rid in lt.ids if rid in extra_set]
        parts = []
        if missing:
            parts.append(f"{len(missing)} sequence id(s) have no labels ({_show(missing, max_shown)})")
        if extra:
            parts.append(f"{len(extra)} labelled id(s) have no sequence ({_show(extra, max_shown)})")
        raise LabelError(
            "ids do not match between the sequences and the label table: " + "; ".join(parts) + ".",
            path=lt.path, remedy="give one label row per sequence, with the same ids as the FASTA headers.",
        )
    order = np.fromiter((row[rid] for rid in ds_ids), dtype=np.int64, count=len(ds_ids))
    prov = dict(ds.provenance)
    prov["labels"] = lt.path
    return replace(
        ds,
        labels=lt.labels[order].copy(),
        label_names=list(lt.label_names),
        tracks=dict(ds.tracks),
        split=ds.split if lt.split is None else lt.split[order],
        provenance=prov,
    )


def _show(ids: Sequence[str], k: int) -> str:
    head = ", ".join(repr(i) for i in ids[:k])
    return head + (", ..." if len(ids) > k else "")
