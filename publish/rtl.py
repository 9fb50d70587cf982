"""Right-to-left text (Hebrew, Arabic) for the PDF: shaping, line breaking, visual order.

reportlab draws glyphs left to right in the order it is given and lays out bidirectional text
only with the ``rlbidi`` package, which PyPI does not offer for this platform. So a paragraph
holding right-to-left text is laid out here instead:

    lines = layout_lines(text, width, first_indent, measure)   # logical order, wrapped
    visual = [to_visual(line, base) for line in lines]          # each line ready to draw

Arabic letters are first replaced by their joined presentation forms (``arabic-reshaper``),
the paragraph is wrapped on spaces in logical order, and each line is then reordered for
display by the Unicode bidirectional algorithm (``python-bidi``), so a line break never
reorders text across lines. Pure functions; ``available()`` says whether both packages are
installed.
"""

from __future__ import annotations

import functools
import re
from typing import Callable

RTL_RE = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc]")
ARABIC_RE = re.compile("[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff]")


@functools.lru_cache(maxsize=1)
def available() -> bool:
    try:
        import arabic_reshaper  # noqa: F401
        import bidi  # noqa: F401
    except ImportError:
        return False
    return True


def has_rtl(text: str) -> bool:
    return bool(RTL_RE.search(text))


def base_direction(text: str, default: str = "L") -> str:
    """'R' or 'L': the direction of the paragraph's first strong character (rule P2 of the
    bidirectional algorithm), else ``default``.

    >>> base_direction("שלום world"), base_direction("hello שלום"), base_direction("123", "R")
    ('R', 'L', 'R')
    """
    import unicodedata

    for ch in text:
        kind = unicodedata.bidirectional(ch)
        if kind in ("R", "AL"):
            return "R"
        if kind == "L":
            return "L"
    return default


def shape(text: str) -> str:
    """Arabic letters in their joined (initial, medial, final) forms; other text unchanged."""
    if not ARABIC_RE.search(text):
        return text
    import arabic_reshaper

    return arabic_reshaper.reshape(text)


def layout_lines(text: str, width: float, first_indent: float, measure: Callable[[str], float]) -> list[str]:
    """Greedy line breaking on spaces, in logical order. A word wider than a line gets a line
    of its own (reportlab would otherwise split it in visual order).

    >>> layout_lines("aa bb cc dd", 5, 0, len)
    ['aa bb', 'cc dd']
    """
    lines: list[str] = []
    current: list[str] = []
    limit = width - first_indent
    for word in text.split():
        trial = " ".join([*current, word])
        if current and measure(trial) > limit:
            lines.append(" ".join(current))
            current, limit = [word], width
        else:
            current.append(word)
    if current:
        lines.append(" ".join(current))
    return lines


def to_visual(line: str, base: str) -> str:
    """One line of logical-order text in the order it is drawn, left to right.

    >>> to_visual("abc שלום", "L")
    'abc םולש'
    """
    from bidi import get_display

    return get_display(line, base_dir=base)
