"""Dense layers and the forward pass of a multi-layer perceptron (chapter 1).

Weights are stored (in, out), so a layer is ``X @ W + b``; ``torch.nn.Linear``
stores ``weight`` as (out, in) (see ``autograder.torch_ref.linear_from_numpy``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np


def dense_forward(X: np.ndarray, W: np.ndarray, b: np.ndarray) -> np.ndarray:
    """X: (N, D), W: (D, M), b: (M,) -> (N, M)."""
    return X @ W + b


def mlp_forward(X: np.ndarray, params: Sequence[tuple[np.ndarray, np.ndarray]],
                activation: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """Hidden layers apply ``activation``; the last layer is linear (logits).

    X: (N, D); params: [(W1 (D, H1), b1 (H1,)), ..., (WL (H_{L-1}, C), bL (C,))] -> (N, C).
    """
    out = X
    for index, (W, b) in enumerate(params):
        out = dense_forward(out, W, b)
        if index < len(params) - 1:
            out = activation(out)
    return out


def count_parameters(layer_sizes: Sequence[int]) -> int:
    """Weights and biases of a dense network: [30, 64, 32, 1] -> 4097."""
    return int(sum(n_in * n_out + n_out for n_in, n_out in zip(layer_sizes, layer_sizes[1:])))
