"""``rnalabel train | evaluate | predict | ensemble | recipes | models``: the commands that make and use a model."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from rnalabel.cli._common import (
    console,
    example_line,
    friendly,
    out_console,
    prediction_warnings,
    scores_table,
    warnings_shown,
)


@friendly
def train(
    data: Path = typer.Argument(..., help="Labelled dataset: rnalabel Parquet, or a CSV/TSV label table."),
    out: Path = typer.Option(..., "--out", "-o", help="Run folder to write (model card, weights, metrics)."),
    recipe: str = typer.Option("multiresbind", "--recipe", "-r", help="Built-in recipe name or YAML path."),
    settings: list[str] = typer.Option(None, "--set", help="KEY=VALUE: change one setting of the recipe, KEY a "
                                       "dotted path (views.nb.precursors=hairpin.fa, params.hidden=256, "
                                       "train.lr=0.0005); repeatable."),
    epochs: int = typer.Option(None, "--epochs", help="Max epochs (recipe's value when not given)."),
    batch_size: int = typer.Option(None, "--batch-size", help="Batch size (recipe's value when not given)."),
    lr: float = typer.Option(None, "--lr", help="Learning rate (recipe's value when not given)."),
    patience: int = typer.Option(None, "--patience", help="Early-stopping patience in epochs."),
    loss: str = typer.Option(None, "--loss", help="bce or focal (recipe's value when not given)."),
    pos_weight: str = typer.Option(None, "--pos-weight", help="none, balanced or log."),
    precision: str = typer.Option(
        None, "--precision", help="auto (bf16-mixed where the hardware has native bf16, else 32), 32, bf16-mixed or "
        "16-mixed (recipe's value when not given)."),
    seed: int = typer.Option(None, "--seed", help="Random seed (recipe's value when not given)."),
    window: int = typer.Option(None, "--window", help="Input width in nt (default: longest training sequence)."),
    stride: int = typer.Option(None, "--stride", help="Scanning stride for long sequences (default: window/2)."),
    device: str = typer.Option(None, "--device", help="cpu or cuda (default: cuda when present)."),
    devices: int = typer.Option(1, "--devices", help="Devices (or CPU processes) per node; >1 trains with DDP."),
    num_nodes: int = typer.Option(1, "--num-nodes", help="Nodes for DDP (under SLURM: srun rnalabel train ...)."),
    checkpoint_every: int = typer.Option(1000, "--checkpoint-every", help="Also checkpoint every N training "
                                         "batches within an epoch (0: after each epoch only; with --stream or "
                                         "DDP: after each epoch only)."),
    strategy: str = typer.Option("auto", "--strategy", help="Lightning strategy with several devices: auto, ddp, "
                                 "ddp_find_unused_parameters_true."),
    stream: bool = typer.Option(False, "--stream", help="Train from a Parquet dataset without reading it into "
                                "memory (row groups, a shuffle buffer; with --devices N each DDP process trains on its own rows)."),
    shuffle_buffer: int = typer.Option(65_536, "--shuffle-buffer", help="With --stream: rows shuffled together."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show progress bars."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing run folder in --out."),
    init: Path = typer.Option(None, "--init", help="Start from this run folder's weights (transfer learning); "
                              "an output layer of another size starts fresh."),
    resume: bool = typer.Option(False, "--resume", help="Continue an interrupted training of the same data and "
                                "recipe into the same --out (its state is saved after every epoch and every "
                                "--checkpoint-every batches)."),
) -> None:
    """Train a recipe on a labelled dataset and write a run folder (all or nothing)."""
    from rnalabel.engine.bundle import UntrainedLabelWarning
    from rnalabel.engine.training import PartialInitWarning
    from rnalabel.runs import train_run

    if settings:
        from rnalabel.engine.recipe import load_recipe

        recipe = load_recipe(recipe).with_settings(settings)
    with warnings_shown(UntrainedLabelWarning, PartialInitWarning):
        model, report = train_run(
            data, recipe, out, window=window, stride=stride, progress=progress, device=device, devices=devices,
            max_epochs=epochs, batch_size=batch_size, lr=lr, patience=patience, loss=loss, pos_weight=pos_weight,
            precision=precision, seed=seed, overwrite=overwrite, init=init, resume=resume, num_nodes=num_nodes,
            checkpoint_every=checkpoint_every, stream=stream, shuffle_buffer=shuffle_buffer,
            strategy=strategy,
        )
    from rnalabel.engine.training import global_rank

    if global_rank(devices) != 0:  # a DDP worker: rank 0 reports
        return
    final = report.test or report.val
    which = "test" if report.test is not None else "validation"
    out_console.print(scores_table(f"{model.recipe.name}: {which} split (n={final.n})", final))
    out_console.print(example_line(final))
    resumed = model.card["training"].get("resumed_after_epoch")
    out_console.print(f"best epoch {report.best_epoch} of {len(report.history)}; "
                      f"{report.seconds:.1f} s{f' (resumed after epoch {resumed})' if resumed is not None else ''}; "
                      f"run folder: {out}")


@friendly
def evaluate(
    run: Path = typer.Argument(..., help="Run folder (model card + weights) or zoo name (rnalabel models)."),
    data: Path = typer.Argument(..., help="Labelled data: rnalabel Parquet, or a CSV/TSV label table."),
    split: str = typer.Option("test", "--split", help="test, val, train or all."),
    out: Path = typer.Option(None, "--out", "-o", help="Write metrics JSON here."),
    plot: Path = typer.Option(None, "--plot", help="Write ROC/PR curves PNG here."),
    batch_size: int = typer.Option(512, "--batch-size"),
    device: str = typer.Option(None, "--device", help="cpu or cuda (default: cuda when present)."),
    precision: str = typer.Option("auto", "--precision", help="auto (as trained), 32 or bf16."),
    id_col: str = typer.Option(None, "--id-col", help="A table's id column (default: id)."),
    seq_col: str = typer.Option(None, "--seq-col", help="A table's sequence column (default: sequence)."),
) -> None:
    """Evaluate a trained model on labelled data (labels matched by name)."""
    from rnalabel.runs import evaluate_run

    with prediction_warnings():
        scores = evaluate_run(run, data, split=split, out=out, plot=plot, batch_size=batch_size, device=device,
                              precision=precision, id_col=id_col, seq_col=seq_col)
    out_console.print(scores_table(f"{run.name} on {data.name} ({scores.split or split}, n={scores.n})", scores))
    out_console.print(example_line(scores))
    for why, names in scores.undefined_reasons().items():
        out_console.print(f"undefined ({why} in these data): {', '.join(names)}")


@friendly
def ensemble(
    runs: list[Path] = typer.Argument(..., help="Two or more run folders of models that read the same views and "
                                      "predict the same labels (e.g. one recipe trained with --seed 0, 1, 2)."),
    out: Path = typer.Option(..., "--out", "-o", help="Ensemble run folder to write."),
    data: Path = typer.Option(None, "--data", help="The labelled data the members were trained on: thresholds are "
                              "chosen on its --split rows, its test rows are scored (default: no data; the "
                              "thresholds are the mean of the members')."),
    split: str = typer.Option("val", "--split", help="Rows the thresholds are chosen on: val (or train, test)."),
    batch_size: int = typer.Option(512, "--batch-size"),
    device: str = typer.Option(None, "--device", help="cpu or cuda (default: cuda when present)."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show progress bars."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing run folder in --out."),
) -> None:
    """Combine trained models into one (the mean of their logits): a run folder every command takes."""
    from rnalabel.runs import ensemble_run

    with prediction_warnings():
        model, val, test = ensemble_run(runs, out, data=data, split=split, overwrite=overwrite,
                                        batch_size=batch_size, device=device, progress=progress)
    members = model.card["ensemble"]["members"]
    shown = test or val
    if shown is not None:
        out_console.print(scores_table(f"ensemble of {len(members)}: {shown.split} split (n={shown.n})", shown))
        out_console.print(example_line(shown))
    solo = [m.get("test_auroc_macro") for m in members]
    if test is not None and all(v is not None for v in solo):
        out_console.print("members' test macro AUROC (from their cards): " + ", ".join(f"{v:.4f}" for v in solo))
    out_console.print(f"thresholds: {model.card['ensemble']['thresholds']}; run folder: {out}")


@friendly
def predict(
    run: Path = typer.Argument(..., help="Run folder (model card + weights) or zoo name (rnalabel models)."),
    data: Path = typer.Argument(..., help="Sequences: FASTA (plain or .gz), CSV/TSV table, or Parquet."),
    out: Path = typer.Option(..., "--out", "-o", help="Per-sequence TSV (max over windows); - for standard output."),
    windows: Path = typer.Option(None, "--windows", help="Also write a per-window TSV here."),
    batch_size: int = typer.Option(512, "--batch-size"),
    device: str = typer.Option(None, "--device", help="cpu or cuda (default: cuda when present)."),
    precision: str = typer.Option("auto", "--precision", help="auto (as trained), 32 or bf16."),
    chunk: int = typer.Option(10_000, "--chunk", help="Sequences read, predicted and written at a time."),
    shard: str = typer.Option(None, "--shard", help="i/n: predict records i, i+n, ... only (split one input "
                              "between n jobs)."),
    workers: int = typer.Option(None, "--workers", help="Split the input over a local Dask cluster of N worker "
                                "processes (pip install 'rnalabel\\[cluster]'); the same output."),
    scheduler: str = typer.Option(None, "--scheduler", help="Split the input over an existing Dask cluster: "
                                  "scheduler address (tcp://host:8786) or scheduler file; workers must see the "
                                  "files."),
    id_col: str = typer.Option(None, "--id-col", help="A table's id column (default: id)."),
    seq_col: str = typer.Option(None, "--seq-col", help="A table's sequence column (default: sequence)."),
) -> None:
    """Predict label probabilities (or embeddings); a windowed model scans long sequences with its window and stride.
    The input streams through in chunks, so memory does not grow with it."""
    from rnalabel.errors import InputError
    from rnalabel.io import parse_shard
    from rnalabel.runs import predict_run

    parallel = workers is not None or scheduler is not None
    if parallel and shard is not None:
        raise InputError("--shard splits the input between separate jobs, --workers/--scheduler split it on a Dask "
                         "cluster; give one or the other.")
    if parallel and (id_col or seq_col):
        raise InputError("--id-col/--seq-col are not taken with --workers/--scheduler yet.",
                         remedy="convert the table once (rnalabel data import table ... --seq-col NAME --out "
                                "FILE.parquet) and give that file.")
    with prediction_warnings():
        if parallel:
            from rnalabel.cluster import predict_parallel

            s = predict_parallel(run, data, out, windows_out=windows, workers=workers, scheduler=scheduler,
                                 batch_size=batch_size, device=device, precision=precision, chunk=chunk)
        else:
            s = predict_run(run, data, out, windows_out=windows, batch_size=batch_size, device=device,
                            precision=precision, chunk=chunk, shard=parse_shard(shard), id_col=id_col,
                            seq_col=seq_col)
    say = console if str(out) == "-" else out_console  # --out -: standard output holds the TSV alone
    if s.dims:
        say.print(f"{s.n_sequences} sequences, vectors of {s.dims} dimensions -> {out}")
    elif s.n_windows != s.n_sequences:
        say.print(f"{s.n_sequences} sequences, {s.n_windows} windows -> {out}")
    else:
        say.print(f"{s.n_sequences} sequences -> {out}")


def recipes() -> None:
    """List the built-in recipes."""
    from rnalabel.engine.recipe import load_recipe, recipe_names
    from rnalabel.models.registry import model_class

    names = recipe_names()
    t = Table(title="built-in recipes")
    # names and models whole (they are what --recipe takes); the description wraps in what is left
    t.add_column("name", no_wrap=True, min_width=max(map(len, names)))
    t.add_column("model", no_wrap=True)
    t.add_column("kind", no_wrap=True)
    t.add_column("views", overflow="fold")
    t.add_column("description", overflow="fold")
    for name in names:
        r = load_recipe(name)
        views = ", ".join(f"{k}:{v['type']}" for k, v in r.views.items())
        t.add_row(name, r.model, r.kind or model_class(r.model).kinds[0], views, r.description)
    out_console.print(t)


def models() -> None:
    """List the zoo: the trained models shipped with rnalabel, usable by name (rnalabel predict mirloc my.fa)."""
    from rnalabel.zoo import describe, names

    zoo = names()
    if not zoo:
        out_console.print("no zoo models in this installation (python -m rnalabel.zoo build NAME --data DIR makes one)")
        return
    t = Table(title="model zoo (use a name wherever a model folder is accepted)")
    t.add_column("name", no_wrap=True)
    t.add_column("model", overflow="fold")
    t.add_column("labels", no_wrap=True)
    t.add_column("held-out macro AUROC / AP", overflow="fold")
    t.add_column("epochs (best/run)", overflow="fold")
    t.add_column("size", no_wrap=True)
    t.add_column("commit", no_wrap=True)

    def f(v):
        return "-" if v is None else f"{v:.3f}"

    about = []
    for name in zoo:
        d = describe(name)
        labels = d["labels"]
        if d["test_auroc_macro"] is not None:
            metric = f"{f(d['test_auroc_macro'])} / {f(d['test_ap_macro'])}"
        else:
            metric = f"no test part (val AUROC {f(d['val_auroc_macro'])})"
        ep = d["epochs"] or {}
        epochs = f"{ep.get('best')}/{ep.get('run')}, {ep.get('ended_by')}" if ep else "-"
        t.add_row(name, f"{d['model']} ({d['kind']})", str(len(labels)), metric, epochs,
                  f"{d['size_bytes'] / 1e6:.1f} MB", str(d["commit"]))
        proteins = d["proteins"] or {}
        shown = []
        for lab in labels:
            c = d["calls"].get(lab) or {}
            prec = "-" if c.get("precision") is None else f"{c['precision']:.2f}"
            neg = c.get("false_call_rate_unbound")
            neg = c.get("false_call_rate") if neg is None else neg
            neg = "-" if neg is None else f"{neg:.2f}"
            shown.append(f"{lab}{' = ' + proteins[lab] if lab in proteins and proteins[lab] != lab else ''} "
                         f"({prec} / {neg})")
        about.append(f"[bold]{name}[/]: {d['data'].rstrip('.')}. Licence: {d['licence']}.\n  labels (precision of a "
                     f"call / share of negatives called, on the {d['calls_on']} rows at the stored thresholds): "
                     + "; ".join(shown))
    out_console.print(t)
    for line in about:
        out_console.print(line, highlight=False)
