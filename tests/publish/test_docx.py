"""DOCX export: the words come back in order, and the manuscript's styles (font, size, spacing,
indent, margins, running header, title page) and the ebook layout read back as specified."""

import docx
import pytest
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml.ns import qn
from docx.shared import Inches, Pt

from publish import export_book
from publish.book import clean_text
from publish.docx import keyword, surname
from publish.book import Manuscript
from tests.publish.books import BAD_CHAPTERS, BAD_TITLE, RTL_CHAPTERS, chapter_words, make_book, words

BODY_STYLES = {"Normal"}


def body_chapters(document, heading_style):
    """[(title, words)] from a DOCX: a paragraph in ``heading_style`` opens a chapter."""
    chapters = []
    for p in document.paragraphs:
        if p.style.name == heading_style:
            chapters.append((p.text, []))
        elif chapters and p.style.name in BODY_STYLES:
            chapters[-1][1].extend(words(p.text))
    return chapters


def test_manuscript_format(record, tmp_path):
    book_id = make_book(record, settings={"contact": "12 Harbour Road\nSaltby SB1 2CD\nann@example.com"})
    path = export_book(record, book_id, "manuscript", tmp_path)
    assert path.name == "The_Lighthouse-manuscript.docx"
    d = docx.Document(path)

    normal = d.styles["Normal"]
    assert normal.font.name == "Times New Roman" and normal.font.size == Pt(12)
    fonts = normal.element.rPr.rFonts
    assert fonts.get(qn("w:eastAsia")) == fonts.get(qn("w:cs")) == "Times New Roman"
    pf = normal.paragraph_format
    assert pf.line_spacing_rule == WD_LINE_SPACING.DOUBLE and pf.first_line_indent == Inches(0.5)
    assert pf.space_before == pf.space_after == Pt(0)
    s = d.sections[0]
    assert (s.page_width, s.page_height) == (Inches(8.5), Inches(11))
    assert s.left_margin == s.right_margin == s.top_margin == s.bottom_margin == Inches(1)

    # Running header from page two: the first page has its own (empty) header.
    assert s.different_first_page_header_footer
    assert s.first_page_header.paragraphs[0].text == ""
    header = s.header.paragraphs[0]
    assert header.text.startswith("Keeper / Lighthouse / ")
    assert "PAGE" in "".join(t.text for t in header._p.iter(qn("w:instrText")))
    assert header.alignment == WD_ALIGN_PARAGRAPH.RIGHT

    paras = d.paragraphs
    total = sum(len(w) for w in chapter_words(record, book_id))
    assert paras[0].text == f"Ann Keeper\tabout {max(100, (total + 50) // 100 * 100):,} words"
    assert [p.text for p in paras[1:4]] == ["12 Harbour Road", "Saltby SB1 2CD", "ann@example.com"]
    assert paras[4].text == "The Lighthouse" and paras[5].text == "by Ann Keeper"
    assert paras[4].style.paragraph_format.alignment == WD_ALIGN_PARAGRAPH.CENTER

    chapters = body_chapters(d, "Chapter Title")
    assert [c[0] for c in chapters] == ["The Lamp", "The Door", "The Letter"]
    assert [c[1] for c in chapters] == chapter_words(record, book_id)
    assert d.styles["Chapter Title"].paragraph_format.page_break_before
    scenes = [p for p in paras if p.style.name == "Scene Break"]
    assert [p.text for p in scenes] == ["#", "#"]
    assert d.styles["Scene Break"].paragraph_format.alignment == WD_ALIGN_PARAGRAPH.CENTER
    assert paras[-1].text == "END" and paras[-1].style.paragraph_format.alignment == WD_ALIGN_PARAGRAPH.CENTER
    # Indents come from the style: no tabs, no direct indents, in the body.
    body = [p for p in paras if p.style.name == "Normal"]
    assert body and all("\t" not in p.text and p.paragraph_format.first_line_indent is None for p in body)


def test_word_count_rounds_to_nearest_hundred(record, tmp_path):
    book_id = make_book(record, chapters=[("One", " ".join(["word"] * 1249)), ("Two", "")])
    d = docx.Document(export_book(record, book_id, "manuscript", tmp_path))
    assert d.paragraphs[0].text.endswith("\tabout 1,200 words")


def test_header_names_from_settings_and_guesses():
    ms = Manuscript(1, "A Door in the Sea", "Mary Ann Evans", settings={})
    assert (surname(ms), keyword(ms)) == ("Evans", "Door")
    ms.settings = {"surname": "Eliot", "keyword": "Sea"}
    assert (surname(ms), keyword(ms)) == ("Eliot", "Sea")


def test_ebook_layout(record, tmp_path):
    book_id = make_book(record, description="A keeper and a door.")
    d = docx.Document(export_book(record, book_id, "docx", tmp_path))
    paras = d.paragraphs
    assert paras[0].style.name == "Title" and paras[0].text == "The Lighthouse"
    assert paras[1].style.name == "Subtitle" and paras[1].text == "Ann Keeper"
    chapters = body_chapters(d, "Heading 1")
    assert [c[0] for c in chapters] == ["The Lamp", "The Door", "The Letter"]
    assert [c[1] for c in chapters] == chapter_words(record, book_id)
    assert d.styles["Heading 1"].paragraph_format.page_break_before
    instr = " ".join(t.text for t in d.element.body.iter(qn("w:instrText")))
    assert "TOC" in instr and '\\o "1-1"' in instr
    assert d.settings.element.find(qn("w:updateFields")) is not None
    # No manual spacing: no empty paragraphs, no tabs, no runs of spaces, no direct spacing.
    assert all(p.text.strip() for p in paras)
    assert not any("\t" in p.text or "  " in p.text for p in paras)
    assert all(p.paragraph_format.space_before is None and p.paragraph_format.space_after is None for p in paras)
    assert not [r for r in d.element.body.iter(qn("w:br"))]  # page breaks come from the heading style


@pytest.mark.parametrize("fmt, heading", [("docx", "Heading 1"), ("manuscript", "Chapter Title")])
def test_bad_input_comes_back_as_text(record, tmp_path, fmt, heading):
    book_id = make_book(record, title=BAD_TITLE, chapters=BAD_CHAPTERS + RTL_CHAPTERS)
    d = docx.Document(export_book(record, book_id, fmt, tmp_path))
    chapters = body_chapters(d, heading)
    assert [c[0] for c in chapters] == [clean_text(t) for t, _ in BAD_CHAPTERS + RTL_CHAPTERS]
    assert [c[1] for c in chapters] == chapter_words(record, book_id)
    assert d.core_properties.title == BAD_TITLE


def test_right_to_left_language_sets_bidi(record, tmp_path):
    book_id = make_book(record, title="ספר", chapters=RTL_CHAPTERS, language="he")
    d = docx.Document(export_book(record, book_id, "manuscript", tmp_path))
    normal = d.styles["Normal"].element
    assert normal.pPr.find(qn("w:bidi")) is not None
    assert normal.rPr.find(qn("w:lang")).get(qn("w:bidi")) == "he"


def test_paragraphs_running_the_other_way_are_marked(record, tmp_path):
    book_id = make_book(record, chapters=[("One", "English first.\n\nשלום עולם, with English after.")])
    d = docx.Document(export_book(record, book_id, "manuscript", tmp_path))
    body = [p for p in d.paragraphs if p.style.name == "Normal"]
    bidi = [p._p.pPr.find(qn("w:bidi")) if p._p.pPr is not None else None for p in body]
    assert bidi[0] is None and bidi[1].get(qn("w:val")) == "1"


def test_long_description_fits_the_core_properties(record, tmp_path):
    book_id = make_book(record, description="A keeper and a door. " * 40)
    d = docx.Document(export_book(record, book_id, "docx", tmp_path))
    assert d.core_properties.comments.startswith("A keeper and a door.")
    assert len(d.core_properties.comments) == 255


def _body_one_paragraph_at_a_time(doc, ms, heading_style, body_style, scene_style, scene_mark):
    """The body as python-docx's own ``add_paragraph`` writes it (quadratic in paragraphs): the
    reference the fast body writer must match byte for byte."""
    from publish.book import SCENE_BREAK
    from publish.docx import _add, _other_direction

    def add(text, style):
        p = doc.add_paragraph(text, style)
        bidi = _other_direction(text, ms.direction)
        if bidi and style is not scene_style:
            _add(p._p.get_or_add_pPr(), "w:bidi", val=bidi)

    for chapter in ms.chapters:
        add(chapter.title, heading_style)
        for block in chapter.blocks:
            add(scene_mark, scene_style) if block is SCENE_BREAK else add(block, body_style)


@pytest.mark.parametrize("fmt", ["docx", "manuscript"])
@pytest.mark.parametrize("chapters, language", [(None, "en"), (BAD_CHAPTERS, "en"), (RTL_CHAPTERS, "he"),
                                                (RTL_CHAPTERS, "en")])
def test_the_fast_body_writes_exactly_what_add_paragraph_writes(record, tmp_path, monkeypatch, fmt, chapters, language):
    import zipfile

    import publish.docx

    extra = {"chapters": chapters} if chapters else {}
    book_id = make_book(record, language=language, **extra)
    record.add_chapter(book_id, " Spaces around ", "  leading and trailing spaces  \n\nx")
    fast = export_book(record, book_id, fmt, tmp_path / "fast.docx")
    monkeypatch.setattr(publish.docx, "_body", _body_one_paragraph_at_a_time)
    slow = export_book(record, book_id, fmt, tmp_path / "slow.docx")

    def xml(path):
        with zipfile.ZipFile(path) as z:
            return z.read("word/document.xml")

    assert xml(fast) == xml(slow)
