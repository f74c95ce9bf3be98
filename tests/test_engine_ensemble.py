"""Ensembles of trained models: the mean of their logits, one run folder, refused when members do not match."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from rnalabel.engine.bundle import load_model, save_model
from rnalabel.engine.ensemble import combine
from rnalabel.engine.forward import unit_outputs
from rnalabel.engine.training import fit
from rnalabel.errors import ConfigError, InputError
from tests.helpers import tiny_recipe


@pytest.fixture(scope="module")
def members(demo_small, tmp_path_factory):
    """Three tiny Multi-resBind runs on one split, seeds 0, 1, 2 (and a DeepRiPe one, same view)."""
    root = tmp_path_factory.mktemp("members")
    runs = []
    for seed in (0, 1, 2):
        rec = tiny_recipe().with_train(seed=seed, max_epochs=1)
        model, _ = fit(rec, demo_small, progress=False, device="cpu")
        runs.append(save_model(model, root / f"s{seed}"))
    model, _ = fit(tiny_recipe("deepripe").with_train(max_epochs=1), demo_small, progress=False, device="cpu")
    runs.append(save_model(model, root / "deepripe"))
    return runs


def logits(bundle, ds):
    return unit_outputs(bundle, ds, output="logit", progress=False)[1]


def test_ensemble_is_the_mean_of_the_members_logits(members, demo_small, tmp_path):
    test = demo_small.select_split("test")
    ens = combine(members[:3], demo_small.select_split("val"), val_source="demo")
    want = np.mean([logits(load_model(m), test) for m in members[:3]], axis=0)
    np.testing.assert_allclose(logits(ens, test), want, rtol=1e-5, atol=1e-5)
    assert ens.card["ensemble"]["thresholds"].startswith("maximal F1 per label on 60 rows of demo")
    assert [m["seed"] for m in ens.card["ensemble"]["members"]] == [0, 1, 2]
    assert all(len(m["card_sha256"]) == 64 for m in ens.card["ensemble"]["members"])
    # a run folder like any other: saved, loaded, the same outputs
    d = save_model(ens, tmp_path / "ens")
    card = json.loads((d / "card.json").read_text())
    assert card["model"]["name"] == "ensemble" and len(card["model"]["params"]["members"]) == 3
    again = load_model(d)
    np.testing.assert_allclose(logits(again, test), logits(ens, test), rtol=1e-6)
    np.testing.assert_allclose(again.thresholds, ens.thresholds)
    # architectures may differ when the views are the same
    mixed = combine([members[0], members[3]])
    want = np.mean([logits(load_model(m), test) for m in (members[0], members[3])], axis=0)
    np.testing.assert_allclose(logits(mixed, test), want, rtol=1e-5, atol=1e-5)
    assert "mean of the members' thresholds" in mixed.card["ensemble"]["thresholds"]


def test_members_that_do_not_match_are_refused(members, demo_small, tmp_path):
    a = load_model(members[0])
    with pytest.raises(InputError, match="at least 2 members"):
        combine(members[:1])
    other = replace(a, label_names=[*a.label_names[1:], a.label_names[0]])
    with pytest.raises(InputError, match="labels"):
        combine([a, other])
    padded = load_model(members[1])
    padded.views["seq"] = replace(padded.views["seq"], pad_value=0.0)
    with pytest.raises(InputError, match="view 'seq'"):
        combine([a, padded])
    with pytest.raises(InputError, match="not a run folder"):
        combine([members[0], tmp_path])
    ens = save_model(combine(members[:2]), tmp_path / "ens")
    with pytest.raises(InputError, match="itself an ensemble"):
        combine([ens, members[2]])


def test_an_ensemble_recipe_is_not_trained(demo_small):
    rec = replace(tiny_recipe(), model="ensemble", params={"members": [{"model": "multiresbind"}] * 2})
    with pytest.raises(ConfigError, match="not trained as one model"):
        fit(rec, demo_small, progress=False, device="cpu")


def test_ensemble_module_refuses_bad_member_lists():
    from rnalabel.models.registry import InputSpec, build_model

    spec = [InputSpec("seq", "position", 4, 101)]
    with pytest.raises(ConfigError, match="at least 2 members"):
        build_model("ensemble", inputs=spec, n_labels=2, params={"members": [{"model": "deepbind"}]})
    with pytest.raises(ConfigError, match="itself an ensemble"):
        build_model("ensemble", inputs=spec, n_labels=2, params={"members": [{"model": "ensemble"}] * 2})
    with pytest.raises(ConfigError, match="member 2 must be"):
        build_model("ensemble", inputs=spec, n_labels=2, params={"members": [{"model": "deepbind"}, "deepbind"]})
    m = build_model("ensemble", inputs=spec, n_labels=2,
                    params={"members": [{"model": "deepbind", "params": {"filters": 4}}] * 2})
    assert m({"seq": torch.zeros(3, 4, 101)}).shape == (3, 2)


def test_cli_ensemble_writes_a_run_folder_every_command_takes(members, demo_small, tmp_path):
    from tests.test_cli import invoke

    table = tmp_path / "demo.parquet"
    demo_small.to_parquet(table)
    out = tmp_path / "ens"
    r = invoke("ensemble", *map(str, members[:3]), "--out", str(out), "--data", str(table), "--no-progress")
    assert r.exit_code == 0, r.output
    assert "ensemble of 3: test split (n=120)" in r.output and "members' test macro AUROC" in r.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics) == {"val", "test"} and (out / "curves.png").exists()
    fa = tmp_path / "q.fa"
    fa.write_text(">a\n" + demo_small.sequences[0] + "\n>b\nACGUACGUAGCUAGCUAGCUAGCAUCGAUCGAUCGA\n")
    r = invoke("predict", str(out), str(fa), "--out", str(tmp_path / "p.tsv"))
    assert r.exit_code == 0, r.output
    assert len((tmp_path / "p.tsv").read_text().splitlines()) == 3
    r = invoke("evaluate", str(out), str(table))
    assert r.exit_code == 0, r.output
    from rnalabel.report.html import build_report

    page = build_report(out)
    assert "mean of the members&#39; logits of 3 models" in page and "seed 2" in page
    # bad input: one line, exit 2, nothing written
    r = invoke("ensemble", str(members[0]), str(members[1]), "--out", str(members[0]), "--overwrite")
    assert r.exit_code == 2 and "one of the members" in r.output and (members[0] / "card.json").exists()
    r = invoke("ensemble", str(members[0]), "--out", str(tmp_path / "one"))
    assert r.exit_code == 2 and "at least 2 members" in r.output and not (tmp_path / "one").exists()
    r = invoke("ensemble", str(members[0]), str(members[1]), "--out", str(tmp_path / "e2"), "--data",
               str(table), "--split", "nope")
    assert r.exit_code == 2 and "unknown split" in r.output and not (tmp_path / "e2").exists()
