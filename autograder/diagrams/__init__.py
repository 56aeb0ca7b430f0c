"""Static figures the chapters draw (network sketches, computation graphs), one topic a file.

Notebooks call these so that a cell shows one line, not fifty lines of matplotlib
patches; each function takes an ``ax`` and draws on it. Their words go through ``drawn``: in the
notebook's language (``autograder/i18n.py``), with the CJK font switched on first where the text
needs it (``autograder/fonts.py``), so a Chinese title never shows boxes and an English figure is
drawn exactly as before.
"""

from __future__ import annotations

import re
from typing import Any

from ..fonts import FONT_FAMILY, use_cjk_fallback

# CJK punctuation, ideographs, and full-width forms: text that DejaVu Sans cannot draw.
_CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")


def drawn(text: str, **fields: object) -> str:
    """``text`` (already translated with ``_()``, or a label the notebook passed) filled with ``fields``,
    after switching the CJK fallback on when it holds CJK characters."""
    text = text.format(**fields) if fields else text
    if _CJK.search(text):
        use_cjk_fallback()
    return text


def set_title(ax: Any, text: str, **kwargs: Any) -> Any:
    """``ax.set_title(drawn(text), **kwargs)``; a CJK title also names the fallback family itself, since
    an axes' title was made with the axes, before ``drawn`` could switch the fallback on."""
    text = drawn(text)
    if _CJK.search(text) and use_cjk_fallback():
        kwargs.setdefault("fontfamily", FONT_FAMILY)
    return ax.set_title(text, **kwargs)
