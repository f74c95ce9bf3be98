"""Base-pairing view: the equilibrium base-pair probability matrix of each RNA, a pairwise input (N, 1, L, L).

For every sequence (every window, as the model sees it) ViennaRNA computes the partition function
(``RNAfold -p``; McCaskill's algorithm) and the probability ``P(i, j)`` that bases ``i`` and ``j`` pair; the
matrix is symmetric, zero on the diagonal and at padding. It is the RNA counterpart of a protein contact map, and
the input kind that lets a model see which parts of a sequence fold onto each other (a stem's two arms), which no
per-position profile says.

Folding is deduplicated, cached on disk by content (with ViennaRNA's version and the parameters in the key) and
run in parallel, through :func:`rnalabel.views.structure.fold_cached`. It costs about 10 ms per 101-nt sequence
per core; memory is 4 L^2 bytes per sequence (40 kB at 101 nt).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from rnalabel.errors import ConfigError
from rnalabel.views.base import View, register_view
from rnalabel.views.structure import Folding, fold_cached, folded_sequences

if TYPE_CHECKING:
    from rnalabel.data import Dataset

_CACHE_FORMAT = "bpp-1"


def base_pair_probabilities(seq: str, *, temperature: float = 37.0, max_span: int | None = None) -> np.ndarray:
    """Base-pair probabilities of one sequence, shape=(L, L), symmetric, float32.

    Parameters
    ----------
    seq : str
        RNA (A, C, G, U; other letters pair with nothing).
    temperature : float
        Degrees Celsius. Default is 37.0.
    max_span : int, optional
        Largest distance between paired bases. Default is None (no limit).
    """
    import RNA

    n = len(seq)
    if n == 0:
        return np.zeros((0, 0), dtype=np.float32)
    md = RNA.md()
    md.temperature = float(temperature)
    if max_span:
        md.max_bp_span = int(max_span)
    fc = RNA.fold_compound(seq, md, RNA.OPTION_PF)
    fc.pf()
    upper = np.asarray(fc.bpp(), dtype=np.float32)[1:n + 1, 1:n + 1]
    return upper + upper.T


def _flat_bpp(seq: str, *, temperature: float, max_span: int | None) -> np.ndarray:
    return base_pair_probabilities(seq, temperature=temperature, max_span=max_span).reshape(1, -1)


def pairing_folding(temperature: float = 37.0, max_span: int | None = None) -> Folding:
    """The cached computation behind :func:`pairing_maps`: flattened base-pair probabilities, key, 1 channel."""
    import RNA

    key = f"{_CACHE_FORMAT} vienna={RNA.__version__} T={float(temperature)!r} span={max_span}"
    return Folding(functools.partial(_flat_bpp, temperature=float(temperature), max_span=max_span), key, 1)


def pairing_maps(tokens: np.ndarray, lengths: np.ndarray, *, temperature: float = 37.0, max_span: int | None = None,
                 processes: int | None = None, cache: bool = True) -> np.ndarray:
    """Base-pair probability maps of a token matrix, shape=(N, 1, W, W), zero at padding."""
    tokens = np.asarray(tokens)
    n_rows, width = tokens.shape
    lens = np.clip(np.asarray(lengths, dtype=np.int64), 0, width)
    seqs = folded_sequences(tokens, lens)
    func, key, channels = pairing_folding(temperature, max_span)
    flat = fold_cached(seqs, func, key=key, channels=channels, processes=processes, cache=cache)
    out = np.zeros((n_rows, 1, width, width), dtype=np.float32)
    for i, f in enumerate(flat):
        m = int(lens[i])
        out[i, 0, :m, :m] = f.reshape(m, m)
    return out


@register_view
@dataclass(frozen=True)
class Pairing(View):
    """Base-pair probability matrix, (N, 1, L, L); see the module docstring.

    Parameters
    ----------
    temperature : float
        Degrees Celsius. Default is 37.0.
    max_span : int or None
        Largest distance between paired bases. Default is None (no limit).
    processes : int or None
        Folding processes; does not change the result. Default is None (every available CPU).
    cache : bool
        Use the disk cache; does not change the result. Default is True.
    """

    type = "pairing"
    kind = "pair"
    temperature: float = 37.0
    max_span: int | None = None
    processes: int | None = None
    cache: bool = True

    def __post_init__(self) -> None:
        if self.max_span is not None and self.max_span < 4:
            raise ConfigError(f"pairing max_span must be at least 4 (or null), got {self.max_span}.")
        if self.processes is not None and self.processes < 1:
            raise ConfigError(f"pairing processes must be at least 1, got {self.processes}.")

    def channels(self, dataset: Dataset | None = None) -> int:
        return 1

    def channel_names(self, dataset: Dataset | None = None) -> list[str]:
        return ["pair probability"]

    def folding(self) -> Folding | None:
        return pairing_folding(self.temperature, self.max_span) if self.cache else None

    def transform(self, dataset: Dataset) -> np.ndarray:
        return pairing_maps(dataset.tokens, dataset.lengths, temperature=self.temperature, max_span=self.max_span,
                            processes=self.processes, cache=self.cache)

    def expensive(self) -> bool:
        return True
