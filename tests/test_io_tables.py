"""Label tables: CSV/TSV/Parquet reading, label values, splits, label tables joined onto FASTA, errors."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from rnalabel.errors import InputError, LabelError, SequenceError
from rnalabel.io import read_fasta_dataset, read_input
from rnalabel.io.tables import attach_labels, read_labels, read_table

CSV = "id,sequence,PUM2,QKI\ns1,acgt,1,0\ns2,GGUU,,1\n\ns3,NNAC,0,\n"


def _write(tmp_path, text: str, name: str):
    p = tmp_path / name
    p.write_text(text)
    return p


def _check_csv_dataset(ds):
    assert ds.ids.tolist() == ["s1", "s2", "s3"]
    assert ds.sequences == ["ACGU", "GGUU", "NNAC"]
    assert ds.label_names == ["PUM2", "QKI"]
    np.testing.assert_array_equal(ds.labels, np.array([[1, 0], [np.nan, 1], [0, np.nan]], dtype=np.float32))
    assert ds.labels.dtype == np.float32 and ds.split is None


def test_csv(tmp_path):
    ds = read_table(_write(tmp_path, CSV, "t.csv"))
    _check_csv_dataset(ds)
    assert ds.provenance["format"] == "table"


def test_tsv_gz_and_sniffed_txt(tmp_path):
    tsv = CSV.replace(",", "\t")
    p = tmp_path / "t.tsv.gz"
    p.write_bytes(gzip.compress(tsv.encode()))
    _check_csv_dataset(read_table(p))
    _check_csv_dataset(read_table(_write(tmp_path, tsv, "t.txt")))
    _check_csv_dataset(read_input(_write(tmp_path, CSV.replace(",", ";"), "semi.txt")))


def test_plain_parquet(tmp_path):
    import pandas as pd

    df = pd.DataFrame({"id": ["s1", "s2", "s3"], "sequence": ["acgt", "GGUU", "NNAC"],
                       "PUM2": [1.0, np.nan, 0.0], "QKI": ["0", "1", ""]})
    p = tmp_path / "t.parquet"
    df.to_parquet(p)
    _check_csv_dataset(read_input(p))
    df["PUM2"] = [1.0, 2.0, 0.0]
    df.to_parquet(p)
    with pytest.raises(LabelError) as e:
        read_table(p)
    assert e.value.line == 2 and "'PUM2'" in str(e.value)


def test_na_spellings_and_float_labels(tmp_path):
    ds = read_table(_write(tmp_path, "id,sequence,a\nx,AC,1.0\ny,AC,NA\nz,AC,nan\nw,AC,0.0\n", "t.csv"))
    np.testing.assert_array_equal(ds.labels[:, 0], [1, np.nan, np.nan, 0])


def test_split_column_and_label_choice(tmp_path):
    text = "name,seq,split,a,b,note\nx,AC,train,1,0,hi\ny,GG,Test,0,1,there\nz,UU,val,,1,!\n"
    ds = read_table(_write(tmp_path, text, "t.csv"), id_col="name", seq_col="seq", label_cols=["b", "a"])
    assert ds.split.tolist() == ["train", "test", "val"]
    assert ds.label_names == ["b", "a"]
    np.testing.assert_array_equal(ds.labels[:, 1], [1, 0, np.nan])


def test_missing_columns(tmp_path):
    with pytest.raises(InputError) as e:
        read_table(_write(tmp_path, "name,sequence\nx,AC\n", "t.csv"))
    assert e.value.line == 1 and "'id'" in str(e.value) and "id_col" in e.value.remedy
    with pytest.raises(InputError, match="sequence column 'sequence'"):
        read_table(_write(tmp_path, "id,seq\nx,AC\n", "u.csv"))
    with pytest.raises(LabelError, match="no label column 'c'"):
        read_table(_write(tmp_path, "id,sequence,a\nx,AC,1\n", "v.csv"), label_cols=["c"])


def test_duplicate_ids(tmp_path):
    with pytest.raises(InputError) as e:
        read_table(_write(tmp_path, "id,sequence\nx,AC\ny,GG\nx,UU\n", "t.csv"))
    assert e.value.line == 4 and "first seen on line 2" in str(e.value)


def test_empty_and_bad_sequences_name_their_line(tmp_path):
    with pytest.raises(SequenceError) as e:
        read_table(_write(tmp_path, "id,sequence\nx,AC\ny,\n", "t.csv"))
    assert e.value.line == 3 and "empty" in str(e.value)
    with pytest.raises(SequenceError) as e:
        read_table(_write(tmp_path, "id,sequence\nx,AC\n\ny,AC\nz,AC-GU\n", "u.csv"))
    assert e.value.line == 5 and "'-'" in str(e.value) and "'z'" in str(e.value)


def test_bad_label_value_names_column_line_and_value(tmp_path):
    with pytest.raises(LabelError) as e:
        read_table(_write(tmp_path, "id,sequence,a,b\nx,AC,1,0\ny,GG,0,yes\n", "t.csv"))
    msg = str(e.value)
    assert e.value.line == 3 and "'b'" in msg and "'yes'" in msg and "t.csv:3" in msg
    assert "label_cols" in e.value.remedy


def test_bad_split_value(tmp_path):
    with pytest.raises(InputError) as e:
        read_table(_write(tmp_path, "id,sequence,split\nx,AC,train\ny,GG,holdout\n", "t.csv"))
    assert e.value.line == 3 and "'holdout'" in str(e.value)


def test_ragged_row_empty_and_binary_files(tmp_path):
    with pytest.raises(InputError) as e:
        read_table(_write(tmp_path, "id,sequence,a\nx,AC,1\ny,GG\n", "t.csv"))
    assert e.value.line == 3 and "2 fields" in str(e.value)
    with pytest.raises(InputError, match="empty"):
        read_table(_write(tmp_path, "", "e.csv"))
    with pytest.raises(InputError, match="no rows"):
        read_table(_write(tmp_path, "id,sequence\n", "h.csv"))
    b = tmp_path / "b.csv"
    b.write_bytes(bytes(range(128, 256)))
    with pytest.raises(InputError, match="UTF-8"):
        read_table(b)
    with pytest.raises(InputError, match="Parquet"):
        read_table(_write(tmp_path, "id,sequence\n", "fake.parquet"))


def test_read_labels_and_attach_to_fasta(tmp_path):
    fa = _write(tmp_path, ">s2\nGGUU\n>s1\nACGU\n", "x.fa")
    lab = _write(tmp_path, "id,a,b,split\ns1,1,0,train\ns2,,1,test\n", "labels.csv")
    lt = read_labels(lab)
    assert lt.ids.tolist() == ["s1", "s2"] and lt.label_names == ["a", "b"] and lt.lines.tolist() == [2, 3]
    ds = read_fasta_dataset(fa)
    out = attach_labels(ds, lab)
    assert out.ids.tolist() == ["s2", "s1"]
    np.testing.assert_array_equal(out.labels, np.array([[np.nan, 1], [1, 0]], dtype=np.float32))
    assert out.split.tolist() == ["test", "train"] and out.provenance["labels"] == str(lab)
    assert ds.n_labels == 0 and ds.split is None and "labels" not in ds.provenance  # caller's object untouched


def test_attach_labels_lists_unmatched_ids(tmp_path):
    fa = _write(tmp_path, "".join(f">s{i}\nACGU\n" for i in range(10)), "x.fa")
    lab = _write(tmp_path, "id,a\n" + "".join(f"s{i},1\n" for i in range(2, 12)), "labels.csv")
    with pytest.raises(LabelError) as e:
        attach_labels(read_fasta_dataset(fa), lab, max_shown=3)
    msg = str(e.value)
    assert "2 sequence id(s) have no labels ('s0', 's1')" in msg
    assert "2 labelled id(s) have no sequence ('s10', 's11')" in msg and str(lab) in msg


def test_text_columns_are_metadata_and_columns_can_be_named(tmp_path):
    from rnalabel.io import read_input

    p = tmp_path / "mirnas.csv"
    p.write_text("id,name,seq,Exosome,Nucleus\n0,hsa-miR-21-5p,UAGCUUAUCAGACUGAUGUUGA,1,0\n"
                 "1,hsa-let-7a-5p,UGAGGUAGUAGGUUGUAUAGUU,0,\n")
    with pytest.raises(InputError, match="--seq-col NAME"):
        read_input(p)
    ds = read_input(p, seq_col="seq")
    assert ds.label_names == ["Exosome", "Nucleus"] and ds.provenance["metadata_cols"] == ["name"]
    assert ds.sequences[0] == "UAGCUUAUCAGACUGAUGUUGA" and np.isnan(ds.labels[1, 1])
    bad = tmp_path / "bad.csv"  # a label column with one stray word stays an error, not metadata
    bad.write_text("id,sequence,L\na,ACGU,1\nb,ACGU,yes\n")
    with pytest.raises(LabelError, match="'yes'"):
        read_input(bad)
