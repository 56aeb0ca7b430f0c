"""Chinese figure text renders with real glyphs, never boxes (autograder/fonts.py)."""

from __future__ import annotations

import warnings

import matplotlib
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the headless backend)

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
