"""Outputs are written all or nothing, their places are checked before any work, and Ctrl-C loses nothing."""

import os
import shutil
import stat
import threading

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
    assert not (work / ".int_run.checkpoint").exists()  # interrupted before its first checkpoint: no empty folder


def test_a_killed_trainings_temporaries_are_cleaned_by_the_next_run(work):
    import subprocess
    import sys

    from rnalabel.data.files import _owner

    d = work / "stale"
    d.mkdir()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # a process id that is gone (as a SIGKILLed training's is)
    host = _owner().rsplit("-", 1)[0]
    killed = d / f".run.{host}-{dead.pid}.abcdefgh.tmp"  # what a killed run left, with a file in it
    killed.mkdir()
    (killed / "model.safetensors").write_bytes(b"half")
    empty_old = d / ".run.ijklmnop.tmp"  # the older unnamed form, empty
    empty_old.mkdir()
    kept = [d / ".run.qrstuvwx.tmp", d / f".run.{host}-{os.getpid()}.abcdefgh.tmp",  # not empty; alive
            d / f".run.elsewhere-{dead.pid}.abcdefgh.tmp", d / ".other.abcdefgh.tmp", d / ".run.notours.tmp"]
    for k in kept:
        k.mkdir()
    (kept[0] / "x").write_text("someone's")
    r = invoke("train", work / "data.parquet", "--out", d / "run", "--recipe", work / "tiny.yaml", "--no-progress")
    assert r.exit_code == 0, r.output
    assert not killed.exists() and not empty_old.exists() and all(k.is_dir() for k in kept)
    assert (kept[0] / "x").read_text() == "someone's" and not (d / ".run.checkpoint").exists()
    shutil.rmtree(d)  # the kept ones would be leftovers to the other tests of this folder


def test_the_checkpoint_folder_is_made_only_with_content(tmp_path):
    from rnalabel.engine.checkpoints import _Checkpoints
    from rnalabel.errors import InputError

    ck = _Checkpoints(tmp_path / "deep" / ".run.checkpoint", "fp", resume=False)
    assert not ck.dir.exists()
    ck._write_meta({"stage": 0, "epochs_done": 1})
    assert (ck.dir / "resume.json").is_file()
    (tmp_path / "afile").write_text("x")
    with pytest.raises(InputError, match="cannot write checkpoints here"):
        _Checkpoints(tmp_path / "afile" / ".run.checkpoint", "fp", resume=False)


def test_a_loop_of_links_as_out_is_one_clear_error(work):
    (work / "loop1").symlink_to(work / "loop2")
    (work / "loop2").symlink_to(work / "loop1")
    r = invoke("predict", work / "run", work / "in.fa", "--out", work / "loop1")
    assert r.exit_code == 2 and "loop of symbolic links" in r.output and str(work / "loop1") in r.output
    assert "Traceback" not in r.output and len(r.output.strip().splitlines()) == 1
    r = invoke("train", work / "data.parquet", "--out", work / "loop2", "--recipe", work / "tiny.yaml")
    assert r.exit_code == 2 and "loop of symbolic links" in r.output
    assert (work / "loop1").is_symlink() and (work / "loop2").is_symlink() and leftovers(work) == []


def test_a_link_is_followed_and_its_target_written(work):
    (work / "real.tsv").write_text("old\n")
    (work / "link.tsv").symlink_to("real.tsv")
    r = invoke("predict", work / "run", work / "in.fa", "--out", work / "link.tsv")
    assert r.exit_code == 0, r.output
    assert (work / "link.tsv").is_symlink() and (work / "real.tsv").read_text().startswith("id\t")
    assert leftovers(work) == []


def test_out_dash_is_standard_output(work, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = invoke("predict", work / "run", work / "in.fa", "--out", "-")
    assert r.exit_code == 0, r.output
    assert r.stdout.startswith("id\t") and r.stdout.splitlines()[1].startswith("a\t")
    assert "1 sequences -> -" not in r.stdout  # the summary goes to stderr, the TSV alone to stdout
    assert not (work / "-").exists() and list(tmp_path.iterdir()) == []


def test_fifo_and_devices_are_written_through_never_replaced(tmp_path):
    from rnalabel.data.files import atomic_path, atomic_paths, open_output, write_text_atomic
    from rnalabel.errors import InputError

    devices = [d for d in ("/dev/null", "/dev/full") if os.path.exists(d)]
    for device in devices:  # we may run as root: never let a broken writer replace a device
        with atomic_path(device) as tmp:
            assert str(tmp) == device  # else the block fails and the temporary file is removed, not renamed

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_text()), daemon=True)
    reader.start()
    with atomic_paths(fifo) as (tmp,), open_output(tmp, fifo) as f:
        f.write("through\n")
    reader.join(5)
    assert got == ["through\n"] and stat.S_ISFIFO(os.lstat(fifo).st_mode)
    write_text_atomic("/dev/null", "nothing\n")
    assert stat.S_ISCHR(os.lstat("/dev/null").st_mode)
    if "/dev/full" in devices:
        for write in (lambda: write_text_atomic("/dev/full", "x" * 100),
                      lambda: _write_tsv("/dev/full")):
            with pytest.raises(InputError, match="No space left"):
                write()
            assert stat.S_ISCHR(os.lstat("/dev/full").st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe"]


def _write_tsv(path):
    from rnalabel.data.files import atomic_paths, open_output

    with atomic_paths(path) as (tmp,), open_output(tmp, path) as f:
        f.write("id\tp\n" * 10)
