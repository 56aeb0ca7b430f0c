"""autograder.reference.transfer (chapter 6, §6.2) against PyTorch: freezing and linear probes."""

import numpy as np
import pytest
import torch

from autograder import linear_from_numpy, reference_device, to_numpy, to_torch
from autograder.reference.transfer import linear_probe, probe_accuracy
from autograder.tolerances import TORCH_ATOL, TORCH_RTOL

pytestmark = pytest.mark.chapter(6)


@pytest.mark.exercise("linear_probe")
def test_linear_probe_is_zero_initialized_sgd():
    rng = np.random.default_rng(3)
    features, labels = rng.normal(size=(25, 6)), rng.integers(0, 4, size=25)
    W, b = linear_probe(features, labels, 4, steps=15, lr=0.3)
    probe = linear_from_numpy(np.zeros((6, 4)), np.zeros(4))
    optimizer = torch.optim.SGD(probe.parameters(), lr=0.3)
    for _ in range(15):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(probe(to_torch(features)),
                                          torch.as_tensor(labels, device=reference_device())).backward()
        optimizer.step()
    np.testing.assert_allclose(W, to_numpy(probe.weight).T, rtol=TORCH_RTOL, atol=TORCH_ATOL)
    np.testing.assert_allclose(b, to_numpy(probe.bias), rtol=TORCH_RTOL, atol=TORCH_ATOL)
    assert probe_accuracy(W, b, features, labels) > 0.5
