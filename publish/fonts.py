"""Fonts for PDF export: find TrueType fonts on this machine, embed them, and pick a font per
character so that text in any script the fonts cover is drawn (and selectable), not boxes.

    fonts = pdf_fonts()                      # registers them with reportlab once
    markup = fonts.markup("Tea 茶 & <cake>")  # escaped Paragraph markup with <font> runs

The chain is DejaVu Serif (Latin, Greek, Cyrillic), then DejaVu Sans (also Hebrew, Arabic and
many symbols), then WenQuanYi Micro Hei (Chinese, Japanese, Korean). The Debian packages
``fonts-dejavu-core`` and ``fonts-wqy-microhei`` provide them; matplotlib's own copy of DejaVu
is the fallback. A missing font is a ``FontNote`` warning naming the package to install, and
the PDF is still written with what is there. Characters beyond U+FFFF (emoji, historic scripts)
are reported the same way: reportlab cannot map them back to text.
"""

from __future__ import annotations

import functools
import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

from publish.book import ExportNote

FONT_DIRS = [
    "/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/dejavu", "/usr/share/fonts/TTF",
    "/usr/share/fonts/truetype/wqy", "/usr/share/fonts/wqy-microhei", "/usr/share/fonts/truetype",
    "/usr/local/share/fonts", "/Library/Fonts", os.path.expanduser("~/.fonts"),
]
CJK_RE = re.compile("[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]")


class FontNote(ExportNote):
    """Something about the fonts that the person exporting should know (a missing font)."""


def _find(name: str) -> Path | None:
    extra = os.environ.get("SCRIPTORIUM_FONT_DIR")
    for folder in ([extra] if extra else []) + FONT_DIRS:
        p = Path(folder) / name
        if p.is_file():
            return p
    try:
        import matplotlib

        p = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / name
        if p.is_file():
            return p
    except ImportError:
        pass
    return None


@dataclass
class PdfFonts:
    regular: str  # reportlab font names
    bold: str
    italic: str
    fallbacks: list[str] = field(default_factory=list)  # tried in order for characters `regular` lacks
    coverage: dict[str, frozenset[int]] = field(default_factory=dict)
    cjk: bool = False  # a CJK font is registered

    def font_for(self, code: int) -> str:
        for name in [self.regular, *self.fallbacks]:
            if code in self.coverage.get(name, ()):
                return name
        return self.regular

    def runs(self, text: str) -> list[tuple[str, str]]:
        """``text`` cut into (font name, text) runs, each drawable by its font. Spaces stay
        with the run they are in."""
        main = self.coverage.get(self.regular)
        if main is None or main.issuperset(map(ord, text)):
            return [(self.regular, text)]
        out, run, run_font = [], [], self.regular
        for ch in text:
            f = self.font_for(ord(ch)) if not ch.isspace() else run_font
            if f != run_font and run:
                out.append((run_font, "".join(run)))
                run = []
            run_font = f
            run.append(ch)
        if run:
            out.append((run_font, "".join(run)))
        return out

    def markup(self, text: str) -> str:
        """Escaped reportlab Paragraph markup for plain ``text``, with ``<font>`` around runs the
        main font cannot draw. Never interprets anything in ``text``."""
        return "".join(escape(t) if f == self.regular else f'<font name="{f}">{escape(t)}</font>'
                       for f, t in self.runs(text))

    def width(self, text: str, size: float, font: str | None = None) -> float:
        """Width in points of ``text`` drawn with per-character fallbacks; ``font`` replaces
        the main font (a bold heading, say)."""
        from reportlab.pdfbase.pdfmetrics import stringWidth

        return sum(stringWidth(t, font if (font and f == self.regular) else f, size) for f, t in self.runs(text))

    def missing(self, text: str) -> set[str]:
        """Characters no registered font can draw."""
        every = frozenset().union(*self.coverage.values()) if self.coverage else frozenset()
        return {ch for ch in set(text) if not ch.isspace() and ord(ch) not in every}


def _register(name: str, path: Path, subfont: int = 0) -> frozenset[int]:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    font = TTFont(name, str(path), subfontIndex=subfont)
    pdfmetrics.registerFont(font)
    # reportlab's text map truncates code points above U+FFFF (copying an emoji from the PDF
    # gives another character), so those count as not covered and are reported instead.
    return frozenset(c for c in font.face.charWidths if c <= 0xFFFF)


@functools.lru_cache(maxsize=1)
def pdf_fonts() -> PdfFonts:
    """Register the PDF fonts with reportlab (once per process) and say what they cover."""
    from reportlab.lib.fonts import addMapping

    serif = {style: _find(f"DejaVuSerif{suffix}.ttf")
             for style, suffix in (("regular", ""), ("bold", "-Bold"), ("italic", "-Italic"))}
    sans = _find("DejaVuSans.ttf")
    cjk = _find("wqy-microhei.ttc")
    coverage: dict[str, frozenset[int]] = {}
    if serif["regular"] is None:
        warnings.warn(FontNote("DejaVu Serif not found; the PDF uses Times-Roman, which draws only Latin-1 "
                               "characters (install the fonts-dejavu-core package for the rest)"), stacklevel=2)
        fonts = PdfFonts("Times-Roman", "Times-Bold", "Times-Italic")
        coverage["Times-Roman"] = frozenset(range(32, 256))
    else:
        names = {}
        for style, path in serif.items():
            name = f"ScriptoriumSerif-{style}"
            coverage[name] = _register(name, path or serif["regular"])
            names[style] = name
        addMapping("ScriptoriumSerif", 0, 0, names["regular"])
        addMapping("ScriptoriumSerif", 1, 0, names["bold"])
        addMapping("ScriptoriumSerif", 0, 1, names["italic"])
        addMapping("ScriptoriumSerif", 1, 1, names["bold"])
        fonts = PdfFonts(names["regular"], names["bold"], names["italic"])
    if sans is not None:
        coverage["ScriptoriumSans"] = _register("ScriptoriumSans", sans)
        fonts.fallbacks.append("ScriptoriumSans")
    if cjk is not None:
        coverage["ScriptoriumCJK"] = _register("ScriptoriumCJK", cjk, 0)
        fonts.fallbacks.append("ScriptoriumCJK")
        fonts.cjk = True
    fonts.coverage = coverage
    return fonts


def note_missing(fonts: PdfFonts, text: str) -> None:
    """Warn (FontNote) about characters the PDF will draw as empty boxes."""
    missing = fonts.missing(text)
    if not missing:
        return
    sample = "".join(sorted(missing)[:12])
    hint = (" (install fonts-wqy-microhei for Chinese, Japanese and Korean)"
            if CJK_RE.search("".join(missing)) and not fonts.cjk else "")
    warnings.warn(FontNote(f"{len(missing)} distinct characters have no font here and show as boxes in the PDF, "
                           f"e.g. {sample!r}{hint}; the EPUB and DOCX exports keep them"), stacklevel=2)
