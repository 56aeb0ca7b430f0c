"""Chinese figure text renders with real glyphs, never boxes (autograder/fonts.py)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import warnings

import matplotlib
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the headless backend)

from autograder import i18n  # noqa: E402
from autograder.fonts import CJK_FAMILY, FONT_FAMILY, has_cjk_font, use_cjk_fallback  # noqa: E402


def test_the_fallback_is_set_only_when_the_font_is_there():
    with matplotlib.rc_context():
        assert use_cjk_fallback() == has_cjk_font()
        expected = FONT_FAMILY if has_cjk_font() else matplotlib.rcParamsDefault["font.family"]
        assert list(matplotlib.rcParams["font.family"]) == list(expected)


def test_chinese_figure_text_finds_every_glyph():
    if not has_cjk_font():
        pytest.skip(f"{CJK_FAMILY} is not installed: `apt-get install fonts-noto-cjk` (Debian), as "
                    ".ci/run does (installed just now? matplotlib's font cache predates it: remove "
                    "~/.cache/matplotlib)")
    with matplotlib.rc_context(), warnings.catch_warnings():
        use_cjk_fallback()
        # matplotlib warns "Glyph ... missing from font(s)" where it would draw a box.
        warnings.simplefilter("error")
        figure, axes = plt.subplots()
        axes.set_title("激活函数及其导数 (sigmoid, ReLU, tanh)")
        axes.set_xlabel("预激活值 z")
        axes.plot([0, 1], [0, 1], label="学习率 0.1")
        axes.legend()
        figure.canvas.draw()
        plt.close(figure)


# -- Where figures are drawn: the diagrams, and the setup cell's `import autograder` -----------------

def _draw_every_diagram() -> list[str]:
    """The titles of the package's static figures, drawn (rendered) on one figure."""
    from autograder.diagrams.graphs import draw_training_step
    from autograder.diagrams.layers import draw_layer_stack
    from autograder.diagrams.networks import draw_network, draw_neuron

    figure, axes = plt.subplots(1, 4, figsize=(16, 3))
    draw_neuron(axes[0])
    draw_network(axes[1], [3, 5, 2], ["input", "hidden", "output"])
    draw_layer_stack(axes[2])
    draw_training_step(axes[3])
    figure.canvas.draw()
    titles = [ax.get_title() for ax in axes]
    plt.close(figure)
    return titles


def test_an_english_diagram_leaves_matplotlibs_font_settings_alone(monkeypatch):
    monkeypatch.delenv(i18n.ENV_VAR, raising=False)
    with matplotlib.rc_context(), i18n.language("en"):
        before = list(matplotlib.rcParams["font.family"])
        titles = _draw_every_diagram()
        assert list(matplotlib.rcParams["font.family"]) == before
    assert titles[2] == "A network as a stack of layers: values flow right, gradients flow left"


def test_a_chinese_diagram_is_drawn_in_chinese_with_every_glyph(caplog):
    if not has_cjk_font():
        pytest.skip(f"{CJK_FAMILY} is not installed (see test_chinese_figure_text_finds_every_glyph)")
    with matplotlib.rc_context(), i18n.language("zh_CN"), warnings.catch_warnings(), \
            caplog.at_level(logging.WARNING, logger="matplotlib"):
        warnings.simplefilter("error")  # "Glyph ... missing from font(s)": a box
        titles = _draw_every_diagram()
        assert list(matplotlib.rcParams["font.family"]) == FONT_FAMILY
    # mathtext logs instead: "Font 'default' does not have a glyph for '参'" (CJK beside $maths$)
    boxes = [r.getMessage() for r in caplog.records if "glyph" in r.getMessage()]
    assert not boxes, boxes[:3]
    assert titles[2] == "把网络看作层的堆叠：数值向右流动，梯度向左流动"
    assert titles[0] == "单个神经元：a = φ(w · x + b)"


@pytest.mark.parametrize("language", ["zh_CN", ""])
def test_a_chinese_kernel_gets_the_fallback_when_it_imports_autograder(language, tmp_path):
    """The setup cell imports autograder: in a Chinese notebook (BACKPROP_LAB_LANG stands for its
    metadata here) figures get the CJK fallback; in an English one matplotlib's default stays."""
    env = {k: v for k, v in os.environ.items() if k not in (i18n.ENV_VAR, "JPY_SESSION_NAME")}
    if language:
        env[i18n.ENV_VAR] = language
    code = "import matplotlib, autograder; print(list(matplotlib.rcParams['font.family']))"
    shown = subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path, capture_output=True,
                           text=True, check=True).stdout.strip()
    chinese = language and has_cjk_font()
    expected = FONT_FAMILY if chinese else list(matplotlib.rcParamsDefault["font.family"])
    assert shown == repr(expected), shown


def test_a_chinese_label_writes_its_maths_in_unicode_and_an_english_one_keeps_mathtext():
    from autograder.diagrams import drawn, plain_maths

    assert plain_maths(r"$\partial L/\partial$ $W_1, b_1$：供参数更新使用") == "∂L/∂ W₁, b₁：供参数更新使用"
    assert plain_maths(r"$\mathrm{relu}(Z_{12})$, $x^T$, $\sigma(z)$") == "relu(Z₁₂), xᵀ, σ(z)"
    assert drawn("parameters {names}", names="$W_1, b_1$") == "parameters $W_1, b_1$"
