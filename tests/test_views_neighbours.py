"""The neighbours view: similarity-weighted labels of the nearest training RNAs, leave-one-out on training rows."""

import numpy as np
import pytest

from rnalabel.data import Dataset
from rnalabel.errors import ConfigError, InputError, LabelError, SequenceError
from rnalabel.views import build_view
from rnalabel.views.neighbours import Neighbours, neighbour_profile, sibling_matrix, similarity_matrix

A, B = "UAGCUUAUCAGACUGAUGUUGA", "UGAGGUAGUAGGUUGUAUAGUU"  # miR-21, let-7a


def _train():
    seqs = [A, A[:-1] + "C", A[1:], B, B[:-1] + "A", B[2:]]
    labels = np.array([[1, 0], [1, 0], [1, np.nan], [0, 1], [0, 1], [0, 1]], dtype=np.float32)
    return Dataset.from_sequences([f"t{i}" for i in range(6)], seqs, labels, ["Nucleus", "Exosome"])


def test_similarity_is_one_for_identity_and_lower_for_mismatches():
    s = similarity_matrix([A, A[:-1] + "C", ""], [A, B])
    assert s[0, 0] == pytest.approx(1.0) and s[1, 0] == pytest.approx((21 - 1) / 22)
    assert s[0, 1] < 0.5 and np.all(s[2] == 0)


def test_profile_weights_known_labels_and_skips_own_row():
    sim = np.array([[-np.inf, 0.9, 0.1], [0.5, 0.5, 0.5]], dtype=np.float32)
    labels = np.array([[1, 1], [0, np.nan], [1, 0]], dtype=np.float32)
    p = neighbour_profile(sim, labels, k=2, temperature=0.0)
    np.testing.assert_allclose(p[0], [0.5, 0.0, 0.9, 0.5])  # own row never chosen; label 2 known in one only
    assert p.shape == (2, 4) and p.dtype == np.float32
    hot = neighbour_profile(sim, labels, k=2, temperature=50.0)
    assert hot[0, 0] < 1e-6  # the nearest (label 0) dominates at a high temperature


def test_fit_keeps_rows_chooses_k_and_new_rna_sees_its_relatives():
    train = _train()
    view = build_view({"type": "neighbours"}).fit(train)
    assert view.k in (5,) and view.temperature in (0.0, 4.0, 8.0)  # only k = 5 < 6 rows is on the grid
    assert view.selection["by"].startswith("leave-one-out") and len(view.selection["grid"]) == 3
    assert "reference_tokens" not in view.spec() and view.channels() == 4
    assert view.channel_names()[:2] == ["neighbours:Nucleus", "neighbours:Exosome"]
    q = Dataset.from_sequences(["new21", "newlet7"], [A[:-2] + "GG", B[:-1] + "C"])
    x = view.transform(q)
    assert x.shape == (2, 4) and x[0, 0] > x[0, 1] and x[1, 1] > x[1, 0]
    assert x[0, 2] > 0.8  # nearest similarity


def test_training_units_do_not_see_themselves_and_predictions_do_not_depend_on_names():
    train = _train()
    view = Neighbours(k=1, temperature=0.0).fit(train)
    assert np.all(view.transform_training(train)[:, 2] < 1.0)  # t0's nearest is t1 (0.95), never itself
    assert np.all(view.transform(train)[:, 2] == pytest.approx(1.0))  # predicting a training miRNA finds it
    pieces = Dataset.from_sequences(["t0:short2-20", "t0:3-22", "x", "t0"], [A[1:20], A[2:22], A[1:20], B])
    sim = view._similarities(pieces, training=True)
    assert np.isneginf(sim[0, 0]) and np.isneginf(sim[1, 0])  # a shortened copy, a window of t0
    assert np.isfinite(sim[2, 0]) and np.isfinite(sim[3, 0])  # another id; t0's id with another sequence
    np.testing.assert_array_equal(view.transform(pieces), view.transform(
        Dataset.from_sequences(["a", "b", "c", "d"], pieces.sequences)))  # outside training, names do not matter


def test_duplicate_ids_and_unknown_labels_and_n():
    dup = Dataset.from_sequences(["a", "a", "b"], [A, A, B], np.array([[1, np.nan], [1, np.nan], [0, np.nan]],
                                                                     dtype=np.float32), ["x", "y"])
    view = Neighbours(k=1, temperature=0.0).fit(dup)
    x = view.transform_training(dup)
    assert x[0, 2] < 1.0 and x[1, 2] < 1.0  # both rows named a are left out of both a's
    assert np.all(x[:, 1] == 0.5)  # label y is unknown everywhere: its prior (0.5), not a confident 0
    some = Dataset.from_sequences(["p", "q", "r"], [A, B, B[:-1] + "A"],
                                  np.array([[1, np.nan], [0, 1], [0, 1]], dtype=np.float32), ["x", "y"])
    v2 = Neighbours(k=1, temperature=0.0).fit(some)
    got = v2.transform(Dataset.from_sequences(["new"], [A[:-1] + "C"]))  # nearest is p, whose y is unknown
    assert got[0, 1] == pytest.approx(1.0)  # y's training prior (2 of 2 known are 1)
    assert similarity_matrix(["N" * 10], ["N" * 10])[0, 0] == 0  # N is no evidence of similarity


def test_round_trip_and_bad_input():
    train = _train()
    view = Neighbours(k=3, temperature=4.0).fit(train)
    assert view.selection == {}  # nothing chosen
    back = Neighbours(k=3, temperature=4.0).with_artifacts(view.artifacts())
    np.testing.assert_array_equal(back.transform(train), view.transform(train))
    arts = view.artifacts()
    tampered = {
        "do not match": {"reference_ids": arts["reference_ids"][:-1]},
        "ids are not a list of strings": {"reference_ids": None},
        "label names are not": {"label_names": None},
        "lengths outside": {"reference_lengths": arts["reference_lengths"] + 100},
        "tokens other than": {"reference_tokens": arts["reference_tokens"] + 200},
        "labels other than": {"reference_labels": arts["reference_labels"] * 5},
    }
    for why, change in tampered.items():
        with pytest.raises(ConfigError, match=f"stored training rows are not valid: .*{why}"):
            Neighbours(k=3, temperature=4.0).with_artifacts({**arts, **change})
    with pytest.raises(ConfigError, match="needs k >= 1, temperature >= 0"):
        Neighbours().with_artifacts(arts)  # a card edited back to "choose"
    with pytest.raises(ConfigError, match="more than the view's max_reference"):
        Neighbours(k=3, temperature=4.0, max_reference=2).with_artifacts(arts)
    with pytest.raises(ConfigError, match="must be fitted"):
        Neighbours().transform(train)
    with pytest.raises(SequenceError, match="longer than the 30 nt the neighbours view aligns"):
        Neighbours(max_length=30, k=2, temperature=0.0).fit(train).transform(
            Dataset.from_sequences(["long"], ["A" * 31]))
    with pytest.raises(ConfigError, match="more than its max_reference"):
        Neighbours(max_reference=3).fit(train)
    with pytest.raises(LabelError, match="labelled"):
        Neighbours().fit(Dataset.from_sequences(["a"], [A]))
    for bad in (1000, -0.5):
        with pytest.raises(ConfigError, match="temperature must be a number from 0 to 100, or -1"):
            build_view({"type": "neighbours", "temperature": bad})
    with pytest.raises(ConfigError, match="k must be a whole number"):
        build_view({"type": "neighbours", "k": 2.5})
    assert Neighbours(k=np.int64(3), temperature=np.float32(2)).k == 3  # numpy numbers are numbers


def test_without_biopython_the_error_names_the_extra(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "Bio", None)  # import Bio now raises ImportError
    with pytest.raises(ConfigError, match=r"biopython, which is not installed.*rnalabel\[structure\]"):
        similarity_matrix([A], [B])


# a made-up hairpin holding miR-21 (A) as its 5p arm and an unrelated 3p arm; a second one holding let-7a (B)
P3 = "CAACACCAGUCGAUGGGCUGUC"
HAIRPIN_21 = "UGUCGGG" + A + "CUGUUGAAUCUCAUGG" + P3 + "UUGG"
HAIRPIN_LET7 = "UGGGAUG" + B + "AGGGUUUUCCCAGUCACACGGAAAACUAUACAACCUACUACCUCAUCCCA"


def test_precursor_siblings_are_relatives(tmp_path):
    assert sibling_matrix([P3, A, A[:10], B], [A], [HAIRPIN_21, HAIRPIN_LET7])[:, 0].tolist() == [
        True, False, False, False]  # the 3p arm is A's sibling; A itself, a 10-nt piece (by chance) and B are not
    fa = tmp_path / "hairpins.fa"
    fa.write_text(f">hsa-mir-21\n{HAIRPIN_21}\n>hsa-let-7a\n{HAIRPIN_LET7}\n>other\n{'ACGU' * 20}\n")
    train = _train()
    plain = Neighbours(k=1, temperature=0.0).fit(train)
    view = Neighbours(k=1, temperature=0.0, precursors=str(fa), sibling_similarity=1.0).fit(train)
    assert view.precursor_sequences == sorted([HAIRPIN_21, HAIRPIN_LET7])  # the one holding no training RNA: out
    q = Dataset.from_sequences(["3p"], [P3])
    assert plain.transform(q)[0, 2] < 0.5 and view.transform(q)[0, 2] == pytest.approx(1.0)
    np.testing.assert_allclose(view.transform(q)[0, :2], [1.0, 0.0])  # miR-21's labels through its sibling
    own = Dataset.from_sequences(["t0", "t0:short2-20"], [A, A[1:20]])
    assert np.all(np.isneginf(view._similarities(own, training=True)[:, 0]))  # a unit's own row stays out
    back = Neighbours(k=1, temperature=0.0, precursors="elsewhere.fa", sibling_similarity=1.0).with_artifacts(
        view.artifacts())  # loading never reads the file again
    np.testing.assert_array_equal(back.transform(q), view.transform(q))
    chosen = Neighbours(precursors=str(fa)).fit(train)  # k, temperature and sibling similarity by leave-one-out
    assert {"sibling_similarity"} < set(chosen.selection["grid"][0]) and len(chosen.selection["grid"]) == 12
    assert chosen.sibling_similarity >= 0 and isinstance(chosen.precursor_sequences, list)
    old = {k: v for k, v in plain.artifacts().items() if k != "precursor_sequences"}  # saved before precursors
    np.testing.assert_array_equal(Neighbours(k=1, temperature=0.0).with_artifacts(old).transform(q), plain.transform(q))
    arts = view.artifacts()
    with pytest.raises(ConfigError, match="precursors are not a list of A, C, G, U, N"):
        Neighbours(k=1, temperature=0.0).with_artifacts({**arts, "precursor_sequences": ["ACGX"]})
    with pytest.raises(ConfigError, match="needs all its artifacts"):
        Neighbours(k=1, temperature=0.0, precursors=str(fa), sibling_similarity=1.0).with_artifacts(
            {k: v for k, v in arts.items() if k != "precursor_sequences"})
    with pytest.raises(ConfigError, match="sibling_similarity must be a number from 0 to 1"):
        build_view({"type": "neighbours", "sibling_similarity": 2})
    with pytest.raises(ConfigError, match="precursors are not a list"):  # edited to null, checksum fixed up
        Neighbours(k=1, temperature=0.0).with_artifacts({**arts, "precursor_sequences": None})
    with pytest.raises(ConfigError, match="needs all its artifacts"):  # card edited to drop the precursors
        Neighbours(k=1, temperature=0.0, sibling_similarity=1.0).with_artifacts(
            {k: v for k, v in arts.items() if k != "precursor_sequences"})
    mature = tmp_path / "mature.fa"  # a record holding one training RNA only: nothing to relate
    mature.write_text(f">m1\n{A[:-1] + 'C'}\n")
    with pytest.raises(ConfigError, match="no two training sequences .* occur in one precursor"):
        Neighbours(precursors=str(mature)).fit(train)
    with pytest.raises(ConfigError, match="precursors must be the path of a FASTA file"):
        build_view({"type": "neighbours", "precursors": ""})
    bad = tmp_path / "bad.fa"
    bad.write_text(">x\nACGU\n>y\nACGUZ\n")
    with pytest.raises(SequenceError, match="bad.fa:4: .*outside the IUPAC"):
        Neighbours(precursors=str(bad)).fit(train)
    with pytest.raises(InputError, match="missing.fa"):
        Neighbours(precursors=str(tmp_path / "missing.fa")).fit(train)
