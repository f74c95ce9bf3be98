"""The kinds of trained model, and what each means for the callers that use one.

A bundle's card says its kind; prediction, evaluation, explanation (and later the server) dispatch on it, never on
view types:

============== ============================================================= =====================================
kind           what one input is                                             what predict returns
============== ============================================================= =====================================
windowed       a window of ``window`` nt; a longer RNA is scanned with       per-label probabilities per window;
               ``stride`` (the last window ends at the last base), a         a sequence scores the max over its
               shorter one padded                                            windows (RBP binding)
whole-sequence the whole sequence (padded to ``window`` nt when the model    per-label probabilities per
               has per-position or pairwise inputs; longer ones refused)     sequence (miRNA localisation)
embedding      the whole sequence, as for whole-sequence                     one vector per sequence, for a
                                                                             similarity index (DeepMiRBP)
============== ============================================================= =====================================

Every kind is trained the same way (masked multi-label loss on the model's logits); an embedding model's
``embed`` gives the vectors, its logits (the training head) can still be scored and explained.
"""

from __future__ import annotations

from dataclasses import dataclass

from rnalabel.errors import ConfigError
from rnalabel.models.registry import KINDS


@dataclass(frozen=True)
class Kind:
    """What a kind of bundle means for its callers.

    Attributes
    ----------
    name : str
    scans : bool
        Long sequences are cut into windows and a sequence scores the max over them; otherwise one input per
        sequence and sequences longer than the input width are refused.
    output : "probabilities" or "vectors"
        What :func:`rnalabel.engine.predict.predict` returns.
    summary : str
    """

    name: str
    scans: bool
    output: str
    summary: str


_KINDS = {
    "windowed": Kind("windowed", True, "probabilities",
                     "per-window label probabilities; a sequence scores the max over its windows"),
    "whole-sequence": Kind("whole-sequence", False, "probabilities", "one label-probability vector per sequence"),
    "embedding": Kind("embedding", False, "vectors", "one vector per sequence, for similarity search"),
}
assert tuple(_KINDS) == KINDS


def get_kind(name: str) -> Kind:
    """The :class:`Kind` called ``name``; unknown names raise :class:`ConfigError` listing the kinds."""
    try:
        return _KINDS[name]
    except (KeyError, TypeError):
        raise ConfigError(f"unknown model kind {name!r}.", remedy=f"choose one of: {', '.join(KINDS)}.") from None
