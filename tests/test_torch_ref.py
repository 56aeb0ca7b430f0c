"""PyTorch as the reference: float64, one device, layouts converted explicitly."""

import numpy as np
import pytest
import torch

from autograder import (
    count_flops,
    labels,
    linear_from_numpy,
    linear_to_numpy,
    reference_device,
    to_numpy,
    to_torch,
    value_and_grad,
)
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


def test_the_device_line_is_in_the_notebooks_language(capsys):
    import autograder.torch_ref as torch_ref
    from autograder.i18n import language

    torch_ref._announced = False
    with language("zh_CN"):
        reference_device()
    out = capsys.readouterr().out
    assert out.startswith("PyTorch 参考：") and "TF32 关闭" in out, out


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


def test_value_and_grad_against_hand_computed_values():
    x = np.array([1.0, -2.0, 3.0])
    W = np.array([[1.0, 2.0], [0.0, -1.0], [0.5, 0.0]])
    # f = sum((x @ W)**2); x @ W = [2.5, 4.0]; df/dx = W @ (2 x W); df/dW = outer(x, 2 x W)
    value, (grad_x, grad_W) = value_and_grad(lambda x, W: ((x @ W) ** 2).sum(), x, W)
    assert value == 2.5**2 + 4.0**2 and isinstance(value, float)
    np.testing.assert_array_equal(grad_x, W @ np.array([5.0, 8.0]))
    np.testing.assert_array_equal(grad_W, np.outer(x, [5.0, 8.0]))
    assert grad_x.dtype == grad_W.dtype == np.float64 and type(grad_x) is np.ndarray
    np.testing.assert_array_equal(x, [1.0, -2.0, 3.0])  # the inputs are copied, not changed


def test_value_and_grad_of_an_unused_input_is_zero_and_f_must_be_scalar():
    _, (grad_a, grad_b) = value_and_grad(lambda a, b: (a * 3).sum(), np.ones(2), np.ones((2, 2)))
    np.testing.assert_array_equal(grad_a, [3.0, 3.0])
    np.testing.assert_array_equal(grad_b, np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"one-element tensor \(a loss\), got \(2,\)"):
        value_and_grad(lambda a: a * 2, np.ones(2))


def test_value_and_grad_with_an_upstream_gradient_is_a_layers_backward():
    x, W, b = np.array([[1.0, 2.0]]), np.array([[1.0, 0.0, -1.0], [2.0, 1.0, 0.5]]), np.zeros(3)
    dout = np.array([[1.0, -1.0, 2.0]])
    value, (dx, dW, db) = value_and_grad(lambda x, W, b: x @ W + b, x, W, b, upstream=dout)
    # out = [5, 2, 0]; value = sum(out * dout) = 5 - 2 + 0; dx = dout @ W.T; dW = x.T @ dout
    assert value == 3.0
    np.testing.assert_array_equal(dx, [[1.0 - 0.0 - 2.0, 2.0 - 1.0 + 1.0]])
    np.testing.assert_array_equal(dW, [[1.0, -1.0, 2.0], [2.0, -2.0, 4.0]])
    np.testing.assert_array_equal(db, [1.0, -1.0, 2.0])
    with pytest.raises(ValueError, match="upstream has shape"):
        value_and_grad(lambda x: x * 2, np.ones(3), upstream=np.ones(2))


def test_labels_are_long_on_the_reference_device():
    import torch.nn.functional as F

    y = labels(np.array([0, 2, 1]))
    assert y.dtype == torch.long and y.device.type == reference_device().type
    assert labels([1.0, 0.0]).tolist() == [1, 0]  # whole floats are fine
    with pytest.raises(ValueError, match="integer class labels"):
        labels(np.array([0.5]))
    # cross-entropy of uniform logits over 4 classes is log 4, and its gradient (p - onehot) / N
    value, (grad,) = value_and_grad(lambda z: F.cross_entropy(z, labels([3, 0])), np.zeros((2, 4)))
    assert value == pytest.approx(np.log(4), rel=1e-15)
    np.testing.assert_allclose(grad, (0.25 - np.eye(4)[[3, 0]]) / 2, rtol=1e-15)


def test_count_flops_against_hand_counts():
    layer = linear_from_numpy(np.zeros((64, 32)), np.zeros(32))
    # a (16, 64) @ (64, 32) product: 2 * 16 * 64 * 32 FLOPs; the bias and ReLU are not counted
    assert count_flops(layer, np.zeros((16, 64))) == 2 * 16 * 64 * 32
    x = torch.empty(512, 4096, device="meta")
    meta = torch.nn.Linear(4096, 1000, device="meta")
    assert count_flops(meta, x) == 2 * 512 * 4096 * 1000
    # forward and backward of X @ W with respect to W only: 2 NDM + 2 NDM
    W = to_torch(np.ones((8, 3)), requires_grad=True)
    assert count_flops(lambda X: (X @ W).sum().backward(), np.ones((5, 8))) == 4 * 5 * 8 * 3
    assert isinstance(count_flops(lambda: None), int)
