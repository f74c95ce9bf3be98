"""The base-pairing view: a pairwise (N, 1, L, L) input, trained on, predicted with and explained end to end."""

import numpy as np
import pytest

import tests.helpers  # noqa: F401  (registers the toy model that takes any input kind)
from rnalabel.data import Dataset
from rnalabel.engine.recipe import Recipe, TrainConfig
from rnalabel.engine.training import fit
from rnalabel.views import Pairing, base_pair_probabilities, build_view
from rnalabel.views.mapping import pair_track


def test_hairpin_pairs_its_stem(tmp_path, monkeypatch):
    monkeypatch.setenv("RNALABEL_CACHE", str(tmp_path))
    p = base_pair_probabilities("GGGGGAAAACCCCC")
    assert p.shape == (14, 14) and np.allclose(p, p.T) and np.all(np.diag(p) == 0)
    assert p[0, 13] > 0.5 and p[4, 9] > 0.5  # the stem's outer and inner pairs
    assert np.all(p.sum(axis=1) <= 1 + 1e-5)  # a base pairs with at most one other
    ds = Dataset.from_sequences(["hp", "short"], ["GGGGGAAAACCCCC", "GGGAAACCC"])
    view = build_view({"type": "pairing", "processes": 1})
    assert view.kind == "pair"
    x = view.transform(ds)
    assert x.shape == (2, 1, 14, 14) and x.dtype == np.float32
    np.testing.assert_allclose(x[0, 0], p, atol=1e-6)
    assert np.all(x[1, 0, 9:, :] == 0) and np.all(x[1, 0, :, 9:] == 0)  # padding pairs with nothing
    np.testing.assert_array_equal(view.transform(ds), x)  # the second time from the cache


def test_pair_attributions_split_over_both_nucleotides():
    v = np.zeros((1, 1, 5, 5))
    v[0, 0, 0, 4] = v[0, 0, 4, 0] = 1.0
    v[0, 0, 1, 4] = 2.0  # the last base is padding (length 4): half of this pair has no nucleotide
    m = pair_track(v, lengths=np.array([4]), window=5)
    np.testing.assert_allclose(m.track[0], [1.0, 1.0, 0, 0, 0])
    assert m.unplaced[0] == pytest.approx(2.0)
    assert Pairing().to_nucleotides(v, tokens=np.zeros((1, 5), np.uint8), lengths=np.array([4]), window=5).mapped


def test_a_model_on_a_pairwise_input_trains_predicts_and_is_explained(demo_small, tmp_path, monkeypatch):
    from rnalabel.engine.bundle import load_model, save_model
    from rnalabel.engine.predict import predict
    from rnalabel.explain import integrated_gradients

    monkeypatch.setenv("RNALABEL_CACHE", str(tmp_path / "cache"))
    ds = demo_small.subset(np.arange(160))
    ds = Dataset.from_sequences(ds.ids, [s[:30] for s in ds.sequences], ds.labels, ds.label_names, split=ds.split)
    rec = Recipe(name="pairs", model="toy-embed", kind="whole-sequence", params={"dim": 4},
                 views={"seq": {"type": "onehot"}, "pairs": {"type": "pairing", "processes": 1}},
                 train=TrainConfig(batch_size=32, max_epochs=1, patience=1, seed=0))
    model, _ = fit(rec, ds, progress=False, device="cpu")
    assert [(s.kind, s.channels, s.length) for s in model.inputs] == [("position", 4, 30), ("pair", 1, 30)]
    loaded = load_model(save_model(model, tmp_path / "run"))
    p = predict(loaded, ds.subset(np.arange(5)), progress=False)
    assert p.scores.shape == (5, 5)
    attr = integrated_gradients(loaded, ds.subset(np.arange(3)), label=0, baseline="zero", steps=64, progress=False)
    assert set(attr.nucleotide) == {"seq", "pairs"} and attr.unmapped == []
    assert attr.sequence_views == ["seq"]
    assert np.all(np.abs(attr.delta) < 1e-3 + 0.05 * np.abs(attr.scores - attr.baseline_scores))
