"""Decision boundaries of a two-feature classifier (chapter 5's moons), drawn on a given ``ax``."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import set_title

__all__ = ["draw_probability_map"]


def draw_probability_map(ax: Any, grid_x: np.ndarray, grid_y: np.ndarray, probability: np.ndarray,
                         points: np.ndarray, labels: np.ndarray, title: str = "",
                         axis_labels: bool = True) -> Any:
    """P(class 1) over the plane as filled contours, its 0.5 contour, and the labelled points.

    grid_x, grid_y, probability: (rows, columns) from ``np.meshgrid``; points: (N, 2);
    labels: (N,) in {0, 1}. Returns the filled contour set, for a colour bar
    (``fig.colorbar(returned, ax=..., label="P(class 1)")``).
    """
    filled = ax.contourf(grid_x, grid_y, probability, levels=np.linspace(0, 1, 11), cmap="RdBu",
                         alpha=0.6, vmin=0, vmax=1)
    ax.contour(grid_x, grid_y, probability, levels=[0.5], colors="k", linewidths=1)
    ax.scatter(points[:, 0], points[:, 1], c=labels, cmap="RdBu", vmin=0, vmax=1, edgecolors="k", s=18)
    set_title(ax, title, fontsize=10)
    if axis_labels:
        ax.set_xlabel("$x_1$")
        ax.set_ylabel("$x_2$")
    return filled
