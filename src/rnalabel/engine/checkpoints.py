"""What makes a training survive a kill and run on several processes: batches that are a pure function of (seed,
epoch) and can skip what an interrupted epoch already did (:class:`EpochShuffle`, a resumable DataLoader), the
resumable state of a training in a folder (Lightning checkpoints, finished stages, a fingerprint of recipe and
data), and the rank of a process in DDP. Used by :func:`rnalabel.engine.training.fit`."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from rnalabel.data import Dataset
from rnalabel.engine.recipe import Recipe
from rnalabel.errors import InputError


def _lightning():
    import lightning.pytorch as pl

    for name in ("lightning.pytorch", "lightning.fabric", "lightning", "pytorch_lightning"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message=".*does not have many workers.*")
    warnings.filterwarnings("ignore", message=".*LeafSpec.*")
    warnings.filterwarnings("ignore", message=".*IterableDataset.*has `__len__` defined.*")  # ours: per worker
    warnings.filterwarnings("ignore", message=".*GPU available but not used.*")
    warnings.filterwarnings("ignore", message=".*module\\(s\\) in eval mode.*")  # frozen parts of a stage
    return pl


class EpochShuffle(torch.utils.data.Sampler):
    """A permutation of the rows that is a pure function of (seed, epoch): a run resumed at epoch e sees exactly
    the batches an uninterrupted run saw (Lightning calls ``set_epoch`` before each epoch). After a resume in the
    middle of an epoch, the rows already trained on in that epoch are skipped once (:meth:`skip`)."""

    def __init__(self, n: int, seed: int) -> None:
        self.n, self.seed, self.epoch = n, seed, 0
        self._skip: tuple[int, int] | None = None

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def skip(self, epoch: int, rows: int) -> None:
        """Leave out the first ``rows`` of epoch ``epoch``'s permutation the next time that epoch is iterated."""
        self._skip = (int(epoch), int(rows))

    def __len__(self) -> int:
        return self.n

    def __iter__(self):
        order = np.random.default_rng([self.seed, self.epoch]).permutation(self.n)
        if self._skip is not None and self._skip[0] == self.epoch:
            order = order[self._skip[1]:]
        self._skip = None
        return iter(order.tolist())


class _ResumableLoader(torch.utils.data.DataLoader):
    """A DataLoader Lightning can resume in the middle of an epoch (it has ``state_dict``/``load_state_dict``): the
    state is the epoch and the batches trained in it (set by the checkpoint callback, which knows them; the loader
    itself has fetched ahead), and loading it makes :class:`EpochShuffle` skip those batches' rows."""

    batches_done = 0

    def state_dict(self) -> dict:
        return {"epoch": int(self.sampler.epoch), "batches": int(self.batches_done)}

    def load_state_dict(self, state: dict) -> None:
        if isinstance(self.sampler, EpochShuffle) and state.get("batches"):
            self.sampler.skip(int(state["epoch"]), int(state["batches"]) * int(self.batch_size))


def _view_files(recipe: Recipe) -> list[Path]:
    """The files named by the recipe's views (``precursors``, ``path``; a folder: the files in it), sorted."""
    out: list[Path] = []
    for spec in recipe.views.values():
        for key in ("precursors", "path"):
            value = spec.get(key)
            if isinstance(value, str) and value:
                p = Path(value)
                out += [p] if p.is_file() else sorted(f for f in p.iterdir() if f.is_file()) if p.is_dir() else []
    return out


def _fingerprint(recipe: Recipe, ds: Dataset, devices: Any, init_state: Mapping[str, torch.Tensor] | None,
                 extra: str | None = None) -> str:
    """What a resumed training must share with the interrupted one: the recipe, the data (rows, labels, split; a
    streamed file's digest as ``extra``) and the device count."""
    h = hashlib.sha256()
    if extra is not None:
        h.update(extra.encode())
    h.update(json.dumps([recipe.to_dict(), str(devices)], sort_keys=True, default=str).encode())
    for f in _view_files(recipe):  # files a view reads in fit (precursors, a language model): their contents
        h.update(f.name.encode())
        h.update(hashlib.sha256(f.read_bytes()).digest())
    for a in (ds.tokens, ds.lengths, np.nan_to_num(ds.labels, nan=-1.0)):
        h.update(np.ascontiguousarray(a).tobytes())
    h.update("\n".join(map(str, ds.split)).encode())
    if init_state is not None:
        for k in sorted(init_state):
            h.update(k.encode())
            h.update(init_state[k].detach().cpu().numpy().tobytes())
    return h.hexdigest()


def global_rank(devices: int | str = 1) -> int:
    """This process's rank in a distributed (DDP) training, from the variables Lightning's launcher, torchrun or
    SLURM set (0 in the process that started the training, and when not distributed)."""
    if os.environ.get("RANK"):
        return int(os.environ["RANK"])
    # srun's tasks (not an interactive allocation, which Lightning ignores too, and not the processes Lightning's
    # own launcher starts inside a SLURM job: those carry LOCAL_RANK)
    if (os.environ.get("SLURM_PROCID") and not os.environ.get("LOCAL_RANK")
            and int(os.environ.get("SLURM_NTASKS", "1") or 1) > 1
            and os.environ.get("SLURM_JOB_NAME") not in ("bash", "interactive")):
        return int(os.environ["SLURM_PROCID"])
    local = int(os.environ.get("LOCAL_RANK", "0") or 0)
    node = int(os.environ.get("NODE_RANK", os.environ.get("GROUP_RANK", "0")) or 0)
    per_node = devices if isinstance(devices, int) else 1
    return node * per_node + local


class _StreamEpoch:
    """Tells a :class:`~rnalabel.engine.streaming.StreamUnits` which process reads it (DDP rank and world size)
    and which epoch starts (its row-group order and shuffles are drawn from (seed, epoch), so a resumed run reads
    what an uninterrupted one read)."""

    def __new__(cls, units):
        pl = _lightning()

        class SetEpoch(pl.Callback):
            def setup(self, trainer, pl_module, stage) -> None:  # DDP is set up: each process reads its own rows
                units.set_rank(trainer.global_rank, trainer.world_size)

            def on_train_epoch_start(self, trainer, pl_module) -> None:
                units.set_epoch(trainer.current_epoch)

        return SetEpoch()


class _Checkpoints:
    """The resumable state of a training in a folder: ``last.ckpt`` (Lightning's, written atomically after every
    epoch, read back with ``weights_only=True``: tensors and plain values, never arbitrary objects) and
    ``resume.json`` (fingerprint, stage, epochs done). In a distributed training only rank 0 writes; every rank
    takes part in Lightning's save (it synchronises them)."""

    def __init__(self, folder: str | os.PathLike, fingerprint: str, resume: bool, *, writer: bool = True) -> None:
        self.dir = Path(folder)
        self.writer = writer
        self.last = self.dir / "last.ckpt"
        self.meta = self.dir / "resume.json"
        self.fingerprint = fingerprint
        self.stage, self.resumed_from, self.resumed_batches, self.stage_done = 0, 0, 0, False
        if resume:
            try:
                saved = json.loads(self.meta.read_text())
            except (OSError, json.JSONDecodeError, UnicodeDecodeError):
                raise InputError("there is no readable checkpoint to resume from.", path=self.dir,
                                 remedy="train without --resume (the interrupted run left nothing usable).") from None
            if saved.get("fingerprint") != fingerprint:
                raise InputError("the checkpoint was made with another recipe, other data or other devices.",
                                 path=self.dir, remedy="resume with the same data and options, or train without "
                                                       "--resume.")
            self.stage, self.resumed_from = int(saved.get("stage", 0)), int(saved.get("epochs_done", 0))
            self.resumed_batches = int(saved.get("batches_done", 0))
            self.stage_done = bool(saved.get("stage_done", False))
        elif writer:
            shutil.rmtree(self.dir, ignore_errors=True)
        if not writer:
            return
        # checked now (an unwritable place fails before any work), but made only when there is something to keep
        # in it, so a run killed before its first checkpoint leaves no empty folder behind
        existed = self.dir.is_dir()
        self._made()
        if not existed:
            try:
                self.dir.rmdir()
            except OSError:
                pass

    def _made(self) -> None:
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"cannot write checkpoints here ({exc.strerror or exc}).", path=self.dir,
                             remedy="choose a writable place.") from None

    def _write_meta(self, meta: dict) -> None:
        self._made()
        tmp = self.dir / ".resume.json.tmp"
        tmp.write_text(json.dumps({"fingerprint": self.fingerprint, **meta}) + "\n")
        os.replace(tmp, self.meta)

    def finish_stage(self, next_stage: int, module: nn.Module, history: list[dict], best_epoch: int) -> None:
        """Record that the stages before ``next_stage`` are complete: the model's weights (best epoch restored),
        the random state and the history, so a resume starts ``next_stage`` afresh (a Lightning checkpoint of a
        finished stage would train it further: Lightning does not save that early stopping ended it)."""
        if not self.writer:
            return
        from safetensors.torch import save_file

        tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in module.state_dict().items()}
        tensors["torch_rng"] = torch.get_rng_state()
        self._made()
        tmp = self.dir / ".stage.safetensors.tmp"
        save_file(tensors, str(tmp), metadata={"history": json.dumps(history), "best_epoch": str(best_epoch)})
        os.replace(tmp, self.dir / "stage.safetensors")
        self._write_meta({"stage": next_stage, "epochs_done": 0, "batches_done": 0, "stage_done": True})
        self.last.unlink(missing_ok=True)

    def restore_stage(self, module: nn.Module, history: list[dict]) -> int:
        """Load what :meth:`finish_stage` wrote into ``module`` and ``history``; returns the best epoch of the
        last finished stage."""
        from safetensors import safe_open

        path = self.dir / "stage.safetensors"
        try:
            with safe_open(str(path), framework="pt") as f:
                state = {k[len("model."):]: f.get_tensor(k) for k in f.keys() if k.startswith("model.")}
                rng = f.get_tensor("torch_rng")
                saved_history = json.loads(f.metadata()["history"])
                best_epoch = int(f.metadata()["best_epoch"])
            module.load_state_dict(state)
        except (OSError, KeyError, ValueError, RuntimeError, TypeError) as exc:
            raise InputError(f"the checkpoint of a finished stage cannot be read ({type(exc).__name__}).", path=path,
                             remedy="train again without --resume.") from None
        torch.set_rng_state(rng)
        history[:] = saved_history
        return best_epoch

    def callback(self, stage_index: int, every_steps: int = 0):
        """Lightning callback writing the checkpoint after every epoch and, when ``every_steps`` > 0, after every
        ``every_steps`` training batches within an epoch."""
        pl = _lightning()
        ck = self

        class Save(pl.Callback):
            def _save(self, trainer, epochs_done: int, batches_done: int) -> None:
                loader = trainer.train_dataloader
                if isinstance(loader, _ResumableLoader):
                    loader.batches_done = batches_done
                tmp = ck.dir / ".last.ckpt.tmp"
                if ck.writer and trainer.is_global_zero:
                    ck._made()
                trainer.save_checkpoint(tmp)  # every rank: Lightning writes on rank 0 and synchronises
                if not (ck.writer and trainer.is_global_zero):
                    return
                os.replace(tmp, ck.last)
                ck._write_meta({"stage": stage_index, "epochs_done": epochs_done, "batches_done": batches_done,
                                "global_step": int(trainer.global_step)})

            def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
                done = batch_idx + 1
                if every_steps and done % every_steps == 0 and done < trainer.num_training_batches:
                    self._save(trainer, int(trainer.current_epoch), done)

            def on_train_epoch_end(self, trainer, pl_module) -> None:
                self._save(trainer, int(trainer.current_epoch) + 1, 0)

        return Save()
