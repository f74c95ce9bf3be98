"""k-mer view: hand-computed frequencies, N and padding skipped, several k concatenated."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from rnalabel.data import Dataset
from rnalabel.errors import ConfigError
from rnalabel.views import Kmer, build_view, kmer_frequencies
from rnalabel.views.kmer import kmer_names


def _ds(*seqs: str) -> Dataset:
    return Dataset.from_sequences([str(i) for i in range(len(seqs))], list(seqs))


def test_hand_computed():
    ds = _ds("ACGU", "AAAN", "ACNGU")
    f1 = kmer_frequencies(ds.tokens, ds.lengths, 1)
    np.testing.assert_allclose(f1[0], [0.25] * 4)
    np.testing.assert_allclose(f1[1], [1, 0, 0, 0])  # N skipped, padding ignored
    f2 = kmer_frequencies(ds.tokens, ds.lengths, 2)
    names = kmer_names(2)
    assert names[:5] == ["AA", "AC", "AG", "AU", "CA"]
    want = dict.fromkeys(names, 0.0) | {"AC": 1 / 3, "CG": 1 / 3, "GU": 1 / 3}
    np.testing.assert_allclose(f2[0], list(want.values()))
    np.testing.assert_allclose(f2[1], [1] + [0] * 15)  # AA, AA; AN skipped
    np.testing.assert_allclose(f2[2][[names.index("AC"), names.index("GU")]], [0.5, 0.5])
    assert f2.dtype == np.float32


def test_too_short_or_all_n_is_zero():
    ds = _ds("AC", "NNNN", "ACGUACGU")
    f3 = kmer_frequencies(ds.tokens, ds.lengths, 3)
    np.testing.assert_array_equal(f3[:2], 0)
    np.testing.assert_allclose(f3[2].sum(), 1.0)
    assert kmer_frequencies(ds.tokens[:, :2], ds.lengths, 3).shape == (3, 64)


def test_matches_naive_counting():
    rng = np.random.default_rng(0)
    seqs = ["".join(rng.choice(list("ACGUN"), int(rng.integers(1, 30)), p=[0.24] * 4 + [0.04])) for _ in range(50)]
    ds = _ds(*seqs)
    for k in (1, 2, 3):
        got = kmer_frequencies(ds.tokens, ds.lengths, k)
        index = {m: j for j, m in enumerate(kmer_names(k))}
        for i, s in enumerate(seqs):
            counts = np.zeros(4**k)
            for a in range(len(s) - k + 1):
                if "N" not in s[a:a + k]:
                    counts[index[s[a:a + k]]] += 1
            np.testing.assert_allclose(got[i], counts / max(counts.sum(), 1), atol=1e-7)


def test_view_concatenates_ks():
    ds = _ds("ACGUACGUAA", "GGG")
    view = Kmer(k=(1, 2, 3))
    x = view.transform(ds)
    assert view.kind == "sequence" and x.shape == (2, 84) == (2, view.channels())
    np.testing.assert_allclose(x[:, :4].sum(axis=1), 1)
    np.testing.assert_allclose(x[:, 4:20].sum(axis=1), 1)
    assert view.channel_names()[4:6] == ["AA", "AC"] and len(view.channel_names()) == 84
    assert list(itertools.islice(kmer_names(3), 2)) == ["AAA", "AAC"]


def test_parameters():
    assert Kmer(k=2).k == (2,)
    assert build_view({"type": "kmer", "k": [1, 4]}) == Kmer(k=(1, 4))
    for bad in [(), (0,), (9,), ("2",)]:
        with pytest.raises(ConfigError):
            Kmer(k=bad)
