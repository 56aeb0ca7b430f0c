"""Computational graphs (chapter 3): the two passes of a training step, and a scalar graph.

``draw_training_step(ax)`` is a static picture. ``draw_value_graph(ax, root, names)`` lays
out the graph behind any object with the attributes of the chapter's ``Value``: ``data``,
``grad``, ``inputs`` (the nodes it was computed from) and ``op``: inputs on the left, the root
on the right, every node labelled with its value and gradient.

Edges are routed so that none runs through a node it does not join: an edge that skips
columns bends around the boxes in between (``route_edges`` chooses the bend, and
``tests/diagrams/test_graphs.py`` checks that no edge crosses a box).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
from matplotlib.path import Path

from ..i18n import _
from . import drawn, set_title

FORWARD_COLOR, BACKWARD_COLOR = "#4a6fa5", "#c0392b"
LEAF_COLOR, NODE_COLOR = "#fdf1e6", "#eef3fb"

COLUMN_STEP, ROW_STEP = 2.4, 1.5  # distance between columns and rows (data units)
BOX_WIDTH, BOX_HEIGHT = 1.6, 1.0  # a node's box (data units)
MARGIN = 0.15  # around the drawing (data units)
BENDS = (0.0, 0.9, -0.9, 1.4, -1.4, 2.0, -2.0, 2.7, -2.7, 3.5, -3.5, 4.5, -4.5, 6.0, -6.0)  # tried in turn


def draw_training_step(ax: Axes) -> Axes:
    """Forward (values, left to right) and backward (gradients, right to left) of a two-layer net."""
    stages = ["$X$", "$Z_1 = XW_1 + b_1$", r"$H = \mathrm{relu}(Z_1)$", "$S = HW_2 + b_2$",
              r"$P = \mathrm{softmax}(S)$", "$L$"]
    gradients = ["", r"$\partial L/\partial Z_1$", r"$\partial L/\partial H$", r"$\partial L/\partial S$",
                 r"$\partial L/\partial P$", r"$\partial L/\partial L = 1$"]
    step = 2.1
    for i, text in enumerate(stages):
        ax.text(step * i, 0, text, ha="center", va="center", fontsize=11,
                bbox=dict(boxstyle="round,pad=0.4", facecolor=NODE_COLOR, edgecolor=FORWARD_COLOR))
        if i > 0:
            ax.annotate("", xy=(step * i - 0.75, 0.45), xytext=(step * (i - 1) + 0.75, 0.45),
                        arrowprops=dict(arrowstyle="->", color=FORWARD_COLOR, lw=1.5))
            ax.annotate("", xy=(step * (i - 1) + 0.75, -0.45), xytext=(step * i - 0.75, -0.45),
                        arrowprops=dict(arrowstyle="->", color=BACKWARD_COLOR, lw=1.5))
            ax.text(step * i - 1.05, -0.75, gradients[i], ha="center", va="top", color=BACKWARD_COLOR,
                    fontsize=10)
    for i, names in ((1, "$W_1, b_1$"), (3, "$W_2, b_2$")):
        ax.text(step * i, 1.05, drawn(_("parameters {names}"), names=names), ha="center", fontsize=10,
                color="#555")
        ax.text(step * i, -1.5, drawn(_(r"$\partial L/\partial$ {names}: used by the update"), names=names),
                ha="center", fontsize=10, color=BACKWARD_COLOR)
    ax.text(-0.9, 0.6, drawn(_("forward →")), color=FORWARD_COLOR, fontsize=11)
    ax.text(-0.9, -0.65, drawn(_("← backward")), color=BACKWARD_COLOR, fontsize=11)
    ax.set_xlim(-1.2, 11.8)
    ax.set_ylim(-1.8, 1.3)
    ax.axis("off")
    set_title(ax, _("One training step: values flow forward, gradients flow backward"), fontsize=12)
    return ax


def layout(root: Any) -> dict[Any, tuple[float, float]]:
    """Each node's centre: column = 1 + the column of its deepest input (leaves in column 0)."""
    depth: dict[Any, int] = {}

    def place(node: Any) -> int:
        if node not in depth:
            depth[node] = 1 + max((place(child) for child in node.inputs), default=-1)
        return depth[node]

    place(root)
    columns: dict[int, list[Any]] = {}
    for node in depth:  # insertion order: inputs before the nodes built from them
        columns.setdefault(depth[node], []).append(node)
    return {node: (COLUMN_STEP * d, -ROW_STEP * (row - (len(column) - 1) / 2))
            for d, column in columns.items() for row, node in enumerate(column)}


def edges(root: Any) -> list[tuple[Any, Any]]:
    """(input, output) pairs of the graph behind ``root``, each pair once."""
    seen, pairs, stack = set(), [], [root]
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        for child in dict.fromkeys(node.inputs):  # a node used twice by one op: one edge
            pairs.append((child, node))
            stack.append(child)
    return pairs


def _bezier(start: np.ndarray, control: np.ndarray, end: np.ndarray, samples: int = 60) -> np.ndarray:
    t = np.linspace(0.0, 1.0, samples)[:, None]
    return (1 - t) ** 2 * start + 2 * (1 - t) * t * control + t**2 * end


def _inside_box(points: np.ndarray, centre: tuple[float, float], margin: float = 0.08) -> bool:
    half = np.array([BOX_WIDTH / 2 + margin, BOX_HEIGHT / 2 + margin])
    return bool(np.any(np.all(np.abs(points - np.asarray(centre)) < half, axis=1)))


def edge_curve(start: tuple[float, float], end: tuple[float, float], bend: float) -> np.ndarray:
    """Points of the quadratic curve from the right edge of ``start``'s box to the left edge of
    ``end``'s, its control point moved ``bend`` units up from the straight line's midpoint."""
    a = np.array([start[0] + BOX_WIDTH / 2, start[1]])
    b = np.array([end[0] - BOX_WIDTH / 2, end[1]])
    control = (a + b) / 2 + np.array([0.0, bend])
    return _bezier(a, control, b)


def route_edges(positions: Mapping[Hashable, tuple[float, float]],
                pairs: list[tuple[Hashable, Hashable]]) -> dict[tuple[Hashable, Hashable], float]:
    """For each edge, the first bend in ``BENDS`` whose curve crosses no other node's box."""
    bends = {}
    for child, node in pairs:
        others = [p for n, p in positions.items() if n is not child and n is not node]
        for bend in BENDS:
            curve = edge_curve(positions[child], positions[node], bend)
            if not any(_inside_box(curve, centre) for centre in others):
                break
        bends[(child, node)] = bend
    return bends


def _extent(root: Any) -> tuple[float, float, float, float]:
    """(x_min, x_max, y_min, y_max) of the boxes and routed edges of ``root``'s graph."""
    positions = layout(root)
    points = [np.array([[x - BOX_WIDTH / 2, y - BOX_HEIGHT / 2], [x + BOX_WIDTH / 2, y + BOX_HEIGHT / 2]])
              for x, y in positions.values()]
    for (child, node), bend in route_edges(positions, edges(root)).items():
        points.append(edge_curve(positions[child], positions[node], bend))
    stacked = np.concatenate(points)
    return (*(stacked[:, 0].min(), stacked[:, 0].max()), *(stacked[:, 1].min(), stacked[:, 1].max()))


def draw_value_graph(ax: Axes, root: Any, names: Mapping[Any, str] | None = None) -> Axes:
    """Draw the graph that produced ``root`` (inputs left, root right), with data and grad."""
    names = names or {}
    positions = layout(root)
    pairs = edges(root)
    for (child, node), bend in route_edges(positions, pairs).items():
        curve = edge_curve(positions[child], positions[node], bend)
        start, end = curve[0], curve[-1]
        control = 2 * curve[len(curve) // 2] - (start + end) / 2  # the Bezier's control point
        path = Path([start, control, end], [Path.MOVETO, Path.CURVE3, Path.CURVE3])
        ax.add_patch(FancyArrowPatch(path=path, arrowstyle="-|>", mutation_scale=14, color="#888", lw=1.2))
    for node, (x, y) in positions.items():
        ax.add_patch(FancyBboxPatch((x - BOX_WIDTH / 2, y - BOX_HEIGHT / 2), BOX_WIDTH, BOX_HEIGHT,
                                    boxstyle="round,pad=0,rounding_size=0.12",
                                    facecolor=NODE_COLOR if node.inputs else LEAF_COLOR,
                                    edgecolor=FORWARD_COLOR, zorder=2))
        title = drawn(names.get(node, node.op or "leaf"))
        ax.text(x, y, f"{title}\ndata {node.data:.4f}\ngrad {node.grad:.4f}", ha="center", va="center",
                fontsize=10, zorder=3)
    x_min, x_max, y_min, y_max = _extent(root)
    ax.set_xlim(x_min - MARGIN, x_max + MARGIN)
    ax.set_ylim(y_min - MARGIN, y_max + MARGIN)
    ax.set_aspect("equal")
    ax.axis("off")
    return ax


def figure_size(root: Any, inches_per_unit: float = 0.95) -> tuple[float, float]:
    """A figure size (inches) at which ``draw_value_graph``'s boxes hold their 10-point text."""
    x_min, x_max, y_min, y_max = _extent(root)
    return ((x_max - x_min + 2 * MARGIN) * inches_per_unit,
            (y_max - y_min + 2 * MARGIN) * inches_per_unit + 0.5)  # + room for a title
