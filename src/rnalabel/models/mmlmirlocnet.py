"""MMLmiRLocNet (Xu et al., IEEE/ACM TCBB): miRNA subcellular localisation from several views of a sequence, fused
by consensus (common) and specific (private) features (the paper's MVFCNet).

For each view x with features ``V^x`` (the paper's eqs. 7-10)::

    V^x_private = ReLU(W^x_private V^x + b)        V^x_common = ReLU(W^x_common V^x + b)
    C_common    = mean over views of V^x_common
    F_final     = concat(V^1_private, ..., V^X_private, C_common)
    y           = sigmoid(W_pred F_final + b)      (one sigmoid per compartment; the loss takes the logits)

Choices where the paper is vague, written down:

* ``V^x`` of a per-sequence view (k-mer frequencies) is the vector itself. A per-position view (word2vec vectors
  per k-mer, language-model embeddings per nucleotide) is a matrix, which the paper feeds to eq. 7 without
  saying how; here it is encoded first (``encoder="pool"``: a convolution of ``filters`` x ``kernel``, ReLU, and
  the global max and mean over positions, 2 x ``filters`` features), or flattened (``encoder="flatten"``, eq. 7
  taken literally: one dense layer on L x C inputs, many more weights).
* The private and common layers are per view (views differ in width, so one W cannot serve them all) and have
  ``hidden`` units each; dropout before the predictor.
* ``fusion=False`` is the ablation "without MVFCNet": the view features are concatenated and go through one
  hidden ReLU layer of ``hidden`` units to the predictor.

Not in the paper: ``offset`` names a ``neighbours`` view (K label probabilities, then two similarities: the
labels of the most similar training miRNAs). Its logits, times a learned weight per label (1 at the start), are
added to the predictor's, so the network learns a correction to that estimate rather than the estimate itself;
the view is also fused like any other.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from rnalabel.errors import ConfigError
from rnalabel.models.layers import Dropout, glorot_init
from rnalabel.models.registry import InputSpec, register_model

ENCODERS = ("pool", "flatten")
#: an offset probability is clipped to [OFFSET_EPS, 1 - OFFSET_EPS] before its logit is taken
OFFSET_EPS = 0.01


class ViewFeatures(nn.Module):
    """One view's ``V^x``: a per-sequence vector as it is; a per-position matrix pooled after a convolution, or
    flattened.

    Parameters
    ----------
    spec : InputSpec
    encoder : "pool" or "flatten"
    filters, kernel : int
    """

    def __init__(self, spec: InputSpec, *, encoder: str, filters: int, kernel: int) -> None:
        super().__init__()
        self.kind, self.encoder = spec.kind, encoder
        if spec.kind == "sequence":
            self.width = spec.channels
        elif encoder == "flatten":
            self.width = spec.channels * spec.length
        else:
            self.conv = nn.Conv1d(spec.channels, filters, kernel, padding="same")
            self.width = 2 * filters

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.kind == "sequence":
            return x
        if self.encoder == "flatten":
            return x.flatten(1)
        h = torch.relu(self.conv(x))
        return torch.cat([h.amax(dim=2), h.mean(dim=2)], dim=1)


@register_model("mmlmirlocnet", kinds=("whole-sequence", "windowed"))
class MMLmiRLocNet(nn.Module):
    """MVFCNet over any number of per-sequence and per-position views (see the module docstring).

    Parameters
    ----------
    inputs : tuple of InputSpec
        Per-sequence (N, D) and per-position (N, C, L) views; pairwise views are refused.
    n_labels : int
        K compartments.
    hidden : int
        Units of each private and common layer (and of the hidden layer without fusion). Default is 128.
    filters : int
        Convolution filters of the per-position encoder. Default is 64.
    kernel : int
        Convolution width of the per-position encoder. Default is 5.
    encoder : "pool" or "flatten"
        How a per-position view becomes ``V^x``. Default is "pool".
    dropout : float
        Before the predictor. Default is 0.3.
    fusion : bool
        Consensus + specific features (MVFCNet); False is the paper's ablation without it. Default is True.
    offset : str
        A neighbours view (K label probabilities, then 2 similarities) whose probabilities are added as logits
        (see the module docstring); "" for none. Default is "".
    """

    def __init__(
        self,
        *,
        inputs: tuple[InputSpec, ...],
        n_labels: int,
        hidden: int = 128,
        filters: int = 64,
        kernel: int = 5,
        encoder: str = "pool",
        dropout: float = 0.3,
        fusion: bool = True,
        offset: str = "",
    ) -> None:
        super().__init__()
        bad = [f"{s.name} ({s.kind})" for s in inputs if s.kind not in ("sequence", "position")]
        if bad or not inputs:
            raise ConfigError(f"model 'mmlmirlocnet' takes per-sequence and per-position views; got "
                              f"{', '.join(bad) or 'none'}.")
        if encoder not in ENCODERS:
            raise ConfigError(f"mmlmirlocnet: unknown encoder {encoder!r}.", remedy=f"choose one of: {', '.join(ENCODERS)}.")
        self.names = [s.name for s in inputs]
        if offset:
            spec = next((s for s in inputs if s.name == offset), None)
            if spec is None or spec.kind != "sequence" or spec.channels != n_labels + 2:
                raise ConfigError(f"mmlmirlocnet: offset {offset!r} must name a neighbours view (per-sequence, "
                                  f"{n_labels} label probabilities then 2 similarities); the views are: "
                                  f"{', '.join(f'{s.name} ({s.kind}, {s.channels})' for s in inputs)}.",
                                  remedy="use offset: <name of a neighbours view>, or leave offset out.")
        self.offset = offset
        self.n_labels = n_labels
        self.features = nn.ModuleDict({s.name: ViewFeatures(s, encoder=encoder, filters=filters, kernel=kernel)
                                       for s in inputs})
        self.fusion = fusion
        widths = {n: self.features[n].width for n in self.names}
        if fusion:
            self.private = nn.ModuleDict({n: nn.Sequential(nn.Linear(widths[n], hidden), nn.ReLU()) for n in self.names})
            self.common = nn.ModuleDict({n: nn.Sequential(nn.Linear(widths[n], hidden), nn.ReLU()) for n in self.names})
            final = (len(self.names) + 1) * hidden
        else:
            self.hidden = nn.Sequential(nn.Linear(sum(widths.values()), hidden), nn.ReLU())
            final = hidden
        self.head = nn.Sequential(Dropout(dropout), nn.Linear(final, n_labels))
        glorot_init(self)
        if offset:
            self.offset_weight = nn.Parameter(torch.ones(n_labels))

    def fused(self, x: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """``F_final``, shape (N, (X + 1) * hidden) with fusion, (N, hidden) without."""
        v = {n: self.features[n](x[n]) for n in self.names}
        if not self.fusion:
            return self.hidden(torch.cat([v[n] for n in self.names], dim=1))
        common = torch.stack([self.common[n](v[n]) for n in self.names]).mean(dim=0)
        return torch.cat([*(self.private[n](v[n]) for n in self.names), common], dim=1)

    def forward(self, x: Mapping[str, torch.Tensor]) -> torch.Tensor:
        out = self.head(self.fused(x))
        if self.offset:
            p = x[self.offset][:, : self.n_labels].clamp(OFFSET_EPS, 1 - OFFSET_EPS)
            out = out + self.offset_weight * torch.logit(p)
        return out
