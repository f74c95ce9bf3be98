"""Masked multi-label losses (unknown labels skipped) and per-label positive-class weights."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def masked_bce(logits: torch.Tensor, target: torch.Tensor, pos_weight: torch.Tensor | None = None) -> torch.Tensor:
    """Mean binary cross-entropy over the known (non-NaN) entries of ``target``.

    Parameters
    ----------
    logits, target : torch.Tensor, shape=(N, K)
        ``target`` holds 1 / 0 / NaN (unknown, skipped).
    pos_weight : torch.Tensor, shape=(K,), optional
        Weight of the positive term per label. Default is None.
    """
    mask = ~torch.isnan(target)
    t = torch.where(mask, target, torch.zeros_like(target))
    loss = F.binary_cross_entropy_with_logits(logits.float(), t, pos_weight=pos_weight, reduction="none")
    m = mask.float()
    return (loss * m).sum() / m.sum().clamp_min(1.0)


def masked_focal(
    logits: torch.Tensor, target: torch.Tensor, gamma: float = 2.0, pos_weight: torch.Tensor | None = None
) -> torch.Tensor:
    """Focal loss (Lin et al. 2017), mean over the known entries: BCE scaled by ``(1 - p_t) ** gamma``."""
    mask = ~torch.isnan(target)
    t = torch.where(mask, target, torch.zeros_like(target))
    logits = logits.float()
    bce = F.binary_cross_entropy_with_logits(logits, t, pos_weight=pos_weight, reduction="none")
    p = torch.sigmoid(logits)
    p_t = p * t + (1 - p) * (1 - t)
    m = mask.float()
    return ((1 - p_t).pow(gamma) * bce * m).sum() / m.sum().clamp_min(1.0)


def positive_weights(labels: np.ndarray, mode: str, mu: float = 0.5) -> np.ndarray | None:
    """Per-label positive-class weights from training labels.

    ``"balanced"``: n_neg / n_pos. ``"log"``: max(1, log(mu * n_known / n_pos)), DeepRiPe's
    ``create_class_weight`` with mu = 0.5. ``"none"``: None.
    """
    if mode == "none":
        return None
    known = ~np.isnan(labels)
    pos = np.sum(labels == 1, axis=0).astype(np.float64)
    n = known.sum(axis=0).astype(np.float64)
    pos_c = np.maximum(pos, 1.0)
    if mode == "balanced":
        w = (n - pos) / pos_c
    else:
        w = np.maximum(1.0, np.log(np.maximum(mu * n / pos_c, 1e-12)))
    return np.maximum(w, 1e-3).astype(np.float32)
