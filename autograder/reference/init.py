"""Weight initialization that keeps signals alive through depth (chapter 4).

Shapes are this course's (in, out) = (fan_in, fan_out); ``torch.nn.Linear.weight`` is
(out, in), and PyTorch reads its fan_in from the second axis, so the fans agree.
"""

from __future__ import annotations

import numpy as np

__all__ = ["xavier_uniform", "he_normal"]


def xavier_uniform(fan_in: int, fan_out: int, rng: np.random.Generator) -> np.ndarray:
    """Glorot/Xavier uniform: U(-a, a) with a = sqrt(6 / (fan_in + fan_out)).

    Variance a**2 / 3 = 2 / (fan_in + fan_out), as ``torch.nn.init.xavier_uniform_`` (gain 1).
    Returns (fan_in, fan_out).
    """
    bound = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-bound, bound, size=(fan_in, fan_out))


def he_normal(fan_in: int, fan_out: int, rng: np.random.Generator) -> np.ndarray:
    """He/Kaiming normal for ReLU: N(0, std**2) with std = sqrt(2 / fan_in).

    As ``torch.nn.init.kaiming_normal_`` (mode='fan_in', nonlinearity='relu').
    Returns (fan_in, fan_out).
    """
    std = np.sqrt(2.0 / fan_in)
    return rng.normal(0.0, std, size=(fan_in, fan_out))
