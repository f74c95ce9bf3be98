"""Run folders: one call per CLI command. Read inputs, do the work, write the files; the CLI only parses arguments.

* :func:`train_run`: dataset + recipe -> run folder (model card, weights, metrics, history, curves).
* :func:`evaluate_run`: run folder + labelled data -> metrics (JSON) and curves (PNG).
* :func:`ensemble_run`: several run folders (+ labelled data for the thresholds) -> one ensemble run folder.
* :func:`predict_run`: run folder + sequences -> per-sequence (and per-window) TSV.
* :func:`index_run`: embedding model + binding sites -> model folder with a similarity index (DeepMiRBP).
* :func:`rank_run`: model with an index + miRNAs (or miRBase names) -> proteins ranked per miRNA (TSV).
"""

from __future__ import annotations

import json
import os
import shutil
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rnalabel.data import Dataset, write_text_atomic
from rnalabel.data.files import atomic_dir, atomic_paths, open_output, same_file
from rnalabel.engine.bundle import Bundle, load_model, save_model
from rnalabel.engine.evaluate import evaluate
from rnalabel.engine.metrics import MultiLabelScores
from rnalabel.engine.predict import Embeddings, predict
from rnalabel.engine.recipe import Recipe, load_recipe
from rnalabel.engine.training import FitReport, fit
from rnalabel.errors import InputError, a_or_an
from rnalabel.io import read_input


def _dataset(data: Dataset | str | os.PathLike, *, id_col: str | None = None, seq_col: str | None = None) -> Dataset:
    return data if isinstance(data, Dataset) else read_input(data, id_col=id_col, seq_col=seq_col)


def _stream(data: Dataset | str | os.PathLike):
    from rnalabel.data.stream import ParquetStream

    if isinstance(data, Dataset):
        raise InputError("streaming trains from a Parquet file, not from a dataset in memory.",
                         remedy="give the path of the Parquet file, or train without streaming.")
    path = Path(data)
    if path.suffix.lower() not in (".parquet", ".pq"):
        raise InputError("streaming trains from an rnalabel Parquet dataset.", path=path,
                         remedy=f"convert it first: rnalabel data import table {path} --out {path.stem}.parquet")
    return ParquetStream(path)


def _card_digest(run: str | os.PathLike) -> str:
    from rnalabel.data.files import sha256_file
    from rnalabel.zoo import model_path

    return sha256_file(model_path(run) / "card.json")


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
    init: str | os.PathLike | None = None,
    resume: bool = False,
    num_nodes: int = 1,
    checkpoint_every: int = 1000,
    stream: bool = False,
    shuffle_buffer: int = 65_536,
    strategy: str = "auto",
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
    devices, num_nodes : int
        DDP: devices (or CPU processes) per node, and nodes (see :func:`rnalabel.engine.training.fit`). Defaults
        are 1 and 1.
    strategy : str
        Lightning strategy for several devices ("auto", "ddp", "ddp_find_unused_parameters_true"). Default is
        "auto".
    checkpoint_every : int
        Training batches between checkpoints within an epoch (0: after each epoch only). Default is 1000.
    stream : bool
        Train from the Parquet file ``data`` without reading it into memory (see
        :func:`rnalabel.engine.training.fit`). Default is False.
    shuffle_buffer : int
        Streaming: rows shuffled together. Default is 65,536.
    overwrite : bool
        Replace an existing run folder (one that holds a card.json); without it a folder holding files is
        refused. Default is False.
    init : path, optional
        A run folder whose weights start the training (transfer learning, e.g. DeepMiRBP's source model
        fine-tuned on miRNAs): weights with the same name and shape are loaded, the others (an output layer for
        another number of labels) start fresh and are listed in the card. Default is None (random start).
    resume : bool
        Continue an interrupted training of the same data and recipe into the same ``out``. While training runs,
        its state is saved after every epoch in ``.<out name>.checkpoint/`` beside ``out`` (removed once the run
        folder is written), so a killed run (Ctrl-C, ``kill -9``, a lost node) loses at most one epoch; the
        resumed run ends with what an uninterrupted one would have given (CPU). Default is False.
    **train_overrides
        Any :class:`rnalabel.engine.recipe.TrainConfig` field (``max_epochs``, ``batch_size``, ``lr``, ``seed`` ...);
        None values are ignored.
    """
    from rnalabel.engine.training import global_rank
    from rnalabel.report import plot_curves, write_history

    if global_rank(devices) != 0:  # a DDP worker process (it re-runs this call): train along, write nothing
        return _train(data, recipe, window, stride, train_overrides, init, progress=False, device=device,
                      devices=devices, num_nodes=num_nodes, checkpoint=checkpoint_dir(out), resume=resume,
                      checkpoint_every=checkpoint_every, stream=stream, shuffle_buffer=shuffle_buffer,
                      strategy=strategy)
    with atomic_dir(out, overwrite=overwrite) as folder:
        ck = checkpoint_dir(out)
        model, report = _train(data, recipe, window, stride, train_overrides, init, progress=progress, device=device,
                               devices=devices, num_nodes=num_nodes, checkpoint=ck, resume=resume,
                               checkpoint_every=checkpoint_every, stream=stream, shuffle_buffer=shuffle_buffer,
                      strategy=strategy)
        save_model(model, folder)
        write_text_atomic(folder / "metrics.json", json.dumps(model.card["metrics"], indent=2) + "\n")
        write_history(report.history, folder / "history.tsv")
        split = "test" if "test" in report.outputs else "val"
        y, scores = report.outputs[split]
        plot_curves(y, scores, model.label_names, folder / "curves.png",
                    title=f"{model.recipe.name}: {split} split (n={len(y)})")
    shutil.rmtree(ck, ignore_errors=True)  # the run folder is complete: nothing left to resume
    return model, report


def _train(data, recipe, window, stride, train_overrides, init, *, stream: bool = False,
           **fit_kw) -> tuple[Bundle, FitReport]:
    from dataclasses import replace

    ds = _stream(data) if stream else _dataset(data)
    rec = recipe if isinstance(recipe, Recipe) else load_recipe(recipe)
    if window is not None or stride is not None:  # checked by Recipe: whole numbers of at least 1
        rec = replace(rec, window=rec.window if window is None else window,
                      stride=rec.stride if stride is None else stride)
    rec = rec.with_train(**train_overrides)
    init_state = None
    if init is not None:
        src = load_model(init)
        if src.recipe.model != rec.model:
            raise InputError(f"--init {init} is a {src.recipe.model!r} model; the recipe trains {rec.model!r}.",
                             remedy="initialise from a model of the same architecture.")
        init_state = src.module.state_dict()
    model, report = fit(rec, ds, init_state=init_state, init_strict=False, **fit_kw)
    if init is not None:
        model.card["training"]["init_from"] = {"path": str(init), "card_sha256": _card_digest(init)}
    return model, report


def checkpoint_dir(out: str | os.PathLike) -> Path:
    """Where ``train_run`` keeps the resumable state of a training into ``out``: ``.<name>.checkpoint`` beside it."""
    out = Path(out)
    return out.parent / f".{out.name}.checkpoint"


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
    id_col: str | None = None,
    seq_col: str | None = None,
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
    with atomic_paths(out, plot, inputs=(data,)) as (out_tmp, plot_tmp):
        model = load_model(model_dir)
        ds = _dataset(data, id_col=id_col, seq_col=seq_col)
        if split != "all" and ds.split is not None:
            ds = ds.select_split(split)
            if len(ds) == 0:
                raise InputError(f"the {split!r} split is empty.", remedy="choose another split or use all.")
        used = split if ds.split is not None or split == "all" else "all (no split column)"
        scores, y, s = evaluate(model, ds, batch_size=batch_size, device=device, progress=progress,
                                precision=precision)
        scores.split = used
        if out_tmp is not None:
            with open_output(out_tmp, out) as f:
                f.write(json.dumps(scores.to_dict(), indent=2) + "\n")
        if plot_tmp is not None:
            plot_curves(y, s, model.label_names, plot_tmp, title=f"{Path(model_dir).name}: {used} (n={len(ds)})")
    return scores


def ensemble_run(
    members: list[str | os.PathLike],
    out: str | os.PathLike,
    *,
    data: Dataset | str | os.PathLike | None = None,
    split: str = "val",
    overwrite: bool = False,
    batch_size: int = 512,
    device: str | None = None,
    progress: bool = True,
) -> tuple[Bundle, MultiLabelScores | None, MultiLabelScores | None]:
    """Combine trained run folders into one ensemble run folder (:func:`rnalabel.engine.ensemble.combine`): card,
    weights, ``metrics.json``, and ``curves.png`` when ``data`` has a test split. All or nothing.

    Parameters
    ----------
    members : list of path
        Two or more run folders of models that read the same views and predict the same labels.
    data : Dataset or path, optional
        Labelled data: the thresholds are chosen on its ``split`` rows (a table without a split column is used
        whole), and its ``test`` rows, when it has a split column, are scored once for the card's test metrics.
        Use the data the members were trained on, so that ``val`` is the rows they held out. Default is None
        (thresholds: the mean of the members').
    split : str
        ``val`` or ``train`` (or ``test``, which then gives no separate test metrics). Default is "val".

    Returns
    -------
    (Bundle, MultiLabelScores or None, MultiLabelScores or None)
        The ensemble, its scores on the threshold rows (None without ``data``), and its test scores when ``data``
        has a test split.
    """
    from rnalabel.engine.ensemble import choose_ensemble_thresholds, combine
    from rnalabel.report import plot_curves

    if split not in ("train", "val", "test"):
        raise InputError(f"unknown split {split!r} for the ensemble's thresholds.", remedy="use val (or train, test).")
    for m in members:
        if Path(m).exists() and Path(out).exists() and same_file(m, out):
            raise InputError("is also one of the members; writing here would replace it.", path=out,
                             remedy="give another --out.")
    with atomic_dir(out, overwrite=overwrite) as folder:
        ds = None if data is None else _dataset(data)
        val, test, source = None, None, None
        if ds is not None:
            source = f"{Path(data).name if not isinstance(data, Dataset) else 'the data'}"
            if ds.split is None:
                val, source = ds, f"{source} (all rows: no split column)"
            else:
                val, source = ds.select_split(split), f"{source} ({split} split)"
                if not len(val):
                    raise InputError(f"the {split!r} split of the data is empty.", path=None if isinstance(data, Dataset)
                                     else data, remedy="give the table the members were trained on, or another --split.")
                if split != "test" and np.any(ds.split == "test"):
                    test = ds.select_split("test")
        model = combine(members)
        val_scores = None if val is None else choose_ensemble_thresholds(
            model, val, batch_size=batch_size, device=device, progress=progress, source=source)
        if val_scores is not None:
            val_scores.split = split if ds.split is not None else "all (no split column)"
        test_scores = None
        if test is not None:
            test_scores, y, s = evaluate(model, test, batch_size=batch_size, device=device, progress=progress)
            test_scores.split = "test"
            model.card.setdefault("metrics", {})["test"] = test_scores.to_dict()
            plot_curves(y, s, model.label_names, folder / "curves.png", title=f"ensemble: test split (n={len(test)})")
        save_model(model, folder)
        if model.card.get("metrics"):
            write_text_atomic(folder / "metrics.json", json.dumps(model.card["metrics"], indent=2) + "\n")
    return model, val_scores, test_scores


@dataclass
class PredictSummary:
    """What :func:`predict_run` wrote: counts, not the predictions (they went to the files chunk by chunk)."""

    kind: str
    n_sequences: int
    n_windows: int
    dims: int = 0


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
    chunk: int = 10_000,
    shard: tuple[int, int] | None = None,
    id_col: str | None = None,
    seq_col: str | None = None,
) -> PredictSummary:
    """Predict with a saved model and write a per-sequence TSV (and a per-window TSV when asked: both or neither;
    their places are checked before any work).

    The input is read, featurised, predicted and written ``chunk`` sequences at a time, so memory does not grow
    with the input (a 10-million-sequence FASTA streams through); the files still appear only when complete.
    ``shard=(i, n)`` predicts records i, i + n, ... only (see :func:`rnalabel.io.iter_input`). What the TSV holds
    follows the model's kind: label probabilities and called labels, or (embedding models) one vector per
    sequence. ``id_col``/``seq_col`` name a table's id and sequence columns (default "id", "sequence").
    """
    from rnalabel.io import iter_input

    with atomic_paths(out, windows_out, inputs=(data,)) as (out_tmp, windows_tmp):
        model = load_model(model_dir)
        if windows_out is not None and not model.kind_info.scans:
            raise InputError(f"{a_or_an(model.kind)} model takes each sequence whole; it has no per-window scores.",
                             remedy="leave out --windows.")
        if isinstance(data, Dataset):
            chunks = [data if shard is None else data.subset(np.arange(shard[0], len(data), shard[1]))]
        else:
            chunks = iter_input(data, chunk=chunk, shard=shard, id_col=id_col, seq_col=seq_col)
        summary = PredictSummary(model.kind, 0, 0)
        with open_output(out_tmp, out) as fo, (open_output(windows_tmp, windows_out) if windows_tmp is not None
                                                else nullcontext()) as fw:
            for part in chunks:
                preds = predict(model, part, batch_size=batch_size, device=device, progress=progress,
                                precision=precision)
                first = summary.n_sequences == 0
                fo.write("\n".join(preds.tsv_lines(header=first)) + "\n")
                if isinstance(preds, Embeddings):
                    summary.dims = preds.vectors.shape[1]
                else:
                    if fw is not None:
                        fw.write("\n".join(preds.tsv_lines(windows=True, header=first)) + "\n")
                    summary.n_windows += len(preds.window_source)
                summary.n_sequences += len(part)
        if summary.n_sequences == 0:
            raise InputError("no sequence to predict" + (f" in shard {shard[0]}/{shard[1]}" if shard else "") + ".",
                             path=None if isinstance(data, Dataset) else data)
    return summary


def index_run(
    model_dir: str | os.PathLike,
    sites: Dataset | str | os.PathLike,
    null: Dataset | str | os.PathLike,
    out: str | os.PathLike,
    *,
    k: int = 10,
    n_null: int = 10,
    center: bool = True,
    batch_size: int = 512,
    progress: bool = True,
    overwrite: bool = False,
    seed: int = 0,
) -> Bundle:
    """Embed every bound site of ``sites`` with an embedding model and write the model with its similarity index
    into the folder ``out``, all or nothing (see :func:`rnalabel.engine.similarity.build_index`). The site
    embeddings are kept 100,000 at a time in ``.<out>.checkpoint`` beside ``out`` while they are computed: run
    again after a kill, it embeds only what is missing."""
    from rnalabel.engine.similarity import build_index

    ck = checkpoint_dir(out)
    had = ck.exists()
    with atomic_dir(out, overwrite=overwrite) as folder:
        model = load_model(model_dir)
        try:
            build_index(model, _dataset(sites), _dataset(null), k=k, n_null=n_null, center=center,
                        batch_size=batch_size, progress=progress, seed=seed, checkpoint=ck)
        except BaseException:
            if not had and not any(ck.glob("part*.npy")):  # refused before any site was embedded: nothing to keep
                shutil.rmtree(ck, ignore_errors=True)
            raise
        model.card.setdefault("index", {})["built_from"] = {"model": str(model_dir), "sites": str(sites),
                                                            "null": str(null)}
        save_model(model, folder)
    shutil.rmtree(ck, ignore_errors=True)  # complete: nothing left to resume
    return model


def rank_run(
    model_dir: str | os.PathLike,
    queries: Dataset | str | os.PathLike | list[str],
    out: str | os.PathLike | None = None,
    *,
    top: int | None = 10,
    n_sites: int = 3,
    mirbase: str | os.PathLike | None = None,
    batch_size: int = 512,
    new_proteins: list | None = None,
    neighbours: int = 3,
):
    """Rank the proteins of a model's similarity index for each query RNA; write a TSV when ``out`` is given.

    ``queries`` is a Dataset, a sequence file, or a list of miRBase names looked up in ``mirbase`` (see
    :func:`rnalabel.io.mirbase.lookup_mirnas`). ``new_proteins`` (:class:`rnalabel.io.protein_features.
    ProteinFeatures` of proteins without binding data) are scored through their ``neighbours`` most similar
    proteins with data (:func:`rnalabel.engine.proteins.zero_shot`; the model needs a protein encoder) and ranked
    with the others; their experiment column reads ``zero-shot via ...``.
    """
    from rnalabel.engine.similarity import load_index, rank
    from rnalabel.io.mirbase import lookup_mirnas

    with atomic_paths(out, inputs=(None if isinstance(queries, list) else queries, mirbase)) as (out_tmp,):
        model = load_model(model_dir)
        index = load_index(model)
        ds = lookup_mirnas(queries, mirbase) if isinstance(queries, list) else _dataset(queries)
        ranking = rank(model, ds, top=None if new_proteins else top, n_sites=n_sites, batch_size=batch_size,
                       index=index)
        if new_proteins:
            from rnalabel.engine.proteins import zero_shot

            extra = zero_shot(model, ds, new_proteins, neighbours=neighbours, batch_size=batch_size)
            rows = []
            for qid in ranking.ids:
                mine = [r for r in ranking.rows if r["id"] == qid] + [
                    {"id": qid, "protein": z["protein"], "score": z["score"], "cosine": float("nan"),
                     "experiment": "zero-shot via " + ",".join(f"{p}({c:.2f})" for p, c, _ in z["neighbours"]),
                     "sites": [], "seed_share": float("nan"), "seed_z": float("nan")} for z in extra if z["id"] == qid]
                mine.sort(key=lambda r: (-r["score"], r["protein"]))
                for k, r in enumerate(mine[: top or len(mine)], start=1):
                    rows.append({**r, "rank": k})
            ranking.rows = rows
        if out_tmp is not None:
            ranking.to_tsv(out_tmp)
    return ranking


def proteins_run(
    model_dir: str | os.PathLike,
    out: str | os.PathLike,
    *,
    pssm_dir: str | os.PathLike | None = None,
    fasta: list[str | os.PathLike] | None = None,
    pssm_map: str | os.PathLike | None = None,
    epochs: int = 150,
    seed: int = 0,
    overwrite: bool = False,
) -> tuple[Bundle, list[str], list[float]]:
    """Train the protein encoder of a model with a similarity index on the index's proteins that have a profile on
    disk, and write the model with it into ``out`` (all or nothing). Returns (bundle, proteins without a profile,
    loss per epoch)."""
    from rnalabel.engine.proteins import (
        attach_protein_encoder,
        protein_groups,
        rna_side_similarity,
        train_protein_encoder,
    )
    from rnalabel.engine.similarity import load_index
    from rnalabel.io.protein_features import known_protein_features

    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise InputError(f"epochs must be a whole number of at least 1, got {epochs!r}.")
    with atomic_dir(out, overwrite=overwrite) as folder:
        model = load_model(model_dir)
        index = load_index(model)
        feats, missing = known_protein_features(sorted(protein_groups(index)), pssm_dir=pssm_dir, fasta=fasta,
                                                pssm_map=pssm_map)
        if len(feats) < 3:
            raise InputError(f"only {len(feats)} of the index's proteins have a profile on disk.",
                             remedy="give --pssm-dir (PSSMs named <GENE>_HUMAN.pssm) and/or --fasta with their "
                                    "sequences.")
        target = rna_side_similarity(index, [f.name for f in feats])
        enc, history = train_protein_encoder(feats, target, epochs=epochs, seed=seed)
        attach_protein_encoder(model, enc, feats, info={"without_profile": missing, "epochs": epochs,
                                                        "final_loss": history[-1], "seed": seed,
                                                        "target": "cosine of site centroids (RNA-side similarity)"})
        save_model(model, folder)
    return model, missing, history
