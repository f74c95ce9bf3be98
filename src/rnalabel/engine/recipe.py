"""Recipes: YAML files naming a model, its hyper-parameters, its views and how to train it.

A recipe fills frozen dataclasses and nothing else. Built-in recipes live in ``rnalabel/configs/*.yaml`` and
are found by name (``multiresbind``); any other YAML file can be given by path. Example::

    name: multiresbind
    description: Multi-resBind, sequence only (Zhao & Hamada 2022)
    model: multiresbind
    kind: windowed        # windowed | whole-sequence | embedding; null: the model's default
    params: {filters: 96, first_kernel: 11}
    views:
      seq: {type: onehot, pad_value: 0.25}
    window: null          # null: the longest training sequence
    stride: null          # null: half the window
    train: {batch_size: 128, lr: 0.001, max_epochs: 40, patience: 5}
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import asdict, dataclass, field, fields, replace
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from rnalabel.errors import ConfigError
from rnalabel.models.registry import KINDS

LOSSES = ("bce", "focal")
PRECISIONS = ("auto", "32", "bf16-mixed", "16-mixed")
#: validation quantities that may drive early stopping, the best-weights restore and the learning-rate schedule
MONITORS = ("val_loss", "val_auroc")


@dataclass(frozen=True)
class TrainConfig:
    """How to train.

    Attributes
    ----------
    batch_size : int
        Default is 128 (the paper's).
    lr : float
        Adam learning rate. Default is 1e-3.
    lr_factor : float
        Multiply the learning rate by this (0.01 to 1) when the monitored validation quantity has not improved for
        ``lr_patience`` epochs (torch's ``ReduceLROnPlateau``); 1 keeps it constant, as the papers do. Default is 1.
    lr_patience : int
        Epochs without improvement before the learning rate is multiplied by ``lr_factor``. Default is 2.
    monitor : "val_loss" or "val_auroc"
        What "improved" means for early stopping, the restored best weights and ``lr_factor``: a lower validation
        loss, or a higher validation macro AUROC (the mean over labels with both classes among the validation
        rows; the model must give one score per label). Default is "val_loss".
    weight_decay : float
        Default is 0.
    max_epochs : int
        Default is 40 (the paper's).
    patience : int
        Early stopping after this many epochs without improvement of ``monitor``. Default is 5.
    loss : "bce" or "focal"
        Masked binary cross-entropy (unknown labels skipped) or focal loss. Default is "bce".
    focal_gamma : float
        Default is 2.0.
    pos_weight : "none", "balanced" or "log"
        Positive-class weights per label: none; n_neg / n_pos; or DeepRiPe's max(1, log(mu * N / n_pos)).
        Default is "none".
    val_fraction : float
        Validation fraction carved (stratified, seeded) from the training rows when the dataset has no
        ``val`` split. Default is 0.1.
    precision : "auto", "32", "bf16-mixed" or "16-mixed"
        "auto" is bf16-mixed on hardware with native bfloat16 arithmetic (a CUDA GPU that supports it, a CPU with
        AVX512-BF16 or AMX) and 32 elsewhere, where emulated bf16 would be slower; see
        :func:`rnalabel._runtime.resolve_precision`. Default is "32".
    seed : int
        Default is 0.
    num_workers : int
        DataLoader workers. Default is 0 (in-memory tensors need none).
    short_copies : float
        Share of the training rows added once more as a shortened copy (a random stretch of the row, padded as a
        short input is at prediction; labels kept where 0, unknown where 1; see
        :func:`rnalabel.data.augment.shortened_copies`), so that the model learns padding is no evidence of
        binding and scores short RNAs honestly. Default is 0 (none).
    """

    batch_size: int = 128
    lr: float = 1e-3
    lr_factor: float = 1.0
    lr_patience: int = 2
    monitor: str = "val_loss"
    weight_decay: float = 0.0
    max_epochs: int = 40
    patience: int = 5
    loss: str = "bce"
    focal_gamma: float = 2.0
    pos_weight: str = "none"
    val_fraction: float = 0.1
    precision: str = "32"
    seed: int = 0
    num_workers: int = 0
    short_copies: float = 0.0

    def __post_init__(self) -> None:
        for name, integer, low, high in _NUMBERS:
            _check_number(name, getattr(self, name), integer=integer, low=low, high=high)
        if self.loss not in LOSSES:
            raise ConfigError(f"unknown loss {self.loss!r}.", remedy=f"choose one of: {', '.join(LOSSES)}.")
        if self.precision not in PRECISIONS:
            raise ConfigError(
                f"unknown precision {self.precision!r}.", remedy=f"choose one of: {', '.join(PRECISIONS)}."
            )
        if self.monitor not in MONITORS:
            raise ConfigError(f"unknown monitor {self.monitor!r}.", remedy=f"choose one of: {', '.join(MONITORS)}.")
        if self.pos_weight not in ("none", "balanced", "log"):
            raise ConfigError(f"unknown pos_weight {self.pos_weight!r}.", remedy="choose none, balanced or log.")


#: (field, whole number?, lowest, highest) of every numeric training setting; highest None = no bound. lr > 0 and
#: 0 < val_fraction < 1 are strict (see _check_number).
_NUMBERS = (
    ("batch_size", True, 1, None), ("lr", False, 0.0, None), ("weight_decay", False, 0.0, None),
    ("max_epochs", True, 1, None), ("patience", True, 0, None), ("focal_gamma", False, 0.0, None),
    ("val_fraction", False, 0.0, 1.0), ("seed", True, 0, None), ("num_workers", True, 0, None),
    ("short_copies", False, 0.0, 1.0), ("lr_factor", False, 0.01, 1.0), ("lr_patience", True, 0, None),
)
_STRICT = {"lr", "val_fraction"}


def _check_number(name: str, value: Any, *, integer: bool, low: float, high: float | None) -> None:
    """Refuse a training setting that is not a number of the right kind and range (bools, text, NaN, inf)."""
    kind = "a whole number" if integer else "a number"
    strict = name in _STRICT
    rng = f"{'above' if strict else 'at least'} {low}" + (
        f" and {'below' if strict else 'at most'} {high}" if high is not None else "")
    ok_type = isinstance(value, int) if integer else isinstance(value, int | float)
    if isinstance(value, bool) or not ok_type or not math.isfinite(value):
        raise ConfigError(f"training setting {name} must be {kind} {rng}, got {value!r}.",
                          remedy=f"give {name} as {kind} {rng}.")
    if (value < low or (strict and value == low)) or \
            (high is not None and (value > high or (strict and value == high))):
        raise ConfigError(f"training setting {name} must be {rng}, got {value!r}.", remedy=f"give {name} {rng}.")


_VIEW_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")

#: the views of a recipe that names none: the nucleotide one-hot
DEFAULT_VIEWS: dict[str, dict[str, Any]] = {"seq": {"type": "onehot"}}


@dataclass(frozen=True)
class Recipe:
    """A model, its views and how to train it.

    Attributes
    ----------
    name : str
    model : str
        Registry name of the model class.
    kind : str or None
        What the trained bundle is: ``windowed``, ``whole-sequence`` or ``embedding`` (see
        :mod:`rnalabel.engine.kinds`). None means the model's default kind (the first it serves).
    params : dict
        Model hyper-parameters (see the model's constructor).
    views : dict of str to dict
        View name -> view spec ``{"type": ..., params...}``; order matters (channel order).
    window : int or None
        ``windowed``: the window width; None means the longest training sequence. Other kinds: the input width
        sequences are padded to; None means the longest training sequence when a view is per-position or
        pairwise, and no limit when every view is per-sequence.
    stride : int or None
        Scanning stride for longer sequences (``windowed`` only); None means half the window.
    train : TrainConfig
    description : str
    """

    name: str
    model: str
    kind: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    views: dict[str, dict[str, Any]] = field(default_factory=lambda: {k: dict(v) for k, v in DEFAULT_VIEWS.items()})
    window: int | None = None
    stride: int | None = None
    train: TrainConfig = field(default_factory=TrainConfig)
    description: str = ""

    def __post_init__(self) -> None:
        for name in ("window", "stride"):
            v = getattr(self, name)
            if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 1):
                raise ConfigError(f"recipe {name} must be a whole number of at least 1 (or null), got {v!r}.",
                                  remedy=f"give {name} in nucleotides, or null for the default.")
        if self.kind is not None and self.kind not in KINDS:
            raise ConfigError(f"unknown model kind {self.kind!r}.", remedy=f"choose one of: {', '.join(KINDS)}.")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any], *, source: str = "<dict>") -> Recipe:
        d = dict(d)
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ConfigError(
                f"recipe has unknown key(s) {', '.join(unknown)}.",
                path=source,
                remedy=f"allowed keys: {', '.join(sorted(known))}.",
            )
        if "model" not in d:
            raise ConfigError("recipe names no model.", path=source, remedy="add `model: multiresbind` (say).")
        train = d.pop("train", None) or {}
        def is_name(v: Any) -> bool:
            return isinstance(v, str) and bool(v.strip())

        for key, kind, ok in (("train", "a mapping", isinstance(train, dict)),
                              ("params", "a mapping", isinstance(d.get("params") or {}, dict)),
                              ("model", "a name", is_name(d["model"])),
                              ("name", "a name", "name" not in d or is_name(d["name"])),
                              ("description", "text", isinstance(d.get("description", ""), str))):
            if not ok:
                raise ConfigError(f"recipe's {key} must be {kind}.", path=source, remedy=f"e.g. {_EXAMPLE[key]}.")
        tknown = {f.name for f in fields(TrainConfig)}
        bad = sorted(set(train) - tknown)
        if bad:
            raise ConfigError(
                f"recipe's train section has unknown key(s) {', '.join(bad)}.",
                path=source,
                remedy=f"allowed keys: {', '.join(sorted(tknown))}.",
            )
        views = d.get("views") or DEFAULT_VIEWS
        if not isinstance(views, dict) or not all(isinstance(v, dict) and "type" in v for v in views.values()):
            raise ConfigError(
                "recipe's views must map a name to a spec with a `type`.",
                path=source,
                remedy="e.g. views: {seq: {type: onehot}}.",
            )
        d["views"] = {str(k): dict(v) for k, v in views.items()}
        bad = [k for k in d["views"] if not _VIEW_NAME.match(k)]
        if bad:
            raise ConfigError(f"view name(s) {', '.join(map(repr, bad))} are not plain names.", path=source,
                              remedy="use letters, digits and '_' (a view name becomes part of file names).")
        d.setdefault("name", Path(source).stem)
        d["params"] = dict(d.get("params") or {})
        try:
            return cls(train=TrainConfig(**train), **d)
        except ConfigError as exc:
            raise ConfigError(exc.message, path=source, remedy=exc.remedy) from None

    def with_train(self, **overrides: Any) -> Recipe:
        """A copy with some training settings replaced (None values are ignored)."""
        kw = {k: v for k, v in overrides.items() if v is not None}
        return replace(self, train=replace(self.train, **kw)) if kw else self


    def with_settings(self, settings: list[str]) -> Recipe:
        """A copy with ``KEY=VALUE`` settings applied, KEY a dotted path into the recipe (``views.nb.precursors``,
        ``params.hidden``, ``train.lr``, ``window``) and VALUE read as YAML (``256``, ``[1, 2]``, ``true``, a path).
        Checked like a recipe file; an unknown view or a step into a non-mapping is refused by name."""
        d = self.to_dict()
        for item in settings:
            key, sep, raw = str(item).partition("=")
            path = key.strip().split(".")
            if not sep or not all(path):
                raise ConfigError(f"--set {item!r} is not KEY=VALUE.",
                                  remedy="e.g. --set views.nb.precursors=hairpin.fa or --set train.lr=0.0005.")
            try:
                value = yaml.safe_load(raw) if raw.strip() else ""
            except yaml.YAMLError:
                raise ConfigError(f"--set {item!r}: the value is not valid YAML.",
                                  remedy="quote it, e.g. --set 'params.dilations=[2, 4]'.") from None
            if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
                value = float(value)  # YAML 1.1 reads 5e-4 (no dot) as a string
            node: Any = d
            for depth, part in enumerate(path[:-1]):
                if path[0] == "views" and depth == 1 and part not in node:
                    raise ConfigError(f"--set {item!r}: the recipe has no view {part!r}.",
                                      remedy=f"its views are: {', '.join(node)}.")
                child = node.get(part)  # to_dict always holds params, train and views: no section to create
                if not isinstance(child, dict):
                    raise ConfigError(f"--set {item!r}: {'.'.join(path[:depth + 1])} is not a section of the recipe.",
                                      remedy="set a field of views.<name>, params, train, or a top-level key.")
                node = child
            node[path[-1]] = value
        return Recipe.from_dict(d, source=f"{self.name} (with --set)")


_EXAMPLE = {"train": "train: {lr: 0.001}", "params": "params: {hidden: 128}", "model": "model: multiresbind",
            "name": "name: my_recipe", "description": "description: my model"}
_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+")


def recipe_names() -> list[str]:
    """Names of the built-in recipes."""
    root = resources.files("rnalabel") / "configs"
    return sorted(p.name[:-5] for p in root.iterdir() if p.name.endswith(".yaml"))


def load_recipe(name_or_path: str | os.PathLike) -> Recipe:
    """Load a built-in recipe by name, or a YAML recipe file by path."""
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml") or p.exists():
        if not p.exists():
            raise ConfigError("recipe file not found.", path=p, remedy="check the path.")
        try:
            text, source = p.read_text(encoding="utf-8"), str(p)
        except UnicodeDecodeError:
            raise ConfigError("the recipe is not a YAML text file.", path=p,
                              remedy="give a recipe YAML file (rnalabel recipes lists the built-in ones).") from None
    else:
        res = resources.files("rnalabel") / "configs" / f"{name_or_path}.yaml"
        if not res.is_file():
            raise ConfigError(
                f"unknown recipe {str(name_or_path)!r}.",
                remedy=f"choose one of: {', '.join(recipe_names())}, or give a path to a YAML file.",
            )
        text, source = res.read_text(), f"{name_or_path}.yaml"
    try:
        d = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        raise ConfigError(
            "recipe is not valid YAML.", path=source, line=None if line is None else line + 1,
            remedy="fix the YAML syntax.",
        ) from None
    if not isinstance(d, dict):
        raise ConfigError("recipe must be a YAML mapping.", path=source)
    return Recipe.from_dict(d, source=source)
