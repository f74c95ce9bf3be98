"""Run folders: one call per CLI command. Read inputs, do the work, write the files; the CLI only parses arguments.

* :func:`train_run`: dataset + recipe -> run folder (model card, weights, metrics, history, curves).
* :func:`evaluate_run`: run folder + labelled data -> metrics (JSON) and curves (PNG).
* :func:`predict_run`: run folder + sequences -> per-sequence (and per-window) TSV.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from rnalabel.data import Dataset, write_text_atomic
from rnalabel.data.files import atomic_dir, atomic_paths
from rnalabel.engine.bundle import Bundle, load_model, save_model
from rnalabel.engine.evaluate import evaluate
from rnalabel.engine.metrics import MultiLabelScores
from rnalabel.engine.predict import Embeddings, Predictions, predict
from rnalabel.engine.recipe import Recipe, load_recipe
from rnalabel.engine.training import FitReport, fit
from rnalabel.errors import InputError
from rnalabel.io import read_input


def _dataset(data: Dataset | str | os.PathLike) -> Dataset:
    return data if isinstance(data, Dataset) else read_input(data)


def train_run(
    data: Dataset | str | os.PathLike,
    recipe: Recipe | str = "multiresbind",
    out: str | os.PathLike = "runs/train",
    *,
    window: int | None = None,
    stride: int | None = None,
    progress: bool = True,
    device: str | None = None,
    devices: int | str = 1,
    overwrite: bool = False,
    **train_overrides,
) -> tuple[Bundle, FitReport]:
    """Train a recipe on a dataset and write the run folder ``out``, all or nothing.

    The folder is made (in a temporary place beside ``out``) before anything else, so an unwritable ``out`` fails
    at once; it takes its place only when everything is written. An error or Ctrl-C leaves ``out`` as it was.

    Parameters
    ----------
    data : Dataset or path
        A labelled dataset, or a file :func:`rnalabel.io.read_input` reads (Parquet, CSV/TSV table).
    recipe : Recipe or str
        A recipe, a built-in recipe name, or a YAML path. Default is "multiresbind".
    out : path
        Run folder. Default is "runs/train".
    window, stride : int, optional
        Override the recipe's window and stride.
    progress : bool
        Default is True.
    device : str, optional
        Default is None (CUDA when present, else CPU).
    devices : int or "auto"
        Default is 1.
    overwrite : bool
        Replace an existing run folder (one that holds a card.json); without it a folder holding files is
        refused. Default is False.
    **train_overrides
        Any :class:`rnalabel.engine.recipe.TrainConfig` field (``max_epochs``, ``batch_size``, ``lr``, ``seed`` ...);
        None values are ignored.
    """
    from dataclasses import replace

    from rnalabel.report import plot_curves, write_history

    with atomic_dir(out, overwrite=overwrite) as folder:
        ds = _dataset(data)
        rec = recipe if isinstance(recipe, Recipe) else load_recipe(recipe)
        if window is not None or stride is not None:  # checked by Recipe: whole numbers of at least 1
            rec = replace(rec, window=rec.window if window is None else window,
                          stride=rec.stride if stride is None else stride)
        rec = rec.with_train(**train_overrides)
        model, report = fit(rec, ds, progress=progress, device=device, devices=devices)
        save_model(model, folder)
        write_text_atomic(folder / "metrics.json", json.dumps(model.card["metrics"], indent=2) + "\n")
        write_history(report.history, folder / "history.tsv")
        split = "test" if "test" in report.outputs else "val"
        y, scores = report.outputs[split]
        plot_curves(y, scores, model.label_names, folder / "curves.png",
                    title=f"{rec.name}: {split} split (n={len(y)})")
    return model, report


def evaluate_run(
    model_dir: str | os.PathLike,
    data: Dataset | str | os.PathLike,
    *,
    split: str = "test",
    out: str | os.PathLike | None = None,
    plot: str | os.PathLike | None = None,
    batch_size: int = 512,
    device: str | None = None,
    progress: bool = True,
    precision: str = "auto",
) -> MultiLabelScores:
    """Evaluate a saved model on labelled data; optionally write metrics JSON and a curves PNG (both or neither;
    their places are checked before any work).

    Parameters
    ----------
    split : str
        ``test``, ``val``, ``train`` or ``all``; a dataset without a split column is used whole.
        Default is "test".
    precision : "auto", "32" or "bf16"
        Inference arithmetic (see :func:`rnalabel.engine.forward.forward_arrays`). Default is "auto" (as trained).
    """
    from rnalabel.report import plot_curves

    if split not in ("train", "val", "test", "all"):
        raise InputError(f"unknown split {split!r}.", remedy="use train, val, test or all.")
    with atomic_paths(out, plot) as (out_tmp, plot_tmp):
        model = load_model(model_dir)
        ds = _dataset(data)
        if split != "all" and ds.split is not None:
            ds = ds.select_split(split)
            if len(ds) == 0:
                raise InputError(f"the {split!r} split is empty.", remedy="choose another split or use all.")
        scores, y, s = evaluate(model, ds, batch_size=batch_size, device=device, progress=progress,
                                precision=precision)
        if out_tmp is not None:
            out_tmp.write_text(json.dumps(scores.to_dict(), indent=2) + "\n")
        if plot_tmp is not None:
            plot_curves(y, s, model.label_names, plot_tmp, title=f"{Path(model_dir).name}: {split} (n={len(ds)})")
    return scores


def predict_run(
    model_dir: str | os.PathLike,
    data: Dataset | str | os.PathLike,
    out: str | os.PathLike,
    *,
    windows_out: str | os.PathLike | None = None,
    batch_size: int = 512,
    device: str | None = None,
    progress: bool = True,
    precision: str = "auto",
) -> Predictions | Embeddings:
    """Predict with a saved model and write a per-sequence TSV (and a per-window TSV when asked: both or neither;
    their places are checked before any work).

    What the TSV holds follows the model's kind: label probabilities and called labels, or (embedding models)
    one vector per sequence.
    """
    with atomic_paths(out, windows_out) as (out_tmp, windows_tmp):
        model = load_model(model_dir)
        if windows_out is not None and not model.kind_info.scans:
            raise InputError(f"a {model.kind} model takes each sequence whole; it has no per-window scores.",
                             remedy="leave out --windows.")
        ds = _dataset(data)
        preds = predict(model, ds, batch_size=batch_size, device=device, progress=progress, precision=precision)
        preds.to_tsv(out_tmp)
        if windows_tmp is not None:
            preds.to_tsv(windows_tmp, windows=True)
    return preds
