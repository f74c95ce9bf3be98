"""Toy models and small training helpers for the tests."""

from __future__ import annotations

import torch
from torch import nn

from rnalabel.engine.recipe import Recipe, TrainConfig
from rnalabel.models.registry import MODELS, InputSpec, register_model


def tiny_recipe(model: str = "multiresbind", **params) -> Recipe:
    """A small, fast recipe (few filters, two epochs)."""
    defaults = {
        "multiresbind": {"filters": 16, "hidden": 32},
        "deepripe": {"filters": 16, "merged_filters": 16, "hidden": 32},
        "deepbind": {"filters": 8, "kernel": 12, "hidden": 16},
    }.get(model, {})
    defaults.update(params)
    return Recipe(
        name=f"tiny-{model}", model=model, params=defaults,
        views={"seq": {"type": "onehot", "pad_value": 0.25}},
        train=TrainConfig(batch_size=64, max_epochs=2, patience=2, seed=0),
    )


def train_tiny(dataset, model: str = "multiresbind", **params):
    """Train :func:`tiny_recipe` on ``dataset`` without progress bars; returns the Bundle."""
    from rnalabel.engine.training import fit

    lm, _ = fit(tiny_recipe(model, **params), dataset, progress=False, device="cpu")
    return lm


def _flat(x, specs: list[InputSpec]) -> torch.Tensor:
    return torch.cat([x[s.name].flatten(1) for s in specs], dim=1)


def _width(specs: list[InputSpec]) -> int:
    size = {"position": lambda s: s.channels * s.length, "sequence": lambda s: s.channels,
            "pair": lambda s: s.channels * s.length * s.length}
    return sum(size[s.kind](s) for s in specs)


if "toy-embed" not in MODELS:
    @register_model("toy-embed", kinds=("embedding", "whole-sequence"))
    class ToyEmbed(nn.Module):
        """Every input flattened -> tanh(linear) = the embedding -> linear = K logits. Any input kind."""

        def __init__(self, *, inputs: tuple[InputSpec, ...], n_labels: int, dim: int = 8) -> None:
            super().__init__()
            self.specs = list(inputs)
            self.proj = nn.Linear(_width(self.specs), dim)
            self.head = nn.Linear(dim, n_labels)

        def embed(self, x) -> torch.Tensor:
            return torch.tanh(self.proj(_flat(x, self.specs)))

        def forward(self, x) -> torch.Tensor:
            return self.head(self.embed(x))


if "toy-length" not in __import__("rnalabel.views.base", fromlist=["VIEW_TYPES"]).VIEW_TYPES:
    from dataclasses import dataclass as _dataclass

    import numpy as _np

    from rnalabel.views.base import View, register_view

    @register_view
    @_dataclass(frozen=True)
    class ToyLength(View):
        """Each sequence's length / 100, (N, 1): a per-sequence view that cannot be put on the nucleotides."""

        type = "toy-length"
        kind = "sequence"

        def channels(self, dataset=None) -> int:
            return 1

        def transform(self, dataset) -> _np.ndarray:
            return (_np.asarray(dataset.lengths, dtype=_np.float32) / 100)[:, None]


def tiny_deepmirbp_recipe(**train):
    """A very small DeepMiRBP embedding recipe (one epoch), for index, ranking and server tests."""
    from rnalabel.engine.recipe import Recipe, TrainConfig

    return Recipe(name="tiny-deepmirbp", model="deepmirbp", kind="embedding",
                  params={"embed_dim": 8, "lstm_units": 4, "attention": 4, "hidden": 4},
                  views={"seq": {"type": "onehot", "pad_value": 0}}, window=101,
                  train=TrainConfig(**{"batch_size": 64, "max_epochs": 1, "seed": 0, **train}))


def tiny_indexed_model(dataset, n_sites: int = 200, **index):
    """(model, queries): a tiny DeepMiRBP encoder trained on ``dataset`` with a similarity index over its first
    ``n_sites`` rows, calibrated on 22-nt stretches of ten of them (the queries)."""
    import warnings

    import numpy as np

    from rnalabel.data import Dataset
    from rnalabel.engine.similarity import build_index
    from rnalabel.engine.training import fit

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model, _ = fit(tiny_deepmirbp_recipe(), dataset, progress=False, device="cpu")
    q = Dataset.from_sequences([f"q{i}" for i in range(10)], [s[:22] for s in dataset.sequences[:10]])
    build_index(model, dataset.subset(np.arange(n_sites)), q, **{"k": 3, "n_null": 3, "progress": False, **index})
    return model, q
