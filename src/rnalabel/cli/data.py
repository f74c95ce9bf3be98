"""``rnalabel data ...``: import public formats, build multi-label datasets, list sources, print statistics.

Each command parses its arguments and calls one library function (:func:`rnalabel.io.importers.import_dataset`,
:func:`rnalabel.io.benchmark_sets.build`); datasets are written as one Parquet file, atomically.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import typer
from rich.table import Table

from rnalabel.cli._common import friendly, out_console

data_app = typer.Typer(
    help="Import, build and inspect datasets. rnalabel ships importers, not data: `rnalabel data sources` "
         "lists where each public data set lives and how to fetch it (needs internet); then import or build "
         "from the downloaded folder.",
    no_args_is_help=True,
)


def _csv(value: str | None) -> list[str] | None:
    return None if value is None else [v.strip() for v in value.split(",") if v.strip()]


def _fractions(value: str) -> tuple[float, float, float] | None:
    from rnalabel.errors import InputError

    if value.strip().lower() == "none":
        return None
    try:
        parts = tuple(float(v) for v in value.split(","))
    except ValueError:
        parts = ()
    if len(parts) != 3:
        raise InputError(f"--split {value!r} is not three comma-separated fractions.",
                         remedy="give e.g. --split 0.7,0.1,0.2 (train,val,test), or --split none.")
    from rnalabel.data.splits import check_fractions

    try:  # checked before any data is read
        return check_fractions(parts)
    except InputError as exc:
        raise InputError(f"--split {value!r}: {exc.message}",
                         remedy="give e.g. --split 0.7,0.1,0.2 (train,val,test), or --split none.") from None


def _parquet_out(out: Path):
    """The place of the Parquet file to write, checked (a .parquet/.pq name, writable) before any work."""
    from rnalabel.data import atomic_path
    from rnalabel.errors import InputError

    if out.suffix.lower() not in (".parquet", ".pq"):
        raise InputError("datasets are written as Parquet, so --out must end with .parquet (or .pq).", path=out,
                         remedy=f"e.g. --out {out.with_suffix('.parquet')}.")
    return atomic_path(out)


def _summary(ds, out: Path) -> None:
    from rnalabel.errors import count_of

    out_console.print(f"{count_of(len(ds), 'sequence')}, {count_of(ds.n_labels, 'label')} -> {out}")
    if ds.split is not None:
        out_console.print("split: " + ", ".join(
            f"{s} {int(np.sum(ds.split == s))}" for s in ("train", "val", "test")))


@data_app.command("import")
@friendly
def import_(
    fmt: str = typer.Argument(..., metavar="FORMAT",
                              help="fasta | table | bed | rbp31 | eclip | deepmirbp | mirloc"),
    source: Path = typer.Argument(..., help="The file (for rbp31: an experiment folder or sequences.fa.gz)."),
    out: Path = typer.Option(..., "--out", "-o", help="Parquet dataset to write."),
    genome: Path = typer.Option(None, "--genome", help="bed: genome FASTA (uncompressed or bgzip)."),
    flank: int = typer.Option(0, "--flank", help="bed: nt added on both sides of each interval."),
    label_table: Path = typer.Option(None, "--label-table", help="fasta: CSV/TSV of labels joined by id."),
    labels: str = typer.Option(None, "--labels", help="table/mirloc: comma-separated label columns."),
    id_col: str = typer.Option("id", "--id-col", help="table: id column."),
    seq_col: str = typer.Option("sequence", "--seq-col", help="table: sequence column."),
    max_length: int = typer.Option(None, "--max-length", help="fasta/table: refuse longer sequences."),
) -> None:
    """Read one file in a public or plain format and write it as an rnalabel Parquet dataset."""
    from rnalabel.io.importers import import_dataset

    with _parquet_out(out) as tmp:
        ds = import_dataset(fmt, source, genome=genome, flank=flank, label_table=label_table, id_col=id_col,
                            seq_col=seq_col, labels=_csv(labels), max_length=max_length)
        ds.to_parquet(tmp)
    _summary(ds, out)


@data_app.command("build")
@friendly
def build(
    kind: str = typer.Argument(..., metavar="DATASET", help="eclip | rbp31 | mirloc | binding-sites | mirna-binding"),
    root: Path = typer.Option(..., "--root", help="Folder of the data set (mirloc: the folder or its CSV; "
                              "binding-sites: the data folder holding eclip/, rbp31/, deepmirbp/; mirna-binding: "
                              "deepmirbp/Data/miRNA)."),
    out: Path = typer.Option(..., "--out", "-o", help="Parquet dataset to write."),
    split: str = typer.Option("0.7,0.1,0.2", "--split",
                              help="train,val,test fractions (iterative stratification), or none. rbp31 keeps "
                                   "its published test part and divides training into train/val."),
    seed: int = typer.Option(0, "--seed", help="Seeds the split and the eclip negative sampling."),
    n_negative: str = typer.Option("5000", "--n-negative",
                                   help="eclip: unbound sequences to sample (an integer, or all)."),
    experiments: str = typer.Option(None, "--experiments",
                                    help="eclip/rbp31: comma-separated subset of experiments (default all)."),
    labels: str = typer.Option(None, "--labels", help="mirloc: comma-separated compartments (default all 6)."),
    max_per_class: int = typer.Option(None, "--max-per-class",
                                      help="binding-sites: bound and unbound sites kept per experiment (default all)."),
    positives_only: bool = typer.Option(False, "--positives-only", help="binding-sites: bound sites only (for "
                                        "rnalabel index)."),
    layout: str = typer.Option("multitask", "--layout", help="binding-sites: multitask (a label per experiment) "
                               "or binary (one label, bound)."),
    negatives: str = typer.Option("shuffled", "--negatives", help="mirna-binding: shuffled (dinucleotide "
                                  "shuffles) or paper (reversed and reverse-complementary miRNAs)."),
) -> None:
    """Build a multi-label dataset from a public data set folder and write it as Parquet."""
    from rnalabel.errors import InputError
    from rnalabel.io.benchmark_sets import build as build_dataset

    if n_negative.strip().lower() == "all":
        n_neg = None
    elif n_negative.strip().isdigit():
        n_neg = int(n_negative)
    else:
        raise InputError(f"--n-negative {n_negative!r} is not a count.", remedy="give an integer or 'all'.")
    with _parquet_out(out) as tmp:
        ds = build_dataset(kind, root, split=_fractions(split), seed=seed, n_negative=n_neg,
                           experiments=_csv(experiments), labels=_csv(labels), max_per_class=max_per_class,
                           positives_only=positives_only, layout=layout, negatives=negatives)
        ds.to_parquet(tmp)
    _summary(ds, out)


@data_app.command("sources")
def sources() -> None:
    """Where each public data set lives (repository, commit, files, licence) and the command to fetch it."""
    from rnalabel.io.sources import SOURCES, download_commands

    for src in SOURCES:
        out_console.print(f"[bold]{src.name}[/]: {src.description}", highlight=False)
        out_console.print(f"  {src.url} @ {src.commit[:12]}  files: {src.paths}", highlight=False)
        out_console.print(f"  licence: {src.licence}; then: {src.importer}", highlight=False)
        out_console.print(f"  fetch: {download_commands(src)}", highlight=False, soft_wrap=True)


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


@data_app.command("fold")
@friendly
def fold(
    data: Path = typer.Argument(..., help="Sequences: rnalabel Parquet, CSV/TSV table, or FASTA."),
    recipe: str = typer.Option(None, "--recipe", "-r", help="Fold the structure/pairing views of this recipe "
                               "(built-in name or YAML path), with its window and stride."),
    view_spec: list[str] = typer.Option(None, "--view-spec", help="A view to fold, as in a recipe's views: (YAML), "
                                        "e.g. \"{type: structure, profile: loop, window: 150, span: 100}\"; "
                                        "repeatable (default: the structure view's defaults)."),
    window: int = typer.Option(None, "--window", help="Model input width in nt, as for train (default: the "
                               "recipe's, else whole sequences)."),
    stride: int = typer.Option(None, "--stride", help="Scanning stride, as for train (default: window/2)."),
    workers: int = typer.Option(None, "--workers", help="Fold on a local Dask cluster of N worker processes "
                                "(pip install 'rnalabel\\[cluster]')."),
    scheduler: str = typer.Option(None, "--scheduler", help="Fold on an existing Dask cluster: scheduler address "
                                  "or file (workers must see the data and the cache folder)."),
    shard: str = typer.Option(None, "--shard", help="i/n: fold records i, i+n, ... only (split one input between "
                              "n jobs; with --workers/--scheduler, their part is split again)."),
    chunk: int = typer.Option(10_000, "--chunk", help="Records read at a time."),
) -> None:
    """Fill the fold cache ($RNALABEL_CACHE, else ~/.cache/rnalabel) for every sequence, ahead of training with
    a structure view. Without --workers/--scheduler the folds run on this machine's CPUs."""
    import yaml

    from rnalabel.cluster import fold_parallel
    from rnalabel.errors import ConfigError
    from rnalabel.io import parse_shard

    specs = []
    for text in view_spec or []:
        try:
            spec = yaml.safe_load(text)
        except yaml.YAMLError:
            spec = None
        if not isinstance(spec, dict):
            raise ConfigError(f"--view-spec {text!r} is not a YAML mapping.",
                              remedy="e.g. --view-spec \"{type: structure, window: 150, span: 150}\".")
        specs.append(spec)
    s = fold_parallel(data, views=specs or None, recipe=recipe, window=window, stride=stride, workers=workers,
                      scheduler=scheduler, shard=parse_shard(shard), chunk=chunk)
    out_console.print(f"{s.sequences} sequences ({', '.join(s.views)}): {s.folded} folded, {s.cached} already "
                      f"cached -> {s.cache}", highlight=False, soft_wrap=True)
