"""``rnalabel report``: one self-contained HTML file from a run folder."""

from __future__ import annotations

import re

import numpy as np
import pytest

from rnalabel.engine.bundle import save_model
from rnalabel.errors import InputError
from rnalabel.report.html import build_report, write_report


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, trained_tiny, demo_small):
    d = tmp_path_factory.mktemp("report") / "run"
    save_model(trained_tiny, d)
    (d / "data").mkdir()
    demo_small.to_parquet(d / "data" / "demo.parquet")
    (d / "history.tsv").write_text("epoch\ttrain_loss\tval_loss\tseconds\n1\t0.8\t0.7\t1\n2\t0.6\t0.65\t1\n")
    (d / "explain").mkdir()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([0, 1])
    fig.savefig(d / "explain" / "PUM2_logo.png")
    plt.close(fig)
    return d


def test_report_is_self_contained(run_dir):
    html = build_report(run_dir)
    for section in ('id="model"', 'id="data"', 'id="training"', 'id="metrics"', 'id="explain"', 'id="card"'):
        assert section in html
    # every image is embedded; nothing is fetched from elsewhere
    assert not re.search(r'src="(?!data:)', html)
    assert "http://" not in html and "https://" not in html
    assert html.count("data:image/png;base64,") >= 5  # label counts, lengths, UpSet, history, the explain PNG
    assert "explain/PUM2_logo.png" in html
    for label in ("PUM2", "QKI", "MBNL1", "ELAVL1", "SRSF1"):
        assert f"<td>{label}</td>" in html


def test_write_report_and_errors(run_dir, tmp_path):
    out = write_report(run_dir, tmp_path / "r.html")
    assert out.read_text().startswith("<!doctype html>")
    assert write_report(run_dir).name == "report.html"
    with pytest.raises(InputError, match="no card.json"):
        write_report(tmp_path)
    assert not (tmp_path / "report.html").exists()


def test_report_never_replaces_without_overwrite_and_refuses_foreign_data(run_dir, tmp_path):
    from rnalabel.data import Dataset

    out = write_report(run_dir, tmp_path / "once.html")
    before = out.read_text()
    with pytest.raises(InputError, match="--overwrite"):
        write_report(run_dir, out)
    assert out.read_text() == before
    other = Dataset.from_sequences(["a", "b"], ["ACGUACGU", "GGGAAAUU"], labels=np.array([[1.0], [0.0]]),
                                   label_names=["SOMETHING_ELSE"])
    other.to_parquet(tmp_path / "other.parquet")
    with pytest.raises(InputError, match="none of the model's"):
        write_report(run_dir, tmp_path / "new.html", data=tmp_path / "other.parquet")
    assert not (tmp_path / "new.html").exists()
    assert write_report(run_dir, out, overwrite=True) == out
