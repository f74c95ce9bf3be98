"""Seqlets, motif clustering, PWM similarity and MEME export (rnalabel.explain.motifs), on synthetic data."""

from __future__ import annotations

import numpy as np
import pytest

from rnalabel.data.published_motifs import PUBLISHED_MOTIFS, consensus_to_pwm, sample_consensus
from rnalabel.data.sequence import encode_batch
from rnalabel.explain.motifs import (
    consensus,
    discover_motifs,
    extract_seqlets,
    information_content,
    match_published,
    meme_text,
    pwm_similarity,
)


def _planted(n: int, sites: dict[str, int], *, length: int = 60, seed: int = 0):
    """Random windows; ``sites[consensus] = k`` plants a site of it in k of them (one per window), and the
    contribution is 1 on the site and small noise elsewhere."""
    rng = np.random.default_rng(seed)
    seqs, contrib = [], []
    kinds = [c for c, k in sites.items() for _ in range(k)]
    kinds += [None] * (n - len(kinds))
    for kind in kinds:
        s = list(rng.choice(list("ACGU"), size=length))
        c = rng.normal(0, 0.05, size=length)
        if kind is not None:
            site = sample_consensus(kind, rng)
            a = int(rng.integers(0, length - len(site)))
            s[a:a + len(site)] = list(site)
            c[a:a + len(site)] += 1.0
        seqs.append("".join(s))
        contrib.append(c)
    return encode_batch(seqs), np.asarray(contrib), np.full(n, length)


def test_similarity_known_answers():
    pum2 = consensus_to_pwm("UGUAHAUA")
    assert pwm_similarity(pum2, pum2) == (pytest.approx(1.0), 0)
    core = consensus_to_pwm("GUAHA")  # contained: perfect over the shorter motif, at offset 1
    assert pwm_similarity(pum2, core) == (pytest.approx(1.0), 1)
    assert pwm_similarity(core, pum2) == (pytest.approx(1.0), -1)
    half = pwm_similarity(pum2, consensus_to_pwm("AUACCCC"))[0]  # only UA(H)A... overlaps partly
    assert half < 0.7
    qki, srsf1 = consensus_to_pwm("ACUAAY"), consensus_to_pwm("GAAGAA")
    assert pwm_similarity(qki, srsf1)[0] < 0.5
    # symmetric in score
    assert pwm_similarity(qki, pum2)[0] == pytest.approx(pwm_similarity(pum2, qki)[0])


def test_published_table_matches_itself():
    for name, m in PUBLISHED_MOTIFS.items():
        best = match_published(consensus_to_pwm(m.consensus))[0]
        assert best.score == pytest.approx(1.0)
        assert best.rbp == name or best.consensus in ("UUUUUUU", "UUUUUUUU")  # TIA1 and HNRNPC: both poly-U


def test_consensus_and_information():
    pwm = consensus_to_pwm("UGUAHAUA")
    assert consensus(pwm) == "UGUAHAUA"
    ic = information_content(pwm)
    assert ic[0] == pytest.approx(2.0) and ic[4] == pytest.approx(2 - np.log2(3))


def test_seqlets_are_the_top_windows():
    tokens, contrib, lengths = _planted(20, {"GAAGAA": 20}, seed=1)
    s = extract_seqlets(contrib, tokens, lengths, width=6, max_per_window=2, min_fraction=0.5)
    assert len(s) == 20  # the second-best window is noise, far below half of the site
    assert all(seq == "GAAGAA" for seq in s.sequences())
    assert (s.score > 5).all()


def test_planted_motifs_are_recovered_and_ranked():
    tokens, contrib, lengths = _planted(400, {"UGUAHAUA": 200, "ACUAAY": 120}, seed=2)
    s = extract_seqlets(contrib, tokens, lengths)
    motifs = discover_motifs(s)
    assert [m.best_match.rbp for m in motifs[:2]] == ["PUM2", "QKI"]
    assert motifs[0].n_seqlets >= 150 and motifs[1].n_seqlets >= 80
    assert "UGUA" in motifs[0].consensus and "CUAA" in motifs[1].consensus
    assert motifs[0].best_match.score > 0.9 and motifs[1].best_match.score > 0.9
    assert all(m.n_seqlets >= 10 for m in motifs)


def test_meme_format():
    tokens, contrib, lengths = _planted(100, {"GAAGAA": 100}, seed=3)
    motifs = discover_motifs(extract_seqlets(contrib, tokens, lengths))
    text = meme_text(motifs, prefix="SRSF1_")
    lines = text.splitlines()
    assert lines[0] == "MEME version 4" and "ALPHABET= ACGU" in lines and "strands: +" in lines
    m = motifs[0]
    assert f"MOTIF SRSF1_{m.name} {m.consensus}_best_SRSF1" in lines
    i = lines.index(f"letter-probability matrix: alength= 4 w= {len(m.pwm)} nsites= {m.n_seqlets} E= 0")
    rows = np.array([[float(x) for x in ln.split()] for ln in lines[i + 1:i + 1 + len(m.pwm)]])
    np.testing.assert_allclose(rows.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(rows, m.pwm, atol=1e-5)


def test_no_motif_from_noise():
    rng = np.random.default_rng(4)
    tokens = rng.integers(0, 4, size=(60, 50)).astype(np.uint8)
    contrib = rng.normal(0, 1, size=(60, 50))
    motifs = discover_motifs(extract_seqlets(contrib, tokens, np.full(60, 50)), min_seqlets=30)
    assert len(motifs) <= 1  # at most one weak cluster from pure noise
