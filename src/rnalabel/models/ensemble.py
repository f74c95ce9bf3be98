"""An ensemble of trained models that see the same views: the mean of their logits.

Members are independently trained models (usually one recipe trained with different seeds, the deep-ensemble
recipe of Lakshminarayanan et al. 2017; architectures may differ as long as their views are the same). The
ensemble is built from trained run folders by :func:`rnalabel.engine.ensemble.combine` (``rnalabel ensemble``),
never trained as one model: averaging logits that were trained together is one wider model, not an ensemble.
It is a model like any other to everything downstream (cards, predict, evaluate, explain, the server).
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from rnalabel.errors import ConfigError
from rnalabel.models.registry import InputSpec, build_model, register_model


@register_model("ensemble", kinds=("windowed", "whole-sequence"))
class Ensemble(nn.Module):
    """Mean of the members' logits.

    Parameters
    ----------
    inputs : tuple of InputSpec
        The views every member reads.
    n_labels : int
    members : sequence of mapping
        ``{"model": name, "params": {...}}`` per member (at least 2; no member is itself an ensemble).
    """

    def __init__(self, *, inputs: tuple[InputSpec, ...], n_labels: int, members: tuple = ()):
        super().__init__()
        if len(members) < 2:
            raise ConfigError(f"an ensemble needs at least 2 members, got {len(members)}.",
                              remedy="combine two or more trained runs: rnalabel ensemble RUN1 RUN2 --out DIR.")
        built = []
        for i, m in enumerate(members):
            if not isinstance(m, Mapping) or not isinstance(m.get("model"), str) or set(m) - {"model", "params"}:
                raise ConfigError(f"ensemble member {i + 1} must be {{model: NAME, params: {{...}}}}, got {m!r}.")
            if m["model"] == "ensemble":
                raise ConfigError(f"ensemble member {i + 1} is itself an ensemble.",
                                  remedy="combine the runs the inner ensemble was made of instead.")
            built.append(build_model(m["model"], inputs=list(inputs), n_labels=n_labels, params=m.get("params")))
        self.members = nn.ModuleList(built)
        #: a member that reads padding makes the ensemble read it (see rnalabel.engine.bundle.short_input_note)
        self.masks_zero_padding = all(getattr(m, "masks_zero_padding", False) for m in built)

    def forward(self, x: dict[str, torch.Tensor]) -> torch.Tensor:
        out = self.members[0](x)
        for m in self.members[1:]:
            out = out + m(x)
        return out / len(self.members)
