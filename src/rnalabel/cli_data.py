"""``rnalabel data ...``: import public formats, build multi-label datasets, print statistics."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import typer
from rich.table import Table

from rnalabel.cli import friendly, out_console

data_app = typer.Typer(help="Import, build and inspect datasets.", no_args_is_help=True)


@data_app.command("stats")
@friendly
def stats(
    data: Path = typer.Argument(..., help="Dataset: rnalabel Parquet, CSV/TSV label table, or FASTA."),
    top: int = typer.Option(15, "--top", help="Show the co-occurrence of this many most frequent labels."),
) -> None:
    """Label counts, label co-occurrence and sequence lengths."""
    from rnalabel.io import read_input

    ds = read_input(data)
    out_console.print(f"{data}: {len(ds)} sequences, {ds.n_labels} labels")
    lens = ds.lengths
    if len(ds):
        out_console.print(
            f"length: min {lens.min()}, median {int(np.median(lens))}, mean {lens.mean():.1f}, max {lens.max()}"
        )
    if ds.split is not None:
        parts = {s: int(np.sum(ds.split == s)) for s in ("train", "val", "test")}
        out_console.print("split: " + ", ".join(f"{k} {v}" for k, v in parts.items()))
    if ds.n_labels:
        t = Table(title="labels")
        for c in ("label", "positive", "negative", "unknown"):
            t.add_column(c, justify="left" if c == "label" else "right")
        for name, c in ds.label_counts().items():
            t.add_row(name, str(c["positive"]), str(c["negative"]), str(c["unknown"]))
        out_console.print(t)
        pos = (np.nan_to_num(ds.labels) == 1).sum(axis=1)
        out_console.print("labels per sequence: " + ", ".join(
            f"{k}: {int(np.sum(pos == k))}" for k in range(int(pos.max()) + 1) if np.any(pos == k)))
        co = ds.cooccurrence()
        order = np.argsort(-np.diag(co))[:top]
        t = Table(title=f"co-occurrence (sequences positive for both; top {len(order)} labels)")
        t.add_column("")
        for j in order:
            t.add_column(ds.label_names[j][:10], justify="right")
        for i in order:
            t.add_row(ds.label_names[i], *(str(int(co[i, j])) for j in order))
        out_console.print(t)
