"""``rnalabel data``: import, build, sources, stats; user errors give one line, exit 2, no partial output."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from rnalabel.cli import app
from rnalabel.data import Dataset
from tests.fake_layouts import MIRLOC_CSV, write_eclip, write_rbp31

runner = CliRunner()


def _ok(args):
    r = runner.invoke(app, [str(a) for a in args])
    assert r.exit_code == 0, r.output
    return r


def _user_error(args, needle: str):
    r = runner.invoke(app, [str(a) for a in args])
    assert r.exit_code == 2, r.output
    text = r.output.strip()
    assert "Traceback" not in text and len(text.splitlines()) == 1 and needle in text, text
    return text


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".") or p.suffix == ".tmp")


def test_import_fasta_with_label_table(tmp_path):
    fa = tmp_path / "x.fa"
    fa.write_text(">a\nACGT\n>b\nGGUU\n")
    lab = tmp_path / "labels.tsv"
    lab.write_text("id\tPUM2\na\t1\nb\t0\n")
    out = tmp_path / "out" / "x.parquet"
    r = _ok(["data", "import", "fasta", fa, "--out", out, "--label-table", lab])
    assert "2 sequences, 1 label ->" in " ".join(r.output.split())
    ds = Dataset.from_parquet(out)
    assert ds.sequences == ["ACGU", "GGUU"] and ds.labels[:, 0].tolist() == [1, 0]
    p = ds.provenance
    assert p["format"] == "fasta" and p["source"] == str(fa) and p["imported"] and p["counts"]["sequences"] == 2


def test_failed_import_is_one_line_and_leaves_no_file(tmp_path):
    fa = tmp_path / "bad.fa"
    fa.write_text(">a\nACGU\n>b\nAC*U\n")
    out = tmp_path / "bad.parquet"
    text = _user_error(["data", "import", "fasta", fa, "--out", out], f"{fa}:4")
    assert text.startswith("error:") and "Remedy" in text
    assert not out.exists() and _leftovers(tmp_path) == []
    t = tmp_path / "t.csv"
    t.write_text("id,sequence,a\nx,ACGU,1\ny,ACGU,2\n")
    _user_error(["data", "import", "table", t, "-o", out], "'2'")
    _user_error(["data", "import", "table", tmp_path / "missing.csv", "-o", out], "file not found")
    _user_error(["data", "import", "genbank", t, "-o", out], "unknown format")
    _user_error(["data", "import", "bed", t, "-o", out], "needs a genome")
    assert not out.exists() and _leftovers(tmp_path) == []


def test_write_failure_leaves_no_partial_file(tmp_path, monkeypatch):
    import pyarrow.parquet as pq

    fa = tmp_path / "x.fa"
    fa.write_text(">a\nACGU\n")
    out = tmp_path / "x.parquet"

    def broken(table, where, **kw):
        with open(where, "wb") as fh:
            fh.write(b"PAR1 half a file")
        raise OSError("disk full")

    monkeypatch.setattr(pq, "write_table", broken)
    r = runner.invoke(app, ["data", "import", "fasta", str(fa), "--out", str(out)])
    assert r.exit_code != 0
    assert not out.exists() and _leftovers(tmp_path) == []


def test_import_table_bed_rbp31_eclip(tmp_path):
    t = tmp_path / "t.csv"
    t.write_text("name,seq,a,b,note\nx,ACGU,1,0,z\ny,GGGG,,1,z\n")
    out = tmp_path / "t.parquet"
    _ok(["data", "import", "table", t, "-o", out, "--id-col", "name", "--seq-col", "seq", "--labels", "b,a"])
    assert Dataset.from_parquet(out).label_names == ["b", "a"]

    genome = tmp_path / "g.fa"
    genome.write_text(">chr1\nACGTACGTAA\n")
    bed = tmp_path / "x.bed"
    bed.write_text("chr1\t0\t4\tp\t0\t-\n")
    _ok(["data", "import", "bed", bed, "--genome", genome, "-o", out])
    assert Dataset.from_parquet(out).sequences == ["ACGU"]
    bed.write_text("chr1\t0\t4\nchr9\t0\t4\n")
    _user_error(["data", "import", "bed", bed, "--genome", genome, "-o", tmp_path / "b.parquet"], "x.bed:2")

    write_rbp31(tmp_path / "r", {"7_CLIP_X": {"train": [("ACGT", 1)], "test": [("GGGG", 0)]}})
    _ok(["data", "import", "rbp31", tmp_path / "r" / "datasets" / "clip" / "7_CLIP_X", "-o", out])
    assert Dataset.from_parquet(out).split.tolist() == ["train", "test"]

    write_eclip(tmp_path / "e", {"Q_K562": [("ACGT", 1), ("GGGG", 0)]})
    _ok(["data", "import", "eclip", tmp_path / "e" / "eCLIP_Data" / "Q_K562.gz", "-o", out])
    assert Dataset.from_parquet(out).label_names == ["Q_K562"]


def test_build_commands(tmp_path):
    csv = tmp_path / "m.csv"
    csv.write_text(MIRLOC_CSV * 1)
    out = tmp_path / "m.parquet"
    r = _ok(["data", "build", "mirloc", "--root", csv, "--out", out, "--split", "none",
             "--labels", "Nucleus,Exosome"])
    ds = Dataset.from_parquet(out)
    assert ds.label_names == ["Nucleus", "Exosome"] and ds.split is None and "3 sequences" in " ".join(r.output.split())
    assert ds.provenance["built"]["kind"] == "mirloc"

    write_eclip(tmp_path / "e", {"A_K562": [("ACGTA", 1), ("CCCCC", 0), ("GGGGG", 0)],
                                 "B_K562": [("ACGTA", 1), ("UUUUA", 1), ("AAAAA", 0)]})
    _ok(["data", "build", "eclip", "--root", tmp_path / "e", "-o", out, "--n-negative", "all",
         "--split", "0.5,0,0.5", "--seed", "2"])
    ds = Dataset.from_parquet(out)
    assert len(ds) == 5 and ds.label_names == ["A_K562", "B_K562", "negative"] and ds.split is not None
    np.testing.assert_array_equal(ds.labels[0], [1, 1, 0])

    bad = tmp_path / "never.parquet"
    _user_error(["data", "build", "eclip", "--root", tmp_path / "e", "-o", bad, "--split", "0.5,0.5"],
                "--split")
    _user_error(["data", "build", "eclip", "--root", tmp_path / "e", "-o", bad, "--n-negative", "many"],
                "--n-negative")
    _user_error(["data", "build", "eclip", "--root", tmp_path, "-o", bad], "no eCLIP files")
    _user_error(["data", "build", "rbp24", "--root", tmp_path, "-o", bad], "unknown dataset")
    assert not bad.exists()


def test_sources_and_help_mention_download():
    r = _ok(["data", "sources"])
    for repo in ("xypan1232/iDeepS", "yaweiwang1232/EDCNN", "muas16/MirLocPredictor", "sbbi-unl/DeepmiRBP"):
        assert repo in r.output
    assert "git clone" in r.output
    assert "sources" in _ok(["data", "--help"]).output


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_stats_still_works(tmp_path, fmt):
    t = tmp_path / "t.csv"
    t.write_text("id,sequence,a,b\nx,ACGU,1,0\ny,GGGG,1,1\n")
    path = t
    if fmt == "parquet":
        path = tmp_path / "t.parquet"
        _ok(["data", "import", "table", t, "-o", path])
    r = _ok(["data", "stats", path])
    assert "2 sequences, 2 labels" in " ".join(r.output.split())  # rich wraps long lines


@pytest.mark.parametrize("fractions", ["nan,0.1,0.2", "inf,0.1,0.2", "-0.2,0.5,0.7", "0.7,nan,0.3"])
def test_build_split_must_be_finite_non_negative_fractions(tmp_path, fractions):
    csv = tmp_path / "m.csv"
    csv.write_text(MIRLOC_CSV)
    out = tmp_path / "m.parquet"
    text = _user_error(["data", "build", "mirloc", "--root", csv, "--out", out, "--split", fractions], "--split")
    assert "finite, non-negative" in text and not out.exists() and _leftovers(tmp_path) == []
