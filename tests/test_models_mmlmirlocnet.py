"""MMLmiRLocNet: the MVFCNet fusion as the paper writes it, its recipe end to end on short RNAs, and its bundle."""

import json

import numpy as np
import pytest
import torch

from rnalabel.data import Dataset
from rnalabel.errors import ConfigError, ModelFileError, SequenceError
from rnalabel.models import InputSpec, build_model

SPECS = [InputSpec("kmer", "sequence", 20, 0), InputSpec("w2v", "position", 8, 30)]


def _batch(n=5):
    return {"kmer": torch.rand(n, 20), "w2v": torch.rand(n, 8, 30)}


def test_fusion_is_private_per_view_plus_the_mean_of_common_features():
    m = build_model("mmlmirlocnet", inputs=SPECS, n_labels=4, params={"hidden": 6, "filters": 3}).eval()
    x = _batch()
    assert m(x).shape == (5, 4)
    v = {n: m.features[n](x[n]) for n in ("kmer", "w2v")}
    assert v["kmer"].shape == (5, 20) and v["w2v"].shape == (5, 6)  # max + mean of 3 filters
    want = torch.cat([m.private["kmer"](v["kmer"]), m.private["w2v"](v["w2v"]),
                      (m.common["kmer"](v["kmer"]) + m.common["w2v"](v["w2v"])) / 2], dim=1)
    torch.testing.assert_close(m.fused(x), want)
    flat = build_model("mmlmirlocnet", inputs=SPECS, n_labels=4, params={"encoder": "flatten", "fusion": False})
    assert flat.features["w2v"].width == 240 and flat(x).shape == (5, 4)
    with pytest.raises(ConfigError, match="per-sequence and per-position views; got p \\(pair\\)"):
        build_model("mmlmirlocnet", inputs=[InputSpec("p", "pair", 1, 10)], n_labels=2)
    with pytest.raises(ConfigError, match="unknown encoder"):
        build_model("mmlmirlocnet", inputs=SPECS, n_labels=2, params={"encoder": "lstm"})


def _reverse_json_artifact(run, name):
    """Reverse the list in a JSON artifact and re-hash it in the card: edited, but with a checksum that fits."""
    import hashlib

    card = json.loads((run / "card.json").read_text())
    path = run / card["artifacts"][name]["file"]
    path.write_text(json.dumps(list(reversed(json.loads(path.read_text())))))
    card["artifacts"][name]["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    (run / "card.json").write_text(json.dumps(card))


@pytest.fixture(scope="module")
def mirnas(demo_small):
    """Demo sequences cut to 18-26 nt (miRNA-like lengths), labels kept."""
    rng = np.random.default_rng(0)
    seqs = [s[: int(rng.integers(18, 27))] for s in demo_small.sequences]
    return Dataset.from_sequences(demo_small.ids, seqs, demo_small.labels, demo_small.label_names,
                                  split=demo_small.split)


def test_recipe_trains_saves_loads_and_predicts_short_rnas(mirnas, tmp_path):
    from dataclasses import replace

    from rnalabel import fit, load_model, load_recipe, predict, save_model

    rec = load_recipe("mmlmirlocnet")
    rec = replace(rec, params={**rec.params, "hidden": 8, "filters": 4},
                  views={"kmer": {"type": "kmer", "k": [1, 2]},
                         "w2v": {"type": "word2vec", "k": 3, "dim": 8, "length": 40, "epochs": 2}},
                  train=replace(rec.train, max_epochs=2))
    model, report = fit(rec, mirnas, progress=False, device="cpu")
    assert model.kind == "whole-sequence" and model.window == 120 and report.test is not None
    d = save_model(model, tmp_path / "run")
    card = json.loads((d / "card.json").read_text())
    assert set(card["artifacts"]) == {"view.w2v.vectors", "view.w2v.vocabulary"}
    assert "vectors" not in card["views"]["w2v"]
    loaded = load_model(d)
    np.testing.assert_array_equal(loaded.views["w2v"].vectors, model.views["w2v"].vectors)
    q = Dataset.from_sequences(["miR-21"], ["UAGCUUAUCAGACUGAUGUUGA"])
    np.testing.assert_allclose(predict(loaded, q, progress=False).scores, predict(model, q, progress=False).scores,
                               atol=1e-6)
    with pytest.raises(SequenceError, match="longer than the 120 nt"):
        predict(loaded, Dataset.from_sequences(["pre"], ["ACGU" * 40]), progress=False)
    # a vocabulary that does not match the view (edited, or from another run) is refused, with a checksum that fits
    _reverse_json_artifact(d, "view.w2v.vocabulary")
    with pytest.raises(ModelFileError, match="view 'w2v' cannot take its saved artifacts: the stored vocabulary"):
        load_model(d)


def test_offset_adds_the_logits_of_a_probability_view():
    specs = [*SPECS, InputSpec("nb", "sequence", 4 + 2, 0)]
    m = build_model("mmlmirlocnet", inputs=specs, n_labels=4, params={"hidden": 6, "filters": 3, "offset": "nb"})
    m.eval()
    x = {**_batch(), "nb": torch.tensor([[0.0, 0.5, 0.9, 1.0, 0.7, 0.3]] * 5)}
    p = torch.tensor([0.01, 0.5, 0.9, 0.99])
    torch.testing.assert_close(m(x), m.head(m.fused(x)) + torch.logit(p))  # weight 1 per label at the start
    assert m.offset_weight.requires_grad and m.offset_weight.shape == (4,)
    with pytest.raises(ConfigError, match="offset 'kmer' must name a neighbours view"):
        build_model("mmlmirlocnet", inputs=specs, n_labels=4, params={"offset": "kmer"})  # 20 k-mer frequencies
    with pytest.raises(ConfigError, match="offset 'w2v' must name a neighbours view"):
        build_model("mmlmirlocnet", inputs=specs, n_labels=4, params={"offset": "w2v"})
    with pytest.raises(ConfigError, match="offset 'nbx' must name"):
        build_model("mmlmirlocnet", inputs=specs, n_labels=4, params={"offset": "nbx"})


def test_neighbours_recipe_trains_saves_loads_and_predicts(mirnas, tmp_path, monkeypatch):
    from dataclasses import replace

    from rnalabel import fit, load_model, load_recipe, predict, save_model

    rec = load_recipe("mmlmirlocnet_neighbours")
    assert rec.params["offset"] == "nb" and rec.views["nb"] == {"type": "neighbours"}
    rec = replace(rec, params={**rec.params, "hidden": 8, "filters": 4},
                  views={"kmer": {"type": "kmer", "k": [1, 2]}, "nb": rec.views["nb"]},
                  train=replace(rec.train, max_epochs=2))
    from rnalabel.views.neighbours import Neighbours

    seen = []
    real = Neighbours.transform_training
    monkeypatch.setattr(Neighbours, "transform_training", lambda self, ds: seen.append(len(ds)) or real(self, ds))
    model, _ = fit(rec, mirnas, progress=False, device="cpu")
    assert seen == [int(np.sum(mirnas.split == "train"))]  # training featurises its own rows leave-one-out, once
    nb = model.views["nb"]
    assert nb.k in (5, 10, 25, 50) and nb.selection["grid"]  # chosen on the training rows
    assert len(nb.reference_ids) == int(np.sum(mirnas.split == "train"))
    d = save_model(model, tmp_path / "run")
    card = json.loads((d / "card.json").read_text())
    assert {"view.nb.reference_tokens", "view.nb.reference_labels", "view.nb.reference_ids"} <= set(card["artifacts"])
    assert card["views"]["nb"]["k"] == nb.k  # the chosen values are in the card
    loaded = load_model(d)
    q = Dataset.from_sequences(["miR-21", "let-7a"], ["UAGCUUAUCAGACUGAUGUUGA", "UGAGGUAGUAGGUUGUAUAGUU"])
    np.testing.assert_allclose(predict(loaded, q, progress=False).scores, predict(model, q, progress=False).scores,
                               atol=1e-6)
    # the view's stored label names must be the card's labels, in order (a re-hashed, reversed file is refused)
    _reverse_json_artifact(d, "view.nb.label_names")
    with pytest.raises(ModelFileError, match="view 'nb' gives the labels .* but the card's labels are"):
        load_model(d)
