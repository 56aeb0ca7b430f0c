"""autograder.reference.regularization (chapter 5, §5.3) against PyTorch (float64)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from autograder import check_close, check_no_mutation, grad_check, to_numpy, to_torch
from autograder.reference.regularization import (
    EarlyStopping,
    dropout_backward,
    dropout_forward,
    l2_penalty,
)

pytestmark = pytest.mark.chapter(5)

# ---------------------------------------------------------------- L2 penalty


def _params(rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {"W1": rng.normal(size=(4, 5)), "b1": rng.normal(size=5),
            "W2": rng.normal(size=(5, 2)), "b2": rng.normal(size=2)}


@pytest.mark.exercise("l2_penalty")
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


@pytest.mark.exercise("l2_penalty")
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


@pytest.mark.exercise("l2_penalty")
def test_l2_gradient_checks_and_zero_lambda():
    params = _params(np.random.default_rng(2))
    _, grads = l2_penalty(params, 0.7)
    grad_check(lambda: l2_penalty(params, 0.7)[0], params, grads)
    penalty, grads = l2_penalty(params, 0.0)
    assert penalty == 0.0
    assert all(not g.any() for g in grads.values())


# ---------------------------------------------------------------- dropout


@pytest.mark.exercise("dropout_forward")
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


@pytest.mark.exercise("dropout_forward")
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


@pytest.mark.exercise("dropout_forward")
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


@pytest.mark.exercise("dropout_backward")
def test_dropout_gradient_check():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(6, 7))
    dout = rng.normal(size=(6, 7))
    _, cache = dropout_forward(x, 0.4, np.random.default_rng(9), True)
    dx = dropout_backward(dout, cache)
    grad_check(lambda: np.sum(dropout_forward(x, 0.4, np.random.default_rng(9), True)[0] * dout),
               {"x": x}, {"x": dx})


# ---------------------------------------------------------------- early stopping


@pytest.mark.exercise("EarlyStopping")
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


@pytest.mark.exercise("EarlyStopping")
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


@pytest.mark.exercise("EarlyStopping")
def test_early_stopping_nan_is_no_improvement():
    stopper = EarlyStopping(patience=1)
    assert not stopper.step(0.5, {})
    assert stopper.step(float("nan"), {})
    assert stopper.best_loss == 0.5
