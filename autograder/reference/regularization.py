"""Fighting over-fitting (chapter 5): an L2 penalty, inverted dropout, early stopping.

Parameters are a dict of arrays (``W1 b1 W2 b2 ...``); nothing here writes into
the caller's arrays. Randomness comes in as ``rng``.

- ``l2_penalty``: ``0.5 * lam * sum(W**2)`` over the weights (keys starting with
  ``W``); its gradient ``lam * W`` is what ``torch.optim``'s ``weight_decay=lam``
  adds to a weight's gradient;
- ``dropout_forward`` / ``dropout_backward``: inverted dropout, ``p`` the drop
  probability as in ``torch.nn.Dropout``; evaluation mode is the identity;
- ``EarlyStopping``: stop after ``patience`` epochs without improvement, keep a
  copy of the best parameters.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["l2_penalty", "dropout_forward", "dropout_backward", "EarlyStopping"]


def l2_penalty(params: Mapping[str, np.ndarray], lam: float) -> tuple[float, dict[str, np.ndarray]]:
    """Weight decay: ``0.5 * lam * sum(W**2)`` over weight matrices, biases excluded.

    params: name -> array; the weights are the keys starting with ``"W"``.
    lam: the strength, >= 0.
    Returns ``(penalty, grads)``: ``penalty`` a float; ``grads`` keyed like
    ``params``, ``lam * W`` for a weight and zeros (the bias's shape) for the rest.
    """
    penalty = 0.0
    grads = {}
    for name, value in params.items():
        if name.startswith("W"):
            penalty += 0.5 * lam * float(np.sum(value * value))
            grads[name] = lam * value
        else:
            grads[name] = np.zeros_like(value, dtype=np.float64)
    return penalty, grads


def dropout_forward(x: np.ndarray, p: float, rng: np.random.Generator,
                    train: bool) -> tuple[np.ndarray, np.ndarray]:
    """Inverted dropout: zero each entry with probability ``p``, scale the rest by ``1/(1-p)``.

    x: any shape.  p: the drop probability in [0, 1] (``torch.nn.Dropout``'s p).
    train: True drops (and draws ``x.shape`` uniforms from ``rng``); False is the
    identity (evaluation mode), and draws nothing.
    Returns ``(out, cache)``: out has x's shape; cache is the mask that multiplied
    x (x's shape: 0 or ``1/(1-p)`` in training, ones in evaluation), so that the
    expected value of ``out`` is ``x`` in both modes.
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability p must lie in [0, 1], got {p}.")
    x = np.asarray(x, dtype=np.float64)
    if not train or p == 0.0:
        mask = np.ones_like(x)
    elif p == 1.0:  # everything dropped; no 1/0 (PyTorch returns zeros too)
        mask = np.zeros_like(x)
    else:
        keep = rng.random(x.shape) >= p
        mask = keep / (1.0 - p)
    return x * mask, mask


def dropout_backward(dout: np.ndarray, cache: np.ndarray) -> np.ndarray:
    """Gradient of dropout: the upstream gradient through the same mask.

    dout: (shape of x); cache: the mask from ``dropout_forward``.  Returns dx, x's shape.
    """
    return dout * cache


class EarlyStopping:
    """Stop training once the validation loss has stopped improving; remember the best parameters.

    An epoch improves when ``val_loss < best_loss - min_delta``. ``step`` returns
    True once ``patience`` epochs in a row have not improved.

        stopper = EarlyStopping(patience=5)
        for epoch in range(max_epochs):
            ...train one epoch...
            if stopper.step(val_loss, params):
                break
        params = stopper.best_params
    """

    def __init__(self, patience: int, min_delta: float = 0.0) -> None:
        if patience < 1:
            raise ValueError(f"patience must be at least 1, got {patience}.")
        self.patience = patience
        self.min_delta = min_delta
        self.best_loss = math.inf
        self.best_params: Any = None
        self.bad_steps = 0  # epochs in a row without improvement

    def step(self, val_loss: float, params: Mapping[str, Any]) -> bool:
        """Record one epoch's validation loss; return whether to stop.

        params: the current parameters. On an improvement they are deep-copied
        into ``best_params`` (an optimizer updates arrays in place, so a
        reference would follow later, worse values).
        """
        if val_loss < self.best_loss - self.min_delta:  # NaN never improves
            self.best_loss = float(val_loss)
            self.best_params = copy.deepcopy(params)
            self.bad_steps = 0
        else:
            self.bad_steps += 1
        return self.bad_steps >= self.patience
