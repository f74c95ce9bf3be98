"""The word2vec view: skip-gram k-mer vectors learned on the training rows, deterministic, stored as artifacts."""

import json
import subprocess
import sys

import numpy as np
import pytest

from rnalabel.data import Dataset
from rnalabel.errors import ConfigError, SequenceError
from rnalabel.views import Word2Vec, build_view


def test_fit_transform_layout_and_determinism(demo_small):
    view = build_view({"type": "word2vec", "k": 3, "dim": 8, "length": 30, "epochs": 2})
    with pytest.raises(ConfigError, match="must be fitted"):
        view.transform(demo_small)
    fitted = view.fit(demo_small)
    assert fitted.vectors.shape == (64, 8) and fitted.vocabulary[:2] == ["AAA", "AAC"]
    assert fitted == view  # artifacts are not parameters
    assert "vectors" not in fitted.spec() and fitted.spec()["dim"] == 8
    ds = Dataset.from_sequences(["a", "b"], ["ACGUNACG", "A" * 32])
    x = fitted.transform(ds)
    assert x.shape == (2, 8, 30) and x.dtype == np.float32
    np.testing.assert_allclose(x[0, :, 0], fitted.vectors[6])  # ACG = 0*16 + 1*4 + 2
    np.testing.assert_allclose(x[0, :, 5], fitted.vectors[6])  # ACG again at position 6 (1-based)
    assert np.all(x[0, :, 2:5] == 0) and np.all(x[0, :, 6:] == 0)  # GUN, UNA, NAC hold N; past the end
    np.testing.assert_allclose(x[1, :, 29], fitted.vectors[0])  # AAA all along: 32 nt are 30 3-mers
    with pytest.raises(SequenceError, match="is 33 nt long, longer than the 32 nt the word2vec view"):
        fitted.transform(Dataset.from_sequences(["c"], ["A" * 33]))  # refused, never cut
    again = view.fit(demo_small)
    np.testing.assert_array_equal(again.vectors, fitted.vectors)


def test_vectors_are_the_same_in_another_process(demo_small, tmp_path):
    demo_small.to_parquet(tmp_path / "d.parquet")
    code = ("import sys, numpy as np; from rnalabel.data import Dataset; from rnalabel.views import build_view; "
            f"ds = Dataset.from_parquet({str(tmp_path / 'd.parquet')!r}); "
            "v = build_view({'type': 'word2vec', 'dim': 8, 'epochs': 2}).fit(ds); "
            "sys.stdout.write(repr(float(np.abs(v.vectors).sum())))")
    runs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           env={"PYTHONHASHSEED": str(seed), "PATH": ""}).stdout for seed in (1, 2)}
    assert len(runs) == 1 and float(runs.pop()) > 0


def test_artifacts_round_trip_and_mismatch(demo_small):
    fitted = Word2Vec(k=2, dim=4, epochs=1).fit(demo_small)
    arts = fitted.artifacts()
    assert set(arts) == {"vectors", "vocabulary"} and json.dumps(arts["vocabulary"])
    back = Word2Vec(k=2, dim=4, epochs=1).with_artifacts(arts)
    np.testing.assert_array_equal(back.vectors, fitted.vectors)
    with pytest.raises(ConfigError, match="vocabulary is not the 16 2-mers"):
        Word2Vec(k=2, dim=4).with_artifacts({**arts, "vocabulary": list(reversed(arts["vocabulary"]))})
    with pytest.raises(ConfigError, match="shape"):
        Word2Vec(k=2, dim=5).with_artifacts(arts)
    with pytest.raises(ConfigError, match="dim must be a whole number"):
        build_view({"type": "word2vec", "dim": 0})
    with pytest.raises(ConfigError, match="no parameter"):
        build_view({"type": "word2vec", "vectors": [1, 2]})
