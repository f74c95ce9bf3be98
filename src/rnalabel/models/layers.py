"""Layers and helpers shared by the architectures: initialisation, input plumbing, output lengths, dropout with
cheap masks on CPU, a dilated residual block, gradient reversal, an orthogonality penalty and attention within one
sequence."""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
from torch import nn

from rnalabel.errors import ConfigError
from rnalabel.models.registry import InputSpec


def glorot_init(module: nn.Module) -> None:
    """Glorot (Xavier) uniform weights and zero biases for every conv and linear layer, as Keras does."""
    for m in module.modules():
        if isinstance(m, nn.Conv1d | nn.Linear):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


def position_inputs(inputs: tuple[InputSpec, ...], model: str) -> list[InputSpec]:
    """The inputs of a model that takes per-position views only; any other input (or none) raises ConfigError,
    rather than being left out silently."""
    bad = [f"{s.name} ({s.kind})" for s in inputs if s.kind != "position"]
    if bad or not inputs:
        raise ConfigError(
            f"model {model!r} takes per-position views only; got {', '.join(bad) or 'none'}.",
            remedy="use per-position views (onehot, structure, region, aminoacid, dipeptide) with this model.",
        )
    return list(inputs)


def concat_positions(x: Mapping[str, torch.Tensor], specs: list[InputSpec]) -> torch.Tensor:
    """Concatenate per-position views along channels, in ``specs`` order: (N, sum C, L)."""
    if len(specs) == 1:
        return x[specs[0].name]
    return torch.cat([x[s.name] for s in specs], dim=1)


def common_length(specs: list[InputSpec], model: str) -> int:
    lengths = {s.length for s in specs}
    if len(lengths) != 1:
        raise ConfigError(f"model {model!r} needs per-position views of one length; got {sorted(lengths)}.")
    return lengths.pop()


def pooled_length(length: int, kernel: int, stride: int, padding: int = 0, dilation: int = 1) -> int:
    """Output length of a conv/pool layer (PyTorch's formula, floor mode)."""
    return math.floor((length + 2 * padding - dilation * (kernel - 1) - 1) / stride + 1)


_MASK_LEVELS = 1 << 16  # masks are drawn as 16-bit integers: p is honoured to within 1/65,536


class _CheapMaskDropout(torch.autograd.Function):
    """Element-wise dropout whose mask comes from 64-bit random integers read as four 16-bit draws each.

    PyTorch's CPU dropout draws one Bernoulli variate per element (``aten::bernoulli_``), which took 23 % of a
    Multi-resBind training step in fp32 and 45 % in bf16 (benchmarks/results/profile_train.md). Filling int64
    words with ``random_`` and comparing their 16-bit parts with a threshold gives the same distribution (each
    element dropped independently with probability ``round(p * 65536) / 65536``) for a quarter of the generator
    calls. The mask holds 0 or the inverted-dropout scale in the input's dtype, so forward and backward are one
    multiplication each (the same memory as ``nn.Dropout``'s mask).
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, p: float) -> torch.Tensor:
        threshold = round(p * _MASK_LEVELS)
        n = x.numel()
        words = torch.empty((n + 3) // 4, dtype=torch.int64, device=x.device).random_(-(1 << 63), None)
        draws = words.view(torch.int16)[:n].view(x.shape)  # uniform on [-32768, 32767]
        scale = _MASK_LEVELS / (_MASK_LEVELS - threshold)
        zero, kept = (torch.tensor(v, dtype=x.dtype, device=x.device) for v in (0.0, scale))
        mask = torch.where(draws < threshold - _MASK_LEVELS // 2, zero, kept)
        ctx.save_for_backward(mask)
        return x * mask

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (mask,) = ctx.saved_tensors
        return grad * mask, None


class Dropout(nn.Dropout):
    """``nn.Dropout`` (element-wise, inverted scaling, identity in eval mode) with masks 2-5x cheaper on CPU.

    On CPU in training mode the mask comes from :class:`_CheapMaskDropout`; elsewhere (GPU, where PyTorch's fused
    kernel is already cheap; eval mode; p = 0 or 1; ``inplace``) it is ``nn.Dropout`` itself. A drop-in
    replacement: no parameters, same state dict, same ``p``. Seeded through torch's global generator, like
    ``nn.Dropout``.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and 0 < self.p < 1 and not self.inplace and x.device.type == "cpu" and x.numel():
            return _CheapMaskDropout.apply(x, self.p)
        return super().forward(x)


class DilatedResidualBlock(nn.Module):
    """conv(k) + BN, then for each dilation d: ReLU, dropout, conv(k, dilation=d) + BN; add the input; ReLU.

    Parameters
    ----------
    channels : int
    kernel_size : int
        Default is 3.
    dilations : tuple of int
        Default is (2, 4, 8).
    dropout : float
        Default is 0.1.
    """

    def __init__(
        self, channels: int, *, kernel_size: int = 3, dilations: tuple[int, ...] = (2, 4, 8), dropout: float = 0.1
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = [
            nn.Conv1d(channels, channels, kernel_size, padding="same", bias=False),
            nn.BatchNorm1d(channels),
        ]
        for d in dilations:
            layers += [
                nn.ReLU(),
                Dropout(dropout),
                nn.Conv1d(channels, channels, kernel_size, padding="same", dilation=d, bias=False),
                nn.BatchNorm1d(channels),
            ]
        self.body = nn.Sequential(*layers)
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(x + self.body(x))


class _GradientReversal(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, scale: float) -> torch.Tensor:
        ctx.scale = scale
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        return -ctx.scale * grad, None


def gradient_reversal(x: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
    """Identity in the forward pass; multiplies the gradient by ``-scale`` in the backward pass (Ganin 2015)."""
    return _GradientReversal.apply(x, scale)


def orthogonality_loss(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``||a^T b / n||_F^2``: zero when every column of ``a`` is orthogonal to every column of ``b``.

    Parameters
    ----------
    a, b : torch.Tensor, shape=(n, k_a) and (n, k_b)

    Returns
    -------
    torch.Tensor, scalar
    """
    return ((a.transpose(0, 1) @ b) / max(a.shape[0], 1)).pow(2).sum()


def view_attention(
    queries: torch.Tensor, keys: torch.Tensor, values: torch.Tensor, scale: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Scaled dot-product attention within each sequence.

    Parameters
    ----------
    queries : torch.Tensor, shape=(N, H, k)
        One query per head (view).
    keys, values : torch.Tensor, shape=(N, B, k)
        One key and one value per feature block.
    scale : float
        Scores are divided by it.

    Returns
    -------
    (heads, weights) : torch.Tensor, shapes (N, H, k) and (N, H, B)
    """
    weights = torch.softmax(torch.einsum("nhk,nbk->nhb", queries, keys) / scale, dim=-1)
    return torch.einsum("nhb,nbk->nhk", weights, values), weights
