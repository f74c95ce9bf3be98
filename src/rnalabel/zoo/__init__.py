"""The model zoo: trained models shipped inside the package, usable by name wherever a model folder is accepted.

Each zoo model is an ordinary model folder (``model.safetensors`` + ``card.json`` + ``artifacts/``, checksums
verified on load) under ``rnalabel/zoo/models/NAME/``. :func:`model_path` turns what a user typed into a folder:
an existing path always wins; otherwise a zoo name gives the zoo folder; anything else is a
:class:`~rnalabel.errors.ModelFileError` that lists the zoo. :func:`rnalabel.engine.bundle.load_model` and
``read_card`` call it, so ``rnalabel predict rbp31 my.fa`` and ``load_model("mirloc")`` both work.

Each zoo model is made by one command on the public data (:mod:`rnalabel.zoo.build`)::

    python -m rnalabel.zoo build rbp31 --data ../shared/data
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from rnalabel.errors import ModelFileError

ZOO_DIR = Path(__file__).resolve().parent / "models"


def names() -> list[str]:
    """The zoo models present in this installation, sorted."""
    if not ZOO_DIR.is_dir():
        return []
    return sorted(p.name for p in ZOO_DIR.iterdir() if (p / "card.json").is_file())


def _looks_like_name(text: str) -> bool:
    return bool(text) and os.sep not in text and "/" not in text and not text.startswith(".")


def model_path(model: str | os.PathLike) -> Path:
    """The model folder that ``model`` names: an existing path as it is, else the zoo model of that name.

    Raises
    ------
    ModelFileError
        ``model`` is neither an existing path nor a zoo name (the message lists the zoo).
    """
    p = Path(model)
    if p.exists():
        return p
    text = os.fspath(model)
    if _looks_like_name(text):
        if text in names():
            return ZOO_DIR / text
        zoo = ", ".join(names()) or "none in this installation"
        raise ModelFileError(f"is neither a model folder nor a zoo model (zoo: {zoo}).", path=p,
                             remedy="give a run folder, or a zoo name (`rnalabel models` lists them).")
    return p


def is_zoo(model: str | os.PathLike) -> bool:
    """Whether ``model`` resolves to a zoo model (a name, not a path that exists)."""
    try:
        return model_path(model).resolve().parent == ZOO_DIR
    except ModelFileError:
        return False


def describe(name: str) -> dict[str, Any]:
    """One zoo model's summary, read from its card (no weights loaded): what ``rnalabel models`` prints."""
    d = ZOO_DIR / name
    card = json.loads((d / "card.json").read_text())
    zoo = card.get("zoo") or {}
    test = ((card.get("metrics") or {}).get("test") or {}).get("averages") or {}
    val = ((card.get("metrics") or {}).get("val") or {}).get("averages") or {}
    size = sum(f.stat().st_size for f in d.rglob("*") if f.is_file())
    return {
        "name": name,
        "kind": card.get("kind"),
        "model": (card.get("model") or {}).get("name"),
        "labels": list(card.get("labels") or []),
        "proteins": zoo.get("proteins"),
        "data": zoo.get("data"),
        "licence": zoo.get("licence"),
        "test_auroc_macro": test.get("auroc_macro"),
        "test_ap_macro": test.get("ap_macro"),
        "val_auroc_macro": val.get("auroc_macro"),
        "epochs": zoo.get("epochs"),
        "size_bytes": size,
        "commit": zoo.get("commit"),
        "note": zoo.get("note"),
        "calls": zoo.get("calls") or {},
        "calls_on": zoo.get("calls_on"),
    }
