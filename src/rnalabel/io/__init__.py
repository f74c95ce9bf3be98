"""Reading and writing: FASTA, label tables, BED + genome, and importers for the public benchmark formats.

:func:`read_input` is what the CLI uses for "sequences in": it picks the reader from the file's content/suffix.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from rnalabel.data import Dataset
from rnalabel.errors import InputError
from rnalabel.io.fasta import (
    FastaRecord,
    iter_fasta,
    read_fasta,
    read_fasta_dataset,
    read_protein_fasta,
    write_fasta,
)

TABLE_SUFFIXES = (".csv", ".tsv", ".txt", ".parquet", ".pq")

__all__ = [
    "FastaRecord", "iter_fasta", "read_fasta", "read_fasta_dataset", "read_protein_fasta", "write_fasta", "read_input",
]


def _suffix(path: Path) -> str:
    s = path.name.lower()
    return s[:-3] if s.endswith(".gz") else s


def read_input(path: str | os.PathLike, *, max_length: int | None = None, id_col: str | None = None,
               seq_col: str | None = None) -> Dataset:
    """Read sequences (and labels, if the file has them) from FASTA, a label table, or an rnalabel Parquet file.

    Parameters
    ----------
    path : path
        ``.fa/.fasta/.fna`` (optionally ``.gz``), ``.csv/.tsv`` label table, or ``.parquet``. A file whose first
        line starts with ``>`` is read as FASTA whatever its name.
    max_length : int, optional
        Refuse longer sequences. Default is None.
    id_col, seq_col : str, optional
        A table's id and sequence columns. Default is None ("id" and "sequence").
    """
    p = Path(path)
    cols = {k: v for k, v in (("id_col", id_col), ("seq_col", seq_col)) if v is not None}
    if not p.exists():
        raise InputError("file not found.", path=p, remedy="check the path.")
    name = _suffix(p)
    if name.endswith((".parquet", ".pq")):
        import pyarrow.parquet as pq

        from rnalabel.data.dataset import _META_KEY

        try:
            meta = pq.read_schema(p).metadata or {}
        except Exception:
            meta = {}
        if _META_KEY in meta:
            return Dataset.from_parquet(p)
        from rnalabel.io.tables import read_table

        return read_table(p, max_length=max_length, **cols)
    if name.endswith((".csv", ".tsv", ".txt")) and not _looks_like_fasta(p):
        from rnalabel.io.tables import read_table

        return read_table(p, max_length=max_length, **cols)
    return read_fasta_dataset(p, max_length=max_length)


def parse_shard(shard: str | None) -> tuple[int, int] | None:
    """``"i/n"`` -> (i, n) with 0 <= i < n (None stays None); anything else raises InputError."""
    if shard is None:
        return None
    try:
        i, n = (int(x) for x in str(shard).split("/"))
    except ValueError:
        i, n = -1, 0
    if not 0 <= i < n:
        raise InputError(f"--shard {shard!r} is not i/n with 0 <= i < n.", remedy="e.g. --shard 0/4 ... 3/4.")
    return i, n


def iter_input(path: str | os.PathLike, *, chunk: int = 10_000, max_length: int | None = None,
               shard: tuple[int, int] | None = None, id_col: str | None = None, seq_col: str | None = None):
    """Sequences of a file, ``chunk`` at a time (Datasets), in file order, so that memory does not grow with the
    input: FASTA is read record by record (only the ids seen so far are kept, to refuse duplicates); tables and
    Parquet are read whole and then cut. ``shard=(i, n)`` keeps records i, i + n, i + 2n ... (record order), so n
    jobs of a scheduler (a SLURM array, Nextflow) split one input between them."""
    from rnalabel.io.fasta import iter_fasta

    if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1:
        raise InputError(f"chunk must be a whole number of at least 1, got {chunk!r}.")
    p = Path(path)
    if not p.exists():
        raise InputError("file not found.", path=p, remedy="check the path.")
    name = _suffix(p)
    table = name.endswith((".parquet", ".pq")) or (name.endswith((".csv", ".tsv", ".txt")) and not _looks_like_fasta(p))
    if table:
        ds = read_input(p, max_length=max_length, id_col=id_col, seq_col=seq_col)
        idx = np.arange(len(ds)) if shard is None else np.arange(shard[0], len(ds), shard[1])
        for a in range(0, len(idx), chunk):
            yield ds.subset(idx[a:a + chunk])
        return
    ids: list[str] = []
    seqs: list[str] = []
    for k, rec in enumerate(iter_fasta(p, max_length=max_length)):
        if shard is not None and k % shard[1] != shard[0]:
            continue
        ids.append(rec.id)
        seqs.append(rec.sequence)
        if len(ids) == chunk:
            yield Dataset.from_sequences(ids, seqs, provenance={"source": str(p), "format": "fasta"})
            ids, seqs = [], []
    if ids:
        yield Dataset.from_sequences(ids, seqs, provenance={"source": str(p), "format": "fasta"})


def _looks_like_fasta(path: Path) -> bool:
    """True when the first non-blank line of ``path`` starts with '>' (a FASTA file, whatever its name)."""
    from rnalabel.io.fasta import open_text

    try:
        with open_text(path) as fh:
            for line in fh:
                if line.strip():
                    return line.lstrip().startswith(">")
    except (UnicodeDecodeError, OSError, EOFError):
        return False
    return False
