"""Mini-batches from a seeded generator (chapter 4)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

__all__ = ["iterate_minibatches"]


def iterate_minibatches(
    X: np.ndarray,
    y: np.ndarray,
    batch_size: int,
    rng: np.random.Generator | None,
    shuffle: bool = True,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield (X_batch, y_batch) covering every row once; the last batch may be smaller.

    X: (N, ...), y: (N, ...).  With ``shuffle`` the order is ``rng.permutation(N)``
    (one draw per epoch, so a seeded ``rng`` gives the same batches every run);
    without it the rows come in order and ``rng`` is not used.
    Batches are copies (fancy indexing), so changing one leaves X and y alone.
    """
    n = len(X)
    if len(y) != n:
        raise ValueError(f"X has {n} rows but y has {len(y)}.")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}.")
    order = rng.permutation(n) if shuffle else np.arange(n)
    for start in range(0, n, batch_size):
        index = order[start:start + batch_size]
        yield X[index], y[index]
