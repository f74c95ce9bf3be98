"""DeepBind (Alipanahi et al., Nat Biotechnol 2015), RNA setting: one conv layer of motif detectors with ReLU,
global max and average pooling, one hidden dense layer with dropout, K logits.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from rnalabel.models.layers import Dropout, concat_positions, glorot_init, position_inputs
from rnalabel.models.registry import InputSpec, register_model


@register_model("deepbind")
class DeepBind(nn.Module):
    """DeepBind-style CNN: conv motif detectors, global max + average pooling, one hidden layer.

    Parameters
    ----------
    inputs : tuple of InputSpec
        Per-position views, concatenated along channels.
    n_labels : int
    filters : int
        Motif detectors. Default is 16.
    kernel : int
        Motif width. Default is 24 (DeepBind's RNA setting).
    hidden : int
        Default is 32.
    dropout : float
        Default is 0.5.
    """


    def __init__(
        self,
        *,
        inputs: tuple[InputSpec, ...],
        n_labels: int,
        filters: int = 16,
        kernel: int = 24,
        hidden: int = 32,
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        self.specs = position_inputs(inputs, "deepbind")
        in_ch = sum(s.channels for s in self.specs)
        # DeepBind pads kernel-1 columns on each side so motifs at the edges are seen whole
        self.conv = nn.Conv1d(in_ch, filters, kernel, padding=kernel - 1)
        self.head = nn.Sequential(
            nn.Linear(2 * filters, hidden), nn.ReLU(), Dropout(dropout), nn.Linear(hidden, n_labels)
        )
        glorot_init(self)

    def forward(self, x: Mapping[str, torch.Tensor]) -> torch.Tensor:
        h = torch.relu(self.conv(concat_positions(x, self.specs)))
        return self.head(torch.cat([h.amax(dim=2), h.mean(dim=2)], dim=1))
