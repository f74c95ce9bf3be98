"""A small RNA language model: a BERT encoder over nucleotides with a masked-language-model head.

MMLmiRLocNet's semantic view comes from RNABERT (Akiyama & Sakakibara 2022), a BERT pretrained on RNA; hub weights
cannot be downloaded here, so rnalabel pretrains its own (:mod:`rnalabel.engine.lm_pretrain`). The module follows
HuggingFace's ``BertForMaskedLM`` exactly: the same layers in the same order (post-LayerNorm blocks, exact-erf
GELU, learned absolute positions, token-type embeddings, a transform + tied decoder head) under the same
parameter names (``bert.embeddings.word_embeddings.weight``, ``bert.encoder.layer.0.attention.self.query.weight``,
``cls.predictions.transform.dense.weight`` ...), so a BERT-layout checkpoint a user already has on disk loads into
it (:func:`rnalabel.io.lm.load_lm`), and ours load into ``transformers``.

Tokens: the vocabulary is ``[PAD] [UNK] [CLS] [SEP] [MASK] A C G U N`` (ids 0-9); a sequence is
``[CLS] nucleotides [SEP]`` padded with ``[PAD]``; :func:`encode_rna` builds that from rnalabel's RNA tokens.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from rnalabel.errors import ConfigError

#: the vocabulary of rnalabel's own language models (vocab.txt, one token per line, in id order)
VOCAB = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "A", "C", "G", "U", "N")


@dataclass(frozen=True)
class LMConfig:
    """The model's shape, under the names of a HuggingFace BERT ``config.json``.

    Defaults are a small model for CPUs (4 layers of 128 units, 4 heads: 0.8 M parameters).
    """

    vocab_size: int = len(VOCAB)
    hidden_size: int = 128
    num_hidden_layers: int = 4
    num_attention_heads: int = 4
    intermediate_size: int = 512
    hidden_act: str = "gelu"
    hidden_dropout_prob: float = 0.1
    attention_probs_dropout_prob: float = 0.1
    max_position_embeddings: int = 130
    type_vocab_size: int = 2
    layer_norm_eps: float = 1e-12
    pad_token_id: int = 0

    def __post_init__(self) -> None:
        for f in fields(self):  # types first: a string from an edited config.json must not reach the arithmetic
            v = getattr(self, f.name)
            if f.type == "int" and (isinstance(v, bool) or not isinstance(v, int) or v < (0 if f.name == "pad_token_id" else 1)):
                raise ConfigError(f"language-model config {f.name} must be a positive whole number, got {v!r}.")
            if f.type == "float" and (isinstance(v, bool) or not isinstance(v, int | float) or not 0 <= v < 1):
                raise ConfigError(f"language-model config {f.name} must be a number from 0 to 1, got {v!r}.")
        if self.hidden_size % self.num_attention_heads:
            h = self.num_attention_heads
            raise ConfigError(f"hidden_size ({self.hidden_size}) must be a multiple of num_attention_heads ({h}).",
                              remedy=f"choose --hidden as a multiple of --heads (e.g. {max(h, self.hidden_size // h * h)} "
                                     f"or {(self.hidden_size // h + 1) * h} with {h} heads).")
        if self.hidden_act not in ("gelu", "gelu_new", "relu"):
            raise ConfigError(f"unsupported hidden_act {self.hidden_act!r}.", remedy="use gelu, gelu_new or relu.")
        if self.max_position_embeddings < 3:
            raise ConfigError("max_position_embeddings must be at least 3 ([CLS], a nucleotide, [SEP]).")

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> LMConfig:
        """From a ``config.json`` (ours or a BERT one); unknown keys are ignored, missing ones take defaults."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})

    def to_json(self) -> dict[str, Any]:
        return {"model_type": "bert", "architectures": ["BertForMaskedLM"], **asdict(self)}

    @property
    def max_nucleotides(self) -> int:
        """Longest RNA one input holds: the positions less [CLS] and [SEP]."""
        return self.max_position_embeddings - 2


def _act(name: str):
    if name == "relu":
        return F.relu
    if name == "gelu_new":
        return lambda x: F.gelu(x, approximate="tanh")
    return F.gelu


class _Embeddings(nn.Module):
    def __init__(self, c: LMConfig) -> None:
        super().__init__()
        self.word_embeddings = nn.Embedding(c.vocab_size, c.hidden_size, padding_idx=c.pad_token_id)
        self.position_embeddings = nn.Embedding(c.max_position_embeddings, c.hidden_size)
        self.token_type_embeddings = nn.Embedding(c.type_vocab_size, c.hidden_size)
        self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.dropout = nn.Dropout(c.hidden_dropout_prob)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        pos = torch.arange(ids.shape[1], device=ids.device)[None, :]
        h = self.word_embeddings(ids) + self.position_embeddings(pos) + self.token_type_embeddings(torch.zeros_like(ids))
        return self.dropout(self.LayerNorm(h))


class _SelfAttention(nn.Module):
    def __init__(self, c: LMConfig) -> None:
        super().__init__()
        self.heads, self.p = c.num_attention_heads, c.attention_probs_dropout_prob
        self.query = nn.Linear(c.hidden_size, c.hidden_size)
        self.key = nn.Linear(c.hidden_size, c.hidden_size)
        self.value = nn.Linear(c.hidden_size, c.hidden_size)

    def forward(self, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        n, length, d = h.shape

        def split(x: torch.Tensor) -> torch.Tensor:
            return x.view(n, length, self.heads, d // self.heads).transpose(1, 2)

        out = F.scaled_dot_product_attention(split(self.query(h)), split(self.key(h)), split(self.value(h)),
                                             attn_mask=mask, dropout_p=self.p if self.training else 0.0)
        return out.transpose(1, 2).reshape(n, length, d)


class _Output(nn.Module):
    """dense -> dropout -> LayerNorm(x + residual): BERT's SelfOutput and Output."""

    def __init__(self, d_in: int, c: LMConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(d_in, c.hidden_size)
        self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.dropout = nn.Dropout(c.hidden_dropout_prob)

    def forward(self, x: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.dropout(self.dense(x)) + residual)


class _Attention(nn.Module):
    def __init__(self, c: LMConfig) -> None:
        super().__init__()
        self.self = _SelfAttention(c)  # HuggingFace names this submodule "self"
        self.output = _Output(c.hidden_size, c)

    def forward(self, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.output(self.self(h, mask), h)


class _Intermediate(nn.Module):
    def __init__(self, c: LMConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(c.hidden_size, c.intermediate_size)
        self.act = _act(c.hidden_act)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.act(self.dense(h))


class _Layer(nn.Module):
    def __init__(self, c: LMConfig) -> None:
        super().__init__()
        self.attention = _Attention(c)
        self.intermediate = _Intermediate(c)
        self.output = _Output(c.intermediate_size, c)

    def forward(self, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        a = self.attention(h, mask)
        return self.output(self.intermediate(a), a)


class _Encoder(nn.Module):
    def __init__(self, c: LMConfig) -> None:
        super().__init__()
        self.layer = nn.ModuleList([_Layer(c) for _ in range(c.num_hidden_layers)])


class _Bert(nn.Module):
    def __init__(self, c: LMConfig) -> None:
        super().__init__()
        self.embeddings = _Embeddings(c)
        self.encoder = _Encoder(c)


class _Transform(nn.Module):
    def __init__(self, c: LMConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(c.hidden_size, c.hidden_size)
        self.act = _act(c.hidden_act)
        self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.act(self.dense(h)))


class _Predictions(nn.Module):
    def __init__(self, c: LMConfig, embeddings: nn.Embedding) -> None:
        super().__init__()
        self.transform = _Transform(c)
        self.bias = nn.Parameter(torch.zeros(c.vocab_size))
        self.decoder = nn.Linear(c.hidden_size, c.vocab_size, bias=False)
        self.decoder.weight = embeddings.weight  # tied, as BERT's

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.transform(h)) + self.bias


class _Head(nn.Module):
    def __init__(self, c: LMConfig, embeddings: nn.Embedding) -> None:
        super().__init__()
        self.predictions = _Predictions(c, embeddings)


class RNALM(nn.Module):
    """BERT encoder + masked-language-model head (see the module docstring).

    Parameters
    ----------
    config : LMConfig
    """

    def __init__(self, config: LMConfig) -> None:
        super().__init__()
        self.config = config
        self.bert = _Bert(config)
        self.cls = _Head(config, self.bert.embeddings.word_embeddings)
        self.apply(self._init)
        with torch.no_grad():  # the tied decoder was initialised after the embedding: the [PAD] row back to zero
            self.bert.embeddings.word_embeddings.weight[config.pad_token_id].zero_()

    def _init(self, m: nn.Module) -> None:  # BERT's initialisation
        if isinstance(m, nn.Linear | nn.Embedding):
            nn.init.normal_(m.weight, std=0.02)
            if isinstance(m, nn.Linear) and m.bias is not None:
                nn.init.zeros_(m.bias)
            if isinstance(m, nn.Embedding) and m.padding_idx is not None:
                with torch.no_grad():
                    m.weight[m.padding_idx].zero_()
        elif isinstance(m, nn.LayerNorm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)

    def hidden_states(self, ids: torch.Tensor, *, layer: int = -1) -> torch.Tensor:
        """Hidden states of layer ``layer`` (-1: the last; 0: the embeddings), shape (N, T, hidden)."""
        pad = ids == self.config.pad_token_id
        mask = (~pad)[:, None, None, :]  # attend to real tokens only
        h = self.bert.embeddings(ids)
        layers = self.bert.encoder.layer
        stop = len(layers) + 1 + layer if layer < 0 else layer
        if not 0 <= stop <= len(layers):
            raise ConfigError(f"layer {layer} is out of range: the model has {len(layers)} layers.")
        for blk in layers[:stop]:
            h = blk(h, mask)
        return h

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """Token logits, shape (N, T, vocab_size)."""
        return self.cls.predictions(self.hidden_states(ids))

    def weights(self) -> dict[str, torch.Tensor]:
        """The state dict without the tied decoder weight (it is the word embeddings), ready for safetensors."""
        return {k: v for k, v in self.state_dict().items() if k != "cls.predictions.decoder.weight"}


def encode_rna(tokens: np.ndarray, lengths: np.ndarray, *, token_ids: dict[str, int], max_nucleotides: int) -> np.ndarray:
    """rnalabel RNA tokens (A,C,G,U = 0..3, 4 = N) -> LM input ids ``[CLS] nt... [SEP] [PAD]...``, shape (N, T)
    with T = min(longest, max_nucleotides) + 2; longer sequences are cut at ``max_nucleotides``."""
    tokens = np.asarray(tokens)
    lens = np.minimum(np.asarray(lengths, dtype=np.int64), max_nucleotides)
    width = int(lens.max()) + 2 if len(lens) else 2
    lut = np.array([token_ids.get(c, token_ids["[UNK]"]) for c in "ACGUN"], dtype=np.int64)
    out = np.full((len(tokens), width), token_ids["[PAD]"], dtype=np.int64)
    out[:, 0] = token_ids["[CLS]"]
    cols = np.arange(width - 2)[None, :]
    body = lut[np.minimum(tokens[:, : width - 2], 4)]
    out[:, 1:width - 1] = np.where(cols < lens[:, None], body, token_ids["[PAD]"])
    out[np.arange(len(tokens)), lens + 1] = token_ids["[SEP]"]
    return out


def lm_parameters(config: LMConfig) -> int:
    """Number of parameters of a model of ``config`` (tied decoder counted once)."""
    h, i, v, p = config.hidden_size, config.intermediate_size, config.vocab_size, config.max_position_embeddings
    per_layer = 4 * (h * h + h) + 2 * 2 * h + (h * i + i) + (i * h + h)
    return (v + p + config.type_vocab_size + 2) * h + config.num_hidden_layers * per_layer + (h * h + h + 2 * h + v)

