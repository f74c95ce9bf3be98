"""Pretraining rnalabel's RNA language model by masked-language modelling (Lightning), resumable.

:func:`pretrain` reads RNA corpora (FASTA, label tables or rnalabel Parquet: every sequence, labels ignored),
removes duplicates, cuts sequences longer than the model's positions into consecutive pieces, keeps a seeded
share for validation, and trains :class:`rnalabel.models.rnalm.RNALM` as BERT was trained: 15 % of the
nucleotides of each sequence are chosen, 80 % of those become ``[MASK]``, 10 % a random nucleotide, 10 % stay;
the loss is the cross-entropy of the chosen ones. AdamW with linear warm-up and decay.

Resumable and deterministic on the CPU:

* an epoch is ``steps_per_epoch`` batches taken in turn from a seeded endless shuffle of the corpus (so epochs
  can be short on a large corpus; Lightning sets the sampler's epoch), and the masks and the dropout of step ``s``
  are drawn from random states seeded with ``(seed, s)``;
* batches are cut from pools of similar length (``bucket_batches``, on by default): each pool of 64 batches' worth
  of the epoch's sequences is sorted by length, cut into batches, and the epoch's batches are shuffled; each batch
  is trimmed to its longest sequence. A corpus of 22-nt mature miRNAs and 60-120 nt hairpins then no longer pays
  for 130 positions in every row. Attention never reads [PAD], so only the cost changes, not what a step computes
  on a given batch;
* at the end of every epoch the whole training state (weights, optimiser, scheduler, step, epoch) is written
  atomically to ``LM_DIR/checkpoint/last.ckpt`` with a fingerprint of the corpus and settings
  (``checkpoint/resume.json``); ``resume=True`` continues from it (loaded with ``weights_only=True``: tensors and
  plain containers only) and refuses a different corpus or settings. A run killed in the middle of an epoch loses
  that epoch's work and gives the same model as an uninterrupted run.

The finished model is written as an LM directory (:func:`rnalabel.io.lm.save_lm`) whose card holds the corpus,
the settings, the validation masked-token accuracy and perplexity per epoch, and the throughput.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import pickle  # only for its error type: the checkpoint is read by torch.load(weights_only=True), never unpickled
import shutil
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from rnalabel._runtime import resolve_device, resolve_precision, training_precision
from rnalabel.data import Dataset, write_text_atomic
from rnalabel.errors import ConfigError, InputError
from rnalabel.io.lm import LanguageModel, save_lm
from rnalabel.models.rnalm import RNALM, VOCAB, LMConfig, encode_rna

TOKEN_IDS = {t: i for i, t in enumerate(VOCAB)}
NUCLEOTIDE_IDS = torch.tensor([TOKEN_IDS[c] for c in "ACGU"])


@dataclass(frozen=True)
class PretrainSettings:
    """How to pretrain.

    Attributes
    ----------
    epochs : int
        Default is 10.
    steps_per_epoch : int or None
        Batches per epoch; None means one pass over the training sequences. Default is None.
    batch_size : int
        Default is 64.
    lr : float
        Peak AdamW learning rate. Default is 5e-4.
    weight_decay : float
        Default is 0.01.
    warmup : float
        Share of all steps spent warming the learning rate up. Default is 0.05.
    mask_prob : float
        Share of nucleotides chosen for prediction. Default is 0.15.
    val_fraction : float
        Share of the (distinct, cut) sequences kept for validation. Default is 0.02.
    max_sequences : int or None
        Use at most this many sequences of the corpus (a seeded sample). Default is None (all).
    precision : "auto", "32" or "bf16-mixed"
        Default is "auto".
    seed : int
        Default is 0.
    bucket_batches : bool
        Batches of similar length, trimmed to their longest sequence (see the module docstring); False takes every
        batch from the shuffle as it comes, padded to the corpus's longest piece. Default is True.
    """

    epochs: int = 10
    steps_per_epoch: int | None = None
    batch_size: int = 64
    lr: float = 5e-4
    weight_decay: float = 0.01
    warmup: float = 0.05
    mask_prob: float = 0.15
    val_fraction: float = 0.02
    max_sequences: int | None = None
    precision: str = "auto"
    seed: int = 0
    bucket_batches: bool = True

    def __post_init__(self) -> None:
        ints = {"epochs": 1, "batch_size": 1, "seed": 0}
        for name, low in ints.items():
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < low:
                raise ConfigError(f"pretraining setting {name} must be a whole number of at least {low}, got {v!r}.")
        for name in ("steps_per_epoch", "max_sequences"):
            v = getattr(self, name)
            if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 1):
                raise ConfigError(f"pretraining setting {name} must be a whole number of at least 1, got {v!r}.")
        for name, low, high in (("lr", 0, None), ("weight_decay", -1e-12, None), ("warmup", -1e-12, 1),
                                ("mask_prob", 0, 1), ("val_fraction", 0, 1)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or v <= low or \
                    (high is not None and v >= high and name != "warmup") or (name == "warmup" and v > high):
                raise ConfigError(f"pretraining setting {name} is out of range: {v!r}.")
        if not isinstance(self.bucket_batches, bool):
            raise ConfigError(f"pretraining setting bucket_batches must be true or false, got {self.bucket_batches!r}.")
        if self.precision not in ("auto", "32", "bf16-mixed"):
            raise ConfigError(f"unknown precision {self.precision!r}.", remedy="use auto, 32 or bf16-mixed.")


@dataclass
class Corpus:
    """Tokenised pretraining sequences (``[CLS] nt [SEP]``, padded), split in training and validation rows."""

    train: np.ndarray
    val: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)


def read_corpus(paths: Sequence[str | os.PathLike], *, max_nucleotides: int, val_fraction: float, seed: int,
                max_sequences: int | None = None, exclude: Sequence[str | os.PathLike] = ()) -> Corpus:
    """Read and deduplicate the corpora, drop every RNA that also occurs in an ``exclude`` file (e.g. the test
    parts of the benchmarks the LM will later serve, so that no test RNA is ever seen, not even without labels),
    keep a seeded ``val_fraction`` of the distinct RNAs for validation, and cut both parts into pieces of at most
    ``max_nucleotides`` (``max_sequences`` samples the training pieces)."""
    from rnalabel.io import read_input

    if not paths:
        raise InputError("no corpus was given.", remedy="give one or more FASTA files, tables or datasets.")

    def read_all(files: Sequence[str | os.PathLike]) -> tuple[list[str], list[dict[str, Any]]]:
        seqs, records = [], []
        for p in files:
            ds = read_input(p)
            records.append({"path": str(p), "sequences": len(ds), "bytes": Path(p).stat().st_size})
            seqs.extend(ds.sequences)
        return seqs, records

    seqs, files = read_all(paths)
    held, excluded_files = read_all(exclude)
    held_out = set(held)
    n_read = len(seqs)
    distinct = set(seqs)
    unique = sorted(distinct - held_out)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(unique))  # split the distinct RNAs first, so no RNA has pieces on both sides
    n_val = max(1, int(round(val_fraction * len(order)))) if len(order) > 1 else 0
    val_pieces = _pieces([unique[i] for i in order[:n_val]], max_nucleotides)
    train_pieces = _pieces([unique[i] for i in order[n_val:]], max_nucleotides)
    if max_sequences is not None:
        train_pieces = [train_pieces[i] for i in np.sort(rng.permutation(len(train_pieces))[:max_sequences])]
    if not train_pieces or not val_pieces:
        raise InputError(f"the corpus has only {len(unique)} distinct sequence(s)"
                         + (f" once {len(distinct) - len(unique)} excluded ones are dropped" if held_out else "")
                         + "; pretraining needs at least 2 (some are held out to measure it).",
                         remedy=("check that --exclude is not the corpus itself, or give a larger corpus."
                                 if held_out and len(unique) < 2 else "give a larger corpus."))

    def tokenise(pieces: list[str]) -> np.ndarray:
        if not pieces:
            return np.zeros((0, 2), dtype=np.uint8)
        ds = Dataset.from_sequences([str(i) for i in range(len(pieces))], pieces)
        return encode_rna(ds.tokens, ds.lengths, token_ids=TOKEN_IDS, max_nucleotides=max_nucleotides).astype(np.uint8)

    info = {"files": files, "sequences_read": n_read, "distinct": len(distinct),
            "excluded": len(distinct) - len(unique), "exclude_files": excluded_files,
            "pieces": len(train_pieces) + len(val_pieces), "used": len(train_pieces) + len(val_pieces),
            "val": len(val_pieces), "nucleotides": int(sum(map(len, train_pieces)) + sum(map(len, val_pieces)))}
    return Corpus(train=tokenise(train_pieces), val=tokenise(val_pieces), info=info)


def _pieces(seqs: list[str], size: int) -> list[str]:
    """Consecutive pieces of at most ``size`` nt (the last one ends at the last base)."""
    out = []
    for s in seqs:
        if len(s) <= size:
            out.append(s)
            continue
        starts = list(range(0, len(s) - size + 1, size))
        if starts[-1] != len(s) - size:
            starts.append(len(s) - size)
        out.extend(s[a:a + size] for a in starts)
    return out


def mask_batch(ids: torch.Tensor, *, mask_prob: float, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """BERT's masking of nucleotide positions: returns (inputs, labels), labels -100 where nothing is asked."""
    real = (ids >= TOKEN_IDS["A"]) & (ids <= TOKEN_IDS["U"])  # A, C, G, U only: never N, [CLS], [SEP], [PAD]
    pick = (torch.rand(ids.shape, generator=generator) < mask_prob) & real
    labels = torch.where(pick, ids, torch.full_like(ids, -100))
    r = torch.rand(ids.shape, generator=generator)
    inputs = ids.clone()
    inputs[pick & (r < 0.8)] = TOKEN_IDS["[MASK]"]
    swap = pick & (r >= 0.8) & (r < 0.9)
    inputs[swap] = NUCLEOTIDE_IDS[torch.randint(0, 4, ids.shape, generator=generator)][swap]
    return inputs, labels


class EpochSlices(torch.utils.data.Sampler):
    """Epoch ``e`` takes items ``e * size ... (e + 1) * size - 1`` of an endless stream of seeded permutations of
    the corpus: a pure function of (seed, epoch), so a resumed run sees exactly the batches it would have seen."""

    def __init__(self, n: int, size: int, seed: int) -> None:
        self.n, self.size, self.seed, self.epoch = n, size, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.size

    def __iter__(self):
        start = self.epoch * self.size
        out: list[int] = []
        cycle, offset = divmod(start, self.n)
        while len(out) < self.size:
            perm = np.random.default_rng([self.seed, cycle]).permutation(self.n)
            take = perm[offset:offset + self.size - len(out)]
            out.extend(int(i) for i in take)
            cycle, offset = cycle + 1, 0
        return iter(out)


class LengthBatches(torch.utils.data.Sampler):
    """Batches of an :class:`EpochSlices` epoch grouped by length: the epoch's items in pools of ``pool`` batches,
    each pool sorted by length (stable) and cut into batches, and the batches shuffled (seeded by (seed, epoch)).
    Every item of the epoch is in exactly one batch, so an epoch sees what it would see unbucketed."""

    def __init__(self, items: EpochSlices, lengths: np.ndarray, batch_size: int, pool: int = 64) -> None:
        # named ``sampler``: Lightning sets the epoch of ``dataloader.batch_sampler.sampler``, not of the batch sampler
        self.sampler, self.lengths, self.batch_size, self.pool = items, np.asarray(lengths), batch_size, pool

    def set_epoch(self, epoch: int) -> None:
        self.sampler.set_epoch(epoch)

    def __len__(self) -> int:
        return math.ceil(len(self.sampler) / self.batch_size)

    def __iter__(self):  # a generator: nothing is drawn before the first batch is asked for, and Lightning
        # sets the epoch between creating the DataLoader's iterator and asking for the first batch on a resume
        idx = np.fromiter(iter(self.sampler), dtype=np.int64, count=len(self.sampler))
        step = self.batch_size * self.pool
        batches = []
        for a in range(0, len(idx), step):
            chunk = idx[a:a + step]
            chunk = chunk[np.argsort(self.lengths[chunk], kind="stable")]
            batches.extend(chunk[b:b + self.batch_size] for b in range(0, len(chunk), self.batch_size))
        order = np.random.default_rng([self.sampler.seed, self.sampler.epoch, 1]).permutation(len(batches))
        for i in order:
            yield batches[i].tolist()


def trim_batch(rows: list[torch.Tensor], multiple: int = 8) -> torch.Tensor:
    """Stack token rows (``[CLS] nt [SEP] [PAD]...``) and drop trailing columns that are [PAD] in every row, keeping
    a width that is a multiple of ``multiple`` (fewer distinct shapes: less memory for cached kernels)."""
    x = torch.stack(rows)
    width = int((x != TOKEN_IDS["[PAD]"]).sum(1).max()) if len(x) else x.shape[1]
    return x[:, :min(x.shape[1], max(2, -(-width // multiple) * multiple))]


@dataclass
class PretrainReport:
    """What :func:`pretrain` measured: per-epoch history, final validation metrics, throughput."""

    history: list[dict[str, float]]
    val_accuracy: float
    val_perplexity: float
    seconds: float
    tokens_per_second: float
    resumed_from_epoch: int = 0
    corpus: dict[str, Any] = field(default_factory=dict)


def _fingerprint(corpus: Corpus, config: LMConfig, settings: PretrainSettings) -> str:
    h = hashlib.sha256()
    h.update(corpus.train.tobytes())
    h.update(corpus.val.tobytes())
    h.update(json.dumps([config.to_json(), asdict(settings)], sort_keys=True).encode())
    return h.hexdigest()


def _lightning_module(model: RNALM, settings: PretrainSettings, total_steps: int):
    from rnalabel.engine.checkpoints import _lightning

    pl = _lightning()

    class MLM(pl.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.model = model
            self.history: list[dict[str, float]] = []
            self._val: list[tuple[float, int, int]] = []

        def training_step(self, batch, batch_idx):
            torch.manual_seed(settings.seed * 100_003 + self.global_step)  # dropout: a function of the step
            g = torch.Generator().manual_seed(settings.seed * 1_000_003 + self.global_step)
            inputs, labels = mask_batch(batch.cpu(), mask_prob=settings.mask_prob, generator=g)  # masks on the CPU:
            logits = self.model(inputs.to(self.device))                                       # the same on any device
            labels = labels.to(self.device)
            if not (labels != -100).any():  # nothing chosen in this batch (tiny batches): no loss, no NaN
                return logits.sum() * 0.0
            loss = F.cross_entropy(logits.float().flatten(0, 1), labels.flatten(), ignore_index=-100)
            self.log("train_loss", loss, prog_bar=True, on_step=False, on_epoch=True, batch_size=len(batch))
            return loss

        def validation_step(self, batch, batch_idx):
            g = torch.Generator().manual_seed(settings.seed * 7_919 + batch_idx)  # the same masks every epoch
            inputs, labels = mask_batch(batch.cpu(), mask_prob=settings.mask_prob, generator=g)
            logits = self.model(inputs.to(self.device)).float()
            labels = labels.to(self.device)
            asked = labels != -100
            loss = F.cross_entropy(logits[asked], labels[asked], reduction="sum")
            right = (logits[asked].argmax(-1) == labels[asked]).sum()
            self._val.append((float(loss), int(right), int(asked.sum())))

        def on_validation_epoch_end(self) -> None:
            if not self._val:
                return
            loss, right, n = (sum(x[i] for x in self._val) for i in range(3))
            self._val.clear()
            self.log("val_loss", loss / max(n, 1), prog_bar=True)
            self.log("val_accuracy", right / max(n, 1), prog_bar=True)

        def configure_optimizers(self):
            decay = [p for n, p in self.model.named_parameters() if p.ndim > 1 and "LayerNorm" not in n]
            rest = [p for n, p in self.model.named_parameters() if not (p.ndim > 1 and "LayerNorm" not in n)]
            opt = torch.optim.AdamW([{"params": decay, "weight_decay": settings.weight_decay},
                                     {"params": rest, "weight_decay": 0.0}], lr=settings.lr)
            warm = max(1, int(settings.warmup * total_steps))
            sched = torch.optim.lr_scheduler.LambdaLR(
                opt, lambda s: min((s + 1) / warm, max(0.0, (total_steps - s) / max(total_steps - warm, 1))))
            return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}

    return MLM()


def pretrain(
    corpora: Sequence[str | os.PathLike],
    out: str | os.PathLike,
    *,
    config: LMConfig | None = None,
    settings: PretrainSettings | None = None,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = True,
    device: str | None = None,
    exclude: Sequence[str | os.PathLike] = (),
) -> tuple[LanguageModel, PretrainReport]:
    """Pretrain an RNA language model on ``corpora`` and write it to the LM directory ``out``.

    Parameters
    ----------
    corpora : sequence of path
        FASTA files, label tables or rnalabel Parquet datasets (their sequences are used).
    out : path
        LM directory. Its ``checkpoint/`` folder holds the resumable state while training runs.
    config : LMConfig, optional
        The model's shape. Default is :class:`LMConfig`'s defaults (0.8 M parameters).
    settings : PretrainSettings, optional
        Default is :class:`PretrainSettings`'s defaults.
    resume : bool
        Continue from ``out/checkpoint`` (refused if the corpus or settings differ). Default is False.
    overwrite : bool
        Replace an existing LM directory. Default is False.
    progress : bool
        Default is True.
    device : str, optional
        Default is None (CUDA when present, else CPU).
    exclude : sequence of path
        FASTA files, tables or datasets whose RNAs are left out of the corpus (exact sequence match), e.g. the
        test parts of a benchmark the LM's embeddings will be used on. Default is none.
    """
    from rnalabel.engine.checkpoints import _lightning

    pl = _lightning()
    t0 = time.perf_counter()
    config = config or LMConfig()
    settings = settings or PretrainSettings()
    out = Path(out)
    ck_dir = out / "checkpoint"
    last = ck_dir / "last.ckpt"
    if out.exists() and not out.is_dir():
        raise InputError("is a file; an LM directory is to be written here.", path=out)
    if resume and not last.exists():
        raise InputError("there is no checkpoint to resume from here.", path=ck_dir,
                         remedy="start without --resume (or point --out at the interrupted run).")
    if not resume and out.is_dir() and any(out.iterdir()):
        if not overwrite:
            raise InputError("already holds files (an earlier LM?); nothing was changed.", path=out,
                             remedy="give --resume to continue an interrupted run, --overwrite to replace a finished "
                                    "one, or another --out.")
        if not ((out / "card.json").exists() or ck_dir.exists()):
            raise InputError("holds files but no card.json or checkpoint/, so it was not written by rnalabel and is "
                             "not replaced.", path=out, remedy="choose another --out.")
        shutil.rmtree(out)
    corpus = read_corpus(corpora, max_nucleotides=config.max_nucleotides, val_fraction=settings.val_fraction,
                         seed=settings.seed, max_sequences=settings.max_sequences, exclude=exclude)
    fingerprint = _fingerprint(corpus, config, settings)
    if resume:
        try:
            saved = json.loads((ck_dir / "resume.json").read_text()) if (ck_dir / "resume.json").exists() else {}
        except (json.JSONDecodeError, UnicodeDecodeError):
            saved = {}
        if saved.get("fingerprint") != fingerprint:
            raise InputError("the checkpoint was made with another corpus, model shape or settings.", path=ck_dir,
                             remedy="resume with the same corpora and options, or start a new --out.")
    ck_dir.mkdir(parents=True, exist_ok=True)
    write_text_atomic(ck_dir / "resume.json", json.dumps({"fingerprint": fingerprint, "config": config.to_json(),
                                                          "settings": asdict(settings)}, indent=1) + "\n")
    steps = settings.steps_per_epoch or math.ceil(len(corpus.train) / settings.batch_size)
    total = steps * settings.epochs
    pl.seed_everything(settings.seed, verbose=False)
    model = RNALM(config)
    lit = _lightning_module(model, settings, total)
    train_t = torch.from_numpy(corpus.train.astype(np.int64))
    val_t = torch.from_numpy(corpus.val.astype(np.int64))
    sampler = EpochSlices(len(train_t), steps * settings.batch_size, settings.seed)
    if settings.bucket_batches:
        lengths = (train_t != TOKEN_IDS["[PAD]"]).sum(1).numpy()
        train_dl = torch.utils.data.DataLoader(train_t, batch_sampler=LengthBatches(sampler, lengths, settings.batch_size),
                                               collate_fn=trim_batch)
        val_t = val_t[np.argsort((val_t != TOKEN_IDS["[PAD]"]).sum(1).numpy(), kind="stable")]  # order: no effect on
        val_dl = torch.utils.data.DataLoader(val_t, batch_size=max(settings.batch_size, 256),  # the sums, less padding
                                             collate_fn=trim_batch)
    else:
        train_dl = torch.utils.data.DataLoader(train_t, batch_size=settings.batch_size, sampler=sampler)
        val_dl = torch.utils.data.DataLoader(val_t, batch_size=max(settings.batch_size, 256))
    history: list[dict[str, float]] = []

    class Checkpoint(pl.Callback):
        """After every epoch (and its validation): the history row, and the whole state (history included)
        written atomically."""

        def state_dict(self) -> dict[str, Any]:
            return {"history": json.dumps(history_before + history)}

        def load_state_dict(self, state: dict[str, Any]) -> None:
            history_before[:] = json.loads(state.get("history", "[]"))

        def on_train_epoch_end(self, trainer, pl_module) -> None:
            m = trainer.callback_metrics
            row = {"epoch": trainer.current_epoch + 1, "step": trainer.global_step,
                   "train_loss": float(m.get("train_loss", float("nan"))),
                   "val_loss": float(m.get("val_loss", float("nan"))),
                   "val_accuracy": float(m.get("val_accuracy", float("nan"))),
                   "seconds": round(time.perf_counter() - t0, 2)}
            row["val_perplexity"] = math.exp(min(row["val_loss"], 50.0))
            history.append(row)
            tmp = ck_dir / ".last.ckpt.tmp"
            trainer.save_checkpoint(tmp)
            os.replace(tmp, last)

    history_before: list[dict[str, float]] = []
    dev = resolve_device(device)
    callbacks = [Checkpoint()]
    if progress:
        callbacks.append(pl.callbacks.RichProgressBar(leave=False))
    trainer = pl.Trainer(
        max_epochs=settings.epochs, accelerator="gpu" if dev.type == "cuda" else "cpu", devices=1,
        precision=training_precision(settings.precision, dev), callbacks=callbacks, logger=False,
        enable_checkpointing=False, enable_model_summary=False, enable_progress_bar=progress,
        num_sanity_val_steps=0, deterministic=False,
    )
    try:
        trainer.fit(lit, train_dataloaders=train_dl, val_dataloaders=val_dl,
                    ckpt_path=str(last) if resume else None, weights_only=True)
    except (RuntimeError, KeyError, EOFError, pickle.UnpicklingError) as exc:
        if resume and not history:  # the checkpoint itself did not load
            raise InputError(f"the checkpoint cannot be read ({type(exc).__name__}); it is damaged or not ours.",
                             path=last, remedy="start again without --resume (with --overwrite).") from None
        raise
    except SystemExit:  # Lightning's answer to Ctrl-C; the checkpoint of the last finished epoch stays
        import signal

        signal.signal(signal.SIGINT, signal.default_int_handler)
        if trainer.interrupted:
            raise KeyboardInterrupt from None
        raise
    history = history_before + history
    final = history[-1] if history else {}
    seconds = time.perf_counter() - t0
    n_tokens = int((corpus.train >= TOKEN_IDS["A"]).sum())
    seen = len(history) - len(history_before)
    report = PretrainReport(
        history=history, val_accuracy=final.get("val_accuracy", float("nan")),
        val_perplexity=final.get("val_perplexity", float("nan")), seconds=seconds,
        tokens_per_second=seen * steps * settings.batch_size * n_tokens / max(len(corpus.train), 1) / max(seconds, 1e-9),
        resumed_from_epoch=len(history_before), corpus=corpus.info,
    )
    module = model.float().cpu().eval()
    info = {"pretraining": {"corpus": corpus.info, "settings": asdict(settings), "history": history,
                            "val_accuracy": report.val_accuracy, "val_perplexity": report.val_perplexity,
                            "seconds_last_run": round(seconds, 1),
                            "tokens_per_second_last_run": round(report.tokens_per_second, 1),
                            "parameters": sum(p.numel() for p in module.weights().values()),
                            "precision": resolve_precision(settings.precision, dev), "torch": torch.__version__}}
    save_lm(out, module, info=info)
    shutil.rmtree(ck_dir, ignore_errors=True)  # finished: nothing left to resume
    return LanguageModel(module, list(VOCAB), json.loads((out / "card.json").read_text())), report

