"""Nucleotide one-hot view.

Positions holding A, C, G or U get a one-hot column; N, other ambiguity codes and the padding after a short
sequence's end get ``pad_value`` in all four rows (0.25 = the uniform base B of the MMFA paper; 0 as in
DeepBind-style code). ``flank`` adds that many padding columns at each end (the MMFA paper pads 5 bases).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from rnalabel.data.sequence import PAD
from rnalabel.views.base import View, register_view

if TYPE_CHECKING:
    from rnalabel.data import Dataset


def one_hot(tokens: np.ndarray, *, pad_value: float = 0.25, flank: int = 0, alphabet_size: int = 4) -> np.ndarray:
    """One-hot encode a token matrix.

    Parameters
    ----------
    tokens : numpy.ndarray, shape=(N, L), dtype=uint8
        Tokens 0..alphabet_size-1 are letters; anything larger is padding/ambiguity.
    pad_value : float
        Value written in every row at padding/ambiguous positions. Default is 0.25.
    flank : int
        Padding columns added at each end. Default is 0.
    alphabet_size : int
        Number of letters (rows). Default is 4.

    Returns
    -------
    numpy.ndarray, shape=(N, alphabet_size, L + 2 * flank), dtype=float32
    """
    tokens = np.asarray(tokens)
    if flank:
        tokens = np.pad(tokens, ((0, 0), (flank, flank)), constant_values=alphabet_size)
    table = np.zeros((256, alphabet_size), dtype=np.float32)
    table[:alphabet_size] = np.eye(alphabet_size, dtype=np.float32)
    table[alphabet_size:] = pad_value
    return np.ascontiguousarray(table[tokens].transpose(0, 2, 1))


@register_view
@dataclass(frozen=True)
class OneHot(View):
    """Nucleotide one-hot, (N, 4, L + 2*flank).

    Parameters
    ----------
    pad_value : float
        Default is 0.25.
    flank : int
        Default is 0.
    """

    type = "onehot"
    kind = "position"
    logo = True
    pad_value: float = 0.25
    flank: int = 0

    def channels(self, dataset: Dataset | None = None) -> int:
        return 4

    def channel_names(self, dataset: Dataset | None = None) -> list[str]:
        return list("ACGU")

    def transform(self, dataset: Dataset) -> np.ndarray:
        return one_hot(dataset.tokens, pad_value=self.pad_value, flank=self.flank)

    def position_map(self, n_positions: int, window: int) -> np.ndarray | None:
        if n_positions != window + 2 * self.flank:
            return None
        pos = np.arange(n_positions, dtype=np.int64) - self.flank
        pos[(pos < 0) | (pos >= window)] = -1  # the flank columns have no nucleotide
        return pos[:, None]

    def tokens_from_array(self, array: np.ndarray) -> np.ndarray:
        x = np.asarray(array)
        x = x[:, :, self.flank:x.shape[2] - self.flank] if self.flank else x
        tok = x.argmax(axis=1).astype(np.uint8)
        tok[x.max(axis=1) < 1] = PAD
        return tok
