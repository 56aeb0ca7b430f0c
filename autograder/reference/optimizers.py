"""Gradient-descent optimizers over a dict of parameters (chapter 4).

    params = {"W1": W1, "b1": b1, ...}          # name -> float64 ndarray
    optimizer = Adam(params, lr=1e-3)
    for ...:
        loss, grads = model(params)             # grads keyed like params
        optimizer.step(grads)                   # updates params' arrays IN PLACE

``step`` is the one place in the course where arrays are updated in place, and on
purpose: the optimizer owns a reference to the caller's ``params`` dict, and the
caller's model reads the same arrays, as ``torch.optim`` updates ``tensor.data``.
Each optimizer follows its ``torch.optim`` namesake (default settings otherwise:
no weight decay, no Nesterov, no dampening, not centered, no AMSGrad) step for step.
``clip_grad_norm`` returns a new dict instead, like every other function here.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

__all__ = ["Optimizer", "SGD", "Adagrad", "RMSprop", "Adam", "clip_grad_norm"]


class Optimizer:
    """Holds ``params`` (name -> ndarray) and per-parameter state; subclasses define ``_update``."""

    def __init__(self, params: dict[str, np.ndarray], lr: float) -> None:
        if lr < 0:
            raise ValueError(f"The learning rate must be non-negative, got {lr}.")
        self.params = params
        self.lr = lr

    def _zeros(self) -> dict[str, np.ndarray]:
        return {name: np.zeros_like(value, dtype=np.float64) for name, value in self.params.items()}

    def step(self, grads: Mapping[str, np.ndarray]) -> None:
        """Update every array of ``params`` in place from ``grads`` (same keys, same shapes)."""
        if set(grads) != set(self.params):
            raise KeyError(
                f"grads must have the keys of params: params has {sorted(self.params)}, "
                f"grads has {sorted(grads)}."
            )
        self._begin_step()
        for name, param in self.params.items():
            grad = np.asarray(grads[name], dtype=np.float64)
            if grad.shape != param.shape:
                raise ValueError(f"grads['{name}'] has shape {grad.shape}, params['{name}'] {param.shape}.")
            param -= self._update(name, grad)  # in place: the caller's array changes

    def _begin_step(self) -> None:
        """Per-step bookkeeping (Adam counts steps)."""

    def _update(self, name: str, grad: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class SGD(Optimizer):
    """Stochastic gradient descent, with PyTorch's heavy-ball momentum.

    v <- momentum * v + g;  p <- p - lr * v      (v starts at 0, so the first v is g)
    With momentum 0 this is p <- p - lr * g. Not the "dampened" form v <- mu v + (1 - mu) g.
    """

    def __init__(self, params: dict[str, np.ndarray], lr: float, momentum: float = 0.0) -> None:
        super().__init__(params, lr)
        self.momentum = momentum
        self.velocity = self._zeros()

    def _update(self, name: str, grad: np.ndarray) -> np.ndarray:
        if self.momentum == 0.0:
            return self.lr * grad
        self.velocity[name] = self.momentum * self.velocity[name] + grad
        return self.lr * self.velocity[name]


class Adagrad(Optimizer):
    """Adagrad: each coordinate's step shrinks with its accumulated squared gradients.

    s <- s + g**2;  p <- p - lr * g / (sqrt(s) + eps)
    """

    def __init__(self, params: dict[str, np.ndarray], lr: float, eps: float = 1e-10) -> None:
        super().__init__(params, lr)
        self.eps = eps
        self.sum_sq = self._zeros()

    def _update(self, name: str, grad: np.ndarray) -> np.ndarray:
        self.sum_sq[name] = self.sum_sq[name] + grad**2
        return self.lr * grad / (np.sqrt(self.sum_sq[name]) + self.eps)


class RMSprop(Optimizer):
    """RMSprop: Adagrad with a leaky (exponential moving) average of squared gradients.

    a <- alpha * a + (1 - alpha) * g**2;  p <- p - lr * g / (sqrt(a) + eps)
    """

    def __init__(self, params: dict[str, np.ndarray], lr: float, alpha: float = 0.99,
                 eps: float = 1e-8) -> None:
        super().__init__(params, lr)
        self.alpha = alpha
        self.eps = eps
        self.square_avg = self._zeros()

    def _update(self, name: str, grad: np.ndarray) -> np.ndarray:
        self.square_avg[name] = self.alpha * self.square_avg[name] + (1 - self.alpha) * grad**2
        return self.lr * grad / (np.sqrt(self.square_avg[name]) + self.eps)


class Adam(Optimizer):
    """Adam: momentum on g and an RMSprop scale, both bias-corrected.

    t <- t + 1;  m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g**2
    m_hat = m / (1 - b1**t);  v_hat = v / (1 - b2**t)
    p <- p - lr * m_hat / (sqrt(v_hat) + eps)
    """

    def __init__(self, params: dict[str, np.ndarray], lr: float,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8) -> None:
        super().__init__(params, lr)
        self.beta1, self.beta2 = betas
        self.eps = eps
        self.m = self._zeros()
        self.v = self._zeros()
        self.t = 0

    def _begin_step(self) -> None:
        self.t += 1

    def _update(self, name: str, grad: np.ndarray) -> np.ndarray:
        self.m[name] = self.beta1 * self.m[name] + (1 - self.beta1) * grad
        self.v[name] = self.beta2 * self.v[name] + (1 - self.beta2) * grad**2
        m_hat = self.m[name] / (1 - self.beta1**self.t)
        v_hat = self.v[name] / (1 - self.beta2**self.t)
        return self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


def clip_grad_norm(grads: Mapping[str, np.ndarray],
                   max_norm: float) -> tuple[dict[str, np.ndarray], float]:
    """Scale all gradients together so that their global L2 norm is at most ``max_norm``.

    total_norm = sqrt(sum over every array of sum(g**2))
    coefficient = min(1, max_norm / (total_norm + 1e-6))   (torch.nn.utils.clip_grad_norm_)
    Returns (a new dict name -> coefficient * g, total_norm before clipping as a float).
    """
    total_norm = float(np.sqrt(sum(np.sum(np.asarray(g, dtype=np.float64) ** 2) for g in grads.values())))
    coefficient = min(1.0, max_norm / (total_norm + 1e-6))
    return {name: g * coefficient for name, g in grads.items()}, total_norm
