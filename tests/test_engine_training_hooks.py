"""fit's generic hooks (training_losses, training stages, init_state) and MMFA trained end to end through them."""

import json
from dataclasses import dataclass, replace

import numpy as np
import pytest
import torch
import yaml
from torch import nn
from typer.testing import CliRunner

from rnalabel.engine.bundle import load_model, save_model
from rnalabel.engine.predict import predict
from rnalabel.engine.recipe import Recipe, TrainConfig, load_recipe
from rnalabel.engine.training import fit
from rnalabel.errors import ConfigError
from rnalabel.models.mmfa import view_encoder_state
from rnalabel.models.registry import InputSpec, register_model

FAST = TrainConfig(batch_size=64, max_epochs=1, patience=1, seed=0)


@register_model("test_staged")
class Staged(nn.Module):
    """Two stages: ``first`` trains ``a`` only, ``second`` trains ``b`` only; extra loss terms and a monitor."""

    @dataclass(frozen=True)
    class Config:
        inputs: tuple[InputSpec, ...]
        n_labels: int

    def __init__(self, *, inputs, n_labels):
        super().__init__()
        self.name = inputs[0].name
        self.a = nn.Conv1d(inputs[0].channels, 4, 3)
        self.b = nn.Linear(4, n_labels)
        self.calls: dict[str, int] = {}
        self.stage = "second"

    @classmethod
    def from_config(cls, cfg):
        return cls(inputs=cfg.inputs, n_labels=cfg.n_labels)

    def forward(self, x):
        return self.b(torch.relu(self.a(x[self.name])).mean(2))

    def training_stages(self):
        return ("first", "second")

    def set_training_stage(self, stage):
        self.stage = stage
        self.a.requires_grad_(stage == "first")
        self.b.requires_grad_(stage == "second")

    def training_losses(self, x, y, base_loss):
        self.calls[self.stage] = self.calls.get(self.stage, 0) + 1
        ml = base_loss(self(x), y)
        return {"ml": ml, "extra": torch.zeros(()), "total": ml, "monitor": torch.full((), 0.125)}


def _recipe(model="test_staged", **params):
    return Recipe(name="t", model=model, params=params, views={"seq": {"type": "onehot"}}, train=FAST)


def test_stages_run_in_order_with_the_loss_hook(demo_small):
    model, report = fit(_recipe(), demo_small, progress=False, device="cpu")
    assert [h["stage"] for h in report.history] == ["first", "second"]
    assert model.card["training"]["stages"] == ["first", "second"]
    assert set(model.module.calls) == {"first", "second"}
    assert all(h["val_loss"] == 0.125 for h in report.history)  # the "monitor" entry is the validation loss
    assert all(p.requires_grad for p in model.module.parameters())  # nothing stays frozen after fit


def test_one_stage_from_init_state_keeps_frozen_weights(demo_small):
    init = {"a.weight": torch.full((4, 4, 3), 0.1), "a.bias": torch.zeros(4)}
    model, report = fit(_recipe(), demo_small, progress=False, device="cpu", stages=["second"], init_state=init)
    assert [h["stage"] for h in report.history] == ["second"]
    assert torch.equal(model.module.a.weight, init["a.weight"])  # not trained in stage "second"
    with pytest.raises(ConfigError, match="no training stage"):
        fit(_recipe(), demo_small, progress=False, device="cpu", stages=["third"])
    with pytest.raises(ConfigError, match="init_state"):
        fit(_recipe(), demo_small, progress=False, device="cpu", init_state={"c.weight": torch.zeros(1)})


def test_models_without_hooks_are_unchanged(demo_small):
    model, report = fit(_recipe("deepbind", filters=4, kernel=6, hidden=8), demo_small, progress=False, device="cpu")
    assert "stage" not in report.history[0] and "stages" not in model.card["training"]


# MMFA through fit, save/load and predict ----------------------------------------------------------------
def _tiny_mmfa(recipe: str = "mmfa") -> Recipe:
    r = load_recipe(recipe)
    small = {"filters": 8, "hidden": 16} | ({"common_dim": 8} if r.model == "mmfa" else {})
    return replace(r, params={**r.params, **small}, train=FAST)


def test_mmfa_fit_save_load_predict(demo_small, tmp_path):
    model, report = fit(_tiny_mmfa(), demo_small, progress=False, device="cpu")
    assert [h["stage"] for h in report.history] == ["features", "fusion"]
    assert [s.name for s in model.inputs] == ["rna", "aminoacid", "dipeptide"]
    assert [(s.channels, s.length) for s in model.inputs] == [(4, 111), (20, 99), (440, 30)]
    save_model(model, tmp_path / "m")
    card = json.loads((tmp_path / "m" / "card.json").read_text())
    assert [v["type"] for v in card["views"].values()] == ["onehot", "aminoacid", "dipeptide"]
    assert card["views"]["rna"]["flank"] == 5 and card["model"]["params"]["lambda_common"] == 1e-3
    back = load_model(tmp_path / "m")
    ds = demo_small.subset(np.arange(20))
    np.testing.assert_allclose(predict(back, ds, progress=False).scores, predict(model, ds, progress=False).scores,
                               atol=1e-6)


def test_mmfa_fusion_on_pretrained_view_cnns(demo_small):
    cnn, _ = fit(_tiny_mmfa("viewcnn_rna"), demo_small, progress=False, device="cpu")
    rec = _tiny_mmfa("mmfa_rna_aminoacid")
    rec = replace(rec, params={**rec.params, "attention": False})
    model, report = fit(rec, demo_small, progress=False, device="cpu", stages=["fusion"],
                        init_state=view_encoder_state({"rna": cnn.module}))
    assert [h["stage"] for h in report.history] == ["fusion"]
    for k, v in cnn.module.encoder.state_dict().items():
        assert torch.equal(model.module.encoders["rna"].state_dict()[k], v)  # frozen: unchanged


def test_cli_trains_the_mmfa_recipe(demo_small, tmp_path):
    from rnalabel.cli import app

    demo_small.to_parquet(tmp_path / "data.parquet")
    r = load_recipe("mmfa")
    d = {"model": "mmfa", "params": {**r.params, "filters": 8, "hidden": 16, "common_dim": 8},
         "views": r.views, "train": {"max_epochs": 1, "batch_size": 64}}
    (tmp_path / "mmfa.yaml").write_text(yaml.safe_dump(d))
    res = CliRunner().invoke(app, ["train", str(tmp_path / "data.parquet"), "--out", str(tmp_path / "run"),
                                   "--recipe", str(tmp_path / "mmfa.yaml"), "--no-progress"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    res = CliRunner().invoke(app, ["predict", str(tmp_path / "run"), str(tmp_path / "data.parquet"),
                                   "--out", str(tmp_path / "p.tsv")], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert len((tmp_path / "p.tsv").read_text().splitlines()) == len(demo_small) + 1


def test_builtin_mmfa_recipes_build():
    from rnalabel.engine.recipe import recipe_names
    from rnalabel.models.registry import build_model
    from rnalabel.views import build_view

    names = [n for n in recipe_names() if n.startswith(("mmfa", "viewcnn"))]
    assert len(names) == 8
    for n in names:
        r = load_recipe(n)
        views = {k: build_view(v) for k, v in r.views.items()}
        lengths = {"onehot": 111, "aminoacid": 99, "dipeptide": 30}
        inputs = [InputSpec(k, "position", v.channels(), lengths[v.type]) for k, v in views.items()]
        assert build_model(r.model, inputs=inputs, n_labels=92, params=r.params) is not None
