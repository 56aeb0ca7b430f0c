"""Forecasting a sequence with a dense network (chapter 6, §6.3): sliding windows."""

from __future__ import annotations

import numpy as np

__all__ = ["make_windows"]


def make_windows(series: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Every run of ``window`` consecutive values, and the value that follows it.

    series: (T,). Returns X: (T - window, window) with X[i] = series[i : i + window], and
    y: (T - window, 1) with y[i, 0] = series[i + window]; float64, new arrays.
    Raises ValueError unless 1 <= window < T.
    """
    series = np.asarray(series, dtype=np.float64)
    if not 1 <= window < len(series):
        raise ValueError(f"window must be in [1, {len(series)}), got {window}.")
    starts = np.arange(len(series) - window)
    X = series[starts[:, None] + np.arange(window)]
    return X, series[starts + window][:, None]
