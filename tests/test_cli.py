"""The CLI end to end: train, evaluate, predict, and user errors (one line, exit 2, no traceback)."""

import json

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from rnalabel.cli import app

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory, demo_small):
    d = tmp_path_factory.mktemp("cli")
    demo_small.to_parquet(d / "data.parquet")
    recipe = {
        "model": "multiresbind", "params": {"filters": 8, "hidden": 16},
        "views": {"seq": {"type": "onehot"}}, "train": {"max_epochs": 1, "batch_size": 64},
    }
    (d / "tiny.yaml").write_text(yaml.safe_dump(recipe))
    r = invoke("train", d / "data.parquet", "--out", d / "run", "--recipe", d / "tiny.yaml", "--no-progress")
    assert r.exit_code == 0, r.output
    return d


def test_train_writes_run_folder(workdir):
    run = workdir / "run"
    for f in ("model.safetensors", "card.json", "metrics.json", "history.tsv", "curves.png"):
        assert (run / f).exists(), f
    m = json.loads((run / "metrics.json").read_text())
    assert "test" in m and "auroc_macro" in m["test"]["averages"]


def test_predict_fasta_and_windows(workdir, demo_small):
    fa = workdir / "in.fa"
    seqs = demo_small.sequences
    fa.write_text(f">a\n{seqs[0]}\n>b long\n{seqs[1]}{seqs[2]}\n")
    r = invoke("predict", workdir / "run", fa, "--out", workdir / "p.tsv", "--windows", workdir / "w.tsv")
    assert r.exit_code == 0, r.output
    rows = (workdir / "p.tsv").read_text().splitlines()
    assert len(rows) == 3 and rows[1].startswith("a\t")
    assert len((workdir / "w.tsv").read_text().splitlines()) == 1 + 1 + 4


def test_predict_out_gz_is_gzip(workdir, demo_small):
    """--out x.tsv.gz wrote plain text under a .gz name; it is now compressed, like the name says."""
    import gzip

    fa = workdir / "gz.fa"
    fa.write_text(f">a\n{demo_small.sequences[0]}\n")
    r = invoke("predict", workdir / "run", fa, "--out", workdir / "p.tsv.gz")
    assert r.exit_code == 0, r.output
    rows = gzip.decompress((workdir / "p.tsv.gz").read_bytes()).decode().splitlines()
    assert len(rows) == 2 and rows[1].startswith("a\t")


def test_predict_refuses_to_write_over_its_input(workdir, demo_small):
    fa = workdir / "keep.fa"
    fa.write_text(f">a\n{demo_small.sequences[0]}\n")
    r = invoke("predict", workdir / "run", fa, "--out", fa)
    assert r.exit_code == 2 and "also an input" in r.output and "Traceback" not in r.output
    assert fa.read_text() == f">a\n{demo_small.sequences[0]}\n"


def test_evaluate(workdir):
    r = invoke("evaluate", workdir / "run", workdir / "data.parquet", "--out", workdir / "m.json",
               "--plot", workdir / "c.png")
    assert r.exit_code == 0, r.output
    assert "macro" in r.output
    assert json.loads((workdir / "m.json").read_text())["n"] == int(np.sum(demo_small_split(workdir) == "test"))
    assert (workdir / "c.png").stat().st_size > 1000


def test_evaluate_says_which_rows_and_why_a_label_is_undefined(workdir, demo_small):
    """A table without a split column is evaluated whole and the title says so (it read 'test'); a label with no
    known entries is told apart from one with one class only."""
    names = demo_small.label_names
    rows = ["id,sequence," + ",".join(names)]
    for i in range(40):
        cells = ["" if j == 0 else ("1" if j == 1 else str(int(demo_small.labels[i, j]))) for j in range(len(names))]
        rows.append(f"r{i},{demo_small.sequences[i]}," + ",".join(cells))
    (workdir / "nosplit.csv").write_text("\n".join(rows) + "\n")
    r = invoke("evaluate", workdir / "run", workdir / "nosplit.csv")
    assert r.exit_code == 0, r.output
    text = " ".join(r.output.split())
    assert "all (no split column), n=40" in text
    assert f"undefined (no known entries in these data): {names[0]}" in text
    assert f"undefined (one class only in these data): {names[1]}" in text


def demo_small_split(workdir):
    from rnalabel.data import Dataset

    return Dataset.from_parquet(workdir / "data.parquet").split


@pytest.mark.parametrize("content,needle", [
    ("ACGU\n>a\nACGU\n", "before the first '>' header"),
    (">a\n>b\nACGU\n", "has no sequence"),
    (">a\nACGU\n>a\nACGU\n", "duplicate id 'a'"),
    (">a\nACGU\nACXU\n", "outside the IUPAC"),
])
def test_bad_fasta_is_one_clear_line(workdir, content, needle):
    fa = workdir / "bad.fa"
    fa.write_text(content)
    out = workdir / "never.tsv"
    r = invoke("predict", workdir / "run", fa, "--out", out)
    assert r.exit_code == 2
    assert needle in r.output and "Traceback" not in r.output
    assert str(fa) in r.output
    assert not out.exists()


def test_bad_model_dir_and_recipe(workdir, tmp_path):
    r = invoke("predict", tmp_path, workdir / "data.parquet", "--out", tmp_path / "x.tsv")
    assert r.exit_code == 2 and "card.json is missing" in r.output
    r = invoke("train", workdir / "data.parquet", "--out", tmp_path / "r", "--recipe", "nope")
    assert r.exit_code == 2 and "unknown recipe" in r.output
    r = invoke("train", tmp_path / "missing.parquet", "--out", tmp_path / "r")
    assert r.exit_code == 2 and "file not found" in r.output


def test_recipes_and_version():
    r = invoke("recipes")
    assert r.exit_code == 0 and "multiresbind" in r.output
    assert "mmfa_aminoacid_dipeptide" in r.output and "mmlmirlocnet_neighbours" in r.output  # long names whole
    r = invoke("--version")
    assert r.exit_code == 0 and "rnalabel" in r.output


def test_mmfa_recipe_from_the_cli_and_predict_rebuilds_its_views(tmp_path, demo_small):
    """`rnalabel train --recipe mmfa` like any recipe; the card keeps all three views so predict rebuilds them."""
    demo_small.subset(np.arange(400)).to_parquet(tmp_path / "d.parquet")
    r = invoke("train", tmp_path / "d.parquet", "--out", tmp_path / "run", "--recipe", "mmfa", "--epochs", "1",
               "--no-progress")
    assert r.exit_code == 0, r.output
    card = json.loads((tmp_path / "run" / "card.json").read_text())
    assert card["recipe"]["model"] == "mmfa"
    assert set(card["recipe"]["views"]) == {"rna", "aminoacid", "dipeptide"}
    assert card["training"]["stages"]  # Part A (per-view CNNs) then Part B (fusion)
    fa = tmp_path / "in.fa"
    fa.write_text(f">a\n{demo_small.sequences[0]}\n>b\n{demo_small.sequences[1]}\n")
    r = invoke("predict", tmp_path / "run", fa, "--out", tmp_path / "p.tsv")
    assert r.exit_code == 0, r.output
    rows = [line.split("\t") for line in (tmp_path / "p.tsv").read_text().splitlines()]
    assert len(rows) == 3 and rows[1][0] == "a"
    assert all(0.0 <= float(v) <= 1.0 for v in rows[1][1:1 + demo_small.n_labels])


def test_short_inputs_are_flagged_and_bad_numbers_refused(workdir, demo_small):
    fa = workdir / "short.fa"
    fa.write_text(f">mir21\nUAGCUUAUCAGACUGAUGUUGA\n>full\n{demo_small.sequences[0]}\n")
    r = invoke("predict", workdir / "run", fa, "--out", workdir / "short.tsv")
    assert r.exit_code == 0, r.output
    assert "warning: 1 of 2 sequences are shorter than the 101 nt" in " ".join(r.output.split())
    for bad in ("0", "-1"):
        r = invoke("predict", workdir / "run", fa, "--out", workdir / "bad.tsv", "--batch-size", bad)
        assert r.exit_code == 2 and "batch size must be a positive integer" in r.output
        assert not (workdir / "bad.tsv").exists()
    for field, value, message in (("max_epochs", "ten", "must be a whole number"), ("lr", float("nan"), "lr must"),
                                  ("batch_size", 0, "at least 1")):
        recipe = yaml.safe_load((workdir / "tiny.yaml").read_text())
        recipe["train"][field] = value
        (workdir / "bad.yaml").write_text(yaml.safe_dump(recipe))
        r = invoke("train", workdir / "data.parquet", "--out", workdir / "badrun", "--recipe", workdir / "bad.yaml",
                   "--no-progress")
        assert r.exit_code == 2 and message in r.output and "bad.yaml" in r.output, r.output
        assert len(r.output.strip().splitlines()) <= 3  # one message (wrapped), no traceback
    r = invoke("train", workdir / "data.parquet", "--out", workdir / "badrun", "--epochs", "0", "--no-progress")
    assert r.exit_code == 2 and "max_epochs must be at least 1" in r.output
    r = invoke("train", workdir / "data.parquet", "--out", workdir / "badrun", "--window", "0", "--no-progress")
    assert r.exit_code == 2 and "window must be a whole number of at least 1" in r.output  # no longer ignored
    r = invoke("explain", workdir / "run", fa, "--label", "PUM2", "--out", workdir / "ex", "--n-shuffles", "0",
               "--baseline", "shuffle")
    assert r.exit_code == 2 and "n_shuffles must be a whole number" in r.output and not (workdir / "ex").exists()


def test_lm_commands(tmp_path, demo_small):
    fa = tmp_path / "corpus.fa"
    fa.write_text("".join(f">s{i}\n{s}\n" for i, s in enumerate(demo_small.sequences[:100])))
    args = ("lm", "pretrain", fa, "--out", tmp_path / "lm", "--epochs", "1", "--steps-per-epoch", "2", "--hidden", "8",
            "--layers", "1", "--heads", "2", "--max-length", "40", "--no-progress")
    r = invoke(*args)
    assert r.exit_code == 0, r.output
    assert "masked-token accuracy" in r.output and (tmp_path / "lm" / "card.json").exists()
    # each result is one line even when stdout is not a terminal (rich wrapped at 80 columns before)
    assert any(ln.startswith("validation:") and ln.endswith(str(tmp_path / "lm")) for ln in r.output.splitlines())
    r = invoke("lm", "info", tmp_path / "lm")
    assert r.exit_code == 0 and "1 layers x 8 units" in " ".join(r.output.split())
    assert invoke(*args).exit_code == 2  # a finished LM is not replaced without --overwrite
    r = invoke("lm", "info", tmp_path)
    assert r.exit_code == 2 and "model.safetensors is missing" in r.output
    held = tmp_path / "held.fa"
    held.write_text("".join(f">h{i}\n{s}\n" for i, s in enumerate(demo_small.sequences[:10])))
    r = invoke(*args[:4], tmp_path / "lm2", *args[5:], "--exclude", held)
    assert r.exit_code == 0 and "10 excluded" in r.output, r.output
    r = invoke(*args[:4], tmp_path / "lm3", *args[5:], "--exclude", tmp_path / "missing.fa")
    assert r.exit_code == 2 and "missing.fa" in r.output and not (tmp_path / "lm3").exists()
