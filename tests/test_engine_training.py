import numpy as np
import pytest
import torch

from rnalabel.data import Dataset
from rnalabel.engine.losses import masked_bce, masked_focal, positive_weights
from rnalabel.engine.training import fit, prepare_splits
from rnalabel.errors import InputError, LabelError
from tests.helpers import tiny_recipe


def test_masked_bce_skips_unknown_entries():
    logits = torch.tensor([[0.0, 2.0], [1.0, -1.0]])
    y = torch.tensor([[1.0, float("nan")], [0.0, 1.0]])
    full = torch.nn.functional.binary_cross_entropy_with_logits(
        torch.tensor([0.0, 1.0, -1.0]), torch.tensor([1.0, 0.0, 1.0]))
    assert masked_bce(logits, y).item() == pytest.approx(full.item())
    logits.requires_grad_(True)
    masked_bce(logits, y).backward()
    assert logits.grad[0, 1] == 0


def test_focal_with_gamma_zero_is_bce():
    logits = torch.randn(8, 3)
    y = (torch.rand(8, 3) > 0.5).float()
    y[0, 0] = float("nan")
    assert masked_focal(logits, y, gamma=0.0).item() == pytest.approx(masked_bce(logits, y).item(), rel=1e-5)
    assert masked_focal(logits, y, gamma=2.0) < masked_bce(logits, y)


def test_positive_weights():
    y = np.array([[1, 0], [0, 0], [0, 1], [0, np.nan]], dtype=np.float32)
    assert positive_weights(y, "none") is None
    np.testing.assert_allclose(positive_weights(y, "balanced"), [3.0, 2.0])
    w = positive_weights(y, "log")
    assert (w >= 1).all()


def test_prepare_splits_carves_validation(demo_small):
    ds = demo_small.with_split(np.where(demo_small.split == "val", "train", demo_small.split))
    out = prepare_splits(ds, tiny_recipe().train)
    assert np.sum(out.split == "val") > 0
    assert (out.split[demo_small.split == "test"] == "test").all()


def test_fit_learns_planted_motifs_and_reports():
    from rnalabel.data.synthetic import make_demo_dataset

    ds = make_demo_dataset(2000, seed=3)
    recipe = tiny_recipe().with_train(max_epochs=6, patience=6, lr=3e-3)
    model, report = fit(recipe, ds, progress=False, device="cpu")
    assert report.test is not None and report.n_test == np.sum(ds.split == "test")
    assert len(report.history) == 6 and 1 <= report.best_epoch <= 6
    assert np.isfinite(report.history[0]["train_loss"])
    assert report.test.averages["auroc_macro"] > 0.65  # about 0.76; chance is 0.5
    assert model.thresholds.shape == (5,)
    assert model.window == 101 and model.stride == 50
    assert model.card["training"]["epochs_run"] == 6
    assert set(report.outputs) == {"val", "test"}
    # the learning curve: validation macro AUROC per epoch, and the best epoch's equals the final validation's
    curve = [h["val_auroc"] for h in report.history]
    assert all(0 <= a <= 1 for a in curve) and curve[-1] > curve[0] - 0.05
    assert curve[report.best_epoch - 1] == pytest.approx(report.val.averages["auroc_macro"], abs=0.02)


def test_fit_handles_unknown_labels(demo_small):
    ds = demo_small.subset(slice(None))
    ds.labels = ds.labels.copy()
    ds.labels[::2, 0] = np.nan  # half of label 0 unknown (multi-task data)
    model, report = fit(tiny_recipe(), ds, progress=False, device="cpu")
    assert np.isfinite(report.history[-1]["val_loss"])


def test_fit_refuses_unlabelled_and_too_long(demo_small):
    unl = Dataset.from_sequences(["a", "b", "c", "d", "e"], ["ACGU"] * 5)
    with pytest.raises(LabelError):
        fit(tiny_recipe(), unl, progress=False)
    from dataclasses import replace

    with pytest.raises(InputError, match="longer than the recipe's window"):
        fit(replace(tiny_recipe(), window=50), demo_small, progress=False)


def test_fit_is_reproducible_for_a_seed(demo_small):
    sub = demo_small.subset(np.arange(300))
    a, _ = fit(tiny_recipe(), sub, progress=False, device="cpu")
    b, _ = fit(tiny_recipe(), sub, progress=False, device="cpu")
    for (k, v), (_, w) in zip(a.module.state_dict().items(), b.module.state_dict().items(), strict=True):
        assert torch.equal(v, w), k


def test_labels_with_nothing_to_learn_are_marked_untrained(demo_small):
    import warnings

    from rnalabel.engine.bundle import UntrainedLabelWarning
    from rnalabel.engine.predict import predict

    y = demo_small.labels.copy()
    y[:, 1] = np.nan  # QKI: all unknown
    y[:, 2] = 0  # MBNL1: no positive
    ds = Dataset.from_sequences(demo_small.ids, demo_small.sequences, y, demo_small.label_names,
                                split=demo_small.split)
    with pytest.warns(UntrainedLabelWarning, match="QKI, MBNL1 have no positive or no negative"):
        model, _ = fit(tiny_recipe().with_train(max_epochs=1), ds, progress=False, device="cpu")
    assert model.card["untrained_labels"] == ["QKI", "MBNL1"]
    with pytest.warns(UntrainedLabelWarning, match="QKI, MBNL1 had no positive"):
        predict(model, ds.subset(np.arange(3)), progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UntrainedLabelWarning)
        m2, _ = fit(tiny_recipe().with_train(max_epochs=1), demo_small, progress=False, device="cpu")
        predict(m2, demo_small.subset(np.arange(3)), progress=False)
    nothing = Dataset.from_sequences(demo_small.ids, demo_small.sequences, np.full_like(y, np.nan),
                                     demo_small.label_names, split=demo_small.split)
    with pytest.raises(LabelError, match="no label has both a positive"):  # it trained and exited 0
        fit(tiny_recipe().with_train(max_epochs=1), nothing, progress=False, device="cpu")


def test_emulated_bf16_training_warns(demo_small, monkeypatch):
    """bf16 forced on a CPU without native bf16 (AVX2 only) trains many times slower than fp32: say so."""
    import rnalabel._runtime as R

    monkeypatch.setattr(R, "_cpu_has_bf16", lambda: False)
    rec = tiny_recipe(filters=4, hidden=8)
    small = demo_small.subset(np.arange(200))
    with pytest.warns(RuntimeWarning, match="bf16 is emulated"):
        fit(rec.with_train(precision="bf16-mixed", max_epochs=1), small, progress=False, device="cpu")
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="bf16 is emulated")
        fit(rec.with_train(precision="auto", max_epochs=1), small, progress=False, device="cpu")  # fp32 here


def test_lr_factor_lowers_the_learning_rate_on_a_plateau(demo_small):
    from rnalabel.engine.recipe import TrainConfig
    from rnalabel.errors import ConfigError

    sub = demo_small.subset(np.arange(200))
    rec = tiny_recipe().with_train(max_epochs=6, patience=6, lr=0.05, lr_factor=0.5, lr_patience=0)
    _, report = fit(rec, sub, progress=False, device="cpu")
    lrs = [h["lr"] for h in report.history]
    assert lrs[0] == 0.05 and min(lrs) < 0.05
    for i in range(len(lrs) - 1):  # each epoch's lr is the one it trained with; halved after one that did not improve
        v = [h["val_loss"] for h in report.history]
        improved = i == 0 or v[i] < min(v[:i]) * (1 - 1e-4)  # ReduceLROnPlateau's default relative threshold
        assert lrs[i + 1] == pytest.approx(lrs[i] * (1 if improved else 0.5))
    _, constant = fit(tiny_recipe().with_train(max_epochs=2), sub, progress=False, device="cpu")
    assert {h["lr"] for h in constant.history} == {tiny_recipe().train.lr}  # the default: constant
    for bad in (0, 1.5):
        with pytest.raises(ConfigError, match="lr_factor"):
            TrainConfig(lr_factor=bad)


def test_monitor_val_auroc_keeps_the_epoch_of_highest_validation_auroc(demo_small):
    from rnalabel.engine.recipe import TrainConfig
    from rnalabel.errors import ConfigError

    sub = demo_small.subset(np.arange(200))
    rec = tiny_recipe().with_train(max_epochs=5, patience=1, lr=0.05, monitor="val_auroc", lr_factor=0.5,
                                   lr_patience=0)
    model, report = fit(rec, sub, progress=False, device="cpu")
    auc = [h["val_auroc"] for h in report.history]
    assert report.best_epoch == 1 + int(np.argmax(auc))  # the highest AUROC, not the lowest loss
    # early stopping: stopped after `patience` epochs without a higher AUROC, or at the cap
    assert len(auc) == 5 or len(auc) == report.best_epoch + 1
    lrs = [h["lr"] for h in report.history]
    for i in range(len(lrs) - 1):  # the schedule follows the AUROC too (mode max)
        improved = i == 0 or auc[i] > max(auc[:i]) * (1 + 1e-4)
        assert lrs[i + 1] == pytest.approx(lrs[i] * (1 if improved else 0.5))
    with pytest.raises(ConfigError, match="monitor"):
        TrainConfig(monitor="val_f1")
    # validation rows with one class in every label give no AUROC: a clear error, not Lightning's
    from dataclasses import replace

    labels = sub.labels.copy()
    labels[sub.split == "val"] = 0
    with pytest.raises(ConfigError, match="no validation AUROC"):
        fit(rec.with_train(max_epochs=1), replace(sub, labels=labels), progress=False, device="cpu")
