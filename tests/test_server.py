"""The web API with FastAPI's TestClient: every model kind, limits, and every bad input as a 4xx (never a 500)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from rnalabel.data import Dataset  # noqa: E402
from rnalabel.engine.bundle import save_model  # noqa: E402
from rnalabel.engine.similarity import build_index  # noqa: E402
from rnalabel.engine.training import fit  # noqa: E402
from rnalabel.errors import InputError  # noqa: E402
from rnalabel.server import Limits, create_app  # noqa: E402

SEQ = "GCAUGUAUAUAGCAUUGUAAAUAGCAUCCCUUAGCAUCAUGAUCCAUGCGCAUGCUAGCUAGCUAGGAUCCAUGCAUGCAUGCAUCGAUCGAUCGAUCAUCGAUCGA"


@pytest.fixture(scope="module")
def served(tmp_path_factory, trained_tiny, demo_small):
    d = tmp_path_factory.mktemp("serve")
    save_model(trained_tiny, d / "rbp")
    from tests.helpers import tiny_deepmirbp_recipe

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        emb, _ = fit(tiny_deepmirbp_recipe(), demo_small, progress=False, device="cpu")
    save_model(emb, d / "vectors")
    q = Dataset.from_sequences([f"q{i}" for i in range(10)], [s[:22] for s in demo_small.sequences[:10]])
    build_index(emb, demo_small.subset(np.arange(200)), q, k=3, n_null=3, progress=False)
    save_model(emb, d / "mirbp")
    (d / "mature.fa").write_text(">hsa-miR-451a MIMAT0001631\nAAACCGUUACCAUUACUGAGUU\n"
                                 ">hsa-let-7a-5p MIMAT0000062\nUGAGGUAGUAGGUUGUAUAGUU\n"
                                 ">hsa-let-7b-5p MIMAT0000063\nUGAGGUAGUAGGUUGUGUGGUU\n")
    app = create_app([d / "rbp", d / "vectors", d / "mirbp"], mirbase=d / "mature.fa",
                     limits=Limits(max_sequences=3, max_length=2000, max_body_bytes=50_000))
    return TestClient(app, raise_server_exceptions=False)


def test_health_models_and_schema(served):
    assert served.get("/health").json() == {"status": "ok", "models": 3}
    models = {m["name"]: m for m in served.get("/models").json()}
    assert set(models) == {"rbp", "vectors", "mirbp"}
    assert models["rbp"]["kind"] == "windowed" and models["rbp"]["can_explain"]
    assert models["mirbp"]["can_rank"] and not models["vectors"]["can_rank"]
    card = served.get("/models/rbp").json()
    assert card["labels"] == models["rbp"]["labels"]
    schema = served.get("/openapi.json").json()
    assert {"/predict", "/explain", "/rank", "/models", "/health"} <= set(schema["paths"])
    assert {"PredictRequest", "PredictResponse", "RankResponse", "ExplainResponse"} <= set(schema["components"]["schemas"])
    page = served.get("/")
    assert page.status_code == 200 and "<title>rnalabel</title>" in page.text


def test_predict_json_fasta_and_windows(served):
    long = SEQ * 4
    r = served.post("/predict", json={"model": "rbp", "windows": True,
                                      "sequences": [{"id": "a", "sequence": SEQ}, {"id": "long", "sequence": long}]})
    assert r.status_code == 200, r.text
    body = r.json()
    a, b = body["results"]
    assert set(a["scores"]) == set(body["labels"]) and all(0 <= v <= 1 for v in a["scores"].values())
    assert all(a["scores"][n] >= body["thresholds"][n] for n in a["called"])
    assert b["length"] == len(long) and len(b["windows"]) > 1 and b["windows"][-1]["end"] == len(long)
    assert max(w["scores"]["PUM2"] for w in b["windows"]) == pytest.approx(b["scores"]["PUM2"], abs=1e-6)
    r2 = served.post("/predict", json={"model": "rbp", "fasta": f">a\n{SEQ}\n"})
    assert r2.json()["results"][0]["scores"] == pytest.approx(a["scores"], abs=1e-6)
    assert r2.json()["results"][0]["windows"] is None
    v = served.post("/predict", json={"model": "vectors", "fasta": ">m\nUAGCUUAUCAGACUGAUGUUGA\n"}).json()
    assert v["kind"] == "embedding" and len(v["results"][0]["vector"]) == 8


def test_explain_and_rank(served):
    r = served.post("/explain", json={"model": "rbp", "sequence": SEQ * 2, "label": "PUM2", "steps": 8})
    assert r.status_code == 200, r.text
    e = r.json()
    assert len(e["contributions"]) == len(e["sequence"]) == 101 and e["logo_png"].startswith("iVBOR")  # PNG
    r = served.post("/rank", json={"model": "mirbp", "name": "hsa-miR-451", "top": 2})
    assert r.status_code == 200, r.text
    assert [p["rank"] for p in r.json()["queries"]["hsa-miR-451a"]] == [1, 2] and r.json()["warnings"] == []
    r = served.post("/rank", json={"model": "mirbp", "name": "hsa-let-7", "top": 1})  # a family: said so
    assert r.status_code == 200 and set(r.json()["queries"]) == {"hsa-let-7a-5p", "hsa-let-7b-5p"}
    assert any("family members" in w for w in r.json()["warnings"])
    r = served.post("/rank", json={"model": "mirbp", "sequence": "UAGCUUAUCAGACUGAUGUUGA", "sites": 1})
    top = r.json()["queries"]["query"][0]
    assert len(top["sites"]) == 1
    assert 0 <= top["seed_share"] <= 1 and isinstance(top["seed_z"], float)  # seed-match evidence


@pytest.mark.parametrize("path, body, status, words", [
    ("/predict", {"model": "nope", "fasta": ">a\nACGU\n"}, 404, "unknown model"),
    ("/predict", {"model": "rbp", "fasta": ">a\nACGUZ\n"}, 400, "outside the IUPAC"),
    ("/predict", {"model": "rbp", "fasta": "ACGU\n"}, 400, "before the first"),
    ("/predict", {"model": "rbp", "fasta": ">a\nAC\n>a\nGU\n"}, 400, "duplicate id"),
    ("/predict", {"model": "rbp"}, 400, "either sequences or fasta"),
    ("/predict", {"model": "rbp", "fasta": ">a\nA\n>b\nC\n>c\nG\n>d\nU\n"}, 400, "the limit is 3"),
    ("/predict", {"model": "rbp", "fasta": ">a\n" + "A" * 2001 + "\n"}, 400, "longer than"),
    ("/predict", {"model": "vectors", "fasta": ">a\n" + "A" * 150 + "\n"}, 400, "longer than 101"),
    ("/predict", {"model": "rbp", "sequences": [{"id": "a", "sequence": ""}]}, 400, "empty"),
    ("/predict", {"model": "rbp", "sequences": [{"id": "a", "sequence": "A"}, {"id": "a", "sequence": "C"}]}, 400, "unique"),
    ("/predict", {"model": "rbp", "fasta": ">a\nACGU\n", "bogus": 1}, 422, "extra"),
    ("/predict", {"fasta": ">a\nACGU\n"}, 422, "model"),
    ("/explain", {"model": "rbp", "sequence": SEQ, "label": "NOPE"}, 400, "no label"),
    ("/explain", {"model": "vectors", "sequence": SEQ, "label": "PUM2"}, 400, "vectors"),
    ("/explain", {"model": "rbp", "sequence": SEQ, "label": "PUM2", "steps": 10_000}, 422, "steps"),
    ("/rank", {"model": "rbp", "sequence": "ACGU"}, 400, "no similarity index"),
    ("/rank", {"model": "mirbp", "name": "hsa-miR-0"}, 400, "no miRNA called"),
    ("/rank", {"model": "mirbp"}, 400, "either a sequence"),
    ("/rank", {"model": "mirbp", "sequence": "ACGU", "top": 0}, 422, "top"),
])
def test_bad_input_is_a_4xx(served, path, body, status, words):
    r = served.post(path, json=body)
    assert r.status_code == status, r.text
    assert words.lower() in r.text.lower()


def test_body_limits(served):
    r = served.post("/predict", content=b"{" + b" " * 60_000 + b"}", headers={"content-type": "application/json"})
    assert r.status_code == 413
    r = served.post("/predict", content=b"not json", headers={"content-type": "application/json"})
    assert r.status_code == 422
    chunks = (b" " * 10_000 for _ in range(10))  # no content-length: counted as it arrives
    r = served.post("/predict", content=chunks, headers={"content-type": "application/json"})
    assert r.status_code == 413


def test_heavy_work_does_not_block_health(served):
    """A slow request runs in a worker thread; /health answers meanwhile."""
    import threading
    import time

    done = threading.Event()

    def slow():
        served.post("/explain", json={"model": "rbp", "sequence": SEQ * 3, "label": "QKI", "steps": 200})
        done.set()

    t = threading.Thread(target=slow)
    t.start()
    time.sleep(0.05)
    t0 = time.perf_counter()
    assert served.get("/health").status_code == 200
    assert time.perf_counter() - t0 < 2.0
    t.join(60)


def test_bad_server_settings(tmp_path, trained_tiny):
    with pytest.raises(InputError, match="no model folder"):
        create_app([])
    with pytest.raises(InputError, match="workers"):
        create_app([tmp_path], limits=Limits(workers=0))
