"""autograder.reference.recurrent against torch.nn.RNN (chapter 4, §4.3)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from autograder import check_close, check_no_mutation, grad_check, reference_device, to_numpy, to_torch
from autograder.reference.recurrent import rnn_backward, rnn_forward

pytestmark = pytest.mark.chapter(4)


def torch_rnn(x, h0, Wx, Wh, b, dh):
    """h and the gradients (dx, dh0, dWx, dWh, db) of sum(h * dh) from torch.nn.RNN, course layout."""
    rnn = torch.nn.RNN(Wx.shape[0], Wx.shape[1], nonlinearity="tanh", batch_first=True,
                       dtype=torch.float64, device=reference_device())
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(to_torch(Wx.T))  # torch stores (H, D)
        rnn.weight_hh_l0.copy_(to_torch(Wh.T))
        rnn.bias_ih_l0.copy_(to_torch(b))
        rnn.bias_hh_l0.zero_()  # a second bias the course does not have
    x_t, h0_t = to_torch(x, requires_grad=True), to_torch(h0[None], requires_grad=True)
    h, _ = rnn(x_t, h0_t)
    (h * to_torch(dh)).sum().backward()
    return to_numpy(h), (to_numpy(x_t.grad), to_numpy(h0_t.grad[0]), to_numpy(rnn.weight_ih_l0.grad).T,
                         to_numpy(rnn.weight_hh_l0.grad).T, to_numpy(rnn.bias_ih_l0.grad))


@pytest.mark.exercise("rnn_forward")
@pytest.mark.exercise("rnn_backward")
@pytest.mark.parametrize("n, steps, d, hidden", [(2, 4, 3, 5), (1, 1, 1, 1), (3, 9, 2, 4)])
def test_rnn_matches_torch_and_central_differences(n, steps, d, hidden):
    rng = np.random.default_rng(3)
    x, h0 = rng.normal(size=(n, steps, d)), rng.normal(scale=0.5, size=(n, hidden))
    Wx = rng.normal(scale=d**-0.5, size=(d, hidden))
    Wh = rng.normal(scale=hidden**-0.5, size=(hidden, hidden))
    b = rng.normal(scale=0.1, size=hidden)
    h, cache = check_no_mutation(rnn_forward, x, h0, Wx, Wh, b, name="rnn_forward")
    dh = rng.normal(size=h.shape)
    torch_h, torch_grads = torch_rnn(x, h0, Wx, Wh, b, dh)
    check_close(h, torch_h, name="h vs torch.nn.RNN")
    grads = check_no_mutation(rnn_backward, dh, cache, name="rnn_backward")
    for name, mine, theirs in zip(("dx", "dh0", "dWx", "dWh", "db"), grads, torch_grads):
        check_close(mine, theirs, name=f"{name} vs torch.nn.RNN")
    grad_check(lambda: np.sum(rnn_forward(x, h0, Wx, Wh, b)[0] * dh),
               {"x": x, "h0": h0, "Wx": Wx, "Wh": Wh, "b": b}, dict(zip(["x", "h0", "Wx", "Wh", "b"], grads)))


def test_the_gradient_through_time_scales_like_the_recurrent_weights_power():
    """With tanh nearly linear and Wh = s * orthogonal, ||dL/dh0|| / ||dL/dh_T|| = s**T."""
    rng = np.random.default_rng(4)
    orthogonal, _ = np.linalg.qr(rng.normal(size=(8, 8)))
    for scale in (0.8, 1.25):
        h, cache = rnn_forward(1e-6 * rng.normal(size=(1, 20, 1)), np.zeros((1, 8)), rng.normal(size=(1, 8)),
                               scale * orthogonal, np.zeros(8))
        dh = np.zeros_like(h)
        dh[:, -1] = rng.normal(size=8)
        _, dh0, _, _, _ = rnn_backward(dh, cache)
        check_close(np.linalg.norm(dh0) / np.linalg.norm(dh[:, -1]), scale**20, rtol=1e-3,
                    name=f"the gradient reaching h0 over 20 steps, Wh = {scale} x orthogonal")
