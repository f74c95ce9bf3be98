"""rnalabel: multi-view, multi-label deep learning for RNA.

Which proteins bind an RNA, and where in the cell it goes. See the README for a tour of the CLI and the API.

The calls most scripts need are importable from here (loaded on first use, so ``import rnalabel`` stays fast)::

    from rnalabel import Dataset, read_input, load_recipe, fit, save_model, load_model, predict, evaluate
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

#: name -> module of the short API (imported lazily)
_API = {
    "Dataset": "rnalabel.data",
    "split_iterative": "rnalabel.data",
    "read_input": "rnalabel.io",
    "read_protein_fasta": "rnalabel.io",
    "Recipe": "rnalabel.engine.recipe",
    "load_recipe": "rnalabel.engine.recipe",
    "fit": "rnalabel.engine.training",
    "Bundle": "rnalabel.engine.bundle",
    "save_model": "rnalabel.engine.bundle",
    "load_model": "rnalabel.engine.bundle",
    "predict": "rnalabel.engine.predict",
    "evaluate": "rnalabel.engine.evaluate",
}

__all__ = ["__version__", *_API]


def __getattr__(name: str):
    if name in _API:
        value = getattr(importlib.import_module(_API[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'rnalabel' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_API))
