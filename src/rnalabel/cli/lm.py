"""``rnalabel lm ...``: pretrain rnalabel's own RNA language model, and describe a language-model folder."""

from __future__ import annotations

from pathlib import Path

import typer

from rnalabel.cli._common import console, friendly, out_console

lm_app = typer.Typer(help="RNA language models: pretrain one on your corpora (resumable), or describe one.",
                     no_args_is_help=True)


@lm_app.command("pretrain")
@friendly
def pretrain_cmd(
    corpora: list[Path] = typer.Argument(..., metavar="CORPUS...", help="FASTA files, label tables or datasets."),
    out: Path = typer.Option(..., "--out", "-o", help="LM folder to write (model.safetensors, config, vocab, card)."),
    epochs: int = typer.Option(10, "--epochs"),
    steps_per_epoch: int = typer.Option(None, "--steps-per-epoch",
                                        help="Batches per epoch (default: one pass); a checkpoint after each epoch."),
    batch_size: int = typer.Option(64, "--batch-size"),
    lr: float = typer.Option(5e-4, "--lr", help="Peak AdamW learning rate."),
    max_sequences: int = typer.Option(None, "--max-sequences", help="Use a seeded sample of this many sequences."),
    hidden: int = typer.Option(128, "--hidden", help="Hidden size."),
    layers: int = typer.Option(4, "--layers"),
    heads: int = typer.Option(4, "--heads"),
    max_length: int = typer.Option(128, "--max-length", help="Longest RNA piece in nt (longer ones are cut)."),
    precision: str = typer.Option("auto", "--precision", help="auto, 32 or bf16-mixed."),
    seed: int = typer.Option(0, "--seed"),
    bucket: bool = typer.Option(True, "--bucket/--no-bucket",
                                help="Batches of similar length, trimmed to their longest RNA (faster, same model kind)."),
    exclude: list[Path] = typer.Option(None, "--exclude", metavar="FILE",
                                       help="Leave out every RNA that is also in FILE (e.g. a benchmark's test part); "
                                            "repeatable."),
    resume: bool = typer.Option(False, "--resume", help="Continue the interrupted run in --out."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace a finished LM in --out."),
    device: str = typer.Option(None, "--device", help="cpu or cuda (default: cuda when present)."),
    progress: bool = typer.Option(True, "--progress/--no-progress"),
) -> None:
    """Pretrain an RNA language model by masked-language modelling; Ctrl-C keeps the last epoch, --resume goes on."""
    from rnalabel.engine.lm_pretrain import PretrainSettings, pretrain
    from rnalabel.models.rnalm import LMConfig

    config = LMConfig(hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads,
                      intermediate_size=4 * hidden, max_position_embeddings=max_length + 2)
    settings = PretrainSettings(epochs=epochs, steps_per_epoch=steps_per_epoch, batch_size=batch_size, lr=lr,
                                max_sequences=max_sequences, precision=precision, seed=seed,
                                bucket_batches=bucket)
    try:
        lm, report = pretrain(corpora, out, config=config, settings=settings, resume=resume, overwrite=overwrite,
                              progress=progress, device=device, exclude=exclude or ())
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/]; the last finished epoch is kept in "
                      f"{out}/checkpoint: run the same command with --resume to go on.", highlight=False)
        raise typer.Exit(code=130) from None
    c = report.corpus
    out_console.print(f"corpus: {c['sequences_read']:,} sequences read, {c['distinct']:,} distinct, "
                      + (f"{c['excluded']:,} excluded, " if c.get("excluded") else "") + f"{c['used']:,} used "
                      f"({c['val']:,} for validation), {c['nucleotides']:,} nt", highlight=False)
    out_console.print(f"validation: masked-token accuracy {report.val_accuracy:.3f}, perplexity "
                      f"{report.val_perplexity:.2f}; {report.tokens_per_second:,.0f} tokens/s; {report.seconds:.0f} s"
                      + (f" (resumed after epoch {report.resumed_from_epoch})" if report.resumed_from_epoch else "")
                      + f"; LM folder: {out}", highlight=False)


@lm_app.command("info")
@friendly
def info(lm_dir: Path = typer.Argument(..., metavar="LM_DIR")) -> None:
    """Describe a language-model folder (rnalabel's or a HuggingFace BERT one)."""
    from rnalabel.io.lm import load_lm

    lm = load_lm(lm_dir)
    c = lm.config
    n = sum(p.numel() for p in lm.module.weights().values())
    out_console.print(f"{lm_dir}: {lm.source} BERT, {c.num_hidden_layers} layers x {c.hidden_size} units, "
                      f"{c.num_attention_heads} heads, {c.max_nucleotides} nt, {n:,} parameters", highlight=False)
    p = lm.card.get("pretraining")
    if p:
        out_console.print(f"pretrained on {p['corpus']['used']:,} sequences ({p['corpus']['nucleotides']:,} nt): "
                          f"validation masked-token accuracy {p['val_accuracy']:.3f}, perplexity "
                          f"{p['val_perplexity']:.2f}", highlight=False)
