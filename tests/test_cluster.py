"""Prediction and folding on a real 2-worker Dask cluster (processes): the same bytes as serial, errors as serial,
nothing left behind; the fold cache filled so that the views find every fold."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest
from typer.testing import CliRunner

pytest.importorskip("distributed")

from rnalabel.cli import app  # noqa: E402
from rnalabel.cluster import client, fold_parallel, predict_parallel  # noqa: E402
from rnalabel.engine.bundle import ShortSequenceWarning, save_model  # noqa: E402
from rnalabel.errors import ConfigError, InputError  # noqa: E402
from rnalabel.runs import predict_run  # noqa: E402


@pytest.fixture(scope="module")
def scheduler():
    """One local cluster of 2 worker processes for the module; tests reach it by its address."""
    with client(workers=2) as c:
        yield c.scheduler.address


@pytest.fixture(scope="module")
def files(tmp_path_factory, trained_tiny, demo_small):
    """The tiny model, 300 demo RNAs (every 25th three times as long: several windows) as FASTA, 300 as Parquet,
    and what serial predict_run writes for them."""
    d = tmp_path_factory.mktemp("cluster")
    save_model(trained_tiny, d / "run")
    seqs = [s * 3 if i % 25 == 7 else s for i, s in enumerate(demo_small.sequences[:300])]
    (d / "in.fa").write_text("".join(f">s{i}\n{s}\n" for i, s in enumerate(seqs)))
    demo_small.subset(range(300)).to_parquet(d / "in.parquet")
    serial = {}
    for name in ("in.fa", "in.parquet"):
        serial[name] = predict_run(d / "run", d / name, d / f"{name}.tsv", windows_out=d / f"{name}.w.tsv",
                                   progress=False)
    assert serial["in.fa"].n_windows > serial["in.fa"].n_sequences == 300  # long RNAs: several rows each
    return d, serial


@pytest.mark.parametrize(("name", "shards"), [("in.fa", 2), ("in.fa", 3), ("in.parquet", 3)])
def test_parallel_predict_writes_the_serial_bytes(files, scheduler, tmp_path, name, shards):
    d, serial = files
    s = predict_parallel(d / "run", d / name, tmp_path / "p.tsv", windows_out=tmp_path / "w.tsv", shards=shards,
                         scheduler=scheduler)
    assert (tmp_path / "p.tsv").read_bytes() == (d / f"{name}.tsv").read_bytes()
    assert (tmp_path / "w.tsv").read_bytes() == (d / f"{name}.w.tsv").read_bytes()
    assert s == serial[name]
    assert sorted(os.listdir(tmp_path)) == ["p.tsv", "w.tsv"]  # no temporaries
    if shards == 2:  # a .gz name gives the same bytes, compressed
        import gzip

        predict_parallel(d / "run", d / name, tmp_path / "p.tsv.gz", shards=shards, scheduler=scheduler)
        assert gzip.decompress((tmp_path / "p.tsv.gz").read_bytes()) == (d / f"{name}.tsv").read_bytes()


def test_more_shards_than_records_and_warnings(files, scheduler, tmp_path, demo_small):
    d, _ = files
    (tmp_path / "few.fa").write_text(f">a\n{demo_small.sequences[0] * 2}\n>b\nACGUAC\n>c\n{demo_small.sequences[1]}\n")
    with pytest.warns(ShortSequenceWarning):
        predict_run(d / "run", tmp_path / "few.fa", tmp_path / "serial.tsv", windows_out=tmp_path / "serial.w.tsv",
                    progress=False)
    with pytest.warns(ShortSequenceWarning):  # raised on a worker, raised again here
        s = predict_parallel(d / "run", tmp_path / "few.fa", tmp_path / "p.tsv", windows_out=tmp_path / "w.tsv",
                             shards=5, scheduler=scheduler)
    assert s.n_sequences == 3
    assert (tmp_path / "p.tsv").read_bytes() == (tmp_path / "serial.tsv").read_bytes()
    assert (tmp_path / "w.tsv").read_bytes() == (tmp_path / "serial.w.tsv").read_bytes()


def test_a_worker_error_is_the_serial_error_and_nothing_is_left(files, scheduler, tmp_path, monkeypatch):
    d, _ = files
    monkeypatch.chdir(tmp_path)  # relative paths: the message names the file as the caller did
    (tmp_path / "bad.fa").write_text(">a\nACGU\n>b\nACGUZ\n>c\nACGU\n")
    with pytest.raises(InputError) as serial:
        predict_run(d / "run", "bad.fa", "s.tsv", progress=False)
    with pytest.raises(InputError) as parallel:
        predict_parallel(d / "run", "bad.fa", "p.tsv", windows_out="w.tsv", shards=3, scheduler=scheduler)
    assert type(parallel.value) is type(serial.value) and str(parallel.value) == str(serial.value)
    assert str(parallel.value).startswith("bad.fa:4: ")
    assert os.listdir(tmp_path) == ["bad.fa"]  # no output, no part, no temporary file or folder
    (tmp_path / "empty.fa").write_text("")
    with pytest.raises(InputError) as serial:
        predict_run(d / "run", "empty.fa", "s.tsv", progress=False)
    with pytest.raises(InputError) as parallel:
        predict_parallel(d / "run", "empty.fa", "p.tsv", shards=2, scheduler=scheduler)
    assert str(parallel.value) == str(serial.value)
    assert sorted(os.listdir(tmp_path)) == ["bad.fa", "empty.fa"]


def test_arguments_and_a_missing_dask(monkeypatch, tmp_path):
    for bad in (0, -1, 1.5, True):
        with pytest.raises(InputError, match="workers must be a whole number"):
            with client(workers=bad):
                pass
    with pytest.raises(InputError, match="not both"):
        with client(workers=2, scheduler="tcp://127.0.0.1:8786"):
            pass
    with pytest.raises(InputError, match="shards must be"):
        predict_parallel(tmp_path / "run", tmp_path / "x.fa", tmp_path / "p.tsv", shards=0)
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if not installed
    with pytest.raises(ConfigError, match=r"pip install 'rnalabel\[cluster\]'"):
        with client(workers=2):
            pass
    (tmp_path / "x.fa").write_text(">a\nACGU\n")
    r = CliRunner().invoke(app, ["predict", str(tmp_path / "run"), str(tmp_path / "x.fa"), "--out",
                                 str(tmp_path / "p.tsv"), "--workers", "2"])
    assert r.exit_code == 2 and r.output.count("\n") == 1 and "pip install 'rnalabel[cluster]'" in r.output, r.output
    assert sorted(os.listdir(tmp_path)) == ["x.fa"]


@pytest.fixture
def fold_fa(tmp_path, monkeypatch):
    """40 distinct random RNAs of 20-60 nt, and an empty cache of their own."""
    rng = np.random.default_rng(5)
    seqs = sorted({"".join(rng.choice(list("ACGU"), int(rng.integers(20, 61)))) for _ in range(40)})
    assert len(seqs) == 40
    monkeypatch.setenv("RNALABEL_CACHE", str(tmp_path / "cache"))
    path = tmp_path / "fold.fa"
    path.write_text("".join(f">f{i}\n{s}\n" for i, s in enumerate(seqs)))
    return path, seqs


def test_fold_parallel_fills_the_cache(fold_fa, scheduler, tmp_path):
    from rnalabel.views.structure import Structure, fill_cache, fold_loop_types

    path, seqs = fold_fa
    first = fold_parallel(path, scheduler=scheduler)
    assert (first.sequences, first.folded, first.cached) == (40, 40, 0)
    assert first.cache == (tmp_path / "cache").resolve()
    second = fold_parallel(path, views="structure", scheduler=scheduler)
    assert (second.sequences, second.folded, second.cached) == (40, 0, 40)
    assert fill_cache(seqs, Structure().folding()) == (40, 0, 40)  # what the view looks up is there
    cached = fold_loop_types(seqs, processes=1)
    serial = fold_loop_types(seqs, processes=1, cache=False)
    assert all(np.array_equal(a, b) for a, b in zip(cached, serial, strict=True))


def test_fold_windows_views_and_shards(fold_fa, scheduler):
    from rnalabel.engine.inputs import make_units
    from rnalabel.io import read_input
    from rnalabel.views.pairing import Pairing

    path, _ = fold_fa
    spec = {"type": "pairing", "max_span": 20}
    parts = [fold_parallel(path, views=[spec], window=30, stride=15, shard=(i, 2)) for i in range(2)]  # no Dask
    assert [p.sequences for p in parts] == [20, 20] and parts[0].folded > 20
    again = fold_parallel(path, views=spec, window=30, stride=15, scheduler=scheduler)
    assert (again.sequences, again.folded, again.cached) == (40, 0, parts[0].folded + parts[1].folded)
    units = make_units(read_input(path), kind="windowed", window=30, stride=15).dataset  # what training featurises
    assert np.array_equal(Pairing(max_span=20, processes=1).transform(units),
                          Pairing(max_span=20, processes=1, cache=False).transform(units))
    with pytest.raises(ConfigError, match="no folds"):
        fold_parallel(path, views="onehot")


def test_cli(files, scheduler, fold_fa, tmp_path):
    d, _ = files
    runner = CliRunner()
    r = runner.invoke(app, ["predict", str(d / "run"), str(d / "in.fa"), "--out", str(tmp_path / "p.tsv"),
                            "--workers", "2"])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "p.tsv").read_bytes() == (d / "in.fa.tsv").read_bytes()
    r = runner.invoke(app, ["predict", str(d / "run"), str(d / "in.fa"), "--out", str(tmp_path / "q.tsv"),
                            "--workers", "2", "--shard", "0/2"])
    assert r.exit_code == 2 and r.output.startswith("error:") and r.output.strip().count("\n") == 0, r.output
    assert not (tmp_path / "q.tsv").exists()
    r = runner.invoke(app, ["data", "fold", str(fold_fa[0]), "--scheduler", scheduler, "--recipe",
                            "multiresbind_structure"])
    assert r.exit_code == 0, r.output
    assert "40 sequences (structure): 40 folded, 0 already cached" in r.output
