"""autograder.reference.init against torch.nn.init's distributions (chapter 4, §4.3)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from autograder.reference.init import he_normal, xavier_uniform

pytestmark = pytest.mark.chapter(4)


@pytest.mark.exercise("xavier_uniform")
def test_xavier_uniform_distribution():
    fan_in, fan_out = 300, 200
    W = xavier_uniform(fan_in, fan_out, np.random.default_rng(7))
    assert W.shape == (fan_in, fan_out)
    t = torch.empty(fan_out, fan_in, dtype=torch.float64)  # torch layout (out, in)
    torch.nn.init.xavier_uniform_(t, generator=torch.Generator().manual_seed(7))
    bound = np.sqrt(6 / (fan_in + fan_out))
    for sample in (W, t.numpy()):
        assert np.abs(sample).max() <= bound
        assert np.abs(sample).max() > 0.99 * bound  # 60,000 draws reach the edge
        # std of a uniform sample of 60,000: standard error about 0.3% of the std
        assert abs(sample.std() / (bound / np.sqrt(3)) - 1) < 0.015
        assert abs(sample.mean()) < 5 * bound / np.sqrt(3) / np.sqrt(sample.size)


@pytest.mark.exercise("he_normal")
def test_he_normal_distribution():
    fan_in, fan_out = 250, 400
    W = he_normal(fan_in, fan_out, np.random.default_rng(8))
    assert W.shape == (fan_in, fan_out)
    t = torch.empty(fan_out, fan_in, dtype=torch.float64)
    torch.nn.init.kaiming_normal_(t, mode="fan_in", nonlinearity="relu",
                                  generator=torch.Generator().manual_seed(8))
    std = np.sqrt(2 / fan_in)
    for sample in (W, t.numpy()):
        # 100,000 normal draws: the sample std is within 0.3% (1 s.e.) of the true one
        assert abs(sample.std() / std - 1) < 0.015
        assert abs(sample.mean()) < 5 * std / np.sqrt(sample.size)
        assert 0.95 < np.mean(np.abs(sample) < 2 * std) / 0.9545 < 1.05


@pytest.mark.exercise("he_normal")
def test_init_uses_the_given_generator():
    a = he_normal(5, 3, np.random.default_rng(9))
    b = he_normal(5, 3, np.random.default_rng(9))
    assert np.array_equal(a, b), "the same seed must give the same weights"
