"""A trained model as a bundle: the network, everything needed to use it, and its files.

:class:`Bundle` is what :func:`rnalabel.engine.training.fit` returns and every caller (predict, evaluate,
explain, the server) takes. Its **kind** (:mod:`rnalabel.engine.kinds`: ``windowed``, ``whole-sequence``,
``embedding``) says what one input is and what comes out.

On disk a bundle is a directory (:func:`save_model`, :func:`load_model`)::

    model.safetensors     the weights (safetensors: no code runs when they are read)
    card.json             format_version, kind, labels (and what they mean), views and their parameters, inputs,
                          model class and hyper-parameters, recipe, window/stride, thresholds, provenance,
                          metrics, package version, and the SHA-256 of the weights and of every artifact
    artifacts/            named non-weight files (word2vec vectors, vocabularies, similarity indexes, protein
                          tables): .npy arrays (read with allow_pickle=False), .json, or raw bytes (.faiss, .bin)

Loading never unpickles, checks every checksum, and refuses a file that is swapped, damaged or pickled. Card
format 1 (the first release: windowed models, no artifacts) still loads.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from rnalabel import __version__
from rnalabel.data import Dataset, Windows, atomic_path, jsonable, label_index, write_text_atomic
from rnalabel.data.files import sha256_file
from rnalabel.engine.inputs import make_units
from rnalabel.engine.kinds import Kind, get_kind
from rnalabel.engine.recipe import Recipe
from rnalabel.errors import ConfigError, ModelFileError, a_or_an
from rnalabel.models.registry import InputSpec, build_model, config_to_dict, model_class
from rnalabel.views.base import View, featurize, views_from_specs

WEIGHTS = "model.safetensors"
CARD = "card.json"
ARTIFACTS = "artifacts"
#: artifacts named ``view.<view name>.<key>`` belong to a view (see rnalabel.views.base.View.artifacts)
VIEW_ARTIFACT = "view."
FORMAT = "rnalabel-model"
FORMAT_VERSION = 2
#: artifact format -> file suffix
ARTIFACT_FORMATS = {"npy": ".npy", "json": ".json", "faiss": ".faiss", "bytes": ".bin"}
_ARTIFACT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")

# First bytes of files that must never be deserialised: pickle protocols 2-5 and torch.save's zip container.
_PICKLE_MAGIC = (b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05", b"PK\x03\x04")


class UntrainedLabelWarning(UserWarning):
    """A label whose training data had no positive or no negative example: the model learned nothing for it."""


class ShortSequenceWarning(UserWarning):
    """Sequences shorter than anything the model was trained on, given to a model that never saw padding."""


class UninformativeSequenceWarning(UserWarning):
    """Sequences with no A, C, G or U (all N or other ambiguity codes): scored, but no label is called for them."""


class UnreliableLabelWarning(UserWarning):
    """Labels whose stored validation AUROC is below :data:`RELIABLE_AUROC`: their calls are little better than chance."""


RELIABLE_AUROC = 0.6


class RememberedRowsWarning(UserWarning):
    """Sequences the model holds with their labels (a neighbours view's training rows): answered from memory."""


def warn_remembered(model: Bundle, dataset: Dataset) -> None:
    """One warning when rows of ``dataset`` are training rows a view of ``model`` holds with their labels."""
    n = 0
    for view in model.views.values():
        n = max(n, int(np.asarray(view.remembered(dataset)).sum()))
    if n:
        warnings.warn(f"{n} of these {len(dataset)} sequences are training rows this model keeps with their labels "
                      "(its neighbours view): their scores echo those labels, they are not held-out predictions.",
                      RememberedRowsWarning, stacklevel=3)


@dataclass
class Artifact:
    """A named non-weight part of a bundle.

    Attributes
    ----------
    value : numpy.ndarray, JSON-able object, or bytes
        An array (stored as .npy, never pickled: object arrays are refused), a JSON-able value (dict, list ...),
        or raw bytes (a serialised faiss index ...).
    format : "npy", "json", "faiss" or "bytes"
    description : str
        What it holds, for the card. Default is "".
    """

    value: Any
    format: str
    description: str = ""

    def __post_init__(self) -> None:
        if self.format not in ARTIFACT_FORMATS:
            raise ConfigError(f"unknown artifact format {self.format!r}.",
                              remedy=f"choose one of: {', '.join(ARTIFACT_FORMATS)}.")
        if self.format == "npy":
            self.value = np.asarray(self.value)
            if self.value.dtype == object:
                raise ConfigError("an npy artifact cannot hold Python objects (it would need pickle).",
                                  remedy="store numbers as an array, and text as a json artifact.")
        elif self.format in ("faiss", "bytes") and not isinstance(self.value, bytes | bytearray):
            raise ConfigError(f"a {self.format} artifact holds bytes, not {type(self.value).__name__}.")


@dataclass
class Bundle:
    """A trained model and everything needed to use it.

    Attributes
    ----------
    module : torch.nn.Module
        Takes ``{view name: tensor}``, returns (N, K) logits (and, for embedding models, ``embed`` (N, D)).
    recipe : Recipe
        The recipe it was trained with (views with data-dependent parameters filled in).
    views : dict of str to View
    inputs : list of InputSpec
    label_names : list of str
    window : int or None
        ``windowed``: the width of a window in nt (longer sequences are scanned). Other kinds: the input width
        (sequences are padded to it and longer ones refused), or None when every view is per-sequence (no limit).
    stride : int or None
        Scanning stride (``windowed`` only).
    thresholds : numpy.ndarray, shape=(K,)
        Per-label decision thresholds (chosen on validation data).
    kind : str
        ``windowed``, ``whole-sequence`` or ``embedding`` (see :mod:`rnalabel.engine.kinds`). Default is
        "windowed".
    label_info : dict of str to dict
        What labels mean, by label name (e.g. ``{"PUM2_K562": {"proteins": ["PUM2"]}}``). Default is {}.
    artifacts : dict of str to Artifact
        Named non-weight parts, saved under ``artifacts/`` with their checksums. Default is {}.
    card : dict
        Everything else the model card records (provenance, metrics, history ...).
    """

    module: nn.Module
    recipe: Recipe
    views: dict[str, View]
    inputs: list[InputSpec]
    label_names: list[str]
    window: int | None
    stride: int | None
    thresholds: np.ndarray
    kind: str = "windowed"
    label_info: dict[str, dict[str, Any]] = field(default_factory=dict)
    artifacts: dict[str, Artifact] = field(default_factory=dict)
    card: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        get_kind(self.kind)

    @property
    def n_labels(self) -> int:
        return len(self.label_names)

    @property
    def kind_info(self) -> Kind:
        """What this bundle's kind means for its callers."""
        return get_kind(self.kind)

    def units(self, dataset: Dataset) -> Windows:
        """The model inputs of ``dataset`` before featurisation: windows, or whole (padded) sequences.

        Every use of a bundle on sequences goes through here, so this is where a :class:`ShortSequenceWarning`
        is raised when sequences are shorter than any the model was trained on and it was trained without
        shortened copies (see :func:`short_input_note`), and an :class:`UntrainedLabelWarning` when the card marks
        labels as untrained.
        """
        note = short_input_note(self, dataset)
        if note is not None:
            warnings.warn(note, ShortSequenceWarning, stacklevel=2)
        untrained = self.card.get("untrained_labels") or []
        if untrained:
            warnings.warn(f"label(s) {', '.join(map(str, untrained))} had no positive or no negative training "
                          "example: the model learned nothing for them, and their scores mean nothing.",
                          UntrainedLabelWarning, stacklevel=2)
        return make_units(dataset, kind=self.kind, window=self.window, stride=self.stride)

    def featurize(self, units: Dataset) -> dict[str, np.ndarray]:
        """The model's input arrays for ``units`` (rows that are already units: see :meth:`units`)."""
        return featurize(self.views, units)

    def label_index(self, label: str | int) -> int:
        """Column of ``label`` (a name or a column number); unknown labels raise ``LabelError``."""
        return label_index(self.label_names, label, owner="the model")


# files ------------------------------------------------------------------------------------------------------
def _labels_digest(labels: list[str]) -> str:
    """SHA-256 of the label list in order: stored in the weights file, so a card whose labels were reordered,
    renamed, added or removed is refused instead of relabelling the outputs silently."""
    return hashlib.sha256(json.dumps([str(n) for n in labels]).encode()).hexdigest()



def make_card(model: Bundle) -> dict[str, Any]:
    """The JSON card of ``model`` (without the checksums, which :func:`save_model` adds)."""
    cfg = getattr(model.module, "config", None)
    params = config_to_dict(cfg) if cfg is not None else dict(model.recipe.params)
    card = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "kind": model.kind,
        "rnalabel_version": __version__,
        "model": {"name": model.recipe.model, "params": params},
        "recipe": model.recipe.to_dict(),
        "views": {name: v.spec() for name, v in model.views.items()},
        "inputs": [asdict(s) for s in model.inputs],
        "labels": list(model.label_names),
        "window": None if model.window is None else int(model.window),
        "stride": None if model.stride is None else int(model.stride),
        "thresholds": {n: float(t) for n, t in zip(model.label_names, model.thresholds, strict=True)},
    }
    if model.label_info:
        card["label_info"] = model.label_info
    extra = {k: v for k, v in model.card.items() if k not in card and k not in ("weights", "artifacts")}
    card.update(extra)
    return jsonable(card)


def _write_artifact(d: Path, name: str, art: Artifact) -> dict[str, str]:
    if not _ARTIFACT_NAME.match(name):
        raise ConfigError(f"artifact name {name!r} is not a plain file name.",
                          remedy="use letters, digits, '_', '-' and '.', starting with a letter or digit.")
    rel = f"{ARTIFACTS}/{name}{ARTIFACT_FORMATS[art.format]}"
    with atomic_path(d / rel) as tmp:
        if art.format == "npy":
            with open(tmp, "wb") as fh:
                np.save(fh, art.value, allow_pickle=False)
        elif art.format == "json":
            tmp.write_text(json.dumps(jsonable(art.value)))
        else:
            tmp.write_bytes(bytes(art.value))
    return {"file": rel, "format": art.format, "sha256": sha256_file(d / rel), "description": art.description}


# card fields that change what a model answers for a sequence (featurisation, scanning, architecture): their digest
# travels in the weights file, so an edited stride or pad_value is refused instead of giving other numbers
BEHAVIOUR_FIELDS = ("kind", "window", "stride", "views", "model", "inputs")


def _behaviour_digest(card: dict[str, Any]) -> str:
    fields = {k: card.get(k) for k in BEHAVIOUR_FIELDS}
    return hashlib.sha256(json.dumps(jsonable(fields), sort_keys=True).encode()).hexdigest()


def save_model(model: Bundle, directory: str | os.PathLike) -> Path:
    """Write ``model.safetensors``, the artifacts and ``card.json`` into ``directory`` (created if needed), each
    file atomically; the card is written last, so a directory with a card is complete.

    Returns
    -------
    pathlib.Path
        The directory.
    """
    from safetensors.torch import save_file

    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().to("cpu").contiguous().clone() for k, v in model.module.state_dict().items()}
    card = make_card(model)
    with atomic_path(d / WEIGHTS) as tmp:
        save_file(state, str(tmp), metadata={"format": FORMAT, "labels_sha256": _labels_digest(model.label_names),
                                             "card_behaviour_sha256": _behaviour_digest(card)})
    arts = dict(model.artifacts)
    for vname, view in model.views.items():  # what fitted views learned (vectors, vocabularies)
        for key, value in view.artifacts().items():
            fmt = "npy" if isinstance(value, np.ndarray) else "bytes" if isinstance(value, bytes | bytearray) else "json"
            arts[f"{VIEW_ARTIFACT}{vname}.{key}"] = Artifact(value, fmt, f"{view.type} view {vname!r}: {key}")
    card["artifacts"] = {name: _write_artifact(d, name, art) for name, art in arts.items()}
    card["weights"] = {"file": WEIGHTS, "sha256": sha256_file(d / WEIGHTS)}
    write_text_atomic(d / CARD, json.dumps(card, indent=2) + "\n")
    model.card = dict(card)
    return d


def read_card(directory: str | os.PathLike) -> dict[str, Any]:
    """Read and check ``card.json`` of a model directory (or zoo name); a format-1 card is read as a ``windowed`` one."""
    from rnalabel.zoo import model_path

    d = model_path(directory)
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
    version = card.get("format_version", 1)
    if version not in (1, FORMAT_VERSION):
        raise ModelFileError(
            f"the card has format_version {version!r}; this rnalabel ({__version__}) reads versions 1 and "
            f"{FORMAT_VERSION}.", path=p, remedy="use the rnalabel release that wrote the model, or a newer one.",
        )
    required = ("model", "views", "labels", "inputs") + (("window", "stride") if version == 1 else ("kind",))
    for key in required:
        if key not in card:
            raise ModelFileError(f"the model card lacks {key!r}.", path=p, remedy="re-save the model.")
    for key, (kind, what) in _CARD_TYPES.items():
        if key in card and (card[key] is not None or key in required) and not isinstance(card[key], kind):
            raise ModelFileError(f"the card's {key!r} must be {what}, not {type(card[key]).__name__}.", path=p,
                                 remedy="restore card.json from the run folder it was written in.")
    if not all(isinstance(n, str) for n in card["labels"]) or not all(isinstance(s, dict) for s in card["inputs"]):
        raise ModelFileError("the card's labels must be names and its inputs objects.", path=p,
                             remedy="restore card.json from the run folder it was written in.")
    if version == 1:  # the first release wrote windowed models only, without artifacts
        card = {**card, "kind": "windowed", "artifacts": {}}
    return card


#: the JSON type of each top-level card entry rnalabel reads
_CARD_TYPES = {
    "model": (dict, "an object"), "views": (dict, "an object"), "inputs": (list, "a list"),
    "labels": (list, "a list"), "label_info": (dict, "an object"), "thresholds": (dict, "an object"),
    "artifacts": (dict, "an object"), "weights": (dict, "an object"), "recipe": (dict, "an object"),
    "kind": (str, "text"), "training": (dict, "an object"),
}


def _check_weights_file(path: Path) -> None:
    if not path.exists():
        raise ModelFileError(f"{path.name} is missing.", path=path.parent, remedy="copy the whole run folder.")
    with open(path, "rb") as f:
        head = f.read(16)
    n = int.from_bytes(head[:8], "little") if len(head) >= 9 else 0
    # a safetensors header length can begin with a pickle's bytes (640 = b"\x80\x02..."): a file that reads as a
    # safetensors header is one (its reader never unpickles); only the rest is checked for pickle magic
    looks_safetensors = head[8:9] == b"{" and 0 < n <= path.stat().st_size
    if not looks_safetensors and head.startswith(_PICKLE_MAGIC):
        raise ModelFileError(
            "this weights file is a pickle (or torch.save archive); rnalabel never unpickles files, since "
            "unpickling can run arbitrary code.",
            path=path,
            remedy="convert trusted weights to safetensors (safetensors.torch.save_file) first.",
        )
    if len(head) < 9:
        raise ModelFileError("the weights file is truncated.", path=path, remedy="copy it again.")
    if not looks_safetensors:
        raise ModelFileError("not a safetensors file.", path=path, remedy="give the model.safetensors of a run.")


def _read_artifact(d: Path, name: str, entry: Any) -> Artifact:
    card = d / CARD
    if not isinstance(entry, dict) or not {"file", "format", "sha256"} <= set(entry):
        raise ModelFileError(f"artifact {name!r} in the card lacks file, format or sha256.", path=card,
                             remedy="re-save the model.")
    rel, fmt = str(entry["file"]), entry["format"]
    path = (d / rel).resolve()
    if Path(rel).is_absolute() or ".." in Path(rel).parts or d.resolve() / ARTIFACTS not in path.parents:
        raise ModelFileError(f"artifact {name!r} points outside the model's {ARTIFACTS}/ folder ({rel}).",
                             path=card, remedy="artifacts must live inside the model directory.")
    if fmt not in ARTIFACT_FORMATS:
        raise ModelFileError(f"artifact {name!r} has unknown format {fmt!r}.", path=card)
    if not path.is_file():
        raise ModelFileError(f"artifact {name!r} is missing.", path=d / rel, remedy="copy the whole run folder.")
    if sha256_file(path) != entry["sha256"]:
        raise ModelFileError(f"artifact {name!r} does not match the checksum recorded in card.json (damaged or "
                             "swapped).", path=d / rel, remedy="copy the run folder again from where it was trained.")
    try:
        if fmt == "npy":
            value = np.load(path, allow_pickle=False)
        elif fmt == "json":
            value = json.loads(path.read_text())
        else:
            value = path.read_bytes()
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        raise ModelFileError(f"cannot read artifact {name!r} as {fmt} ({exc}); rnalabel never unpickles.",
                             path=d / rel, remedy="copy it again.") from None
    return Artifact(value, fmt, str(entry.get("description", "")))


def load_model(directory: str | os.PathLike, *, device: str | torch.device | None = "cpu") -> Bundle:
    """Load a model directory written by :func:`save_model` (card format 2, or 1 from the first release), or a zoo
    model by name (``load_model("rbp31")``; an existing path always wins, see :func:`rnalabel.zoo.model_path`).

    Parameters
    ----------
    directory : path or zoo name
    device : str, optional
        Where to put the module. Default is "cpu".

    Raises
    ------
    ModelFileError
        A missing, corrupt, mismatched or pickled file.
    """
    from safetensors import SafetensorError, safe_open
    from safetensors.torch import load_file

    from rnalabel.zoo import model_path

    d = model_path(directory)
    card = read_card(d)
    wpath = d / WEIGHTS
    _check_weights_file(wpath)
    expected = (card.get("weights") or {}).get("sha256") if isinstance(card.get("weights"), dict) else None
    if expected is None and card.get("format_version") == FORMAT_VERSION:
        raise ModelFileError("the model card lacks the checksum of the weights (weights.sha256).", path=d / CARD,
                             remedy="re-save the model with save_model, or copy the run folder again.")
    if expected and sha256_file(wpath) != expected:
        raise ModelFileError(
            "the weights file does not match the checksum recorded in card.json (damaged or swapped).",
            path=wpath,
            remedy="copy the run folder again from where it was trained.",
        )
    try:
        state = load_file(str(wpath), device="cpu")
        with safe_open(str(wpath), framework="pt") as fh:
            meta = fh.metadata() or {}
    except (SafetensorError, OSError, ValueError) as exc:
        raise ModelFileError(f"cannot read the weights ({exc}).", path=wpath, remedy="copy it again.") from None
    digest = meta.get("labels_sha256")
    if digest is not None and isinstance(card.get("labels"), list) and digest != _labels_digest(card["labels"]):
        raise ModelFileError(
            "the card's labels are not the ones the weights were trained with, in that order (reordered, renamed, "
            "added or removed): its outputs would be read under the wrong names.", path=d / CARD,
            remedy="restore card.json from the run folder it was written in.")
    entries = card.get("artifacts") or {}
    artifacts = {name: _read_artifact(d, name, e) for name, e in entries.items()}
    try:
        kind = get_kind(card["kind"]).name
        if kind not in model_class(card["model"]["name"]).kinds:
            raise ConfigError(f"model {card['model']['name']!r} does not serve the {kind} kind.")
        views = views_from_specs(card["views"])
        inputs = [InputSpec(**s) for s in card["inputs"]]
        module = build_model(
            card["model"]["name"], inputs=inputs, n_labels=len(card["labels"]), params=card["model"]["params"]
        )
        recipe = Recipe.from_dict(card["recipe"], source=str(d / CARD)) if "recipe" in card else None
        labels = [str(n) for n in card["labels"]]
        thr = card.get("thresholds") or {}
        thresholds = np.asarray([float(thr.get(n, 0.5)) for n in labels])
        bad = [n for n, t in zip(labels, thresholds, strict=True) if not 0.0 <= t <= 1.0]  # NaN fails too
        if bad:
            raise ConfigError(f"the threshold of label {bad[0]!r} is {thr.get(bad[0])!r}; a threshold is a "
                              "probability between 0 and 1.",
                              remedy="set it between 0 and 1 in card.json, or restore the card.")
        window = None if card.get("window") is None else _whole(card["window"], "window")
        stride = None if card.get("stride") is None else _whole(card["stride"], "stride")
        if get_kind(kind).scans and not (window and stride):
            raise ConfigError(f"{a_or_an(kind)} model needs a window and a stride; the card gives {window} and "
                              f"{stride} (its kind edited?).")
    except (ConfigError, TypeError, KeyError, ValueError, AttributeError) as exc:
        why = exc.message if isinstance(exc, ConfigError) else str(exc)
        remedy = exc.remedy if isinstance(exc, ConfigError) and exc.remedy else \
            "restore card.json from the run folder it was written in."
        raise ModelFileError(f"the model card cannot be used: {why}", path=d / CARD, remedy=remedy) from None
    views = _views_with_artifacts(views, artifacts, d / CARD)
    for vname, view in views.items():  # a view built from labelled rows (neighbours) names the labels it gives
        names = getattr(view, "label_names", None)
        if names is not None and [str(n) for n in names] != [str(n) for n in card["labels"]]:
            raise ModelFileError(f"view {vname!r} gives the labels {', '.join(map(str, names))}, but the card's "
                                 f"labels are {', '.join(map(str, card['labels']))}.", path=d / CARD,
                                 remedy="keep the artifacts/ folder and card.json of the same run together.")
    _check_inputs(views, inputs, kind, window, d / CARD)
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).splitlines()[0]
        raise ModelFileError(
            f"the weights do not fit the model the card describes ({first}).", path=wpath,
            remedy="keep model.safetensors and card.json of the same run together.",
        ) from None
    behaviour = meta.get("card_behaviour_sha256")
    if behaviour is not None and behaviour != _behaviour_digest(card):
        raise ModelFileError(
            "the card's featurisation, scanning or architecture fields (" + ", ".join(BEHAVIOUR_FIELDS) + ") are not "
            "the ones the model was trained with (edited?): its answers would change.", path=d / CARD,
            remedy="restore card.json from the run folder it was written in.")
    module.eval()
    if device is not None:
        module.to(device)
    return Bundle(
        module=module,
        recipe=recipe or Recipe(name="unknown", model=card["model"]["name"]),
        views=views,
        inputs=inputs,
        label_names=labels,
        window=window,
        stride=stride,
        thresholds=thresholds,
        kind=kind,
        label_info=dict(card.get("label_info") or {}),
        artifacts=artifacts,
        card=card,
    )


def _views_with_artifacts(views: dict[str, View], artifacts: dict[str, Artifact], card: Path) -> dict[str, View]:
    """Give each view the artifacts saved for it (``view.<name>.<key>``), taking them out of ``artifacts``."""
    from dataclasses import fields as dc_fields

    out = {}
    for vname, view in views.items():
        declared = [f.name for f in dc_fields(view) if f.metadata.get("artifact")]
        mine = {k: artifacts.pop(f"{VIEW_ARTIFACT}{vname}.{k}").value for k in declared
                if f"{VIEW_ARTIFACT}{vname}.{k}" in artifacts}
        try:
            out[vname] = view.with_artifacts(mine)
        except Exception as exc:  # noqa: BLE001 - the view's own checks, torch, safetensors
            why = exc.message if isinstance(exc, ConfigError) else f"{type(exc).__name__}: {exc}"
            raise ModelFileError(f"view {vname!r} cannot take its saved artifacts: {why}", path=card,
                                 remedy="keep the artifacts/ folder and card.json of the same run together.") from None
    return out


def _check_inputs(views: dict[str, View], inputs: list[InputSpec], kind: str, window: int | None, card: Path) -> None:
    """Featurise one unit of ``window`` nt and check the shapes against the card's inputs (an edited window or
    view parameter would otherwise fail deep inside the model). Views that need more than a sequence (a region
    track) are left to fail at use, with their own message."""
    if not window:
        return
    probe = make_units(Dataset.from_sequences(["probe"], ["ACGU" * (window // 4) + "ACG"[: window % 4]]),
                       kind=kind, window=window, stride=window).dataset
    for spec in inputs:
        view = views.get(spec.name)
        if view is None:
            raise ModelFileError(f"the card lists input {spec.name!r} but no view of that name.", path=card,
                                 remedy="restore card.json from the run folder it was written in.")
        try:
            a = view.transform(probe)
        except Exception:  # noqa: BLE001 - a view that needs data a bare sequence does not have
            continue
        got = (int(a.shape[1]), int(a.shape[2]) if a.ndim > 2 else 0)
        if got != (spec.channels, spec.length):
            raise ModelFileError(
                f"with the card's window ({window} nt) view {spec.name!r} gives inputs of {got[0]} x {got[1]}, but the "
                f"weights were trained on {spec.channels} x {spec.length}.", path=card,
                remedy="restore the card's window and view parameters from the run folder it was written in.")


def _whole(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a whole number of at least 1, got {value!r}")
    return value


def short_input_note(model: Bundle, dataset: Dataset) -> str | None:
    """A warning text when ``dataset`` has sequences shorter than the shortest the model was trained on and the
    model was trained without shortened copies (``short_copies``), so their padding may be scored as binding.

    The shortest training length is read from the card (``training.lengths``); cards without it (the first
    release's) fall back to a windowed model's window. None when there is nothing to say, and for a model that
    never reads padding (``masks_zero_padding``, e.g. DeepMiRBP's packed BiLSTM) whose views all pad with 0.
    """
    if getattr(model.module, "masks_zero_padding", False) and all(
            getattr(v, "pad_value", None) == 0 for v in model.views.values()):
        return None
    training = model.card.get("training") or {}
    if training.get("short_copies", 0) or not len(dataset) or all(s.kind == "sequence" for s in model.inputs):
        return None  # copies taught it, nothing to say, or no view has padding (per-sequence views only)
    shortest = (training.get("lengths") or {}).get("min")
    if shortest is None:
        shortest = model.window if model.kind == "windowed" else None
    if not shortest:
        return None
    n_short = int(np.sum(dataset.lengths < shortest))
    if not n_short:
        return None
    return (f"{n_short} of {len(dataset)} sequences are shorter than the {shortest} nt of the shortest training "
            "sequence, and this model was trained without shortened copies: its scores for them count padding "
            "as sequence and may call labels on padding alone. Retrain with short_copies (the default recipe "
            "has it) before trusting them.")
