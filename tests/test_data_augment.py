"""Shortened training copies: what they hold, and the honest scores on short RNAs they buy."""

import numpy as np
import pytest

from rnalabel.data import Dataset, Track
from rnalabel.data.augment import shortened_copies
from rnalabel.data.sequence import PAD
from rnalabel.errors import InputError


def test_copies_are_stretches_padded_like_short_inputs_with_safe_labels():
    seqs = ["ACGUACGUAC", "GGGGCCCCAA", "UUUUUUUUUU", "AC"]
    labels = np.array([[1, 0], [0, 0], [np.nan, 1], [0, 1]], dtype=np.float32)
    codes = np.tile(np.arange(10, dtype=np.uint8) % 3, (4, 1))
    ds = Dataset.from_sequences(["a", "b", "c", "d"], seqs, labels, ["X", "Y"],
                                tracks={"region": Track(codes, ["u", "c", "i"])})
    c = shortened_copies(ds, 1.0, seed=1)
    assert len(c) == 4
    for i in range(len(c)):
        src = list(ds.ids).index(c.ids[i].split(":")[0])
        a, b = (int(x) for x in c.ids[i].split(":short")[1].split("-"))
        n = int(c.lengths[i])
        assert 1 <= n < ds.lengths[src] and b - a + 1 == n
        assert c.sequences[i] == seqs[src][a - 1:b]
        assert np.all(c.tokens[i, n:] == PAD) and np.all(c.tracks["region"].codes[i, n:] == 255)
        np.testing.assert_array_equal(c.tracks["region"].codes[i, :n], codes[src, a - 1:b])
        want = labels[src].copy()
        want[want == 1] = np.nan  # a positive's stretch may have lost the site: unknown, never a wrong 1 or 0
        np.testing.assert_array_equal(c.labels[i], want)
    assert len(shortened_copies(ds, 0.5, seed=0)) == 2 and len(shortened_copies(ds, 0.0)) == 0
    with pytest.raises(InputError, match="between 0 and 1"):
        shortened_copies(ds, 1.5)
    both = Dataset.concat([ds, c])
    assert len(both) == 8 and both.width == 10 and both.tracks["region"].codes.shape == (8, 10)


@pytest.mark.slow
def test_shortened_negatives_score_like_full_length_negatives():
    """The defect: a model that never saw padding calls labels on padding alone (at 22-60 nt, some label's
    mean score on unbound sequences goes to ~1). With shortened copies, cut negatives stay negative."""
    import warnings

    from rnalabel import fit, predict
    from rnalabel.data.synthetic import make_demo_dataset
    from tests.helpers import tiny_recipe

    ds = make_demo_dataset(1500, seed=3)
    neg = ds.subset(np.flatnonzero((ds.labels == 0).all(axis=1)))
    rec = tiny_recipe().with_train(short_copies=0.5, max_epochs=30, patience=3, lr=3e-3)
    model, report = fit(rec, ds, progress=False, device="cpu")
    assert report.test.averages["auroc_macro"] > 0.85  # it learned the sites
    assert model.card["training"]["short_copies"] > 0
    full = predict(model, neg, progress=False).scores.mean(axis=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # trained with copies: no short-input warning
        for length in (60, 30, 22, 1):
            cut = Dataset.from_sequences(neg.ids, [s[:length] for s in neg.sequences])
            short = predict(model, cut, progress=False).scores.mean(axis=0)
            assert np.all(short <= full + 0.05), (length, short, full)


def test_models_trained_without_copies_warn_about_short_inputs(trained_tiny, demo_small):
    from rnalabel import predict
    from rnalabel.engine.bundle import ShortSequenceWarning

    cut = Dataset.from_sequences(["a", "b"], [demo_small.sequences[0][:22], demo_small.sequences[1]])
    with pytest.warns(ShortSequenceWarning, match="1 of 2 sequences are shorter than the 101 nt"):
        predict(trained_tiny, cut, progress=False)
