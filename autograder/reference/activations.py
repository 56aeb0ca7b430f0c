"""Activation functions and their derivatives (chapter 1). Element-wise, any shape."""

from __future__ import annotations

import numpy as np


def sigmoid(z: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-z)), computed so that exp() only sees non-positive numbers."""
    z = np.asarray(z, dtype=np.float64)
    exp_neg_abs = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + exp_neg_abs), exp_neg_abs / (1.0 + exp_neg_abs))


def sigmoid_grad(z: np.ndarray) -> np.ndarray:
    """d sigmoid / dz = sigmoid(z) * (1 - sigmoid(z))."""
    s = sigmoid(z)
    return s * (1.0 - s)


def relu(z: np.ndarray) -> np.ndarray:
    """max(z, 0)."""
    return np.maximum(np.asarray(z, dtype=np.float64), 0.0)


def relu_grad(z: np.ndarray) -> np.ndarray:
    """1 where z > 0, else 0 (0 at z == 0, PyTorch's convention)."""
    return (np.asarray(z) > 0).astype(np.float64)


def tanh(z: np.ndarray) -> np.ndarray:
    """Hyperbolic tangent."""
    return np.tanh(np.asarray(z, dtype=np.float64))


def tanh_grad(z: np.ndarray) -> np.ndarray:
    """d tanh / dz = 1 - tanh(z)**2."""
    return 1.0 - np.tanh(np.asarray(z, dtype=np.float64)) ** 2
