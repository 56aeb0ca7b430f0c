"""autograder.reference.preprocessing (chapter 5, §5.1) against scikit-learn and PyTorch (float64)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sklearn.model_selection
import torch
from sklearn.datasets import load_breast_cancer, load_iris
from sklearn.impute import SimpleImputer
from sklearn.preprocessing import StandardScaler

from autograder import check_close, check_equal, check_no_mutation
from autograder.reference.preprocessing import (
    impute_mean,
    one_hot,
    standardize_fit,
    standardize_transform,
    train_test_split,
)

pytestmark = pytest.mark.chapter(5)

# ---------------------------------------------------------------- standardization


def _with_constant_columns(rng: np.random.Generator) -> np.ndarray:
    X = rng.normal(3.0, 5.0, size=(23, 6))
    X[:, 1] = 0.1  # np.std gives ~1e-17 here, not 0
    X[:, 4] = 0.0
    X[:, 5] = -7.25
    return X


@pytest.mark.exercise("standardize_fit")
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_standardize_matches_standard_scaler(seed):
    X = _with_constant_columns(np.random.default_rng(seed))
    scaler = StandardScaler().fit(X)
    mean, std = check_no_mutation(standardize_fit, X)
    check_close(mean, scaler.mean_, name="mean")
    check_close(std, scaler.scale_, name="std")
    X_new = np.random.default_rng(seed + 10).normal(size=(5, 6))
    check_close(check_no_mutation(standardize_transform, X_new, mean, std),
                scaler.transform(X_new), name="transform")
    check_close(standardize_transform(X, mean, std), scaler.transform(X), name="transform(X)")


@pytest.mark.exercise("standardize_fit")
def test_standardize_breast_cancer():
    X = load_breast_cancer().data
    scaler = StandardScaler().fit(X[:400])
    mean, std = standardize_fit(X[:400])
    check_close(standardize_transform(X[400:], mean, std), scaler.transform(X[400:]))


# ---------------------------------------------------------------- train/test split


@pytest.mark.exercise("train_test_split")
@pytest.mark.parametrize("n, test_size", [(10, 0.25), (569, 0.2), (7, 0.5), (100, 0.33), (3, 0.01)])
def test_split_sizes_match_sklearn(n, test_size):
    X = np.arange(n * 2, dtype=float).reshape(n, 2)
    y = np.arange(n)
    expected = sklearn.model_selection.train_test_split(X, y, test_size=test_size, random_state=0)
    # The generator is meant to advance; check only the data for mutation.
    rng = np.random.default_rng(0)
    got = check_no_mutation(lambda X, y: train_test_split(X, y, test_size, rng), X, y)
    assert len(got) == 4
    for ours, theirs in zip(got, expected):
        assert ours.shape == theirs.shape, (ours.shape, theirs.shape)
    X_train, X_test, y_train, y_test = got
    assert X_test.shape[0] == math.ceil(test_size * n)
    # A partition of the rows, and X stays paired with y.
    assert sorted(np.concatenate([y_train, y_test]).tolist()) == list(range(n))
    check_equal(X_train[:, 0], 2.0 * y_train)
    check_equal(X_test[:, 0], 2.0 * y_test)


@pytest.mark.exercise("train_test_split")
def test_split_is_seeded_and_shuffled():
    X = np.arange(200.0).reshape(100, 2)
    y = np.arange(100)
    first = train_test_split(X, y, 0.3, np.random.default_rng(5))
    again = train_test_split(X, y, 0.3, np.random.default_rng(5))
    other = train_test_split(X, y, 0.3, np.random.default_rng(6))
    for a, b in zip(first, again):
        check_equal(a, b)
    assert not np.array_equal(first[3], other[3])
    assert not np.array_equal(np.sort(first[3]), np.arange(70, 100))  # not the last rows


@pytest.mark.exercise("train_test_split")
@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("test_size", [0.2, 0.25, 0.5, 0.07])
def test_stratified_split_keeps_proportions(seed, test_size):
    rng = np.random.default_rng(seed)
    y = rng.choice(4, size=157, p=[0.55, 0.25, 0.15, 0.05])
    X = rng.normal(size=(157, 3))
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size, rng, stratify=True)
    _, _, _, y_sk = sklearn.model_selection.train_test_split(
        X, y, test_size=test_size, stratify=y, random_state=seed)
    assert y_test.shape == y_sk.shape
    for label in range(4):
        n_label = np.sum(y == label)
        n_test = np.sum(y_test == label)
        assert abs(n_test - test_size * n_label) < 1 + 1e-9, (label, n_test, test_size * n_label)
        assert abs(n_test - np.sum(y_sk == label)) <= 1
        assert n_test + np.sum(y_train == label) == n_label
    # Not sorted by class.
    assert np.any(np.diff(y_test) < 0)


@pytest.mark.exercise("train_test_split")
def test_stratified_split_on_real_labels():
    data = load_breast_cancer()
    _, _, _, y_test = train_test_split(data.data, data.target, 0.2, np.random.default_rng(0),
                                       stratify=True)
    assert y_test.shape == (114,)
    assert abs(y_test.mean() - data.target.mean()) < 1 / 114


@pytest.mark.exercise("train_test_split")
def test_split_rejects_bad_sizes():
    X, y = np.zeros((5, 1)), np.zeros(5)
    for bad in (0.0, 1.0, 1.5, -0.1):
        with pytest.raises(ValueError):
            train_test_split(X, y, bad, np.random.default_rng(0))
    with pytest.raises(ValueError):
        train_test_split(X, np.zeros(4), 0.2, np.random.default_rng(0))


# ---------------------------------------------------------------- imputation, one-hot


@pytest.mark.exercise("impute_mean")
def test_impute_mean_matches_simple_imputer():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(12, 5))
    X[rng.random(X.shape) < 0.3] = np.nan
    X[:, 3] = np.nan  # no observed value at all
    X[:, 0] = 1.0  # nothing missing
    expected = SimpleImputer(strategy="mean", keep_empty_features=True).fit_transform(X)
    got = check_no_mutation(impute_mean, X)
    check_close(got, expected)
    assert np.isnan(X).any()  # the input keeps its NaNs


@pytest.mark.exercise("one_hot")
def test_one_hot_matches_torch():
    y = np.array([2, 0, 1, 2, 4])
    expected = torch.nn.functional.one_hot(torch.tensor(y), num_classes=6).double().numpy()
    got = check_no_mutation(one_hot, y, 6)
    check_close(got, expected)
    assert got.dtype == np.float64
    check_close(one_hot(load_iris().target, 3).sum(axis=0), np.array([50.0, 50.0, 50.0]))
    for bad in ([-1, 0], [0, 6]):
        with pytest.raises(ValueError):
            one_hot(np.array(bad), 6)
