"""Public-format readers: RBP-31 FASTA, eCLIP/DeepMiRBP seq-label lines, miRNA localization CSV."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

import rnalabel.io.importers as imp
from rnalabel.errors import InputError, LabelError, SequenceError
from rnalabel.io.importers import (
    MMLMIRLOC_LABELS,
    import_dataset,
    rbp31_short_name,
    read_eclip,
    read_mirna_localization,
    read_rbp31,
    read_rbp31_fasta,
    read_seq_labels,
)
from tests.fake_layouts import MIRLOC_CSV, write_rbp31

A101 = "ACGT" * 25 + "A"


def _gz(tmp_path, text: str, name: str):
    p = tmp_path / name
    p.write_bytes(gzip.compress(text.encode()))
    return p


# RBP-31 -----------------------------------------------------------------------------------------------------
def test_rbp31_fasta_header_class_and_ids(tmp_path):
    p = _gz(tmp_path, f"> chr1,+,10,111; class:1\n{A101[:60]}\n{A101[60:]}\n> chr2,-,5,106; class:0\n"
                      f"{A101.lower()}\n", "sequences.fa.gz")
    sl = read_rbp31_fasta(p, prefix="e:train:")
    assert sl.ids == ["e:train:0:chr1,+,10,111", "e:train:1:chr2,-,5,106"]
    assert sl.labels.tolist() == [1, 0] and sl.lines.tolist() == [1, 4]
    assert sl.sequences == [A101.replace("T", "U")] * 2


def _slow(monkeypatch):
    monkeypatch.setattr(imp, "_rbp31_fast", lambda p, prefix: None)


@pytest.mark.parametrize("force_slow", [False, True])
def test_rbp31_errors_name_the_line(tmp_path, monkeypatch, force_slow):
    if force_slow:
        _slow(monkeypatch)
    p = _gz(tmp_path, "> chr1,+,1,5; class:1\nACGU\n> chr1,+,6,9; class:maybe\nACGU\n", "a.fa.gz")
    with pytest.raises(InputError) as e:
        read_rbp31_fasta(p)
    assert e.value.line == 3 and "class:0" in str(e.value)
    p = _gz(tmp_path, "> chr1,+,1,5; class:1\nACGU\n> chr1,+,6,9; class:0\nACGU\nAC!U\n", "b.fa.gz")
    with pytest.raises(SequenceError) as e:
        read_rbp31_fasta(p)
    assert e.value.line == 5
    p = _gz(tmp_path, "ACGU\n> chr1,+,1,5; class:1\nACGU\n", "c.fa.gz")
    with pytest.raises(InputError, match="before the first") as e:
        read_rbp31_fasta(p)
    assert e.value.line == 1


def test_rbp31_fast_and_reference_readers_agree(tmp_path, monkeypatch):
    text = "\n> chr1,+,1,5; class:1\nACGT\n\nTT\n>chr1,-,6,9;  class:0\nNNAC\n"
    p = _gz(tmp_path, text, "s.fa.gz")
    fast = read_rbp31_fasta(p, prefix="x:")
    _slow(monkeypatch)
    ref = read_rbp31_fasta(p, prefix="x:")
    assert fast.ids == ref.ids and fast.sequences == ref.sequences
    assert fast.labels.tolist() == ref.labels.tolist() and fast.lines.tolist() == ref.lines.tolist() == [2, 6]


def test_rbp31_short_names():
    assert rbp31_short_name("23_PARCLIP_PUM2_hg19") == "23_PARCLIP_PUM2"
    assert rbp31_short_name("14_PARCLIP_FUS_mut_hg19") == "14_PARCLIP_FUS_mut"
    assert rbp31_short_name("6_CLIP-seq-eIF4AIII_1") == "6_CLIP-seq-eIF4AIII_1"
    long = "18_ICLIP_hnRNPL_Hela_group_3975_all-hnRNPL-Hela-hg19_sum_G_hg19--ensembl59_from_2337-2339-741_bedGraph"
    assert rbp31_short_name(long) == "18_ICLIP_hnRNPL"


def test_read_rbp31_folder_and_single_file(tmp_path):
    write_rbp31(tmp_path, {"5_CLIPSEQ_AGO2_hg19": {"train": [("ACGT", 1), ("GGGG", 0)], "test": [("CCCC", 1)]}})
    exp = tmp_path / "datasets" / "clip" / "5_CLIPSEQ_AGO2_hg19"
    ds = read_rbp31(exp)
    assert ds.label_names == ["5_CLIPSEQ_AGO2"] and ds.split.tolist() == ["train", "train", "test"]
    assert ds.ids[2] == "5_CLIPSEQ_AGO2:test:0:chr1,+,1000,1004"
    assert ds.labels[:, 0].tolist() == [1, 0, 1] and ds.provenance["experiment"] == "5_CLIPSEQ_AGO2_hg19"
    one = read_rbp31(exp / "30000" / "test_sample_0" / "sequences.fa.gz")
    assert one.split.tolist() == ["test"] and one.label_names == ["5_CLIPSEQ_AGO2"]
    with pytest.raises(InputError, match="not an RBP-31 experiment folder"):
        read_rbp31(tmp_path)


# eCLIP / DeepMiRBP -------------------------------------------------------------------------------------------
def test_eclip_lines(tmp_path):
    p = _gz(tmp_path, f"{A101}\t1\n\n{A101.lower()}\t0\n", "PUM2_K562.gz")
    ds = read_eclip(p)
    assert ds.label_names == ["PUM2_K562"] and ds.ids.tolist() == ["PUM2_K562:1", "PUM2_K562:3"]
    assert ds.labels[:, 0].tolist() == [1, 0] and ds.sequences == [A101.replace("T", "U")] * 2


def test_deepmirbp_space_separated_fa_name(tmp_path):
    p = _gz(tmp_path, "ACGU 0\nUUUU 1\n", "AGO1.both.fa.gz")
    ds = read_eclip(p)
    assert ds.label_names == ["AGO1"] and ds.labels[:, 0].tolist() == [0, 1]


def test_seq_label_file_with_a_header_line(tmp_path):
    """DeepMiRBP's clean_miRNA_original.txt starts with 'miRNA_seq_processed<TAB>label': skipped as a header;
    line numbers still count it, and a bad label further down is still an error."""
    r = read_seq_labels(_gz(tmp_path, "miRNA_seq_processed\tlabel\nTGAGGTAG\t1\nACGU\t0\n", "h.gz"))
    assert r.sequences == ["UGAGGUAG", "ACGU"] and list(r.labels) == [1, 0] and list(r.lines) == [2, 3]
    with pytest.raises(InputError) as e:
        read_seq_labels(_gz(tmp_path, "ACGU\t1\nfoo\tbar\n", "h2.gz"))
    assert e.value.line == 2


def test_eclip_errors_name_the_line(tmp_path):
    cases = [
        ("ACGT\t1\nACGT\t1\textra\n", InputError, 2, "found 3"),
        ("ACGT\t1\n\nACGT\n", InputError, 3, "found 1"),
        ("ACGT\t1\nACGT\tbound\n", InputError, 2, "'bound'"),
        ("ACGT\t1\nACGT\t1\nacxt\t0\n", SequenceError, 3, "'X'"),
    ]
    for text, err, line, needle in cases:
        with pytest.raises(err) as e:
            read_seq_labels(_gz(tmp_path, text, "bad.gz"))
        assert e.value.line == line and needle in str(e.value), text
    with pytest.raises(InputError, match="no 'sequence<TAB>label' lines"):
        read_seq_labels(_gz(tmp_path, "\n\n", "empty.gz"))
    b = tmp_path / "bin.gz"
    b.write_bytes(b"\x00\x01\x02ACGT\t1\n")
    with pytest.raises(InputError):
        read_seq_labels(b)


def test_eclip_unicode_whitespace_takes_the_line_parser(tmp_path):
    p = _gz(tmp_path, "ACGT\u00a01\nGGGG\t0\n", "u.gz")  # no-break space: str.split() splits, bytes scan not
    sl = read_seq_labels(p)
    assert sl.sequences == ["ACGU", "GGGG"] and sl.labels.tolist() == [1, 0] and sl.lines.tolist() == [1, 2]


# miRNA localization ----------------------------------------------------------------------------------------
def test_mirna_localization(tmp_path):
    p = tmp_path / "m.csv"
    p.write_text(MIRLOC_CSV)
    ds = read_mirna_localization(p)
    assert ds.ids.tolist() == ["hsa-miR-1", "hsa-miR-2", "hsa-miR-3"] and ds.n_labels == 6
    four = read_mirna_localization(p, labels=MMLMIRLOC_LABELS)
    assert four.label_names == ["Nucleus", "Exosome", "Cytoplasm", "Microvesicle"]
    assert four.labels[0].tolist() == [1, 1, 0, 1] and four.provenance["format"] == "mirloc"
    with pytest.raises(LabelError, match="no compartment 'id'") as e:  # the table's id column is not a label
        read_mirna_localization(p, labels=["id"])
    assert "choose among: Exosome, Cytoplasm" in str(e.value) and "id," not in str(e.value.remedy)


def test_import_dataset_records_provenance_and_checks_options(tmp_path):
    p = tmp_path / "m.csv"
    p.write_text(MIRLOC_CSV)
    ds = import_dataset("mirloc", p)
    prov = ds.provenance
    assert prov["format"] == "mirloc" and prov["source"] == str(p) and prov["imported"]
    assert prov["counts"]["sequences"] == 3 and prov["counts"]["labels"]["Exosome"]["positive"] == 2
    with pytest.raises(InputError, match="unknown format"):
        import_dataset("genbank", p)
    with pytest.raises(InputError, match="needs a genome"):
        import_dataset("bed", p)
    with pytest.raises(InputError, match="only for the fasta"):
        import_dataset("table", p, label_table=p)


# real data (skipped when ../shared/data is absent) -----------------------------------------------------------
def test_real_rbp31_experiment(shared_data):
    ds = read_rbp31(shared_data / "rbp31" / "datasets" / "clip" / "23_PARCLIP_PUM2_hg19")
    c = ds.provenance["counts"]
    assert c == {"train": {"n": 30000, "positive": 6000}, "test": {"n": 10000, "positive": 2000}}
    assert ds.lengths.min() == ds.lengths.max() == 101 and ds.label_names == ["23_PARCLIP_PUM2"]
    assert len(set(ds.ids.tolist())) == len(ds)


def test_real_eclip_deepmirbp_and_mirloc(shared_data):
    ds = read_eclip(shared_data / "eclip" / "eCLIP_Data" / "AARS_K562.gz")
    assert len(ds) == 15000 and int(np.nansum(ds.labels)) == 5000
    ago1 = read_eclip(shared_data / "deepmirbp" / "Data" / "RBP-Data" / "AGO1.both.fa.gz")
    assert ago1.label_counts() == {"AGO1": {"positive": 2586, "negative": 2624, "unknown": 0}}
    ml = read_mirna_localization(shared_data / "mirna_localization" / "mirlocpredictor_dev.csv")
    assert len(ml) == 840 and ml.label_counts()["Exosome"]["positive"] == 695
