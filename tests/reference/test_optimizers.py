"""autograder.reference.optimizers against torch.optim, step for step (chapter 4, §4.2 and §4.3)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from autograder import check_close, check_no_mutation, to_numpy, to_torch
from autograder.reference.optimizers import SGD, Adagrad, Adam, RMSprop, clip_grad_norm
from autograder.tolerances import TORCH_ATOL, TORCH_RTOL

pytestmark = pytest.mark.chapter(4)


def torch_close(actual, expected_tensor, name):
    check_close(actual, to_numpy(expected_tensor), name=name, rtol=TORCH_RTOL, atol=TORCH_ATOL)


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


def case(ours, theirs, kwargs):
    """One optimizer setting, marked with the exercise it checks."""
    return pytest.param(ours, theirs, kwargs, marks=pytest.mark.exercise(ours.__name__))


@pytest.mark.parametrize("ours, theirs, kwargs", [
    case(SGD, torch.optim.SGD, {"lr": 0.05}),
    case(SGD, torch.optim.SGD, {"lr": 0.05, "momentum": 0.9}),
    case(Adagrad, torch.optim.Adagrad, {"lr": 0.5}),
    case(Adagrad, torch.optim.Adagrad, {"lr": 0.1, "eps": 1e-3}),
    case(RMSprop, torch.optim.RMSprop, {"lr": 0.01}),
    case(RMSprop, torch.optim.RMSprop, {"lr": 0.01, "alpha": 0.9, "eps": 1e-4}),
    case(Adam, torch.optim.Adam, {"lr": 0.1}),
    case(Adam, torch.optim.Adam, {"lr": 0.05, "betas": (0.8, 0.99), "eps": 1e-6}),
])
@pytest.mark.parametrize("seed", [0, 1])
def test_optimizer_trajectories_match_torch(ours, theirs, kwargs, seed):
    mine = _run_numpy(ours, kwargs, seed)
    reference = _run_torch(theirs, kwargs, seed)
    for step, (a, b) in enumerate(zip(mine, reference)):
        for key in a:
            check_close(a[key], b[key], name=f"{ours.__name__} step {step + 1} {key}",
                        rtol=TORCH_RTOL, atol=TORCH_ATOL)


@pytest.mark.exercise("SGD")
def test_optimizer_updates_callers_arrays_in_place():
    W = np.ones((2, 2))
    params = {"W": W}
    SGD(params, lr=0.5).step({"W": np.ones((2, 2))})
    assert params["W"] is W and np.allclose(W, 0.5), "step must update the caller's arrays in place"


@pytest.mark.exercise("Adam")
def test_optimizer_rejects_mismatched_grads():
    optimizer = Adam({"W": np.zeros(2)}, lr=0.1)
    with pytest.raises(KeyError):
        optimizer.step({"V": np.zeros(2)})
    with pytest.raises(ValueError):
        optimizer.step({"W": np.zeros(3)})


@pytest.mark.exercise("clip_grad_norm")
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
