"""Training with Lightning: the recipe's masked loss, early stopping, best-weights restore, thresholds.

:func:`fit` is the one call behind ``rnalabel train``: it carves a validation split when the dataset has none,
fits the views (data-dependent parameters), featurises once, trains with Adam and early stopping on validation
loss (the best epoch's weights are restored, as in the Multi-resBind paper), chooses per-label thresholds on the
validation data, and evaluates on the ``test`` split when there is one. The same code runs on CPU, one GPU or
several (``devices=N`` uses DDP).
"""

from __future__ import annotations

import logging
import os
import pickle  # only for its error type: checkpoints are read with torch.load(weights_only=True)
import signal
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch
from torch import nn

from rnalabel._runtime import resolve_device, training_precision
from rnalabel.data import Dataset, split_iterative
from rnalabel.data.augment import shortened_copies
from rnalabel.data.stream import ParquetStream
from rnalabel.engine.bundle import Bundle, UntrainedLabelWarning
from rnalabel.engine.checkpoints import (
    EpochShuffle,
    _Checkpoints,
    _fingerprint,
    _lightning,
    _StreamEpoch,
    global_rank,
)
from rnalabel.engine.forward import forward_arrays, sequence_scores
from rnalabel.engine.inputs import featurize, input_specs, make_units
from rnalabel.engine.kinds import get_kind
from rnalabel.engine.lightning import ViewTensors, _callbacks, _loader, make_lightning_module
from rnalabel.engine.losses import positive_weights
from rnalabel.engine.metrics import MultiLabelScores, choose_thresholds, evaluate_arrays
from rnalabel.engine.recipe import Recipe, TrainConfig
from rnalabel.engine.streaming import StreamUnits, stream_scores
from rnalabel.errors import ConfigError, InputError, LabelError
from rnalabel.models.registry import build_model, model_class
from rnalabel.views.base import View, views_from_specs

log = logging.getLogger(__name__)

STRATEGIES = ("auto", "ddp", "ddp_find_unused_parameters_true")  # Lightning strategies fit() runs under
STREAM_FIT_ROWS = 50_000  # streaming: training rows (a seeded sample) that views with learned parameters see
STREAM_VAL_ROWS = 100_000  # streaming: validation rows read into memory (a seeded sample of a larger split)


# fit --------------------------------------------------------------------------------------------------------
@dataclass
class FitReport:
    """What happened during :func:`fit`.

    Attributes
    ----------
    history : list of dict
        Per epoch: ``epoch``, ``train_loss``, ``val_loss``, ``seconds`` (since the start of training).
    best_epoch : int
    val : MultiLabelScores
        Validation scores at the chosen thresholds.
    test : MultiLabelScores or None
        Test scores, when the dataset has a ``test`` split.
    n_train, n_val, n_test : int
    seconds : float
        Wall time of the whole call.
    train_seconds : float
        Wall time of the optimisation alone.
    split : numpy.ndarray of str, shape=(N,)
        The split each row of the dataset was given (a carved validation split included).
    outputs : dict of str to (y_true, y_score)
        Labels and predicted probabilities of the ``val`` and (when present) ``test`` rows.
    """

    history: list[dict[str, float]]
    best_epoch: int
    val: MultiLabelScores
    test: MultiLabelScores | None
    n_train: int
    n_val: int
    n_test: int
    seconds: float
    train_seconds: float
    timings: dict[str, float] = field(default_factory=dict)
    split: np.ndarray | None = None
    outputs: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)


def resolve_window(recipe: Recipe, train: Dataset, *, kind: str = "windowed",
                   views: Mapping[str, View] | None = None,
                   others: Sequence[Dataset] = ()) -> tuple[int | None, int | None]:
    """The input width and scanning stride of a model of ``kind`` trained on ``train``.

    ``windowed``: the recipe's window (default: the longest training sequence) and stride (default: half the
    window). Other kinds: no stride; the recipe's window, else the longest sequence of ``train`` and ``others``
    (the validation and test rows, which such a model cannot scan) when a view is per-position or pairwise, else
    None (per-sequence views take sequences of any length). Sequences longer than the window are refused before
    training starts: labels belong to whole sequences, so they are not cut.
    """
    if not get_kind(kind).scans:
        train = Dataset.concat([train, *[o for o in others if o is not None and len(o)]])
    longest = int(train.lengths.max()) if len(train) else 1
    per_sequence_only = views is not None and all(v.kind == "sequence" for v in views.values())
    if get_kind(kind).scans or recipe.window or not per_sequence_only:
        window = int(recipe.window) if recipe.window else longest
    else:
        return None, None
    if longest > window:
        too_long = int(np.sum(train.lengths > window))
        raise InputError(
            f"{too_long} sequence(s) are longer than the recipe's window of {window} nt "
            f"(the longest is {longest} nt); labels belong to whole sequences, so they are not cut.",
            remedy=f"raise the window (--window {longest}) or trim the sequences to the bound region.",
        )
    if not get_kind(kind).scans:
        return window, None
    stride = int(recipe.stride) if recipe.stride else max(1, window // 2)
    return window, stride


def untrained_labels(train: Dataset) -> list[str]:
    """Labels with no positive or no negative among the known training entries (nothing to learn from)."""
    y = train.labels
    return [n for j, n in enumerate(train.label_names) if not (np.any(y[:, j] == 1) and np.any(y[:, j] == 0))]


def resolve_kind(recipe: Recipe) -> str:
    """The recipe's kind, or its model's default; a kind the model does not serve raises ``ConfigError``."""
    served = model_class(recipe.model).kinds
    kind = recipe.kind or served[0]
    if kind not in served:
        raise ConfigError(f"model {recipe.model!r} does not serve the {kind} kind.",
                          remedy=f"use one of: {', '.join(served)}.")
    return kind


def prepare_splits(dataset: Dataset, cfg: TrainConfig) -> Dataset:
    """A copy of ``dataset`` with train/val(/test) assigned: a missing ``val`` is carved from ``train``."""
    ds = dataset if dataset.split is not None else dataset.with_split(np.full(len(dataset), "train", object))
    if not np.any(ds.split == "val"):
        vf = cfg.val_fraction
        if not 0 < vf < 1:
            raise InputError(f"val_fraction must be between 0 and 1, got {vf}.")
        ds = split_iterative(ds, (1 - vf, vf, 0.0), seed=cfg.seed, only_unsplit=True)
    return ds


def training_stages(module: nn.Module, requested: Sequence[str] | None = None) -> list[str | None]:
    """The stages :func:`fit` runs: the model's ``training_stages()`` (or ``[None]``), limited to ``requested``."""
    hook = getattr(module, "training_stages", None)
    available = list(hook()) if hook is not None else [None]
    if requested is None:
        return available
    unknown = [s for s in requested if s not in available]
    if unknown:
        raise ConfigError(f"the model has no training stage(s) {', '.join(map(str, unknown))}.",
                          remedy=f"its stages are: {', '.join(s for s in available if s) or '(none)'}.")
    return [s for s in available if s in requested]


class PartialInitWarning(UserWarning):
    """``--init`` transferred less than half of the model's weights (another recipe, window or view sizes?)."""


def load_init_state(module: nn.Module, state: Mapping[str, torch.Tensor], *, strict: bool = True) -> list[str]:
    """Load some of a model's weights by name (e.g. pre-trained parts, or a source model for transfer learning).

    With ``strict`` unknown names or shapes raise; without, weights whose name or shape does not fit (an output
    layer for another number of labels) are skipped and their names returned. No weight fitting at all raises.
    """
    own = module.state_dict()
    bad = sorted(k for k, v in state.items() if k not in own or tuple(own[k].shape) != tuple(v.shape))
    if not strict:
        fit_ = {k: v for k, v in state.items() if k not in bad}
        if not fit_:
            raise ConfigError("none of the initial weights fits the model (another architecture or views?).",
                              remedy="initialise from a model of the same recipe.")
        module.load_state_dict(fit_, strict=False)
        moved = sum(v.numel() for v in fit_.values())
        total = sum(v.numel() for v in own.values())
        if moved < total / 2:
            warnings.warn(f"only {moved:,} of the model's {total:,} weights ({100 * moved / total:.0f} %) came from "
                          f"the initial model; {len(bad)} tensor(s) did not fit ({', '.join(bad[:3])}"
                          f"{' ...' if len(bad) > 3 else ''}): most of the model starts untrained.",
                          PartialInitWarning, stacklevel=2)
        return bad
    if bad:
        raise ConfigError(f"init_state does not fit the model: {', '.join(bad[:5])}"
                          f"{' ...' if len(bad) > 5 else ''} (unknown name or other shape).")
    module.load_state_dict(dict(state), strict=False)
    return []


def fit(
    recipe: Recipe,
    dataset: Dataset,
    *,
    progress: bool = True,
    device: str | None = None,
    devices: int | str = 1,
    stages: Sequence[str] | None = None,
    init_state: Mapping[str, torch.Tensor] | None = None,
    init_strict: bool = True,
    checkpoint: str | os.PathLike | None = None,
    resume: bool = False,
    num_nodes: int = 1,
    checkpoint_every: int = 1000,
    shuffle_buffer: int = 65_536,
    strategy: str = "auto",
) -> tuple[Bundle, FitReport]:
    """Train ``recipe`` on ``dataset`` and return the trained :class:`~rnalabel.engine.bundle.Bundle`.

    The bundle's kind is the recipe's (or its model's default): a ``windowed`` model is trained on windows of the
    recipe's width, the others on whole sequences (see :mod:`rnalabel.engine.kinds`); training sequences are
    never cut, so they must fit the window. The same featurise-and-window path (:mod:`rnalabel.engine.inputs`)
    and forward pass (:mod:`rnalabel.engine.forward`) serve training and every later use.

    Two optional model hooks let a model with more than one loss term or training step use this same loop:
    ``training_losses(x, y, base_loss) -> dict`` (one forward pass; the ``total`` entry is minimised, the
    ``monitor`` entry, or ``total`` when there is none, is the validation loss for early stopping and the
    best-weights restore, every other entry is logged as ``train_<name>``; ``base_loss(logits, y)`` is the
    recipe's masked loss) and ``training_stages() -> tuple of str`` with ``set_training_stage(name)``: each
    stage is trained in turn with the recipe's train settings (its own early stopping and best-weights
    restore), and only parameters with ``requires_grad`` are optimised. Models without the hooks train as one stage on
    ``base_loss(model(x), y)``.

    Parameters
    ----------
    recipe : Recipe
        See :func:`rnalabel.engine.recipe.load_recipe`.
    dataset : Dataset or ParquetStream
        With labels; its ``split`` column (train/val/test) is honoured, a missing ``val`` is carved from train
        (stratified, seeded), and ``test`` rows are never used for anything but the final evaluation. A
        :class:`~rnalabel.data.stream.ParquetStream` trains from disk in bounded memory: the same
        split as in memory; training rows are read, featurised and shuffled a buffer at a time
        (:mod:`rnalabel.engine.streaming`); views with learned parameters learn from a seeded sample of
        50,000 training rows; validation uses at most 100,000 of its rows (a seeded sample); test rows are scored
        a row group at a time; checkpoints are written after each epoch only. With DDP (``devices`` > 1 or
        ``num_nodes`` > 1; ``devices`` must then be a number) the training rows are dealt to the processes in turn
        (each trains on its own), and all run the smallest process's batch count.
    progress : bool
        Rich progress bars. Default is True.
    device : str, optional
        "cpu", "cuda" or None (CUDA when present, else CPU). Default is None.
    devices : int or "auto"
        Number of devices (CPU processes on a CPU) per node; more than one trains with DDP (gloo on CPUs, NCCL on
        GPUs). Lightning launches the other processes itself, or joins those torchrun or SLURM started (it reads
        their environment): ``torchrun --nproc_per_node 4 -m rnalabel train ... --devices 4``, or under SLURM
        ``srun rnalabel train ... --devices 4 --num-nodes 2``. Rank 0 alone writes files. Default is 1.
    num_nodes : int
        Machines taking part in DDP. Default is 1.
    strategy : str
        Lightning's strategy for several devices: "auto" (DDP when ``devices`` > 1), "ddp", or
        "ddp_find_unused_parameters_true" (models with parameters a step does not use). Spawning strategies are
        not offered: the training's state (history, best weights) lives in the launching process. Default is
        "auto".
    stages : sequence of str, optional
        Run only these of the model's training stages (e.g. ``["fusion"]`` after ``init_state`` brought
        pre-trained parts). Default is None (all).
    init_state : mapping of str to torch.Tensor, optional
        Weights loaded (by name) into the freshly built model before training; every key must exist in the
        model with the same shape. Default is None.
    init_strict : bool
        False skips the ``init_state`` weights that do not fit (transfer learning from a model with another
        output layer); their names go into the card (``training.init_skipped``). Default is True.
    checkpoint : path, optional
        A folder for resumable state: after every epoch (and every ``checkpoint_every`` batches within one) the
        whole training state (weights, optimizer, early stopping, the best weights so far, history, random state,
        the batches done in the epoch) is written there atomically, with a fingerprint of the recipe and the data
        (``resume.json``). Default is None (nothing written).
    resume : bool
        Continue from ``checkpoint``'s last save (refused when the recipe or the data differ), at an epoch's end
        or in the middle of one. The batches are a pure function of (seed, epoch), the rows already trained on in
        an interrupted epoch are skipped, and the random state is restored, so on CPU a resumed run ends with the
        weights and metrics of an uninterrupted one. Default is False.
    checkpoint_every : int
        Training batches between checkpoints within an epoch (0: after each epoch only). Saving costs a write
        of the weights and optimizer state; at the default, a small part of the time on long epochs. With more
        than one process (DDP) checkpoints are written after each epoch only. Default is 1000.
    shuffle_buffer : int
        Streaming only: training rows shuffled together before batching. Default is 65,536.

    The dataset's ``provenance["label_info"]`` (what each label means, e.g. the proteins of an experiment), when
    it has one, becomes the bundle's ``label_info``.

    Returns
    -------
    (Bundle, FitReport)
    """
    from rnalabel.engine.ensemble import refuse_training

    refuse_training(recipe.model)
    pl = _lightning()
    t_start = time.perf_counter()
    cfg = recipe.train
    if devices != "auto" and (isinstance(devices, bool) or not isinstance(devices, int) or devices < 1):
        raise InputError(f"devices must be a whole number of at least 1 (or auto), got {devices!r}.",
                         remedy="e.g. --devices 2 for two GPUs (or CPU processes) with DDP.")
    if strategy not in STRATEGIES:
        raise InputError(f"unknown strategy {strategy!r}.", remedy=f"use one of: {', '.join(STRATEGIES)}.")
    if isinstance(num_nodes, bool) or not isinstance(num_nodes, int) or num_nodes < 1:
        raise InputError(f"num_nodes must be a whole number of at least 1, got {num_nodes!r}.")
    if isinstance(checkpoint_every, bool) or not isinstance(checkpoint_every, int) or checkpoint_every < 0:
        raise InputError(f"checkpoint_every must be a whole number of batches (0: each epoch only), got "
                         f"{checkpoint_every!r}.")
    source = dataset if isinstance(dataset, ParquetStream) else None
    if source is not None:  # streaming: what every row needs (labels, split, lengths) is read; sequences are not
        if devices == "auto":
            raise InputError("streaming training needs a stated number of processes.",
                             remedy="give --devices N (1 for one process; N > 1 trains with DDP).")
        if isinstance(shuffle_buffer, bool) or not isinstance(shuffle_buffer, int) or shuffle_buffer < 1:
            raise InputError(f"the shuffle buffer must be a whole number of rows, got {shuffle_buffer!r}.")
        dataset = source.skeleton()
    if dataset.n_labels == 0:
        raise LabelError("the dataset has no label columns to learn.", remedy="import a labelled table.")
    if len(dataset) < 4:
        raise InputError(f"the dataset has only {len(dataset)} sequence(s); training needs more.")
    ds = prepare_splits(dataset, cfg)
    train_ds, val_ds = ds.select_split("train"), ds.select_split("val")
    test_ds = ds.select_split("test") if np.any(ds.split == "test") else None
    if len(train_ds) == 0 or len(val_ds) == 0:
        raise InputError("the train or validation split is empty.", remedy="use a larger dataset.")
    if len(untrained_labels(train_ds)) == train_ds.n_labels:
        raise LabelError(f"no label has both a positive (1) and a negative (0) training example (of "
                         f"{train_ds.n_labels}: all unknown, or one class only); there is nothing to learn.",
                         remedy="check the label columns (empty cells are unknown) and the split column.")
    kind = resolve_kind(recipe)

    # views: fit data-dependent parameters on the training rows, then featurise once
    t0 = time.perf_counter()
    stream_info: dict[str, Any] = {}
    if source is not None:  # views learn from a sample of the training rows; validation rows are read whole
        pick = np.random.default_rng([cfg.seed, 11])
        fit_rows = train_ds.ids if len(train_ds) <= STREAM_FIT_ROWS else pick.choice(train_ds.ids, STREAM_FIT_ROWS,
                                                                                     replace=False)
        val_rows = val_ds.ids if len(val_ds) <= STREAM_VAL_ROWS else pick.choice(val_ds.ids, STREAM_VAL_ROWS,
                                                                                 replace=False)
        stream_info = {"file": source.path.name, "file_sha256": source.digest(), "shuffle_buffer": shuffle_buffer,
                       "view_fit_rows": len(fit_rows), "val_rows": len(val_rows), "val_rows_in_split": len(val_ds)}
        views = {name: v.fit(source.read_rows(fit_rows)) for name, v in views_from_specs(recipe.views).items()}
    else:
        views = {name: v.fit(train_ds) for name, v in views_from_specs(recipe.views).items()}
    window, stride = resolve_window(recipe, train_ds, kind=kind, views=views, others=[val_ds, test_ds])
    fitted = replace(recipe, kind=kind, views={n: v.spec() for n, v in views.items()}, window=window, stride=stride)
    if source is not None:
        val_ds = source.read_rows(val_rows)
        train_mask = np.zeros(len(ds), dtype=bool)
        train_mask[train_ds.ids.astype(np.int64)] = True
        stream_units = StreamUnits(source, train_mask, views, kind=kind, window=window, stride=stride,
                                   batch_size=cfg.batch_size, short_copies=cfg.short_copies, seed=cfg.seed,
                                   buffer_rows=shuffle_buffer, workers=cfg.num_workers, lengths=ds.lengths)
        # with DDP each process reads its own rows (the callback sets the rank Lightning gives it again)
        world = devices * num_nodes
        stream_units.set_rank(global_rank(devices) if world > 1 else 0, world)
        if len(stream_units) == 0:
            raise InputError(f"too few training rows for {world} process(es) of {cfg.batch_size} rows per batch.",
                             remedy="train with fewer --devices or a smaller batch_size.")
        n_units = stream_units.n_units
    else:
        fit_ds = train_ds
        if cfg.short_copies > 0:  # teach the model that padding is no evidence (see rnalabel.data.augment)
            fit_ds = Dataset.concat([train_ds, shortened_copies(train_ds, cfg.short_copies, seed=cfg.seed)])
        tr_u = make_units(fit_ds, kind=kind, window=window, stride=stride).dataset
        x_tr = featurize(views, tr_u, training=True)
        n_units = len(tr_u)
    va_u = make_units(val_ds, kind=kind, window=window, stride=stride).dataset
    x_va = featurize(views, va_u)
    featurize_s = time.perf_counter() - t0
    inputs = input_specs(views, x_va)

    pl.seed_everything(cfg.seed, workers=True, verbose=False)
    module = build_model(recipe.model, inputs=inputs, n_labels=dataset.n_labels, params=recipe.params)
    init_skipped = None
    if init_state is not None:
        init_skipped = load_init_state(module, init_state, strict=init_strict)
    stage_list = training_stages(module, stages)
    pw = positive_weights(train_ds.labels, cfg.pos_weight)
    untrained = untrained_labels(train_ds)
    if untrained:
        warnings.warn(f"label(s) {', '.join(untrained)} have no positive or no negative training example; the "
                      "model cannot learn them (they are marked untrained in the card).", UntrainedLabelWarning,
                      stacklevel=2)
    history: list[dict[str, float]] = []
    dev = resolve_device(device)
    precision = training_precision(cfg.precision, dev)
    if source is not None:
        train_dl = torch.utils.data.DataLoader(stream_units, batch_size=None, num_workers=cfg.num_workers,
                                               persistent_workers=False)
    else:
        train_dl = _loader(ViewTensors(x_tr, tr_u.labels), cfg.batch_size, True, cfg.num_workers, cfg.seed)
    val_dl = _loader(ViewTensors(x_va, va_u.labels), max(cfg.batch_size, 512), False, cfg.num_workers, cfg.seed)
    fp_extra = f"{stream_info['file_sha256']}:{shuffle_buffer}" if stream_info else None
    ck = _Checkpoints(checkpoint, _fingerprint(recipe, ds, devices if num_nodes == 1 else f"{devices}x{num_nodes}",
                                              init_state, fp_extra), resume,
                      writer=global_rank(devices) == 0) if checkpoint else None
    start_stage = ck.stage if ck is not None and resume else 0
    best_epoch = -1
    if ck is not None and resume and ck.stage_done:  # stages before start_stage are complete
        best_epoch = ck.restore_stage(module, history)
    t0 = time.perf_counter()
    for i, stage in enumerate(stage_list):
        if stage is not None:
            module.set_training_stage(stage)
        if i < start_stage:  # finished before the interruption; its weights come back with the checkpoint
            continue
        lit = make_lightning_module(module, cfg, pw)
        best_cb, es_cb = _callbacks(cfg.patience, history, stage, cfg.monitor)
        callbacks = [best_cb, es_cb]
        if ck is not None:
            distributed = devices == "auto" or devices > 1 or num_nodes > 1
            callbacks.append(ck.callback(i, 0 if distributed or source is not None else checkpoint_every))
        if source is not None:
            callbacks.append(_StreamEpoch(stream_units))
        if progress:
            callbacks.append(pl.callbacks.RichProgressBar(leave=False))
        trainer = pl.Trainer(
            max_epochs=cfg.max_epochs,
            accelerator="gpu" if dev.type == "cuda" else "cpu",
            devices=devices,
            num_nodes=num_nodes,
            strategy=strategy,
            precision=precision,
            callbacks=callbacks,
            logger=False,
            enable_checkpointing=False,
            enable_model_summary=False,
            enable_progress_bar=progress,
            num_sanity_val_steps=0,
            deterministic=False,
        )
        resuming = ck is not None and resume and i == start_stage and not ck.stage_done and ck.last.exists()
        ckpt_path = str(ck.last) if resuming else None
        # the epoch Lightning runs first, set before it builds the loader's iterator: loader workers fetch ahead
        # as soon as it exists, before Lightning's own set_epoch
        first_epoch = ck.resumed_from if resuming else 0
        if source is not None:
            stream_units.set_epoch(first_epoch)
        elif isinstance(train_dl.sampler, EpochShuffle):
            train_dl.sampler.set_epoch(first_epoch)
        try:
            trainer.fit(lit, train_dataloaders=train_dl, val_dataloaders=val_dl, ckpt_path=ckpt_path,
                        weights_only=True)
        except (RuntimeError, KeyError, EOFError, pickle.UnpicklingError) as exc:
            if ckpt_path is not None and trainer.current_epoch == 0:  # the checkpoint itself did not load
                raise InputError(f"the checkpoint cannot be read ({type(exc).__name__}): damaged or not ours.",
                                 path=ck.last, remedy="train again without --resume.") from None
            raise
        except SystemExit:  # Lightning answers Ctrl-C with sys.exit(1), ignoring SIGINT from then on
            signal.signal(signal.SIGINT, signal.default_int_handler)
            if trainer.interrupted:
                raise KeyboardInterrupt from None  # the caller says "interrupted", exits 130, saves nothing
            raise
        best_epoch = best_cb.best_epoch
        if ck is not None:
            ck.finish_stage(i + 1, module, history, best_epoch)
    train_s = time.perf_counter() - t0
    module = module.requires_grad_(True).float().cpu().eval()  # stages may have frozen parts
    resumed_from = ck.resumed_from if ck is not None and resume else None

    model = Bundle(
        module=module, recipe=fitted, views=views, inputs=inputs, label_names=list(dataset.label_names),
        window=window, stride=stride, thresholds=np.full(dataset.n_labels, 0.5), kind=kind,
        label_info={n: dict(v) for n, v in (dataset.provenance.get("label_info") or {}).items()
                    if n in dataset.label_names and isinstance(v, dict)},
    )
    val_scores = forward_arrays(model, x_va, device=dev)
    model.thresholds = choose_thresholds(va_u.labels, val_scores)
    val_metrics = evaluate_arrays(va_u.labels, val_scores, label_names=model.label_names,
                                  thresholds=model.thresholds)
    test_metrics = None
    outputs = {"val": (va_u.labels, val_scores)}
    if test_ds is not None and len(test_ds):
        if source is not None:  # a row group at a time
            y_test, test_scores = stream_scores(model, source, ds.split == "test", device=dev)
        else:
            y_test, test_scores = test_ds.labels, sequence_scores(model, test_ds, device=dev, progress=False)
        test_metrics = evaluate_arrays(y_test, test_scores, label_names=model.label_names,
                                       thresholds=model.thresholds)
        outputs["test"] = (y_test, test_scores)
    report = FitReport(
        history=history, best_epoch=best_epoch, val=val_metrics, test=test_metrics,
        n_train=len(train_ds), n_val=len(val_ds), n_test=0 if test_ds is None else len(test_ds),
        seconds=time.perf_counter() - t_start, train_seconds=train_s,
        timings={"featurize_s": featurize_s, "train_s": train_s,
                 "train_seq_per_s": (n_units * max(len(history), 1)) / max(train_s, 1e-9)},
        split=ds.split, outputs=outputs,
    )
    model.card = {
        "provenance": {
            **dataset.provenance,
            "n_train": report.n_train, "n_val": report.n_val, "n_test": report.n_test,
            "label_counts_train": train_ds.label_counts(),
        },
        "training": {
            "best_epoch": report.best_epoch, "epochs_run": len(history), "history": history,
            "seconds": round(report.seconds, 2), "train_seconds": round(train_s, 2),
            "device": str(dev), "devices": devices, "num_nodes": num_nodes, "strategy": strategy,
            "precision": precision, "torch": torch.__version__,
            "lengths": {"min": int(train_ds.lengths.min()), "max": int(train_ds.lengths.max())},
            "short_copies": n_units - len(train_ds),
            **({"streamed": stream_info} if stream_info else {}),
            **({"stages": list(stage_list)} if stage_list != [None] else {}),
            **({"init_skipped": init_skipped} if init_skipped else {}),
            **({"resumed_after_epoch": resumed_from} if resumed_from is not None else {}),
            **({"resumed_after_batches": ck.resumed_batches} if resumed_from is not None and ck.resumed_batches
               else {}),
        },
        **({"untrained_labels": untrained} if untrained else {}),
        "metrics": {"val": val_metrics.to_dict(), **({"test": test_metrics.to_dict()} if test_metrics else {})},
    }
    return model, report

