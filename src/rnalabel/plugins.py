"""Plugins: views and models from other packages (or your own scripts), found when a recipe or card names them.

A view or model is registered when its module is imported (``@register_view``, ``@register_model``). So that a
model using it can be trained, loaded and predicted with in any process and from the CLI, tell rnalabel which
modules to import:

* a package declares them as entry points in the group ``rnalabel.plugins`` (in its ``pyproject.toml``)::

      [project.entry-points."rnalabel.plugins"]
      mylab = "mylab.rnalabel_views"

* a script that is not installed: ``RNALABEL_PLUGINS=module[,module ...]`` (importable from ``PYTHONPATH``).

rnalabel imports them once, the first time a recipe or card names a view or model it does not know.
"""

from __future__ import annotations

import importlib
import os
from importlib.metadata import entry_points

from rnalabel.errors import ConfigError

GROUP = "rnalabel.plugins"
ENV = "RNALABEL_PLUGINS"
HOW = (f"a view or model from another module is found when that module is listed in the entry-point group "
       f"{GROUP} or in ${ENV}")
_loaded: list[str] | None = None


def load_plugins() -> list[str]:
    """Import every plugin module once (entry points of :data:`GROUP`, then ``$RNALABEL_PLUGINS``); returns their
    names. A plugin that fails to import raises :class:`ConfigError` naming it."""
    global _loaded
    if _loaded is not None:
        return _loaded
    names: list[str] = []
    for ep in entry_points(group=GROUP):
        try:
            ep.load()
        except Exception as exc:  # noqa: BLE001 - any failure of someone else's module
            raise ConfigError(f"plugin {ep.name!r} ({ep.value}) failed to import: {exc}",
                              remedy="fix or uninstall the package that declares it.") from None
        names.append(ep.value)
    for mod in filter(None, (m.strip() for m in os.environ.get(ENV, "").split(","))):
        try:
            importlib.import_module(mod)
        except Exception as exc:  # noqa: BLE001
            raise ConfigError(f"plugin module {mod!r} from ${ENV} failed to import: {exc}",
                              remedy=f"check the module name and PYTHONPATH, or unset {ENV}.") from None
        names.append(mod)
    _loaded = names
    return names
