"""The ``rnalabel`` command line: one command per operation, each a thin call into the Python API.

Errors a user causes print one clear message (file, line, remedy) without a traceback, and exit with status 2.
"""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from rnalabel import __version__
from rnalabel.errors import RnalabelError

app = typer.Typer(
    name="rnalabel",
    help="Which proteins bind an RNA, and where in the cell it goes: multi-view, multi-label deep learning.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
console = Console(stderr=True)
out_console = Console()


def friendly(fn):
    """Turn the package's own errors into one message on stderr and exit status 2 (no traceback)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except RnalabelError as exc:
            console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(code=exc.exit_code) from None
        except KeyboardInterrupt:
            console.print("[yellow]interrupted[/]; nothing partial was written.")
            raise typer.Exit(code=130) from None

    return wrapper


def _version(value: bool) -> None:
    if value:
        typer.echo(f"rnalabel {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version."),
) -> None:
    os.environ.setdefault("PYTHONWARNINGS", "ignore")


def _scores_table(title: str, scores, max_rows: int = 40) -> Table:
    t = Table(title=title, show_lines=False)
    for col in ("label", "AUROC", "AP", "F1", "positives"):
        t.add_column(col, justify="left" if col == "label" else "right")

    def f(v):
        return "NaN" if v != v else f"{v:.3f}"

    for name, d in list(scores.per_label.items())[:max_rows]:
        t.add_row(name, f(d["auroc"]), f(d["ap"]), f(d["f1"]), str(d["n_pos"]))
    a = scores.averages
    t.add_row("[bold]macro[/]", f(a["auroc_macro"]), f(a["ap_macro"]), f(a["f1_macro"]), "")
    t.add_row("micro", f(a["auroc_micro"]), f(a["ap_micro"]), f(a["f1_micro"]), "")
    t.add_row("weighted", f(a["auroc_weighted"]), f(a["ap_weighted"]), f(a["f1_weighted"]), "")
    return t


def _example_line(scores) -> str:
    a = scores.averages
    return (f"exact match {a['exact_match']:.3f} | Hamming loss {a['hamming_loss']:.3f} | "
            f"example-based accuracy (Jaccard) {a['jaccard']:.3f} | one-error {a['one_error']:.3f}")


@app.command()
@friendly
def train(
    data: Path = typer.Argument(..., help="Labelled dataset: rnalabel Parquet, or a CSV/TSV label table."),
    out: Path = typer.Option(..., "--out", "-o", help="Run folder to write (model card, weights, metrics)."),
    recipe: str = typer.Option("multiresbind", "--recipe", "-r", help="Built-in recipe name or YAML path."),
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
    devices: int = typer.Option(1, "--devices", help="Number of devices; >1 trains with DDP."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show progress bars."),
) -> None:
    """Train a recipe on a labelled dataset and write a run folder."""
    from rnalabel.workflows import train_run

    model, report = train_run(
        data, recipe, out, window=window, stride=stride, progress=progress, device=device, devices=devices,
        max_epochs=epochs, batch_size=batch_size, lr=lr, patience=patience, loss=loss, pos_weight=pos_weight,
        precision=precision, seed=seed,
    )
    final = report.test or report.val
    which = "test" if report.test is not None else "validation"
    out_console.print(_scores_table(f"{model.recipe.name}: {which} split (n={final.n})", final))
    out_console.print(_example_line(final))
    out_console.print(f"best epoch {report.best_epoch} of {len(report.history)}; "
                      f"{report.seconds:.1f} s; run folder: {out}")


@app.command()
@friendly
def evaluate(
    run: Path = typer.Argument(..., help="Run folder (model card + weights)."),
    data: Path = typer.Argument(..., help="Labelled data: rnalabel Parquet, or a CSV/TSV label table."),
    split: str = typer.Option("test", "--split", help="test, val, train or all."),
    out: Path = typer.Option(None, "--out", "-o", help="Write metrics JSON here."),
    plot: Path = typer.Option(None, "--plot", help="Write ROC/PR curves PNG here."),
    batch_size: int = typer.Option(512, "--batch-size"),
    device: str = typer.Option(None, "--device", help="cpu or cuda (default: cuda when present)."),
    precision: str = typer.Option("auto", "--precision", help="auto (as trained), 32 or bf16."),
) -> None:
    """Evaluate a trained model on labelled data (labels matched by name)."""
    from rnalabel.workflows import evaluate_run

    scores = evaluate_run(run, data, split=split, out=out, plot=plot, batch_size=batch_size, device=device,
                          precision=precision)
    out_console.print(_scores_table(f"{run.name} on {data.name} ({split}, n={scores.n})", scores))
    out_console.print(_example_line(scores))
    if scores.undefined:
        out_console.print(f"undefined (one class only in these data): {', '.join(scores.undefined)}")


@app.command()
@friendly
def predict(
    run: Path = typer.Argument(..., help="Run folder (model card + weights)."),
    data: Path = typer.Argument(..., help="Sequences: FASTA (plain or .gz), CSV/TSV table, or Parquet."),
    out: Path = typer.Option(..., "--out", "-o", help="Per-sequence TSV (max over windows)."),
    windows: Path = typer.Option(None, "--windows", help="Also write a per-window TSV here."),
    batch_size: int = typer.Option(512, "--batch-size"),
    device: str = typer.Option(None, "--device", help="cpu or cuda (default: cuda when present)."),
    precision: str = typer.Option("auto", "--precision", help="auto (as trained), 32 or bf16."),
) -> None:
    """Predict label probabilities; long sequences are scanned with the card's window and stride."""
    from rnalabel.workflows import predict_run

    preds = predict_run(run, data, out, windows_out=windows, batch_size=batch_size, device=device,
                        precision=precision)
    out_console.print(f"{len(preds.ids)} sequences, {len(preds.window_source)} windows -> {out}")


@app.command()
@friendly
def demo(
    out: Path = typer.Option(Path("runs/demo"), "--out", "-o", help="Run folder to write."),
    n: int = typer.Option(5000, "--n", help="Number of synthetic sequences."),
    epochs: int = typer.Option(12, "--epochs", help="Max epochs (early stopping may end sooner)."),
    recipe: str = typer.Option("multiresbind", "--recipe", "-r", help="Recipe name or YAML path."),
    seed: int = typer.Option(0, "--seed"),
    device: str = typer.Option(None, "--device", help="cpu or cuda (default: cuda when present)."),
    progress: bool = typer.Option(True, "--progress/--no-progress"),
) -> None:
    """End to end on the embedded synthetic data: generate, train, evaluate, predict, write a run folder."""
    from rnalabel.demo import run_demo

    res = run_demo(out, n=n, seed=seed, recipe=recipe, max_epochs=epochs, progress=progress, device=device)
    scores = res.scores
    out_console.print(_scores_table(f"demo (synthetic, planted motifs): test split, n={scores.n}", scores))
    out_console.print(_example_line(scores))
    out_console.print(f"[bold]macro AUROC on the demo test split: {res.macro_auroc:.3f}[/]  "
                      f"(macro AP {res.macro_ap:.3f}; {res.seconds:.0f} s)")
    files = sorted(p.relative_to(res.out).as_posix() for p in res.out.rglob("*") if p.is_file())
    out_console.print(f"run folder {res.out}: {', '.join(files)}")


@app.command()
def recipes() -> None:
    """List the built-in recipes."""
    from rnalabel.recipe import load_recipe, recipe_names

    t = Table(title="built-in recipes")
    t.add_column("name")
    t.add_column("model")
    t.add_column("views")
    t.add_column("description")
    for name in recipe_names():
        r = load_recipe(name)
        t.add_row(name, r.model, ", ".join(f"{k}:{v['type']}" for k, v in r.views.items()), r.description)
    out_console.print(t)


def _mount_subapps() -> None:
    from rnalabel.cli_data import data_app
    from rnalabel.cli_explain import explain

    app.add_typer(data_app, name="data")
    app.command("explain")(explain)


_mount_subapps()


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except RnalabelError as exc:  # raised outside a command (e.g. while parsing)
        console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
