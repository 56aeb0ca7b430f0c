"""autograder.reference.convolution against torch.nn.functional.conv1d/conv2d (chapter 4, §4.1)."""

from __future__ import annotations

import numpy as np
import pytest
import torch.nn.functional as F

from autograder import check_close, check_no_mutation, grad_check, to_numpy, to_torch, value_and_grad
from autograder.reference.convolution import conv1d_backward, conv2d_backward, conv2d_forward

pytestmark = pytest.mark.chapter(4)


def conv1d(x, w, b, stride):
    """The forward pass of chapter 1's conv1d_forward, by PyTorch (it is not this module's)."""
    return to_numpy(F.conv1d(to_torch(x), to_torch(w), to_torch(b), stride=stride))


@pytest.mark.exercise("conv1d_backward")
@pytest.mark.parametrize("x_shape, w_shape, stride", [
    ((2, 3, 7), (4, 3, 3), 1),  # overlapping windows
    ((2, 2, 8), (3, 2, 3), 2),  # the last position is never read
    ((1, 1, 5), (1, 1, 5), 1),  # one window
    ((3, 2, 10), (2, 2, 2), 4),  # gaps between windows
])
def test_conv1d_backward_matches_torch_and_central_differences(x_shape, w_shape, stride):
    rng = np.random.default_rng(1)
    x, w, b = rng.normal(size=x_shape), rng.normal(size=w_shape), rng.normal(size=w_shape[0])
    dout = rng.normal(size=conv1d(x, w, b, stride).shape)
    dx, dw, db = check_no_mutation(conv1d_backward, dout, (x, w, b, stride), name="conv1d_backward")
    _, expected = value_and_grad(lambda x, w, b: F.conv1d(x, w, b, stride=stride), x, w, b, upstream=dout)
    for name, mine, theirs in zip(("dx", "dw", "db"), (dx, dw, db), expected):
        check_close(mine, theirs, name=f"{name} vs torch")
    grad_check(lambda: np.sum(conv1d(x, w, b, stride) * dout), {"x": x, "w": w, "b": b},
               {"x": dx, "w": dw, "b": db})


@pytest.mark.exercise("conv2d_forward")
@pytest.mark.exercise("conv2d_backward")
@pytest.mark.parametrize("x_shape, w_shape, stride, pad", [
    ((2, 3, 5, 5), (4, 3, 3, 3), 1, 1),
    ((1, 2, 6, 7), (3, 2, 2, 3), 2, 1),  # a non-square kernel; a padded row never read
    ((2, 2, 7, 5), (2, 2, 3, 1), 3, 2),
    ((1, 1, 3, 3), (1, 1, 3, 3), 1, 0),
])
def test_conv2d_matches_torch_and_central_differences(x_shape, w_shape, stride, pad):
    rng = np.random.default_rng(2)
    x, w, b = rng.normal(size=x_shape), rng.normal(size=w_shape), rng.normal(size=w_shape[0])

    def torch_conv(x, w, b):
        return F.conv2d(x, w, b, stride=stride, padding=pad)

    out, cache = check_no_mutation(conv2d_forward, x, w, b, stride, pad, name="conv2d_forward")
    check_close(out, to_numpy(torch_conv(to_torch(x), to_torch(w), to_torch(b))), name="out vs torch")
    dout = rng.normal(size=out.shape)
    dx, dw, db = check_no_mutation(conv2d_backward, dout, cache, name="conv2d_backward")
    _, expected = value_and_grad(torch_conv, x, w, b, upstream=dout)
    for name, mine, theirs in zip(("dx", "dw", "db"), (dx, dw, db), expected):
        check_close(mine, theirs, name=f"{name} vs torch")
    grad_check(lambda: np.sum(conv2d_forward(x, w, b, stride, pad)[0] * dout), {"x": x, "w": w, "b": b},
               {"x": dx, "w": dw, "b": db})
