"""Multi-resBind (Zhao & Hamada, BMC Bioinformatics 2022): a residual CNN multi-label classifier.

Per-position views (nucleotides, region types, structure profiles) are concatenated along channels and fed to

1. a first convolution, 96 filters of width 11 ("same" padding, no bias), batch norm, ReLU, dropout 0.1;
2. a residual block: conv width 3 + BN, then three times [ReLU, dropout 0.1, dilated conv width 3 + BN]
   with dilations 2, 4, 8, the skip connection adding the block's input, ReLU;
3. average pooling 10 / stride 10 ("valid"), dropout 0.2;
4. flatten, dense 256 (no bias) + BN + ReLU + dropout 0.5, and a dense layer of K logits.

Weights are Glorot-uniform initialised. The paper's text describes "a 3x residual block ... dropout 0.1, 0.2 and
0.5"; the authors' published code (``models/residualbind.py``, after Koo et al.'s ResidualBind) places those
dropouts after the first conv, after pooling and after the dense layer, and builds the "3x" as three dilated
convolutions inside one residual block. We follow the code, which is what produced the published numbers.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from rnalabel.models.layers import (
    DilatedResidualBlock,
    Dropout,
    common_length,
    concat_positions,
    glorot_init,
    pooled_length,
    position_inputs,
)
from rnalabel.models.registry import InputSpec, register_model


@register_model("multiresbind")
class MultiResBind(nn.Module):
    """Multi-resBind multi-label classifier.

    Parameters
    ----------
    inputs : tuple of InputSpec
        Per-position views, concatenated along channels; all of one length L.
    n_labels : int
        K outputs (logits).
    filters : int
        Filters of the first conv and the residual block. Default is 96.
    first_kernel : int
        Width of the first conv. Default is 11.
    res_kernel : int
        Width of the residual convs. Default is 3.
    dilations : tuple of int
        Dilations inside the residual block. Default is (2, 4, 8).
    pool : int
        Average-pooling size and stride. Default is 10.
    hidden : int
        Dense layer width. Default is 256.
    stem_pool : int
        Max-pooling size and stride right after the first conv, before the residual block. Default is 1
        (none, as in the paper); 2 or 3 divides the residual block's work by that factor (an efficient variant
        for CPUs, chosen per benchmark on validation data).
    dropout : tuple of float
        After the first conv (and inside the residual block), after pooling, after the dense layer.
        Default is (0.1, 0.2, 0.5).
    """


    def __init__(
        self,
        *,
        inputs: tuple[InputSpec, ...],
        n_labels: int,
        filters: int = 96,
        first_kernel: int = 11,
        res_kernel: int = 3,
        dilations: tuple[int, ...] = (2, 4, 8),
        pool: int = 10,
        hidden: int = 256,
        dropout: tuple[float, float, float] = (0.1, 0.2, 0.5),
        stem_pool: int = 1,
    ) -> None:
        super().__init__()
        self.specs = position_inputs(inputs, "multiresbind")
        length = common_length(self.specs, "multiresbind")
        in_ch = sum(s.channels for s in self.specs)
        self.stem = nn.Sequential(
            nn.Conv1d(in_ch, filters, first_kernel, padding="same", bias=False),
            nn.BatchNorm1d(filters),
            nn.ReLU(),
            *([nn.MaxPool1d(stem_pool, stem_pool)] if stem_pool > 1 else []),
            Dropout(dropout[0]),
        )
        if stem_pool > 1:
            length = pooled_length(length, stem_pool, stem_pool)
        self.residual = DilatedResidualBlock(filters, kernel_size=res_kernel, dilations=dilations, dropout=dropout[0])
        self.pool = nn.Sequential(nn.AvgPool1d(pool, pool), Dropout(dropout[1]))
        flat = filters * pooled_length(length, pool, pool)
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Linear(flat, hidden, bias=False),
            nn.BatchNorm1d(hidden),
            nn.ReLU(),
            Dropout(dropout[2]),
            nn.Linear(hidden, n_labels),
        )
        glorot_init(self)

    def forward(self, x: Mapping[str, torch.Tensor]) -> torch.Tensor:
        h = self.stem(concat_positions(x, self.specs))
        h = self.pool(self.residual(h))
        return self.head(h)
