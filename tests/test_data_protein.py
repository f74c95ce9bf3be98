"""Proteins as a data type of their own: alphabet, tokens, validation with file and line, FASTA reading."""

import numpy as np
import pytest

from rnalabel.data.protein import (
    AMINO_ACIDS,
    OTHER_AA,
    ProteinSet,
    decode_protein,
    encode_protein,
    validate_protein,
)
from rnalabel.errors import LabelError, SequenceError
from rnalabel.io import read_protein_fasta


def test_alphabet_tokens_and_normalisation():
    assert len(AMINO_ACIDS) == 20 and OTHER_AA == 20
    assert validate_protein(" mkv lw*\n") == "MKVLW"
    assert validate_protein("ACGU") == "ACGU"  # a short peptide of those letters is still a peptide
    t = encode_protein(["ACY", "XB"])
    assert t.tolist() == [[0, 1, 19], [20, 20, 20]]
    assert decode_protein(t[0]) == "ACY" and decode_protein(t[1], 2) == "XX"


@pytest.mark.parametrize("seq, match", [("", "is empty"), ("MK1V", "outside the amino-acid alphabet: '1'"),
                                        ("MK*V", "'\\*'"), ("MK-V", "'-'"),
                                        ("ACGUAGCUAGCUAGCUAGCUAA", "reads as a nucleotide sequence"),
                                        ("ACGTNACGTAGCTAGCTAGCT", "reads as a nucleotide sequence")])
def test_bad_proteins_are_refused(seq, match):
    with pytest.raises(SequenceError, match=match):
        validate_protein(seq, name="p1")


def test_protein_fasta_errors_name_file_and_line(tmp_path):
    f = tmp_path / "rbps.fa"
    f.write_text(">A\nMKVLW\n>B\nMKV\nLW#Q\n")
    with pytest.raises(SequenceError) as e:
        read_protein_fasta(f)
    assert f"{f}:5:" in str(e.value) and "'#'" in str(e.value) and "Remedy" in str(e.value)
    f.write_text(">A\nMKVLW\n>B\nmkq*\n")
    ps = read_protein_fasta(f, max_length=10)
    assert isinstance(ps, ProteinSet) and list(ps.ids) == ["A", "B"] and ps.sequences == ["MKVLW", "MKQ"]
    assert ps.lengths.tolist() == [5, 3] and ps.index("B") == 1
    with pytest.raises(LabelError, match="no protein 'C'"):
        ps.index("C")
    with pytest.raises(SequenceError, match="longer than the limit of 4"):
        read_protein_fasta(f, max_length=4)


def test_real_rbp_sequences_load(shared_data):
    ps = read_protein_fasta(shared_data / "proteins" / "examples" / "rbps_HT.fa")
    assert len(ps) > 50 and "AGO1" in set(ps.ids)
    assert np.all(ps.lengths > 50)
