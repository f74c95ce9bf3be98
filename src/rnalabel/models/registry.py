"""Model registry and the configuration contract every model follows.

A model is a plain ``nn.Module`` with explicit keyword arguments, mirrored by a frozen dataclass ``Config``
(``Model.from_config(cfg)``). ``forward`` takes one dict of view tensors and returns ``(N, K)`` logits.
Recipes and model cards hold ``{"model": name, "params": {...}}``; :func:`build_model` validates both against
the registry before anything is constructed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from torch import nn

from rnalabel.errors import ConfigError


@dataclass(frozen=True)
class InputSpec:
    """One view as a model sees it: name, kind and width.

    Attributes
    ----------
    name : str
        Key in the input dict.
    kind : "position" or "sequence"
    channels : int
        C for a per-position view (N, C, L), D for a per-sequence view (N, D).
    length : int
        L for a per-position view; 0 for a per-sequence view.
    """

    name: str
    kind: str
    channels: int
    length: int = 0


MODELS: dict[str, type[nn.Module]] = {}


def register_model(name: str):
    """Class decorator: add a model class (which must define ``Config`` and ``from_config``) to the registry."""

    def deco(cls):
        if not hasattr(cls, "Config"):
            raise TypeError(f"{cls.__name__} needs a nested frozen dataclass `Config`")
        cls.registry_name = name
        MODELS[name] = cls
        return cls

    return deco


def model_class(name: str) -> type[nn.Module]:
    from rnalabel import models as _models  # noqa: F401  (registers the built-in models)

    if name not in MODELS:
        raise ConfigError(f"unknown model {name!r}.", remedy=f"choose one of: {', '.join(sorted(MODELS))}.")
    return MODELS[name]


def build_model(
    name: str, *, inputs: list[InputSpec], n_labels: int, params: Mapping[str, Any] | None = None
) -> nn.Module:
    """Construct model ``name`` for the given inputs and label count, validating ``params``.

    Parameters
    ----------
    name : str
        Registry name (see :data:`MODELS`).
    inputs : list of InputSpec
        The views the model receives, in the recipe's order.
    n_labels : int
        K, the number of outputs.
    params : mapping, optional
        Hyper-parameters; unknown keys raise :class:`ConfigError`. Default is the model's defaults.
    """
    cls = model_class(name)
    cfg_cls = cls.Config
    names = {f.name for f in fields(cfg_cls)} - {"inputs", "n_labels"}
    params = dict(params or {})
    unknown = sorted(set(params) - names)
    if unknown:
        raise ConfigError(
            f"model {name!r} has no hyper-parameter(s) {', '.join(unknown)}.",
            remedy=f"its hyper-parameters are: {', '.join(sorted(names))}.",
        )
    for k, v in list(params.items()):
        if isinstance(v, list):
            params[k] = tuple(v)
    try:
        cfg = cfg_cls(inputs=tuple(inputs), n_labels=n_labels, **params)
        module = cls.from_config(cfg)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"model {name!r} cannot be built with these hyper-parameters: {exc}") from None
    module.config = cfg
    return module


def config_to_dict(cfg: Any) -> dict[str, Any]:
    """Hyper-parameters of a model config as a JSON-able dict (without inputs and n_labels)."""
    d = asdict(cfg)
    d.pop("inputs", None)
    d.pop("n_labels", None)
    return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}
