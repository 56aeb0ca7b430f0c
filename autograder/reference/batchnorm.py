"""Batch normalization over the batch axis, as ``torch.nn.BatchNorm1d`` (chapter 4).

Training mode normalizes with the batch's mean and (biased) variance and returns
running statistics updated with the *unbiased* variance:

    running_mean <- (1 - momentum) running_mean + momentum * mean
    running_var  <- (1 - momentum) running_var  + momentum * var * N / (N - 1)

Evaluation mode normalizes with the running statistics and returns them unchanged.
Unlike CS231n's ``bn_param``, the running statistics are never written in place:
they come in as ``running`` and go out as ``new_running``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["batchnorm_forward", "batchnorm_backward"]


def batchnorm_forward(
    x: np.ndarray,
    gamma: np.ndarray,
    beta: np.ndarray,
    running: tuple[np.ndarray, np.ndarray],
    train: bool,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> tuple[np.ndarray, Any, tuple[np.ndarray, np.ndarray]]:
    """out = gamma * (x - mean) / sqrt(var + eps) + beta, feature by feature.

    x: (N, D), gamma: (D,), beta: (D,), running: (running_mean (D,), running_var (D,)).
    Returns (out (N, D), cache, new_running = (mean (D,), var (D,)), new arrays), where
    cache = (x_hat (N, D), gamma (D,), inv_std (D,) = 1 / sqrt(var + eps), train).
    """
    running_mean, running_var = running
    if train:
        n = x.shape[0]
        if n < 2:
            raise ValueError("Batch normalization in training mode needs at least 2 rows per batch.")
        mean = x.mean(axis=0)
        var = x.var(axis=0)  # biased (divides by N): what normalizes the batch
        new_running = (
            (1 - momentum) * running_mean + momentum * mean,
            (1 - momentum) * running_var + momentum * var * n / (n - 1),
        )
    else:
        mean, var = running_mean, running_var
        new_running = (np.array(running_mean, dtype=np.float64), np.array(running_var, dtype=np.float64))
    inv_std = 1.0 / np.sqrt(var + eps)
    x_hat = (x - mean) * inv_std
    out = gamma * x_hat + beta
    return out, (x_hat, gamma, inv_std, train), new_running


def batchnorm_backward(dout: np.ndarray, cache: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of ``batchnorm_forward``.

    dout: (N, D).  Returns (dx (N, D), dgamma (D,), dbeta (D,)).
    Training mode: mean and var depend on x, so
        dx = inv_std / N * (N dx_hat - sum(dx_hat) - x_hat * sum(dx_hat * x_hat)),
    with dx_hat = dout * gamma and sums over the batch. Evaluation mode: the running
    statistics are constants, so dx = dout * gamma * inv_std.
    """
    x_hat, gamma, inv_std, train = cache
    dbeta = dout.sum(axis=0)
    dgamma = (dout * x_hat).sum(axis=0)
    dx_hat = dout * gamma
    if not train:
        return dx_hat * inv_std, dgamma, dbeta
    n = dout.shape[0]
    dx = inv_std / n * (n * dx_hat - dx_hat.sum(axis=0) - x_hat * (dx_hat * x_hat).sum(axis=0))
    return dx, dgamma, dbeta
