"""autograder.reference.transfer (chapter 6, §6.2) against PyTorch: freezing and linear probes."""

import numpy as np
import pytest
import torch

from autograder import linear_from_numpy, reference_device, to_numpy, to_torch
from autograder.reference.sequential import Dense, Sequential, torch_mirror
from autograder.reference.transfer import linear_probe, probe_accuracy, transfer_layers
from autograder.tolerances import TORCH_ATOL, TORCH_RTOL

pytestmark = pytest.mark.chapter(6)


@pytest.mark.exercise("transfer_layers")
@pytest.mark.parametrize("freeze", [True, False])
def test_transfer_layers_train_like_requires_grad(freeze):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(16, 4)), rng.integers(0, 2, size=16)
    pretrained = Sequential([Dense(5, activation="relu"), Dense(3, activation="softmax")],
                            rng=np.random.default_rng(1))
    pretrained.build(4)
    before = pretrained.layers[0].params["W"].copy()
    model = Sequential(transfer_layers(pretrained.layers, Dense(2, activation="softmax"), freeze),
                       rng=np.random.default_rng(2))
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    model.build(4)
    mirror = torch_mirror(model)
    mirror[0].weight.requires_grad_(not freeze)
    mirror[0].bias.requires_grad_(not freeze)
    optimizer = torch.optim.SGD([p for p in mirror.parameters() if p.requires_grad], lr=1e-2)
    for _ in range(3):
        model.train_on_batch(x, y)
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(mirror(to_torch(x)),
                                          torch.as_tensor(y, device=reference_device())).backward()
        optimizer.step()
    for index, module in [(0, 0), (1, 2)]:
        np.testing.assert_allclose(model.layers[index].params["W"], to_numpy(mirror[module].weight).T,
                                   rtol=TORCH_RTOL, atol=TORCH_ATOL)
    np.testing.assert_array_equal(pretrained.layers[0].params["W"], before)
    assert pretrained.layers[0].trainable


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
