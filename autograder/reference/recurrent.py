"""A tanh recurrent network over a sequence, and backpropagation through time (chapter 4, §4.3).

h_t = tanh(x_t Wx + h_(t-1) Wh + b), chapter 1's ``rnn_step`` applied for t = 1..T with
shared weights. Weights are in the course's (in, out) layout: ``torch.nn.RNN`` stores
``weight_ih_l0 = Wx.T`` and ``weight_hh_l0 = Wh.T`` and has a second bias (``bias_hh_l0``),
which is 0 here.
"""

from __future__ import annotations

import numpy as np

__all__ = ["rnn_forward", "rnn_backward"]

RnnCache = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def rnn_forward(
    x: np.ndarray, h0: np.ndarray, Wx: np.ndarray, Wh: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, RnnCache]:
    """x: (N, T, D), h0: (N, H), Wx: (D, H), Wh: (H, H), b: (H,).

    Returns (h (N, T, H), cache = (x, h0, Wx, Wh, h)); h[:, t] is the state after step t + 1.
    """
    n_steps = x.shape[1]
    h = np.empty((x.shape[0], n_steps, Wh.shape[0]))
    state = h0
    for t in range(n_steps):
        state = np.tanh(x[:, t] @ Wx + state @ Wh + b)
        h[:, t] = state
    return h, (x, h0, Wx, Wh, h)


def rnn_backward(
    dh: np.ndarray, cache: RnnCache
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """dh: (N, T, H), the loss's gradient with respect to every hidden state.

    Returns (dx (N, T, D), dh0 (N, H), dWx (D, H), dWh (H, H), db (H,)).
    """
    x, h0, Wx, Wh, h = cache
    dx = np.zeros(x.shape)
    dWx, dWh, db = np.zeros(Wx.shape), np.zeros(Wh.shape), np.zeros(Wh.shape[0])
    dnext = np.zeros(h0.shape)  # what flows back into h[:, t] from step t + 1
    for t in reversed(range(x.shape[1])):
        dz = (dh[:, t] + dnext) * (1 - h[:, t] ** 2)
        previous = h[:, t - 1] if t > 0 else h0
        dx[:, t] = dz @ Wx.T
        # Shared weights: their gradients sum over the steps.
        dWx += x[:, t].T @ dz
        dWh += previous.T @ dz
        db += dz.sum(axis=0)
        dnext = dz @ Wh.T
    return dx, dnext, dWx, dWh, db
