"""Layers and helpers shared by the architectures: initialisation, input plumbing, output lengths, a dilated
residual block, gradient reversal, an orthogonality penalty and attention within one sequence."""

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
                nn.Dropout(dropout),
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
