"""Model registry and the configuration contract every model follows.

A model is a plain ``nn.Module`` with explicit keyword-only constructor arguments; :func:`register_model` derives
from them the frozen dataclass ``Model.Config`` and ``Model.from_config(cfg)``. ``forward`` takes one dict of view
tensors and returns ``(N, K)`` logits; a model that serves the ``embedding`` kind also has ``embed(x) -> (N, D)``.
Recipes and model cards hold ``{"model": name, "params": {...}}``; :func:`build_model` validates both against
the registry before anything is constructed.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, make_dataclass
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
    kind : "position", "sequence" or "pair"
    channels : int
        C for a per-position view (N, C, L) or a pairwise view (N, C, L, L), D for a per-sequence view (N, D).
    length : int
        L for a per-position or pairwise view; 0 for a per-sequence view.
    """

    name: str
    kind: str
    channels: int
    length: int = 0


MODELS: dict[str, type[nn.Module]] = {}
#: what a trained model's outputs are and how callers use them (see rnalabel.engine.kinds)
KINDS = ("windowed", "whole-sequence", "embedding")


def register_model(name: str, *, kinds: tuple[str, ...] = ("windowed", "whole-sequence")):
    """Class decorator: add a model class to the registry under ``name``.

    The model's hyper-parameters are the keyword-only parameters of its constructor (``inputs`` and ``n_labels``
    included): the registry derives from them, once, the frozen dataclass ``Model.Config`` and
    ``Model.from_config(cfg)``, so a hyper-parameter is written in one place (the constructor) and recipes, cards
    and :func:`build_model` all check against it.

    Parameters
    ----------
    name : str
        Registry name used in recipes and cards.
    kinds : tuple of str
        The bundle kinds the model can serve, the first being the default (see :data:`KINDS`). A model that
        serves ``embedding`` must have a method ``embed(x) -> (N, D)``. Default is ("windowed", "whole-sequence").
    """
    unknown = [k for k in kinds if k not in KINDS]
    if not kinds or unknown:
        raise TypeError(f"register_model({name!r}): kinds must be some of {KINDS}, got {kinds}")

    def deco(cls):
        if "embedding" in kinds and not callable(getattr(cls, "embed", None)):
            raise TypeError(f"{cls.__name__} serves the embedding kind but has no method `embed`")
        cls.Config = _config_class(cls)
        cls.from_config = classmethod(_from_config)
        cls.registry_name = name
        cls.kinds = tuple(kinds)
        MODELS[name] = cls
        return cls

    return deco


#: annotation text -> accepted Python types, for the hyper-parameters whose type a recipe can get wrong
_SIMPLE = {"int": (int,), "float": (int, float), "bool": (bool,), "str": (str,)}
_SIMPLE_NAMES = {(int,): "a whole number", (int, float): "a number", (bool,): "true or false", (str,): "text"}


def _config_class(cls) -> type:
    """A frozen dataclass mirroring the keyword-only parameters of ``cls.__init__`` (names, types, defaults)."""
    params = [p for p in inspect.signature(cls.__init__).parameters.values() if p.name != "self"]
    bad = [p.name for p in params if p.kind is not inspect.Parameter.KEYWORD_ONLY]
    names = {p.name for p in params}
    if bad or not {"inputs", "n_labels"} <= names:
        raise TypeError(f"{cls.__name__}.__init__ must take keyword-only parameters including inputs and "
                        f"n_labels (not keyword-only: {bad})")
    spec = []
    for p in params:
        ann = Any if p.annotation is inspect.Parameter.empty else p.annotation
        spec.append((p.name, ann) if p.default is inspect.Parameter.empty else (p.name, ann, field(default=p.default)))
    return make_dataclass(f"{cls.__name__}Config", spec, frozen=True, kw_only=True,
                          namespace={"__module__": cls.__module__, "__qualname__": f"{cls.__qualname__}.Config"})


def _from_config(cls, cfg: Any) -> nn.Module:
    return cls(**{f.name: getattr(cfg, f.name) for f in fields(cfg)})


def model_class(name: str) -> type[nn.Module]:
    from rnalabel import models as _models  # noqa: F401  (registers the built-in models)

    if name not in MODELS:
        from rnalabel.plugins import HOW, load_plugins

        load_plugins()
        if name not in MODELS:
            raise ConfigError(f"unknown model {name!r}.", remedy=f"choose one of: {', '.join(sorted(MODELS))}; {HOW}.")
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
    annotations = {f.name: f.type for f in fields(cfg_cls)}
    for k, v in list(params.items()):
        if isinstance(v, list):
            params[k] = v = tuple(v)
        want = _SIMPLE.get(str(annotations.get(k)))
        if want is not None and (not isinstance(v, want) or (isinstance(v, bool) and bool not in want)):
            raise ConfigError(f"model {name!r}: hyper-parameter {k} must be {_SIMPLE_NAMES[want]}, got {v!r}.",
                              remedy=f"give {k} as {_SIMPLE_NAMES[want]}.")
    try:
        cfg = cfg_cls(inputs=tuple(inputs), n_labels=n_labels, **params)
        module = cls.from_config(cfg)
    except ConfigError:
        raise
    except Exception as exc:  # noqa: BLE001 - torch and the model's own checks raise several types
        raise ConfigError(f"model {name!r} cannot be built with these hyper-parameters ({params}): "
                          f"{type(exc).__name__}: {exc}", remedy="check the values against the model's docstring.") from None
    module.config = cfg
    return module


def config_to_dict(cfg: Any) -> dict[str, Any]:
    """Hyper-parameters of a model config as a JSON-able dict (without inputs and n_labels)."""
    d = asdict(cfg)
    d.pop("inputs", None)
    d.pop("n_labels", None)
    return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}
