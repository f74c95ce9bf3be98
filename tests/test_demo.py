import json

import numpy as np

from rnalabel.data.published_motifs import matches
from rnalabel.data.synthetic import DEMO_SITES, make_demo_dataset, make_demo_transcripts
from rnalabel.demo import run_demo


def test_demo_data_is_deterministic_and_planted():
    a = make_demo_dataset(300, seed=5)
    b = make_demo_dataset(300, seed=5)
    assert a.sequences == b.sequences and np.array_equal(a.labels, b.labels)
    assert a.label_names == list(DEMO_SITES)
    assert set(a.split) == {"train", "val", "test"}
    seqs = a.sequences
    for j, name in enumerate(a.label_names):
        cons = {"PUM2": "UGUAHAUA", "QKI": "ACUAAY", "SRSF1": "GAAGAA", "ELAVL1": "AUUUAAUUUA",
                "MBNL1": "YGCY"}[name]
        pos = [s for s, y in zip(seqs, a.labels[:, j], strict=True) if y == 1]
        assert all(matches(s, cons) for s in pos), name
    assert (a.labels.sum(axis=1) >= 2).mean() > 0.3  # truly multi-label


def test_transcripts_have_their_sites():
    ids, seqs, planted = make_demo_transcripts(n=3, seed=2, length=300)
    assert len(ids) == 3 and all(len(s) == 300 for s in seqs)
    assert all(len(p) == 2 for p in planted)


def test_run_demo_writes_the_run_folder(tmp_path):
    res = run_demo(tmp_path / "demo", n=600, max_epochs=1, progress=False, device="cpu")
    for f in ("card.json", "model.safetensors", "metrics.json", "predictions.tsv", "curves.png",
              "transcripts.tsv", "transcript_windows.tsv", "history.tsv", "data/demo.parquet"):
        assert (res.out / f).exists(), f
    assert 0 <= res.macro_auroc <= 1
    m = json.loads((res.out / "metrics.json").read_text())
    assert m["test"]["averages"]["auroc_macro"] == res.macro_auroc
    assert "rnalabel report: demo<" in (res.out / "report.html").read_text()  # the run's name, not the temp folder's
