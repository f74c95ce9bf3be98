"""One-hot view: hand-checked encodings, pad value, flank, N handling, shapes."""

from __future__ import annotations

import numpy as np

from rnalabel.data import Dataset
from rnalabel.views import OneHot, build_view, one_hot


def test_hand_checked():
    ds = Dataset.from_sequences(["a", "b"], ["ACGU", "UN"])
    x = OneHot().transform(ds)
    assert x.shape == (2, 4, 4) and x.dtype == np.float32
    np.testing.assert_array_equal(x[0], np.eye(4))
    np.testing.assert_array_equal(x[1, :, 0], [0, 0, 0, 1])
    np.testing.assert_array_equal(x[1, :, 1:], 0.25)  # N and padding: uniform


def test_pad_value_and_flank():
    tokens = np.array([[0, 4, 3]], dtype=np.uint8)
    x = one_hot(tokens, pad_value=0.0, flank=2)
    assert x.shape == (1, 4, 7)
    np.testing.assert_array_equal(x[0, :, :2], 0)
    np.testing.assert_array_equal(x[0, :, 2], [1, 0, 0, 0])
    np.testing.assert_array_equal(x[0, :, 3], 0)
    np.testing.assert_array_equal(x[0, :, 4], [0, 0, 0, 1])
    np.testing.assert_array_equal(x[0, :, 5:], 0)
    np.testing.assert_array_equal(one_hot(tokens, flank=1)[0, :, 0], 0.25)


def test_ambiguity_codes_are_n():
    ds = Dataset.from_sequences(["a"], ["RYKM"])
    np.testing.assert_array_equal(OneHot(pad_value=0.1).transform(ds), np.float32(0.1))


def test_channels_and_spec():
    view = OneHot(pad_value=0.0, flank=5)
    assert view.channels() == 4 and view.kind == "position" and not view.expensive()
    assert build_view(view.spec()) == view
    x = view.transform(Dataset.from_sequences(["a"], ["ACGUACGU"]))
    assert x.shape == (1, 4, 18)


def test_caller_tokens_untouched():
    tokens = np.array([[0, 1, 2, 3, 4]], dtype=np.uint8)
    before = tokens.copy()
    one_hot(tokens, flank=3)
    np.testing.assert_array_equal(tokens, before)
