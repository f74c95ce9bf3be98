import numpy as np
import pytest

from rnalabel.data.sequence import (
    are_valid,
    decode,
    encode,
    encode_batch,
    invalid_characters,
    normalize,
    reverse_complement,
    validate,
)
from rnalabel.errors import SequenceError


def test_normalize_strips_uppercases_and_converts_t():
    assert normalize(" acgt\nTTn ") == "ACGUUUN"


def test_encode_known_tokens():
    assert encode("ACGUTNacgu").tolist() == [0, 1, 2, 3, 3, 4, 0, 1, 2, 3]
    assert encode("RYK").tolist() == [4, 4, 4]
    assert encode("ACGU").dtype == np.uint8


def test_decode_roundtrip_and_length():
    s = "ACGUUGCA"
    assert decode(encode(s)) == s
    assert decode(encode("ACGRN")) == "ACGNN"
    assert decode(encode(s), length=3) == "ACG"


def test_encode_batch_pads_and_fast_path_agree():
    fixed = ["ACGU", "UUUU", "GGCA"]
    assert encode_batch(fixed).tolist() == [[0, 1, 2, 3], [3, 3, 3, 3], [2, 2, 1, 0]]
    ragged = encode_batch(["AC", "GUA"])
    assert ragged.tolist() == [[0, 1, 4], [2, 3, 0]]
    assert encode_batch(["ACGUA"], length=3).tolist() == [[0, 1, 2]]
    assert encode_batch([]).shape == (0, 0)


def test_reverse_complement_iupac():
    assert reverse_complement("ACGU") == "ACGU"
    assert reverse_complement("AAGC") == "GCUU"
    assert reverse_complement("ATTN") == "NAAU"
    assert reverse_complement("RYKM") == "KMRY"


def test_validate_errors_name_record_file_line():
    with pytest.raises(SequenceError) as e:
        validate("ACGX!", name="s1", path="x.fa", line=7)
    msg = str(e.value)
    assert "x.fa:7" in msg and "'X'" in msg and "'!'" in msg and "s1" in msg and "Remedy" in msg
    with pytest.raises(SequenceError, match="empty"):
        validate("  ")
    with pytest.raises(SequenceError, match="longer than the limit"):
        validate("ACGUACGU", max_length=4)
    assert validate("acgt") == "ACGU"


def test_invalid_characters_and_are_valid():
    assert invalid_characters("AC-GZ") == ["-", "Z"]
    assert are_valid(["ACGU", "", "AXG", "RYN"]).tolist() == [True, False, False, True]
