"""Figure fonts: Latin text in DejaVu Sans, Chinese text in Noto Sans CJK SC, never boxes.

Matplotlib (3.6 and later) falls back glyph by glyph along the ``font.family`` list, so one list
serves both editions: English figures render exactly as before (DejaVu Sans is matplotlib's own
default), and a Chinese title or label takes its CJK glyphs from Noto. The font is Debian's
``fonts-noto-cjk`` (installed by ``.ci/run``); where it is missing the list stays matplotlib's
default, since naming an absent family would print a ``findfont`` warning into every notebook
that draws (outputs that nbval compares).
"""

from __future__ import annotations

import matplotlib
from matplotlib import font_manager

CJK_FAMILY = "Noto Sans CJK SC"
FONT_FAMILY = ["DejaVu Sans", CJK_FAMILY]


def has_cjk_font() -> bool:
    return any(font.name == CJK_FAMILY for font in font_manager.fontManager.ttflist)


def use_cjk_fallback() -> bool:
    """Set ``font.family`` to ``FONT_FAMILY`` when the CJK font is installed; whether it was."""
    if not has_cjk_font():
        return False
    matplotlib.rcParams["font.family"] = FONT_FAMILY
    return True
