"""PyTorch as the reference: float64, one device, layouts converted explicitly."""

import numpy as np
import pytest
import torch

from autograder import linear_from_numpy, linear_to_numpy, reference_device, to_numpy, to_torch
from autograder.reference.mlp import dense_forward


def test_tensors_are_float64_on_the_reference_device():
    tensor = to_torch(np.arange(3, dtype=np.float32))
    assert tensor.dtype == torch.float64
    assert tensor.device.type == reference_device().type
    assert to_numpy(tensor * 2).dtype == np.float64


def test_device_is_announced_once(capsys):
    import autograder.torch_ref as torch_ref

    torch_ref._announced = False
    reference_device()
    reference_device()
    out = capsys.readouterr().out
    assert out.count("PyTorch reference:") == 1 and "float64" in out


def test_device_can_be_forced_to_cpu(monkeypatch):
    import autograder.torch_ref as torch_ref

    torch_ref._pick_device.cache_clear()
    monkeypatch.setenv("BACKPROP_LAB_DEVICE", "cpu")
    try:
        assert torch_ref._pick_device().type == "cpu"
        monkeypatch.setenv("BACKPROP_LAB_DEVICE", "tpu")
        torch_ref._pick_device.cache_clear()
        with pytest.raises(ValueError, match="cpu' or 'cuda"):
            torch_ref._pick_device()
    finally:
        torch_ref._pick_device.cache_clear()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_tf32_is_off_on_cuda():
    reference_device()
    assert not torch.backends.cuda.matmul.allow_tf32
    assert not torch.backends.cudnn.allow_tf32


def test_linear_layout_is_transposed_explicitly():
    rng = np.random.default_rng(0)
    X, W, b = rng.normal(size=(5, 4)), rng.normal(size=(4, 3)), rng.normal(size=3)
    layer = linear_from_numpy(W, b)
    assert tuple(layer.weight.shape) == (3, 4), "torch.nn.Linear.weight is (out, in)"
    np.testing.assert_allclose(to_numpy(layer(to_torch(X))), dense_forward(X, W, b), rtol=1e-12)
    W_back, b_back = linear_to_numpy(layer)
    np.testing.assert_array_equal(W_back, W)
    np.testing.assert_array_equal(b_back, b)


def test_linear_from_numpy_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match=r"W \(in, out\) and b \(out,\)"):
        linear_from_numpy(np.zeros((4, 3)), np.zeros(4))
