"""Sketches of a neuron and of a feed-forward network (chapter 1, §1.1).

Static pictures: nothing here computes anything a learner writes. Each function draws
on the ``ax`` it is given and returns it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.patches import Circle, Rectangle

from ..i18n import _
from . import drawn, set_title

ARROW = dict(arrowstyle="->", color="0.4")
INPUT_COLOR, HIDDEN_COLOR, OUTPUT_COLOR = "tab:blue", "tab:orange", "tab:green"


def draw_neuron(ax: Axes) -> Axes:
    """Three inputs, their weights, the sum with its bias, the activation, the output."""
    for index, y in enumerate([1.2, 0.0, -1.2], start=1):
        ax.add_patch(Circle((0, y), 0.28, facecolor=INPUT_COLOR, edgecolor="k"))
        ax.text(0, y, f"$x_{index}$", ha="center", va="center", color="w", fontsize=13)
        ax.annotate("", xy=(1.62, 0.0), xytext=(0.3, y), arrowprops=ARROW)
        ax.text(0.95, 0.55 * y + 0.13, f"$w_{index}$", ha="center", fontsize=12)
    ax.add_patch(Circle((2.0, 0), 0.4, facecolor=HIDDEN_COLOR, edgecolor="k"))
    ax.text(2.0, 0, r"$\Sigma$", ha="center", va="center", fontsize=16)
    ax.annotate("", xy=(2.0, 0.41), xytext=(2.0, 1.25), arrowprops=ARROW)
    ax.text(2.0, 1.38, "$b$", ha="center", fontsize=12)
    ax.annotate("", xy=(3.05, 0), xytext=(2.42, 0), arrowprops=ARROW)
    ax.text(2.75, 0.12, "$z$", ha="center", fontsize=12)
    ax.add_patch(Rectangle((3.05, -0.35), 0.7, 0.7, facecolor=HIDDEN_COLOR, edgecolor="k"))
    ax.text(3.4, 0, r"$\varphi$", ha="center", va="center", fontsize=16)
    ax.annotate("", xy=(4.45, 0), xytext=(3.76, 0), arrowprops=ARROW)
    ax.text(4.6, 0, r"$a = \varphi(z)$", va="center", fontsize=12)
    ax.set_xlim(-0.5, 5.8)
    ax.set_ylim(-1.7, 1.7)
    ax.set_aspect("equal")
    ax.axis("off")
    set_title(ax, _("one neuron: a = φ(w · x + b)"), fontsize=12)
    return ax


def draw_network(ax: Axes, layer_sizes: Sequence[int], layer_names: Sequence[str]) -> Axes:
    """Circles for neurons, grey lines for weights: layer by layer, left to right."""
    heights = [np.linspace(-(n - 1) / 2, (n - 1) / 2, n) for n in layer_sizes]
    for column, (ys_in, ys_out) in enumerate(zip(heights, heights[1:])):
        for y_in in ys_in:
            for y_out in ys_out:
                ax.plot([column, column + 1], [y_in, y_out], color="0.75", lw=0.8, zorder=1)
    colors = [INPUT_COLOR] + [HIDDEN_COLOR] * (len(layer_sizes) - 2) + [OUTPUT_COLOR]
    top = max(layer_sizes) / 2
    for column, (ys, color, name) in enumerate(zip(heights, colors, layer_names)):
        ax.scatter(np.full(len(ys), column), ys, s=350, color=color, edgecolor="k", zorder=2)
        ax.text(column, top + 0.3, drawn(name), ha="center", fontsize=11)
    ax.set_ylim(-top - 0.3, top + 0.9)
    ax.axis("off")
    sizes = ", ".join(str(n) for n in layer_sizes)
    set_title(ax, _("a feed-forward network (an MLP with layer sizes {sizes})").format(sizes=sizes),
              fontsize=12)
    return ax
