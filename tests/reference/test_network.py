"""autograder.reference.network: the L-layer network of §4.1 against torch.autograd (chapter 4)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from autograder import check_close, check_no_mutation, grad_check, linear_from_numpy, to_numpy, to_torch
from autograder.reference.init import xavier_uniform
from autograder.reference.layers import softmax_cross_entropy
from autograder.reference.network import (
    ACTIVATION_LAYERS,
    init_params,
    n_layers,
    network_backward,
    network_forward,
    train_step,
)
from autograder.tolerances import TORCH_ATOL, TORCH_RTOL

TOLERANCES = {"rtol": TORCH_RTOL, "atol": TORCH_ATOL}

pytestmark = pytest.mark.chapter(4)

TORCH_ACTIVATIONS = {"relu": torch.nn.ReLU, "sigmoid": torch.nn.Sigmoid, "tanh": torch.nn.Tanh}


def torch_network(params, activation):
    layers = []
    for k in range(1, n_layers(params) + 1):
        layers += [linear_from_numpy(params[f"W{k}"], params[f"b{k}"]), TORCH_ACTIVATIONS[activation]()]
    return torch.nn.Sequential(*layers[:-1])


def random_params(sizes, rng):
    params = init_params(sizes, rng)
    for name in params:
        if name.startswith("b"):
            params[name] = rng.normal(scale=0.5, size=params[name].shape)  # off ReLU's kink
    return params


@pytest.mark.exercise("init_params")
def test_init_params_shapes_and_he_scale():
    params = init_params([300, 200, 10], np.random.default_rng(0))
    assert list(params) == ["W1", "b1", "W2", "b2"]
    assert params["W1"].shape == (300, 200) and params["b2"].shape == (10,)
    assert not params["b1"].any()
    assert abs(params["W1"].std() / np.sqrt(2 / 300) - 1) < 0.02
    xavier = init_params([5, 4], np.random.default_rng(1), weight_init=xavier_uniform)
    assert np.abs(xavier["W1"]).max() <= np.sqrt(6 / 9)
    with pytest.raises(ValueError):
        init_params([5], np.random.default_rng(2))


@pytest.mark.exercise("network_forward")
@pytest.mark.exercise("network_backward")
@pytest.mark.parametrize("activation", sorted(ACTIVATION_LAYERS))
@pytest.mark.parametrize("sizes", [[5, 4, 3], [3, 6, 5, 4, 2], [2, 3]])
def test_network_matches_torch(activation, sizes):
    rng = np.random.default_rng(3)
    params = random_params(sizes, rng)
    X, dscores = rng.normal(size=(6, sizes[0])), rng.normal(size=(6, sizes[-1]))
    scores, caches = check_no_mutation(network_forward, X, params, activation)
    assert len(caches) == len(sizes) - 1 and caches[-1][1] is None
    grads = check_no_mutation(network_backward, dscores, caches, activation)
    assert list(grads) == list(params)
    net = torch_network(params, activation)
    X_t = to_torch(X, True)
    out = net(X_t)
    out.backward(to_torch(dscores))
    check_close(scores, to_numpy(out), name="scores", **TOLERANCES)
    for k, layer in enumerate(net[::2], start=1):
        check_close(grads[f"W{k}"], to_numpy(layer.weight.grad).T, name=f"W{k}", **TOLERANCES)
        check_close(grads[f"b{k}"], to_numpy(layer.bias.grad), name=f"b{k}", **TOLERANCES)
    grad_check(lambda: float(np.sum(network_forward(X, params, activation)[0] * dscores)), params, grads)


@pytest.mark.exercise("network_forward")
def test_network_rejects_an_unknown_activation():
    with pytest.raises(ValueError, match="unknown activation"):
        network_forward(np.ones((1, 2)), init_params([2, 2], np.random.default_rng(4)), "swish")


@pytest.mark.exercise("train_step")
def test_train_step_follows_torch_sgd():
    rng = np.random.default_rng(5)
    params = random_params([4, 8, 3], rng)
    X, y = rng.normal(size=(10, 4)), rng.integers(0, 3, size=10)
    net = torch_network(params, "tanh")
    optimizer = torch.optim.SGD(net.parameters(), lr=0.3)
    arrays = {name: value for name, value in params.items()}
    for step in range(5):
        loss = train_step(params, X, y, 0.3, "tanh")
        optimizer.zero_grad()
        labels = torch.as_tensor(y, device=net[0].weight.device)
        loss_t = torch.nn.functional.cross_entropy(net(to_torch(X)), labels)
        loss_t.backward()
        optimizer.step()
        check_close(loss, loss_t.item(), name=f"loss at step {step}", **TOLERANCES)
        for k, layer in enumerate(net[::2], start=1):
            check_close(params[f"W{k}"], to_numpy(layer.weight).T, name=f"W{k}", **TOLERANCES)
    assert all(params[name] is arrays[name] for name in params), "train_step updates in place"


@pytest.mark.exercise("train_step")
def test_a_tiny_batch_is_overfit_and_the_first_loss_is_log_c():
    rng = np.random.default_rng(6)
    X, y = rng.normal(size=(5, 8)), np.arange(5)
    params = init_params([8, 32, 5], rng, weight_init=lambda i, o, r: r.normal(0, 0.01, size=(i, o)))
    losses = [train_step(params, X, y, 0.5) for _ in range(300)]
    assert abs(losses[0] - np.log(5)) < 1e-3
    assert losses[-1] < 1e-2
    _, loss_grad = softmax_cross_entropy(network_forward(X, params)[0], y)
    assert np.abs(loss_grad).max() < 1e-2
