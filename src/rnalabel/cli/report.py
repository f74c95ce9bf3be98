"""``rnalabel report``: one self-contained HTML file from a run folder."""

from __future__ import annotations

from pathlib import Path

import typer

from rnalabel.cli._common import friendly, out_console


@friendly
def report(
    run: Path = typer.Argument(..., help="Run folder (written by rnalabel train or demo) or zoo name (then give --out)."),
    out: Path = typer.Option(None, "--out", "-o", help="HTML file to write (default RUN/report.html)."),
    data: Path = typer.Option(None, "--data", help="The run's dataset, for the UpSet plot and lengths, when the "
                              "run folder does not hold it under data/."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing report file."),
) -> None:
    """Write one HTML file (images embedded; opens offline): data, training curves, metrics, curves, card."""
    from rnalabel.report.html import write_report

    path = write_report(run, out, data=data, overwrite=overwrite)
    out_console.print(f"report -> {path}")
