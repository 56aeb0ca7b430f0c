"""autograder/diagrams/graphs.py and networks.py: the figures draw, and no edge runs through a node.

The graph drawer is checked on the chapter 3 graph (where the leaf ``a`` feeds two operations
in different columns, so a straight edge would cross ``c = a*b``) and on random graphs.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from autograder.diagrams import graphs, networks  # noqa: E402


class Node:
    """The attributes ``draw_value_graph`` reads from chapter 3's ``Value``."""

    def __init__(self, data: float, children: tuple = (), op: str = "") -> None:
        self.data, self.grad, self.inputs, self.op = float(data), 0.0, tuple(children), op


def chapter_graph() -> Node:
    a, b = Node(0.5), Node(-1.5)
    c = Node(-0.75, (a, b), "*")
    d = Node(-0.25, (c, a), "+")
    return Node(np.tanh(-0.25), (d,), "tanh")


def random_graph(seed: int) -> Node:
    rng = np.random.default_rng(seed)
    nodes = [Node(rng.normal()) for _ in range(int(rng.integers(2, 5)))]
    for _ in range(int(rng.integers(3, 12))):
        inputs = tuple(nodes[i] for i in rng.integers(len(nodes), size=int(rng.integers(1, 3))))
        nodes.append(Node(rng.normal(), inputs, "op"))
    return nodes[-1]


def crossings(root: Node) -> list[str]:
    """Every (edge, node) pair where the routed edge enters a box it does not join."""
    positions = graphs.layout(root)
    found = []
    for (child, node), bend in graphs.route_edges(positions, graphs.edges(root)).items():
        curve = graphs.edge_curve(positions[child], positions[node], bend)
        for other, centre in positions.items():
            if other is not child and other is not node and graphs._inside_box(curve, centre, margin=0.0):
                found.append(f"edge {positions[child]} -> {positions[node]} crosses the box at {centre}")
    return found


def test_a_straight_edge_would_cross_a_node_in_the_chapter_graph():
    root = chapter_graph()
    positions = graphs.layout(root)
    a = root.inputs[0].inputs[1]  # d = c + a: the leaf a, two columns left of d
    d = root.inputs[0]
    c = d.inputs[0]
    straight = graphs.edge_curve(positions[a], positions[d], 0.0)
    assert graphs._inside_box(straight, positions[c]), "the test graph no longer needs a bend"
    assert not crossings(root), crossings(root)


@pytest.mark.parametrize("seed", range(30))
def test_no_edge_runs_through_a_node(seed):
    root = random_graph(seed)
    assert not crossings(root), crossings(root)


def test_every_edge_is_drawn_once_and_boxes_do_not_overlap():
    root = chapter_graph()
    assert len(graphs.edges(root)) == 5
    centres = np.array(list(graphs.layout(root).values()))
    gaps = np.abs(centres[:, None, :] - centres[None, :, :])
    apart = (gaps[..., 0] >= graphs.BOX_WIDTH) | (gaps[..., 1] >= graphs.BOX_HEIGHT)
    np.fill_diagonal(apart, True)
    assert apart.all()


def test_the_figures_draw():
    root = chapter_graph()
    fig, ax = plt.subplots(figsize=graphs.figure_size(root))
    graphs.draw_value_graph(ax, root, names={root: "e"})
    fig.canvas.draw()
    texts = [t.get_text() for t in ax.texts]
    assert any(t.startswith("e\ndata") for t in texts) and len(texts) == 5
    fig, ax = plt.subplots()
    graphs.draw_training_step(ax)
    fig, (left, right) = plt.subplots(1, 2)
    networks.draw_neuron(left)
    networks.draw_network(right, [3, 5, 4, 2], ["input", "hidden 1", "hidden 2", "output"])
    fig.canvas.draw()
    plt.close("all")
