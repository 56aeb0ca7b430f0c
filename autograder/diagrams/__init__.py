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


# mathtext draws a whole text that holds $...$, words included, with its own fonts, which have no CJK
# glyphs (logged: "Font 'default' does not have a glyph for '参'"): a CJK text's maths is written in
# Unicode instead, as the catalogs' own translations do ('隐藏空间 (h₁, h₂)').
_MATHS = re.compile(r"\$([^$]+)\$")
_SYMBOLS = {r"\partial": "∂", r"\nabla": "∇", r"\sigma": "σ", r"\cdot": "·", r"\times": "×",
            r"\alpha": "α", r"\beta": "β", r"\gamma": "γ", r"\epsilon": "ε", r"\eta": "η",
            r"\lambda": "λ", r"\mu": "μ", r"\theta": "θ", r"\phi": "φ", r"\sum": "Σ"}
_SCRIPTS = {"_": str.maketrans("0123456789+-=()ijklmnt", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ᵢⱼₖₗₘₙₜ"),
            "^": str.maketrans("0123456789+-=()T", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ᵀ")}


def plain_maths(text: str) -> str:
    """``text`` with each ``$...$`` written in Unicode: ``$\\partial L/\\partial W_1$`` -> ``∂L/∂W₁``."""
    def unicode(match: re.Match[str]) -> str:
        maths = re.sub(r"\\mathrm\{([^}]*)\}", r"\1", match.group(1))
        for command, symbol in _SYMBOLS.items():
            maths = re.sub(re.escape(command) + r"(?![A-Za-z])\s*", symbol, maths)
        maths = re.sub(r"([_^])\{([^}]*)\}|([_^])(\w)",
                       lambda m: (m.group(2) or m.group(4)).translate(_SCRIPTS[m.group(1) or m.group(3)]),
                       maths)
        return maths
    return _MATHS.sub(unicode, text)


def drawn(text: str, **fields: object) -> str:
    """``text`` (already translated with ``_()``, or a label the notebook passed) filled with ``fields``,
    after switching the CJK fallback on when it holds CJK characters (and then its maths in Unicode:
    ``plain_maths``)."""
    text = text.format(**fields) if fields else text
    if _CJK.search(text):
        use_cjk_fallback()
        text = plain_maths(text)
    return text


def set_title(ax: Any, text: str, **kwargs: Any) -> Any:
    """``ax.set_title(drawn(text), **kwargs)``; a CJK title also names the fallback family itself, since
    an axes' title was made with the axes, before ``drawn`` could switch the fallback on."""
    text = drawn(text)
    if _CJK.search(text) and use_cjk_fallback():
        kwargs.setdefault("fontfamily", FONT_FAMILY)
    return ax.set_title(text, **kwargs)
