"""autograder/reference/mlp.py (chapter 1, §1.1 and §1.3) against PyTorch, float64.

A dense layer against torch.nn.Linear (whose weight is the transpose of this course's W),
an MLP against a torch.nn.Sequential of Linear layers, the parameter count against
PyTorch's own count.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from autograder import (
    check_close,
    check_equal,
    check_no_mutation,
    check_type,
    linear_from_numpy,
    to_numpy,
    to_torch,
)
from autograder.reference import activations, mlp
from autograder.tolerances import TORCH_ATOL, TORCH_RTOL

pytestmark = pytest.mark.chapter(1)

# name -> (the course's activation, PyTorch's module)
ACTIVATIONS = {
    "sigmoid": (activations.sigmoid, torch.nn.Sigmoid),
    "relu": (activations.relu, torch.nn.ReLU),
    "tanh": (activations.tanh, torch.nn.Tanh),
}


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


@pytest.mark.exercise("dense_forward")
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


@pytest.mark.exercise("mlp_forward")
@pytest.mark.parametrize("name", ACTIVATIONS)
@pytest.mark.parametrize("layer_sizes", [[3, 2], [4, 8, 3], [30, 64, 32, 1], [5, 6, 6, 6, 6, 2]],
                         ids=str)
def test_mlp_forward_matches_sequential(name, layer_sizes):
    function, module = ACTIVATIONS[name]
    params = random_params(layer_sizes, seed=sum(layer_sizes))
    X = np.random.default_rng(len(layer_sizes)).normal(size=(9, layer_sizes[0]))
    result = check_no_mutation(mlp.mlp_forward, X, params, function)
    with torch.no_grad():
        expected = to_numpy(torch_mlp(params, module)(to_torch(X)))
    check_close(result, expected, name=f"mlp_forward({layer_sizes}, {name})",
                rtol=TORCH_RTOL, atol=TORCH_ATOL)


@pytest.mark.exercise("mlp_forward")
def test_mlp_forward_last_layer_is_linear():
    # A ReLU after the last layer would clip these negative logits to 0.
    params = [(np.eye(2), np.zeros(2)), (-np.eye(2), np.zeros(2))]
    X = np.array([[1.0, 2.0]])
    check_close(mlp.mlp_forward(X, params, activations.relu), np.array([[-1.0, -2.0]]),
                name="mlp_forward logits")


@pytest.mark.exercise("count_parameters")
@pytest.mark.parametrize("layer_sizes", [[30, 64, 32, 1], [2, 1], [784, 128, 10], [5], [3, 3, 3]],
                         ids=str)
def test_count_parameters_matches_torch(layer_sizes):
    model = torch.nn.Sequential(*(torch.nn.Linear(n_in, n_out, device="meta")
                                  for n_in, n_out in zip(layer_sizes, layer_sizes[1:])))
    expected = sum(p.numel() for p in model.parameters())
    result = check_no_mutation(mlp.count_parameters, layer_sizes)
    check_type(result, int, name=f"count_parameters({layer_sizes})")
    check_equal(result, expected, name=f"count_parameters({layer_sizes})")


@pytest.mark.exercise("count_parameters")
def test_count_parameters_of_the_source_model():
    check_equal(mlp.count_parameters([30, 64, 32, 1]), 4097, name="count_parameters([30, 64, 32, 1])")
