"""FASTA reading (plain or gzip, detected by content) and writing, with errors that give file and line."""

from __future__ import annotations

import gzip
import io
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from rnalabel.data import Dataset, atomic_path
from rnalabel.data.protein import ProteinSet, validate_protein
from rnalabel.data.sequence import validate as validate_rna
from rnalabel.errors import InputError, SequenceError

_VALIDATORS = {"rna": validate_rna, "protein": validate_protein}


@dataclass(frozen=True)
class FastaRecord:
    """One FASTA record.

    Attributes
    ----------
    id : str
        First word of the header.
    description : str
        The rest of the header line.
    sequence : str
        Normalised sequence (upper case; RNA: T -> U).
    line : int
        1-based line of the header.
    """

    id: str
    description: str
    sequence: str
    line: int


def open_text(path: str | os.PathLike) -> io.TextIOBase:
    """Open a text file that may be gzip-compressed (detected by its magic bytes, not its name); a UTF-8 byte-order
    mark at the start is dropped."""
    p = Path(path)
    if not p.exists():
        raise InputError("file not found.", path=p, remedy="check the path.")
    if p.is_dir():
        raise InputError("is a directory, not a file.", path=p)
    with open(p, "rb") as f:
        magic = f.read(2)
    if magic == b"\x1f\x8b":
        return io.TextIOWrapper(gzip.open(p, "rb"), encoding="utf-8-sig", newline=None)
    return open(p, encoding="utf-8-sig", newline=None)  # utf-8-sig: a byte-order mark is dropped


def iter_fasta(path: str | os.PathLike, *, max_length: int | None = None,
               alphabet: str = "rna") -> Iterator[FastaRecord]:
    """Yield the records of a FASTA file, validating as it goes.

    ``alphabet`` is ``"rna"`` (nucleotides, normalised to RNA: see :func:`rnalabel.data.sequence.validate`) or
    ``"protein"`` (see :func:`rnalabel.data.protein.validate_protein`). Default is "rna".

    Raises
    ------
    InputError
        Sequence data before the first header, a duplicate id, an unreadable or empty file.
    SequenceError
        An empty record, characters outside IUPAC, or a sequence over ``max_length``.
    """
    p = Path(path)
    if alphabet not in _VALIDATORS:
        raise InputError(f"unknown alphabet {alphabet!r}.", remedy="use rna or protein.")
    yield from _records(lambda: open_text(p), p, max_length=max_length, alphabet=alphabet)


def parse_fasta_text(text: str, *, source: str = "<text>", max_length: int | None = None,
                     alphabet: str = "rna") -> list[FastaRecord]:
    """The records of FASTA text (a web form, a request body), validated as :func:`iter_fasta` validates a file;
    errors name ``source`` and the line."""
    if alphabet not in _VALIDATORS:
        raise InputError(f"unknown alphabet {alphabet!r}.", remedy="use rna or protein.")
    return list(_records(lambda: io.StringIO(text.lstrip("\ufeff")), Path(source), max_length=max_length,
                         alphabet=alphabet))


def _records(opener, p: Path, *, max_length: int | None, alphabet: str) -> Iterator[FastaRecord]:
    validate = _VALIDATORS[alphabet]
    seen: dict[str, int] = {}
    header: tuple[str, str, int] | None = None
    chunks: list[str] = []
    chunk_lines: list[int] = []
    n = 0

    def finish() -> FastaRecord:
        rid, desc, hline = header  # type: ignore[misc]
        raw = "".join(chunks)
        if not raw:
            raise SequenceError(
                f"record {rid!r} has no sequence.", path=p, line=hline,
                remedy="remove the empty record or add its sequence.",
            )
        try:
            seq = validate(raw, name=rid, path=str(p), line=hline, max_length=max_length)
        except SequenceError as exc:
            # point at the line that holds the first bad character
            bad_line = hline
            for text, ln in zip(chunks, chunk_lines, strict=True):
                try:
                    validate(text, max_length=None)
                except SequenceError:
                    bad_line = ln
                    break
            raise SequenceError(exc.message, path=p, line=bad_line, remedy=exc.remedy) from None
        return FastaRecord(rid, desc, seq, hline)

    try:
        with opener() as fh:
            for lineno, line in enumerate(fh, start=1):
                line = line.strip()
                if not line:
                    continue
                if line.startswith(">"):
                    if header is not None:
                        yield finish()
                        n += 1
                    parts = line[1:].strip().split(None, 1)
                    if not parts:
                        raise InputError("header line has no id.", path=p, line=lineno,
                                         remedy="write an id after '>'.")
                    rid = parts[0]
                    if rid in seen:
                        raise InputError(
                            f"duplicate id {rid!r} (first seen on line {seen[rid]}).", path=p, line=lineno,
                            remedy="make record ids unique.",
                        )
                    seen[rid] = lineno
                    header = (rid, parts[1] if len(parts) > 1 else "", lineno)
                    chunks, chunk_lines = [], []
                elif header is None:
                    raise InputError(
                        "sequence data before the first '>' header.", path=p, line=lineno,
                        remedy="start the file with a header line such as '>seq1'.",
                    )
                else:
                    chunks.append(line)
                    chunk_lines.append(lineno)
            if header is not None:
                yield finish()
                n += 1
    except UnicodeDecodeError:
        raise InputError("not a text FASTA file (cannot decode as UTF-8).", path=p,
                         remedy="give a FASTA file, plain or gzip-compressed.") from None
    except (EOFError, gzip.BadGzipFile, OSError) as exc:
        if isinstance(exc, InputError):
            raise
        raise InputError(f"cannot read the file ({exc}).", path=p, remedy="check the file is complete.") from None
    if n == 0:
        raise InputError("no FASTA records found.", path=p, remedy="give a FASTA file with '>' headers.")


def read_fasta(path: str | os.PathLike, *, max_length: int | None = None, alphabet: str = "rna") -> list[FastaRecord]:
    """All records of a FASTA file (see :func:`iter_fasta`)."""
    return list(iter_fasta(path, max_length=max_length, alphabet=alphabet))


def read_protein_fasta(path: str | os.PathLike, *, max_length: int | None = None) -> ProteinSet:
    """A FASTA file of proteins as a :class:`~rnalabel.data.protein.ProteinSet` (validated as proteins)."""
    recs = read_fasta(path, max_length=max_length, alphabet="protein")
    return ProteinSet.from_sequences([r.id for r in recs], [r.sequence for r in recs],
                                     provenance={"source": str(path), "format": "fasta"})


def read_fasta_dataset(path: str | os.PathLike, *, max_length: int | None = None) -> Dataset:
    """A FASTA file as an unlabelled :class:`Dataset` (for prediction)."""
    recs = read_fasta(path, max_length=max_length)
    return Dataset.from_sequences(
        [r.id for r in recs], [r.sequence for r in recs],
        provenance={"source": str(path), "format": "fasta"},
    )


def write_fasta(path: str | os.PathLike, ids: Sequence[str], sequences: Sequence[str], *, width: int = 0) -> Path:
    """Write records atomically; ``width`` > 0 wraps sequence lines. Default is no wrapping."""
    lines = []
    for rid, s in zip(ids, sequences, strict=True):
        lines.append(f">{rid}")
        if width > 0:
            lines += [s[i:i + width] for i in range(0, len(s), width)]
        else:
            lines.append(s)
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text("\n".join(lines) + "\n")
    return path
