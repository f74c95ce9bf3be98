"""The web API and page: every model kind served the same way, from the bundle contract.

:func:`create_app` loads the model folders once and returns a FastAPI app:

* ``GET /health``, ``GET /models``, ``GET /models/{name}`` (the whole card);
* ``POST /predict`` (JSON sequences or FASTA text; windowed and whole-sequence models: per-label probabilities,
  called labels, per-window scores on request; embedding models: one vector per sequence);
* ``POST /explain`` (integrated gradients of one label for one sequence: a contribution per nucleotide and the
  attribution map as a PNG);
* ``POST /rank`` (embedding models with a similarity index: proteins ranked for a miRNA sequence or a miRBase
  name);
* ``GET /``: the web page (``static/index.html``: plain HTML and a little JavaScript, no build step).

Bad input never gives a 500: the package's own errors become 400 (bad sequences, labels, files: the message is
the one the CLI prints), an unknown model 404, a body over the limit 413, a body that does not match the schema
422. The work runs in worker threads, at most :attr:`Limits.workers` at a time, so a heavy request cannot starve
``/health``.
"""

from __future__ import annotations

import base64
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rnalabel.data import Dataset
from rnalabel.engine.bundle import Bundle, load_model
from rnalabel.errors import InputError, RnalabelError
from rnalabel.server.schemas import (
    ErrorBody,
    ExplainRequest,
    ExplainResponse,
    Health,
    ModelInfo,
    PredictRequest,
    PredictResponse,
    RankedProtein,
    RankRequest,
    RankResponse,
    SequenceIn,
    SequencePrediction,
    WindowScores,
)

STATIC = Path(__file__).parent / "static"


@dataclass(frozen=True)
class Limits:
    """What one request may ask for.

    Attributes
    ----------
    max_sequences : int
        Sequences per request. Default is 1000.
    max_length : int
        Nucleotides per sequence. Default is 100,000.
    max_body_bytes : int
        Request body size. Default is 5,000,000.
    workers : int
        Requests computed at once (the others wait). Default is 2.
    """

    max_sequences: int = 1000
    max_length: int = 100_000
    max_body_bytes: int = 5_000_000
    workers: int = 2


class NotFound(RnalabelError):
    """An unknown model (404)."""


def _unique_names(dirs: list[Path]) -> list[str]:
    names, seen = [], {}
    for d in dirs:
        base = d.resolve().name or "model"
        seen[base] = seen.get(base, 0) + 1
        names.append(base if seen[base] == 1 else f"{base}-{seen[base]}")
    return names


class ModelStore:
    """The models the server was started with, loaded once."""

    def __init__(self, model_dirs: list[str | os.PathLike]) -> None:
        if not model_dirs:
            raise InputError("no model folder given.", remedy="rnalabel serve RUN_DIR [RUN_DIR ...].")
        dirs = [Path(d) for d in model_dirs]
        self.bundles: dict[str, Bundle] = {}
        self.indexes: dict[str, Any] = {}
        for name, d in zip(_unique_names(dirs), dirs, strict=True):
            b = load_model(d)
            self.bundles[name] = b
            if b.kind == "embedding" and "index.faiss" in b.artifacts:
                from rnalabel.engine.similarity import load_index

                self.indexes[name] = load_index(b)

    def get(self, name: str) -> Bundle:
        if name not in self.bundles:
            raise NotFound(f"unknown model {name!r}.", remedy=f"choose one of: {', '.join(self.bundles)}.")
        return self.bundles[name]

    def info(self, name: str) -> ModelInfo:
        b = self.get(name)
        probs = b.kind_info.output == "probabilities"
        return ModelInfo(
            name=name, kind=b.kind, model=b.recipe.model, labels=list(b.label_names),
            thresholds={n: float(t) for n, t in zip(b.label_names, b.thresholds, strict=True)},
            window=b.window, stride=b.stride, max_length=None if b.kind_info.scans else b.window,
            untrained_labels=list(b.card.get("untrained_labels") or []), can_rank=name in self.indexes,
            can_explain=probs, metrics=(b.card.get("metrics") or {}).get("test", {}).get("averages", {}),
        )


def _dataset(req_seqs: list[SequenceIn] | None, fasta: str | None, limits: Limits, *,
             max_length: int | None = None) -> Dataset:
    from rnalabel.data.sequence import validate
    from rnalabel.io.fasta import parse_fasta_text

    if (req_seqs is None) == (fasta is None):
        raise InputError("give either sequences or fasta (one of the two).")
    limit = limits.max_length if max_length is None else min(max_length, limits.max_length)
    if fasta is not None:
        recs = parse_fasta_text(fasta, source="fasta", max_length=limits.max_length)
        ids, seqs = [r.id for r in recs], [r.sequence for r in recs]
    else:
        ids = [s.id for s in req_seqs]
        seqs = [validate(s.sequence, name=s.id, max_length=limits.max_length) for s in req_seqs]
        if len(set(ids)) != len(ids):
            raise InputError("sequence ids must be unique within a request.")
    if not ids:
        raise InputError("no sequence given.")
    if len(ids) > limits.max_sequences:
        raise InputError(f"{len(ids)} sequences in one request; the limit is {limits.max_sequences}.",
                         remedy="split the input into smaller requests.")
    too_long = [i for i, s in zip(ids, seqs, strict=True) if len(s) > limit]
    if too_long:
        raise InputError(f"sequence {too_long[0]!r} is longer than {limit} nt, the longest this model takes.",
                         remedy="give shorter sequences (a whole-sequence model takes each one whole).")
    return Dataset.from_sequences(ids, seqs)


def _warnings(caught) -> list[str]:
    out: list[str] = []
    for w in caught:
        if str(w.message) not in out:
            out.append(str(w.message))
    return out


def do_predict(store: ModelStore, req: PredictRequest, limits: Limits) -> PredictResponse:
    from rnalabel.engine.predict import Embeddings, predict

    b = store.get(req.model)
    ds = _dataset(req.sequences, req.fasta, limits, max_length=None if b.kind_info.scans else b.window)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        preds = predict(b, ds, progress=False)
    names = list(b.label_names)
    results = []
    if isinstance(preds, Embeddings):
        for i, sid in enumerate(preds.ids):
            results.append(SequencePrediction(id=str(sid), length=int(ds.lengths[i]),
                                              vector=[float(v) for v in preds.vectors[i]]))
    else:
        per_seq: dict[int, list[WindowScores]] = {}
        if req.windows:
            for w in range(len(preds.window_source)):
                per_seq.setdefault(int(preds.window_source[w]), []).append(WindowScores(
                    start=int(preds.window_start[w]) + 1, end=int(preds.window_end[w]),
                    scores={n: float(v) for n, v in zip(names, preds.window_scores[w], strict=True)}))
        for i, sid in enumerate(preds.ids):
            results.append(SequencePrediction(
                id=str(sid), length=int(ds.lengths[i]),
                scores={n: float(v) for n, v in zip(names, preds.scores[i], strict=True)},
                called=[n for n, c in zip(names, preds.calls[i], strict=True) if c],
                windows=per_seq.get(i) if req.windows else None))
    return PredictResponse(model=req.model, kind=b.kind, labels=names,
                           thresholds={n: float(t) for n, t in zip(names, b.thresholds, strict=True)},
                           untrained_labels=list(b.card.get("untrained_labels") or []),
                           warnings=_warnings(caught), results=results)


def do_explain(store: ModelStore, req: ExplainRequest, limits: Limits) -> ExplainResponse:
    from rnalabel.data.sequence import decode
    from rnalabel.explain.attribution import integrated_gradients
    from rnalabel.explain.core import label_scores, prepare_windows
    from rnalabel.explain.plots import plot_attribution_map

    b = store.get(req.model)
    if b.kind_info.output != "probabilities":
        raise InputError(f"a {b.kind} model gives vectors, not label scores to explain.",
                         remedy="explain a windowed or whole-sequence model.")
    j = b.label_index(req.label)
    ds = _dataset([SequenceIn(id="query", sequence=req.sequence)], None, limits,
                  max_length=None if b.kind_info.scans else b.window)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        win = prepare_windows(b, ds)
        probs = label_scores(b, win.arrays, label=j, output="probability")
        best = int(np.argmax(probs))
        att = integrated_gradients(b, win.subset([best]), label=j, baseline=req.baseline, steps=req.steps,
                                   progress=False)
    n = int(att.windows.lengths[0])
    with tempfile.TemporaryDirectory() as tmp:
        png = plot_attribution_map(att, 0, Path(tmp) / "map.png", dpi=90)
        data = base64.b64encode(png.read_bytes()).decode("ascii")
    return ExplainResponse(
        model=req.model, label=b.label_names[j], score=float(probs[best]), start=int(att.windows.start[0]) + 1,
        sequence=decode(att.windows.tokens[0], n), contributions=[float(v) for v in att.sequence_track[0, :n]],
        completeness_gap=float(att.delta[0]), logo_png=data)


def do_rank(store: ModelStore, req: RankRequest, limits: Limits, mirbase: str | None) -> RankResponse:
    from rnalabel.engine.similarity import rank
    from rnalabel.io.mirbase import lookup_mirnas

    b = store.get(req.model)
    if req.model not in store.indexes:
        raise InputError(f"model {req.model!r} has no similarity index to rank proteins with.",
                         remedy="use a model built with `rnalabel index`.")
    if (req.sequence is None) == (req.name is None):
        raise InputError("give either a sequence or a miRBase name (one of the two).")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if req.name is not None:
            ds = lookup_mirnas([req.name], mirbase)
        else:
            ds = _dataset([SequenceIn(id="query", sequence=req.sequence)], None, limits, max_length=b.window)
        r = rank(b, ds, top=req.top, n_sites=req.sites, index=store.indexes[req.model])
    out: dict[str, list[RankedProtein]] = {}
    for row in r.rows:
        out.setdefault(row["id"], []).append(RankedProtein(
            rank=row["rank"], protein=row["protein"], score=row["score"],
            cosine=None if row["cosine"] != row["cosine"] else row["cosine"], experiment=row["experiment"],
            sites=row["sites"], seed_share=_finite(row["seed_share"]), seed_z=_finite(row["seed_z"])))
    return RankResponse(model=req.model, queries=out, warnings=_warnings(caught))


def _finite(x: float) -> float | None:
    return None if not np.isfinite(x) else float(x)


def create_app(model_dirs: list[str | os.PathLike], *, limits: Limits | None = None,
               mirbase: str | os.PathLike | None = None):
    """The FastAPI app serving ``model_dirs`` (see the module docstring)."""
    import anyio
    from fastapi import FastAPI, Request
    from fastapi.responses import FileResponse, JSONResponse

    from rnalabel import __version__

    limits = limits or Limits()
    for name in ("max_sequences", "max_length", "max_body_bytes", "workers"):
        v = getattr(limits, name)
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise InputError(f"server limit {name} must be a whole number of at least 1, got {v!r}.")
    store = ModelStore(model_dirs)
    mirbase = str(mirbase) if mirbase is not None else os.environ.get("RNALABEL_MIRBASE")
    limiter = anyio.CapacityLimiter(limits.workers)
    errors = {400: {"model": ErrorBody}, 404: {"model": ErrorBody}, 413: {"model": ErrorBody}}

    app = FastAPI(title="rnalabel", version=__version__,
                  description="Which proteins bind an RNA, and where in the cell it goes.")

    @app.middleware("http")
    async def body_limit(request: Request, call_next):
        size = request.headers.get("content-length")
        if size is not None and (not size.isdigit() or int(size) > limits.max_body_bytes):
            return JSONResponse({"detail": f"request body over {limits.max_body_bytes} bytes."}, status_code=413)
        if request.method == "POST" and size is None:  # chunked: read it (bounded) before the route does
            body = b""
            async for chunk in request.stream():
                body += chunk
                if len(body) > limits.max_body_bytes:
                    return JSONResponse({"detail": f"request body over {limits.max_body_bytes} bytes."},
                                        status_code=413)
            request._body = body
        return await call_next(request)

    @app.exception_handler(RnalabelError)
    async def package_error(request: Request, exc: RnalabelError):
        return JSONResponse({"detail": str(exc)}, status_code=404 if isinstance(exc, NotFound) else 400)

    async def run(fn, *args):
        return await anyio.to_thread.run_sync(fn, *args, limiter=limiter)

    @app.get("/health", response_model=Health)
    async def health() -> Health:
        return Health(status="ok", models=len(store.bundles))

    @app.get("/models", response_model=list[ModelInfo])
    async def models() -> list[ModelInfo]:
        return [store.info(n) for n in store.bundles]

    @app.get("/models/{name}", responses=errors)
    async def model_card(name: str) -> dict:
        return store.get(name).card | {"name": name, "kind": store.get(name).kind}

    @app.post("/predict", response_model=PredictResponse, responses=errors)
    async def predict(req: PredictRequest) -> PredictResponse:
        return await run(do_predict, store, req, limits)

    @app.post("/explain", response_model=ExplainResponse, responses=errors)
    async def explain(req: ExplainRequest) -> ExplainResponse:
        return await run(do_explain, store, req, limits)

    @app.post("/rank", response_model=RankResponse, responses=errors)
    async def rank_(req: RankRequest) -> RankResponse:
        return await run(do_rank, store, req, limits, mirbase)

    @app.get("/", include_in_schema=False)
    async def page():
        return FileResponse(STATIC / "index.html", media_type="text/html")

    app.state.store = store
    app.state.limits = limits
    return app
