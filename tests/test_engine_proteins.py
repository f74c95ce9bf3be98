"""The protein encoder: learns a target similarity, is stored safely with the model, scores new proteins zero-shot."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from rnalabel.engine.bundle import load_model, save_model
from rnalabel.engine.proteins import (
    attach_protein_encoder,
    load_protein_encoder,
    protein_similarity,
    rna_side_similarity,
    train_protein_encoder,
    zero_shot,
)
from rnalabel.engine.similarity import load_index
from rnalabel.errors import InputError, ModelFileError
from rnalabel.io.protein_features import ProteinFeatures, blosum_profile
from rnalabel.models.protein_encoder import ProteinEncoder

FAMILY_A = "MKVLAAGRRSTLLKEEIVNKAQHG" * 3
FAMILY_B = "PWYCPWCYHHDDEEPWFCYW" * 3


def _feat(name: str, seq: str, contacts: bool = False) -> ProteinFeatures:
    c = None
    if contacts:
        i = np.arange(len(seq))
        c = np.abs(i[:, None] - i[None, :]) < 4
    return ProteinFeatures(name, blosum_profile(seq, name=name), c)


def _mutate(seq: str, k: int, seed: int) -> str:
    rng = np.random.default_rng(seed)
    s = list(seq)
    for i in rng.choice(len(s), k, replace=False):
        s[i] = "ACDEFGHIKLMNPQRSTVWY"[rng.integers(20)]
    return "".join(s)


def test_encoder_output_is_a_unit_vector_with_or_without_a_map():
    enc = ProteinEncoder(dim=8)
    f = _feat("a", FAMILY_A, contacts=True)
    with torch.no_grad():
        for c in (torch.from_numpy(f.contacts.astype(np.float32)), None):
            v = enc.encode_one(torch.from_numpy(f.profile.values), c)
            assert v.shape == (8,) and float(v.norm()) == pytest.approx(1.0, abs=1e-5)
    long = _feat("long", "M" * 3000, contacts=True)  # pooled to map_size: no 3000 x 3000 convolution
    with torch.no_grad():
        assert enc.encode_one(torch.from_numpy(long.profile.values),
                              torch.from_numpy(long.contacts.astype(np.float32))).shape == (8,)


def test_encoder_learns_the_target_similarity():
    """Two families, similar within and opposite across: the trained encoder reproduces that, and places an
    unseen member of each family next to its own family."""
    feats = [_feat(f"a{i}", _mutate(FAMILY_A, 6, i)) for i in range(3)] + \
            [_feat(f"b{i}", _mutate(FAMILY_B, 6, 10 + i), contacts=True) for i in range(3)]
    fam = np.array([0, 0, 0, 1, 1, 1])
    target = np.where(fam[:, None] == fam[None, :], 0.9, -0.5)
    np.fill_diagonal(target, 1.0)
    enc, hist = train_protein_encoder(feats, target, epochs=120, seed=0, dim=8)
    assert hist[-1] < 0.2 * hist[0]
    from rnalabel.engine.proteins import embed_proteins

    e = embed_proteins(enc, feats + [_feat("a_new", _mutate(FAMILY_A, 8, 99))])
    sims = e[-1] @ e[:-1].T
    assert sims[:3].min() > sims[3:].max()
    with pytest.raises(InputError):
        train_protein_encoder(feats[:2], target[:2, :2])


@pytest.fixture(scope="module")
def bundle_with_index(demo_small):
    from tests.helpers import tiny_indexed_model

    return tiny_indexed_model(demo_small)


def test_store_load_and_zero_shot(bundle_with_index, tmp_path):
    model, q = bundle_with_index
    si = load_index(model)
    names = ["PUM2", "QKI", "MBNL1", "ELAVL1", "SRSF1"]
    S = rna_side_similarity(si, names)
    assert S.shape == (5, 5) and np.allclose(np.diag(S), 1)
    feats = [_feat(n, _mutate(FAMILY_A if i % 2 else FAMILY_B, 5, i)) for i, n in enumerate(names)]
    enc, _ = train_protein_encoder(feats, S, epochs=20, dim=8)
    attach_protein_encoder(model, enc, feats)
    save_model(model, tmp_path / "m")
    b = load_model(tmp_path / "m")
    space = load_protein_encoder(b)
    assert space.names == names and space.embeddings.shape == (5, 8)
    card = json.loads((tmp_path / "m" / "card.json").read_text())
    assert card["artifacts"]["proteins.encoder"]["format"] == "bytes"  # safetensors bytes, never a pickle
    new = [_feat("NEW", _mutate(FAMILY_A, 3, 50))]
    all_names, m = protein_similarity(b, new)
    assert all_names[-1] == "NEW" and m.shape == (6, 6) and np.allclose(m, m.T, atol=1e-5)
    rows = zero_shot(b, q.subset([0, 1]), new, neighbours=2)
    assert [r["id"] for r in rows] == ["q0", "q1"]
    r = rows[0]
    assert len(r["neighbours"]) == 2
    w = np.maximum([c for _, c, _ in r["neighbours"]], 0)
    zs = np.array([z for _, _, z in r["neighbours"]])
    assert r["score"] == pytest.approx(float((w * zs).sum() / w.sum()) if w.sum() else float(zs.mean()), abs=1e-6)
    with pytest.raises(InputError):
        zero_shot(b, q, new, neighbours=0)
    known = [_feat("qki", _mutate(FAMILY_A, 3, 51))]  # has data already (any case): it would be listed twice
    for call in (lambda: zero_shot(b, q, known), lambda: protein_similarity(b, known)):
        with pytest.raises(InputError, match="has binding data in this model"):
            call()
    with pytest.raises(InputError, match="two new proteins are named 'NEW'"):
        zero_shot(b, q, new + new)
    b.artifacts.pop("proteins.encoder")
    with pytest.raises(ModelFileError, match="no protein encoder"):
        load_protein_encoder(b)
