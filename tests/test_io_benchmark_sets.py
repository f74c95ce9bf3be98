"""Multi-label builders: RBP-31 multi-task merge, eCLIP exact-sequence join, miRNA localization."""

from __future__ import annotations

import numpy as np
import pytest

from rnalabel.errors import InputError
from rnalabel.io.benchmark_sets import (
    build,
    build_eclip_multilabel,
    build_mirna_localization,
    build_rbp31_multitask,
    eclip_experiments,
    load_rbp31_experiment,
    rbp31_experiments,
)
from tests.fake_layouts import MIRLOC_CSV, write_eclip, write_rbp31

nan = np.nan
_rng = np.random.default_rng(7)
S = {f"S{i}": "".join(_rng.choice(list("ACGT"), 30)) for i in range(1, 7)}


@pytest.fixture()
def rbp31(tmp_path):
    """Three experiments with every kind of overlap (see the expected rows in the tests)."""
    return write_rbp31(tmp_path, {
        "1_PARCLIP_A_hg19": {"train": [(S["S1"], 1), (S["S2"], 0), (S["S2"], 1), (S["S3"], 0)],
                             "test": [(S["S4"], 1)]},
        "2_PARCLIP_B_hg19": {"train": [(S["S1"], 0), (S["S5"], 1)], "test": [(S["S3"], 1), (S["S5"], 0)]},
        "10_ICLIP_C_group_1234_all_clusters": {"train": [(S["S6"], 0)], "test": [(S["S4"], 1)]},
    })


def _rna(name):
    return S[name].replace("T", "U")


def test_rbp31_experiments_numeric_order_and_lookup(rbp31):
    assert rbp31_experiments(rbp31) == ["1_PARCLIP_A_hg19", "2_PARCLIP_B_hg19", "10_ICLIP_C_group_1234_all_clusters"]
    assert rbp31_experiments(rbp31 / "datasets" / "clip") == rbp31_experiments(rbp31)
    for key in ("10", 10, "10_ICLIP_C", "10_ICLIP_C_group_1234_all_clusters"):
        ds = load_rbp31_experiment(rbp31, key)
        assert ds.label_names == ["10_ICLIP_C"] and ds.split.tolist() == ["train", "test"]
    assert load_rbp31_experiment(rbp31, "2", split="test").split.tolist() == ["test", "test"]
    with pytest.raises(InputError, match="unknown RBP-31 experiment"):
        load_rbp31_experiment(rbp31, "3")
    with pytest.raises(InputError, match="no RBP-31 experiments"):
        rbp31_experiments(rbp31 / "datasets" / "clip" / "1_PARCLIP_A_hg19" / "30000")


def test_rbp31_multitask_merges_and_keeps_test_honest(rbp31):
    ds = build_rbp31_multitask(rbp31)
    assert ds.label_names == ["1_PARCLIP_A", "2_PARCLIP_B", "10_ICLIP_C"]
    assert ds.sequences == [_rna(s) for s in ("S1", "S2", "S6", "S3", "S4", "S5")]
    assert ds.split.tolist() == ["train"] * 3 + ["test"] * 3
    expected = [[1, 0, nan], [1, nan, nan], [nan, nan, 0], [nan, 1, nan], [1, nan, 1], [nan, 0, nan]]
    np.testing.assert_array_equal(ds.labels, np.array(expected, dtype=np.float32))
    assert ds.ids[0] == "1_PARCLIP_A:train:0:chr1,+,1000,1030" and ds.ids[4] == "1_PARCLIP_A:test:0:chr1,+,1000,1030"
    p = ds.provenance
    assert p["records"] == 11 and p["merged_records"] == 3 and p["conflicts"] == {"1_PARCLIP_A": 1}
    assert p["cross_split"] == {"policy": "drop_train", "sequences_in_train_and_test": 2, "same_experiment": 1,
                                "train_rows_dropped": 2}
    assert p["rows"] == {"train": 3, "test": 3}
    # no test sequence is trained on
    assert not set(ds.select_split("train").sequences) & set(ds.select_split("test").sequences)


def test_rbp31_multitask_keep_and_subset(rbp31):
    kept = build_rbp31_multitask(rbp31, cross_split="keep")
    assert len(kept) == 8 and kept.provenance["cross_split"]["train_rows_dropped"] == 0
    sub = build_rbp31_multitask(rbp31, experiments=["10", "1"])
    assert sub.label_names == ["10_ICLIP_C", "1_PARCLIP_A"]
    with pytest.raises(InputError, match="named twice"):
        build_rbp31_multitask(rbp31, experiments=["1", "1_PARCLIP_A"])


@pytest.fixture()
def eclip(tmp_path):
    p = {f"P{i}": "".join(_rng.choice(list("ACGT"), 25)) for i in range(1, 5)}
    n = {f"N{i}": "".join(_rng.choice(list("ACGT"), 25)) for i in range(1, 5)}
    root = write_eclip(tmp_path, {
        "A_K562": [(p["P1"], 1), (p["P2"], 1), (n["N1"], 0), (n["N2"], 0)],
        "B_HepG2": [(p["P1"], 1), (p["P3"], 1), (p["P2"], 0), (n["N3"], 0)],
        "C_K562": [(p["P4"], 1), (n["N1"], 0), (n["N4"], 0)],
    })
    return root, p, n


def test_eclip_join(eclip):
    root, p, n = eclip
    assert eclip_experiments(root) == ["A_K562", "B_HepG2", "C_K562"]
    ds = build_eclip_multilabel(root, n_negative=None)
    assert ds.label_names == ["A_K562", "B_HepG2", "C_K562", "negative"]
    assert ds.sequences[:4] == [p[k].replace("T", "U") for k in ("P1", "P2", "P3", "P4")]
    assert ds.ids[:4].tolist() == ["A_K562:1", "A_K562:2", "B_HepG2:2", "C_K562:1"]
    np.testing.assert_array_equal(ds.labels[:4], [[1, 1, 0, 0], [1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]])
    assert sorted(ds.sequences[4:]) == sorted(v.replace("T", "U") for v in n.values())
    assert (ds.labels[4:] == [0, 0, 0, 1]).all() and ds.split is None
    assert ds.provenance["label_info"]["negative"]["pseudo"] is True  # no protein: never called
    c = ds.provenance["counts"]
    assert c["unique_bound"] == 4 and c["bound_in_2_or_more"] == 1 and c["negative_pool"] == 4
    assert c["negative_elsewhere_but_bound"] == 1 and c["experiments_per_bound_sequence"] == {"1": 3, "2": 1}


def test_eclip_negative_sampling_is_seeded(eclip):
    root, _, _ = eclip
    a = build_eclip_multilabel(root, n_negative=2, seed=3)
    b = build_eclip_multilabel(root, n_negative=2, seed=3)
    assert len(a) == 6 and a.sequences == b.sequences and a.provenance["counts"]["negative_sampled"] == 2
    assert len(build_eclip_multilabel(root, n_negative=0)) == 4
    sub = build_eclip_multilabel(root, experiments=["C_K562"], n_negative=None)
    assert sub.label_names == ["C_K562", "negative"] and len(sub) == 3
    with pytest.raises(InputError, match="unknown eCLIP experiment"):
        build_eclip_multilabel(root, experiments=["Z_K562"])


def test_build_entry_point_splits(eclip, rbp31, tmp_path):
    root, _, _ = eclip
    ds = build("eclip", root, split=(0.5, 0.0, 0.5), seed=1, n_negative=None)
    assert set(ds.split.tolist()) <= {"train", "test"} and ds.provenance["built"]["kind"] == "eclip"
    r = build("rbp31", rbp31, split=(0.6, 0.4, 0.0))
    assert r.split.tolist().count("test") == 3 and r.provenance["split_counts"]["test"] == 3
    assert build("rbp31", rbp31, split=None).split.tolist() == ["train"] * 3 + ["test"] * 3
    csv = tmp_path / "m.csv"
    csv.write_text(MIRLOC_CSV)
    m = build("mirloc", csv, split=None, labels=["Nucleus"])
    assert m.label_names == ["Nucleus"] and m.split is None
    with pytest.raises(InputError, match="unknown dataset"):
        build("rbp24", root)


def test_mirna_localization_folder_or_file(tmp_path):
    (tmp_path / "mirlocpredictor_dev.csv").write_text(MIRLOC_CSV)
    ds = build_mirna_localization(tmp_path)
    assert len(ds) == 3 and ds.n_labels == 6
    four = build_mirna_localization(tmp_path / "mirlocpredictor_dev.csv",
                                    labels=("Nucleus", "Exosome", "Cytoplasm", "Microvesicle"))
    assert four.label_names == ["Nucleus", "Exosome", "Cytoplasm", "Microvesicle"]


# real data (skipped when ../shared/data is absent) -----------------------------------------------------------
def test_real_rbp31_listing_and_one_experiment(shared_data):
    names = rbp31_experiments(shared_data / "rbp31")
    assert len(names) == 31 and names[0].startswith("1_") and names[-1].startswith("31_")
    ds = load_rbp31_experiment(shared_data / "rbp31", "23", split="test")
    assert len(ds) == 10000 and int(ds.labels.sum()) == 2000 and set(ds.split) == {"test"}


def test_real_eclip_three_experiments(shared_data):
    root = shared_data / "eclip"
    names = eclip_experiments(root)
    assert len(names) == 91
    ds = build_eclip_multilabel(root, experiments=names[:3], n_negative=100)
    c = ds.provenance["counts"]
    assert c["records"] == 45000 and c["positive_records"] == 15000
    assert c["unique_bound"] == int((ds.labels[:, :3] == 1).any(axis=1).sum())
    assert len(ds) == c["unique_bound"] + 100 and len(set(ds.sequences)) == len(ds)


def test_real_mirna_localization(shared_data):
    ds = build_mirna_localization(shared_data / "mirna_localization",
                                  labels=("Nucleus", "Exosome", "Cytoplasm", "Microvesicle"))
    assert len(ds) == 840 and [c["positive"] for c in ds.label_counts().values()] == [283, 695, 173, 278]
