"""FASTA reading: records, normalisation, gzip, and errors that name the file and line."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from rnalabel.errors import InputError, SequenceError
from rnalabel.io import read_fasta, read_fasta_dataset, read_input, write_fasta


def _write(tmp_path, text: str, name: str = "x.fa"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_records_are_normalised_and_wrapped_lines_joined(tmp_path):
    p = _write(tmp_path, ">s1 first one\nacgt\nTTAA\n\n>s2\nNNRY\n")
    recs = read_fasta(p)
    assert [r.id for r in recs] == ["s1", "s2"]
    assert recs[0].description == "first one"
    assert recs[0].sequence == "ACGUUUAA" and recs[1].sequence == "NNRY"
    assert [r.line for r in recs] == [1, 5]


def test_gzip_is_detected_by_content_not_name(tmp_path):
    p = tmp_path / "plain_name.fa"
    p.write_bytes(gzip.compress(b">a\nACGU\n>b\nGG\n"))
    ds = read_fasta_dataset(p)
    assert ds.ids.tolist() == ["a", "b"] and ds.sequences == ["ACGU", "GG"]
    assert ds.lengths.tolist() == [4, 2] and ds.n_labels == 0


def test_sequence_before_header(tmp_path):
    p = _write(tmp_path, "\nACGU\n>a\nACGU\n")
    with pytest.raises(InputError) as e:
        read_fasta(p)
    assert e.value.line == 2 and "before the first" in str(e.value) and str(p) in str(e.value)


def test_empty_record_names_its_header_line(tmp_path):
    p = _write(tmp_path, ">a\nACGU\n>empty\n>c\nGG\n")
    with pytest.raises(SequenceError) as e:
        read_fasta(p)
    assert e.value.line == 3 and "'empty'" in str(e.value)


def test_duplicate_ids(tmp_path):
    p = _write(tmp_path, ">a\nACGU\n>b\nAA\n>a\nGG\n")
    with pytest.raises(InputError) as e:
        read_fasta(p)
    assert e.value.line == 5 and "first seen on line 1" in str(e.value)


def test_non_iupac_character_points_at_its_line(tmp_path):
    p = _write(tmp_path, ">a\nACGU\n>b\nACGU\nACXU\nAAAA\n")
    with pytest.raises(SequenceError) as e:
        read_fasta(p)
    assert e.value.line == 5 and "'X'" in str(e.value) and e.value.remedy


def test_empty_file(tmp_path):
    with pytest.raises(InputError, match="no FASTA records"):
        read_fasta(_write(tmp_path, ""))
    with pytest.raises(InputError, match="no FASTA records"):
        read_fasta(_write(tmp_path, "\n\n  \n", "blank.fa"))


def test_binary_file(tmp_path):
    p = tmp_path / "x.fa"
    p.write_bytes(bytes(range(128, 256)) * 4)
    with pytest.raises(InputError, match="not a text FASTA"):
        read_fasta(p)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(InputError, match="not found"):
        read_fasta(tmp_path / "nope.fa")
    with pytest.raises(InputError, match="directory"):
        read_fasta(tmp_path)


def test_max_length(tmp_path):
    p = _write(tmp_path, ">a\nACGUACGU\n")
    with pytest.raises(SequenceError, match="longer than the limit"):
        read_fasta(p, max_length=5)


def test_write_read_round_trip_and_read_input(tmp_path):
    p = write_fasta(tmp_path / "out" / "w.fa", ["x", "y"], ["ACGUACGU", "GGA"], width=3)
    assert p.read_text().splitlines()[:4] == [">x", "ACG", "UAC", "GU"]
    ds = read_input(p)
    assert ds.ids.tolist() == ["x", "y"] and ds.sequences == ["ACGUACGU", "GGA"]
    assert np.all(ds.tokens[1, 3:] == 4)


def test_bom_and_fasta_by_content(tmp_path):
    from rnalabel.io import read_input

    f = tmp_path / "bom.fa"
    f.write_bytes(b"\xef\xbb\xbf>s1\nACGU\n")
    assert read_input(f).sequences == ["ACGU"]
    for name in ("seqs.txt", "seqs.csv", "seqs.tsv"):
        g = tmp_path / name
        g.write_text("\n>s1 first\nACGT\n>s2\nGGCC\n")
        ds = read_input(g)
        assert list(ds.ids) == ["s1", "s2"] and ds.sequences == ["ACGU", "GGCC"]
