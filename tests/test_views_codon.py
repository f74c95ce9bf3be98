import numpy as np
import pytest

from rnalabel.data import Dataset
from rnalabel.data.sequence import encode_batch
from rnalabel.errors import ConfigError
from rnalabel.views import build_view
from rnalabel.views.codon import (
    AMINO_ACIDS,
    CODON_TABLE,
    DIPEPTIDES,
    N_DIPEPTIDES,
    OTHER,
    aminoacid_nucleotide_map,
    aminoacid_one_hot,
    dipeptide_counts,
    dipeptide_histogram,
    dipeptide_occurrences,
    frame_lengths,
    peptide_length,
    peptide_string,
    translate_frames,
)


def _tokens(seq: str, width: int | None = None) -> np.ndarray:
    t = encode_batch([seq])
    if width is not None and width > t.shape[1]:
        t = np.pad(t, ((0, 0), (0, width - t.shape[1])), constant_values=4)
    return t


def _peptide(seq: str, width: int | None = None, flank: int = 0) -> str:
    return peptide_string(translate_frames(_tokens(seq, width), flank=flank)[0])


def _codon(c: str) -> str:
    t = encode_batch([c])[0].astype(int)
    code = CODON_TABLE[16 * t[0] + 4 * t[1] + t[2]]
    return "O" if code == OTHER else AMINO_ACIDS[code]


def test_genetic_code():
    assert [_codon(c) for c in ("AUG", "UUU", "GCU", "AAA", "CGA", "AUA", "UGG", "GGG")] == list("MFAKRIWG")
    assert [_codon(c) for c in ("UAA", "UAG", "UGA")] == ["O"] * 3
    assert np.sum(CODON_TABLE[:64] != OTHER) == 61
    assert CODON_TABLE[64] == OTHER  # an untranslatable codon


def test_three_frames_are_concatenated():
    # frame 0: AUG GCC UAA = M A stop; frame 1: UGG CCU AAG = W P K; frame 2: GGC CUA AGG = G L R
    assert _peptide("AUGGCCUAAGG") == "MAOWPKGLR"
    assert frame_lengths(11) == (3, 3, 3) and peptide_length(11) == 9
    assert peptide_length(101) == 99  # the eCLIP windows
    assert frame_lengths(10) == (3, 3, 2)


def test_padding_and_ambiguous_bases_become_o():
    # a 5-nt RNA in an 8-nt window: codons touching the padding are O
    assert _peptide("AUGGC", width=8) == "MOWOGO"
    # frames AUG NCC AUG | UGN CCA | GNC CAU: a codon with N is O
    assert _peptide("AUGNCCAUG") == "MOMOPOH"
    # flank: B A U G B -> frame 0 BAU = O, frame 1 AUG = M, frame 2 UGB = O
    assert _peptide("AUG", flank=1) == "OMO"
    assert peptide_length(3, flank=1) == 3


def test_aminoacid_one_hot_values():
    x = aminoacid_one_hot(_tokens("AUGGCCUAAGG"))
    assert x.shape == (1, 20, 9) and x.dtype == np.float32
    assert x[0, AMINO_ACIDS.index("M"), 0] == 1 and x[0, :, 0].sum() == 1
    np.testing.assert_allclose(x[0, :, 2], 0.05)  # the stop codon
    assert aminoacid_one_hot(_tokens("UAA"), other_value=0.0).sum() == 0


def test_aminoacid_nucleotide_map():
    m = aminoacid_nucleotide_map(11)
    assert m.shape == (9, 3)
    assert m[0].tolist() == [0, 1, 2] and m[3].tolist() == [1, 2, 3] and m[8].tolist() == [8, 9, 10]
    # a 5-nt RNA in an 8-nt window: positions past the sequence are -1
    m = aminoacid_nucleotide_map(5, width=8)
    assert m.shape == (peptide_length(8), 3)
    assert m[1].tolist() == [3, 4, -1]
    # a flank: the first codon of frame 0 is (pad, 0, 1)
    m = aminoacid_nucleotide_map(3, flank=1)
    assert m.tolist() == [[-1, 0, 1], [0, 1, 2], [1, 2, -1]]


def test_dipeptides_within_frames_only():
    c = dipeptide_counts(_tokens("AUGGCCUAAGG"))
    assert c.shape == (1, N_DIPEPTIDES) == (1, 440)
    found = {DIPEPTIDES[i]: int(c[0, i]) for i in np.flatnonzero(c[0])}
    assert found == {"MA": 1, "AO": 1, "WP": 1, "PK": 1, "GL": 1, "LR": 1}  # not OW or KG (frame junctions)
    g1 = dipeptide_counts(_tokens("AUGGCCUAAGG"), gap=1)
    assert {DIPEPTIDES[i] for i in np.flatnonzero(g1[0])} == {"MO", "WK", "GR"}


def test_dipeptide_alphabet_leaves_out_oo():
    assert len(DIPEPTIDES) == 440 and DIPEPTIDES[0] == "AA" and DIPEPTIDES[-1] == "OY"
    assert "OO" not in DIPEPTIDES and DIPEPTIDES[21 * 2 + 3] == "DE"
    # frame 0 is three stops (OO pairs, left out); frame 1 = N N, frame 2 = I I
    c = dipeptide_counts(_tokens("UAAUAAUAA"))
    assert c.sum() == 2 and c[0, DIPEPTIDES.index("NN")] == 1 and c[0, DIPEPTIDES.index("II")] == 1


def test_dipeptide_histogram():
    h = dipeptide_histogram(np.array([[0, 2, 35]]), bins=30)
    assert h.shape == (1, 3, 30) and h.dtype == np.float32
    assert h[0, 0].sum() == 0
    assert h[0, 1].tolist() == [1, 1] + [0] * 28
    assert h[0, 2].sum() == 30  # counts above the bins are cut


def test_dipeptide_occurrences_match_counts():
    occ = dipeptide_occurrences(_tokens("AUGGCCUAAGG")[0], 11)
    assert [(DIPEPTIDES[d], s) for d, s in occ] == [("MA", 0), ("AO", 3), ("WP", 1), ("PK", 4), ("GL", 2), ("LR", 5)]
    rng = np.random.default_rng(0)
    row = rng.integers(0, 4, 60).astype(np.uint8)
    row[40:] = 4  # a 40-nt RNA in a 60-nt window
    for gap in (0, 2):
        counts = dipeptide_counts(row[None, :], gap=gap, flank=2)[0]
        occ = dipeptide_occurrences(row, 40, gap, flank=2)
        assert np.array_equal(np.bincount([d for d, _ in occ], minlength=440), counts)
        assert min(s for _, s in occ) == -2  # the first codon of frame 0 starts in the flank


def test_views_on_a_dataset():
    ds = Dataset.from_sequences(["a", "b"], ["AUGGCCUAAGG", "GGGAAA"], np.array([[1.0], [0.0]]))
    aa = build_view({"type": "aminoacid"})
    dp = build_view({"type": "dipeptide", "gap": 0, "bins": 30})
    x = aa.transform(ds)
    assert x.shape == (2, 20, 9) and aa.channels() == 20 and aa.channel_names()[0] == "A"
    np.testing.assert_allclose(x[1, :, 2], 0.05)  # GGGAAA padded to 11: frame 0 codon 3 = pad
    d = dp.transform(ds)
    assert d.shape == (2, 440, 30) and dp.channels() == 440 and dp.channel_names()[-1] == "OY"
    assert d[0].sum() == 6
    assert build_view(dp.spec()) == dp
    with pytest.raises(ConfigError):
        build_view({"type": "dipeptide", "gap": -1})
    with pytest.raises(ConfigError):
        build_view({"type": "aminoacid", "flank": -2})
