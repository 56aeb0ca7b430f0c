"""autograder.diagrams.layers draws chapter 4's layer stack on the axes it is given."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from autograder.diagrams.layers import draw_layer_stack  # noqa: E402

pytestmark = pytest.mark.chapter(4)


def test_draw_layer_stack_draws_one_box_per_layer():
    fig, ax = plt.subplots()
    draw_layer_stack(ax, names=("linear", "ReLU", "linear"))
    assert len(ax.patches) == 3
    assert min(text.get_fontsize() for text in ax.texts) >= 10
    plt.close(fig)
