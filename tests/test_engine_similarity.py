"""The similarity index over binding sites and protein ranking (DeepMiRBP's first component)."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import torch

from rnalabel.data import Dataset
from rnalabel.engine.bundle import load_model, save_model
from rnalabel.engine.similarity import (
    INDEX,
    INDEX_META,
    INDEX_SEEDS,
    SiteIndex,
    build_index,
    kmer_presence,
    load_index,
    null_controls,
    rank,
    seed_code,
)
from rnalabel.engine.training import fit
from rnalabel.errors import ConfigError, InputError, ModelFileError
from tests.helpers import tiny_deepmirbp_recipe

LABEL_INFO = {"PUM2": {"proteins": ["PUM2"]}, "QKI": {"proteins": ["QKI"]}, "MBNL1": {"proteins": ["MBNL1"]},
              "ELAVL1": {"proteins": ["ELAVL1", "ELAVL1B"]}, "SRSF1": {"proteins": ["SRSF1"]}}


@pytest.fixture(scope="module")
def encoder(demo_small):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model, _ = fit(tiny_deepmirbp_recipe(loss="focal", pos_weight="balanced"), demo_small, progress=False,
                       device="cpu")
    return model


@pytest.fixture(scope="module")
def mirnas(demo_small) -> Dataset:
    """22-nt stretches of demo sequences: miRNA-like queries."""
    seqs = demo_small.sequences[:30]
    return Dataset.from_sequences([f"q{i}" for i in range(30)], [s[10 + i: 32 + i] for i, s in enumerate(seqs)])


@pytest.fixture(scope="module")
def indexed(encoder, demo_small, mirnas, tmp_path_factory):
    sites = demo_small.subset(np.arange(300))
    sites.provenance["label_info"] = LABEL_INFO
    build_index(encoder, sites, mirnas, k=5, n_null=4, progress=False)
    d = tmp_path_factory.mktemp("idx") / "model"
    save_model(encoder, d)
    return d, sites


def test_every_bound_site_is_indexed_once_per_experiment(indexed):
    d, sites = indexed
    si = load_index(load_model(d))
    assert len(si.site_ids) == int(np.sum(sites.labels == 1))
    for j, name in enumerate(si.experiments):
        want = sorted(str(i) for i in sites.ids[sites.labels[:, j] == 1])
        assert sorted(si.site_ids[si.offsets[j]:si.offsets[j + 1]]) == want, name
    assert si.proteins["ELAVL1"] == ["ELAVL1", "ELAVL1B"]
    assert si.center is not None and si.meta["centered"] is True


def test_search_is_exact(indexed, encoder, mirnas):
    """faiss's top-k per experiment equals a brute-force cosine top-k in numpy."""
    from rnalabel.engine.forward import unit_outputs

    si = load_index(load_model(indexed[0]))
    _, q = unit_outputs(encoder, mirnas.subset(np.arange(5)), output="embedding", progress=False)
    sims, rows = si.search(q)
    qu = si.unit(q)
    for j in range(len(si.experiments)):
        a, b = si.offsets[j], si.offsets[j + 1]
        full = qu @ si.vectors[a:b].T
        want = -np.sort(-full, axis=1)[:, :si.k]
        np.testing.assert_allclose(sims[:, j, :], want, atol=1e-5)
        np.testing.assert_allclose(np.take_along_axis(full, rows[:, j, :] - a, axis=1), want, atol=1e-5)


def test_a_site_finds_itself(indexed, encoder):
    d, sites = indexed
    b = load_model(d)
    j = 0
    row = int(np.flatnonzero(sites.labels[:, j] == 1)[0])
    r = rank(b, sites.subset([row]), top=None, n_sites=1)
    best = next(x for x in r.rows if x["experiment"] == sites.label_names[j])
    assert best["sites"][0][0] == str(sites.ids[row])
    assert best["sites"][0][1] == pytest.approx(1.0, abs=1e-5)


def test_scores_are_calibrated_against_shuffles(indexed, mirnas):
    """The z-scores of the calibration controls themselves have mean 0 and sd 1 per experiment."""
    b = load_model(indexed[0])
    si = load_index(b)
    from rnalabel.engine.forward import unit_outputs

    _, v = unit_outputs(b, null_controls(mirnas, 4, seed=0), output="embedding", progress=False)
    z, *_ = si.z_scores(v)
    np.testing.assert_allclose(z.mean(axis=0), 0, atol=1e-4)
    np.testing.assert_allclose(z.std(axis=0, ddof=1), 1, atol=1e-3)


def test_null_controls_keep_composition(mirnas):
    c = null_controls(mirnas.subset([0, 1]), 3, seed=1)
    assert len(c) == 6
    for i, s in enumerate(c.sequences):
        orig = mirnas.sequences[i % 2]
        assert sorted(s) == sorted(orig) and s[0] == orig[0] and s[-1] == orig[-1]


def test_rank_rows_and_tsv(indexed, mirnas, tmp_path):
    from rnalabel.engine.bundle import ShortSequenceWarning

    b = load_model(indexed[0])
    with warnings.catch_warnings():  # the encoder never reads padding: 22-nt queries need no warning
        warnings.simplefilter("error", ShortSequenceWarning)
        r = rank(b, mirnas.subset([0, 1]), top=3, n_sites=2)
    assert [x["rank"] for x in r.rows] == [1, 2, 3, 1, 2, 3]
    for q in ("q0", "q1"):
        scores = [x["score"] for x in r.rows if x["id"] == q]
        assert scores == sorted(scores, reverse=True)
    assert all(len(x["sites"]) == 2 for x in r.rows)
    allp = rank(b, mirnas.subset([0]), top=None)
    assert {x["protein"] for x in allp.rows} == {"PUM2", "QKI", "MBNL1", "ELAVL1", "ELAVL1B", "SRSF1"}
    path = r.to_tsv(tmp_path / "r.tsv")
    lines = path.read_text().splitlines()
    assert lines[0].split("\t") == ["id", "rank", "protein", "score", "cosine", "experiment", "seed_share", "seed_z",
                                     "nearest_sites"]
    assert len(lines) == 7
    with pytest.raises(InputError):
        rank(b, mirnas, top=0)


def test_damaged_or_missing_index_is_refused(indexed, encoder, tmp_path):
    import shutil

    d = tmp_path / "m"
    shutil.copytree(indexed[0], d)
    card = json.loads((d / "card.json").read_text())
    (d / card["artifacts"][INDEX]["file"]).write_bytes(b"not a faiss index")
    with pytest.raises(ModelFileError, match="checksum"):
        load_model(d)
    b = load_model(indexed[0])
    meta = b.artifacts[INDEX_META].value
    b.artifacts[INDEX_META].value = {**meta, "experiments": meta["experiments"][:-1]}
    with pytest.raises(ModelFileError, match="disagree"):
        load_index(b)
    b.artifacts.pop(INDEX)
    with pytest.raises(ModelFileError, match="no similarity index"):
        load_index(b)


def test_index_needs_an_embedding_model_and_bound_sites(trained_tiny, encoder, demo_small, mirnas):
    with pytest.raises(ConfigError, match="embedding model"):
        build_index(trained_tiny, demo_small, mirnas, progress=False)
    none = demo_small.subset(np.arange(20))
    none.labels[:] = 0
    with pytest.raises(InputError, match="no bound site"):
        build_index(encoder, none, mirnas, progress=False)
    with pytest.raises(InputError):
        build_index(encoder, demo_small, mirnas, k=0, progress=False)


def test_site_index_from_vectors_without_centring():
    rng = np.random.default_rng(0)
    v = rng.normal(size=(50, 4)).astype(np.float32)
    bound = np.zeros((50, 2), dtype=bool)
    bound[:30, 0] = True
    bound[20:, 1] = True  # rows 20-29 in both
    si = SiteIndex.from_vectors(v, bound, ["a", "b"], k=3, center=False)
    assert si.offsets.tolist() == [0, 30, 60] and si.center is None
    np.testing.assert_allclose(np.linalg.norm(si.vectors, axis=1), 1, atol=1e-6)
    sims, _ = si.search(v[:1])
    assert sims[0, 0, 0] == pytest.approx(1.0, abs=1e-6)


def test_site_embeddings_resume_after_a_kill(encoder, demo_small, mirnas, tmp_path, monkeypatch):
    """With a checkpoint folder, embeddings are saved a chunk at a time: a build killed after some chunks embeds
    only the missing ones when run again, and the index is the one an uninterrupted build makes."""
    import copy

    import rnalabel.engine.similarity as S
    from rnalabel.engine.similarity import load_index

    sites = demo_small.subset(np.arange(200))
    ref = build_index(copy.deepcopy(encoder), sites, mirnas, k=5, n_null=4, progress=False)
    calls = []
    real = S._embed

    def sites_only(ds):
        return len(ds) and ":shuffle" not in str(ds.ids[0])  # not the shuffled miRNAs of the calibration

    def dying(bundle, ds, **kw):
        calls.append(len(ds) if sites_only(ds) else 0)
        if len(calls) == 4:
            raise KeyboardInterrupt  # the kill: the null controls (embedded first) and two chunks were done
        return real(bundle, ds, **kw)

    monkeypatch.setattr(S, "_embed", dying)
    ck = tmp_path / "ck"
    with pytest.raises(KeyboardInterrupt):
        build_index(copy.deepcopy(encoder), sites, mirnas, k=5, n_null=4, progress=False, checkpoint=ck, chunk=40)
    assert len(list(ck.glob("part*.npy"))) == 2
    calls.clear()
    monkeypatch.setattr(S, "_embed", lambda b, ds, **kw: calls.append(len(ds) if sites_only(ds) else 0)
                        or real(b, ds, **kw))
    again = build_index(copy.deepcopy(encoder), sites, mirnas, k=5, n_null=4, progress=False, checkpoint=ck,
                        chunk=40)
    n_bound = int((sites.labels == 1).any(axis=1).sum())
    assert sum(calls) == n_bound - 80  # only the chunks that were missing
    a, b = load_index(ref), load_index(again)
    np.testing.assert_allclose(a.vectors, b.vectors, atol=1e-6)
    # another model (or other sites): the saved parts are not used
    other = copy.deepcopy(encoder)
    with torch.no_grad():
        next(other.module.parameters()).add_(1.0)
    calls.clear()
    build_index(other, sites, mirnas, k=5, n_null=4, progress=False, checkpoint=ck, chunk=40)
    assert sum(calls) == n_bound


def _kmer_index(word: str) -> int:
    code = 0
    for ch in word:
        code = code * 4 + "ACGU".index(ch)
    return code


def test_seed_code_is_the_reverse_complement_of_nucleotides_2_to_8():
    from rnalabel.data.sequence import encode, reverse_complement

    let7 = "UGAGGUAGUAGGUUGUAUAGUU"
    assert seed_code(encode(let7), len(let7)) == _kmer_index(reverse_complement(let7[1:8])) == _kmer_index("CUACCUC")
    assert seed_code(encode("UGAGGUA"), 7) is None  # too short for nucleotides 2-8
    assert seed_code(encode("UGANGUAGUAG"), 11) is None  # N inside the seed


def test_kmer_presence_counts_each_site_once_per_kmer():
    """Against a brute-force count in Python; chunks do not change it; N and padding are skipped."""
    from rnalabel.data.sequence import decode

    rng = np.random.default_rng(0)
    seqs = ["".join(rng.choice(list("ACGU"), n)) for n in rng.integers(5, 40, 60)]
    seqs[3] = "AAAAAAAAAAAAAAAA"  # one 7-mer, many times: counted once
    seqs[4] = "ACGUNACGUACGU"
    ds = Dataset.from_sequences([f"s{i}" for i in range(60)], seqs)
    bound = rng.random((60, 3)) < 0.5
    bound[3] = True
    table = kmer_presence(ds.tokens, bound, k=7, chunk=7)
    assert table.shape == (4 ** 7, 3)
    np.testing.assert_allclose(table, kmer_presence(ds.tokens, bound, k=7), atol=1e-7)
    for word in ("AAAAAAA", "CGUACGU", decode(ds.tokens[0][:7], 7)):
        for j in range(3):
            want = np.mean([word in s for s, b in zip(seqs, bound[:, j], strict=True) if b])
            assert table[_kmer_index(word), j] == pytest.approx(want), (word, j)
    one = Dataset.from_sequences(["n"], ["ACGUNACGUACGU"])
    t1 = kmer_presence(one.tokens, np.ones((1, 1), bool), k=7)
    assert t1[_kmer_index("ACGUACG"), 0] == 1.0  # after the N
    assert t1[:, 0].sum() == 2  # ACGUACG and CGUACGU: no k-mer through the N (not read as A)


def test_rank_reports_seed_match_evidence(indexed, mirnas, tmp_path):
    """seed_share is the share of the experiment's bound sites that hold the query's 7mer-m8 seed match; an index
    built before the seed table existed still ranks, with the evidence unknown (NaN, empty in the TSV)."""
    from rnalabel.data.sequence import reverse_complement

    d, sites = indexed
    b = load_model(d)
    q = mirnas.subset([0, 1, 2])
    r = rank(b, q, top=None)
    seqs = list(sites.sequences)
    for row in r.rows:
        qseq = q.sequences[list(q.ids).index(row["id"])]
        j = list(sites.label_names).index(row["experiment"])
        word = reverse_complement(qseq[1:8])
        want = np.mean([word in s for s, y in zip(seqs, sites.labels[:, j], strict=True) if y == 1])
        assert row["seed_share"] == pytest.approx(want, abs=1e-6)
        assert np.isfinite(row["seed_z"])
    b.artifacts.pop(INDEX_SEEDS)
    old = rank(b, q, top=2)
    assert all(np.isnan(x["seed_share"]) and np.isnan(x["seed_z"]) for x in old.rows)
    assert [x["protein"] for x in old.rows] == [x["protein"] for x in rank(load_model(d), q, top=2).rows]
    line = old.to_tsv(tmp_path / "old.tsv").read_text().splitlines()[1].split("\t")
    assert line[6:8] == ["", ""]


def test_seed_z_of_a_query_does_not_depend_on_the_others(indexed, mirnas):
    """A query's seed_z is its own: asked alone, first or last among others, it is the same number; and it stays
    within what one site of the experiment can move (no 1e-4 floor blowing a lone hit up to z = 250)."""
    d, _ = indexed
    index = load_index(load_model(d))
    alone = index.seed_evidence(mirnas.subset([2]))[1][0]
    with_others = index.seed_evidence(mirnas.subset([0, 1, 2]))[1][2]
    reordered = index.seed_evidence(mirnas.subset([2, 1, 0]))[1][0]
    np.testing.assert_array_equal(alone, with_others)
    np.testing.assert_array_equal(alone, reordered)
    z = index.seed_evidence(mirnas)[1]
    assert np.all(np.abs(z[np.isfinite(z)]) <= index.sizes.max())
