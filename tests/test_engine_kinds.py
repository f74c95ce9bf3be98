"""Bundle kinds: what one input is and what comes out, for windowed, whole-sequence and embedding models."""

import json

import numpy as np
import pytest

import tests.helpers  # noqa: F401  (registers the toy embedding model)
from rnalabel.data import Dataset
from rnalabel.engine.bundle import load_model, save_model
from rnalabel.engine.evaluate import evaluate
from rnalabel.engine.forward import forward_arrays, sequence_scores
from rnalabel.engine.inputs import make_units
from rnalabel.engine.kinds import get_kind
from rnalabel.engine.predict import Embeddings, Predictions, predict
from rnalabel.engine.recipe import Recipe, TrainConfig
from rnalabel.engine.training import fit
from rnalabel.errors import ConfigError, InputError, ModelFileError, SequenceError

FAST = TrainConfig(batch_size=64, max_epochs=2, patience=2, seed=0)


def _varied(ds: Dataset, seed: int = 0) -> Dataset:
    """The demo sequences cut to lengths between 40 and 101 nt, labels kept."""
    rng = np.random.default_rng(seed)
    seqs = [s[: int(rng.integers(40, 102))] for s in ds.sequences]
    return Dataset.from_sequences(ds.ids, seqs, ds.labels, ds.label_names, split=ds.split)


def test_kinds_and_units():
    assert [get_kind(k).scans for k in ("windowed", "whole-sequence", "embedding")] == [True, False, False]
    with pytest.raises(ConfigError, match="unknown model kind"):
        get_kind("streaming")
    ds = Dataset.from_sequences(["a", "b"], ["ACGU" * 10, "ACG"])
    u = make_units(ds, kind="windowed", window=16, stride=8)
    assert u.source.tolist() == [0, 0, 0, 0, 1] and u.dataset.width == 16
    u = make_units(ds, kind="whole-sequence", window=40, stride=None)
    assert u.source.tolist() == [0, 1] and u.dataset.width == 40
    u = make_units(ds, kind="embedding", window=None, stride=None)
    assert u.source.tolist() == [0, 1] and u.dataset.lengths.tolist() == [40, 3]
    with pytest.raises(SequenceError, match="'a' is 40 nt long, longer than the 20 nt"):
        make_units(ds, kind="whole-sequence", window=20, stride=None)
    ds.provenance["source"] = "mirnas.fa"  # read from a file: the message names it
    with pytest.raises(SequenceError, match="^mirnas.fa: sequence 'a' is 40 nt long"):
        make_units(ds, kind="whole-sequence", window=20, stride=None)


def test_whole_sequence_model_scores_each_sequence_once(demo_small, tmp_path):
    ds = _varied(demo_small)
    rec = Recipe(name="ws", model="deepbind", kind="whole-sequence", params={"filters": 8, "kernel": 12, "hidden": 16},
                 views={"seq": {"type": "onehot"}}, train=FAST)
    model, report = fit(rec, ds, progress=False, device="cpu")
    assert model.kind == "whole-sequence" and model.window == int(ds.lengths.max()) and model.stride is None
    assert report.test is not None
    d = save_model(model, tmp_path / "ws")
    card = json.loads((d / "card.json").read_text())
    assert card["format_version"] == 2 and card["kind"] == "whole-sequence" and card["recipe"]["kind"] == "whole-sequence"
    loaded = load_model(d)
    test = ds.select_split("test")
    p = predict(loaded, test, progress=False)
    assert isinstance(p, Predictions)
    assert p.window_source.tolist() == list(range(len(test)))  # one unit per sequence
    np.testing.assert_array_equal(p.scores, p.window_scores)
    np.testing.assert_array_equal(p.window_end, test.lengths)
    np.testing.assert_allclose(p.scores, predict(model, test, progress=False).scores, atol=1e-6)
    too_long = Dataset.from_sequences(["long"], [test.sequences[0] * 3])
    with pytest.raises(SequenceError, match="longer than the"):
        predict(loaded, too_long, progress=False)
    card["kind"] = "windowed"  # edited by hand: refused at load, naming the card (it failed later, nameless)
    (d / "card.json").write_text(json.dumps(card))
    with pytest.raises(ModelFileError, match=r"card\.json.*a windowed model needs a window and a stride"):
        load_model(d)


def test_embedding_model_predicts_vectors_and_is_evaluated_on_its_head(demo_small, tmp_path):
    rec = Recipe(name="emb", model="toy-embed", params={"dim": 6}, views={"k": {"type": "kmer", "k": [1, 2]}},
                 train=FAST)
    model, _ = fit(rec, demo_small, progress=False, device="cpu")
    assert model.kind == "embedding" and model.window is None  # per-sequence views only: any length
    d = save_model(model, tmp_path / "emb")
    loaded = load_model(d)
    ds = Dataset.from_sequences(["short", "long"], ["ACGUACGUAC", demo_small.sequences[0] * 4])
    e = predict(loaded, ds, progress=False)
    assert isinstance(e, Embeddings) and e.vectors.shape == (2, 6)
    np.testing.assert_allclose(e.vectors, forward_arrays(loaded, loaded.featurize(ds), output="embedding"))
    lines = e.to_tsv(tmp_path / "e.tsv").read_text().splitlines()
    assert lines[0].split("\t") == ["id", "d0", "d1", "d2", "d3", "d4", "d5"] and lines[1].startswith("short\t")
    scores = evaluate(loaded, demo_small.select_split("test"), progress=False)
    assert scores.y_score.shape == (len(demo_small.select_split("test")), 5)
    assert 0 <= scores.scores.averages["auroc_macro"] <= 1


def test_kind_must_be_served_by_the_model(demo_small):
    rec = Recipe(name="x", model="multiresbind", kind="embedding", train=FAST)
    with pytest.raises(ConfigError, match="does not serve the embedding kind"):
        fit(rec, demo_small, progress=False, device="cpu")
    with pytest.raises(ConfigError, match="unknown model kind"):
        Recipe(name="x", model="multiresbind", kind="sideways")


def test_one_forward_pass_for_every_output(trained_tiny, demo_small):
    x = trained_tiny.featurize(trained_tiny.units(demo_small.subset(np.arange(20))).dataset)
    logits = forward_arrays(trained_tiny, x, output="logit", batch_size=7)
    prob = forward_arrays(trained_tiny, x, output="probability", batch_size=20)
    np.testing.assert_allclose(prob, 1 / (1 + np.exp(-logits)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(forward_arrays(trained_tiny, x, output="logit", label=3), logits[:, 3], atol=1e-6)
    np.testing.assert_allclose(sequence_scores(trained_tiny, demo_small.subset(np.arange(20)), progress=False), prob,
                               atol=1e-6)
    for bad in (0, -1, 2.5):
        with pytest.raises(InputError, match="batch size must be a positive integer"):
            forward_arrays(trained_tiny, x, batch_size=bad)
    with pytest.raises(ConfigError, match="no embeddings"):
        forward_arrays(trained_tiny, x, output="embedding")


def test_explain_runs_on_a_whole_sequence_model(demo_small):
    from rnalabel.explain import integrated_gradients

    ds = _varied(demo_small)
    rec = Recipe(name="ws", model="deepbind", kind="whole-sequence", params={"filters": 8, "kernel": 12, "hidden": 16},
                 views={"seq": {"type": "onehot"}}, train=FAST)
    model, _ = fit(rec, ds, progress=False, device="cpu")
    sub = ds.subset(np.arange(4))
    attr = integrated_gradients(model, sub, label="PUM2", baseline="zero", steps=64, progress=False)
    assert len(attr) == 4 and attr.windows.source.tolist() == [0, 1, 2, 3]
    assert np.all(attr.total[np.arange(model.window)[None, :] >= sub.lengths[:, None]] == 0)  # padding gets nothing


def test_the_short_api_is_importable_from_the_package():
    import rnalabel

    for name in ("Dataset", "read_input", "load_recipe", "fit", "save_model", "load_model", "predict", "evaluate"):
        assert callable(getattr(rnalabel, name))
    with pytest.raises(AttributeError):
        rnalabel.nothing_here  # noqa: B018


def test_review_fixes_explain_without_mapped_views_demo_kind_and_long_test_rows(demo_small, tmp_path):
    from rnalabel.demo import run_demo
    from rnalabel.explain import explain

    # a whole-sequence model on an unmappable view is explained (no track, no motifs) instead of crashing
    rec = Recipe(name="len", model="toy-embed", kind="whole-sequence", views={"n": {"type": "toy-length"}},
                 train=FAST)
    model, _ = fit(rec, demo_small, progress=False, device="cpu")
    res = explain(model, demo_small.subset(np.arange(30)), label="PUM2", baseline="zero", steps=8, n_low=10,
                  progress=False)["PUM2"]
    assert res.attributions.unmapped == ["n"] and res.motifs == []
    assert res.attributions.total.shape == (len(res.attributions), demo_small.width)
    with pytest.raises(InputError, match="max_positives .* at least top"):
        explain(model, demo_small.subset(np.arange(30)), label="PUM2", top=3, max_positives=1, progress=False)
    # the demo needs a windowed recipe and says so before it trains or writes anything
    (tmp_path / "ws.yaml").write_text("model: deepbind\nkind: whole-sequence\n")
    with pytest.raises(ConfigError, match="needs a windowed recipe"):
        run_demo(tmp_path / "demo", recipe=str(tmp_path / "ws.yaml"), n=50, progress=False)
    assert not (tmp_path / "demo").exists()
    # a whole-sequence model's input width covers its validation and test rows, so it never fails after training
    ds = _varied(demo_small)
    longest_test = int(ds.select_split("test").lengths.max())
    ds = Dataset.from_sequences(ds.ids, [s[:60] if sp == "train" else s for s, sp in zip(ds.sequences, ds.split,
                                strict=True)], ds.labels, ds.label_names, split=ds.split)
    rec = Recipe(name="ws", model="deepbind", kind="whole-sequence", params={"filters": 4, "kernel": 8, "hidden": 8},
                 train=FAST)
    model, report = fit(rec, ds, progress=False, device="cpu")
    assert model.window >= longest_test > 60 and report.test is not None


def test_devices_are_checked_before_work(demo_small, tmp_path):
    from rnalabel._runtime import resolve_device
    from rnalabel.data import atomic_path

    with pytest.raises(InputError, match="unknown device 'gpu0'"):
        resolve_device("gpu0")
    if not __import__("torch").cuda.is_available():
        with pytest.raises(InputError, match="no CUDA GPU"):
            resolve_device("cuda")
    with pytest.raises(InputError, match="devices must be a whole number"):
        fit(Recipe(name="x", model="deepbind", train=FAST), demo_small, devices=0, progress=False)
    with pytest.raises(InputError, match="is a directory"):
        with atomic_path(tmp_path):
            pass


def test_messages_use_the_right_article():
    from rnalabel.errors import a_or_an

    assert [a_or_an(k) for k in ("embedding", "windowed", "whole-sequence")] == [
        "an embedding", "a windowed", "a whole-sequence"]
