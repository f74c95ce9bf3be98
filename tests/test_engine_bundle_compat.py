"""Model directories written by rnalabel's first release (card format 1) still load and predict the same numbers."""

import json
from pathlib import Path

import numpy as np
import pytest

from rnalabel.engine.bundle import ShortSequenceWarning, load_model
from rnalabel.engine.predict import predict
from rnalabel.io import read_input

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def test_v1_model_directory_predicts_what_it_predicted_when_written():
    expected = json.loads((FIXTURES / "v1_expected.json").read_text())
    model = load_model(FIXTURES / "v1_multiresbind")
    assert model.kind == "windowed" and model.artifacts == {} and (model.window, model.stride) == (101, 50)
    with pytest.warns(ShortSequenceWarning, match="1 of 6 sequences are shorter than the 101 nt"):  # short40
        p = predict(model, read_input(FIXTURES / "v1_input.fa"), precision="32", progress=False, device="cpu")
    assert [str(i) for i in p.ids] == expected["ids"]
    assert list(p.label_names) == expected["labels"]
    np.testing.assert_allclose(p.scores, expected["scores"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(p.window_scores, expected["window_scores"], rtol=0, atol=1e-6)
    assert p.window_source.tolist() == expected["window_source"]
    assert p.window_start.tolist() == expected["window_start"]
    assert p.calls.tolist() == expected["calls"]
