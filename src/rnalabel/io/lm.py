"""Language-model directories: rnalabel's own (pretrained by ``rnalabel lm pretrain``) and BERT checkpoints in the
HuggingFace layout that a user already has on disk. Nothing is downloaded, nothing is unpickled.

rnalabel's layout (:func:`save_lm`)::

    LM_DIR/model.safetensors   the weights, under HuggingFace BertForMaskedLM names
    LM_DIR/config.json         the shape (a BERT config.json)
    LM_DIR/vocab.txt           one token per line, in id order
    LM_DIR/card.json           format, version, the SHA-256 of the three files, pretraining corpus and metrics

A HuggingFace BERT directory (``config.json`` + ``model.safetensors`` + ``vocab.txt``; BertModel or
BertForMaskedLM weights) loads too: its keys are mapped to :class:`rnalabel.models.rnalm.RNALM`, the pooler is
ignored, a missing MLM head is left initialised (fine for embeddings, which is what the ``lm`` view uses), and its
vocabulary is matched to nucleotides by letter (T counts as U). A ``pytorch_model.bin`` (a pickle) is refused.
Other architectures (RNA-FM's own naming, for instance) are not read.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from rnalabel import __version__
from rnalabel.data.files import atomic_path, jsonable, sha256_file, write_text_atomic
from rnalabel.errors import ConfigError, ModelFileError
from rnalabel.models.rnalm import RNALM, VOCAB, LMConfig

LM_FORMAT = "rnalabel-lm"
FILES = ("model.safetensors", "config.json", "vocab.txt")


@dataclass
class LanguageModel:
    """A loaded language model.

    Attributes
    ----------
    module : RNALM
    vocab : list of str
        Token of each id.
    card : dict
        rnalabel's card, or a description of the HuggingFace directory.
    source : str
        ``"rnalabel"`` or ``"huggingface"``.
    """

    module: RNALM
    vocab: list[str]
    card: dict[str, Any] = field(default_factory=dict)
    source: str = "rnalabel"

    @property
    def config(self) -> LMConfig:
        return self.module.config

    @property
    def token_ids(self) -> dict[str, int]:
        """Token -> id (see :func:`nucleotide_ids`)."""
        return nucleotide_ids(self.vocab)


def nucleotide_ids(vocab: list[str]) -> dict[str, int]:
    """Token -> id for a vocabulary, with the nucleotides A, C, G, U (T read as U; either case) and N present
    ([UNK] for N when the vocabulary has none). A vocabulary without single-letter nucleotides (a k-mer
    vocabulary, say) would turn every RNA into [UNK] and is refused."""
    ids = {t: i for i, t in enumerate(vocab)}
    for t in ("[PAD]", "[UNK]", "[CLS]", "[SEP]"):
        if t not in ids:
            raise ModelFileError(f"the vocabulary has no {t} token.", remedy="give a BERT-style vocab.txt.")
    out = dict(ids)
    for letter, alts in (("A", "Aa"), ("C", "Cc"), ("G", "Gg"), ("U", "UuTt"), ("N", "Nn")):
        hit = next((ids[a] for a in alts if a in ids), None)
        if hit is None and letter != "N":
            raise ModelFileError(f"the vocabulary has no single-letter token for {letter}; rnalabel's views give the "
                                 "model one nucleotide per token.", remedy="use a nucleotide-level BERT (one token per "
                                                                           "base), not a k-mer one.")
        out[letter] = hit if hit is not None else ids["[UNK]"]
    return out



def save_lm(directory: str | os.PathLike, module: RNALM, *, vocab: tuple[str, ...] | list[str] = VOCAB,
            info: dict[str, Any] | None = None) -> Path:
    """Write a language-model directory (see the module docstring), each file atomically, the card last."""
    from safetensors.torch import save_file

    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous().clone() for k, v in module.weights().items()}
    with atomic_path(d / "model.safetensors") as tmp:
        save_file(state, str(tmp), metadata={"format": LM_FORMAT})
    write_text_atomic(d / "config.json", json.dumps(module.config.to_json(), indent=2) + "\n")
    write_text_atomic(d / "vocab.txt", "\n".join(vocab) + "\n")
    card = {"format": LM_FORMAT, "format_version": 1, "rnalabel_version": __version__,
            "config": module.config.to_json(), "files": {f: sha256_file(d / f) for f in FILES}, **jsonable(info or {})}
    write_text_atomic(d / "card.json", json.dumps(card, indent=2) + "\n")
    return d


def load_lm(directory: str | os.PathLike, *, device: str | torch.device = "cpu") -> LanguageModel:
    """Load rnalabel's language-model directory, or a HuggingFace BERT one (see the module docstring).

    Raises
    ------
    ModelFileError
        A missing, damaged, pickled or unreadable file, or weights that do not fit the config.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    d = Path(directory)
    if not d.is_dir():
        raise ModelFileError("not a language-model directory.", path=d,
                             remedy="give the folder written by `rnalabel lm pretrain`, or a BERT folder.")
    ours = (d / "card.json").exists()
    card: dict[str, Any] = {}
    if ours:
        try:
            card = json.loads((d / "card.json").read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ModelFileError(f"card.json is not valid JSON ({exc}).", path=d / "card.json") from None
        if not isinstance(card, dict) or card.get("format") != LM_FORMAT:
            raise ModelFileError("card.json is not a language-model card.", path=d / "card.json",
                                 remedy="give an LM folder (rnalabel lm pretrain), not a model run folder.")
    for f in FILES[:2]:
        if not (d / f).exists():
            extra = " (pytorch_model.bin is a pickle, which rnalabel never loads; convert it with safetensors)" \
                if f == "model.safetensors" and (d / "pytorch_model.bin").exists() else ""
            raise ModelFileError(f"{f} is missing{extra}.", path=d, remedy="copy the whole LM folder.")
    if ours:
        sums = card.get("files")
        if not isinstance(sums, dict) or not {"model.safetensors", "config.json"} <= set(sums):
            raise ModelFileError("card.json lacks the checksums of the weights and config.", path=d / "card.json",
                                 remedy="copy the LM folder again from where it was written.")
        for f in FILES:
            if (d / f).exists() and (f in sums or f == "vocab.txt") and sha256_file(d / f) != sums.get(f):
                raise ModelFileError(f"{f} does not match the checksum in card.json (damaged or swapped).",
                                     path=d / f, remedy="copy the LM folder again.")
    try:
        raw = json.loads((d / "config.json").read_text())
        if not isinstance(raw, dict):
            raise TypeError("it is not a JSON object")
        if raw.get("tie_word_embeddings") is False:
            raise ConfigError("its MLM decoder is not tied to the word embeddings, which rnalabel's BERT assumes")
        config = LMConfig.from_json(raw)
    except (json.JSONDecodeError, UnicodeDecodeError, TypeError, ValueError, ConfigError) as exc:
        why = exc.message if isinstance(exc, ConfigError) else str(exc)
        raise ModelFileError(f"config.json cannot be used ({why}).", path=d / "config.json") from None
    vocab = _read_vocab(d, config)
    nucleotide_ids(vocab)  # refuse a vocabulary without one token per nucleotide now, not at the first use
    try:
        state = load_file(str(d / "model.safetensors"), device="cpu")
    except (SafetensorError, OSError, ValueError) as exc:
        raise ModelFileError(f"cannot read the weights ({exc}).", path=d / "model.safetensors") from None
    module = RNALM(config)
    state, head = _bert_keys(state)
    try:
        missing, unexpected = module.load_state_dict(state, strict=False)
    except RuntimeError as exc:  # a tensor of another shape than config.json says
        raise ModelFileError(f"the weights do not fit config.json ({str(exc).splitlines()[-1].strip()}).",
                             path=d / "model.safetensors", remedy="keep the folder's files together.") from None
    missing = [k for k in missing if k != "cls.predictions.decoder.weight" and (head or not k.startswith("cls."))]
    if missing or unexpected:
        shown = ", ".join((missing + unexpected)[:4])
        raise ModelFileError(f"the weights do not fit a BERT of this config.json ({shown} ...).",
                             path=d / "model.safetensors", remedy="keep the folder's files together.")
    if not ours:
        card = {"format": "huggingface-bert", "config": config.to_json(), "mlm_head": "loaded" if head else "random"}
    return LanguageModel(module.eval().to(device), vocab, card, "rnalabel" if ours else "huggingface")


def _read_vocab(d: Path, config: LMConfig) -> list[str]:
    p = d / "vocab.txt"
    if not p.exists():
        if config.vocab_size == len(VOCAB):
            return list(VOCAB)
        raise ModelFileError("vocab.txt is missing and the vocabulary is not rnalabel's.", path=d,
                             remedy="copy the model's vocab.txt into the folder.")
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ModelFileError("vocab.txt is not a UTF-8 text file (one token per line).", path=p,
                             remedy="copy the model's vocab.txt into the folder again.") from None
    vocab = [line.strip() for line in text.splitlines() if line.strip()]
    if len(vocab) != config.vocab_size:
        raise ModelFileError(f"vocab.txt has {len(vocab)} tokens, config.json says {config.vocab_size}.", path=p,
                             remedy="the two files come from different models: copy both from one checkpoint.")
    return vocab


def _bert_keys(state: dict[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], bool]:
    """HuggingFace BERT keys -> RNALM keys; returns the state and whether an MLM head was there."""
    out = {}
    for k, v in state.items():
        if k.startswith(("embeddings.", "encoder.", "pooler.")):
            k = "bert." + k
        if k.startswith("bert.pooler.") or k in ("cls.predictions.decoder.weight", "cls.predictions.decoder.bias") \
                or k.endswith("position_ids"):
            continue
        out[k] = v
    return out, any(k.startswith("cls.") for k in out)
