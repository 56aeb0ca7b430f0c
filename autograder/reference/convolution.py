"""Convolution layers backward (chapter 4, §4.1): 1-D backward, 2-D forward and backward.

CS231n's ``conv_forward_naive``/``conv_backward_naive`` level: loops over the output
positions, ``np.tensordot`` over the channels and taps. Cross-correlation, as
``torch.nn.functional.conv1d``/``conv2d``; weights are (out channels, in channels, taps...),
PyTorch's own layout, so no transpose is needed. The 1-D forward pass is chapter 1's
``conv1d_forward``; its cache here is ``(x, w, b, stride)``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["conv1d_backward", "conv2d_forward", "conv2d_backward"]


def conv1d_backward(
    dout: np.ndarray, cache: tuple[np.ndarray, np.ndarray, np.ndarray, int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of a 1-D convolution without padding.

    dout: (N, C_out, L_out).  cache: (x (N, C_in, L), w (C_out, C_in, K), b (C_out,), stride).
    Returns (dx (N, C_in, L), dw (C_out, C_in, K), db (C_out,)).
    """
    x, w, _, stride = cache
    kernel_size = w.shape[2]
    dx, dw = np.zeros_like(x, dtype=np.float64), np.zeros_like(w, dtype=np.float64)
    for t in range(dout.shape[2]):
        start = t * stride
        dw += np.tensordot(dout[:, :, t], x[:, :, start: start + kernel_size], axes=([0], [0]))
        # Overlapping windows (stride < K) share input positions: their gradients add up.
        dx[:, :, start: start + kernel_size] += np.tensordot(dout[:, :, t], w, axes=([1], [0]))
    return dx, dw, dout.sum(axis=(0, 2))


def _pad(x: np.ndarray, pad: int) -> np.ndarray:
    return np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))


def conv2d_forward(
    x: np.ndarray, w: np.ndarray, b: np.ndarray, stride: int = 1, pad: int = 0
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray, int, int]]:
    """A 2-D convolution, like ``F.conv2d(x, w, b, stride=stride, padding=pad)``.

    x: (N, C, H, W), w: (F, C, HH, WW), b: (F,).
    Returns (out (N, F, H_out, W_out), cache = (x, w, b, stride, pad)) with
    H_out = (H + 2 pad - HH) // stride + 1 and W_out = (W + 2 pad - WW) // stride + 1.
    """
    _, _, height, width = x.shape
    n_filters, _, kernel_height, kernel_width = w.shape
    padded = _pad(x, pad)
    out_height = (height + 2 * pad - kernel_height) // stride + 1
    out_width = (width + 2 * pad - kernel_width) // stride + 1
    out = np.empty((x.shape[0], n_filters, out_height, out_width))
    for i in range(out_height):
        for j in range(out_width):
            rows = slice(i * stride, i * stride + kernel_height)
            cols = slice(j * stride, j * stride + kernel_width)
            out[:, :, i, j] = np.tensordot(padded[:, :, rows, cols], w, axes=([1, 2, 3], [1, 2, 3])) + b
    return out, (x, w, b, stride, pad)


def conv2d_backward(
    dout: np.ndarray, cache: tuple[np.ndarray, np.ndarray, np.ndarray, int, int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of ``conv2d_forward``.

    dout: (N, F, H_out, W_out).  cache: (x, w, b, stride, pad) as conv2d_forward returns it.
    Returns (dx (N, C, H, W), dw (F, C, HH, WW), db (F,)).
    """
    x, w, _, stride, pad = cache
    _, _, height, width = x.shape
    kernel_height, kernel_width = w.shape[2:]
    padded = _pad(x, pad)
    dpadded, dw = np.zeros_like(padded, dtype=np.float64), np.zeros_like(w, dtype=np.float64)
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            rows = slice(i * stride, i * stride + kernel_height)
            cols = slice(j * stride, j * stride + kernel_width)
            dw += np.tensordot(dout[:, :, i, j], padded[:, :, rows, cols], axes=([0], [0]))
            dpadded[:, :, rows, cols] += np.tensordot(dout[:, :, i, j], w, axes=([1], [0]))
    # The padding zeros are not part of x: keep the middle.
    dx = dpadded[:, :, pad: pad + height, pad: pad + width].copy()
    return dx, dw, dout.sum(axis=(0, 2, 3))
