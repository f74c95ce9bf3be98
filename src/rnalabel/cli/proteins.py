"""``rnalabel proteins train | similar``: DeepMiRBP's protein encoder and the protein similarity matrix."""

from __future__ import annotations

from pathlib import Path

import typer

from rnalabel.cli._common import friendly, out_console

proteins_app = typer.Typer(help="Protein encoder (PSSM / BLOSUM62 profile + contact map) and protein similarity.",
                           no_args_is_help=True)


@proteins_app.command("train")
@friendly
def train(
    model: Path = typer.Argument(..., help="Model folder with a similarity index (rnalabel index)."),
    out: Path = typer.Option(..., "--out", "-o", help="Model folder to write: the model plus the encoder."),
    pssm_dir: Path = typer.Option(None, "--pssm-dir", help="Folder of PSI-BLAST ASCII PSSMs (<GENE>_HUMAN.pssm[.gz])."),
    fasta: list[Path] = typer.Option(None, "--fasta", help="Protein FASTA (ids = gene symbols); repeatable."),
    pssm_map: Path = typer.Option(None, "--pssm-map", help="GENE<TAB>PSSM-FILE lines for PSSMs named otherwise "
                                  "(e.g. PRPF8 PRP8_HUMAN.pssm.gz)."),
    epochs: int = typer.Option(150, "--epochs"),
    seed: int = typer.Option(0, "--seed"),
    overwrite: bool = typer.Option(False, "--overwrite"),
) -> None:
    """Train the protein encoder so that proteins binding similar RNA end up close, and store it with the model."""
    from rnalabel.runs import proteins_run

    m, missing, history = proteins_run(model, out, pssm_dir=pssm_dir, fasta=fasta or None, pssm_map=pssm_map,
                                       epochs=epochs, seed=seed, overwrite=overwrite)
    n = len(m.artifacts["proteins.meta"].value["names"])
    out_console.print(f"protein encoder: {n} proteins, loss {history[0]:.3f} -> {history[-1]:.3f} -> {out}")
    if missing:
        out_console.print(f"without a profile (not in the protein space): {', '.join(missing)}")


@proteins_app.command("similar")
@friendly
def similar(
    model: Path = typer.Argument(..., help="Model folder with a protein encoder (rnalabel proteins train)."),
    out: Path = typer.Option(None, "--out", "-o", help="Write the n x n similarity matrix as TSV here."),
    fasta: Path = typer.Option(None, "--fasta", help="New proteins (FASTA) to place among the known ones."),
    pssm: Path = typer.Option(None, "--pssm", help="A new protein's PSSM."),
    structure: Path = typer.Option(None, "--structure", help="A new protein's structure (PDB/mmCIF)."),
    chain: str = typer.Option(None, "--chain", help="Chain of --structure (default: its first protein chain)."),
    contacts: Path = typer.Option(None, "--contacts", help="A new protein's contact matrix file."),
    name: str = typer.Option("new_protein", "--name", help="Name of the protein given by --pssm/--structure."),
    top: int = typer.Option(5, "--top", help="Nearest known proteins shown per new protein."),
) -> None:
    """The protein similarity matrix; with new proteins, their nearest proteins with binding data."""
    from rnalabel.data.files import atomic_paths, open_output
    from rnalabel.engine.bundle import load_model
    from rnalabel.engine.proteins import protein_similarity
    from rnalabel.errors import InputError
    from rnalabel.io.protein_features import new_proteins

    if top < 1:
        raise InputError(f"--top must be at least 1, got {top}.")
    # an unwritable --out fails before any work; nothing partial is left
    with atomic_paths(out, inputs=(fasta, pssm, structure, contacts)) as (tmp,):
        new = new_proteins(fasta=fasta, pssm=pssm, structure=structure, contacts=contacts, name=name, chain=chain)
        names, m = protein_similarity(load_model(model), new)
        if tmp is not None:
            lines = ["\t".join(["protein", *names])] + ["\t".join([n, *(f"{v:.4f}" for v in row)])
                                                        for n, row in zip(names, m, strict=True)]
            with open_output(tmp, out) as f:
                f.write("\n".join(lines) + "\n")
    n_known = len(names) - len(new)
    for i in range(n_known, len(names)):
        order = list(m[i, :n_known].argsort()[::-1][:top])
        out_console.print(f"{names[i]}: " + ", ".join(f"{names[j]} ({m[i, j]:.2f})" for j in order))
    if out is not None:
        out_console.print(f"{len(names)} x {len(names)} similarity matrix -> {out}")
