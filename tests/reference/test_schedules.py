"""autograder.reference.schedules (chapter 5, §5.2) against torch.optim.lr_scheduler."""

import math

import numpy as np
import pytest
import torch

from autograder.reference.schedules import log_uniform, random_search, step_decay_lr, warmup_cosine_lr

pytestmark = pytest.mark.chapter(5)
LR = torch.optim.lr_scheduler


def torch_lrs(make_scheduler, steps: int, base_lr: float) -> np.ndarray:
    parameter = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    optimizer = torch.optim.SGD([parameter], lr=base_lr)
    scheduler = make_scheduler(optimizer)
    lrs = []
    for _ in range(steps):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return np.array(lrs)


@pytest.mark.exercise("step_decay_lr")
def test_step_decay_is_steplr():
    expected = torch_lrs(lambda o: LR.StepLR(o, step_size=7, gamma=0.5), 30, 0.1)
    np.testing.assert_allclose([step_decay_lr(t, 0.1, 7, 0.5) for t in range(30)], expected, rtol=1e-12)


@pytest.mark.exercise("warmup_cosine_lr")
@pytest.mark.parametrize("warmup", [0, 1, 5])
def test_warmup_cosine_is_linear_then_cosine_annealing(warmup):
    total, base, low = 25, 0.1, 1e-3
    if warmup:
        expected = torch_lrs(lambda o: LR.SequentialLR(o, [
            LR.LinearLR(o, start_factor=1 / warmup, total_iters=warmup - 1),
            LR.CosineAnnealingLR(o, T_max=total - warmup, eta_min=low)], milestones=[warmup]),
            total + 1, base)
    else:
        expected = torch_lrs(lambda o: LR.CosineAnnealingLR(o, T_max=total, eta_min=low),
                             total + 1, base)
    ours = [warmup_cosine_lr(t, base, total, warmup, low) for t in range(total + 1)]
    np.testing.assert_allclose(ours, expected, rtol=1e-10, atol=1e-15)


@pytest.mark.exercise("random_search")
def test_log_uniform_is_uniform_in_log_space():
    rng = np.random.default_rng(0)
    draws = np.array([log_uniform(1e-4, 1e-1, rng) for _ in range(20000)])
    assert draws.min() >= 1e-4 and draws.max() < 1e-1
    per_decade = np.histogram(np.log10(draws), bins=[-4, -3, -2, -1])[0] / len(draws)
    np.testing.assert_allclose(per_decade, [1 / 3] * 3, atol=0.02)


@pytest.mark.exercise("random_search")
def test_random_search_draws_in_order_and_keeps_the_best():
    space = {"lr": (1e-4, 1.0), "lam": (1e-6, 1e-2)}
    best, trials = random_search(lambda lr, lam: (math.log10(lr) + 2) ** 2 + lam, space, 30,
                                 np.random.default_rng(1))
    replay = np.random.default_rng(1)
    for config, _ in trials:
        assert config["lr"] == log_uniform(1e-4, 1.0, replay)
        assert config["lam"] == log_uniform(1e-6, 1e-2, replay)
    assert best == min(trials, key=lambda trial: trial[1])[0]
