import json
import pickle

import numpy as np
import pytest
import torch

from rnalabel.engine.bundle import load_model, save_model
from rnalabel.engine.predict import predict
from rnalabel.errors import ModelFileError


def test_save_load_predict_identical(trained_tiny, demo_small, tmp_path):
    d = save_model(trained_tiny, tmp_path / "run")
    assert (d / "model.safetensors").exists() and (d / "card.json").exists()
    card = json.loads((d / "card.json").read_text())
    assert card["labels"] == trained_tiny.label_names
    assert card["views"]["seq"] == {"type": "onehot", "pad_value": 0.25, "flank": 0}
    assert card["model"]["name"] == "multiresbind" and card["model"]["params"]["filters"] == 16
    assert set(card["thresholds"]) == set(trained_tiny.label_names)
    assert "metrics" in card and "provenance" in card and card["rnalabel_version"]
    loaded = load_model(d)
    a = predict(trained_tiny, demo_small, progress=False).scores
    b = predict(loaded, demo_small, progress=False).scores
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(loaded.thresholds, trained_tiny.thresholds)


def test_missing_files(trained_tiny, tmp_path):
    with pytest.raises(ModelFileError, match="not a model directory"):
        load_model(tmp_path / "nope")
    d = save_model(trained_tiny, tmp_path / "run")
    (d / "model.safetensors").unlink()
    with pytest.raises(ModelFileError, match="model.safetensors is missing"):
        load_model(d)
    (d / "card.json").unlink()
    with pytest.raises(ModelFileError, match="card.json is missing"):
        load_model(d)


def test_corrupt_card_and_weights(trained_tiny, tmp_path):
    d = save_model(trained_tiny, tmp_path / "run")
    w = (d / "model.safetensors").read_bytes()
    (d / "model.safetensors").write_bytes(w[:-10] + b"0123456789")
    with pytest.raises(ModelFileError, match="checksum"):
        load_model(d)
    (d / "model.safetensors").write_bytes(w[:100])
    with pytest.raises(ModelFileError):
        load_model(d)
    (d / "model.safetensors").write_bytes(w)
    (d / "card.json").write_text("{ not json")
    with pytest.raises(ModelFileError, match="not valid JSON"):
        load_model(d)


def test_pickle_weights_are_refused(trained_tiny, tmp_path, monkeypatch):
    d = save_model(trained_tiny, tmp_path / "run")
    called = []
    monkeypatch.setattr(pickle, "loads", lambda *a, **k: called.append(1))
    torch.save(trained_tiny.module.state_dict(), d / "model.safetensors")
    with pytest.raises(ModelFileError, match="never unpickles"):
        load_model(d)
    (d / "model.safetensors").write_bytes(pickle.dumps({"a": 1}, protocol=4))
    with pytest.raises(ModelFileError, match="pickle"):
        load_model(d)
    assert not called


def test_weights_that_do_not_fit_the_card(trained_tiny, tmp_path):
    d = save_model(trained_tiny, tmp_path / "run")
    card = json.loads((d / "card.json").read_text())
    card["model"]["params"]["filters"] = 8
    (d / "card.json").write_text(json.dumps(card))
    with pytest.raises(ModelFileError, match="do not fit"):
        load_model(d)


def test_card_v2_says_kind_and_lists_artifacts_with_checksums(trained_tiny, tmp_path):
    from dataclasses import replace

    from rnalabel.engine.bundle import Artifact

    vocab = {"tokens": ["AAA", "AAC"], "k": 3}
    vectors = np.arange(12, dtype=np.float32).reshape(3, 4)
    m = replace(trained_tiny, artifacts={
        "vectors": Artifact(vectors, "npy", "word vectors"), "vocab": Artifact(vocab, "json"),
        "index": Artifact(b"\x00faiss-bytes\x01", "faiss"),
    }, label_info={"PUM2": {"proteins": ["PUM2"]}})
    d = save_model(m, tmp_path / "run")
    card = json.loads((d / "card.json").read_text())
    assert card["format_version"] == 2 and card["kind"] == "windowed"
    assert card["label_info"] == {"PUM2": {"proteins": ["PUM2"]}}
    assert card["artifacts"]["vectors"]["file"] == "artifacts/vectors.npy"
    assert card["artifacts"]["vectors"]["description"] == "word vectors"
    assert len(card["artifacts"]["index"]["sha256"]) == 64
    loaded = load_model(d)
    np.testing.assert_array_equal(loaded.artifacts["vectors"].value, vectors)
    assert loaded.artifacts["vocab"].value == vocab
    assert loaded.artifacts["index"].value == b"\x00faiss-bytes\x01"
    assert loaded.label_info == {"PUM2": {"proteins": ["PUM2"]}}
    # a damaged artifact is refused
    (d / "artifacts" / "vocab.json").write_text('{"tokens": ["UUU"], "k": 3}')
    with pytest.raises(ModelFileError, match="artifact 'vocab' does not match the checksum"):
        load_model(d)


def test_artifacts_never_unpickle_and_stay_inside_the_bundle(trained_tiny, tmp_path):
    from dataclasses import replace

    from rnalabel.engine.bundle import Artifact
    from rnalabel.errors import ConfigError

    with pytest.raises(ConfigError, match="cannot hold Python objects"):
        Artifact(np.array([{"a": 1}], dtype=object), "npy")
    with pytest.raises(ConfigError, match="not a plain file name"):
        save_model(replace(trained_tiny, artifacts={"../x": Artifact([1], "json")}), tmp_path / "bad")
    d = save_model(replace(trained_tiny, artifacts={"v": Artifact(np.zeros(3), "npy")}), tmp_path / "run")
    card = json.loads((d / "card.json").read_text())
    # an npy file replaced by a pickled object array, with a matching checksum: refused, never unpickled
    import hashlib

    path = d / "artifacts" / "v.npy"
    np.save(path, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    card["artifacts"]["v"]["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    (d / "card.json").write_text(json.dumps(card))
    called = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pickle, "loads", lambda *a, **k: called.append(1))
        with pytest.raises(ModelFileError, match="never unpickles"):
            load_model(d)
    assert not called
    card["artifacts"]["v"]["file"] = "../card.json"
    (d / "card.json").write_text(json.dumps(card))
    with pytest.raises(ModelFileError, match="outside the model's artifacts/ folder"):
        load_model(d)


def test_cards_from_a_newer_format_are_refused_clearly(trained_tiny, tmp_path):
    d = save_model(trained_tiny, tmp_path / "run")
    card = json.loads((d / "card.json").read_text())
    card["format_version"] = 3
    (d / "card.json").write_text(json.dumps(card))
    with pytest.raises(ModelFileError, match="format_version 3"):
        load_model(d)


@pytest.mark.parametrize("edit, match", [
    (lambda c: c.pop("weights"), "lacks the checksum of the weights"),
    (lambda c: c["thresholds"].update({"PUM2": "high"}), "card cannot be used"),
    (lambda c: c["thresholds"].update({"PUM2": 2.5}), "threshold of label 'PUM2' is 2.5; a threshold is a prob"),
    (lambda c: c["thresholds"].update({"PUM2": float("nan")}), "threshold of label 'PUM2' is nan"),
    (lambda c: c.update(window="wide"), "window must be a whole number"),
    (lambda c: c.update(artifacts=["x"]), "card's 'artifacts' must be an object"),
    (lambda c: c.update(kind="sideways"), "unknown model kind"),
])
def test_edited_cards_give_one_clear_error(trained_tiny, tmp_path, edit, match):
    d = save_model(trained_tiny, tmp_path / "run")
    card = json.loads((d / "card.json").read_text())
    edit(card)
    (d / "card.json").write_text(json.dumps(card))
    with pytest.raises(ModelFileError, match=match):
        load_model(d)


def test_card_labels_and_window_must_match_the_weights(trained_tiny, tmp_path):
    d = save_model(trained_tiny, tmp_path / "run")
    card = json.loads((d / "card.json").read_text())
    swapped = dict(card, labels=[card["labels"][1], card["labels"][0], *card["labels"][2:]])
    (d / "card.json").write_text(json.dumps(swapped))
    with pytest.raises(ModelFileError, match="labels are not the ones the weights were trained with"):
        load_model(d)
    (d / "card.json").write_text(json.dumps(dict(card, window=90)))
    with pytest.raises(ModelFileError, match="window \\(90 nt\\) view 'seq' gives inputs of 4 x 90"):
        load_model(d)
    (d / "card.json").write_text(json.dumps(card))
    assert load_model(d).label_names == card["labels"]


@pytest.mark.parametrize("edit", [
    lambda c: c.update(stride=1000),  # a 3-kb RNA scanned in 4 windows instead of 59
    lambda c: c["views"]["seq"].update(pad_value=0.9),  # every short RNA scored on other padding
    lambda c: c["model"]["params"].update(dropout=[0.0, 0.0, 0.0]),
])
def test_card_fields_that_change_answers_are_covered_by_the_weights(trained_tiny, tmp_path, edit):
    d = save_model(trained_tiny, tmp_path / "run")
    card = json.loads((d / "card.json").read_text())
    assert load_model(d) is not None
    edit(card)
    (d / "card.json").write_text(json.dumps(card))
    with pytest.raises(ModelFileError, match="featurisation, scanning or architecture fields"):
        load_model(d)


def test_a_safetensors_header_of_640_bytes_is_not_taken_for_a_pickle(tmp_path):
    # the header length is little-endian: 640 begins b"\x80\x02", the bytes of a protocol-2 pickle
    from safetensors.torch import load_file, save_file

    from rnalabel.engine.bundle import _check_weights_file

    for pad in range(400, 700):
        p = tmp_path / "w.safetensors"
        save_file({"w": torch.zeros(2)}, str(p), metadata={"x": "y" * pad})
        if p.read_bytes()[:2] == b"\x80\x02":
            break
    else:
        pytest.skip("no padding gave a 640-byte header")
    _check_weights_file(p)  # not refused as a pickle
    assert load_file(str(p))["w"].shape == (2,)
