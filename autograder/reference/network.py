"""An L-layer network assembled from the layer pairs, and one step of its training loop (chapter 4, §4.1).

The network is ``linear -> activation -> ... -> linear`` (the last layer stays linear: it
outputs the class scores, the logits), with parameters in a dict keyed ``W1 b1 W2 b2 ... WL bL``,
weights (in, out). Chapter 5 builds its models with ``init_params`` from here.

    params = init_params([D, H, C], rng)                 # He-normal weights, zero biases
    scores, caches = network_forward(X, params, "relu")  # caches: one (linear, activation) pair a layer
    loss, dscores = softmax_cross_entropy(scores, y)
    grads = network_backward(dscores, caches, "relu")    # keyed like params
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .init import he_normal
from .layers import (
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

__all__ = [
    "ACTIVATION_LAYERS",
    "n_layers",
    "init_params",
    "network_forward",
    "network_backward",
    "train_step",
]

# One table, one place: an activation's name -> its (forward, backward) layer pair.
ACTIVATION_LAYERS: dict[str, tuple[Callable[..., Any], Callable[..., Any]]] = {
    "relu": (relu_forward, relu_backward),
    "sigmoid": (sigmoid_forward, sigmoid_backward),
    "tanh": (tanh_forward, tanh_backward),
}


def _activation(name: str) -> tuple[Callable[..., Any], Callable[..., Any]]:
    if name not in ACTIVATION_LAYERS:
        raise ValueError(f"unknown activation {name!r}; choose one of {sorted(ACTIVATION_LAYERS)}.")
    return ACTIVATION_LAYERS[name]


def n_layers(params: dict[str, np.ndarray]) -> int:
    """The number of linear layers L of a params dict keyed W1 b1 ... WL bL."""
    return sum(1 for name in params if name.startswith("W"))


def init_params(
    layer_sizes: list[int],
    rng: np.random.Generator,
    weight_init: Callable[[int, int, np.random.Generator], np.ndarray] = he_normal,
) -> dict[str, np.ndarray]:
    """Parameters of a network with the given layer widths, e.g. [64, 32, 10].

    Weights ``W{k}`` (fan_in, fan_out) from ``weight_init(fan_in, fan_out, rng)`` (He normal by
    default, drawn layer by layer in order), biases ``b{k}`` zeros (fan_out,).
    Returns {"W1", "b1", ..., "WL", "bL"} with L = len(layer_sizes) - 1.
    """
    if len(layer_sizes) < 2:
        raise ValueError(f"layer_sizes needs at least an input and an output width, got {layer_sizes}.")
    params: dict[str, np.ndarray] = {}
    for k, (fan_in, fan_out) in enumerate(zip(layer_sizes[:-1], layer_sizes[1:]), start=1):
        params[f"W{k}"] = np.asarray(weight_init(fan_in, fan_out, rng), dtype=np.float64)
        params[f"b{k}"] = np.zeros(fan_out)
    return params


def network_forward(
    X: np.ndarray, params: dict[str, np.ndarray], activation: str = "relu"
) -> tuple[np.ndarray, list[tuple[Any, Any]]]:
    """Scores of linear -> activation -> ... -> linear.

    X: (N, D), params: W1 (D, H1), b1 (H1,), ..., WL (H_{L-1}, C), bL (C,).
    Returns (scores (N, C), caches) with caches[k - 1] = (linear_cache, activation_cache) of
    layer k: linear_cache = (input, Wk, bk); activation_cache is None for the last layer.
    """
    forward, _ = _activation(activation)
    L = n_layers(params)
    h, caches = X, []
    for k in range(1, L + 1):
        h, linear_cache = linear_forward(h, params[f"W{k}"], params[f"b{k}"])
        activation_cache = None
        if k < L:
            h, activation_cache = forward(h)
        caches.append((linear_cache, activation_cache))
    return h, caches


def network_backward(
    dscores: np.ndarray, caches: list[tuple[Any, Any]], activation: str = "relu"
) -> dict[str, np.ndarray]:
    """Gradients of every parameter, given dL/dscores (N, C) and network_forward's caches.

    Walks the layers in reverse: the activation's backward (not for the last layer), then the
    linear layer's. Returns grads keyed like params (W1, b1, ..., WL, bL), each shaped like it.
    """
    _, backward = _activation(activation)
    grads: dict[str, np.ndarray] = {}
    dout = dscores
    for k in range(len(caches), 0, -1):
        linear_cache, activation_cache = caches[k - 1]
        if activation_cache is not None:
            dout = backward(dout, activation_cache)
        dout, grads[f"W{k}"], grads[f"b{k}"] = linear_backward(dout, linear_cache)
    return {name: grads[name] for k in range(1, len(caches) + 1) for name in (f"W{k}", f"b{k}")}


def train_step(
    params: dict[str, np.ndarray], X: np.ndarray, y: np.ndarray, lr: float, activation: str = "relu"
) -> float:
    """One step of gradient descent on softmax cross-entropy: forward, loss, backward, update.

    params are updated in place (``p -= lr * grad``), as ``torch.optim.SGD(lr=lr)`` would.
    Returns the loss before the update (a float).
    """
    scores, caches = network_forward(X, params, activation)
    loss, dscores = softmax_cross_entropy(scores, y)
    grads = network_backward(dscores, caches, activation)
    for name, param in params.items():
        param -= lr * grads[name]
    return loss
