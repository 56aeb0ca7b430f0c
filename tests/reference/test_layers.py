"""autograder.reference.layers against PyTorch (float64) and numerical gradients (chapter 4, §4.1)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from autograder import check_close, check_no_mutation, grad_check, to_numpy, to_torch
from autograder.reference.layers import (
    linear_backward,
    linear_forward,
    relu_backward,
    relu_forward,
    sigmoid_backward,
    sigmoid_forward,
    softmax_cross_entropy,
    tanh_backward,
    tanh_forward,
)
from autograder.tolerances import TORCH_ATOL, TORCH_RTOL

pytestmark = pytest.mark.chapter(4)


def torch_close(actual, expected_tensor, name):
    check_close(actual, to_numpy(expected_tensor), name=name, rtol=TORCH_RTOL, atol=TORCH_ATOL)


@pytest.mark.exercise("linear_forward")
@pytest.mark.exercise("linear_backward")
@pytest.mark.parametrize("shape", [(4, 3, 5), (1, 1, 1), (7, 2, 6)])
def test_linear_matches_torch(shape):
    n, d, m = shape
    rng = np.random.default_rng(0)
    x, W, b = rng.normal(size=(n, d)), rng.normal(size=(d, m)), rng.normal(size=m)
    dout = rng.normal(size=(n, m))
    out, cache = check_no_mutation(linear_forward, x, W, b)
    dx, dW, db = check_no_mutation(linear_backward, dout, cache)
    xt, Wt, bt = to_torch(x, True), to_torch(W.T, True), to_torch(b, True)  # torch weight: (out, in)
    out_t = torch.nn.functional.linear(xt, Wt, bt)
    out_t.backward(to_torch(dout))
    torch_close(out, out_t, "out")
    torch_close(dx, xt.grad, "dx")
    torch_close(dW, Wt.grad.T, "dW")
    torch_close(db, bt.grad, "db")


@pytest.mark.exercise("linear_backward")
def test_linear_grad_check():
    rng = np.random.default_rng(1)
    x, W, b = rng.normal(size=(3, 4)), rng.normal(size=(4, 2)), rng.normal(size=2)
    dout = rng.normal(size=(3, 2))
    dx, dW, db = linear_backward(dout, linear_forward(x, W, b)[1])
    grad_check(lambda: float(np.sum(linear_forward(x, W, b)[0] * dout)),
               {"x": x, "W": W, "b": b}, {"x": dx, "W": dW, "b": db})


@pytest.mark.parametrize("forward, backward, torch_fn", [
    (relu_forward, relu_backward, torch.relu),
    (sigmoid_forward, sigmoid_backward, torch.sigmoid),
    (tanh_forward, tanh_backward, torch.tanh),
])
@pytest.mark.exercise("activation_layers")
def test_activations_match_torch(forward, backward, torch_fn):
    rng = np.random.default_rng(2)
    x = rng.normal(scale=3, size=(5, 4))
    x[0, :3] = [0.0, 1e4, -1e4]
    dout = rng.normal(size=x.shape)
    with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
        out, cache = check_no_mutation(forward, x)
        dx = check_no_mutation(backward, dout, cache)
    xt = to_torch(x, True)
    out_t = torch_fn(xt)
    out_t.backward(to_torch(dout))
    torch_close(out, out_t, "out")
    torch_close(dx, xt.grad, "dx")


@pytest.mark.exercise("activation_layers")
@pytest.mark.parametrize("forward, backward", [
    (relu_forward, relu_backward), (sigmoid_forward, sigmoid_backward), (tanh_forward, tanh_backward)])
def test_activations_grad_check(forward, backward):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(3, 4)) + 0.05  # away from relu's kink at 0 with this seed
    dout = rng.normal(size=x.shape)
    dx = backward(dout, forward(x)[1])
    grad_check(lambda: float(np.sum(forward(x)[0] * dout)), {"x": x}, {"x": dx})


@pytest.mark.exercise("softmax_cross_entropy")
@pytest.mark.parametrize("n, c, scale", [(6, 4, 1.0), (1, 3, 1.0), (5, 10, 1e4)])
def test_softmax_cross_entropy_matches_torch(n, c, scale):
    rng = np.random.default_rng(4)
    logits = rng.normal(scale=scale, size=(n, c))
    y = rng.integers(0, c, size=n)
    with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
        loss, dlogits = check_no_mutation(softmax_cross_entropy, logits, y)
    assert isinstance(loss, float)
    lt = to_torch(logits, True)
    loss_t = torch.nn.functional.cross_entropy(lt, torch.tensor(y, device=lt.device))
    loss_t.backward()
    torch_close(loss, loss_t, "loss")
    torch_close(dlogits, lt.grad, "dlogits")


@pytest.mark.exercise("softmax_cross_entropy")
def test_softmax_cross_entropy_grad_check():
    rng = np.random.default_rng(5)
    logits, y = rng.normal(size=(4, 3)), np.array([0, 2, 1, 2])
    grad_check(lambda: softmax_cross_entropy(logits, y)[0], {"logits": logits},
               {"logits": softmax_cross_entropy(logits, y)[1]})
