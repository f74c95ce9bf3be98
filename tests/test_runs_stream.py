"""Prediction streams through its input in chunks, and splits it into shards: the same rows either way."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from rnalabel.cli import app
from rnalabel.engine.bundle import save_model
from rnalabel.errors import InputError
from rnalabel.io import iter_input, parse_shard
from rnalabel.runs import predict_run


@pytest.fixture(scope="module")
def files(tmp_path_factory, trained_tiny, demo_small):
    d = tmp_path_factory.mktemp("stream")
    save_model(trained_tiny, d / "run")
    seqs = list(demo_small.sequences[:40]) + [demo_small.sequences[0] * 3]  # one long RNA: several windows
    ids = [f"s{i}" for i in range(len(seqs))]
    (d / "in.fa").write_text("".join(f">{i}\n{s}\n" for i, s in zip(ids, seqs, strict=True)))
    demo_small.subset(range(41)).to_parquet(d / "in.parquet")
    return d


def _table(path):
    """id -> (scores, called labels) of a predict TSV (per-window files: (id, start, end) -> scores)."""
    lines = path.read_text().splitlines()
    head, out = lines[0].split("\t"), {}
    for ln in lines[1:]:
        f = ln.split("\t")
        if head[1] == "start":
            out[tuple(f[:3])] = [float(x) for x in f[3:]]
        else:
            out[f[0]] = ([float(x) for x in f[1:-1]], f[-1])
    return out


def _same(a, b):
    assert a.keys() == b.keys()
    for k in a:
        va, vb = (a[k], b[k]) if isinstance(a[k], list) else (a[k][0], b[k][0])
        assert va == pytest.approx(vb, abs=1e-5), k  # batch composition changes the last float digits


def test_chunks_give_the_same_rows(files, tmp_path):
    whole = predict_run(files / "run", files / "in.fa", tmp_path / "a.tsv", windows_out=tmp_path / "aw.tsv",
                        progress=False)
    small = predict_run(files / "run", files / "in.fa", tmp_path / "b.tsv", windows_out=tmp_path / "bw.tsv",
                        progress=False, chunk=7)
    assert (whole.n_sequences, whole.n_windows) == (small.n_sequences, small.n_windows) == (41, 40 + 6)
    _same(_table(tmp_path / "a.tsv"), _table(tmp_path / "b.tsv"))
    _same(_table(tmp_path / "aw.tsv"), _table(tmp_path / "bw.tsv"))
    ids = [ln.split("\t")[0] for ln in (tmp_path / "b.tsv").read_text().splitlines()[1:]]
    assert ids == [f"s{i}" for i in range(41)]  # file order kept


@pytest.mark.parametrize("name", ["in.fa", "in.parquet"])
def test_shards_partition_the_input(files, tmp_path, name):
    whole = predict_run(files / "run", files / name, tmp_path / "all.tsv", progress=False)
    rows = {}
    for i in range(3):
        s = predict_run(files / "run", files / name, tmp_path / f"{i}.tsv", progress=False, shard=(i, 3), chunk=5)
        part = _table(tmp_path / f"{i}.tsv")
        assert len(part) == s.n_sequences and not set(part) & set(rows)
        rows |= part
    _same(rows, _table(tmp_path / "all.tsv"))
    assert len(rows) == whole.n_sequences


def test_shard_and_chunk_errors(files, tmp_path):
    assert parse_shard("2/5") == (2, 5) and parse_shard(None) is None
    for bad in ("5/5", "-1/3", "a/b", "3"):
        with pytest.raises(InputError, match="shard"):
            parse_shard(bad)
    with pytest.raises(InputError, match="chunk"):
        list(iter_input(files / "in.fa", chunk=0))
    r = CliRunner().invoke(app, ["predict", str(files / "run"), str(files / "in.fa"), "--out", str(tmp_path / "x.tsv"),
                                 "--shard", "3/2"])
    assert r.exit_code == 2 and "shard" in r.output and not (tmp_path / "x.tsv").exists()
    (tmp_path / "bad.fa").write_text(">a\nACGU\n>b\nACGU\n>a\nACGU\n")
    r = CliRunner().invoke(app, ["predict", str(files / "run"), str(tmp_path / "bad.fa"), "--out", str(tmp_path / "y.tsv"),
                                 "--chunk", "1"])
    assert r.exit_code == 2 and "duplicate id" in r.output and not (tmp_path / "y.tsv").exists()  # nothing partial
