"""DeepRiPe (Ghanbari & Ohler, Genome Res 2020), as re-implemented in the Multi-resBind authors' comparison code
(``Scripts/models_seq_region.py``): one branch per per-position view, each conv 90 x 7 ("valid", ReLU) then
max-pool (4/2 for the first view, the sequence; 10/5 for the others) and dropout 0.25; the branches are
concatenated *along the length axis*, then conv 100 x 5 (ReLU), max-pool 10/5, dropout 0.25, dense 250 (ReLU)
and K logits.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from rnalabel.models.layers import Dropout, glorot_init, pooled_length, position_inputs
from rnalabel.models.registry import InputSpec, register_model


@register_model("deepripe")
class DeepRiPe(nn.Module):
    """DeepRiPe-style multi-branch CNN.

    Parameters
    ----------
    inputs : tuple of InputSpec
        One branch per per-position view; the first is treated as the sequence branch.
    n_labels : int
    filters : int
        Filters of each branch conv. Default is 90.
    kernel : int
        Width of each branch conv. Default is 7.
    seq_pool : (int, int)
        Max-pool size and stride of the first (sequence) branch. Default is (4, 2).
    other_pool : (int, int)
        Max-pool size and stride of the other branches. Default is (10, 5).
    merged_filters : int
        Default is 100.
    merged_kernel : int
        Default is 5.
    merged_pool : (int, int)
        Default is (10, 5).
    hidden : int
        Default is 250.
    dropout : float
        Default is 0.25.
    """


    def __init__(
        self,
        *,
        inputs: tuple[InputSpec, ...],
        n_labels: int,
        filters: int = 90,
        kernel: int = 7,
        seq_pool: tuple[int, int] = (4, 2),
        other_pool: tuple[int, int] = (10, 5),
        merged_filters: int = 100,
        merged_kernel: int = 5,
        merged_pool: tuple[int, int] = (10, 5),
        hidden: int = 250,
        dropout: float = 0.25,
    ) -> None:
        super().__init__()
        self.specs = position_inputs(inputs, "deepripe")
        self.branches = nn.ModuleDict()
        total = 0
        for i, s in enumerate(self.specs):
            p, st = seq_pool if i == 0 else other_pool
            self.branches[s.name] = nn.Sequential(
                nn.Conv1d(s.channels, filters, kernel),
                nn.ReLU(),
                nn.MaxPool1d(p, st),
                Dropout(dropout),
            )
            total += pooled_length(pooled_length(s.length, kernel, 1), p, st)
        self.merged = nn.Sequential(
            nn.Conv1d(filters, merged_filters, merged_kernel),
            nn.ReLU(),
            nn.MaxPool1d(*merged_pool),
            Dropout(dropout),
            nn.Flatten(),
        )
        flat = merged_filters * pooled_length(pooled_length(total, merged_kernel, 1), *merged_pool)
        self.head = nn.Sequential(nn.Linear(flat, hidden), nn.ReLU(), nn.Linear(hidden, n_labels))
        glorot_init(self)

    def forward(self, x: Mapping[str, torch.Tensor]) -> torch.Tensor:
        h = torch.cat([self.branches[s.name](x[s.name]) for s in self.specs], dim=2)  # along length
        return self.head(self.merged(h))
