"""Language-model view: each nucleotide's hidden state in a pretrained RNA language model (MMLmiRLocNet's semantic
view, which used RNABERT with 105 positions).

The view is given an LM folder (``path``: rnalabel's own from ``rnalabel lm pretrain``, or a HuggingFace BERT one,
see :mod:`rnalabel.io.lm`). :meth:`LanguageModel.fit` reads it once and keeps the weights, shape and vocabulary
as artifacts of the view, so a trained bundle carries the language model with it (checksummed, safetensors) and
never needs the folder again. :meth:`LanguageModel.transform` runs the LM on ``[CLS] sequence [SEP]`` and returns
the hidden states of layer ``layer`` at the nucleotides, shape ``(N, hidden, length)``, zero past a sequence's end;
a sequence longer than ``length`` (or than the language model takes) is refused, never cut. ``random_init=True`` keeps the shape but not the pretrained weights: the
same view from an untrained LM of the same size, to measure what pretraining brings.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from rnalabel.errors import ConfigError
from rnalabel.views.base import View, artifact_field, refuse_longer, register_view

if TYPE_CHECKING:
    from rnalabel.data import Dataset

_MODULES: dict[str, Any] = {}  # weights digest -> loaded module (a view is re-applied to many chunks)


@register_view
@dataclass(frozen=True)
class LanguageModel(View):
    """Hidden states of a pretrained RNA language model per nucleotide, (N, hidden, length).

    Parameters
    ----------
    path : str or None
        LM folder read by :meth:`fit`. Default is None (only a fitted view, from a bundle, can transform).
    layer : int
        Which layer's states: -1 the last, 0 the embeddings. Default is -1.
    length : int
        Positions given to the model. Default is 105 (the paper's).
    batch_size : int
        Sequences per forward pass; does not change the result. Default is 256.
    random_init : bool
        Use an untrained model of the same shape instead of the pretrained weights. Default is False.
    """

    type = "lm"
    kind = "position"
    path: str | None = None
    layer: int = -1
    length: int = 105
    batch_size: int = 256
    random_init: bool = False
    weights: Any = artifact_field()
    config: Any = artifact_field()
    vocab: Any = artifact_field()

    def __post_init__(self) -> None:
        if isinstance(self.length, bool) or not isinstance(self.length, int) or self.length < 1:
            raise ConfigError(f"lm view: length must be a whole number of at least 1, got {self.length!r}.")
        if isinstance(self.batch_size, bool) or not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise ConfigError(f"lm view: batch_size must be a whole number of at least 1, got {self.batch_size!r}.")

    def channels(self, dataset: Dataset | None = None) -> int:
        if self.config is None:
            raise ConfigError("the lm view has not read its language model yet.", remedy="fit it first.")
        return int(self.config["hidden_size"])

    def fit(self, dataset: Dataset) -> LanguageModel:
        """Read the LM folder ``path`` and keep its weights, shape and vocabulary in the view."""
        import torch
        from safetensors.torch import save

        from rnalabel.io.lm import load_lm

        if self.path is None:
            raise ConfigError("the lm view needs `path`, the folder of a language model.",
                              remedy="pretrain one with `rnalabel lm pretrain` and give its folder as path.")
        lm = load_lm(self.path)
        module = lm.module
        if self.random_init:
            from rnalabel.models.rnalm import RNALM

            torch.manual_seed(0)
            module = RNALM(lm.config)
        weights = save({k: v.detach().cpu().contiguous() for k, v in module.weights().items()})
        return replace(self, weights=weights, config=lm.config.to_json(), vocab=list(lm.vocab))

    def _module(self):
        import torch  # noqa: F401
        from safetensors.torch import load

        from rnalabel.models.rnalm import RNALM, LMConfig

        if self.weights is None:
            raise ConfigError("the lm view has no language model: it must be fitted (or loaded from a bundle).")
        key = hashlib.sha256(bytes(self.weights)).hexdigest() + json.dumps(self.config, sort_keys=True)
        if key not in _MODULES:
            module = RNALM(LMConfig.from_json(self.config))
            missing, unexpected = module.load_state_dict(load(bytes(self.weights)), strict=False)
            if set(missing) - {"cls.predictions.decoder.weight"} or unexpected:
                raise ConfigError("the language model's weights do not fit its config "
                                  f"({', '.join((missing + unexpected)[:3])} ...).")
            _MODULES.clear()  # keep one: views of one model share it
            _MODULES[key] = module.eval()
        return _MODULES[key]

    def with_artifacts(self, values: dict[str, Any]) -> LanguageModel:
        view = super().with_artifacts(values)
        if view.weights is not None:
            view._module()  # weights that do not load fail here, at load time, with the bundle's message
        return view

    def transform(self, dataset: Dataset) -> np.ndarray:
        import torch

        from rnalabel.io.lm import nucleotide_ids
        from rnalabel.models.rnalm import encode_rna

        module = self._module()
        ids_of = nucleotide_ids(list(self.vocab))
        keep = min(self.length, module.config.max_nucleotides)
        refuse_longer(dataset, keep, f"the lm view (length {self.length}, language model "
                      f"{module.config.max_nucleotides} nt) covers without cutting it",
                      remedy="give shorter sequences, or train with a larger `length` in the lm view (and a "
                      "language model that takes as many nucleotides).")
        out = np.zeros((len(dataset), module.config.hidden_size, self.length), dtype=np.float32)
        with torch.inference_mode():
            for a in range(0, len(dataset), self.batch_size):
                part = slice(a, a + self.batch_size)
                ids = encode_rna(dataset.tokens[part], dataset.lengths[part], token_ids=ids_of, max_nucleotides=keep)
                h = module.hidden_states(torch.from_numpy(ids), layer=self.layer)[:, 1:-1]  # drop [CLS]; last is [SEP]
                lens = np.minimum(dataset.lengths[part], keep)
                real = (np.arange(h.shape[1])[None, :] < lens[:, None])[:, :, None]
                out[part, :, : h.shape[1]] = (h.numpy() * real).transpose(0, 2, 1)
        return out

    def position_map(self, n_positions: int, window: int) -> np.ndarray | None:
        """Position i is nucleotide i (up to ``length``)."""
        pos = np.arange(n_positions, dtype=np.int64)
        pos[pos >= window] = -1
        return pos[:, None]
