"""DeepMiRBP's second component: a CNN that encodes a protein's profile (PSSM or BLOSUM62 rows, L x 20) and its
residue contact map (L x L) into one unit vector, so that proteins can be compared by cosine.

* profile branch: two 1-D convolutions (``filters``, kernel ``kernel``) with ReLU, then the global max and mean
  over residues;
* contact branch: the map max-pooled to ``map_size`` x ``map_size`` (a 3,000-residue map would not fit otherwise),
  two 2-D convolutions with ReLU and 2x2 max pooling (the paper's "CNN layers and max-pooling"), global max;
  a protein without a map gets zeros there and a flag;
* a linear projection to ``dim`` values, L2-normalised.

Proteins differ in length, so the encoder takes one protein at a time (:meth:`ProteinEncoder.encode_one`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class ProteinEncoder(nn.Module):
    """Profile + contact-map CNN -> unit vector (see the module docstring).

    Parameters
    ----------
    filters : int
        Profile convolution channels. Default is 32.
    kernel : int
        Profile convolution width (residues). Default is 7.
    map_filters : int
        Contact-map convolution channels. Default is 8.
    map_size : int
        Side the contact map is max-pooled to. Default is 64.
    dim : int
        Embedding width. Default is 32.
    """

    def __init__(self, *, filters: int = 32, kernel: int = 7, map_filters: int = 8, map_size: int = 64,
                 dim: int = 32) -> None:
        super().__init__()
        self.config = {"filters": filters, "kernel": kernel, "map_filters": map_filters, "map_size": map_size,
                       "dim": dim}
        self.conv1 = nn.Conv1d(20, filters, kernel, padding=kernel // 2)
        self.conv2 = nn.Conv1d(filters, filters, kernel, padding=kernel // 2)
        self.map1 = nn.Conv2d(1, map_filters, 3, padding=1)
        self.map2 = nn.Conv2d(map_filters, 2 * map_filters, 3, padding=1)
        self.map_size = map_size
        self.proj = nn.Linear(2 * filters + 2 * map_filters + 1, dim)

    def encode_one(self, profile: torch.Tensor, contacts: torch.Tensor | None) -> torch.Tensor:
        """One protein: profile (L, 20), contacts (L, L) or None -> (dim,) unit vector."""
        h = profile.float().T.unsqueeze(0) / 5.0  # log-odds are ~ -10..10
        h = F.relu(self.conv2(F.relu(self.conv1(h))))
        prof = torch.cat([h.amax(dim=2), h.mean(dim=2)], dim=1)[0]
        if contacts is None:
            cmap = torch.zeros(self.map2.out_channels + 1, device=h.device)
        else:
            c = contacts.float()[None, None]
            c = F.adaptive_max_pool2d(c, min(self.map_size, c.shape[-1]))
            c = F.max_pool2d(F.relu(self.map1(c)), 2, ceil_mode=True)
            c = F.relu(self.map2(c))
            cmap = torch.cat([c.amax(dim=(2, 3))[0], torch.ones(1, device=h.device)])
        return F.normalize(self.proj(torch.cat([prof, cmap])), dim=0)

    def forward(self, proteins: list[tuple[torch.Tensor, torch.Tensor | None]]) -> torch.Tensor:
        """(P, dim) unit vectors of a list of (profile, contacts) pairs."""
        return torch.stack([self.encode_one(p, c) for p, c in proteins])
