"""Resume after a kill: a training killed with SIGKILL continues from its last checkpoint (an epoch's end, or a
point within an epoch) and ends with the weights and metrics of an uninterrupted run (CPU, one thread, seeded)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
import yaml

from rnalabel.errors import InputError
from rnalabel.runs import checkpoint_dir, train_run

RECIPE = {"model": "multiresbind", "params": {"filters": 8, "hidden": 16},
          "views": {"seq": {"type": "onehot"}},
          "train": {"max_epochs": 4, "patience": 10, "batch_size": 16, "precision": "32", "seed": 3}}


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    from rnalabel.data.synthetic import make_demo_dataset

    d = tmp_path_factory.mktemp("resume")
    make_demo_dataset(1500, seed=5).to_parquet(d / "data.parquet")
    (d / "tiny.yaml").write_text(yaml.safe_dump(RECIPE))
    return d


@pytest.fixture()
def one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _weights(run):
    from rnalabel.engine.bundle import load_model

    return {k: v.numpy() for k, v in load_model(run).module.state_dict().items()}


@pytest.fixture(scope="module")
def reference(work):
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        ref, _ = train_run(work / "data.parquet", work / "tiny.yaml", work / "ref", progress=False)
    finally:
        torch.set_num_threads(n)
    return ref


def _start(work, out, *extra):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    argv = ["rnalabel", "train", str(work / "data.parquet"), "--recipe", str(work / "tiny.yaml"), "--out", str(out),
            "--no-progress", *extra]
    code = f"import torch; torch.set_num_threads(1); from rnalabel.cli import main; import sys; sys.argv = {argv!r}; main()"
    return subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def _meta(ck):
    try:
        return json.loads((ck / "resume.json").read_text())
    except (OSError, json.JSONDecodeError):
        return None


def _same_as_reference(work, ref, resumed, out, report):
    assert len(report.history) == 4 and not checkpoint_dir(out).exists()
    assert [h["epoch"] for h in report.history] == [1, 2, 3, 4]
    a, b = _weights(work / "ref"), _weights(out)
    for k in a:
        np.testing.assert_allclose(a[k], b[k], rtol=0, atol=1e-6, err_msg=k)
    ma = json.loads((work / "ref" / "metrics.json").read_text())["test"]["averages"]
    mb = json.loads((out / "metrics.json").read_text())["test"]["averages"]
    assert ma["auroc_macro"] == pytest.approx(mb["auroc_macro"], abs=1e-9)
    assert ref.card["training"]["best_epoch"] == resumed.card["training"]["best_epoch"]


@pytest.mark.slow
def test_kill_and_resume_gives_the_uninterrupted_result(work, reference, one_thread):
    out = work / "killed"
    ck = checkpoint_dir(out)
    proc = _start(work, out, "--checkpoint-every", "0")
    t_epoch, deadline = None, time.time() + 300
    try:
        while time.time() < deadline and proc.poll() is None:
            meta = _meta(ck)
            if meta and meta["epochs_done"] == 1:
                if t_epoch is None:
                    t_epoch = time.time()
                    continue
                break
            time.sleep(0.02)
        assert proc.poll() is None, "training ended before it could be killed"
        time.sleep(0.3)  # into epoch 2
        done = json.loads((ck / "resume.json").read_text())["epochs_done"]
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert done < 4 and not out.exists()  # killed mid-run: no run folder, the checkpoint stays
    assert (ck / "last.ckpt").exists()
    resumed, report = train_run(work / "data.parquet", work / "tiny.yaml", out, progress=False, resume=True)
    assert resumed.card["training"]["resumed_after_epoch"] == done
    _same_as_reference(work, reference, resumed, out, report)


@pytest.mark.slow
def test_kill_within_an_epoch_resumes_there(work, reference, one_thread):
    """Checkpoints every 7 batches: killed right after one written in the middle of epoch 2 or later, the resumed
    run skips the rows already trained on in that epoch and still reaches the uninterrupted weights."""
    out = work / "killed_mid"
    ck = checkpoint_dir(out)
    proc = _start(work, out, "--checkpoint-every", "7")
    killed_at, deadline = None, time.time() + 300
    try:
        while time.time() < deadline and proc.poll() is None and killed_at is None:
            meta = _meta(ck)
            if meta and meta["epochs_done"] >= 1 and meta["batches_done"] > 0:
                proc.send_signal(signal.SIGSTOP)  # hold it still, then look again: the last save is mid-epoch
                meta = _meta(ck)
                if meta and meta["batches_done"] > 0:
                    proc.send_signal(signal.SIGKILL)
                    killed_at = meta
                else:
                    proc.send_signal(signal.SIGCONT)
            time.sleep(0.01)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert killed_at is not None, "training ended before it could be killed within an epoch"
    assert not out.exists()
    resumed, report = train_run(work / "data.parquet", work / "tiny.yaml", out, progress=False, resume=True)
    assert resumed.card["training"]["resumed_after_epoch"] == killed_at["epochs_done"]
    assert resumed.card["training"]["resumed_after_batches"] == killed_at["batches_done"]
    _same_as_reference(work, reference, resumed, out, report)


def test_resume_refuses_other_data_or_nothing(work, tmp_path):
    from rnalabel.data.synthetic import make_demo_dataset

    with pytest.raises(InputError, match="no readable checkpoint"):
        train_run(work / "data.parquet", work / "tiny.yaml", tmp_path / "none", progress=False, resume=True)
    rec = dict(RECIPE, train={**RECIPE["train"], "max_epochs": 1})
    (tmp_path / "one.yaml").write_text(yaml.safe_dump(rec))
    ck = checkpoint_dir(tmp_path / "x")
    # a checkpoint made by a run of other data
    from rnalabel.engine.recipe import load_recipe
    from rnalabel.engine.training import fit

    fit(load_recipe(tmp_path / "one.yaml"), make_demo_dataset(300, seed=9), progress=False, checkpoint=ck)
    assert (ck / "resume.json").exists()
    with pytest.raises(InputError, match="another recipe, other data"):
        train_run(work / "data.parquet", tmp_path / "one.yaml", tmp_path / "x", progress=False, resume=True)
    assert not (tmp_path / "x").exists()
