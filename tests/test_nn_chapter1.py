"""The chapter 1 reference library (autograder/reference/activations.py, mlp.py) against PyTorch, float64.

Later chapters build on these functions, so they must agree with PyTorch to the
course's named tolerances: values with torch.sigmoid/relu/tanh, derivatives with
torch.autograd, an MLP with a torch.nn.Sequential of Linear layers.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from autograder import (
    check_close,
    check_equal,
    check_no_mutation,
    linear_from_numpy,
    no_numpy_warnings,
    to_numpy,
    to_torch,
    value_and_grad,
)
from autograder.reference import activations, mlp
from autograder.tolerances import TORCH_ATOL, TORCH_RTOL

# name -> (the course's function, its derivative, PyTorch's function, PyTorch's module)
ACTIVATIONS = {
    "sigmoid": (activations.sigmoid, activations.sigmoid_grad, torch.sigmoid, torch.nn.Sigmoid),
    "relu": (activations.relu, activations.relu_grad, torch.relu, torch.nn.ReLU),
    "tanh": (activations.tanh, activations.tanh_grad, torch.tanh, torch.nn.Tanh),
}
SHAPES = [(), (1,), (7,), (4, 5), (2, 3, 4)]


def sample(shape: tuple[int, ...], seed: int, scale: float = 3.0) -> np.ndarray:
    return np.random.default_rng(seed).normal(scale=scale, size=shape)


@pytest.mark.parametrize("name", ACTIVATIONS)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_activation_matches_torch(name, shape):
    function, _, torch_fn, _ = ACTIVATIONS[name]
    z = sample(shape, seed=len(shape))
    result = check_no_mutation(function, z)
    check_close(np.asarray(result), to_numpy(torch_fn(to_torch(z))), name=f"{name}{shape}",
                rtol=TORCH_RTOL, atol=TORCH_ATOL)


@pytest.mark.parametrize("name", ACTIVATIONS)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_derivative_matches_autograd(name, shape):
    _, derivative, torch_fn, _ = ACTIVATIONS[name]
    z = sample(shape, seed=10 + len(shape))
    result = check_no_mutation(derivative, z)
    _, (expected,) = value_and_grad(lambda t: torch_fn(t).sum(), z)  # d/dz of an element-wise fn
    check_close(np.asarray(result), expected, name=f"{name}_grad{shape}",
                rtol=TORCH_RTOL, atol=TORCH_ATOL)


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_derivative_matches_autograd_on_a_wide_range(name):
    _, derivative, torch_fn, _ = ACTIVATIONS[name]
    z = np.concatenate([np.linspace(-50.0, 50.0, 1001), [-1e4, -700.0, 700.0, 1e4]])
    z = z[z != 0.0]  # the kink of ReLU is tested on its own below
    with no_numpy_warnings(f"{name}_grad"):
        result = derivative(z)
    _, (expected,) = value_and_grad(lambda t: torch_fn(t).sum(), z)
    check_close(result, expected, name=f"{name}_grad(wide range)",
                rtol=TORCH_RTOL, atol=TORCH_ATOL)


def test_relu_grad_is_zero_at_zero_like_pytorch():
    z = np.array([-1.0, -0.0, 0.0, 1.0])
    check_equal(activations.relu_grad(z), np.array([0.0, 0.0, 0.0, 1.0]), name="relu_grad")
    _, (torch_slopes,) = value_and_grad(lambda t: torch.relu(t).sum(), z)
    check_equal(torch_slopes, np.array([0.0, 0.0, 0.0, 1.0]),
                name="torch.relu derivative")
    check_equal(float(activations.relu_grad(np.array(0.0))), 0.0, name="relu_grad(0)")


@pytest.mark.parametrize("name", ["sigmoid", "tanh"])
def test_saturating_activations_are_finite_and_silent_at_extremes(name):
    function, derivative, torch_fn, _ = ACTIVATIONS[name]
    z = np.array([-1e4, -1e3, -750.0, 750.0, 1e3, 1e4])
    with no_numpy_warnings(name):
        values = function(z)
        slopes = derivative(z)
    check_close(values, to_numpy(torch_fn(to_torch(z))), name=f"{name}(extremes)",
                rtol=TORCH_RTOL, atol=TORCH_ATOL)
    check_close(slopes, np.zeros_like(z), name=f"{name}_grad(extremes)")


def test_sigmoid_is_exact_at_the_extremes():
    with no_numpy_warnings("sigmoid"):
        result = activations.sigmoid(np.array([-1e4, 0.0, 1e4]))
    check_equal(result, np.array([0.0, 0.5, 1.0]), name="sigmoid([-1e4, 0, 1e4])")


def test_sigmoid_keeps_precision_in_the_left_tail():
    # 1 - sigmoid(-z) would round to 0 here; the stable form keeps every digit.
    z = np.array([-30.0, -100.0, -700.0])
    check_close(activations.sigmoid(z), np.exp(z) / (1.0 + np.exp(z)), name="sigmoid(left tail)")


def random_params(layer_sizes: list[int], seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    return [(rng.normal(size=(n_in, n_out)) / np.sqrt(n_in), rng.normal(size=n_out))
            for n_in, n_out in zip(layer_sizes, layer_sizes[1:])]


def torch_mlp(params, activation_module) -> torch.nn.Sequential:
    """Linear layers from the course's (in, out) weights, the activation between them."""
    layers: list[torch.nn.Module] = []
    for index, (W, b) in enumerate(params):
        layers.append(linear_from_numpy(W, b))
        if index < len(params) - 1:
            layers.append(activation_module())
    return torch.nn.Sequential(*layers)


@pytest.mark.parametrize("n_in, n_out", [(1, 1), (5, 3), (4, 4), (30, 64)])
def test_dense_forward_matches_linear(n_in, n_out):
    rng = np.random.default_rng(n_in * 100 + n_out)
    X = rng.normal(size=(6, n_in))
    W = rng.normal(size=(n_in, n_out))
    b = rng.normal(size=n_out)
    result = check_no_mutation(mlp.dense_forward, X, W, b)
    with torch.no_grad():
        expected = to_numpy(linear_from_numpy(W, b)(to_torch(X)))
    check_close(result, expected, name="dense_forward", rtol=TORCH_RTOL, atol=TORCH_ATOL)


@pytest.mark.parametrize("name", ACTIVATIONS)
@pytest.mark.parametrize("layer_sizes", [[3, 2], [4, 8, 3], [30, 64, 32, 1], [5, 6, 6, 6, 6, 2]],
                         ids=str)
def test_mlp_forward_matches_sequential(name, layer_sizes):
    function, _, _, module = ACTIVATIONS[name]
    params = random_params(layer_sizes, seed=sum(layer_sizes))
    X = np.random.default_rng(len(layer_sizes)).normal(size=(9, layer_sizes[0]))
    result = check_no_mutation(mlp.mlp_forward, X, params, function)
    with torch.no_grad():
        expected = to_numpy(torch_mlp(params, module)(to_torch(X)))
    check_close(result, expected, name=f"mlp_forward({layer_sizes}, {name})",
                rtol=TORCH_RTOL, atol=TORCH_ATOL)


def test_mlp_forward_last_layer_is_linear():
    # A ReLU after the last layer would clip these negative logits to 0.
    params = [(np.eye(2), np.zeros(2)), (-np.eye(2), np.zeros(2))]
    X = np.array([[1.0, 2.0]])
    check_close(mlp.mlp_forward(X, params, activations.relu), np.array([[-1.0, -2.0]]),
                name="mlp_forward logits")


@pytest.mark.parametrize("layer_sizes", [[30, 64, 32, 1], [2, 1], [784, 128, 10], [5], [3, 3, 3]],
                         ids=str)
def test_count_parameters_matches_torch(layer_sizes):
    model = torch.nn.Sequential(*(torch.nn.Linear(n_in, n_out, device="meta")
                                  for n_in, n_out in zip(layer_sizes, layer_sizes[1:])))
    expected = sum(p.numel() for p in model.parameters())
    result = mlp.count_parameters(layer_sizes)
    assert isinstance(result, int), f"count_parameters returned {type(result).__name__}, not int"
    check_equal(result, expected, name=f"count_parameters({layer_sizes})")


def test_count_parameters_of_the_source_model():
    check_equal(mlp.count_parameters([30, 64, 32, 1]), 4097, name="count_parameters([30, 64, 32, 1])")
