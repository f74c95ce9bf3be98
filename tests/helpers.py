"""Toy models and small training helpers for the tests."""

from __future__ import annotations

from rnalabel.engine.recipe import Recipe, TrainConfig


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
    """Train :func:`tiny_recipe` on ``dataset`` without progress bars; returns the LabelModel."""
    from rnalabel.engine.training import fit

    lm, _ = fit(tiny_recipe(model, **params), dataset, progress=False, device="cpu")
    return lm
