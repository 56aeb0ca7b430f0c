"""autograder.reference's chapter 4 references (layers, optimizers, init, batch norm, data)
against PyTorch in float64 and against numerical gradients."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from autograder import check_close, check_no_mutation, grad_check, to_numpy, to_torch
from autograder.reference.batchnorm import batchnorm_backward, batchnorm_forward
from autograder.reference.data import iterate_minibatches
from autograder.reference.init import he_normal, xavier_uniform
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
from autograder.reference.optimizers import SGD, Adagrad, Adam, RMSprop, clip_grad_norm
from autograder.tolerances import TORCH_ATOL, TORCH_RTOL


def torch_close(actual, expected_tensor, name):
    check_close(actual, to_numpy(expected_tensor), name=name, rtol=TORCH_RTOL, atol=TORCH_ATOL)


# --- layers ---------------------------------------------------------------------------------

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


@pytest.mark.parametrize("forward, backward", [
    (relu_forward, relu_backward), (sigmoid_forward, sigmoid_backward), (tanh_forward, tanh_backward)])
def test_activations_grad_check(forward, backward):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(3, 4)) + 0.05  # away from relu's kink at 0 with this seed
    dout = rng.normal(size=x.shape)
    dx = backward(dout, forward(x)[1])
    grad_check(lambda: float(np.sum(forward(x)[0] * dout)), {"x": x}, {"x": dx})


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


def test_softmax_cross_entropy_grad_check():
    rng = np.random.default_rng(5)
    logits, y = rng.normal(size=(4, 3)), np.array([0, 2, 1, 2])
    grad_check(lambda: softmax_cross_entropy(logits, y)[0], {"logits": logits},
               {"logits": softmax_cross_entropy(logits, y)[1]})


# --- optimizers -----------------------------------------------------------------------------

def _problem(seed):
    """Parameters of several shapes, and per-entry scales of a nonconvex loss."""
    rng = np.random.default_rng(seed)
    params = {"W": rng.normal(size=(3, 2)), "b": rng.normal(size=2), "s": rng.normal(size=())}
    scales = {k: rng.uniform(0.1, 10.0, size=v.shape) for k, v in params.items()}
    return params, scales


def _run_numpy(cls, kwargs, seed, steps=20):
    params, scales = _problem(seed)
    params = {k: v.copy() for k, v in params.items()}
    optimizer = cls(params, **kwargs)
    trajectory = []
    for _ in range(steps):
        grads = {k: scales[k] * np.sin(v) + v for k, v in params.items()}  # nonlinear, so paths differ
        optimizer.step(grads)
        trajectory.append({k: v.copy() for k, v in params.items()})
    return trajectory


def _run_torch(cls, kwargs, seed, steps=20):
    params, scales = _problem(seed)
    tensors = {k: to_torch(v, True) for k, v in params.items()}
    optimizer = cls(list(tensors.values()), **kwargs)
    trajectory = []
    for _ in range(steps):
        optimizer.zero_grad()
        # the loss whose gradient is _run_numpy's scales * sin(p) + p
        loss = sum(torch.sum(to_torch(scales[k]) * (1 - torch.cos(t)) + 0.5 * t**2)
                   for k, t in tensors.items())
        loss.backward()
        optimizer.step()
        trajectory.append({k: to_numpy(t) for k, t in tensors.items()})
    return trajectory


@pytest.mark.parametrize("ours, theirs, kwargs", [
    (SGD, torch.optim.SGD, {"lr": 0.05}),
    (SGD, torch.optim.SGD, {"lr": 0.05, "momentum": 0.9}),
    (Adagrad, torch.optim.Adagrad, {"lr": 0.5}),
    (Adagrad, torch.optim.Adagrad, {"lr": 0.1, "eps": 1e-3}),
    (RMSprop, torch.optim.RMSprop, {"lr": 0.01}),
    (RMSprop, torch.optim.RMSprop, {"lr": 0.01, "alpha": 0.9, "eps": 1e-4}),
    (Adam, torch.optim.Adam, {"lr": 0.1}),
    (Adam, torch.optim.Adam, {"lr": 0.05, "betas": (0.8, 0.99), "eps": 1e-6}),
])
@pytest.mark.parametrize("seed", [0, 1])
def test_optimizer_trajectories_match_torch(ours, theirs, kwargs, seed):
    mine = _run_numpy(ours, kwargs, seed)
    reference = _run_torch(theirs, kwargs, seed)
    for step, (a, b) in enumerate(zip(mine, reference)):
        for key in a:
            check_close(a[key], b[key], name=f"{ours.__name__} step {step + 1} {key}",
                        rtol=TORCH_RTOL, atol=TORCH_ATOL)


def test_optimizer_updates_callers_arrays_in_place():
    W = np.ones((2, 2))
    params = {"W": W}
    SGD(params, lr=0.5).step({"W": np.ones((2, 2))})
    assert params["W"] is W and np.allclose(W, 0.5), "step must update the caller's arrays in place"


def test_optimizer_rejects_mismatched_grads():
    optimizer = Adam({"W": np.zeros(2)}, lr=0.1)
    with pytest.raises(KeyError):
        optimizer.step({"V": np.zeros(2)})
    with pytest.raises(ValueError):
        optimizer.step({"W": np.zeros(3)})


@pytest.mark.parametrize("max_norm", [0.5, 3.0, 100.0])
def test_clip_grad_norm_matches_torch(max_norm):
    rng = np.random.default_rng(6)
    grads = {"W1": rng.normal(size=(4, 3)), "b1": rng.normal(size=3), "W2": rng.normal(size=(3, 2))}
    clipped, total = check_no_mutation(clip_grad_norm, grads, max_norm)
    assert isinstance(total, float)
    tensors = [to_torch(np.zeros_like(g), True) for g in grads.values()]
    for t, g in zip(tensors, grads.values()):
        t.grad = to_torch(g)
    total_t = torch.nn.utils.clip_grad_norm_(tensors, max_norm)
    torch_close(total, total_t, "total_norm")
    for (name, g), t in zip(clipped.items(), tensors):
        torch_close(g, t.grad, f"clipped {name}")


# --- init -----------------------------------------------------------------------------------

def test_xavier_uniform_distribution():
    fan_in, fan_out = 300, 200
    W = xavier_uniform(fan_in, fan_out, np.random.default_rng(7))
    assert W.shape == (fan_in, fan_out)
    t = torch.empty(fan_out, fan_in, dtype=torch.float64)  # torch layout (out, in)
    torch.nn.init.xavier_uniform_(t, generator=torch.Generator().manual_seed(7))
    bound = np.sqrt(6 / (fan_in + fan_out))
    for sample in (W, t.numpy()):
        assert np.abs(sample).max() <= bound
        assert np.abs(sample).max() > 0.99 * bound  # 60,000 draws reach the edge
        # std of a uniform sample of 60,000: standard error about 0.3% of the std
        assert abs(sample.std() / (bound / np.sqrt(3)) - 1) < 0.015
        assert abs(sample.mean()) < 5 * bound / np.sqrt(3) / np.sqrt(sample.size)


def test_he_normal_distribution():
    fan_in, fan_out = 250, 400
    W = he_normal(fan_in, fan_out, np.random.default_rng(8))
    assert W.shape == (fan_in, fan_out)
    t = torch.empty(fan_out, fan_in, dtype=torch.float64)
    torch.nn.init.kaiming_normal_(t, mode="fan_in", nonlinearity="relu",
                                  generator=torch.Generator().manual_seed(8))
    std = np.sqrt(2 / fan_in)
    for sample in (W, t.numpy()):
        # 100,000 normal draws: the sample std is within 0.3% (1 s.e.) of the true one
        assert abs(sample.std() / std - 1) < 0.015
        assert abs(sample.mean()) < 5 * std / np.sqrt(sample.size)
        assert 0.95 < np.mean(np.abs(sample) < 2 * std) / 0.9545 < 1.05


def test_init_uses_the_given_generator():
    a = he_normal(5, 3, np.random.default_rng(9))
    b = he_normal(5, 3, np.random.default_rng(9))
    assert np.array_equal(a, b), "the same seed must give the same weights"


# --- batch norm -----------------------------------------------------------------------------

@pytest.mark.parametrize("n, d, momentum", [(8, 3, 0.1), (2, 5, 0.1), (16, 4, 0.3)])
def test_batchnorm_matches_torch(n, d, momentum):
    rng = np.random.default_rng(10)
    gamma, beta = rng.normal(size=d), rng.normal(size=d)
    running = (rng.normal(size=d), rng.uniform(0.5, 2.0, size=d))
    bn = torch.nn.BatchNorm1d(d, momentum=momentum, dtype=torch.float64)
    with torch.no_grad():
        bn.weight.copy_(torch.tensor(gamma))
        bn.bias.copy_(torch.tensor(beta))
        bn.running_mean.copy_(torch.tensor(running[0]))
        bn.running_var.copy_(torch.tensor(running[1]))
    for step in range(3):  # two training batches, then evaluation
        train = step < 2
        x = rng.normal(loc=3.0, scale=2.0, size=(n, d))
        dout = rng.normal(size=(n, d))
        out, cache, running_new = check_no_mutation(
            batchnorm_forward, x, gamma, beta, running, train, momentum)
        dx, dgamma, dbeta = check_no_mutation(batchnorm_backward, dout, cache)
        bn.train(train)
        bn.weight.grad = bn.bias.grad = None
        xt = torch.tensor(x, requires_grad=True)
        out_t = bn(xt)
        out_t.backward(torch.tensor(dout))
        torch_close(out, out_t, f"out (step {step})")
        torch_close(dx, xt.grad, f"dx (step {step})")
        torch_close(dgamma, bn.weight.grad, f"dgamma (step {step})")
        torch_close(dbeta, bn.bias.grad, f"dbeta (step {step})")
        torch_close(running_new[0], bn.running_mean, f"running mean (step {step})")
        torch_close(running_new[1], bn.running_var, f"running var (step {step})")
        assert running_new[0] is not running[0] and running_new[1] is not running[1]
        running = running_new


@pytest.mark.parametrize("train", [True, False])
def test_batchnorm_grad_check(train):
    rng = np.random.default_rng(11)
    x, gamma, beta = rng.normal(size=(5, 3)), rng.normal(size=3), rng.normal(size=3)
    running = (rng.normal(size=3), rng.uniform(0.5, 2, size=3))
    dout = rng.normal(size=(5, 3))
    dx, dgamma, dbeta = batchnorm_backward(dout, batchnorm_forward(x, gamma, beta, running, train)[1])
    grad_check(lambda: float(np.sum(batchnorm_forward(x, gamma, beta, running, train)[0] * dout)),
               {"x": x, "gamma": gamma, "beta": beta}, {"x": dx, "gamma": dgamma, "beta": dbeta})


def test_batchnorm_needs_two_rows_to_train():
    with pytest.raises(ValueError):
        batchnorm_forward(np.ones((1, 2)), np.ones(2), np.zeros(2), (np.zeros(2), np.ones(2)), True)


# --- data -----------------------------------------------------------------------------------

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
