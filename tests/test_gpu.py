"""`make test-gpu`: the PyTorch references really run on CUDA, in float64, with TF32 off.

Skipped unless BACKPROP_LAB_DEVICE=cuda (which `make test-gpu` sets; with it, a machine
without CUDA fails loudly in reference_device() rather than silently using the CPU).
"""

import os

import numpy as np
import pytest
import torch

from autograder import reference_device, to_numpy, to_torch

pytestmark = pytest.mark.skipif(os.environ.get("BACKPROP_LAB_DEVICE") != "cuda",
                                reason="run by make test-gpu (BACKPROP_LAB_DEVICE=cuda)")


def test_the_reference_device_is_cuda_with_tf32_off():
    device = reference_device()
    print(f"reference device: {device} ({torch.cuda.get_device_name(device)})")
    assert device.type == "cuda"
    assert not torch.backends.cuda.matmul.allow_tf32
    assert not torch.backends.cudnn.allow_tf32


def test_tensors_are_float64_on_cuda_and_a_matmul_agrees_with_numpy_to_float64_precision():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(256, 512)), rng.normal(size=(512, 128))
    ta, tb = to_torch(a), to_torch(b)
    assert ta.device.type == "cuda" and ta.dtype == torch.float64
    # TF32 would give ~1e-3 relative error here; float64 gives ~1e-15.
    np.testing.assert_allclose(to_numpy(ta @ tb), a @ b, rtol=1e-10, atol=1e-10)
