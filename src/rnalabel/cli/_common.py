"""What every command module shares: the consoles, the error wrapper (one line, exit 2, no traceback) and tables."""

from __future__ import annotations

import contextlib
import functools
import warnings

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from rnalabel.errors import RnalabelError

console = Console(stderr=True)
# soft_wrap: a line of results stays one line when stdout is a pipe or a file (rich would wrap it at 80 columns)
out_console = Console(soft_wrap=True)


def friendly(fn):
    """Turn the package's own errors into one message on stderr and exit status 2 (no traceback)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except RnalabelError as exc:
            # escaped: a message holding brackets (a remedy "pip install 'rnalabel[cluster]'") is text, not markup
            console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
            raise typer.Exit(code=exc.exit_code) from None
        except KeyboardInterrupt:
            console.print("[yellow]interrupted[/]; nothing partial was written.")
            raise typer.Exit(code=130) from None

    return wrapper


def scores_table(title: str, scores, max_rows: int = 40) -> Table:
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


def example_line(scores) -> str:
    a = scores.averages
    return (f"exact match {a['exact_match']:.3f} | Hamming loss {a['hamming_loss']:.3f} | "
            f"example-based accuracy (Jaccard) {a['jaccard']:.3f} | one-error {a['one_error']:.3f}")


def prediction_warnings():
    """:func:`warnings_shown` for the warnings that change how to read scores (short, blank or remembered
    sequences; untrained or near-chance labels): what every command that predicts shows."""
    from rnalabel.engine.bundle import (
        RememberedRowsWarning,
        ShortSequenceWarning,
        UninformativeSequenceWarning,
        UnreliableLabelWarning,
        UntrainedLabelWarning,
    )

    return warnings_shown(ShortSequenceWarning, UntrainedLabelWarning, UninformativeSequenceWarning,
                          UnreliableLabelWarning, RememberedRowsWarning)


@contextlib.contextmanager
def warnings_shown(*categories: type[Warning]):
    """Collect the package's warnings of ``categories`` raised inside the block and print each distinct one as a
    ``warning:`` line on stderr afterwards (the CLI otherwise keeps warnings quiet)."""
    with warnings.catch_warnings(record=True) as caught:
        for c in categories:
            warnings.simplefilter("always", c)
        yield
    seen = set()
    for w in caught:
        text = str(w.message)
        if issubclass(w.category, categories) and text not in seen:
            seen.add(text)
            console.print(f"[yellow]warning:[/] {text}", highlight=False, soft_wrap=True)
