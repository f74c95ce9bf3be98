"""Integrated gradients, baselines, mapping to nucleotides and in-silico mutagenesis (rnalabel.explain)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from torch import nn

from rnalabel.data import Dataset
from rnalabel.data.sequence import encode
from rnalabel.data.shuffle import dinucleotide_shuffle, shuffle_tokens
from rnalabel.engine.bundle import Bundle
from rnalabel.engine.recipe import Recipe
from rnalabel.errors import InputError, LabelError
from rnalabel.explain import (
    AttributionWarning,
    in_silico_mutagenesis,
    integrated_gradients,
    low_score_baseline,
    prepare_windows,
)
from rnalabel.models.registry import InputSpec
from rnalabel.views import AminoAcid, Dipeptide, OneHot

L = 12


class _Linear(nn.Module):
    """logits[:, k] = sum(W[k] * x) + b[k]: integrated gradients is exactly W * (x - x')."""

    def __init__(self, weight: torch.Tensor) -> None:
        super().__init__()
        self.weight = nn.Parameter(weight)
        self.bias = nn.Parameter(torch.tensor([0.5, -1.0]))

    def forward(self, x):
        return torch.einsum("kcl,ncl->nk", self.weight, x["seq"]) + self.bias


class _Smooth(nn.Module):
    """A small smooth non-linear network (conv, tanh, pooled, softplus), for completeness checks."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv1d(4, 6, 5, padding=2)
        self.out = nn.Linear(6, 2)

    def forward(self, x):
        return nn.functional.softplus(self.out(torch.tanh(self.conv(x["seq"])).mean(dim=2))) * 3 - 1


def _toy(module: nn.Module, window: int = L) -> Bundle:
    return Bundle(
        module=module, recipe=Recipe(name="toy", model="toy"), views={"seq": OneHot(pad_value=0.25)},
        inputs=[InputSpec("seq", "position", 4, window)], label_names=["X", "Y"], window=window, stride=window,
        thresholds=np.full(2, 0.5),
    )


def _seqs(n: int, length: int = L, seed: int = 0) -> Dataset:
    rng = np.random.default_rng(seed)
    seqs = ["".join(rng.choice(list("ACGU"), size=length)) for _ in range(n)]
    return Dataset.from_sequences([f"s{i}" for i in range(n)], seqs)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One torch thread in this module: two pytest workers on two cores must not oversubscribe them."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def mrb(demo_small):
    """A Multi-resBind (batch norm, ReLU, dilated residual block) trained for one epoch on 420 sequences."""
    from dataclasses import replace

    from rnalabel.engine.training import fit
    from tests.helpers import tiny_recipe

    rec = tiny_recipe("multiresbind")
    lm, _ = fit(replace(rec, train=replace(rec.train, max_epochs=1)), demo_small, progress=False, device="cpu")
    return lm


@pytest.fixture(scope="module")
def linear():
    torch.manual_seed(1)
    return _toy(_Linear(torch.randn(2, 4, L)))


def test_linear_model_attributions_are_known(linear):
    ds = _seqs(5)
    a = integrated_gradients(linear, ds, label="Y", baseline="zero", steps=8, progress=False)
    x = OneHot().transform(ds)
    expected = linear.module.weight.detach().numpy()[1][None] * x
    np.testing.assert_allclose(a.values["seq"], expected, atol=1e-5)
    np.testing.assert_allclose(a.nucleotide["seq"], expected.sum(axis=1), atol=1e-5)
    np.testing.assert_allclose(a.delta, 0, atol=1e-4)
    assert a.channel_names["seq"] == list("ACGU") and a.sequence_views == ["seq"]


def test_linear_model_mutagenesis_is_known(linear):
    ds = _seqs(2)
    m = in_silico_mutagenesis(linear, ds, label=0, progress=False)
    w = linear.module.weight.detach().numpy()[0]
    tok = ds.tokens[0]
    for i in range(L):
        for b in range(4):
            assert m.values["ism"][0, b, i] == pytest.approx(w[b, i] - w[tok[i], i], abs=1e-5)
    want = -(w[:, range(L)] - w[tok, range(L)]).sum(axis=0) / 3
    np.testing.assert_allclose(m.nucleotide["ism"][0], want, atol=1e-5)


@pytest.mark.parametrize("baseline", ["zero", "low-score", "shuffle"])
def test_completeness_on_a_smooth_toy_model(baseline):
    model = _toy(_Smooth())
    ds = _seqs(40, seed=2)
    a = integrated_gradients(model, ds.subset(np.arange(8)), label="X", baseline=baseline, reference=ds,
                             n_low=10, n_shuffles=3, steps=50, progress=False)
    total = sum(v.reshape(len(v), -1).sum(axis=1) for v in a.values.values())
    np.testing.assert_allclose(total, a.scores - a.baseline_scores, atol=1e-3, rtol=1e-3)
    assert a.info["max_relative_delta"] < 0.01


def test_completeness_and_batch_independence_on_a_trained_model(mrb, demo_small):
    sub = demo_small.subset(np.arange(8))
    with warnings.catch_warnings():
        warnings.simplefilter("error", AttributionWarning)
        big = integrated_gradients(mrb, sub, label="PUM2", baseline="low-score", reference=demo_small, n_low=100,
                                   steps=100, batch_size=64, progress=False)
    assert np.max(big.relative_delta) < 0.05
    one = integrated_gradients(mrb, sub, label="PUM2", baseline="low-score", reference=demo_small, n_low=100,
                               steps=100, batch_size=1, progress=False)
    np.testing.assert_allclose(one.values["seq"], big.values["seq"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(one.delta, big.delta, atol=1e-5)


def test_warns_when_not_converged(mrb, demo_small):
    with pytest.warns(AttributionWarning, match="did not converge"):
        integrated_gradients(mrb, demo_small.subset(np.arange(8)), label="PUM2", baseline="zero",
                             steps=2, method="riemann_left", tolerance=1e-6, progress=False)


def test_low_score_baseline_is_the_mean_of_the_lowest(linear):
    ds = _seqs(30, seed=3)
    base = low_score_baseline(linear, ds, label="X", n_low=5, progress=False)
    x = OneHot().transform(ds)
    s = np.einsum("cl,ncl->n", linear.module.weight.detach().numpy()[0], x)
    np.testing.assert_allclose(base.arrays["seq"][0], x[np.argsort(s)[:5]].mean(axis=0), atol=1e-6)
    with pytest.warns(AttributionWarning, match="fewer than n_low"):
        low_score_baseline(linear, ds, label="X", n_low=100, progress=False)


def test_module_state_is_restored_and_labels_checked(mrb, demo_small):
    mrb.module.train()
    try:
        integrated_gradients(mrb, demo_small.subset(np.arange(2)), label=0, baseline="zero", steps=4,
                             tolerance=1.0, progress=False)
        assert mrb.module.training
    finally:
        mrb.module.eval()
    with pytest.raises(LabelError, match="no label 'NOPE'"):
        integrated_gradients(mrb, demo_small, label="NOPE", progress=False)
    with pytest.raises(InputError, match="unknown baseline"):
        integrated_gradients(mrb, demo_small.subset(np.arange(2)), label=0, baseline="mean",
                             progress=False)


def test_long_sequences_are_windowed_and_arrays_accepted(linear):
    ds = _seqs(2, length=30, seed=4)
    a = integrated_gradients(linear, ds, label="X", baseline="zero", steps=4, progress=False)
    assert a.nucleotide["seq"].shape == (6, L)  # windows of 12 every 12 nt, the last aligned to the end
    assert list(a.windows.start) == [0, 12, 18] * 2 and list(a.windows.source) == [0, 0, 0, 1, 1, 1]
    win = prepare_windows(linear, ds)
    b = integrated_gradients(linear, win.arrays, label="X", baseline="zero", steps=4, progress=False)
    np.testing.assert_allclose(b.values["seq"], a.values["seq"], atol=1e-6)
    assert (b.windows.tokens == win.tokens).all()


def test_dinucleotide_shuffle_keeps_dinucleotide_counts():
    rng = np.random.default_rng(0)
    seq = encode("ACGUUGCAAUGCGCGAUUUACGNAGGCUAGCUAGCUUUAAAGC")
    for _ in range(5):
        sh = dinucleotide_shuffle(seq, rng)
        assert sh[0] == seq[0] and sh[-1] == seq[-1]
        pairs = lambda s: sorted(zip(s[:-1].tolist(), s[1:].tolist(), strict=True))  # noqa: E731
        assert pairs(sh) == pairs(seq)
    many = shuffle_tokens(np.stack([seq[:20], seq[5:25]]), np.array([20, 15]), n=3, seed=1)
    assert many.shape == (3, 2, 20) and (many[:, 1, 15:] == seq[20:25]).all()


def test_codon_and_kmer_views_are_mapped_back_to_nucleotides():
    ds = _seqs(3, length=15, seed=5)
    tok, n = ds.tokens, ds.lengths
    aa = AminoAcid()
    p = aa.transform(ds).shape[2]
    v = np.zeros((3, 20, p))
    v[:, 4, 2] = 3.0  # peptide position 2 = frame 0, codon at nt 6..8
    m = aa.to_nucleotides(v, tokens=tok, lengths=n, window=15)
    np.testing.assert_allclose(m.track[:, 6:9], 1.0)
    assert m.track.sum() == pytest.approx(9.0)
    dp = Dipeptide()
    counts = dp.transform(ds).sum(axis=2)  # (N, 440)
    v = np.zeros((3, 440, 30))
    d = int(np.flatnonzero(counts[0])[0])
    v[0, d, 0] = 6.0 * counts[0, d]
    m = dp.to_nucleotides(v, tokens=tok, lengths=n, window=15)
    assert m.track[0].sum() == pytest.approx(6.0 * counts[0, d]) and m.unplaced[0] == pytest.approx(0)


def test_kmer_view_is_mapped_back_to_nucleotides():
    kmer = pytest.importorskip("rnalabel.views.kmer")
    ds = _seqs(3, length=15, seed=5)
    tok, n = ds.tokens, ds.lengths
    km = kmer.Kmer(k=(2,))
    v = np.zeros((3, 16))
    code = 4 * int(tok[0, 5]) + int(tok[0, 6])
    v[0, code] = 2.0
    m = km.to_nucleotides(v, tokens=tok, lengths=n, window=15)
    assert m.track[0].sum() == pytest.approx(2.0) and m.track[0, 5] > 0 and m.track[0, 6] > 0
