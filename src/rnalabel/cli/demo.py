"""``rnalabel demo``: end to end on the embedded synthetic data."""

from __future__ import annotations

from pathlib import Path

import typer

from rnalabel.cli._common import example_line, friendly, out_console, scores_table


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
    out_console.print(scores_table(f"demo (synthetic, planted motifs): test split, n={scores.n}", scores))
    out_console.print(example_line(scores))
    out_console.print(f"[bold]macro AUROC on the demo test split: {res.macro_auroc:.3f}[/]  "
                      f"(macro AP {res.macro_ap:.3f}; {res.seconds:.0f} s)")
    files = sorted(p.relative_to(res.out).as_posix() for p in res.out.rglob("*") if p.is_file())
    out_console.print(f"run folder {res.out}: {', '.join(files)}")
    out_console.print(f"report: {res.out / 'report.html'}")
