"""The Lightning side of :func:`rnalabel.engine.training.fit`: in-memory batches, the LightningModule computing the
recipe's masked loss (and validation AUROC per epoch), and the callbacks keeping the best weights and the history
(early stopping on validation loss)."""

from __future__ import annotations

import copy
import json
import math
import os
import time

import numpy as np
import torch
from torch import nn

from rnalabel.engine.checkpoints import EpochShuffle, _lightning, _ResumableLoader
from rnalabel.engine.losses import masked_bce, masked_focal
from rnalabel.engine.metrics import per_label_auc
from rnalabel.engine.recipe import TrainConfig
from rnalabel.errors import ConfigError


# data -------------------------------------------------------------------------------------------------------
class ViewTensors(torch.utils.data.Dataset):
    """In-memory view tensors and labels, fetched a whole batch at a time (``__getitems__``)."""

    def __init__(self, arrays: dict[str, np.ndarray], labels: np.ndarray) -> None:
        self.x = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in arrays.items()}
        self.y = torch.from_numpy(np.ascontiguousarray(labels, dtype=np.float32))

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i: int):
        return self.__getitems__([i])

    def __getitems__(self, idx: list[int]) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        ix = torch.as_tensor(idx)
        return {k: v[ix] for k, v in self.x.items()}, self.y[ix]


def _identity(batch):
    return batch


def _loader(ds: ViewTensors, batch_size: int, shuffle: bool, num_workers: int, seed: int):
    # its own generator: each new iterator draws a seed from it, not from torch's global random state (which
    # dropout uses), so a run resumed in the middle of an epoch draws the same dropout masks
    return _ResumableLoader(
        ds, batch_size=batch_size, sampler=EpochShuffle(len(ds), seed) if shuffle else None, collate_fn=_identity,
        num_workers=num_workers, persistent_workers=num_workers > 0, generator=torch.Generator().manual_seed(seed),
    )


def _rss_mb() -> float:
    """Resident memory of this process in MiB (Linux /proc; 0 elsewhere)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return 0.0


# Lightning --------------------------------------------------------------------------------------------------
def make_lightning_module(module: nn.Module, cfg: TrainConfig, pos_weight: np.ndarray | None):
    """Wrap a model in a LightningModule computing the recipe's masked loss."""
    pl = _lightning()

    class MultiLabelModule(pl.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.model = module
            self.cfg = cfg
            pw = None if pos_weight is None else torch.as_tensor(pos_weight)
            self.register_buffer("pos_weight", pw, persistent=False)

        def forward(self, x):
            return self.model(x)

        def _loss(self, logits, y):
            if self.cfg.loss == "focal":
                return masked_focal(logits, y, self.cfg.focal_gamma, self.pos_weight)
            return masked_bce(logits, y, self.pos_weight)

        def _losses(self, x, y) -> dict[str, torch.Tensor]:
            # generic hook: a model with several loss terms defines training_losses(x, y, base_loss)
            hook = getattr(self.model, "training_losses", None)
            return {"total": self._loss(self.model(x), y)} if hook is None else hook(x, y, self._loss)

        def training_step(self, batch, batch_idx):
            x, y = batch
            losses = self._losses(x, y)
            self.log("train_loss", losses["total"], on_step=False, on_epoch=True, prog_bar=True, batch_size=len(y))
            for name, value in losses.items():
                if name not in ("total", "monitor"):
                    self.log(f"train_{name}", value, on_step=False, on_epoch=True, batch_size=len(y))
            return losses["total"]

        def on_validation_epoch_start(self) -> None:
            self._val_scores: list[tuple[torch.Tensor, torch.Tensor]] = []

        def validation_step(self, batch, batch_idx):
            x, y = batch
            if getattr(self.model, "training_losses", None) is None:
                out = self.model(x)
                losses = {"total": self._loss(out, y)}
            else:  # several loss terms: the scores come from a plain forward pass
                losses, out = self._losses(x, y), self.model(x)
            loss = losses.get("monitor", losses["total"])
            self.log("val_loss", loss, on_step=False, on_epoch=True, prog_bar=True, batch_size=len(y),
                     sync_dist=True)
            if out.shape == y.shape:  # one score per label: kept for the epoch's validation AUROC
                self._val_scores.append((out.detach().float().cpu(), y.detach().cpu()))

        def on_validation_epoch_end(self) -> None:
            # macro AUROC over the labels with both classes in this process's validation rows (the learning curve,
            # and what early stopping watches with monitor val_auroc). Under DDP each rank scores its own shard and
            # the mean is logged.
            scores, self._val_scores = getattr(self, "_val_scores", []), []
            if self.trainer.sanity_checking:
                return
            auroc = per_label_auc(torch.cat([t for _, t in scores]).numpy(),
                                  torch.cat([s for s, _ in scores]).numpy())[0] if scores else np.array([np.nan])
            if np.isfinite(auroc).any():
                self.log("val_auroc", float(np.nanmean(auroc)), prog_bar=True, sync_dist=True)
            elif self.cfg.monitor == "val_auroc":
                raise ConfigError(
                    "training setting monitor is val_auroc, but there is no validation AUROC: "
                    + ("no label has both classes among the validation rows." if scores else
                       "the model does not give one score per label."),
                    remedy="use monitor: val_loss, or give the validation rows both classes of some label.")

        def configure_optimizers(self):
            params = [p for p in self.model.parameters() if p.requires_grad]  # frozen parts stay as they are
            opt = torch.optim.Adam(params, lr=self.cfg.lr, weight_decay=self.cfg.weight_decay)
            if self.cfg.lr_factor >= 1:
                return opt
            plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(
                opt, mode=_mode(self.cfg.monitor), factor=self.cfg.lr_factor, patience=self.cfg.lr_patience)
            return {"optimizer": opt,
                    "lr_scheduler": {"scheduler": plateau, "monitor": self.cfg.monitor, "interval": "epoch"}}

    return MultiLabelModule()


def _mode(monitor: str) -> str:
    """"min" for a validation loss, "max" for a validation AUROC."""
    return "max" if monitor == "val_auroc" else "min"


def _callbacks(patience: int, history: list[dict[str, float]], stage: str | None = None, monitor: str = "val_loss"):
    pl = _lightning()
    sign = -1.0 if _mode(monitor) == "max" else 1.0  # best is kept as a lower-is-better number

    class BestWeights(pl.Callback):
        """Keep the weights of the epoch with the best ``monitor`` (lowest validation loss, or highest validation
        AUROC) in memory; restore them at the end."""

        def __init__(self) -> None:
            self.best = math.inf
            self.state: dict[str, torch.Tensor] | None = None
            self.best_epoch = -1
            self.t0 = time.perf_counter()

        def on_train_epoch_end(self, trainer, pl_module) -> None:
            # runs after the epoch's validation, so both losses are in callback_metrics
            v = trainer.callback_metrics.get("val_loss")
            if v is None:
                return
            v = float(v)
            t = trainer.callback_metrics.get("train_loss")
            history.append({
                "epoch": int(trainer.current_epoch) + 1,
                "train_loss": float(t) if t is not None else float("nan"),
                "val_loss": v,
                "lr": float(trainer.optimizers[0].param_groups[0]["lr"]) if trainer.optimizers else float("nan"),
                **({"val_auroc": float(a)} if (a := trainer.callback_metrics.get("val_auroc")) is not None else {}),
                "seconds": round(time.perf_counter() - self.t0, 3),
                "rss_mb": round(_rss_mb(), 1),
                **({"stage": stage} if stage is not None else {}),
            })
            m = trainer.callback_metrics.get(monitor)
            m = v if monitor == "val_loss" else (float(m) if m is not None else math.nan)
            if sign * m < self.best:
                self.best, self.best_epoch = sign * m, int(trainer.current_epoch) + 1
                self.state = copy.deepcopy({k: t.detach().cpu() for k, t in pl_module.model.state_dict().items()})

        def on_fit_end(self, trainer, pl_module) -> None:
            if self.state is not None:
                pl_module.model.load_state_dict(self.state)

        # saved in (and restored from) resumable checkpoints, with the random state for dropout
        def state_dict(self) -> dict:
            return {"best": self.best, "best_epoch": self.best_epoch, "history": json.dumps(history),
                    "weights": self.state or {}, "torch_rng": torch.get_rng_state()}

        def load_state_dict(self, state: dict) -> None:
            self.best, self.best_epoch = float(state["best"]), int(state["best_epoch"])
            self.state = dict(state["weights"]) or None
            history[:] = json.loads(state["history"])
            torch.set_rng_state(state["torch_rng"])

    es = pl.callbacks.EarlyStopping(monitor=monitor, patience=patience, mode=_mode(monitor), check_finite=True)
    return BestWeights(), es


__all__ = ["ViewTensors", "make_lightning_module"]
