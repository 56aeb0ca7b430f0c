"""PyTorch as the reference: one device, float64, TF32 off, explicit layouts.

Every comparison with PyTorch in the course goes through here, so that there is
one answer to "which device, which precision, which weight layout":

- the device is CUDA when a GPU is present, else the CPU (``reference_device``
  says which, once);
- tensors are float64 (``to_torch``); TF32 matrix products are turned off on CUDA,
  since TF32 keeps only 10 mantissa bits and would hide real bugs;
- this course stores a dense layer's weights as ``W: (in, out)`` so that
  ``X @ W`` reads left to right; ``torch.nn.Linear.weight`` is ``(out, in)``.
  ``linear_from_numpy`` and ``linear_to_numpy`` transpose, explicitly.

PyTorch is imported on first use, so ``import autograder`` stays fast.
"""

from __future__ import annotations

import functools
import os
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = [
    "reference_device",
    "to_torch",
    "to_numpy",
    "linear_from_numpy",
    "linear_to_numpy",
]


def reference_device() -> torch.device:
    """The device PyTorch references run on: CUDA if available (TF32 off), else CPU.

    Says which on its first call. Set ``BACKPROP_LAB_DEVICE=cpu`` to force the CPU.
    """
    device, name, first_call = _pick_device(), _device_name(), not _announced
    if first_call:
        _announce(device, name)
    return device


_announced = False


def _announce(device: torch.device, name: str) -> None:
    global _announced
    _announced = True
    print(f"PyTorch reference: {device.type} ({name}), float64, TF32 off.")


@functools.cache
def _device_name() -> str:
    import torch

    device = _pick_device()
    return torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"


@functools.cache
def _pick_device() -> torch.device:
    import torch

    wanted = os.environ.get("BACKPROP_LAB_DEVICE", "").strip().lower()
    if wanted not in ("", "cpu", "cuda"):
        raise ValueError(f"BACKPROP_LAB_DEVICE must be 'cpu' or 'cuda', got {wanted!r}.")
    use_cuda = torch.cuda.is_available() and wanted != "cpu"
    if wanted == "cuda" and not use_cuda:
        raise RuntimeError("BACKPROP_LAB_DEVICE=cuda, but PyTorch sees no CUDA device.")
    if use_cuda:
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        return torch.device("cuda")
    return torch.device("cpu")


def to_torch(array: Any, requires_grad: bool = False) -> torch.Tensor:
    """A float64 tensor on the reference device holding a copy of ``array``."""
    import torch

    tensor = torch.tensor(np.asarray(array, dtype=np.float64), dtype=torch.float64,
                          device=reference_device())
    return tensor.requires_grad_(requires_grad)


def to_numpy(tensor: torch.Tensor) -> np.ndarray:
    """A float64 NumPy copy of ``tensor`` (detached, moved to the CPU)."""
    return tensor.detach().to("cpu").numpy().astype(np.float64, copy=True)


def linear_from_numpy(W: np.ndarray, b: np.ndarray) -> torch.nn.Linear:
    """A float64 ``torch.nn.Linear`` computing ``X @ W + b``.

    W: (in, out), this course's layout.  b: (out,).
    PyTorch stores ``weight`` as (out, in) and computes ``X @ weight.T + bias``,
    so ``weight = W.T``.
    """
    import torch

    W = np.asarray(W, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if W.ndim != 2 or b.shape != (W.shape[1],):
        raise ValueError(f"Expected W (in, out) and b (out,), got W {W.shape} and b {b.shape}.")
    layer = torch.nn.Linear(W.shape[0], W.shape[1], dtype=torch.float64,
                            device=reference_device())
    with torch.no_grad():
        layer.weight.copy_(to_torch(W.T))
        layer.bias.copy_(to_torch(b))
    return layer


def linear_to_numpy(layer: torch.nn.Linear) -> tuple[np.ndarray, np.ndarray]:
    """``(W, b)`` in this course's layout, W: (in, out), from a ``torch.nn.Linear``."""
    bias = to_numpy(layer.bias) if layer.bias is not None else np.zeros(layer.out_features)
    return to_numpy(layer.weight).T.copy(), bias
