"""autograder.reference.data: mini-batches from a seeded generator (chapter 4, §4.1)."""

from __future__ import annotations

import numpy as np
import pytest

from autograder import check_no_mutation
from autograder.reference.data import iterate_minibatches

pytestmark = pytest.mark.chapter(4)


@pytest.mark.exercise("iterate_minibatches")
@pytest.mark.parametrize("n, batch_size", [(10, 3), (9, 3), (5, 8), (1, 1)])
def test_iterate_minibatches_covers_every_row_once(n, batch_size):
    X = np.arange(n * 2, dtype=float).reshape(n, 2)
    y = np.arange(n)
    rng = np.random.default_rng(12)  # its state advances, so it is not checked for mutation
    batches = check_no_mutation(lambda X, y: list(iterate_minibatches(X, y, batch_size, rng)), X, y)
    sizes = [len(yb) for _, yb in batches]
    assert sizes == [batch_size] * (n // batch_size) + ([n % batch_size] if n % batch_size else [])
    seen = np.concatenate([yb for _, yb in batches])
    assert sorted(seen) == list(range(n))
    for Xb, yb in batches:
        assert np.array_equal(Xb, X[yb]), "X and y rows must stay paired"


@pytest.mark.exercise("iterate_minibatches")
def test_iterate_minibatches_seeded_and_ordered():
    X, y = np.arange(20).reshape(10, 2), np.arange(10)
    first = [yb for _, yb in iterate_minibatches(X, y, 4, np.random.default_rng(13))]
    again = [yb for _, yb in iterate_minibatches(X, y, 4, np.random.default_rng(13))]
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not np.array_equal(np.concatenate(first), y), "shuffle=True must change the order"
    plain = [yb for _, yb in iterate_minibatches(X, y, 4, None, shuffle=False)]
    assert np.array_equal(np.concatenate(plain), y)
    with pytest.raises(ValueError):
        next(iterate_minibatches(X, y[:5], 2, None, shuffle=False))
