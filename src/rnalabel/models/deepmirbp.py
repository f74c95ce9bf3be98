"""DeepMiRBP (Azizian & Cui, 2024), first component: an RNA encoder trained on RNA-protein binding sites whose
embeddings are searched by cosine similarity to find the proteins a miRNA resembles the sites of.

    nucleotides -> embedding (``embed_dim`` per nucleotide; 128 in the paper) -> BiLSTM -> attention -> dense ->
    logits (one "bound" output, or one per experiment in the multi-task variant)

Choices where the paper is vague (it defers the architecture to a supplement we do not have), written down:

* The embedding of a nucleotide is a learned vector, applied as a bias-free 1x1 convolution over the one-hot
  view: for A/C/G/U exactly an embedding lookup, padding (one-hot 0) embeds to 0 as the paper's zero padding
  does, and an ambiguous base (one-hot 0.25 each) to the mean of the four vectors.
* Padding is not read: the BiLSTM runs on the sequence only (packed), so a 22-nt miRNA padded to 101 nt gives
  the same output as unpadded, and attention is masked to the sequence. The paper pads miRNAs with zeros and
  "sums only up to the original sequence length".
* Attention is additive (Bahdanau): ``e_t = v . tanh(W h_t + b)``, softmax over the sequence's positions,
  context ``c = sum_t a_t h_t`` (2 x ``lstm_units`` values).
* What is compared by cosine (:meth:`DeepMiRBP.embed`): ``embedding="attention"`` (default) is the attention
  context ``c``, the representation the classifier reads; ``embedding="sum"`` is the paper's formula taken
  literally, the sum of the input nucleotide embeddings over the sequence (which depends on base composition
  only). ``benchmarks/deepmirbp.py`` measures both.
* ``lstm_units`` defaults to 64 per direction (the paper searched 32-1024 and reports none); on two CPU cores
  the BiLSTM is the cost.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from rnalabel.errors import ConfigError
from rnalabel.models.layers import Dropout, concat_positions, position_inputs
from rnalabel.models.registry import InputSpec, register_model

EMBEDDINGS = ("attention", "sum")


def sequence_lengths(x: torch.Tensor) -> torch.Tensor:
    """Length of each sequence of a one-hot-like input (N, C, L): one past the last column that is not all zero
    (at least 1, so an empty input still runs)."""
    present = x.abs().sum(dim=1) > 0
    idx = torch.arange(1, x.shape[2] + 1, device=x.device)
    return (present * idx).amax(dim=1).clamp_min(1)


@register_model("deepmirbp", kinds=("embedding", "windowed", "whole-sequence"))
class DeepMiRBP(nn.Module):
    """Embedding -> BiLSTM -> attention -> classifier, with :meth:`embed` for the similarity index.

    Parameters
    ----------
    inputs : tuple of InputSpec
        Per-position views (the nucleotide one-hot with ``pad_value: 0``), concatenated along channels.
    n_labels : int
        1 for binding vs non-binding (the paper), or one output per experiment (multi-task).
    embed_dim : int
        Nucleotide embedding width. Default is 128 (the paper's).
    lstm_units : int
        Hidden units per LSTM direction. Default is 64.
    attention : int
        Width of the attention's hidden layer. Default is 64.
    hidden : int
        Dense layer before the output. Default is 64.
    dropout : float
        Before and after the dense layer. Default is 0.2.
    embedding : "attention" or "sum"
        What :meth:`embed` returns (see the module docstring). Default is "attention".
    """

    #: all-zero input columns after a sequence's last base are padding and are never read (with a one-hot that
    #: pads with 0), so short RNAs (miRNAs) are scored on their own bases only
    masks_zero_padding = True

    def __init__(
        self,
        *,
        inputs: tuple[InputSpec, ...],
        n_labels: int,
        embed_dim: int = 128,
        lstm_units: int = 64,
        attention: int = 64,
        hidden: int = 64,
        dropout: float = 0.2,
        embedding: str = "attention",
    ) -> None:
        super().__init__()
        if embedding not in EMBEDDINGS:
            raise ConfigError(f"deepmirbp: unknown embedding {embedding!r}.",
                              remedy=f"choose one of: {', '.join(EMBEDDINGS)}.")
        for name, v in (("embed_dim", embed_dim), ("lstm_units", lstm_units), ("attention", attention),
                        ("hidden", hidden)):
            if v < 1:
                raise ConfigError(f"deepmirbp: {name} must be at least 1, got {v}.")
        if not 0 <= dropout < 1:
            raise ConfigError(f"deepmirbp: dropout must be in [0, 1), got {dropout}.")
        self.specs = position_inputs(inputs, "deepmirbp")
        self.embedding_mode = embedding
        in_ch = sum(s.channels for s in self.specs)
        self.embed_nt = nn.Conv1d(in_ch, embed_dim, 1, bias=False)
        nn.init.normal_(self.embed_nt.weight, std=1.0)  # as nn.Embedding starts
        self.lstm = nn.LSTM(embed_dim, lstm_units, batch_first=True, bidirectional=True)
        self.att = nn.Linear(2 * lstm_units, attention)
        self.att_v = nn.Linear(attention, 1, bias=False)
        self.head = nn.Sequential(
            Dropout(dropout), nn.Linear(2 * lstm_units, hidden), nn.ReLU(), Dropout(dropout),
            nn.Linear(hidden, n_labels),
        )

    def _encode(self, x: Mapping[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """The attention context (N, 2U) and the attention weights (N, L) (0 on padding)."""
        xin = concat_positions(x, self.specs)
        lengths = sequence_lengths(xin)
        e = self.embed_nt(xin).transpose(1, 2)  # (N, L, E)
        width = e.shape[1]
        if bool((lengths == width).all()):
            h, _ = self.lstm(e)
        else:  # packed: the backward direction starts at each sequence's last base, not in the padding
            packed = pack_padded_sequence(e, lengths.cpu(), batch_first=True, enforce_sorted=False)
            h, _ = self.lstm(packed)
            h, _ = pad_packed_sequence(h, batch_first=True, total_length=width)
        mask = torch.arange(width, device=e.device)[None, :] < lengths[:, None]
        scores = self.att_v(torch.tanh(self.att(h))).squeeze(-1)
        scores = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
        a = torch.softmax(scores.float(), dim=1).to(h.dtype)
        context = torch.bmm(a.unsqueeze(1), h).squeeze(1)
        return context, a

    def forward(self, x: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return self.head(self._encode(x)[0])

    def embed(self, x: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """One vector per sequence for cosine search: the attention context (2 x ``lstm_units``), or with
        ``embedding="sum"`` the sum of the nucleotide embeddings over the sequence (``embed_dim``)."""
        if self.embedding_mode == "sum":
            xin = concat_positions(x, self.specs)
            return self.embed_nt(xin).sum(dim=2)  # padding embeds to 0
        return self._encode(x)[0]
