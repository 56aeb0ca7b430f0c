"""Reusing what a network learned (chapter 6, §6.2): transfer and linear probes.

- ``transfer_layers``: copies of a pretrained model's layers, its head left out, frozen or
  not, with a new head on top: the layers of a new ``Sequential``;
- ``linear_probe``: a softmax classifier trained on fixed features by full-batch gradient
  descent from zero weights (what ``torch.nn.Linear`` with zeroed parameters and
  ``torch.optim.SGD`` compute on the same features).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import numpy as np

from .layers import softmax_cross_entropy

__all__ = ["transfer_layers", "linear_probe", "probe_accuracy"]


def transfer_layers(pretrained_layers: Sequence[Any], head: Any, freeze: bool = True) -> list[Any]:
    """Deep copies of every pretrained layer but the last, ``trainable = not freeze``, then ``head``.

    The pretrained layers are never modified (their model keeps working as it was).
    """
    body = [copy.deepcopy(layer) for layer in pretrained_layers[:-1]]
    for layer in body:
        layer.trainable = not freeze
    return [*body, head]


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
