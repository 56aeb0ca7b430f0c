"""autograder.reference.sequences (chapter 6, §6.3): sliding windows."""

import numpy as np
import pytest

from autograder.reference.sequences import make_windows

pytestmark = [pytest.mark.chapter(6), pytest.mark.exercise("make_windows")]


@pytest.mark.parametrize("length, window", [(2, 1), (10, 3), (50, 49)])
def test_windows_match_sliding_window_view(length, window):
    series = np.random.default_rng(length).normal(size=length)
    X, y = make_windows(series, window)
    expected = np.lib.stride_tricks.sliding_window_view(series, window + 1)
    np.testing.assert_array_equal(X, expected[:, :window])
    np.testing.assert_array_equal(y, expected[:, window:])
    assert not np.shares_memory(X, series)


@pytest.mark.parametrize("window", [0, 5, 6])
def test_bad_windows_raise(window):
    with pytest.raises(ValueError, match="window"):
        make_windows(np.arange(5.0), window)
