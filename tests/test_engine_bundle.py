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
    card = json.loads((d / "card.json").read_text())
    card.pop("weights")
    (d / "card.json").write_text(json.dumps(card))
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
    card.pop("weights")
    (d / "card.json").write_text(json.dumps(card))
    with pytest.raises(ModelFileError, match="do not fit"):
        load_model(d)
