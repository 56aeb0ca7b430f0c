"""Loss functions and their gradients with respect to the prediction (chapter 3).

All are means over the batch; all are stable for logits as large as 1e4.
"""

from __future__ import annotations

import numpy as np


def mse_loss(y_pred: np.ndarray, y: np.ndarray) -> float:
    """mean((y_pred - y)**2) over all entries."""
    return float(np.mean((y_pred - y) ** 2))


def mse_loss_grad(y_pred: np.ndarray, y: np.ndarray) -> np.ndarray:
    """2 (y_pred - y) / number of entries; y_pred's shape."""
    return 2.0 * (y_pred - y) / y_pred.size


def binary_cross_entropy(logits: np.ndarray, y: np.ndarray) -> float:
    """mean(max(z, 0) - z*y + log(1 + exp(-|z|))): BCE of sigmoid(z), from logits z."""
    z = np.asarray(logits, dtype=np.float64)
    return float(np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))))


def binary_cross_entropy_grad(logits: np.ndarray, y: np.ndarray) -> np.ndarray:
    """(sigmoid(z) - y) / number of entries; logits' shape."""
    from .activations import sigmoid

    return (sigmoid(logits) - y) / np.size(logits)


def softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise softmax of z: (N, C), shifted by the row maximum so exp() cannot overflow."""
    shifted = z - np.max(z, axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / np.sum(exp, axis=-1, keepdims=True)


def log_softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise log-softmax (log-sum-exp), z: (N, C)."""
    shifted = z - np.max(z, axis=-1, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))


def cross_entropy(logits: np.ndarray, y: np.ndarray) -> float:
    """Mean negative log-likelihood of integer labels. logits: (N, C), y: (N,) ints."""
    n = logits.shape[0]
    return float(-np.mean(log_softmax(logits)[np.arange(n), y]))


def cross_entropy_grad(logits: np.ndarray, y: np.ndarray) -> np.ndarray:
    """(softmax(logits) - one_hot(y)) / N; logits' shape (N, C)."""
    n = logits.shape[0]
    grad = softmax(logits)
    grad[np.arange(n), y] -= 1.0
    return grad / n
