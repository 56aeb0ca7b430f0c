"""Reusing what a network learned (chapter 6, §6.2): linear probes.

- ``linear_probe``: a softmax classifier trained on fixed features by full-batch gradient
  descent from zero weights (what ``torch.nn.Linear`` with zeroed parameters and
  ``torch.optim.SGD`` compute on the same features).
"""

from __future__ import annotations

import numpy as np

from .layers import softmax_cross_entropy

__all__ = ["linear_probe", "probe_accuracy"]


def linear_probe(features: np.ndarray, labels: np.ndarray, n_classes: int, steps: int = 100,
                 lr: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Softmax regression on fixed features: W (F, C), b (C,) from zeros, ``steps`` full-batch
    gradient-descent steps of size ``lr`` on the mean cross-entropy of ``features @ W + b``."""
    features = np.asarray(features, dtype=np.float64)
    W, b = np.zeros((features.shape[1], n_classes)), np.zeros(n_classes)
    for _ in range(steps):
        _, dlogits = softmax_cross_entropy(features @ W + b, labels)
        W = W - lr * features.T @ dlogits
        b = b - lr * dlogits.sum(axis=0)
    return W, b


def probe_accuracy(W: np.ndarray, b: np.ndarray, features: np.ndarray, labels: np.ndarray) -> float:
    """The fraction of rows whose largest logit ``features @ W + b`` is at their label."""
    return float(np.mean(np.argmax(features @ W + b, axis=1) == labels))
