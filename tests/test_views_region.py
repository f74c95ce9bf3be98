"""Region view: one-hot of a categorical track, categories from training data, clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from rnalabel.data import Dataset, Track
from rnalabel.errors import ConfigError, InputError
from rnalabel.views import Region, build_view
from rnalabel.views.region import track_one_hot

CATS = ["5UTR", "CDS", "3UTR"]


def _dataset(categories=CATS) -> Dataset:
    codes = np.array([[0, 0, 1, 2, 255, 255], [2, 2, 2, 2, 2, 1]], dtype=np.uint8)
    return Dataset.from_sequences(["a", "b"], ["ACGU", "ACGUAC"], tracks={"region": Track(codes, list(categories))})


def test_one_hot_by_hand():
    x = Region().fit(_dataset()).transform(_dataset())
    assert x.shape == (2, 3, 6) and x.dtype == np.float32
    np.testing.assert_array_equal(x[0].argmax(axis=0)[:4], [0, 0, 1, 2])
    np.testing.assert_array_equal(x[0, :, 4:], 0)  # padding
    np.testing.assert_array_equal(x.sum(axis=1), [[1, 1, 1, 1, 0, 0], [1] * 6])
    np.testing.assert_array_equal(x[1, 2, :5], 1)


def test_fit_fills_categories_and_keeps_given_ones():
    ds = _dataset()
    fitted = Region().fit(ds)
    assert fitted.categories == tuple(CATS) and fitted.channels() == 3
    assert Region().channels(ds) == 3
    given = Region(categories=("CDS", "intron"))
    assert given.fit(ds) is given
    with pytest.raises(ConfigError, match="no categories"):
        Region().channels()
    # the fitted view survives the card round trip (lists come back as tuples)
    spec = fitted.spec()
    spec["categories"] = list(spec["categories"])
    assert build_view(spec) == fitted


def test_categories_mapped_by_name():
    fitted = Region().fit(_dataset())
    shuffled = _dataset(["3UTR", "5UTR", "CDS"])  # same names, other codes
    x = fitted.transform(shuffled)
    # code 0 is now 3UTR (channel 2), code 1 5UTR (channel 0), code 2 CDS (channel 1)
    np.testing.assert_array_equal(x[0, :, :4].argmax(axis=0), [2, 2, 0, 1])
    np.testing.assert_array_equal(x[1].argmax(axis=0), [1, 1, 1, 1, 1, 0])


def test_unknown_category_is_zero_with_warning():
    view = Region(categories=("5UTR", "CDS"))
    with pytest.warns(RuntimeWarning, match="3UTR"):
        x = view.transform(_dataset())
    assert x.shape == (2, 2, 6)
    np.testing.assert_array_equal(x[0, :, 3], 0)  # the 3UTR position


def test_missing_track_names_track_and_available_ones():
    ds = _dataset()
    with pytest.raises(InputError, match=r"'exon'.*region"):
        Region(track="exon").transform(ds)
    bare = Dataset.from_sequences(["a"], ["ACGU"])
    with pytest.raises(InputError, match=r"'region'.*none"):
        Region().fit(bare)


def test_bad_parameters():
    with pytest.raises(ConfigError):
        Region(categories="CDS")
    with pytest.raises(ConfigError, match="duplicates"):
        Region(categories=("CDS", "CDS"))


def test_track_one_hot_default_lookup():
    x = track_one_hot(np.array([[1, 0, 255, 7]], dtype=np.uint8), 2)
    np.testing.assert_array_equal(x[0], [[0, 1, 0, 0], [1, 0, 0, 0]])
