"""Structure views: hand-checkable folds, invariants, the loop-context split against sampling, cache, parallelism."""

from __future__ import annotations

import time
import warnings

import numpy as np
import pytest

from rnalabel.data import Dataset
from rnalabel.errors import ConfigError
from rnalabel.views import (
    Structure,
    build_view,
    loop_context_profile,
    paired_unpaired_profile,
    unpaired_probability,
)
from rnalabel.views.cache import ArrayCache
from rnalabel.views.structure import (
    LOOP_CONTEXTS,
    fold_loop_types,
    structure_contexts,
    structure_profiles,
    unpaired_by_loop_type,
)

RNA = pytest.importorskip("RNA")

HAIRPIN = "GGGGAAAACCCC"  # stem 1-4 / 9-12, loop AAAA


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    """Every test gets its own empty cache."""
    monkeypatch.setenv("RNALABEL_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _random(n: int, length: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    return ["".join(rng.choice(list("ACGU"), length)) for _ in range(n)]


def test_hairpin_stem_paired_loop_unpaired():
    prof = loop_context_profile(HAIRPIN)
    paired, hairpin = prof[0], prof[LOOP_CONTEXTS.index("hairpin")]
    assert prof.shape == (5, 12) and prof.dtype == np.float32
    assert np.all(paired[[1, 2, 10]] > 0.99)  # inner stem pairs are certain
    assert np.all(paired[[0, 3, 8, 11]] > 0.8)  # ends fray a little
    np.testing.assert_allclose(hairpin[4:8], 1.0, atol=1e-3)  # AAAA is the hairpin loop
    np.testing.assert_allclose(prof[:, 4:8].sum(axis=0), 1.0, atol=1e-6)
    assert prof[LOOP_CONTEXTS.index("multiloop")].max() < 1e-6
    pu = paired_unpaired_profile(HAIRPIN)
    np.testing.assert_allclose(pu[0], paired)
    np.testing.assert_allclose(pu[1], 1 - paired, atol=1e-6)


def test_unpaired_probability_is_rnaplfold():
    seq = _random(1, 60, seed=4)[0]
    ours = unpaired_probability(seq, window=60, span=60)
    ref = np.array([row[1] for row in RNA.pfl_fold_up(seq, 1, 60, 60)[1:]])
    np.testing.assert_allclose(ours, ref, atol=1e-12)
    # the loop-type split sums to the same unpaired probability
    np.testing.assert_allclose(unpaired_by_loop_type(seq).sum(axis=0), unpaired_probability(seq), atol=1e-9)
    # ulength 3: the three bases ending at i are unpaired
    u3 = unpaired_probability(seq, ulength=3)
    ref3 = np.array([row[3] for row in RNA.pfl_fold_up(seq, 3, 60, 60)[1:]])
    np.testing.assert_allclose(u3, ref3, atol=1e-12)
    assert np.all(u3[:2] == 0)


def test_short_and_ambiguous_sequences():
    for seq in ["", "A", "ACG", "GGCC"]:  # too short to pair: ViennaRNA is not called (it crashes on these)
        prof = loop_context_profile(seq)
        assert prof.shape == (5, len(seq))
        np.testing.assert_array_equal(prof[1], 1.0)
    prof = loop_context_profile("GGGGNNNNCCCCNNNN")
    np.testing.assert_allclose(prof[0, 4:8], 0, atol=1e-6)  # N pairs with nothing
    np.testing.assert_allclose(prof[0, 12:], 0, atol=1e-6)
    np.testing.assert_allclose(prof.sum(axis=0), 1.0, atol=1e-6)


def test_structure_contexts_by_hand():
    assert structure_contexts("..((....))..").tolist() == [1, 1, 0, 0, 2, 2, 2, 2, 0, 0, 1, 1]
    # bulge on the left, interior loop, both class 3
    assert structure_contexts("((.((...))))").tolist() == [0, 0, 3, 0, 0, 2, 2, 2, 0, 0, 0, 0]
    assert structure_contexts("((.((...)).))")[[2, 10]].tolist() == [3, 3]  # interior loop
    # a multiloop closed by the outer pair with two branches
    s = "(.((...)).((...)).)"
    c = structure_contexts(s)
    assert c[[1, 9, 17]].tolist() == [4, 4, 4] and c[[4, 5, 6, 12, 13, 14]].tolist() == [2] * 6


def test_loop_contexts_match_sampled_structures():
    """The exact split agrees with the frequencies over 4000 structures sampled from the same ensemble."""
    seq = _random(1, 70, seed=11)[0]
    exact = loop_context_profile(seq, window=70, span=70).astype(np.float64)
    md = RNA.md()
    md.uniq_ML = 1
    fc = RNA.fold_compound(seq, md)
    fc.pf()
    RNA.init_rand(7)
    codes = np.stack([structure_contexts(s) for s in fc.pbacktrack(4000)])
    sampled = np.stack([(codes == c).mean(axis=0) for c in range(5)])
    se = np.sqrt(exact * (1 - exact) / 4000)
    assert np.abs(sampled - exact).max() < 0.04
    assert np.all(np.abs(sampled - exact) <= 5 * se + 1e-3)


def test_view_shapes_padding_and_sums():
    seqs = [HAIRPIN, "GGGAAACCCAAAGGGAAACCC", "ACGU"]
    ds = Dataset.from_sequences(["a", "b", "c"], seqs)
    for profile, c in [("pu", 2), ("loop", 5), ("unpaired", 1)]:
        view = Structure(profile=profile, processes=1)
        x = view.transform(ds)
        assert x.shape == (3, c, ds.width) and x.dtype == np.float32 and view.channels() == c
        for i, s in enumerate(seqs):
            assert np.all(x[i, :, len(s):] == 0)
            if profile != "unpaired":
                np.testing.assert_allclose(x[i, :, : len(s)].sum(axis=0), 1.0, atol=1e-6)
    assert Structure().expensive()


def test_cache_hit_identical_faster_and_pickle_free(private_cache):
    seqs = _random(40, 80, seed=1)
    ds = Dataset.from_sequences([str(i) for i in range(40)], seqs)
    view = Structure(profile="loop", processes=1)
    t0 = time.perf_counter()
    cold = view.transform(ds)
    t_cold = time.perf_counter() - t0
    t0 = time.perf_counter()
    warm = view.transform(ds)
    t_warm = time.perf_counter() - t0
    np.testing.assert_array_equal(cold, warm)
    assert t_warm < t_cold / 3
    # pu shares the loop computation: served from the cache, same paired channel
    pu = Structure(profile="pu", processes=1).transform(ds)
    np.testing.assert_array_equal(pu[:, 0], cold[:, 0])
    packs = list(private_cache.rglob("*.npz"))
    assert len(packs) == 1 and not list(private_cache.rglob(".*"))  # one pack, no temporary files left
    with np.load(packs[0], allow_pickle=False) as z:
        assert z["data"].shape == (4, 40 * 80) and z["keys"].shape == (40, 16)
    # other folding parameters never hit these entries
    other = Structure(profile="loop", span=40, processes=1).transform(ds)
    assert not np.array_equal(other, cold)
    assert len(list(private_cache.rglob("*.npz"))) == 2


def test_cache_disabled_writes_nothing(private_cache):
    Structure(cache=False, processes=1).transform(Dataset.from_sequences(["a"], [HAIRPIN]))
    assert not private_cache.exists()


def test_damaged_pack_is_ignored(private_cache):
    seqs = _random(3, 30, seed=2)
    first = fold_loop_types(seqs, processes=1)
    (pack,) = private_cache.rglob("*.npz")
    pack.write_bytes(b"not a zip")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        again = fold_loop_types(seqs, processes=1)
    assert any("unreadable cache pack" in str(w.message) for w in caught)
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)


def test_concurrent_duplicate_packs_are_harmless(tmp_path):
    store = ArrayCache("ns", channels=2, root=tmp_path)
    key = bytes(range(15)) + b"\x00"  # a key ending in a zero byte survives the round trip
    store.put({key: np.ones((2, 3))})
    store.put({key: np.ones((2, 3))})  # a second process computed the same item
    got = store.get([key, b"x" * 16])
    assert list(got) == [key] and got[key].shape == (2, 3)


def test_parallel_equals_serial():
    ds = Dataset.from_sequences([str(i) for i in range(24)], _random(23, 50, seed=3) + [HAIRPIN])
    serial = structure_profiles(ds.tokens, ds.lengths, profile="loop", processes=1, cache=False)
    parallel = structure_profiles(ds.tokens, ds.lengths, profile="loop", processes=2, cache=False)
    np.testing.assert_array_equal(serial, parallel)


def test_duplicates_folded_once_and_results_in_order(private_cache):
    seqs = [HAIRPIN, "GGGAAACCC", HAIRPIN]
    out = fold_loop_types(seqs, processes=1)
    np.testing.assert_array_equal(out[0], out[2])
    assert out[1].shape == (4, 9)
    (pack,) = private_cache.rglob("*.npz")
    with np.load(pack, allow_pickle=False) as z:
        assert len(z["keys"]) == 2


def test_spec_round_trip_and_errors():
    v = Structure(profile="loop", window=120, span=80)
    assert build_view(v.spec()) == v
    with pytest.raises(ConfigError, match="profile"):
        Structure(profile="shape")
    with pytest.raises(ConfigError, match="span"):
        Structure(window=50, span=100)
    with pytest.raises(ConfigError):
        Structure(processes=0)


def test_train_save_load_predict_with_structure(tmp_path):
    """The structure recipe trains end to end and a saved model predicts identically after loading."""
    from dataclasses import replace

    from rnalabel.data.synthetic import make_demo_dataset
    from rnalabel.engine.bundle import load_model, save_model
    from rnalabel.engine.predict import predict
    from rnalabel.engine.recipe import load_recipe
    from rnalabel.engine.training import fit

    ds = make_demo_dataset(160, seed=2, length=40)
    recipe = load_recipe("multiresbind_structure")
    recipe = replace(recipe, params={**recipe.params, "filters": 8, "hidden": 16}).with_train(
        max_epochs=1, batch_size=64
    )
    model, _ = fit(recipe, ds, progress=False, device="cpu")
    assert [(s.name, s.channels) for s in model.inputs] == [("seq", 4), ("structure", 2)]
    save_model(model, tmp_path / "m")
    loaded = load_model(tmp_path / "m")
    assert loaded.views["structure"] == model.views["structure"]
    test = ds.select_split("test")
    a = predict(model, test, progress=False, device="cpu").scores
    b = predict(loaded, test, progress=False, device="cpu").scores
    np.testing.assert_array_equal(a, b)
