"""A trained model and its files.

:class:`LabelModel` is a network together with everything needed to use it (views, labels, window, thresholds,
card); it is what :func:`rnalabel.engine.training.fit` returns. On disk it is a directory with
``model.safetensors`` and ``card.json`` (:func:`save_model`, :func:`load_model`). Loading never unpickles.

The card records the label names, the views and their parameters, the model class and hyper-parameters, the
recipe, the data provenance, the metrics, the per-label thresholds, the package version and the SHA-256 of the
weights file, so that :func:`load_model` rebuilds the exact featurisation and refuses a swapped or damaged file.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from rnalabel import __version__
from rnalabel.data import Dataset, atomic_path, write_text_atomic
from rnalabel.engine.metrics import _jsonable
from rnalabel.engine.recipe import Recipe
from rnalabel.errors import ConfigError, ModelFileError
from rnalabel.models.registry import InputSpec, build_model, config_to_dict
from rnalabel.views.base import View, views_from_specs


@dataclass
class LabelModel:
    """A network and its featurisation.

    Attributes
    ----------
    module : torch.nn.Module
        Takes ``{view name: tensor}``, returns (N, K) logits.
    recipe : Recipe
        The recipe it was trained with (views with data-dependent parameters filled in).
    views : dict of str to View
    inputs : list of InputSpec
    label_names : list of str
    window : int
        Input width in nucleotides; longer sequences are scanned.
    stride : int
        Scanning stride.
    thresholds : numpy.ndarray, shape=(K,)
        Per-label decision thresholds (chosen on validation data).
    card : dict
        Everything else the model card records (provenance, metrics, history ...).
    """

    module: nn.Module
    recipe: Recipe
    views: dict[str, View]
    inputs: list[InputSpec]
    label_names: list[str]
    window: int
    stride: int
    thresholds: np.ndarray
    card: dict[str, Any] = field(default_factory=dict)

    @property
    def n_labels(self) -> int:
        return len(self.label_names)

    def featurize(self, dataset: Dataset) -> dict[str, np.ndarray]:
        """The model's input arrays for ``dataset`` (whose rows must already be windows of ``window`` nt)."""
        return {name: view.transform(dataset) for name, view in self.views.items()}

    def label_index(self, name: str) -> int:
        from rnalabel.errors import LabelError

        if name not in self.label_names:
            shown = ", ".join(self.label_names[:30]) + (" ..." if self.n_labels > 30 else "")
            raise LabelError(f"the model has no label {name!r}.", remedy=f"choose one of: {shown}.")
        return self.label_names.index(name)


WEIGHTS = "model.safetensors"
CARD = "card.json"
FORMAT = "rnalabel-model"
FORMAT_VERSION = 1

# First bytes of files that must never be deserialised: pickle protocols 2-5 and torch.save's zip container.
_PICKLE_MAGIC = (b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05", b"PK\x03\x04")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def make_card(model: LabelModel) -> dict[str, Any]:
    """The JSON card of ``model`` (without the weights hash, which :func:`save_model` adds)."""
    cfg = getattr(model.module, "config", None)
    params = config_to_dict(cfg) if cfg is not None else dict(model.recipe.params)
    card = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "rnalabel_version": __version__,
        "model": {"name": model.recipe.model, "params": params},
        "recipe": model.recipe.to_dict(),
        "views": {name: v.spec() for name, v in model.views.items()},
        "inputs": [asdict(s) for s in model.inputs],
        "labels": list(model.label_names),
        "window": int(model.window),
        "stride": int(model.stride),
        "thresholds": {n: float(t) for n, t in zip(model.label_names, model.thresholds, strict=True)},
    }
    extra = {k: v for k, v in model.card.items() if k not in card and k != "weights"}
    card.update(extra)
    return _jsonable(card)


def save_model(model: LabelModel, directory: str | os.PathLike) -> Path:
    """Write ``model.safetensors`` and ``card.json`` into ``directory`` (created if needed), atomically per file.

    Returns
    -------
    pathlib.Path
        The directory.
    """
    from safetensors.torch import save_file

    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().to("cpu").contiguous().clone() for k, v in model.module.state_dict().items()}
    with atomic_path(d / WEIGHTS) as tmp:
        save_file(state, str(tmp), metadata={"format": FORMAT})
    card = make_card(model)
    card["weights"] = {"file": WEIGHTS, "sha256": _sha256(d / WEIGHTS)}
    write_text_atomic(d / CARD, json.dumps(card, indent=2) + "\n")
    model.card = {k: v for k, v in card.items()}
    return d


def read_card(directory: str | os.PathLike) -> dict[str, Any]:
    """Read and check ``card.json`` of a model directory."""
    d = Path(directory)
    if not d.is_dir():
        raise ModelFileError(
            "not a model directory.", path=d, remedy="give the folder that holds model.safetensors and card.json."
        )
    p = d / CARD
    if not p.exists():
        raise ModelFileError(f"{CARD} is missing.", path=d, remedy="give a folder written by `rnalabel train`.")
    try:
        card = json.loads(p.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelFileError(
            f"the model card is not valid JSON ({exc}).", path=p,
            line=getattr(exc, "lineno", None), remedy="restore the card from the original run folder.",
        ) from None
    if not isinstance(card, dict) or card.get("format") != FORMAT:
        raise ModelFileError("this is not an rnalabel model card.", path=p, remedy="check the folder.")
    for key in ("model", "views", "labels", "window", "stride", "inputs"):
        if key not in card:
            raise ModelFileError(f"the model card lacks {key!r}.", path=p, remedy="re-save the model.")
    return card


def _check_weights_file(path: Path) -> None:
    if not path.exists():
        raise ModelFileError(f"{path.name} is missing.", path=path.parent, remedy="copy the whole run folder.")
    with open(path, "rb") as f:
        head = f.read(16)
    if head.startswith(_PICKLE_MAGIC):
        raise ModelFileError(
            "this weights file is a pickle (or torch.save archive); rnalabel never unpickles files, since "
            "unpickling can run arbitrary code.",
            path=path,
            remedy="convert trusted weights to safetensors (safetensors.torch.save_file) first.",
        )
    if len(head) < 9:
        raise ModelFileError("the weights file is truncated.", path=path, remedy="copy it again.")
    n = int.from_bytes(head[:8], "little")
    if head[8:9] != b"{" or n <= 0 or n > path.stat().st_size:
        raise ModelFileError("not a safetensors file.", path=path, remedy="give the model.safetensors of a run.")


def load_model(directory: str | os.PathLike, *, device: str | torch.device | None = "cpu") -> LabelModel:
    """Load a model directory written by :func:`save_model`.

    Parameters
    ----------
    directory : path
    device : str, optional
        Where to put the module. Default is "cpu".

    Raises
    ------
    ModelFileError
        A missing, corrupt, mismatched or pickled file.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    d = Path(directory)
    card = read_card(d)
    wpath = d / WEIGHTS
    _check_weights_file(wpath)
    expected = (card.get("weights") or {}).get("sha256")
    if expected and _sha256(wpath) != expected:
        raise ModelFileError(
            "the weights file does not match the checksum recorded in card.json (damaged or swapped).",
            path=wpath,
            remedy="copy the run folder again from where it was trained.",
        )
    try:
        state = load_file(str(wpath), device="cpu")
    except (SafetensorError, OSError, ValueError) as exc:
        raise ModelFileError(f"cannot read the weights ({exc}).", path=wpath, remedy="copy it again.") from None
    try:
        views = views_from_specs(card["views"])
        inputs = [InputSpec(**s) for s in card["inputs"]]
        module = build_model(
            card["model"]["name"], inputs=inputs, n_labels=len(card["labels"]), params=card["model"]["params"]
        )
        recipe = Recipe.from_dict(card["recipe"], source=str(d / CARD)) if "recipe" in card else None
    except (ConfigError, TypeError, KeyError) as exc:
        raise ModelFileError(f"the model card cannot be used: {exc}", path=d / CARD) from None
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).splitlines()[0]
        raise ModelFileError(
            f"the weights do not fit the model the card describes ({first}).", path=wpath,
            remedy="keep model.safetensors and card.json of the same run together.",
        ) from None
    module.eval()
    if device is not None:
        module.to(device)
    labels = list(card["labels"])
    thr = card.get("thresholds") or {}
    return LabelModel(
        module=module,
        recipe=recipe or Recipe(name="unknown", model=card["model"]["name"]),
        views=views,
        inputs=inputs,
        label_names=labels,
        window=int(card["window"]),
        stride=int(card["stride"]),
        thresholds=np.asarray([float(thr.get(n, 0.5)) for n in labels]),
        card=card,
    )
