"""Learning-rate schedules and log-uniform random search (chapter 5, §5.2).

Each schedule gives the learning rate of step ``step`` (0, 1, ...) as a float and matches
its ``torch.optim.lr_scheduler`` counterpart read after ``step`` scheduler steps:

- ``step_decay_lr``: ``StepLR(step_size, gamma)``;
- ``warmup_cosine_lr``: ``LinearLR(start_factor=1 / warmup_steps, total_iters=warmup_steps - 1)``
  then, from step ``warmup_steps``, ``CosineAnnealingLR(T_max=total_steps - warmup_steps,
  eta_min=min_lr)`` (``SequentialLR`` with ``milestones=[warmup_steps]``); with no warm-up,
  ``CosineAnnealingLR(T_max=total_steps, eta_min=min_lr)`` alone.

``random_search`` draws every hyper-parameter log-uniformly from a seeded generator.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

__all__ = ["step_decay_lr", "warmup_cosine_lr", "log_uniform", "random_search"]


def step_decay_lr(step: int, base_lr: float, step_size: int, gamma: float = 0.1) -> float:
    """base_lr * gamma ** (step // step_size): the rate drops by ``gamma`` every ``step_size`` steps."""
    return float(base_lr * gamma ** (step // step_size))


def warmup_cosine_lr(step: int, base_lr: float, total_steps: int, warmup_steps: int = 0,
                     min_lr: float = 0.0) -> float:
    """Linear warm-up to ``base_lr`` over ``warmup_steps`` steps, then a cosine down to ``min_lr``.

    Warm-up (step < warmup_steps): base_lr * (step + 1) / warmup_steps. Then, with
    t = step - warmup_steps and T = total_steps - warmup_steps:
    min_lr + (base_lr - min_lr) * (1 + cos(pi * t / T)) / 2.
    """
    if step < warmup_steps:
        return float(base_lr * (step + 1) / warmup_steps)
    t, period = step - warmup_steps, total_steps - warmup_steps
    return float(min_lr + (base_lr - min_lr) * (1.0 + math.cos(math.pi * t / period)) / 2.0)


def log_uniform(low: float, high: float, rng: np.random.Generator) -> float:
    """One draw whose logarithm is uniform on [log low, log high): exp(rng.uniform(log low, log high))."""
    return float(math.exp(rng.uniform(math.log(low), math.log(high))))


def random_search(
    objective: Callable[..., float], space: Mapping[str, tuple[float, float]], n_trials: int,
    rng: np.random.Generator,
) -> tuple[dict[str, float], list[tuple[dict, float]]]:
    """Minimize ``objective(**config)`` over ``n_trials`` log-uniform random configurations.

    space: name -> (low, high). Trial by trial, each name in ``space``'s order gets one
    ``log_uniform(low, high, rng)`` draw. Returns (best_config, trials): trials lists
    (config, score) in the order run; best_config has the lowest score (the first on a tie).
    """
    trials: list[tuple[dict[str, Any], float]] = []
    for _ in range(n_trials):
        config = {name: log_uniform(low, high, rng) for name, (low, high) in space.items()}
        trials.append((config, float(objective(**config))))
    best = min(range(len(trials)), key=lambda index: trials[index][1])
    return dict(trials[best][0]), trials
