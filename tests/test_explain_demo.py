"""Explain on the embedded demo: planted motifs recovered from a trained model, and ``rnalabel explain``."""

from __future__ import annotations

import warnings
from dataclasses import replace

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from rnalabel.cli import app
from rnalabel.data.published_motifs import PUBLISHED_MOTIFS
from rnalabel.data.synthetic import DEMO_SITES, make_demo_dataset
from rnalabel.explain import AttributionWarning, explain, match_published

#: published motifs that count as U-rich (HuR / ELAVL1 binds U-rich and AU-rich elements)
U_RICH = {"ELAVL1", "TIA1", "HNRNPC"}


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One torch thread in this module: two pytest workers on two cores must not oversubscribe them."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def demo():
    """3000 demo sequences and a DeepBind-style CNN trained on them (about 10 s on one core)."""
    from rnalabel.engine.training import fit
    from tests.helpers import tiny_recipe

    ds = make_demo_dataset(3000, seed=1)
    rec = tiny_recipe("deepbind", filters=16, kernel=12, hidden=32, dropout=0.1)
    rec = replace(rec, train=replace(rec.train, max_epochs=15, patience=15, lr=0.005, seed=1))
    model, report = fit(rec, ds, progress=False, device="cpu")
    assert report.test.averages["auroc_macro"] > 0.9
    return ds, model


@pytest.fixture(scope="module")
def explained(demo):
    ds, model = demo
    with warnings.catch_warnings():  # a max-pooling CNN converges slowly; the gap is checked below instead
        warnings.simplefilter("ignore", AttributionWarning)
        return explain(model, ds.select_split("test"), label="all", top=3, progress=False)


def test_planted_motif_is_the_top_motif_of_each_label(explained):
    planted = {k: PUBLISHED_MOTIFS[k] for k in DEMO_SITES}  # the demo plants these (ELAVL1: AUUUA repeats)
    for name, res in explained.items():
        assert res.motifs, name
        top = res.motifs[0]
        assert match_published(top.pwm, planted)[0].rbp == name, (name, top.consensus)
        best = top.best_match  # against the whole published table
        assert best.rbp in (U_RICH if name == "ELAVL1" else {name}), (name, top.consensus, best)
        assert top.n_windows >= 0.5 * len(res.attributions)  # found in most positive windows


def test_drawn_windows_are_the_best_positives_and_ism_agrees(explained, demo):
    """IG and in-silico mutagenesis point at the same nucleotides. Not in every window: where a motif is repeated
    (ELAVL1's AUUUA), mutating one copy barely changes the output while IG shares the credit among the copies, so
    the check is per label on the best of its three drawn windows, and on the median over all of them."""
    ds, model = demo
    every = []
    for name, res in explained.items():
        a = res.attributions
        assert len(res.top) == 3 and a.scores[0] == a.scores.max()
        assert a.info["max_relative_delta"] < 0.5
        assert max(res.ism_agreement) > 0.5, name
        every += list(res.ism_agreement)
    assert float(np.median(every)) > 0.7


def test_cli_explain_writes_maps_tables_and_motifs(demo, tmp_path):
    from rnalabel.engine.bundle import save_model

    ds, model = demo
    run = save_model(model, tmp_path / "run")
    data = ds.select_split("test").to_parquet(tmp_path / "test.parquet")
    runner = CliRunner()
    res = runner.invoke(app, ["explain", str(run), str(data), "--label", "PUM2", "--top", "2", "--max-positives",
                              "150", "--out", str(tmp_path / "out"), "--no-progress"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert "PUM2 UGUAHAUA" in res.output
    d = tmp_path / "out" / "PUM2"
    pngs = sorted(p.name for p in d.glob("*.png"))
    assert len([p for p in pngs if p.startswith("map_")]) == 2 and len([p for p in pngs if p.startswith("ism_")]) == 2
    assert "motifs.png" in pngs
    for p in d.glob("*.png"):
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.stat().st_size > 5000
    head = (d / "attributions.tsv").read_text().splitlines()
    assert head[0] == "id\twindow_start\tview\tchannel\tposition\tinput\tattribution" and len(head) > 100
    nuc = (d / "nucleotides.tsv").read_text().splitlines()
    assert nuc[0].split("\t") == ["id", "position", "base", "seq", "total", "ism"] and len(nuc) == 1 + 2 * 101
    motifs = (d / "motifs.tsv").read_text().splitlines()
    assert motifs[1].split("\t")[8] == "PUM2"
    assert (d / "motifs.meme").read_text().startswith("MEME version 4")
    assert "| PUM2 |" in (tmp_path / "out" / "summary.md").read_text()
    assert not list(d.glob(".*.tmp"))  # atomic writes leave no temporary files

    bad = runner.invoke(app, ["explain", str(run), str(data), "--label", "NOPE", "--out", str(tmp_path / "x")])
    assert bad.exit_code == 2 and "no label 'NOPE'" in bad.output and "Traceback" not in bad.output
