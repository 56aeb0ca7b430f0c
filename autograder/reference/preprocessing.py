"""Preparing data before training (chapter 5): scaling, splitting, imputing, encoding.

Every function returns new arrays and leaves its inputs unchanged. Shapes: ``N``
samples, ``D`` features, ``C`` classes. Randomness comes in as ``rng``.

- ``standardize_fit`` / ``standardize_transform`` agree with
  ``sklearn.preprocessing.StandardScaler`` (population standard deviation; a
  constant column is scaled by 1, not divided by 0);
- ``train_test_split`` draws ``ceil(test_size * N)`` test rows, scikit-learn's
  rounding, and returns ``(X_train, X_test, y_train, y_test)``, scikit-learn's order;
- ``impute_mean`` fills NaN entries with their column's mean;
- ``one_hot`` turns integer labels into rows of an identity matrix.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["standardize_fit", "standardize_transform", "train_test_split", "impute_mean", "one_hot"]


def standardize_fit(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-column mean and standard deviation, as ``StandardScaler``'s ``mean_`` and ``scale_``.

    X: (N, D).  Returns ``(mean (D,), std (D,))``: the population standard
    deviation (divide by N); 1.0 for a column whose values are all equal, so that
    transforming it gives zeros instead of a division by zero.
    """
    X = np.asarray(X, dtype=np.float64)
    mean = X.mean(axis=0)
    std = X.std(axis=0)
    # Rounding can leave a constant column's std at 1e-17 instead of 0: test the values.
    constant = np.all(X == X[:1], axis=0)
    std = np.where(constant, 1.0, std)
    return mean, std


def standardize_transform(X: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """``(X - mean) / std``, column by column.

    X: (N, D); mean, std: (D,), from ``standardize_fit`` on the training rows only.
    Returns (N, D).
    """
    return (np.asarray(X, dtype=np.float64) - mean) / std


def _test_counts_per_class(class_counts: np.ndarray, n_test: int) -> np.ndarray:
    """Split ``n_test`` among classes in proportion to ``class_counts`` (largest remainders)."""
    exact = class_counts * n_test / class_counts.sum()
    counts = np.floor(exact).astype(int)
    # Hand the rows rounding left over to the classes with the largest fractional parts.
    by_remainder = np.argsort(-(exact - counts), kind="stable")
    counts[by_remainder[: n_test - counts.sum()]] += 1
    return counts


def train_test_split(
    X: np.ndarray,
    y: np.ndarray,
    test_size: float,
    rng: np.random.Generator,
    stratify: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A random split into training and test rows, scikit-learn's sizes and order.

    X: (N, D); y: (N,); test_size: a fraction in (0, 1); rng: the only source of
    randomness.  The test set has ``ceil(test_size * N)`` rows, the training set
    the rest. With ``stratify=True`` each class of ``y`` goes to the test set in
    proportion to its size (each class's test count is within 1 of
    ``test_size * count``). Both parts come in shuffled order.
    Returns ``(X_train, X_test, y_train, y_test)``.
    """
    X, y = np.asarray(X), np.asarray(y)
    n = X.shape[0]
    if y.shape[0] != n:
        raise ValueError(f"X has {n} rows but y has {y.shape[0]}.")
    if not 0.0 < test_size < 1.0:
        raise ValueError(f"test_size must be a fraction in (0, 1), got {test_size}.")
    n_test = math.ceil(test_size * n)
    if n_test >= n:
        raise ValueError(f"test_size={test_size} leaves no training rows out of {n}.")
    if not stratify:
        order = rng.permutation(n)
        test_rows, train_rows = order[:n_test], order[n_test:]
    else:
        classes, labels = np.unique(y, return_inverse=True)
        counts = _test_counts_per_class(np.bincount(labels, minlength=len(classes)), n_test)
        test_parts, train_parts = [], []
        for label, n_label_test in enumerate(counts):
            members = rng.permutation(np.flatnonzero(labels == label))
            test_parts.append(members[:n_label_test])
            train_parts.append(members[n_label_test:])
        # Shuffle across classes, so that neither part is sorted by label.
        test_rows = rng.permutation(np.concatenate(test_parts))
        train_rows = rng.permutation(np.concatenate(train_parts))
    return X[train_rows], X[test_rows], y[train_rows], y[test_rows]


def impute_mean(X: np.ndarray) -> np.ndarray:
    """A copy of X with each NaN replaced by the mean of its column's other entries.

    X: (N, D) floats, NaN where a value is missing.  Returns (N, D), float64.
    A column with no value at all is filled with 0.0 (as scikit-learn's
    ``SimpleImputer(keep_empty_features=True)`` does).
    """
    X = np.array(X, dtype=np.float64)  # a copy
    missing = np.isnan(X)
    observed = (~missing).sum(axis=0)
    sums = np.where(missing, 0.0, X).sum(axis=0)
    means = np.divide(sums, observed, out=np.zeros(X.shape[1]), where=observed > 0)
    X[missing] = np.broadcast_to(means, X.shape)[missing]
    return X


def one_hot(y: np.ndarray, num_classes: int) -> np.ndarray:
    """Rows of the identity matrix picked by integer labels.

    y: (N,) integers in ``[0, num_classes)``.  Returns (N, num_classes) float64
    with a single 1.0 per row, at column ``y[i]``. Raises ``ValueError`` for a
    label outside the range (a negative label would otherwise wrap around).
    """
    y = np.asarray(y)
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        raise ValueError(f"labels must lie in [0, {num_classes}), got {y.min()}..{y.max()}.")
    encoded = np.zeros((y.shape[0], num_classes))
    encoded[np.arange(y.shape[0]), y] = 1.0
    return encoded
