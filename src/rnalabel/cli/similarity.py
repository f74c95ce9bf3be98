"""``rnalabel index | rank``: a similarity index over binding sites, and the proteins a miRNA's sites resemble
(DeepMiRBP)."""

from __future__ import annotations

import re
from pathlib import Path

import typer
from rich.table import Table

from rnalabel.cli._common import friendly, out_console, warnings_shown

_FILE_LIKE = re.compile(r"(/|\\|\.(fa|fasta|fna|txt|tsv|csv|parquet|pq|gz)$)", re.IGNORECASE)


@friendly
def index(
    model: Path = typer.Argument(..., help="Embedding model run folder (e.g. trained with --recipe deepmirbp)."),
    sites: Path = typer.Argument(..., help="Binding sites, one label per experiment (rnalabel data build "
                                 "binding-sites --positives-only); every site with a 1 is indexed."),
    null: Path = typer.Option(..., "--null", help="Query-like sequences (miRNAs: FASTA or table) whose "
                              "dinucleotide shuffles calibrate the scores."),
    out: Path = typer.Option(..., "--out", "-o", help="Model folder to write: the model plus its index."),
    k: int = typer.Option(10, "--k", help="Nearest sites averaged per experiment (top-k mean)."),
    shuffles: int = typer.Option(10, "--shuffles", help="Dinucleotide shuffles per --null sequence."),
    center: bool = typer.Option(True, "--center/--no-center", help="Subtract the mean site embedding first."),
    batch_size: int = typer.Option(512, "--batch-size"),
    seed: int = typer.Option(0, "--seed"),
    progress: bool = typer.Option(True, "--progress/--no-progress"),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing model folder in --out."),
) -> None:
    """Embed every bound site with an embedding model and store an exact cosine index with the model."""
    from rnalabel.engine.bundle import ShortSequenceWarning
    from rnalabel.engine.similarity import INDEX_META
    from rnalabel.runs import index_run

    with warnings_shown(ShortSequenceWarning):
        m = index_run(model, sites, null, out, k=k, n_null=shuffles, center=center, batch_size=batch_size,
                      progress=progress, overwrite=overwrite, seed=seed)
    meta = m.artifacts[INDEX_META].value
    out_console.print(f"{meta['n_sites']} sites of {len(meta['experiments'])} experiments "
                      f"({meta['n_sequences']} sequences) indexed in {meta['seconds']['embed_sites']:.0f} s -> {out}")


@friendly
def rank(
    model: Path = typer.Argument(..., help="Model folder with a similarity index (rnalabel index)."),
    queries: str = typer.Argument(..., help="miRNAs: a FASTA/table file, or comma-separated miRBase names "
                                  "(hsa-miR-451,hsa-let-7d; needs --mirbase)."),
    out: Path = typer.Option(None, "--out", "-o", help="Write the ranking as TSV here."),
    top: int = typer.Option(10, "--top", help="Proteins per miRNA."),
    sites: int = typer.Option(3, "--sites", help="Nearest supporting sites listed per protein."),
    mirbase: Path = typer.Option(None, "--mirbase", help="miRBase mature.fa for names (or $RNALABEL_MIRBASE)."),
    batch_size: int = typer.Option(512, "--batch-size"),
    new_fasta: Path = typer.Option(None, "--new-proteins", help="Proteins without binding data (FASTA), scored "
                                   "through their most similar proteins with data (needs rnalabel proteins train)."),
    pssm: Path = typer.Option(None, "--pssm", help="A new protein's PSSM."),
    structure: Path = typer.Option(None, "--structure", help="A new protein's structure (PDB/mmCIF)."),
    chain: str = typer.Option(None, "--chain", help="Chain of --structure (default: its first protein chain)."),
    contacts: Path = typer.Option(None, "--contacts", help="A new protein's contact matrix file."),
    name: str = typer.Option("new_protein", "--name", help="Name of the protein given by --pssm/--structure."),
    neighbours: int = typer.Option(3, "--neighbours", help="Proteins with data a new protein is scored through."),
) -> None:
    """Rank RNA-binding proteins for each miRNA by how its embedding resembles their binding sites.

    Also listed, not used for the rank: seed sites (share of the sites holding the 7mer-m8 seed match) and seed z.
    """
    from rnalabel.engine.bundle import ShortSequenceWarning, UntrainedLabelWarning
    from rnalabel.errors import InputError, count_of
    from rnalabel.runs import rank_run

    p = Path(queries)
    if p.exists():
        q: Path | list[str] = p
    elif _FILE_LIKE.search(queries):
        raise InputError("file not found.", path=p, remedy="check the path, or give miRBase names.")
    else:
        q = queries.split(",")
    from rnalabel.io.protein_features import new_proteins

    new = new_proteins(fasta=new_fasta, pssm=pssm, structure=structure, contacts=contacts, name=name,
                       chain=chain)
    from rnalabel.io.mirbase import NameExpandedWarning

    with warnings_shown(ShortSequenceWarning, UntrainedLabelWarning, NameExpandedWarning):
        ranking = rank_run(model, q, out, top=top, n_sites=sites, mirbase=mirbase, batch_size=batch_size,
                           new_proteins=new or None, neighbours=neighbours)
    shown = ranking.ids[:10]
    for qid in shown:
        t = Table(title=qid, title_justify="left")
        for col in ("rank", "protein", "score (z)", "cosine", "experiment", "seed sites", "seed z", "nearest site"):
            t.add_column(col)
        for r in (r for r in ranking.rows if r["id"] == qid):
            near = f"{r['sites'][0][0]} ({r['sites'][0][1]:.3f})" if r["sites"] else "-"
            cos = "-" if r["cosine"] != r["cosine"] else f"{r['cosine']:.3f}"
            share, sz = r["seed_share"], r["seed_z"]
            t.add_row(str(r["rank"]), r["protein"], f"{r['score']:.2f}", cos, r["experiment"],
                      "-" if share != share else f"{100 * share:.1f} %", "-" if sz != sz else f"{sz:.1f}", near)
        out_console.print(t)
    if len(ranking.ids) > len(shown):
        out_console.print(f"... and {count_of(len(ranking.ids) - len(shown), 'more miRNA')}"
                          + (f" in {out}" if out else ""))
    elif out is not None:
        out_console.print(f"{count_of(len(ranking.ids), 'miRNA')} -> {out}")
