"""Lightning DDP on two CPU processes (gloo) against one process: same data, the run folder written once (by
rank 0), metrics within a stated tolerance. Each of the two processes takes half the batch, so both runs average
gradients over 32 rows per step and take the same number of steps; they still draw other batches and dropout
masks, so they do not take the same steps. Streamed from Parquet (``--stream``), each process reads every other
training row of every row group."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import yaml

RECIPE = {"model": "multiresbind", "params": {"filters": 8, "hidden": 16}, "views": {"seq": {"type": "onehot"}},
          "train": {"max_epochs": 6, "patience": 10, "batch_size": 32, "lr": 0.005, "precision": "32", "seed": 0}}


@pytest.mark.slow
@pytest.mark.parametrize("stream", [False, True], ids=["memory", "stream"])
def test_two_cpu_processes_match_one(tmp_path, stream):
    from rnalabel.data.synthetic import make_demo_dataset

    make_demo_dataset(1500, seed=2).to_parquet(tmp_path / "data.parquet")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    env.pop("PYTEST_XDIST_WORKER", None)
    outs = {}
    for n in (1, 2):
        recipe = {**RECIPE, "train": {**RECIPE["train"], "batch_size": RECIPE["train"]["batch_size"] // n}}
        (tmp_path / "r.yaml").write_text(yaml.safe_dump(recipe))
        cmd = [sys.executable, "-m", "rnalabel", "train", str(tmp_path / "data.parquet"), "--recipe",
               str(tmp_path / "r.yaml"), "--out", str(tmp_path / f"run{n}"), "--devices", str(n), "--no-progress",
               *(["--strategy", "ddp"] if n > 1 else []), *(["--stream"] if stream else [])]
        r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600, cwd=tmp_path)
        assert r.returncode == 0, r.stderr[-3000:]
        assert r.stdout.count("run folder") == 1  # only rank 0 reports
        outs[n] = json.loads((tmp_path / f"run{n}" / "metrics.json").read_text())["test"]["averages"]
        card = json.loads((tmp_path / f"run{n}" / "card.json").read_text())
        assert card["training"]["devices"] == n
        assert ("streamed" in card["training"]) == stream
    assert not list(tmp_path.glob(".run*"))  # no temporary folders or checkpoints left by either rank
    assert outs[1]["auroc_macro"] > 0.6 and outs[2]["auroc_macro"] > 0.6  # both learn (chance: 0.5)
    print({n: round(o["auroc_macro"], 4) for n, o in outs.items()})
    assert abs(outs[1]["auroc_macro"] - outs[2]["auroc_macro"]) < 0.05


def test_strategy_and_node_checks(demo_small):
    from rnalabel.engine.training import fit
    from rnalabel.errors import InputError
    from tests.helpers import tiny_recipe

    with pytest.raises(InputError, match="unknown strategy 'ddp_spawn'"):
        fit(tiny_recipe(), demo_small, progress=False, strategy="ddp_spawn")
    with pytest.raises(InputError, match="num_nodes"):
        fit(tiny_recipe(), demo_small, progress=False, num_nodes=0)
    with pytest.raises(InputError, match="checkpoint_every"):
        fit(tiny_recipe(), demo_small, progress=False, checkpoint_every=-1)


def test_global_rank_from_each_launcher(monkeypatch):
    """Lightning's own launcher (LOCAL_RANK, NODE_RANK), torchrun (RANK) and srun (SLURM_PROCID with more than one
    task) all name the process that reports and writes; a single SLURM task is rank 0."""
    from rnalabel.engine.checkpoints import global_rank

    for var in ("RANK", "LOCAL_RANK", "NODE_RANK", "GROUP_RANK", "SLURM_PROCID", "SLURM_NTASKS"):
        monkeypatch.delenv(var, raising=False)
    assert global_rank(2) == 0
    monkeypatch.setenv("SLURM_PROCID", "3")
    monkeypatch.setenv("SLURM_NTASKS", "1")
    assert global_rank(2) == 0  # an interactive allocation of one task
    monkeypatch.setenv("SLURM_NTASKS", "4")
    assert global_rank(2) == 3
    monkeypatch.setenv("RANK", "1")
    assert global_rank(2) == 1
    monkeypatch.delenv("RANK")
    monkeypatch.delenv("SLURM_PROCID")
    monkeypatch.setenv("LOCAL_RANK", "1")
    monkeypatch.setenv("NODE_RANK", "1")
    assert global_rank(2) == 3
    # Lightning's launcher inside a SLURM job of several tasks: its children carry LOCAL_RANK, not RANK
    monkeypatch.setenv("SLURM_PROCID", "0")
    monkeypatch.delenv("NODE_RANK")
    assert global_rank(2) == 1
    monkeypatch.delenv("LOCAL_RANK")
    monkeypatch.setenv("SLURM_PROCID", "2")
    monkeypatch.setenv("SLURM_JOB_NAME", "bash")  # an interactive allocation: Lightning ignores SLURM there too
    assert global_rank(2) == 0
