"""The model zoo: every shipped model loads by name, verifies, predicts the recorded values, and knows some biology.

Needs no ../shared. The recorded values (tests/fixtures/zoo_expected.json) are a regression guard, written by
``python tests/test_zoo.py --record`` after a zoo model is (re)built.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from rnalabel import zoo
from rnalabel.cli import app
from rnalabel.data import Dataset
from rnalabel.engine.bundle import load_model
from rnalabel.engine.predict import predict
from rnalabel.errors import ModelFileError
from rnalabel.zoo.examples import MIRNAS, MOTIFS, background, motif_rnas, plant

EXPECTED = Path(__file__).parent / "fixtures" / "zoo_expected.json"
runner = CliRunner()


def _inputs(model) -> dict[str, str]:
    return MIRNAS if model.kind == "whole-sequence" else motif_rnas()


def _scores(model, seqs: dict[str, str]) -> np.ndarray:
    ds = Dataset.from_sequences(list(seqs), list(seqs.values()))
    return predict(model, ds, progress=False, precision="32", device="cpu").scores


def record() -> None:
    out = {}
    for name in zoo.names():
        m = load_model(name)
        seqs = _inputs(m)
        out[name] = {"labels": m.label_names, "ids": list(seqs),
                     "scores": np.round(_scores(m, seqs), 6).tolist()}
    EXPECTED.write_text(json.dumps(out, indent=1) + "\n")
    print(f"recorded {', '.join(out)} -> {EXPECTED}")


def test_the_zoo_is_there_and_small():
    assert "mirloc" in zoo.names()
    total = sum(f.stat().st_size for f in zoo.ZOO_DIR.rglob("*") if f.is_file())
    assert total < 20e6, total


@pytest.mark.parametrize("name", zoo.names())
def test_zoo_model_loads_verifies_and_predicts_the_recorded_values(name):
    m = load_model(name)
    card = m.card
    z = card["zoo"]
    for key in ("command", "recipe", "seed", "commit", "data", "licence", "data_files", "epochs", "wall_seconds",
                "calls"):
        assert key in z, key
    assert all(len(h) == 64 for h in z["data_files"].values())
    expected = json.loads(EXPECTED.read_text())[name]
    assert expected["labels"] == m.label_names
    seqs = _inputs(m)
    assert list(seqs) == expected["ids"]
    got = _scores(m, seqs)
    assert np.isfinite(got).all() and (got >= 0).all() and (got <= 1).all()
    np.testing.assert_allclose(got, np.array(expected["scores"]), atol=1e-4)


def test_mirloc_gives_distinct_stable_profiles():
    m = load_model("mirloc")
    s = _scores(m, MIRNAS)
    assert s.shape == (len(MIRNAS), 6)
    # not one profile for every miRNA: the compartments differ between these well-known miRNAs
    assert np.ptp(s, axis=0).max() > 0.2
    assert np.array_equal(_scores(m, MIRNAS), s)  # stable from call to call


def test_a_path_always_wins_over_a_zoo_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mirloc").mkdir()  # an empty folder of the zoo's name: it is what the user meant
    with pytest.raises(ModelFileError, match="card.json is missing"):
        load_model("mirloc")


def test_unknown_name_lists_the_zoo_in_one_line(tmp_path):
    fa = tmp_path / "x.fa"
    fa.write_text(">a\nACGUACGUACGU\n")
    r = runner.invoke(app, ["predict", "nosuchmodel", str(fa), "--out", str(tmp_path / "o.tsv")])
    assert r.exit_code == 2
    assert "zoo model" in r.output and "mirloc" in r.output and "Traceback" not in r.output
    assert not (tmp_path / "o.tsv").exists()


def test_damaged_zoo_file_is_refused(tmp_path, monkeypatch):
    shutil.copytree(zoo.ZOO_DIR / "mirloc", tmp_path / "mirloc")
    w = tmp_path / "mirloc" / "model.safetensors"
    data = bytearray(w.read_bytes())
    data[-10] ^= 0xFF
    w.write_bytes(bytes(data))
    monkeypatch.setattr(zoo, "ZOO_DIR", tmp_path)
    with pytest.raises(ModelFileError, match="checksum"):
        load_model("mirloc")


def test_predict_and_models_commands_take_zoo_names(tmp_path):
    fa = tmp_path / "m.fa"
    fa.write_text("".join(f">{k}\n{v}\n" for k, v in MIRNAS.items()))
    r = runner.invoke(app, ["predict", "mirloc", str(fa), "--out", str(tmp_path / "o.tsv")])
    assert r.exit_code == 0, r.output
    rows = (tmp_path / "o.tsv").read_text().splitlines()
    assert rows[0].split("\t")[:2] == ["id", "Exosome"] and len(rows) == 1 + len(MIRNAS)
    r = runner.invoke(app, ["models"])
    assert r.exit_code == 0 and "mirloc" in r.output and "Licence" in r.output


def test_rank_with_a_model_without_an_index_is_one_line(tmp_path):
    r = runner.invoke(app, ["rank", "mirloc", "UGAGGUAGUAGGUUGUAUAGUU"])
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output and len(r.output.strip().splitlines()) <= 3


# what each zoo RBP model should know: a published motif raises its protein's score above the same background.
# Every motif tried is listed here; a model that does not hold the label is skipped for that motif.
MOTIF_PROTEINS = {
    "rbp31": {"PUM2": "PUM2", "QKI": "QKI", "ELAVL1": "ELAVL1", "HNRNPC": "HNRNPC", "TARDBP": "TARDBP", "SRSF1": "SRSF1"},
    "eclip91": {"RBFOX2": "RBFOX2", "SRSF1": "SRSF1", "TARDBP": "TARDBP", "HNRNPK": "HNRNPK",
                "HNRNPK_PCBP1": "PCBP1"},
}


def _label_columns(model, protein: str) -> list[int]:
    proteins = (model.card.get("zoo") or {}).get("proteins") or {}
    return [i for i, lab in enumerate(model.label_names)
            if proteins.get(lab, lab).split(" ")[0].upper() == protein.upper()]


# what a zoo model has not learnt, measured and said (README, the zoo notes); strict: a rebuild that learns it fails
# the mark, so the list stays true. eclip91 (5 epochs, capped): RBFOX2 UGCAUG raised in 12 of 40 contexts.
NOT_LEARNT = {("eclip91", "RBFOX2")}


@pytest.mark.parametrize("name, motif", [
    pytest.param(n, m, marks=pytest.mark.xfail(strict=True, reason="not learnt (measured)"))
    if (n, m) in NOT_LEARNT else (n, m)
    for n in zoo.names() if n in MOTIF_PROTEINS for m in MOTIF_PROTEINS[n]])
def test_published_motifs_raise_their_proteins_score(name, motif):
    """In most contexts (the issue's criterion: more than half of 40 dinucleotide-shuffled backgrounds), three
    planted copies of a published motif raise the mean score of its protein's labels above the same background."""
    from rnalabel.data.sequence import decode, encode
    from rnalabel.data.shuffle import dinucleotide_shuffle

    m = load_model(name)
    cols = _label_columns(m, MOTIF_PROTEINS[name][motif])
    assert cols, "the motif's protein is not among the labels"
    rng = np.random.default_rng(0)
    contexts = [decode(dinucleotide_shuffle(encode(s), rng)) for s in background(40, seed=11)]
    seqs = {f"bg{i}": c for i, c in enumerate(contexts)}
    seqs |= {f"m{i}": plant(c, MOTIFS[motif]) for i, c in enumerate(contexts)}
    s = _scores(m, seqs)[:, cols].mean(axis=1)
    raised = float(np.mean(s[len(contexts):] > s[:len(contexts)]))
    assert raised > 0.5, raised


def test_the_server_serves_zoo_names():
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from rnalabel.server import create_app

    client = TestClient(create_app(zoo.names()), raise_server_exceptions=False)
    assert {m["name"] for m in client.get("/models").json()} == set(zoo.names())
    r = client.post("/predict", json={"model": "mirloc", "fasta": ">m\nUAGCUUAUCAGACUGAUGUUGA\n"})
    assert r.status_code == 200, r.text



def test_predict_takes_the_mirna_csv_with_seq_col(tmp_path):
    p = tmp_path / "mirnas.csv"
    p.write_text("id,name,seq,Exosome\n" + "".join(f"{i},{k},{v},1\n" for i, (k, v) in enumerate(MIRNAS.items())))
    r = runner.invoke(app, ["predict", "mirloc", str(p), "--out", str(tmp_path / "o.tsv"), "--seq-col", "seq"])
    assert r.exit_code == 0, r.output
    assert len((tmp_path / "o.tsv").read_text().splitlines()) == 1 + len(MIRNAS)



def test_report_and_ensemble_take_zoo_names_and_never_write_into_the_package(tmp_path):
    before = sorted(p.name for p in (zoo.ZOO_DIR / "mirloc").iterdir())
    r = runner.invoke(app, ["report", "mirloc"])
    assert r.exit_code == 2 and "--out" in r.output
    r = runner.invoke(app, ["report", "mirloc", "--out", str(tmp_path / "r.html")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "r.html").read_text().startswith("<!doctype html>")
    from rnalabel.runs import _card_digest

    assert len(_card_digest("mirloc")) == 64  # what train --init records
    from rnalabel.engine.ensemble import combine

    assert combine(["mirloc", "mirloc"]).label_names == load_model("mirloc").label_names
    assert sorted(p.name for p in (zoo.ZOO_DIR / "mirloc").iterdir()) == before



def test_training_rows_of_the_neighbours_view_are_flagged():
    import warnings as w

    from rnalabel.engine.bundle import RememberedRowsWarning

    m = load_model("mirloc")
    ds = Dataset.from_sequences(list(MIRNAS), list(MIRNAS.values()))
    known = sum(int(v.remembered(ds).sum()) for v in m.views.values())
    assert known >= 1  # several of these well-known miRNAs are in the 840
    with w.catch_warnings(record=True) as caught:
        w.simplefilter("always")
        predict(m, ds, progress=False, device="cpu")
    assert sum(issubclass(c.category, RememberedRowsWarning) for c in caught) == 1
    fresh = Dataset.from_sequences(["x"], ["GCGCAUAUGCGCAUAUGCGCAU"])
    assert not any(v.remembered(fresh).any() for v in m.views.values())


if __name__ == "__main__" and "--record" in sys.argv:
    record()
