"""DeepMiRBP's RNA encoder: shapes, padding that is never read, the two embeddings, and transfer of weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnalabel.engine.training import load_init_state
from rnalabel.errors import ConfigError
from rnalabel.models import InputSpec, build_model
from rnalabel.models.deepmirbp import sequence_lengths
from rnalabel.views.onehot import one_hot


def _x(seqs: list[str], width: int) -> dict[str, torch.Tensor]:
    from rnalabel.data.sequence import encode_batch

    return {"seq": torch.from_numpy(one_hot(encode_batch(seqs, width), pad_value=0.0))}


def _model(width: int = 101, n_labels: int = 3, **params):
    torch.manual_seed(0)
    return build_model("deepmirbp", inputs=[InputSpec("seq", "position", 4, width)], n_labels=n_labels,
                       params={"embed_dim": 16, "lstm_units": 8, "attention": 8, "hidden": 8, **params}).eval()


def test_shapes_and_kinds():
    m = _model()
    x = _x(["ACGU" * 25 + "A", "UUU"], 101)
    assert m(x).shape == (2, 3)
    assert m.embed(x).shape == (2, 16)  # 2 x lstm_units
    assert m.kinds[0] == "embedding"
    assert sequence_lengths(x["seq"]).tolist() == [101, 3]


def test_padding_is_never_read():
    """A 22-nt miRNA gives the same logits and embedding whether padded to 101 nt or not padded at all."""
    mir = "UAGCUUAUCAGACUGAUGUUGA"
    m101, m22 = _model(101), _model(22)
    m22.load_state_dict(m101.state_dict())
    with torch.no_grad():
        a, b = m101.embed(_x([mir, "ACGU" * 25 + "A"], 101))[0], m22.embed(_x([mir], 22))[0]
        assert torch.allclose(a, b, atol=1e-5)
        assert torch.allclose(m101(_x([mir], 101)), m22(_x([mir], 22)), atol=1e-5)


def test_sum_embedding_is_the_papers_formula():
    """embedding="sum": the sum of the nucleotide embeddings over the sequence (padding adds nothing)."""
    m = _model(embedding="sum")
    w = m.embed_nt.weight[:, :, 0]  # (E, 4)
    with torch.no_grad():
        v = m.embed(_x(["AAC"], 30))[0]
    assert torch.allclose(v, 2 * w[:, 0] + w[:, 1], atol=1e-5)


def test_gradients_reach_the_embedding():
    m = _model().train()
    m(_x(["ACGUACGU" * 5], 101)).sum().backward()
    assert m.embed_nt.weight.grad is not None and float(m.embed_nt.weight.grad.abs().sum()) > 0


@pytest.mark.parametrize("params", [{"embedding": "mean"}, {"lstm_units": 0}, {"dropout": 1.0}])
def test_bad_hyper_parameters(params):
    with pytest.raises(ConfigError):
        _model(**params)


def test_transfer_skips_an_output_layer_of_another_size():
    """Source (3 outputs) -> target (1 output): the encoder is copied, the output layer starts fresh."""
    src, tgt = _model(n_labels=3), _model(n_labels=1)
    torch.nn.init.constant_(src.lstm.weight_ih_l0, 0.123)
    skipped = load_init_state(tgt, src.state_dict(), strict=False)
    assert skipped == ["head.4.bias", "head.4.weight"]
    assert torch.equal(tgt.lstm.weight_ih_l0, src.lstm.weight_ih_l0)
    with pytest.raises(ConfigError):
        load_init_state(tgt, src.state_dict(), strict=True)
    import warnings

    from rnalabel.engine.training import PartialInitWarning

    with warnings.catch_warnings():
        warnings.simplefilter("error", PartialInitWarning)  # the usual transfer moves most weights: quiet
        load_init_state(_model(n_labels=1), src.state_dict(), strict=False)
    one = {k: v for k, v in src.state_dict().items() if k.startswith("embed")}  # the embedding only
    with pytest.warns(PartialInitWarning, match="most of the model starts untrained"):
        load_init_state(_model(n_labels=1), {**one, "head.4.bias": torch.zeros(3)}, strict=False)
    with pytest.raises(ConfigError, match="none of the initial weights"):
        load_init_state(tgt, {"nothing": torch.zeros(1)}, strict=False)
    assert np.isfinite(tgt(_x(["ACGU"], 101)).detach().numpy()).all()
