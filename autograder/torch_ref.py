"""PyTorch as the reference: one device, float64, TF32 off, explicit layouts.

Every comparison with PyTorch in the course goes through here, so that there is
one answer to "which device, which precision, which weight layout":

- the device is CUDA when a GPU is present, else the CPU (``reference_device``
  says which, once);
- tensors are float64 (``to_torch``); TF32 matrix products are turned off on CUDA,
  since TF32 keeps only 10 mantissa bits and would hide real bugs;
- ``value_and_grad``, ``labels`` and ``count_flops`` replace the boilerplate of a
  PyTorch comparison (``requires_grad=True``, ``.backward()``, ``torch.as_tensor(y,
  dtype=torch.long, device=...)``, ``FlopCounterMode``) in notebooks and tests alike;
- this course stores a dense layer's weights as ``W: (in, out)`` so that
  ``X @ W`` reads left to right; ``torch.nn.Linear.weight`` is ``(out, in)``.
  ``linear_from_numpy`` and ``linear_to_numpy`` transpose, explicitly.

PyTorch is imported on first use, so ``import autograder`` stays fast.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
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
    "value_and_grad",
    "labels",
    "count_flops",
    "torch_mirror",
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
    from autograder.i18n import _

    print(_("PyTorch reference: {device} ({name}), float64, TF32 off.").format(device=device.type, name=name))


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


def value_and_grad(f: Callable[..., torch.Tensor], *arrays: Any,
                   upstream: Any = None) -> tuple[float, tuple[np.ndarray, ...]]:
    """PyTorch's value of the scalar ``f(*tensors)`` and its gradient with respect to each array.

    Each array becomes a float64 tensor on the reference device with ``requires_grad``;
    ``f`` is called on them and must return a one-element tensor (a loss); ``backward()``
    then fills the gradients. Returns ``(value, (grad_1, ..., grad_k))``, float64 NumPy
    arrays of the arrays' shapes (zeros for an input ``f`` does not use).

        loss, (grad_logits,) = value_and_grad(lambda z: F.cross_entropy(z, labels(y)), logits)

    A layer's backward pass takes an upstream gradient ``dout`` of its output's shape:
    with ``upstream=dout`` the scalar is ``sum(f(*tensors) * dout)``, whose gradients are
    exactly what ``backward(dout)`` computes (``dx``, ``dW``, ... of the cs231n layers).

        _, (dx, dW, db) = value_and_grad(lambda x, W, b: x @ W + b, x, W, b, upstream=dout)
    """
    import torch

    if not arrays:
        raise TypeError("value_and_grad needs at least one array to differentiate with respect to.")
    tensors = [to_torch(array, requires_grad=True) for array in arrays]
    value = f(*tensors)
    if upstream is not None and isinstance(value, torch.Tensor):
        weights = to_torch(upstream)
        if tuple(weights.shape) != tuple(value.shape):
            raise ValueError(f"value_and_grad: upstream has shape {tuple(weights.shape)}, but f "
                             f"returned shape {tuple(value.shape)}; they must match.")
        value = (value * weights).sum()
    if not isinstance(value, torch.Tensor) or value.numel() != 1:
        shape = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
        raise ValueError(f"value_and_grad: f must return a one-element tensor (a loss), got {shape}. "
                         "Reduce it first (.sum(), .mean()), or pass upstream=dout.")
    value.backward()
    grads = tuple(to_numpy(t.grad) if t.grad is not None else np.zeros(t.shape) for t in tensors)
    return float(value.item()), grads


def labels(y: Any) -> torch.Tensor:
    """Integer class labels as a ``torch.long`` tensor on the reference device (what
    ``F.cross_entropy`` and ``F.nll_loss`` take as targets). y: (N,) integers."""
    import torch

    array = np.asarray(y)
    if array.dtype.kind == "f" and np.array_equal(array, np.round(array)):
        array = array.astype(np.int64)
    if array.dtype.kind not in "iu":
        raise ValueError(f"labels: expected integer class labels, got dtype {array.dtype}.")
    return torch.as_tensor(array.astype(np.int64), dtype=torch.long, device=reference_device())


def count_flops(model_or_fn: Callable[..., Any], *inputs: Any) -> int:
    """FLOPs that PyTorch's ``FlopCounterMode`` counts while ``model_or_fn(*inputs)`` runs.

    NumPy arrays among ``inputs`` become float64 tensors on the reference device; tensors
    (a ``device="meta"`` one counts shapes without computing) are passed as they are.
    Only what the call runs is counted: the forward pass, plus the backward pass if the
    function calls ``.backward()`` itself.

        count_flops(model, np.zeros((16, 64)))                                  # forward only
        count_flops(lambda x: F.cross_entropy(net(x), labels(y)).backward(), X)  # a training step
    """
    from torch.utils.flop_counter import FlopCounterMode

    args = [to_torch(x) if isinstance(x, np.ndarray) else x for x in inputs]
    with FlopCounterMode(display=False) as counter:
        model_or_fn(*args)
    return int(counter.get_total_flops())


def torch_mirror(model: Any) -> torch.nn.Sequential:
    """A float64 ``torch.nn.Sequential`` on the reference device with ``model``'s current weights.

    ``model``: a Keras-like model of chapter 6 (``model.layers``, each with ``params`` and
    ``activation``).

    Reads only the protocol (``layer.params``, ``layer.activation``), so it mirrors any
    conforming model. It computes the LOGITS of the last layer: a final softmax is left
    out, as ``torch.nn.functional.cross_entropy`` expects. Weights are copied through
    ``linear_from_numpy`` (course W: (in, out) -> torch weight: (out, in)).
    """
    import torch

    modules = {"relu": torch.nn.ReLU, "sigmoid": torch.nn.Sigmoid, "tanh": torch.nn.Tanh,
               "softmax": lambda: torch.nn.Softmax(dim=1)}
    stack = []
    for index, layer in enumerate(model.layers):
        stack.append(linear_from_numpy(layer.params["W"], layer.params["b"]))
        last_softmax = index == len(model.layers) - 1 and layer.activation == "softmax"
        if layer.activation != "linear" and not last_softmax:
            stack.append(modules[layer.activation]())
    return torch.nn.Sequential(*stack)
