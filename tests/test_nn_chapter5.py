"""The chapter 5 references (autograder.reference.preprocessing, autograder.reference.regularization)
against scikit-learn and PyTorch (float64)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sklearn.model_selection
import torch
from sklearn.datasets import load_breast_cancer, load_iris
from sklearn.impute import SimpleImputer
from sklearn.preprocessing import StandardScaler

from autograder import check_close, check_equal, check_no_mutation, grad_check, to_numpy, to_torch
from autograder.reference.preprocessing import (
    impute_mean,
    one_hot,
    standardize_fit,
    standardize_transform,
    train_test_split,
)
from autograder.reference.regularization import (
    EarlyStopping,
    dropout_backward,
    dropout_forward,
    l2_penalty,
)

# ---------------------------------------------------------------- standardization


def _with_constant_columns(rng: np.random.Generator) -> np.ndarray:
    X = rng.normal(3.0, 5.0, size=(23, 6))
    X[:, 1] = 0.1  # np.std gives ~1e-17 here, not 0
    X[:, 4] = 0.0
    X[:, 5] = -7.25
    return X


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


def test_standardize_breast_cancer():
    X = load_breast_cancer().data
    scaler = StandardScaler().fit(X[:400])
    mean, std = standardize_fit(X[:400])
    check_close(standardize_transform(X[400:], mean, std), scaler.transform(X[400:]))


# ---------------------------------------------------------------- train/test split


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


def test_stratified_split_on_real_labels():
    data = load_breast_cancer()
    _, _, _, y_test = train_test_split(data.data, data.target, 0.2, np.random.default_rng(0),
                                       stratify=True)
    assert y_test.shape == (114,)
    assert abs(y_test.mean() - data.target.mean()) < 1 / 114


def test_split_rejects_bad_sizes():
    X, y = np.zeros((5, 1)), np.zeros(5)
    for bad in (0.0, 1.0, 1.5, -0.1):
        with pytest.raises(ValueError):
            train_test_split(X, y, bad, np.random.default_rng(0))
    with pytest.raises(ValueError):
        train_test_split(X, np.zeros(4), 0.2, np.random.default_rng(0))


# ---------------------------------------------------------------- imputation, one-hot


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


# ---------------------------------------------------------------- L2 penalty


def _params(rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {"W1": rng.normal(size=(4, 5)), "b1": rng.normal(size=5),
            "W2": rng.normal(size=(5, 2)), "b2": rng.normal(size=2)}


def test_l2_penalty_matches_torch_autograd():
    params = _params(np.random.default_rng(0))
    lam = 0.3
    penalty, grads = check_no_mutation(l2_penalty, params, lam)
    tensors = {k: to_torch(v, requires_grad=True) for k, v in params.items()}
    reference = 0.5 * lam * sum((t ** 2).sum() for k, t in tensors.items() if k.startswith("W"))
    reference.backward()
    check_close(penalty, reference.item(), name="penalty")
    assert set(grads) == set(params)
    for name, tensor in tensors.items():
        expected = to_numpy(tensor.grad) if tensor.grad is not None else np.zeros(tensor.shape)
        check_close(grads[name], expected, name=f"grad {name}")


def test_l2_gradient_is_torch_weight_decay():
    rng = np.random.default_rng(1)
    params = _params(rng)
    loss_grads = {k: rng.normal(size=v.shape) for k, v in params.items()}
    lam, lr = 0.05, 0.1
    _, penalty_grads = l2_penalty(params, lam)
    ours = {k: params[k] - lr * (loss_grads[k] + penalty_grads[k]) for k in params}
    tensors = {k: to_torch(v, requires_grad=True) for k, v in params.items()}
    optimizer = torch.optim.SGD([
        {"params": [t for k, t in tensors.items() if k.startswith("W")], "weight_decay": lam},
        {"params": [t for k, t in tensors.items() if not k.startswith("W")], "weight_decay": 0.0},
    ], lr=lr)
    for name, tensor in tensors.items():
        tensor.grad = to_torch(loss_grads[name])
    optimizer.step()
    for name, tensor in tensors.items():
        check_close(ours[name], to_numpy(tensor), name=name)


def test_l2_gradient_checks_and_zero_lambda():
    params = _params(np.random.default_rng(2))
    _, grads = l2_penalty(params, 0.7)
    grad_check(lambda: l2_penalty(params, 0.7)[0], params, grads)
    penalty, grads = l2_penalty(params, 0.0)
    assert penalty == 0.0
    assert all(not g.any() for g in grads.values())


# ---------------------------------------------------------------- dropout


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_train_mode(p):
    x = np.random.default_rng(0).normal(size=(200, 100)) + 3.0
    rng = np.random.default_rng(1)
    out, mask = check_no_mutation(lambda x: dropout_forward(x, p, rng, True), x)
    dropped = out == 0
    check_close(out[~dropped], x[~dropped] / (1 - p), name="kept entries")
    n = x.size
    assert abs(dropped.mean() - p) < 5 * math.sqrt(p * (1 - p) / n), dropped.mean()
    check_close(dropout_backward(np.ones_like(x), mask), out / x, name="backward of ones")


def test_dropout_scale_matches_torch():
    p = 0.3
    layer = torch.nn.Dropout(p)
    torch.manual_seed(0)
    values = to_numpy(layer(to_torch(np.ones((50, 40)))))
    kept_value = np.unique(values[values != 0])
    out, _ = dropout_forward(np.ones((50, 40)), p, np.random.default_rng(0), True)
    check_close(np.unique(out[out != 0]), kept_value, name="kept value")
    layer.eval()
    x = np.random.default_rng(1).normal(size=(3, 4))
    check_close(dropout_forward(x, p, np.random.default_rng(0), False)[0],
                to_numpy(layer(to_torch(x))), name="evaluation mode")


def test_dropout_edge_probabilities_and_eval():
    x = np.random.default_rng(0).normal(size=(4, 3, 2))
    rng = np.random.default_rng(0)
    state = rng.bit_generator.state
    out, mask = dropout_forward(x, 0.5, rng, False)
    check_close(out, x)
    assert rng.bit_generator.state == state  # evaluation draws nothing
    check_close(dropout_backward(np.ones_like(x), mask), np.ones_like(x))
    check_close(dropout_forward(x, 0.0, np.random.default_rng(0), True)[0], x)
    with np.errstate(all="raise"):
        check_close(dropout_forward(x, 1.0, np.random.default_rng(0), True)[0], np.zeros_like(x))
    for bad in (-0.1, 1.1):
        with pytest.raises(ValueError):
            dropout_forward(x, bad, np.random.default_rng(0), True)


def test_dropout_gradient_check():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(6, 7))
    dout = rng.normal(size=(6, 7))
    _, cache = dropout_forward(x, 0.4, np.random.default_rng(9), True)
    dx = dropout_backward(dout, cache)
    grad_check(lambda: np.sum(dropout_forward(x, 0.4, np.random.default_rng(9), True)[0] * dout),
               {"x": x}, {"x": dx})


# ---------------------------------------------------------------- early stopping


def test_early_stopping_patience_and_min_delta():
    stopper = EarlyStopping(patience=2)
    params = {"W": np.array([1.0])}
    decisions = [stopper.step(loss, params) for loss in [1.0, 0.8, 0.8, 0.9, 0.7, 0.75, 0.71]]
    assert decisions == [False, False, False, True, False, False, True], decisions
    assert stopper.best_loss == 0.7

    stopper = EarlyStopping(patience=2, min_delta=0.1)
    decisions = [stopper.step(loss, params) for loss in [1.0, 0.95, 0.91, 0.85]]
    # 0.95 and 0.91 improve on 1.0 by no more than 0.1; 0.85 does.
    assert decisions == [False, False, True, False], decisions
    assert stopper.best_loss == 0.85


def test_early_stopping_keeps_copies():
    stopper = EarlyStopping(patience=3)
    params = {"W1": np.array([[1.0, 2.0]]), "b1": np.array([0.5])}
    stopper.step(1.0, params)
    params["W1"] -= 10.0  # an optimizer's in-place update
    params["b1"][0] = 99.0
    stopper.step(2.0, params)
    check_close(stopper.best_params["W1"], np.array([[1.0, 2.0]]))
    check_close(stopper.best_params["b1"], np.array([0.5]))
    assert stopper.best_loss == 1.0


def test_early_stopping_nan_is_no_improvement():
    stopper = EarlyStopping(patience=1)
    assert not stopper.step(0.5, {})
    assert stopper.step(float("nan"), {})
    assert stopper.best_loss == 0.5
