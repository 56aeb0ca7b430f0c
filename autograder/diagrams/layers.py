"""Chapter 4's static figure: a network as a stack of layers, values right and gradients left."""

from __future__ import annotations

from matplotlib.axes import Axes
from matplotlib.patches import Rectangle

from ..i18n import _
from . import drawn, set_title

__all__ = ["draw_layer_stack"]

FORWARD_COLOR = "#2b5d8a"
BACKWARD_COLOR = "#cf222e"


LAYERS = ("linear", "ReLU", "linear", "softmax\ncross-entropy")


def draw_layer_stack(ax: Axes, names: tuple[str, ...] = LAYERS) -> None:
    """Draw layers as boxes, each with its cache; forward arrows on top, backward arrows below."""
    pitch, width = 2.1, 1.4
    for i, name in enumerate(names):
        x0 = 1.2 + pitch * i
        ax.add_patch(Rectangle((x0, 0.9), width, 1.2, facecolor="#dbe9f6", edgecolor=FORWARD_COLOR))
        ax.text(x0 + width / 2, 1.5, drawn(name), ha="center", va="center", fontsize=11)
        ax.text(x0 + width / 2, 0.45, "cache", ha="center", va="center", fontsize=10, color="#57606a",
                bbox=dict(boxstyle="round", facecolor="#f4f4f4", edgecolor="#bbbbbb"))
    for i in range(len(names) + 1):
        left, right = (0.2, 1.2) if i == 0 else (1.2 + pitch * i - (pitch - width), 1.2 + pitch * i)
        value = "x" if i == 0 else ("L" if i == len(names) else "out")
        gradient = "1" if i == len(names) else "d" + value
        forward, backward = (dict(arrowstyle="->", color=c) for c in (FORWARD_COLOR, BACKWARD_COLOR))
        ax.annotate("", xy=(right, 1.8), xytext=(left, 1.8), arrowprops=forward)
        ax.annotate("", xy=(left, 1.2), xytext=(right, 1.2), arrowprops=backward)
        ax.text((left + right) / 2, 2.0, value, ha="center", fontsize=10, color=FORWARD_COLOR)
        ax.text((left + right) / 2, 0.95, gradient, ha="center", fontsize=10, color=BACKWARD_COLOR)
    ax.text(0.2, 2.45, drawn(_("forward: out, cache = f(x)")), color=FORWARD_COLOR, fontsize=11)
    ax.text(5.4, 2.45, drawn(_("backward: dx = f_backward(dout, cache)")), color=BACKWARD_COLOR, fontsize=11)
    ax.set_xlim(0, 1.2 + pitch * len(names) + 0.1)
    ax.set_ylim(0.1, 2.7)
    set_title(ax, _("A network as a stack of layers: values flow right, gradients flow left"),
              fontsize=11)
    ax.axis("off")
