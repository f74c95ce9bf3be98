"""Reading and writing: FASTA, label tables, BED + genome, and importers for the public benchmark formats.

:func:`read_input` is what the CLI uses for "sequences in": it picks the reader from the file's content/suffix.
"""

from __future__ import annotations

import os
from pathlib import Path

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


def read_input(path: str | os.PathLike, *, max_length: int | None = None) -> Dataset:
    """Read sequences (and labels, if the file has them) from FASTA, a label table, or an rnalabel Parquet file.

    Parameters
    ----------
    path : path
        ``.fa/.fasta/.fna`` (optionally ``.gz``), ``.csv/.tsv`` label table, or ``.parquet``. A file whose first
        line starts with ``>`` is read as FASTA whatever its name.
    max_length : int, optional
        Refuse longer sequences. Default is None.
    """
    p = Path(path)
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

        return read_table(p, max_length=max_length)
    if name.endswith((".csv", ".tsv", ".txt")) and not _looks_like_fasta(p):
        from rnalabel.io.tables import read_table

        return read_table(p, max_length=max_length)
    return read_fasta_dataset(p, max_length=max_length)


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
