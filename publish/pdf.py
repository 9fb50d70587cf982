"""PDF export (reportlab): a readable book, 6 x 9 inches.

    write_pdf(manuscript, "book.pdf")

A title page, then each chapter on a new page with its title, justified paragraphs with
first-line indents, centred scene breaks, page numbers at the foot of every page after the
title page, and a PDF outline (bookmarks) with one entry per chapter. Fonts are embedded
TrueType (see publish/fonts.py), chosen per character, so the text is selectable and
searchable in any script the installed fonts cover. Text is escaped, never interpreted as
markup.

Right-to-left scripts (Hebrew, Arabic) need a bidirectional layout that reportlab gets only
from the ``rlbidi`` package, which is not on PyPI for this platform; a book containing them stops
with a message pointing to the EPUB and DOCX exports, which lay them out correctly.
"""

from __future__ import annotations

import re
from pathlib import Path

from publish.book import SCENE_BREAK, ExportError, Manuscript
from publish.fonts import CJK_RE, note_missing, pdf_fonts

PAGE_SIZE = (6 * 72, 9 * 72)
MARGINS = dict(leftMargin=54, rightMargin=54, topMargin=60, bottomMargin=60)
RTL_RE = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc]")


def _styles(fonts):
    from reportlab.lib.enums import TA_CENTER, TA_JUSTIFY
    from reportlab.lib.styles import ParagraphStyle

    body = ParagraphStyle("body", fontName=fonts.regular, fontSize=11, leading=15.5, firstLineIndent=18,
                          alignment=TA_JUSTIFY)
    return {
        "body": body,
        "first": ParagraphStyle("first", parent=body, firstLineIndent=0),
        "body_cjk": ParagraphStyle("body_cjk", parent=body, wordWrap="CJK"),
        "first_cjk": ParagraphStyle("first_cjk", parent=body, firstLineIndent=0, wordWrap="CJK"),
        "scene": ParagraphStyle("scene", parent=body, alignment=TA_CENTER, firstLineIndent=0, spaceBefore=8,
                                spaceAfter=8),
        "chapter": ParagraphStyle("chapter", parent=body, fontName=fonts.bold, fontSize=17, leading=22,
                                  alignment=TA_CENTER, firstLineIndent=0, spaceBefore=72, spaceAfter=30,
                                  wordWrap="CJK"),
        "title": ParagraphStyle("title", parent=body, fontName=fonts.bold, fontSize=26, leading=32,
                                alignment=TA_CENTER, firstLineIndent=0, spaceBefore=150, spaceAfter=28,
                                wordWrap="CJK"),
        "author": ParagraphStyle("author", parent=body, fontSize=15, leading=20, alignment=TA_CENTER,
                                 firstLineIndent=0, spaceAfter=40),
        "description": ParagraphStyle("description", parent=body, fontName=fonts.italic, alignment=TA_CENTER,
                                      firstLineIndent=0),
    }


def check_pdf_text(ms: Manuscript) -> None:
    """Stop before writing anything if the book holds text this PDF writer cannot lay out."""
    for chapter in ms.chapters:
        for text in [chapter.title, *chapter.paragraphs]:
            m = RTL_RE.search(text)
            if m:
                raise ExportError(
                    f"chapter {chapter.title!r} contains right-to-left text ({m.group(0)!r}...), which the PDF "
                    "writer cannot lay out without the rlbidi package; export EPUB or DOCX instead (both handle "
                    "Hebrew and Arabic), or make a PDF from the DOCX with a word processor")
    if RTL_RE.search(ms.title + ms.author + ms.description):
        raise ExportError("the book's title, author or description contains right-to-left text, which the PDF writer "
                          "cannot lay out; export EPUB or DOCX instead")


def write_pdf(ms: Manuscript, path: str | Path) -> Path:
    """Write ``ms`` as a PDF at ``path`` (the caller makes the write atomic)."""
    from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate

    check_pdf_text(ms)
    fonts = pdf_fonts()
    styles = _styles(fonts)
    all_text = "\n".join([ms.title, ms.author, ms.description]
                         + [t for c in ms.chapters for t in [c.title, *c.paragraphs]])
    note_missing(fonts, all_text)

    def para(text: str, style: str) -> Paragraph:
        if style in ("body", "first") and CJK_RE.search(text):
            style += "_cjk"
        return Paragraph(fonts.markup(text), styles[style])

    story = [para(ms.title, "title"), para(ms.author, "author")]
    if ms.description:
        story.append(para(ms.description, "description"))
    for i, chapter in enumerate(ms.chapters):
        story.append(PageBreak())
        heading = para(chapter.title, "chapter")
        heading._bookmark = (f"ch{i}", chapter.title)
        story.append(heading)
        after_break = True
        for block in chapter.blocks:
            if block is SCENE_BREAK:
                story.append(Paragraph("* * *", styles["scene"]))
                after_break = True
            else:
                story.append(para(block, "first" if after_break else "body"))
                after_break = False

    def page_number(canvas, doc):
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
