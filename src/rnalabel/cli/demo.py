"""``rnalabel demo``: end to end on the embedded synthetic data."""

from __future__ import annotations

from pathlib import Path

import typer

from rnalabel.cli._common import example_line, friendly, out_console, prediction_warnings, scores_table


@friendly
def demo(
    out: Path = typer.Option(Path("runs/demo"), "--out", "-o", help="Run folder to write."),
    n: int = typer.Option(5000, "--n", help="Number of synthetic sequences."),
    epochs: int = typer.Option(12, "--epochs", help="Max epochs (early stopping may end sooner)."),
    recipe: str = typer.Option("multiresbind", "--recipe", "-r", help="Recipe name or YAML path."),
    seed: int = typer.Option(0, "--seed"),
    device: str = typer.Option(None, "--device", help="cpu or cuda (default: cuda when present)."),
    progress: bool = typer.Option(True, "--progress/--no-progress"),
    zoo: bool = typer.Option(True, "--zoo/--no-zoo", help="First show the zoo models answering on examples."),
) -> None:
    """The zoo answering on typed-in examples, then end to end on the embedded synthetic data: generate, train,
    evaluate, predict, write a run folder."""
    from rnalabel.demo import run_demo
    from rnalabel.zoo.examples import answer_examples

    with prediction_warnings():
        answers = answer_examples() if zoo else {}
    for name, (p, ds) in answers.items():
        _print_answers(name, p, ds)
    with prediction_warnings():
        res = run_demo(out, n=n, seed=seed, recipe=recipe, max_epochs=epochs, progress=progress, device=device,
                       zoo_answers=answers)
    scores = res.scores
    out_console.print(scores_table(f"demo (synthetic, planted motifs): test split, n={scores.n}", scores))
    out_console.print(example_line(scores))
    out_console.print(f"[bold]macro AUROC on the demo test split: {res.macro_auroc:.3f}[/]  "
                      f"(macro AP {res.macro_ap:.3f}; {res.seconds:.0f} s)")
    files = sorted(p.relative_to(res.out).as_posix() for p in res.out.rglob("*") if p.is_file())
    out_console.print(f"run folder {res.out}: {', '.join(files)}")
    out_console.print(f"report: {res.out / 'report.html'}")


def _print_answers(name: str, p, ds) -> None:
    """One zoo model's answers on the examples: the top labels per sequence, and the windows of long RNAs."""
    import json

    import numpy as np
    from rich.table import Table

    from rnalabel.zoo import ZOO_DIR

    proteins = (json.loads((ZOO_DIR / name / "card.json").read_text()).get("zoo") or {}).get("proteins") or {}
    shown = [proteins.get(n, n) for n in p.label_names]

    t = Table(title=f"zoo model {name!r} on typed-in examples (rnalabel predict {name} my.fa)")
    t.add_column("sequence", no_wrap=True)
    t.add_column("nt", justify="right")
    t.add_column("top labels (probability; * = called)", overflow="fold")
    for i, sid in enumerate(p.ids):
        order = np.argsort(-p.scores[i])[:4]
        top = ", ".join(f"{shown[j]} {p.scores[i, j]:.2f}{'*' if p.calls[i, j] else ''}" for j in order)
        t.add_row(str(sid), str(int(ds.lengths[i])), top)
    out_console.print(t)
    long = [i for i in range(len(p.ids)) if int(ds.lengths[i]) > 200]
    for i in long:
        w = np.flatnonzero(p.window_source == i)
        best = [int(np.argmax(p.window_scores[k])) for k in w]
        track = "; ".join(f"{p.window_start[k] + 1}-{p.window_end[k]}: {shown[b]} "
                          f"{p.window_scores[k, b]:.2f}" for k, b in zip(w, best, strict=True))
        out_console.print(f"  {p.ids[i]} window by window (top label): {track}", highlight=False)
