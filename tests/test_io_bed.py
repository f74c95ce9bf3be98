"""BED intervals cut from a tiny genome: 0-based half-open coordinates, strand, flanks, errors with lines."""

from __future__ import annotations

import pytest

from rnalabel.errors import InputError
from rnalabel.io.bed import read_bed, read_bed_sequences

CHR1 = "ACGTACGTTTGGCCAAACGT"  # 20 nt
CHR2 = "GGGGGAAAAACCCCCTTTTT"


@pytest.fixture()
def genome(tmp_path):
    p = tmp_path / "genome.fa"
    p.write_text(f">chr1 test\n{CHR1[:12]}\n{CHR1[12:]}\n>chr2\n{CHR2.lower()}\n")
    return p


def _bed(tmp_path, text: str):
    p = tmp_path / "x.bed"
    p.write_text(text)
    return p


def test_plus_minus_and_unstranded(tmp_path, genome):
    bed = _bed(tmp_path, "track name=x\n#comment\nchr1\t0\t4\tfirst\t0\t+\nchr1\t8\t12\t.\t0\t-\nchr2\t5\t10\n")
    ds = read_bed_sequences(bed, genome)
    # chr1[8:12] = TTGG -> reverse complement CCAA; chr2 is soft-masked (lower case) in the FASTA
    assert ds.sequences == ["ACGU", "CCAA", "AAAAA"]
    assert ds.ids.tolist() == ["first", "chr1:8-12:-", "chr2:5-10:."]
    assert ds.provenance["format"] == "bed"


def test_minus_strand_is_reverse_complement(tmp_path, genome):
    ds = read_bed_sequences(_bed(tmp_path, "chr1\t10\t15\tx\t0\t-\nchr1\t10\t15\ty\t0\t+\n"), genome)
    plus = CHR1[10:15].replace("T", "U")
    comp = {"A": "U", "C": "G", "G": "C", "U": "A"}
    assert ds.sequences[1] == plus
    assert ds.sequences[0] == "".join(comp[c] for c in reversed(plus))


def test_flank_and_repeated_ids(tmp_path, genome):
    ds = read_bed_sequences(_bed(tmp_path, "chr2\t5\t10\tp\nchr2\t5\t10\tp\n"), genome, flank=2)
    assert ds.sequences == [CHR2[3:12].replace("T", "U")] * 2
    assert ds.ids.tolist() == ["p", "p:line2"]


def test_unknown_chromosome_names_the_bed_line(tmp_path, genome):
    with pytest.raises(InputError) as e:
        read_bed_sequences(_bed(tmp_path, "chr1\t0\t4\nchrX\t0\t4\n"), genome)
    assert e.value.line == 2 and "'chrX'" in str(e.value) and "x.bed:2" in str(e.value)


def test_interval_off_the_chromosome_end(tmp_path, genome):
    with pytest.raises(InputError) as e:
        read_bed_sequences(_bed(tmp_path, "chr1\t0\t4\n\nchr1\t15\t21\n"), genome)
    assert e.value.line == 3 and "20 nt" in str(e.value)
    with pytest.raises(InputError) as e:
        read_bed_sequences(_bed(tmp_path, "chr1\t1\t4\n"), genome, flank=2)
    assert e.value.line == 1


def test_malformed_lines(tmp_path):
    for text, needle in [("chr1\t5\n", "column"), ("chr1\tfive\t9\n", "integers"), ("chr1\t9\t9\n", "empty"),
                         ("chr1\t1\t9\tn\t0\t*\n", "strand"), ("#only a comment\n", "no BED intervals")]:
        with pytest.raises(InputError, match=needle) as e:
            read_bed(_bed(tmp_path, text))
        if "no BED" not in needle:
            assert e.value.line == 1


def test_missing_genome(tmp_path):
    with pytest.raises(InputError, match="genome FASTA not found"):
        read_bed_sequences(_bed(tmp_path, "chr1\t0\t4\n"), tmp_path / "none.fa")


def test_index_of_a_genome_in_a_read_only_folder_goes_to_the_users_cache(tmp_path, genome, monkeypatch):
    import os

    import rnalabel.io.bed as bed

    cache = tmp_path / "cache"
    monkeypatch.setenv("RNALABEL_CACHE", str(cache))
    monkeypatch.setattr(bed.os, "access", lambda p, mode: False)  # the genome's folder is read-only
    ds = read_bed_sequences(_bed(tmp_path, "chr1\t0\t4\n"), genome)
    assert len(ds) == 1
    idx = list((cache / "faidx").glob("*.fai"))
    assert len(idx) == 1 and not (genome.parent / "genome.fa.fai").exists()
    assert oct(os.stat(cache / "faidx").st_mode & 0o777) == oct(0o700)
