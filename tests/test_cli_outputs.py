"""Outputs are written all or nothing, their places are checked before any work, and Ctrl-C loses nothing."""

import numpy as np
import pytest
import torch
import yaml
from typer.testing import CliRunner

from rnalabel.cli import app
from rnalabel.models.registry import MODELS, InputSpec, register_model

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def leftovers(folder):
    return sorted(p.name for p in folder.rglob(".*") if p.name.endswith(".tmp") or ".old-" in p.name)


@pytest.fixture(scope="module")
def work(tmp_path_factory, demo_small):
    d = tmp_path_factory.mktemp("outs")
    demo_small.subset(np.arange(300)).to_parquet(d / "data.parquet")
    (d / "tiny.yaml").write_text(yaml.safe_dump({
        "model": "deepbind", "params": {"filters": 4, "kernel": 8, "hidden": 8},
        "train": {"max_epochs": 1, "batch_size": 64}}))
    r = invoke("train", d / "data.parquet", "--out", d / "run", "--recipe", d / "tiny.yaml", "--no-progress")
    assert r.exit_code == 0, r.output
    (d / "in.fa").write_text(f">a\n{demo_small.sequences[0]}\n")
    (d / "afile").write_text("x")
    return d


def test_training_into_an_existing_run_needs_overwrite_and_never_mixes(work):
    run = work / "run"
    (run / "stale.txt").write_text("from an older run")
    before = (run / "card.json").read_text()
    r = invoke("train", work / "data.parquet", "--out", run, "--recipe", work / "tiny.yaml", "--no-progress")
    assert r.exit_code == 2 and "already holds files" in r.output and "--overwrite" in r.output
    assert (run / "card.json").read_text() == before and (run / "stale.txt").exists()
    r = invoke("train", work / "data.parquet", "--out", run, "--recipe", work / "tiny.yaml", "--no-progress",
               "--overwrite", "--seed", "3")
    assert r.exit_code == 0, r.output
    assert not (run / "stale.txt").exists() and (run / "card.json").read_text() != before
    assert leftovers(work) == []
    other = work / "notarun"
    other.mkdir()
    (other / "thesis.tex").write_text("precious")
    r = invoke("train", work / "data.parquet", "--out", other, "--recipe", work / "tiny.yaml", "--overwrite")
    assert r.exit_code == 2 and "not written by rnalabel" in r.output and (other / "thesis.tex").exists()


def test_unwritable_places_fail_before_any_work(work):
    r = invoke("train", work / "data.parquet", "--out", work / "afile" / "run", "--recipe", work / "tiny.yaml")
    assert r.exit_code == 2 and "cannot write here" in r.output
    r = invoke("predict", work / "run", work / "in.fa", "--out", work / "p.tsv", "--windows", work / "afile" / "w.tsv")
    assert r.exit_code == 2 and "cannot write here" in r.output
    assert not (work / "p.tsv").exists()  # all or none
    r = invoke("predict", work / "run", work / "in.fa", "--out", work)
    assert r.exit_code == 2 and "is a directory" in r.output
    r = invoke("evaluate", work / "run", work / "data.parquet", "--out", work / "m.json", "--plot",
               work / "afile" / "c.png")
    assert r.exit_code == 2 and not (work / "m.json").exists()
    r = invoke("data", "import", "fasta", work / "in.fa", "--out", work / "x.tsv")
    assert r.exit_code == 2 and "must end with .parquet" in r.output and not (work / "x.tsv").exists()
    assert leftovers(work) == []


if "interrupting" not in MODELS:
    @register_model("interrupting")
    class Interrupting(torch.nn.Module):
        """Trains a few steps, then behaves as if the user pressed Ctrl-C."""

        calls = 0

        def __init__(self, *, inputs: tuple[InputSpec, ...], n_labels: int) -> None:
            super().__init__()
            self.name = inputs[0].name
            self.lin = torch.nn.Linear(inputs[0].channels, n_labels)

        def forward(self, x):
            if self.training:
                type(self).calls += 1
                if type(self).calls == 3:
                    raise KeyboardInterrupt
            return self.lin(x[self.name].mean(dim=2))


def test_ctrl_c_during_training_exits_130_and_writes_nothing(work):
    (work / "int.yaml").write_text(yaml.safe_dump({"model": "interrupting", "train": {"max_epochs": 3,
                                                                                       "batch_size": 32}}))
    r = invoke("train", work / "data.parquet", "--out", work / "int_run", "--recipe", work / "int.yaml",
               "--no-progress")
    assert r.exit_code == 130 and "interrupted" in r.output
    assert not (work / "int_run").exists() and leftovers(work) == []
