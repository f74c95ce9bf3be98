"""Region-type view: one-hot of a categorical per-position track (5'UTR, CDS, 3'UTR, intron ...).

Multi-resBind (Zhao & Hamada 2022) one-hot encodes the region type of every position (3'UTR, 5'UTR, CDS, intron)
and concatenates it with the nucleotides. The track lives in ``dataset.tracks[track]``
(:class:`rnalabel.data.Track`: codes (N, L) uint8 with 255 at padding, and category names).

Channels follow the view's ``categories``, filled from the training data by :meth:`Region.fit` when a recipe leaves
them empty and then stored in the model card, so a dataset whose track lists its categories in another order is
mapped by name. Padding (code 255) is zero in every channel; so is a category the view does not know (a warning
says which), the same "no information" encoding as padding.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from rnalabel.errors import ConfigError, InputError
from rnalabel.views.base import View, register_view

if TYPE_CHECKING:
    from rnalabel.data import Dataset, Track

PAD_CODE = 255


def track_one_hot(codes: np.ndarray, n_categories: int, *, lookup: np.ndarray | None = None) -> np.ndarray:
    """One-hot encode category codes.

    Parameters
    ----------
    codes : numpy.ndarray, shape=(N, L), dtype=uint8
        Category index per position; 255 (or any code mapped to -1 by ``lookup``) gives an all-zero column.
    n_categories : int
        Number of channels C.
    lookup : numpy.ndarray, shape=(256,), dtype=int, optional
        Maps each code to a channel, -1 for none. Default is the identity for codes < ``n_categories``.

    Returns
    -------
    numpy.ndarray, shape=(N, C, L), dtype=float32
    """
    if lookup is None:
        lookup = np.full(256, -1, dtype=np.int64)
        lookup[:n_categories] = np.arange(n_categories)
    table = np.zeros((256, n_categories), dtype=np.float32)
    hit = lookup >= 0
    table[np.flatnonzero(hit), lookup[hit]] = 1.0
    return np.ascontiguousarray(table[np.asarray(codes, dtype=np.uint8)].transpose(0, 2, 1))


def get_track(dataset: Dataset, name: str) -> Track:
    """``dataset.tracks[name]``, or an :class:`InputError` naming the tracks the dataset has."""
    if name not in dataset.tracks:
        have = ", ".join(sorted(dataset.tracks)) or "none"
        raise InputError(
            f"the dataset has no per-position track {name!r} (it has: {have}).",
            remedy=f"give a dataset with a {name!r} track (a `track:{name}` column in its Parquet file); a recipe "
                   "or model with a region view needs it for training and prediction alike.",
        )
    return dataset.tracks[name]


@register_view
@dataclass(frozen=True)
class Region(View):
    """One-hot of a categorical per-position track, (N, C, L), C = number of categories.

    Parameters
    ----------
    track : str
        Name of the track in ``dataset.tracks``. Default is "region".
    categories : tuple of str
        Channel order. Default is () (filled by :meth:`fit` from the training data's track).
    """

    type = "region"
    kind = "position"
    track: str = "region"
    categories: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if isinstance(self.categories, str):
            raise ConfigError(f"region categories must be a list of names, got the string {self.categories!r}.")
        object.__setattr__(self, "categories", tuple(str(c) for c in self.categories))
        if len(set(self.categories)) != len(self.categories):
            raise ConfigError(f"region categories {list(self.categories)} contain duplicates.")

    def channel_names(self, dataset: Dataset | None = None) -> list[str]:
        if self.categories:
            return list(self.categories)
        return list(self.fit(dataset).categories) if dataset is not None else super().channel_names(dataset)

    def channels(self, dataset: Dataset | None = None) -> int:
        if self.categories:
            return len(self.categories)
        if dataset is None:
            raise ConfigError(
                f"the region view of track {self.track!r} has no categories yet.",
                remedy="fit it on training data first (Region.fit) or list `categories` in the recipe.",
            )
        return len(get_track(dataset, self.track).categories)

    def fit(self, dataset: Dataset) -> Region:
        if self.categories:
            return self
        return Region(track=self.track, categories=tuple(get_track(dataset, self.track).categories))

    def transform(self, dataset: Dataset) -> np.ndarray:
        tr = get_track(dataset, self.track)
        if tr.codes.shape != dataset.tokens.shape:
            raise InputError(
                f"track {self.track!r} has shape {tr.codes.shape} but the sequences {dataset.tokens.shape}.",
                remedy="rebuild the dataset so that every track is aligned with its sequence.",
            )
        cats = self.categories or tuple(tr.categories)
        out = track_one_hot(tr.codes, len(cats), lookup=_lookup(tr, cats, self.track))
        real = np.arange(dataset.width)[None, :] < np.asarray(dataset.lengths)[:, None]
        out *= real[:, None, :]
        return out


def _lookup(tr: Track, view_categories: Sequence[str], track: str) -> np.ndarray:
    """Map the track's category codes to the view's channels by name (-1: no channel)."""
    index = {c: j for j, c in enumerate(view_categories)}
    lookup = np.full(256, -1, dtype=np.int64)
    for code, name in enumerate(tr.categories):
        lookup[code] = index.get(name, -1)
    present = np.unique(tr.codes)
    unknown = [tr.categories[c] for c in present if c < len(tr.categories) and lookup[c] < 0]
    if unknown:
        warnings.warn(
            f"track {track!r} has categories the view does not know ({', '.join(unknown)}); "
            f"they are encoded as all-zero columns (the view knows: {', '.join(view_categories)}).",
            RuntimeWarning, stacklevel=3,
        )
    return lookup
