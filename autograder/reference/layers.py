"""Modular layers as forward/backward pairs (chapter 4).

Every layer is two functions written side by side (CS231n's ``layers.py`` layout):

    out, cache = layer_forward(x, ...)     # cache: what backward needs, nothing more
    dx, ... = layer_backward(dout, cache)  # gradients in the order of forward's inputs

Shapes: ``N`` batch, ``D`` input features, ``M`` output features, ``C`` classes.
Weights are stored (in, out), ``W: (D, M)``, so a layer is ``x @ W + b``;
``torch.nn.Linear.weight`` is (out, in) (see ``autograder.torch_ref.linear_from_numpy``).
Each forward documents its cache, so that a backward can be tested on its own.
No function writes into an array it was given.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .activations import sigmoid
from .losses import log_softmax

__all__ = [
    "linear_forward",
    "linear_backward",
    "relu_forward",
    "relu_backward",
    "sigmoid_forward",
    "sigmoid_backward",
    "tanh_forward",
    "tanh_backward",
    "softmax_cross_entropy",
]


def linear_forward(x: np.ndarray, W: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, Any]:
    """Affine layer ``x @ W + b``.

    x: (N, D), W: (D, M), b: (M,).  Returns (out (N, M), cache = (x, W, b)).
    """
    out = x @ W + b
    return out, (x, W, b)


def linear_backward(dout: np.ndarray, cache: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of the affine layer.

    dout: (N, M), the upstream gradient dL/dout.  cache: from ``linear_forward``.
    Returns (dx (N, D), dW (D, M), db (M,)): dx = dout W^T, dW = x^T dout, db = sum over N.
    """
    x, W, _ = cache
    return dout @ W.T, x.T @ dout, dout.sum(axis=0)


def relu_forward(x: np.ndarray) -> tuple[np.ndarray, Any]:
    """max(x, 0).  x: any shape.  Returns (out (x's shape), cache = x)."""
    return np.maximum(x, 0.0), x


def relu_backward(dout: np.ndarray, cache: Any) -> np.ndarray:
    """dx = dout where x > 0, else 0 (0 at x == 0, PyTorch's convention). dout: x's shape."""
    x = cache
    return dout * (x > 0)


def sigmoid_forward(x: np.ndarray) -> tuple[np.ndarray, Any]:
    """1 / (1 + exp(-x)), stable for any x.  Returns (out (x's shape), cache = out)."""
    out = sigmoid(x)
    return out, out


def sigmoid_backward(dout: np.ndarray, cache: Any) -> np.ndarray:
    """dx = dout * s (1 - s), with s = sigmoid(x) kept from the forward pass."""
    s = cache
    return dout * s * (1.0 - s)


def tanh_forward(x: np.ndarray) -> tuple[np.ndarray, Any]:
    """tanh(x).  Returns (out (x's shape), cache = out)."""
    out = np.tanh(x)
    return out, out


def tanh_backward(dout: np.ndarray, cache: Any) -> np.ndarray:
    """dx = dout * (1 - t**2), with t = tanh(x) kept from the forward pass."""
    t = cache
    return dout * (1.0 - t**2)


def softmax_cross_entropy(logits: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean cross-entropy of integer labels, and its gradient with respect to the logits.

    logits: (N, C), y: (N,) integers in [0, C).
    Returns (loss: float, dlogits (N, C) = (softmax(logits) - one_hot(y)) / N).
    Stable: the log-sum-exp is shifted by the row maximum, so logits of 1e4 are fine.
    """
    n = logits.shape[0]
    rows = np.arange(n)
    log_probs = log_softmax(logits)
    loss = float(-np.mean(log_probs[rows, y]))
    dlogits = np.exp(log_probs)
    dlogits[rows, y] -= 1.0  # dlogits is a new array: the caller's logits are untouched
    return loss, dlogits / n
