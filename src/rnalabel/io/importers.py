"""Readers for the public benchmark formats (the layouts under ``../shared/data``).

* RBP-31 (iONMF): gzipped FASTA ``datasets/clip/<exp>/30000/{training,test}_sample_0/sequences.fa.gz`` with
  headers ``> chr1,+,866159,866259; class:0``. :func:`read_rbp31_fasta`, :func:`read_rbp31`.
* ENCODE eCLIP per-RBP files ``eCLIP_Data/<RBP>_<cell>.gz`` and DeepMiRBP ``Data/RBP-Data/<RBP>.both.fa.gz``:
  headerless lines ``SEQ<TAB or space>label`` (101-nt DNA, label 1/0). Despite its ``.fa`` name the DeepMiRBP
  file is not FASTA; it is the same two-column format. :func:`read_seq_labels`, :func:`read_eclip`.
* The miRNA localization CSV (``id,name,seq,Exosome,...,Nucleus``): :func:`read_mirna_localization`.

DNA is normalised to RNA (upper case, T -> U). Malformed lines raise :class:`~rnalabel.errors.InputError` with
the file and 1-based line.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rnalabel.data import Dataset
from rnalabel.errors import InputError, LabelError, SequenceError
from rnalabel.io._common import file_stem, read_text, validate_many
from rnalabel.io.fasta import iter_fasta

RBP31_PARTS = {"train": "training_sample_0", "test": "test_sample_0"}
RBP31_FILE = "sequences.fa.gz"
MIRLOC_LABELS = ("Exosome", "Cytoplasm", "Mitochondrion", "Microvesicle", "Circulating", "Nucleus")
#: the four compartments of MMLmiRLocNet
MMLMIRLOC_LABELS = ("Nucleus", "Exosome", "Cytoplasm", "Microvesicle")
_CLASS = re.compile(r"class:\s*([^\s;,]*)")
_LABEL_VALUES = {"1": 1, "0": 0, "1.0": 1, "0.0": 0}


@dataclass(frozen=True)
class SeqLabels:
    """Sequences with one 0/1 label each, as read from one file (no Dataset built yet).

    Attributes
    ----------
    ids : list of str, length N
    sequences : list of str, length N
        Normalised RNA.
    labels : numpy.ndarray, shape=(N,), dtype=int8
        1 bound, 0 not bound.
    lines : numpy.ndarray, shape=(N,), dtype=int64
        1-based line of each record (its header line for FASTA).
    path : str
    """

    ids: list[str]
    sequences: list[str]
    labels: np.ndarray
    lines: np.ndarray
    path: str

    def __len__(self) -> int:
        return len(self.sequences)

    def to_dataset(self, label: str, *, split: str | None = None, provenance: dict | None = None) -> Dataset:
        """One-label :class:`Dataset` named ``label``; ``split`` (train/val/test) for every row if given."""
        return Dataset.from_sequences(
            self.ids, self.sequences, self.labels.astype(np.float32)[:, None], [label],
            split=None if split is None else [split] * len(self), provenance=provenance,
        )


# RBP-31 -----------------------------------------------------------------------------------------------------
def read_rbp31_fasta(path: str | os.PathLike, *, prefix: str = "") -> SeqLabels:
    """One RBP-31 ``sequences.fa.gz``: records with ``class:0|1`` in the header.

    Parameters
    ----------
    path : path
        The FASTA file (plain or gzip).
    prefix : str
        Prepended to the ids. Default is "" (ids are ``<index>:<chr,strand,start,end>``).

    Returns
    -------
    SeqLabels
        Ids ``<prefix><index>:<chr,strand,start,end>`` with the 0-based record index, so they are unique even
        when two records share coordinates.

    Raises
    ------
    InputError
        A header without ``class:0`` or ``class:1``, or any FASTA error (see :func:`rnalabel.io.iter_fasta`).
    """
    p = Path(path)
    fast = _rbp31_fast(p, prefix)
    if fast is not None:
        return fast
    ids, seqs, labels, lines = [], [], [], []  # the reference reader: slower, names the bad line
    for i, rec in enumerate(iter_fasta(p)):
        m = _CLASS.search(rec.description) or _CLASS.search(rec.id)
        value = _LABEL_VALUES.get(m.group(1)) if m else None
        if value is None:
            shown = f"{rec.id} {rec.description}".strip()
            raise InputError(f"header {shown!r} has no 'class:0' or 'class:1'.", path=p, line=rec.line,
                             remedy="give RBP-31 headers like '> chr1,+,866159,866259; class:1'.")
        coords = rec.id.rstrip(";")
        ids.append(f"{prefix}{i}:{coords}")
        seqs.append(rec.sequence)
        labels.append(value)
        lines.append(rec.line)
    return SeqLabels(ids, seqs, np.asarray(labels, dtype=np.int8), np.asarray(lines, dtype=np.int64), str(p))


def _rbp31_fast(p: Path, prefix: str) -> SeqLabels | None:
    """:func:`read_rbp31_fasta` by whole-text splitting (6x faster); None for anything unusual, so the caller
    re-reads with :func:`rnalabel.io.iter_fasta`, which reports the problem with its line."""
    text = read_text(p, what="a FASTA file")
    body = text.lstrip()
    if not body.startswith(">") or "\x00" in body:
        return None
    line = 1 + text[: len(text) - len(body)].count("\n")
    ids, seqs, labels, lines = [], [], [], []
    seen: set[str] = set()
    for i, rec in enumerate(body[1:].split("\n>")):
        head, _, seq_part = rec.partition("\n")
        words = head.split(None, 1)
        m = _CLASS.search(head)
        value = _LABEL_VALUES.get(m.group(1)) if m else None
        seq = "".join(seq_part.split())
        if not words or value is None or not seq or words[0] in seen:
            return None
        seen.add(words[0])
        ids.append(f"{prefix}{i}:{words[0].rstrip(';')}")
        seqs.append(seq)
        labels.append(value)
        lines.append(line)
        line += rec.count("\n") + 1
    try:
        seqs = validate_many(seqs, path=p, lines=lines)
    except SequenceError:
        return None
    return SeqLabels(ids, seqs, np.asarray(labels, dtype=np.int8), np.asarray(lines, dtype=np.int64), str(p))


def rbp31_short_name(folder: str) -> str:
    """Short label name for an RBP-31 experiment folder.

    ``_hg19`` is dropped; names still longer than 24 characters keep their first three ``_``-separated parts
    (the number keeps them unique): ``18_ICLIP_hnRNPL_Hela_group_3975_...`` -> ``18_ICLIP_hnRNPL``,
    ``23_PARCLIP_PUM2_hg19`` -> ``23_PARCLIP_PUM2``.
    """
    name = folder[:-5] if folder.endswith("_hg19") else folder
    if len(name) > 24:
        name = "_".join(name.split("_")[:3])
    return name


def read_rbp31(source: str | os.PathLike, *, parts: Sequence[str] = ("train", "test")) -> Dataset:
    """One RBP-31 experiment folder (both parts) or one of its ``sequences.fa.gz`` files, as a Dataset.

    Parameters
    ----------
    source : path
        An experiment folder ``datasets/clip/<exp>`` (holding ``30000/``) or a single ``sequences.fa.gz``.
    parts : sequence of str
        With a folder, which published parts to read: "train" (``training_sample_0``) and/or "test"
        (``test_sample_0``). Default is both.

    Returns
    -------
    Dataset
        One label named by :func:`rbp31_short_name` of the experiment folder; ids
        ``<label>:<train|test>:<index>:<chr,strand,start,end>``; ``split`` "train"/"test" from the folder of each
        file (None for a single file outside the published layout). Provenance names the folder.
    """
    src = Path(source)
    if not src.exists():
        raise InputError("file or folder not found.", path=src, remedy="check the path.")
    if src.is_file():
        part = next((k for k, v in RBP31_PARTS.items() if src.parent.name == v), None)
        exp_dir = src.parent.parent.parent if part else None
        folder = exp_dir.name if exp_dir is not None else file_stem(src)
        files = [(part, src)]
    else:
        exp_dir = src
        folder = src.name
        for part in parts:
            if part not in RBP31_PARTS:
                raise InputError(f"unknown RBP-31 part {part!r}.", remedy="choose 'train' and/or 'test'.")
        files = [(part, src / "30000" / RBP31_PARTS[part] / RBP31_FILE) for part in parts]
        for _, f in files:
            if not f.exists():
                raise InputError(f"not an RBP-31 experiment folder: {f.relative_to(src)} is missing.", path=src,
                                 remedy="give datasets/clip/<experiment> from the iONMF/iDeepS layout.")
    label = rbp31_short_name(folder)
    reads = [(part, read_rbp31_fasta(f, prefix=f"{label}:{part or 'all'}:")) for part, f in files]
    ids = [i for _, r in reads for i in r.ids]
    seqs = [s for _, r in reads for s in r.sequences]
    y = np.concatenate([r.labels for _, r in reads]).astype(np.float32)[:, None]
    split = None if any(part is None for part, _ in reads) else [p for p, r in reads for _ in range(len(r))]
    counts = {part or "all": {"n": len(r), "positive": int(r.labels.sum())} for part, r in reads}
    return Dataset.from_sequences(
        ids, seqs, y, [label], split=split,
        provenance={"source": str(src), "format": "rbp31", "experiment": folder, "label": label,
                    "counts": counts},
    )


_WS = np.zeros(256, dtype=bool)
for _c in b" \t\n\r\v\f":
    _WS[_c] = True


def _split_pairs_fast(data: str) -> tuple[list[str], np.ndarray, np.ndarray] | None:
    """Vectorised parse of ``SEQ label`` lines; None when any line is not exactly two fields with a 0/1 label.

    Tokens come from one ``str.split()``; their lines from a byte scan. When the two disagree (e.g. Unicode
    whitespace) or a line has other than two fields or a label is not 0/1, the caller falls back to the
    line-by-line parser, which names the bad line.
    """
    import pandas as pd

    fields = data.split()
    b = np.frombuffer(data.encode("ascii", "replace"), dtype=np.uint8)
    ws = _WS[b]
    starts = ~ws
    starts[1:] &= ws[:-1]
    line_of = np.cumsum(b == 10)[starts]  # 0-based line of each token
    if len(line_of) != len(fields) or len(fields) % 2:
        return None
    per_line = np.bincount(line_of)
    if not np.all((per_line == 0) | (per_line == 2)):
        return None
    codes, uniques = pd.factorize(np.asarray(fields[1::2], dtype=object))
    values = [_LABEL_VALUES.get(u) for u in uniques]
    if any(v is None for v in values):
        return None
    labels = np.asarray(values, dtype=np.int8)[codes] if len(codes) else np.zeros(0, dtype=np.int8)
    return fields[0::2], labels, line_of[0::2] + 1


def _split_pairs_slow(data: str, text: str, p: Path) -> tuple[list[str], list[int], list[int]]:
    """Line-by-line parse of ``SEQ label`` lines, raising InputError at the first malformed line."""
    seqs: list[str] = []
    labels: list[int] = []
    linenos: list[int] = []
    for lineno, line in enumerate(data.split("\n"), start=1):
        f = line.split()
        if not f:
            continue
        if len(f) != 2:
            raise InputError(f"expected 2 fields (sequence and label), found {len(f)}.", path=p, line=lineno,
                             remedy="give one 'SEQUENCE<TAB>0|1' per line.")
        value = _LABEL_VALUES.get(f[1])
        if value is None:
            raw = text.split("\n")[lineno - 1].split()[1]
            raise InputError(f"label {raw!r} is not 0 or 1.", path=p, line=lineno,
                             remedy="give one 'SEQUENCE<TAB>0|1' per line.")
        seqs.append(f[0])
        labels.append(value)
        linenos.append(lineno)
    return seqs, labels, linenos


# eCLIP / DeepMiRBP seq-label lines ----------------------------------------------------------------------
def read_seq_labels(path: str | os.PathLike, *, prefix: str = "") -> SeqLabels:
    """A ``SEQ<TAB or spaces>label`` file (eCLIP, DeepMiRBP ``*.both.fa``), plain or gzip; a first line that is a
    header (two words, the first not a sequence, the second not a label) is skipped.

    Parameters
    ----------
    path : path
    prefix : str
        Prepended to the ids. Default is "" (ids are the 1-based line numbers).

    Returns
    -------
    SeqLabels
        Ids ``<prefix><line>``; duplicate sequences are kept (the files have no ids to tell them apart).

    Raises
    ------
    InputError
        A line without exactly two fields, or a label other than 0/1 (with the line).
    SequenceError
        Characters outside IUPAC or an empty sequence (with the line).
    """
    p = Path(path)
    text = read_text(p, what="a 'sequence<TAB>label' file")
    if "\x00" in text:
        raise InputError("not a text file (contains NUL bytes).", path=p,
                         remedy="give 'sequence<TAB>label' lines, plain or gzip-compressed.")
    # normalise the whole text at once: labels are digits, so upper-casing and T -> U leave them alone
    data = text.upper().replace("T", "U")
    first, nl, rest = data.partition("\n")
    head = first.split()
    if len(head) == 2 and head[1] not in _LABEL_VALUES and not set(head[0]) <= set("ACGUNRYSWKMBDHV"):
        data = nl + rest  # a header line (DeepMiRBP's 'miRNA_seq_processed label'): skipped, lines keep their numbers
    parsed = _split_pairs_fast(data)
    seqs, labels, linenos = parsed if parsed is not None else _split_pairs_slow(data, text, p)
    if not seqs:
        raise InputError("no 'sequence<TAB>label' lines found.", path=p,
                         remedy="give one 'SEQUENCE<TAB>0|1' per line.")
    seqs = validate_many(seqs, path=p, lines=linenos, normalized=True)
    ids = [f"{prefix}{n}" for n in linenos]
    return SeqLabels(ids, seqs, np.asarray(labels, dtype=np.int8), np.asarray(linenos, dtype=np.int64), str(p))


def read_eclip(path: str | os.PathLike, *, label: str | None = None) -> Dataset:
    """One eCLIP (or DeepMiRBP ``*.both.fa``) file as a one-label Dataset.

    Parameters
    ----------
    path : path
    label : str, optional
        Label name. Default is the file stem (``AARS_K562.gz`` -> ``AARS_K562``, ``AGO1.both.fa.gz`` -> ``AGO1``).

    Returns
    -------
    Dataset
        Ids ``<label>:<line>``; no split.
    """
    name = label or file_stem(path)
    sl = read_seq_labels(path, prefix=f"{name}:")
    return sl.to_dataset(name, provenance={
        "source": str(path), "format": "eclip", "label": name,
        "counts": {"n": len(sl), "positive": int(sl.labels.sum())},
    })


# miRNA localization ---------------------------------------------------------------------------------------
def read_mirna_localization(path: str | os.PathLike, *, labels: Sequence[str] | None = None) -> Dataset:
    """The MirLocPredictor miRNA localization CSV (``id,name,seq,Exosome,...,Nucleus``).

    Parameters
    ----------
    path : path
        ``mirlocpredictor_dev.csv``.
    labels : sequence of str, optional
        Compartments to keep, in this order. Default is all six (:data:`MIRLOC_LABELS`);
        :data:`MMLMIRLOC_LABELS` gives the four of MMLmiRLocNet.

    Returns
    -------
    Dataset
        Ids are the miRNA names (``hsa-miR-363-3p``); mature sequences, 16-27 nt; no split.
    """
    from rnalabel.io.tables import read_table

    unknown = [c for c in labels or () if c not in MIRLOC_LABELS]
    if unknown:  # the table's other columns (id, name, seq) are not compartments
        raise LabelError(f"no compartment {unknown[0]!r} in the miRNA localization table.", path=path,
                         remedy="choose among: " + ", ".join(MIRLOC_LABELS) + ".")
    ds = read_table(path, id_col="name", seq_col="seq", label_cols=list(labels or MIRLOC_LABELS))
    ds.provenance.update({"format": "mirloc", "source": str(path)})
    return ds


# one entry point ----------------------------------------------------------------------------------------------
IMPORT_FORMATS = ("fasta", "table", "bed", "rbp31", "eclip", "deepmirbp", "mirloc")


def import_dataset(
    fmt: str,
    source: str | os.PathLike,
    *,
    genome: str | os.PathLike | None = None,
    flank: int = 0,
    label_table: str | os.PathLike | None = None,
    id_col: str = "id",
    seq_col: str = "sequence",
    labels: Sequence[str] | None = None,
    max_length: int | None = None,
) -> Dataset:
    """Read one file (or RBP-31 experiment folder) in a named format (what ``rnalabel data import`` runs).

    Parameters
    ----------
    fmt : str
        One of :data:`IMPORT_FORMATS`: "fasta", "table" (CSV/TSV/Parquet), "bed" (needs ``genome``),
        "rbp31" (experiment folder or ``sequences.fa.gz``), "eclip" / "deepmirbp" (``SEQ label`` lines),
        "mirloc" (the miRNA localization CSV).
    source : path
    genome : path, optional
        Genome FASTA for "bed". Default is None.
    flank : int
        "bed" only: nt added on both sides. Default is 0.
    label_table : path, optional
        "fasta" only: a label table joined by id (:func:`rnalabel.io.tables.attach_labels`). Default is None.
    id_col, seq_col : str
        "table" (and ``label_table``): column names. Defaults are "id" and "sequence".
    labels : sequence of str, optional
        "table": label columns; "mirloc": compartments. Default is all.
    max_length : int, optional
        "fasta", "table": refuse longer sequences. Default is None.

    Returns
    -------
    Dataset
        With ``provenance`` holding source, format, import date (UTC) and counts (sequences, per-label
        positives/negatives/unknowns).
    """
    import datetime as dt

    from rnalabel.io.bed import read_bed_sequences
    from rnalabel.io.fasta import read_fasta_dataset
    from rnalabel.io.tables import attach_labels, read_table

    if fmt not in IMPORT_FORMATS:
        raise InputError(f"unknown format {fmt!r}.", remedy=f"choose one of {', '.join(IMPORT_FORMATS)}.")
    if genome is not None and fmt != "bed":
        raise InputError("--genome is only for the bed format.", remedy="drop --genome or use bed.")
    if label_table is not None and fmt != "fasta":
        raise InputError("--label-table is only for the fasta format.", remedy="drop --label-table.")
    if fmt == "fasta":
        ds = read_fasta_dataset(source, max_length=max_length)
        if label_table is not None:
            ds = attach_labels(ds, label_table, id_col=id_col, label_cols=labels)
    elif fmt == "table":
        ds = read_table(source, id_col=id_col, seq_col=seq_col, label_cols=labels, max_length=max_length)
    elif fmt == "bed":
        if genome is None:
            raise InputError("the bed format needs a genome FASTA.", path=source,
                             remedy="pass --genome GENOME.fa (uncompressed or bgzip).")
        ds = read_bed_sequences(source, genome, flank=flank)
    elif fmt == "rbp31":
        ds = read_rbp31(source)
    elif fmt in ("eclip", "deepmirbp"):
        ds = read_eclip(source)
    else:
        ds = read_mirna_localization(source, labels=labels)
    ds.provenance.update({
        "source": str(source), "format": fmt,
        "imported": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "counts": {"sequences": len(ds), "labels": ds.label_counts()},
    })
    return ds
