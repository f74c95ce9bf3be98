import numpy as np
import pytest

from rnalabel.data import Dataset
from rnalabel.engine.bundle import ShortSequenceWarning
from rnalabel.engine.predict import predict


def test_batch_size_independence(trained_tiny, demo_small):
    a = predict(trained_tiny, demo_small, batch_size=1, progress=False).scores[:40]
    b = predict(trained_tiny, demo_small.subset(np.arange(40)), batch_size=64, progress=False).scores
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_long_sequences_are_scanned_not_truncated(trained_tiny, demo_small):
    seqs = demo_small.sequences
    long = seqs[0] + seqs[1] + seqs[2][:50]  # 252 nt
    ds = Dataset.from_sequences(["long", "short"], [long, seqs[3][:60]])
    with pytest.warns(ShortSequenceWarning):  # trained without shortened copies
        p = predict(trained_tiny, ds, progress=False)
    assert p.scores.shape == (2, 5)
    assert p.window_source.tolist() == [0, 0, 0, 0, 0, 1]
    assert p.window_start.tolist() == [0, 50, 100, 150, 151, 0]  # the last window ends at the last base
    np.testing.assert_allclose(p.scores[0], p.window_scores[:5].max(axis=0))
    # the first window is exactly sequence 0 of the dataset
    alone = predict(trained_tiny, Dataset.from_sequences(["x"], [seqs[0]]), progress=False).scores[0]
    np.testing.assert_allclose(p.window_scores[0], alone, rtol=1e-5, atol=1e-6)


def test_predict_restores_module_mode(trained_tiny, demo_small):
    trained_tiny.module.train()
    predict(trained_tiny, demo_small.subset(np.arange(5)), progress=False)
    assert trained_tiny.module.training
    trained_tiny.module.eval()


def test_tsv_output(trained_tiny, demo_small, tmp_path):
    p = predict(trained_tiny, demo_small.subset(np.arange(3)), progress=False)
    out = p.to_tsv(tmp_path / "p.tsv")
    lines = out.read_text().splitlines()
    assert lines[0].split("\t") == ["id", *trained_tiny.label_names, "called_labels"]
    assert len(lines) == 4
    w = p.to_tsv(tmp_path / "w.tsv", windows=True).read_text().splitlines()
    assert w[0].startswith("id\tstart\tend") and w[1].split("\t")[1:3] == ["1", "101"]


def test_bf16_inference_is_close_and_auto_follows_training(trained_tiny, demo_small, monkeypatch):
    from dataclasses import replace

    import pytest

    from rnalabel.engine.forward import inference_bf16
    from rnalabel.errors import ConfigError

    sub = demo_small.subset(np.arange(64))
    a = predict(trained_tiny, sub, precision="32", progress=False).scores
    b = predict(trained_tiny, sub, precision="bf16", progress=False).scores
    assert np.abs(a - b).max() < 0.05
    assert not inference_bf16(trained_tiny)  # trained in fp32
    bf = replace(trained_tiny, recipe=trained_tiny.recipe.with_train(precision="bf16-mixed"))
    import rnalabel._runtime as R

    monkeypatch.setattr(R, "_cpu_has_bf16", lambda: True)
    assert inference_bf16(bf, device="cpu")
    monkeypatch.setattr(R, "_cpu_has_bf16", lambda: False)  # emulated bf16: fp32 is many times faster
    assert not inference_bf16(bf, device="cpu")
    assert inference_bf16(bf, "bf16", device="cpu")  # unless asked for
    with pytest.raises(ConfigError):
        inference_bf16(trained_tiny, "fp8")


def test_sequences_without_a_letter_get_no_calls_and_one_warning(trained_tiny):
    import warnings as w

    from rnalabel.data import Dataset
    from rnalabel.engine.bundle import UninformativeSequenceWarning
    from rnalabel.engine.predict import predict

    model = trained_tiny
    ds = Dataset.from_sequences(["blank", "real"], ["N" * 60, "UGUAAAUAUGUAAAUA" * 4])
    old = model.thresholds.copy()
    model.thresholds[:] = 0.0  # everything would be called
    try:
        with w.catch_warnings(record=True) as caught:
            w.simplefilter("always")
            p = predict(model, ds, progress=False, device="cpu")
    finally:
        model.thresholds[:] = old
    assert not p.calls[0].any() and p.calls[1].all()
    msgs = [str(c.message) for c in caught if issubclass(c.category, UninformativeSequenceWarning)]
    assert len(msgs) == 1 and "'blank'" in msgs[0]


def test_labels_near_chance_are_named_once(trained_tiny):
    import copy
    import warnings as w

    from rnalabel.data import Dataset
    from rnalabel.engine.bundle import UnreliableLabelWarning
    from rnalabel.engine.predict import predict

    model = copy.copy(trained_tiny)
    model.card = copy.deepcopy(trained_tiny.card)
    name = model.label_names[0]
    model.card["metrics"]["val"]["per_label"][name]["auroc"] = 0.55
    with w.catch_warnings(record=True) as caught:
        w.simplefilter("always")
        predict(model, Dataset.from_sequences(["a"], ["ACGU" * 20]), progress=False, device="cpu")
    msgs = [str(c.message) for c in caught if issubclass(c.category, UnreliableLabelWarning)]
    assert len(msgs) == 1 and f"{name} 0.55" in msgs[0]


def test_a_pseudo_label_is_never_called(trained_tiny):
    import copy

    from rnalabel.data import Dataset
    from rnalabel.engine.predict import predict

    model = copy.copy(trained_tiny)
    name = model.label_names[-1]
    model.label_info = {name: {"pseudo": True, "meaning": "bound in no experiment (not a protein)"}}
    model.thresholds = np.zeros(len(model.label_names))
    p = predict(model, Dataset.from_sequences(["a", "b"], ["ACGU" * 20, "UGUAAAUA" * 10]), progress=False,
                device="cpu")
    assert not p.calls[:, -1].any() and p.calls[:, :-1].all()
    assert (p.scores[:, -1] > 0).all()  # still scored
