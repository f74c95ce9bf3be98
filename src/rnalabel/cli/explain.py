"""``rnalabel explain``: attribution maps, raw attributions and motifs for chosen labels of a trained model."""

from __future__ import annotations

from pathlib import Path

import typer

from rnalabel.cli._common import friendly, out_console, warnings_shown


@friendly
def explain(
    run: Path = typer.Argument(..., metavar="RUN_DIR", help="Run folder (model card + weights) or zoo name (rnalabel models)."),
    data: Path = typer.Argument(..., metavar="INPUT", help="Sequences: FASTA (plain or .gz), CSV/TSV table, or Parquet."),
    label: list[str] = typer.Option(..., "--label", "-l", help="Label to explain (repeat for more; 'all')."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder to write maps, TSVs and motifs into."),
    top: int = typer.Option(3, "--top", help="Best-scoring windows drawn per label."),
    baseline: str = typer.Option("low-score", "--baseline", help="low-score, zero or shuffle."),
    reference: Path = typer.Option(None, "--reference", help="Data for the low-score baseline (default: INPUT)."),
    n_low: int = typer.Option(2000, "--n-low", help="Lowest-scoring windows averaged by the low-score baseline."),
    n_shuffles: int = typer.Option(8, "--n-shuffles", help="Dinucleotide shuffles per window (shuffle baseline)."),
    steps: int = typer.Option(50, "--steps", help="Integrated-gradients steps."),
    output: str = typer.Option("logit", "--output", help="Attribute the logit or the probability."),
    max_positives: int = typer.Option(500, "--max-positives", help="Positive windows attributed for motifs."),
    motifs: bool = typer.Option(True, "--motifs/--no-motifs", help="Discover motifs from seqlets."),
    ism: bool = typer.Option(True, "--ism/--no-ism", help="Cross-check drawn windows by in-silico mutagenesis."),
    batch_size: int = typer.Option(64, "--batch-size"),
    seed: int = typer.Option(0, "--seed"),
    device: str = typer.Option(None, "--device", help="cpu or cuda (default: cuda when present)."),
    precision: str = typer.Option("auto", "--precision", help="Forward pass choosing the positive windows: auto "
                                  "(as trained, as predict), 32 or bf16. Attributions always run in fp32."),
    progress: bool = typer.Option(True, "--progress/--no-progress"),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing explain folder in --out."),
) -> None:
    """Explain predictions: integrated gradients on every view, logos, mutagenesis, motifs vs published ones."""
    from rnalabel.engine.bundle import ShortSequenceWarning, UntrainedLabelWarning
    from rnalabel.errors import InputError
    from rnalabel.explain.core import OUTPUTS, AttributionWarning
    from rnalabel.explain.run import explain_run

    if output not in OUTPUTS:
        raise InputError(f"unknown --output {output!r}.", remedy=f"choose one of: {', '.join(OUTPUTS)}.")
    with warnings_shown(AttributionWarning, ShortSequenceWarning, UntrainedLabelWarning):
        results = explain_run(
            run, data, out, label=label if label != ["all"] else "all", reference=reference, top=top,
            baseline=baseline, n_low=n_low, n_shuffles=n_shuffles, steps=steps, output=output,
            max_positives=max_positives, motifs=motifs, ism=ism, seed=seed, batch_size=batch_size,
            device=device, progress=progress, precision=precision, overwrite=overwrite,
        )
    for name, res in results.items():
        a = res.attributions
        gap = f"{100 * a.relative_delta.max():.1f}%" if len(a) else "-"
        line = f"{name}: {len(a)} windows attributed ({res.n_positive} positive), completeness gap max {gap}"
        if res.motifs:
            m = res.motifs[0]
            b = m.best_match
            line += f"; top motif {m.consensus} ({m.n_seqlets} seqlets)"
            if b is not None:
                line += f" ~ {b.rbp} {b.consensus} (similarity {b.score:.2f})"
        out_console.print(line, highlight=False)
    out_console.print(f"written to {out}/ (summary.md, one folder per label)")
