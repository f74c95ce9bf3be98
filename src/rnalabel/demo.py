"""The end-to-end demo run: generate the embedded synthetic data (:mod:`rnalabel.data.synthetic`), train the default
recipe, evaluate, predict on held-out and on long sequences, and write a complete run folder."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from rnalabel.data import Dataset, write_text_atomic
from rnalabel.data.files import atomic_dir
from rnalabel.data.synthetic import make_demo_dataset, make_demo_transcripts
from rnalabel.engine.metrics import MultiLabelScores


@dataclass
class DemoResult:
    """Where the demo wrote its files and what it measured."""

    out: Path
    scores: MultiLabelScores
    seconds: float

    @property
    def macro_auroc(self) -> float:
        return self.scores.averages["auroc_macro"]

    @property
    def macro_ap(self) -> float:
        return self.scores.averages["ap_macro"]


def run_demo(
    out: str | os.PathLike = "runs/demo",
    *,
    n: int = 5000,
    seed: int = 0,
    recipe: str = "multiresbind",
    max_epochs: int | None = 12,
    progress: bool = True,
    device: str | None = None,
    zoo_answers: dict | None = None,
) -> DemoResult:
    """Generate the demo data, train, evaluate, predict, and write a run folder.

    The run folder holds ``card.json`` + ``model.safetensors`` (the model), ``metrics.json`` (validation and
    test scores), ``predictions.tsv`` (held-out test sequences), ``transcripts.tsv`` and
    ``transcript_windows.tsv`` (long sequences scanned window by window; ``transcripts_planted.json`` says
    where the sites are), ``curves.png`` (per-label ROC and PR
    curves), ``history.tsv``, ``data/demo.parquet`` and ``report.html`` (the self-contained HTML report).

    Parameters
    ----------
    out : path
        Run folder. Default is "runs/demo".
    n : int
        Number of demo sequences. Default is 5000.
    seed : int
        Default is 0.
    recipe : str
        Recipe name or YAML path. Default is "multiresbind".
    max_epochs : int, optional
        Cap on epochs (early stopping usually ends sooner). Default is 12; None keeps the recipe's.
    progress : bool
        Default is True.
    device : str, optional
        Default is None (CUDA when present, else CPU).
    zoo_answers : dict, optional
        :func:`rnalabel.zoo.examples.answer_examples`: written as ``zoo/<name>.tsv`` (and
        ``zoo/<name>_windows.tsv`` for a windowed model). Default is None (no zoo files).
    """
    import time

    from rnalabel.engine.kinds import get_kind
    from rnalabel.engine.predict import predict
    from rnalabel.engine.recipe import load_recipe
    from rnalabel.engine.training import resolve_kind
    from rnalabel.errors import ConfigError
    from rnalabel.report.html import write_report
    from rnalabel.runs import train_run

    t0 = time.perf_counter()
    kind = resolve_kind(load_recipe(recipe))
    if not get_kind(kind).scans:
        raise ConfigError(f"the demo scans long transcripts, so it needs a windowed recipe; {recipe!r} gives a "
                          f"{kind} model.", remedy="use a windowed recipe (`rnalabel recipes` shows each one's kind).")
    out = Path(out)
    with atomic_dir(out, overwrite=True) as folder:  # the demo's folder is remade each time, all or nothing
        ds = make_demo_dataset(n, seed=seed)
        model, report = train_run(ds, recipe, folder, progress=progress, device=device, max_epochs=max_epochs,
                                  seed=seed, overwrite=True)
        ds.to_parquet(folder / "data" / "demo.parquet")
        preds = predict(model, ds.select_split("test"), device=device, progress=False)
        preds.to_tsv(folder / "predictions.tsv")
        tids, tseqs, planted = make_demo_transcripts(seed=seed + 1)
        tpred = predict(model, Dataset.from_sequences(tids, tseqs), device=device, progress=False)
        tpred.to_tsv(folder / "transcripts.tsv")
        tpred.to_tsv(folder / "transcript_windows.tsv", windows=True)
        write_text_atomic(folder / "transcripts_planted.json",
                          json.dumps(dict(zip(tids, planted, strict=True)), indent=2))
        for name, (zp, _) in (zoo_answers or {}).items():
            zp.to_tsv(folder / "zoo" / f"{name}.tsv")
            if getattr(zp, "window_scores", None) is not None and len(zp.window_scores) > len(zp.ids):
                zp.to_tsv(folder / "zoo" / f"{name}_windows.tsv", windows=True)
        write_report(folder, folder / "report.html", title=Path(out).resolve().name)
    return DemoResult(out=out, scores=report.test, seconds=time.perf_counter() - t0)
