"""autograder.reference.batchnorm against torch.nn.BatchNorm1d (chapter 4, §4.3)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from autograder import check_close, check_no_mutation, grad_check, to_numpy
from autograder.reference.batchnorm import batchnorm_backward, batchnorm_forward
from autograder.tolerances import TORCH_ATOL, TORCH_RTOL

pytestmark = pytest.mark.chapter(4)


def torch_close(actual, expected_tensor, name):
    check_close(actual, to_numpy(expected_tensor), name=name, rtol=TORCH_RTOL, atol=TORCH_ATOL)


@pytest.mark.exercise("batchnorm_forward")
@pytest.mark.exercise("batchnorm_backward")
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


@pytest.mark.exercise("batchnorm_backward")
@pytest.mark.parametrize("train", [True, False])
def test_batchnorm_grad_check(train):
    rng = np.random.default_rng(11)
    x, gamma, beta = rng.normal(size=(5, 3)), rng.normal(size=3), rng.normal(size=3)
    running = (rng.normal(size=3), rng.uniform(0.5, 2, size=3))
    dout = rng.normal(size=(5, 3))
    dx, dgamma, dbeta = batchnorm_backward(dout, batchnorm_forward(x, gamma, beta, running, train)[1])
    grad_check(lambda: float(np.sum(batchnorm_forward(x, gamma, beta, running, train)[0] * dout)),
               {"x": x, "gamma": gamma, "beta": beta}, {"x": dx, "gamma": dgamma, "beta": dbeta})


@pytest.mark.exercise("batchnorm_forward")
def test_batchnorm_needs_two_rows_to_train():
    with pytest.raises(ValueError):
        batchnorm_forward(np.ones((1, 2)), np.ones(2), np.zeros(2), (np.zeros(2), np.ones(2)), True)


@pytest.mark.exercise("batchnorm_forward")
@pytest.mark.parametrize("train", [True, False])
def test_batchnorm_returns_new_running_arrays(train):
    running = (np.zeros(3), np.ones(3))
    x = np.random.default_rng(12).normal(size=(4, 3))
    _, _, new_running = batchnorm_forward(x, np.ones(3), np.zeros(3), running, train)
    for new, old in zip(new_running, running):
        assert not np.shares_memory(new, old), "new_running must not alias the caller's arrays"
