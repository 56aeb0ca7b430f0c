"""autograder/reference/activations.py (chapter 1, §1.2) against PyTorch, float64.

Later chapters build on these functions, so they must agree with PyTorch to the
course's named tolerances: values with torch.sigmoid/relu/tanh, derivatives with
torch.autograd, stability and silence at |z| = 1e4, float64 results, ReLU'(0) = 0.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from autograder import (
    check_close,
    check_dtype,
    check_equal,
    check_no_mutation,
    no_numpy_warnings,
    to_numpy,
    to_torch,
    value_and_grad,
)
from autograder.reference import activations
from autograder.tolerances import TORCH_ATOL, TORCH_RTOL

pytestmark = pytest.mark.chapter(1)

# name -> (the course's function, its derivative, PyTorch's function)
ACTIVATIONS = {
    "sigmoid": (activations.sigmoid, activations.sigmoid_grad, torch.sigmoid),
    "relu": (activations.relu, activations.relu_grad, torch.relu),
    "tanh": (activations.tanh, activations.tanh_grad, torch.tanh),
}
SHAPES = [(), (1,), (7,), (4, 5), (2, 3, 4)]


def sample(shape: tuple[int, ...], seed: int, scale: float = 3.0) -> np.ndarray:
    return np.random.default_rng(seed).normal(scale=scale, size=shape)


def autograd_derivative(torch_fn, z: np.ndarray) -> np.ndarray:
    """d/dz of the element-wise ``torch_fn``: the gradient of sum(torch_fn(z))."""
    _, (slopes,) = value_and_grad(lambda t: torch_fn(t).sum(), z)
    return slopes


def exercise_params(names):
    return [pytest.param(name, marks=pytest.mark.exercise(name)) for name in names]


@pytest.mark.parametrize("name", exercise_params(ACTIVATIONS))
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_activation_matches_torch(name, shape):
    function, _, torch_fn = ACTIVATIONS[name]
    z = sample(shape, seed=len(shape))
    result = check_no_mutation(function, z)
    check_dtype(result, np.float64, name=f"{name}{shape}")
    check_close(np.asarray(result), to_numpy(torch_fn(to_torch(z))), name=f"{name}{shape}",
                rtol=TORCH_RTOL, atol=TORCH_ATOL)


@pytest.mark.parametrize("name", exercise_params(f"{n}_grad" for n in ACTIVATIONS))
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_derivative_matches_autograd(name, shape):
    _, derivative, torch_fn = ACTIVATIONS[name.removesuffix("_grad")]
    z = sample(shape, seed=10 + len(shape))
    result = check_no_mutation(derivative, z)
    check_dtype(result, np.float64, name=f"{name}{shape}")
    check_close(np.asarray(result), autograd_derivative(torch_fn, z), name=f"{name}{shape}",
                rtol=TORCH_RTOL, atol=TORCH_ATOL)


@pytest.mark.parametrize("name", exercise_params(f"{n}_grad" for n in ACTIVATIONS))
def test_derivative_matches_autograd_on_a_wide_range(name):
    _, derivative, torch_fn = ACTIVATIONS[name.removesuffix("_grad")]
    z = np.concatenate([np.linspace(-50.0, 50.0, 1001), [-1e4, -700.0, 700.0, 1e4]])
    z = z[z != 0.0]  # the kink of ReLU is tested on its own below
    with no_numpy_warnings(name):
        result = derivative(z)
    check_close(result, autograd_derivative(torch_fn, z), name=f"{name}(wide range)",
                rtol=TORCH_RTOL, atol=TORCH_ATOL)


@pytest.mark.exercise("relu_grad")
def test_relu_grad_is_zero_at_zero_like_pytorch():
    z = np.array([-1.0, -0.0, 0.0, 1.0])
    check_equal(activations.relu_grad(z), np.array([0.0, 0.0, 0.0, 1.0]), name="relu_grad")
    check_equal(autograd_derivative(torch.relu, z), np.array([0.0, 0.0, 0.0, 1.0]),
                name="torch.relu derivative")
    check_equal(float(activations.relu_grad(np.array(0.0))), 0.0, name="relu_grad(0)")
    check_dtype(activations.relu_grad(z), np.float64, name="relu_grad (floats, not booleans)")


@pytest.mark.parametrize("name", exercise_params(["sigmoid", "tanh"]))
def test_saturating_activations_are_finite_and_silent_at_extremes(name):
    function, derivative, torch_fn = ACTIVATIONS[name]
    z = np.array([-1e4, -1e3, -750.0, 750.0, 1e3, 1e4])
    with no_numpy_warnings(name):
        values = function(z)
        slopes = derivative(z)
    check_close(values, to_numpy(torch_fn(to_torch(z))), name=f"{name}(extremes)",
                rtol=TORCH_RTOL, atol=TORCH_ATOL)
    check_close(slopes, np.zeros_like(z), name=f"{name}_grad(extremes)")


@pytest.mark.exercise("sigmoid")
def test_sigmoid_is_exact_at_the_extremes():
    with no_numpy_warnings("sigmoid"):
        result = activations.sigmoid(np.array([-1e4, 0.0, 1e4]))
    check_equal(result, np.array([0.0, 0.5, 1.0]), name="sigmoid([-1e4, 0, 1e4])")


@pytest.mark.exercise("sigmoid")
def test_sigmoid_keeps_precision_in_the_left_tail():
    # 1 - sigmoid(-z) would round to 0 here; the stable form keeps every digit.
    z = np.array([-30.0, -100.0, -700.0])
    check_close(activations.sigmoid(z), np.exp(z) / (1.0 + np.exp(z)), name="sigmoid(left tail)")
