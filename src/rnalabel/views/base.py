"""What a view is, and the registry that rebuilds views from a model card.

A view is a pure function ``Dataset -> float32 array`` wrapped in a small class that only stores its parameters
(the kipoiseq pattern). Per-position views return ``(N, C, L)``, per-sequence views ``(N, D)``, pairwise views
``(N, C, L, L)``. A view's :meth:`View.spec` is what the model card stores; :func:`build_view` turns it back into
the same view, so ``predict`` rebuilds the exact featurisation from the card alone.

Writing a view: a frozen dataclass of its parameters, decorated with :func:`register_view`, with class attributes
``type`` (its name in recipes and cards) and ``kind``, and methods :meth:`View.channels` and
:meth:`View.transform`. The rows it gets are the model's units (windows, or whole sequences), padded to one
width: positions at or past ``dataset.lengths[i]`` are padding (token 4) and must not be read as sequence.
Override :meth:`View.to_nucleotides` (or :meth:`View.position_map`) when its attributions can be put on the RNA
in a way the default does not know. See DESIGN.md, "Extending rnalabel".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any, ClassVar, Literal, NamedTuple

import numpy as np

from rnalabel.errors import ConfigError, SequenceError
from rnalabel.views.mapping import NucleotideMap, pair_track, positions_track

if TYPE_CHECKING:
    from rnalabel.data import Dataset

#: per-position (N, C, L), per-sequence (N, D) or pairwise (N, C, L, L)
ViewKind = Literal["position", "sequence", "pair"]
VIEW_KINDS = ("position", "sequence", "pair")


class Folding(NamedTuple):
    """A per-sequence computation that is cached by content: what a folding view hands to :func:`fold_cached`.

    Attributes
    ----------
    func : callable str -> numpy.ndarray of shape (channels, m)
        Module-level (or a ``functools.partial`` of one), so that other processes can run it.
    key : str
        Everything besides the sequence that determines the result (program version, parameters).
    channels : int
        First dimension of every result.
    """

    func: Callable[[str], np.ndarray]
    key: str
    channels: int


def refuse_longer(dataset: Dataset, limit: int, what: str, remedy: str) -> None:
    """Raise :class:`SequenceError` (naming the first such sequence and the file it came from) when a sequence is
    longer than the ``limit`` nt that ``what`` ("this whole-sequence model takes", "the lm view covers") allows:
    nothing is cut silently."""
    too_long = np.flatnonzero(np.asarray(dataset.lengths) > limit)
    if len(too_long):
        i = int(too_long[0])
        raise SequenceError(f"sequence {dataset.ids[i]!r} is {int(dataset.lengths[i])} nt long, longer than the "
                            f"{limit} nt {what} ({len(too_long)} sequence(s) are).", remedy=remedy,
                            path=(dataset.provenance or {}).get("source") or None)


@dataclass(frozen=True)
class View:
    """Base class: subclasses are frozen dataclasses of parameters plus :meth:`transform`.

    Class attributes
    ----------------
    type : str
        Registry name, stored in the card.
    kind : "position", "sequence" or "pair"
        Per-position views return (N, C, L); per-sequence views return (N, D); pairwise views (N, C, L, L)
        (a base-pairing probability or contact map).
    logo : bool
        True for a view that is the sequence itself (the nucleotide one-hot): explain draws its attributions as
        the sequence logo, and :meth:`tokens_from_array` reads the sequence back from it. Default is False.
    """

    type: ClassVar[str] = ""
    kind: ClassVar[ViewKind] = "position"
    logo: ClassVar[bool] = False

    def channels(self, dataset: Dataset | None = None) -> int:
        """Number of channels C (per-position, pairwise) or dimensions D (per-sequence).

        ``dataset`` is needed only by views whose width depends on the data (e.g. the region track's categories).
        """
        raise NotImplementedError

    def channel_names(self, dataset: Dataset | None = None) -> list[str]:
        """A short name per channel (per-position, pairwise) or dimension (per-sequence), for plots and tables.

        Default: ``"<type>:<i>"``; views whose channels mean something (bases, region types, paired/unpaired,
        loop contexts) override it.
        """
        return [f"{self.type}:{i}" for i in range(self.channels(dataset))]

    def transform(self, dataset: Dataset) -> np.ndarray:
        """Featurise every row of ``dataset``; shape (N, C, L), (N, D) or (N, C, L, L), float32. Positions at or
        past ``dataset.lengths`` are padding."""
        raise NotImplementedError

    def __call__(self, dataset: Dataset) -> np.ndarray:
        return self.transform(dataset)

    def transform_training(self, dataset: Dataset) -> np.ndarray:
        """Featurise the training units (the rows :meth:`fit` saw, their windows and shortened copies): what
        training calls for them, and only for them. Default: :meth:`transform`. A view whose output is built
        from the training rows themselves (``neighbours``) overrides it, so that no training row is its own
        evidence; validation, test, prediction and explanation always go through :meth:`transform`."""
        return self.transform(dataset)

    def remembered(self, dataset: Dataset) -> np.ndarray:
        """Which rows of ``dataset`` this fitted view holds as training rows with their labels (bool, shape (N,)):
        a model answers for them from memory, so their scores say nothing of held-out accuracy. Default: none."""
        return np.zeros(len(dataset), dtype=bool)

    def fit(self, dataset: Dataset) -> View:
        """A copy with data-dependent parameters filled in from the training data (e.g. a track's categories).

        Called once by training before featurising; the returned view's :meth:`spec` goes into the card, so
        prediction never needs the training data. Default: the view itself.
        """
        return self

    def spec(self) -> dict[str, Any]:
        """JSON-able description stored in the model card: ``{"type": ..., **params}``, without the fields that
        are artifacts (see :meth:`artifacts`)."""
        return {"type": self.type, **{f.name: getattr(self, f.name) for f in fields(self)
                                      if not f.metadata.get("artifact")}}

    def artifacts(self) -> dict[str, Any]:
        """What a fitted view needs beyond its spec (learned vectors, a vocabulary): ``{name: value}``, each an
        array (saved as .npy, never pickled) or a JSON-able value. The bundle stores them in its ``artifacts/``
        folder with checksums and gives them back through :meth:`with_artifacts`.

        Default: the dataclass fields declared with :func:`artifact_field` that are set (an array is stored as
        .npy, bytes as they are, anything else as JSON)."""
        return {k: getattr(self, k) for k in _artifact_fields(self) if getattr(self, k) is not None}

    def with_artifacts(self, values: dict[str, Any]) -> View:
        """A copy with the artifacts a bundle stored (see :meth:`artifacts`) put back."""
        declared = _artifact_fields(self)
        unknown = sorted(set(values) - declared)
        if unknown:
            raise ConfigError(f"view {self.type!r} has no artifact(s) {', '.join(unknown)}.")
        if values and set(values) != declared:
            raise ConfigError(f"view {self.type!r} needs all its artifacts ({', '.join(sorted(declared))}); got "
                              f"{', '.join(sorted(values))}.")
        return replace(self, **values) if values else self

    def expensive(self) -> bool:
        """True when the view is slow to compute (structure folding, language models): it is then cached."""
        return False

    def folding(self) -> Folding | None:
        """The per-sequence computation this view caches on disk by content (function, cache key, channels; the
        strings it is applied to are :func:`rnalabel.views.structure.folded_sequences` of the units), or None.
        ``rnalabel data fold`` fills the cache with it ahead of training. Default: None."""
        return None

    # attributions back on the RNA ---------------------------------------------------------------------------
    def position_map(self, n_positions: int, window: int) -> np.ndarray | None:
        """Nucleotide positions behind each position of this per-position view, or None if there is no such map.

        Default: one to one when the view is as wide as the window. Views with flanks or codons override it.

        Returns
        -------
        numpy.ndarray, shape=(P, k), dtype=int64, or None
            ``-1`` marks padding (no nucleotide).
        """
        if n_positions != window:
            return None
        return np.arange(window, dtype=np.int64)[:, None]

    def to_nucleotides(self, values: np.ndarray, *, tokens: np.ndarray, lengths: np.ndarray,
                       window: int) -> NucleotideMap:
        """Put this view's attributions on the RNA they were computed from.

        The default handles per-position views through :meth:`position_map` and pairwise views by splitting each
        pair over its two nucleotides; per-sequence views are not mappable unless they override this (k-mers).

        Parameters
        ----------
        values : numpy.ndarray, shape=(W, C, P), (W, D) or (W, C, L, L)
            The view's attributions, shaped like its input.
        tokens : numpy.ndarray, shape=(W, L), dtype=uint8
            The windows the attributions were computed on.
        lengths : numpy.ndarray, shape=(W,)
        window : int
            L.

        Returns
        -------
        NucleotideMap
        """
        values = np.asarray(values)
        if self.kind == "pair" and values.ndim == 4:
            return pair_track(values, lengths=lengths, window=window)
        if self.kind == "position" and values.ndim == 3:
            pos = self.position_map(values.shape[2], window)
            if pos is not None:
                return positions_track(values, pos, lengths=lengths, window=window)
        return NucleotideMap.unmappable(values, window)

    def tokens_from_array(self, array: np.ndarray) -> np.ndarray | None:
        """The tokens (N, L) behind this view's array, for views that are the sequence itself; None otherwise."""
        return None


def _artifact_fields(view: View) -> set[str]:
    return {f.name for f in fields(view) if f.metadata.get("artifact")}


def artifact_field(**kwargs: Any) -> Any:
    """A view field that holds an artifact (an array or JSON value learned by :meth:`View.fit`), not a parameter:
    kept out of the card's spec and of comparisons, stored as a bundle artifact."""
    return field(default=None, compare=False, repr=False, metadata={"artifact": True}, **kwargs)


VIEW_TYPES: dict[str, type[View]] = {}


def register_view(cls: type[View]) -> type[View]:
    """Class decorator adding a view class to :data:`VIEW_TYPES` under ``cls.type``."""
    if not cls.type:
        raise TypeError(f"{cls.__name__} has no `type` name")
    VIEW_TYPES[cls.type] = cls
    return cls


def build_view(spec: dict[str, Any]) -> View:
    """Rebuild a view from its :meth:`View.spec` (as stored in a card or written in a recipe).

    Unknown types and parameters raise :class:`ConfigError` naming what is accepted.
    """
    from rnalabel import views as _views  # noqa: F401  (registers the built-in views)

    spec = dict(spec)
    vtype = spec.pop("type", None)
    if not isinstance(vtype, str):
        raise ConfigError(f"a view's type must be a name, got {vtype!r}.",
                          remedy=f"choose one of: {', '.join(sorted(VIEW_TYPES))}.")
    if vtype not in VIEW_TYPES:
        from rnalabel.plugins import HOW, load_plugins

        load_plugins()
        if vtype not in VIEW_TYPES:
            raise ConfigError(f"unknown view type {vtype!r}.",
                              remedy=f"choose one of: {', '.join(sorted(VIEW_TYPES))}; {HOW}.")
    cls = VIEW_TYPES[vtype]
    known = {f.name for f in fields(cls) if not f.metadata.get("artifact")}
    unknown = sorted(set(spec) - known)
    if unknown:
        raise ConfigError(
            f"view {vtype!r} has no parameter(s) {', '.join(unknown)}.",
            remedy=f"its parameters are: {', '.join(sorted(known)) or '(none)'}.",
        )
    for k, v in list(spec.items()):  # YAML/JSON lists -> tuples so the frozen dataclass stays hashable
        if isinstance(v, list):
            spec[k] = tuple(v)
    return cls(**spec)


def featurize(views: dict[str, View], dataset: Dataset, *, training: bool = False) -> dict[str, np.ndarray]:
    """Apply every view to ``dataset``: ``{name: array}`` in the order of ``views``. ``training=True`` for the
    training units only (:meth:`View.transform_training`)."""
    if training:
        return {name: view.transform_training(dataset) for name, view in views.items()}
    return {name: view.transform(dataset) for name, view in views.items()}


def views_from_specs(specs: dict[str, dict[str, Any]]) -> dict[str, View]:
    """Build the views of a recipe or card, in order."""
    return {name: build_view(spec) for name, spec in specs.items()}
