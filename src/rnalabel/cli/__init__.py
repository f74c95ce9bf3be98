"""The ``rnalabel`` command line: one command per operation, each a thin call into the Python API.

One module per command group (:mod:`~rnalabel.cli.model`: train, evaluate, predict, recipes;
:mod:`~rnalabel.cli.data`; :mod:`~rnalabel.cli.explain`; :mod:`~rnalabel.cli.demo`; :mod:`~rnalabel.cli.lm`;
:mod:`~rnalabel.cli.similarity`: index, rank; :mod:`~rnalabel.cli.proteins`; :mod:`~rnalabel.cli.serve`; :mod:`~rnalabel.cli.report`); what they share (consoles,
error printing, tables) is in :mod:`~rnalabel.cli._common`, so the command modules never import each other.
Errors a user causes print one clear message (file, line, remedy) without a traceback, and exit with status 2.
"""

from __future__ import annotations

import os
import sys

import typer

from rnalabel import __version__
from rnalabel.cli import data, demo, explain, lm, model, proteins, report, serve, similarity
from rnalabel.cli._common import console
from rnalabel.errors import RnalabelError

app = typer.Typer(
    name="rnalabel",
    help="Which proteins bind an RNA, and where in the cell it goes: multi-view, multi-label deep learning.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"rnalabel {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version."),
) -> None:
    os.environ.setdefault("PYTHONWARNINGS", "ignore")


app.command()(model.train)
app.command()(model.evaluate)
app.command()(model.predict)
app.command()(model.ensemble)
app.command()(demo.demo)
app.command()(model.recipes)
app.command()(model.models)
app.add_typer(data.data_app, name="data")
app.command("explain")(explain.explain)
app.add_typer(lm.lm_app, name="lm")
app.command("index")(similarity.index)
app.command("rank")(similarity.rank)
app.add_typer(proteins.proteins_app, name="proteins")
app.command("serve")(serve.serve)
app.command("report")(report.report)


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except RnalabelError as exc:  # raised outside a command (e.g. while parsing)
        console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)

