"""PDF export (reportlab): a readable book, 6 x 9 inches.

    write_pdf(manuscript, "book.pdf")

An optional cover page, a title page, then each chapter on a new page with its title, justified paragraphs with
first-line indents, centred scene breaks, page numbers at the foot of every page after the
title page, and a PDF outline (bookmarks) with one entry per chapter. Fonts are embedded
TrueType (see publish/fonts.py), chosen per character, so the text is selectable and
searchable in any script the installed fonts cover. Text is escaped, never interpreted as
markup.

Paragraphs holding right-to-left text (Hebrew, Arabic) are shaped, wrapped and put in visual
order line by line by publish/rtl.py (reportlab alone would draw them backwards); they are set
ragged (right-aligned when the paragraph starts right-to-left) rather than justified. Without
the ``python-bidi`` and ``arabic-reshaper`` packages such a book stops with a message instead.
"""

from __future__ import annotations

import io
from pathlib import Path

from publish import rtl
from publish.book import SCENE_BREAK, ExportError, Manuscript
from publish.cover import Cover
from publish.fonts import CJK_RE, note_missing, pdf_fonts

PAGE_SIZE = (6 * 72, 9 * 72)
MARGINS = dict(leftMargin=54, rightMargin=54, topMargin=60, bottomMargin=60)
TEXT_WIDTH = PAGE_SIZE[0] - MARGINS["leftMargin"] - MARGINS["rightMargin"]
LONG_PARAGRAPH_WORDS = 1500  # longer paragraphs are set in pieces: see split_long


def split_long(text: str, limit: int = LONG_PARAGRAPH_WORDS) -> list[str]:
    """Cut a very long paragraph into pieces of at most about ``limit`` words, at sentence ends
    where there are any. reportlab re-wraps the rest of a paragraph at every page break, so a
    50,000-word paragraph (a model that never wrote a newline) would take minutes; pieces keep
    it linear. A piece ends with a short line, which only such paragraphs show.

    >>> split_long("a b. c d. e f", limit=3)
    ['a b.', 'c d.', 'e f']
    """
    words = text.split(" ")
    if len(words) <= limit:
        return [text]
    pieces, start = [], 0
    while len(words) - start > limit:
        end = start + limit
        for i in range(end, start + limit // 2, -1):  # back to the last sentence end, if near
            if words[i - 1].endswith((".", "!", "?", "。", "”", '"')):
                end = i
                break
        pieces.append(" ".join(words[start:end]))
        start = end
    pieces.append(" ".join(words[start:]))
    return pieces


def _styles(fonts):
    from reportlab.lib.enums import TA_CENTER, TA_JUSTIFY
    from reportlab.lib.styles import ParagraphStyle

    body = ParagraphStyle("body", fontName=fonts.regular, fontSize=11, leading=15.5, firstLineIndent=18,
                          alignment=TA_JUSTIFY)
    return {
        "body": body,
        "first": ParagraphStyle("first", parent=body, firstLineIndent=0),
        "scene": ParagraphStyle("scene", parent=body, alignment=TA_CENTER, firstLineIndent=0, spaceBefore=8,
                                spaceAfter=8),
        "chapter": ParagraphStyle("chapter", parent=body, fontName=fonts.bold, fontSize=17, leading=22,
                                  alignment=TA_CENTER, firstLineIndent=0, spaceBefore=72, spaceAfter=30),
        "title": ParagraphStyle("title", parent=body, fontName=fonts.bold, fontSize=26, leading=32,
                                alignment=TA_CENTER, firstLineIndent=0, spaceBefore=150, spaceAfter=28),
        "author": ParagraphStyle("author", parent=body, fontSize=15, leading=20, alignment=TA_CENTER,
                                 firstLineIndent=0, spaceAfter=40),
        "description": ParagraphStyle("description", parent=body, fontName=fonts.italic, alignment=TA_CENTER,
                                      firstLineIndent=0),
    }


def check_pdf_text(ms: Manuscript) -> None:
    """Stop before writing anything if the book holds text this PDF writer cannot lay out."""
    if rtl.available():
        return
    for text in [ms.title, ms.author, ms.description] + [t for c in ms.chapters for t in [c.title, *c.paragraphs]]:
        m = rtl.RTL_RE.search(text)
        if m:
            raise ExportError(
                f"the book contains right-to-left text ({m.group(0)!r}...), which the PDF writer lays out only with "
                "the python-bidi and arabic-reshaper packages (pip install python-bidi arabic-reshaper); or export "
                "EPUB or DOCX, which handle Hebrew and Arabic")


def rtl_paragraph(text: str, style, fonts, default_base: str = "L") -> list:
    """A paragraph with right-to-left text, one drawn line per line, each already in visual
    order. The first-line indent goes on the side the paragraph starts from."""
    from reportlab.lib.enums import TA_CENTER
    from reportlab.platypus import Flowable

    base = rtl.base_direction(text, default_base)
    shaped = rtl.shape(text)
    indent = 0 if style.alignment == TA_CENTER else style.firstLineIndent

    def measure(t: str) -> float:
        return fonts.width(t, style.fontSize, style.fontName)

    class Line(Flowable):
        """One line drawn run by run: reportlab never re-wraps it (it would do so in visual order)."""

        def __init__(self, visual: str, indent: float, before: float, after: float):
            super().__init__()
            self.runs, self.indent, self.before, self.after = fonts.runs(visual), indent, before, after
            self.text_width = measure(visual)

        def wrap(self, avail_width, avail_height):
            self.avail = avail_width
            return avail_width, style.leading

        def getSpaceBefore(self):
            return self.before

        def getSpaceAfter(self):
            return self.after

        def draw(self):
            if style.alignment == TA_CENTER:
                x = (self.avail - self.text_width) / 2
            elif base == "R":
                x = self.avail - self.indent - self.text_width
            else:
                x = self.indent
            canvas = self.canv
            for font, run in self.runs:
                size = style.fontSize
                canvas.setFont(style.fontName if font == fonts.regular else font, size)
                canvas.drawString(x, style.leading - size, run)
                x += fonts.width(run, size, style.fontName)

    lines = rtl.layout_lines(shaped, TEXT_WIDTH, indent, measure)
    return [Line(rtl.to_visual(line, base), indent if i == 0 else 0,
                 style.spaceBefore if i == 0 else 0, style.spaceAfter if i == len(lines) - 1 else 0)
            for i, line in enumerate(lines)]


def write_pdf(ms: Manuscript, path: str | Path, cover: Cover | None = None) -> Path:
    """Write ``ms`` as a PDF at ``path`` (the caller makes the write atomic), with ``cover``
    on a page of its own before the title page."""
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import Image, PageBreak, Paragraph, SimpleDocTemplate

    check_pdf_text(ms)
    fonts = pdf_fonts()
    styles = _styles(fonts)
    all_text = "\n".join([ms.title, ms.author, ms.description]
                         + [t for c in ms.chapters for t in [c.title, *c.paragraphs]])
    note_missing(fonts, all_text)

    default_base = "R" if ms.direction == "rtl" else "L"

    def para(text: str, style: str) -> list:
        if rtl.has_rtl(text):
            return rtl_paragraph(text, styles[style], fonts, default_base)
        if CJK_RE.search(text):  # break lines between any two CJK characters (not mid-word in Latin text)
            if style + "_cjk" not in styles:
                styles[style + "_cjk"] = ParagraphStyle(style + "_cjk", parent=styles[style], wordWrap="CJK")
            style += "_cjk"
        return [Paragraph(fonts.markup(text), styles[style])]

    story = []
    if cover is not None:
        frame_height = PAGE_SIZE[1] - MARGINS["topMargin"] - MARGINS["bottomMargin"] - 12
        scale = min(TEXT_WIDTH / cover.width, frame_height / cover.height)
        story += [Image(io.BytesIO(cover.data), cover.width * scale, cover.height * scale), PageBreak()]
    unnumbered = 2 if cover is not None else 1  # the cover and title pages carry no number
    story += [*para(ms.title, "title"), *para(ms.author, "author")]
    if ms.description:
        story += para(ms.description, "description")
    for i, chapter in enumerate(ms.chapters):
        story.append(PageBreak())
        heading = para(chapter.title, "chapter")
        heading[0]._bookmark = (f"ch{i}", chapter.title)
        story += heading
        after_break = True
        for block in chapter.blocks:
            if block is SCENE_BREAK:
                story.append(Paragraph("* * *", styles["scene"]))
                after_break = True
            else:
                for n, piece in enumerate(split_long(block)):
                    story += para(piece, "first" if after_break or n else "body")
                after_break = False

    def page_number(canvas, doc):
        if doc.page <= unnumbered:
            return
        canvas.saveState()
        canvas.setFont(fonts.regular, 9)
        canvas.drawCentredString(PAGE_SIZE[0] / 2, 30, str(doc.page))
        canvas.restoreState()

    class BookTemplate(SimpleDocTemplate):
        def afterFlowable(self, flowable):
            mark = getattr(flowable, "_bookmark", None)
            if mark:
                key, title = mark
                self.canv.bookmarkPage(key)
                self.canv.addOutlineEntry(title, key, level=0)

    doc = BookTemplate(str(path), pagesize=PAGE_SIZE, title=ms.title, author=ms.author, subject=ms.description,
                       creator="Scriptorium", lang=ms.language, initialFontName=fonts.regular,
                       **MARGINS)
    doc.build(story, onFirstPage=lambda c, d: None, onLaterPages=page_number)
    return Path(path)
