"""Sequences of BED intervals cut from a genome FASTA (via pyfaidx), strand-aware.

BED coordinates are 0-based, half-open: ``chr1 10 20`` is the 10 nt at 1-based positions 11..20. Intervals on
the minus strand come back reverse-complemented, so every sequence reads 5' -> 3' on its RNA. The genome index
(``.fai``) is built next to the FASTA when that folder is writable, otherwise in a temporary folder.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from rnalabel.data import Dataset
from rnalabel.data.files import cache_root
from rnalabel.data.sequence import reverse_complement, validate
from rnalabel.errors import InputError
from rnalabel.io._common import read_text

_SKIP = ("#", "track", "browser")


@dataclass(frozen=True)
class BedInterval:
    """One BED line.

    Attributes
    ----------
    chrom : str
    start, end : int
        0-based, half-open.
    name : str
        Fourth column, or "" when absent or ".".
    strand : str
        "+", "-" or "." (unstranded, read as +).
    line : int
        1-based line in the BED file.
    """

    chrom: str
    start: int
    end: int
    name: str
    strand: str
    line: int


def read_bed(path: str | os.PathLike) -> list[BedInterval]:
    """Parse a BED file (3 to 12 columns, tab- or space-separated; ``#``, ``track``, ``browser`` lines skipped).

    Raises
    ------
    InputError
        Fewer than 3 columns, non-integer or negative coordinates, ``end <= start``, a strand other than
        ``+``, ``-``, ``.``, or no intervals at all.
    """
    p = Path(path)
    out: list[BedInterval] = []
    for lineno, line in enumerate(read_text(p, what="a BED file").splitlines(), start=1):
        if not line.strip() or line.startswith(_SKIP):
            continue
        f = line.split("\t") if "\t" in line else line.split()
        f = [x.strip() for x in f]
        if len(f) < 3:
            raise InputError(f"BED line has {len(f)} column(s); at least chrom, start, end are needed.",
                             path=p, line=lineno, remedy="give tab-separated chrom, start, end (0-based).")
        try:
            start, end = int(f[1]), int(f[2])
        except ValueError:
            raise InputError(f"start {f[1]!r} and end {f[2]!r} must be integers.", path=p, line=lineno,
                             remedy="give 0-based integer coordinates.") from None
        if start < 0 or end <= start:
            raise InputError(f"interval {start}-{end} is empty or negative (BED is 0-based, half-open).",
                             path=p, line=lineno, remedy="give 0 <= start < end.")
        name = f[3] if len(f) > 3 and f[3] != "." else ""
        strand = f[5] if len(f) > 5 else "."
        if strand not in ("+", "-", "."):
            raise InputError(f"strand {strand!r} is not +, - or '.'.", path=p, line=lineno,
                             remedy="put the strand in column 6.")
        out.append(BedInterval(f[0], start, end, name, strand, lineno))
    if not out:
        raise InputError("no BED intervals found.", path=p, remedy="give lines 'chrom<TAB>start<TAB>end'.")
    return out


def _open_genome(genome: Path):
    import pyfaidx

    if not genome.exists():
        raise InputError("genome FASTA not found.", path=genome, remedy="check the path.")
    index = Path(str(genome) + ".fai")
    if not index.exists() and not os.access(genome.parent, os.W_OK):
        # the genome's folder is read-only: the index goes to the user's own cache (not a shared /tmp folder)
        key = hashlib.sha1(str(genome.resolve()).encode()).hexdigest()[:16]
        folder = cache_root() / "faidx"
        try:
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise InputError(f"cannot make the genome index folder {folder} ({exc.strerror or exc}).", path=genome,
                             remedy="set RNALABEL_CACHE to a writable folder.") from None
        index = folder / f"{key}.fai"
    try:
        return pyfaidx.Fasta(str(genome), indexname=str(index), as_raw=True, sequence_always_upper=True,
                             read_ahead=10000)
    except pyfaidx.UnsupportedCompressionFormat:
        raise InputError("the genome is gzip-compressed but not with bgzip.", path=genome,
                         remedy="decompress it, or recompress it with `bgzip`.") from None
    except (pyfaidx.FastaIndexingError, ValueError, UnicodeDecodeError, OSError) as exc:
        raise InputError(f"cannot index the genome FASTA ({exc}).", path=genome,
                         remedy="give an uncompressed or bgzip-compressed FASTA genome.") from None


def read_bed_sequences(
    bed_path: str | os.PathLike,
    genome_fasta: str | os.PathLike,
    *,
    flank: int = 0,
) -> Dataset:
    """Cut the sequence of every BED interval from a genome, reverse-complementing minus-strand intervals.

    Parameters
    ----------
    bed_path : path
        BED file (plain or gzip), 0-based half-open; strand in column 6 (``.`` or missing = plus).
    genome_fasta : path
        Genome FASTA (uncompressed or bgzip), indexed with pyfaidx.
    flank : int
        Extend every interval by this many nt on both sides. Default is 0.

    Returns
    -------
    Dataset
        Unlabelled, one row per interval, RNA alphabet. Ids are the BED name when given, else
        ``chrom:start-end:strand`` (BED coordinates before flanking); a repeated id gets ``:line<N>`` appended.

    Raises
    ------
    InputError
        A malformed BED line, a chromosome missing from the genome, or an interval (with its flanks) beyond
        either end of its chromosome, each with the BED line number.
    """
    if flank < 0:
        raise InputError(f"flank must be >= 0, not {flank}.", remedy="give a non-negative flank.")
    bed, genome = Path(bed_path), Path(genome_fasta)
    intervals = read_bed(bed)
    fa = _open_genome(genome)
    ids: list[str] = []
    seqs: list[str] = []
    seen: set[str] = set()
    try:
        for iv in intervals:
            if iv.chrom not in fa:
                known = ", ".join(list(fa.keys())[:8])
                raise InputError(f"chromosome {iv.chrom!r} is not in the genome {genome.name} (it has {known}).",
                                 path=bed, line=iv.line, remedy="use the genome the BED file was made for.")
            size = len(fa[iv.chrom])
            start, end = iv.start - flank, iv.end + flank
            if start < 0 or end > size:
                raise InputError(
                    f"interval {iv.chrom}:{start}-{end} (flank {flank}) runs off {iv.chrom}, which is {size} nt.",
                    path=bed, line=iv.line, remedy="fix the coordinates or reduce the flank.",
                )
            s = fa[iv.chrom][start:end]
            s = reverse_complement(s) if iv.strand == "-" else s
            rid = iv.name or f"{iv.chrom}:{iv.start}-{iv.end}:{iv.strand}"
            if rid in seen:
                rid = f"{rid}:line{iv.line}"
            seen.add(rid)
            ids.append(rid)
            seqs.append(validate(s, name=rid, path=str(bed), line=iv.line))
    finally:
        fa.close()
    return Dataset.from_sequences(
        ids, seqs,
        provenance={"source": str(bed), "genome": str(genome), "format": "bed", "flank": flank,
                    "n_intervals": len(ids)},
    )
