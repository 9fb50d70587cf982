"""DOCX export (python-docx) in two layouts.

    write_manuscript_docx(ms, "book.docx")   # standard manuscript format, for agents and magazines
    write_ebook_docx(ms, "book.docx")        # for ebook stores that take Word files (KDP and the like)

**Manuscript** (the "Shunn" standard manuscript format): US Letter, 1-inch margins, 12 pt Times
New Roman, double-spaced, 0.5-inch first-line indents set in the Normal paragraph style (never
tabs); a title page with the contact block (book settings ``legal_name`` and ``contact``, else
the author) and the word count rounded to the nearest hundred; the running header
"Surname / Keyword / page" from page two (settings ``surname`` and ``keyword`` override the
guesses); every chapter on a new page; scene breaks as a centred "#"; "END" at the close.

**Ebook**: title and author in the Title and Subtitle styles, a table-of-contents field (Word
fills it in when the file is opened: the file asks to update fields), chapter titles in
Heading 1, which starts a new page, body text indented by style, no empty paragraphs, tabs or
manual spacing anywhere.

Text is written as text: nothing in a chapter is interpreted as formatting.
"""

from __future__ import annotations

from pathlib import Path

from publish.book import SCENE_BREAK, Manuscript, round_to_hundred
from publish.rtl import base_direction, has_rtl

MANUSCRIPT_FONT = "Times New Roman"
_KEYWORD_SKIP = {"a", "an", "the", "of", "and", "on", "in", "to", "le", "la", "les", "el", "los", "der", "die", "das"}


def surname(ms: Manuscript) -> str:
    """The surname for the running header: settings ``surname``, else the last word of the
    legal name or author (Latin names; set ``surname`` for others)."""
    given = ms.settings.get("surname")
    if given:
        return str(given).strip()
    name = str(ms.settings.get("legal_name") or ms.author).replace(",", " ").split()
    return name[-1] if name else "Anonymous"


def keyword(ms: Manuscript) -> str:
    """A keyword from the title for the running header: settings ``keyword``, else the first
    word of the title that is not an article, stripped of punctuation.

    >>> keyword(Manuscript(1, "The Lighthouse Keeper's Daughter", "A"))
    'Lighthouse'
    """
    given = ms.settings.get("keyword")
    if given:
        return str(given).strip()
    words = ["".join(ch for ch in w if ch.isalnum() or ch in "'’-") for w in ms.title.split()]
    words = [w for w in words if w]
    for w in words:
        if w.lower() not in _KEYWORD_SKIP:
            return w
    return words[0] if words else "Untitled"


def contact_lines(ms: Manuscript) -> list[str]:
    """Name and contact details for the title page: settings ``legal_name`` and ``contact``
    (a string with one line per line, or a list of lines)."""
    lines = [str(ms.settings.get("legal_name") or ms.author)]
    contact = ms.settings.get("contact") or []
    if isinstance(contact, str):
        contact = contact.splitlines()
    lines += [" ".join(str(c).split()) for c in contact if str(c).strip()]
    return lines


def word_count_label(words: int) -> str:
    """The title page's word count.

    >>> word_count_label(80_049)
    'about 80,000 words'
    """
    return f"about {round_to_hundred(words):,} words"


# ---- low-level helpers ------------------------------------------------------------------------

# Word rejects a file whose XML children are out of schema order, so each element added by hand
# goes before the first of the elements the schema puts after it.
_AFTER = {
    "w:bidi": ("w:adjustRightInd", "w:snapToGrid", "w:spacing", "w:ind", "w:contextualSpacing", "w:mirrorIndents",
               "w:suppressOverlap", "w:jc", "w:textDirection", "w:textAlignment", "w:textboxTightWrap",
               "w:outlineLvl", "w:divId", "w:cnfStyle", "w:rPr", "w:sectPr", "w:pPrChange"),
    "w:outlineLvl": ("w:divId", "w:cnfStyle", "w:rPr", "w:sectPr", "w:pPrChange"),
    "w:rtl": ("w:cs", "w:em", "w:lang", "w:eastAsianLayout", "w:specVanish", "w:oMath"),
    "w:lang": ("w:eastAsianLayout", "w:specVanish", "w:oMath"),
    "w:updateFields": ("w:hdrShapeDefaults", "w:footnotePr", "w:endnotePr", "w:compat", "w:docVars", "w:rsids",
                       "m:mathPr", "w:attachedSchema", "w:themeFontLang", "w:clrSchemeMapping",
                       "w:doNotIncludeSubdocsInStats", "w:doNotAutoCompressPictures", "w:forceUpgrade", "w:captions",
                       "w:readModeInkLockDown", "w:smartTagType", "w:shapeDefaults", "w:doNotEmbedSmartTags",
                       "w:decimalSymbol", "w:listSeparator"),
}


def _add(parent, tag: str, **attrs: str):
    """Add ``<tag attrs/>`` to ``parent`` (replacing one already there) in schema order."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    for old in parent.findall(qn(tag)):
        parent.remove(old)
    el = OxmlElement(tag)
    for key, value in attrs.items():
        el.set(qn(f"w:{key}"), value)
    parent.insert_element_before(el, *_AFTER[tag])
    return el



def _set_fonts(style_or_run, name: str) -> None:
    """Set a font for every script slot (Latin, East Asian, complex), so Word does not fall back
    to the theme font for some characters."""
    from docx.oxml.ns import qn

    style_or_run.font.name = name
    rpr = style_or_run.element.get_or_add_rPr()
    fonts = rpr.get_or_add_rFonts()
    for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(attr), name)
    for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(attr), None)


def _set_language(style, lang: str, rtl: bool) -> None:
    rpr = style.element.get_or_add_rPr()
    _add(rpr, "w:lang", val=lang, eastAsia=lang, bidi=lang)
    if rtl:
        _add(style.element.get_or_add_pPr(), "w:bidi")
        _add(rpr, "w:rtl")


def _field(paragraph, instruction: str, placeholder: str) -> None:
    """Append a complex field (PAGE, TOC, ...) with placeholder text to a paragraph."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    def char(kind: str, dirty: bool = False):
        run = paragraph.add_run()
        fc = OxmlElement("w:fldChar")
        fc.set(qn("w:fldCharType"), kind)
        if dirty:
            fc.set(qn("w:dirty"), "true")
        run._r.append(fc)

    char("begin", dirty=instruction.startswith("TOC"))
    run = paragraph.add_run()
    instr = OxmlElement("w:instrText")
    instr.set(qn("xml:space"), "preserve")
    instr.text = f" {instruction} "
    run._r.append(instr)
    char("separate")
    paragraph.add_run(placeholder)
    char("end")


def _body_text_level(style) -> None:
    """Outline level "body text", so a style based on Heading 1 stays out of the TOC."""
    _add(style.element.get_or_add_pPr(), "w:outlineLvl", val="9")


def _ask_to_update_fields(doc) -> None:
    _add(doc.settings.element, "w:updateFields", val="true")


def _paragraph_style(doc, name: str, base=None):
    from docx.enum.style import WD_STYLE_TYPE

    style = doc.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
    style.base_style = base or doc.styles["Normal"]
    style.quick_style = True
    return style


def _core_properties(doc, ms: Manuscript) -> None:
    props = doc.core_properties
    props.title = ms.title
    props.author = ms.author
    props.language = ms.language
    props.subject = ms.genre
    props.comments = ms.description[:255]  # the core-properties field holds at most 255 characters
    props.keywords = ms.genre


def _other_direction(text: str, book_direction: str) -> str | None:
    """'1' or '0' for a paragraph whose text runs the other way from the book's (a Hebrew
    paragraph in an English book, or the reverse), so Word sets it from the proper side; else None."""
    if book_direction == "ltr" and not has_rtl(text):
        return None
    own = base_direction(text, "R" if book_direction == "rtl" else "L")
    if (own == "R") == (book_direction == "rtl"):
        return None
    return "1" if own == "R" else "0"


def _paragraph_xml(text: str, style_id: str | None, bidi: str | None) -> str:
    """One paragraph as python-docx's ``add_paragraph(text, style)`` writes it (an empty pPr for
    the default style, ``xml:space="preserve"`` when the text has outer spaces)."""
    from xml.sax.saxutils import escape

    ppr = (f'<w:pStyle w:val="{escape(style_id, {chr(34): "&quot;"})}"/>' if style_id else "") + \
        (f'<w:bidi w:val="{bidi}"/>' if bidi else "")
    run = ""
    if text:
        space = ' xml:space="preserve"' if len(text.strip()) < len(text) else ""
        run = f"<w:r><w:t{space}>{escape(text)}</w:t></w:r>"
    return f"<w:p><w:pPr>{ppr}</w:pPr>{run}</w:p>" if ppr else f"<w:p><w:pPr/>{run}</w:p>"


def _body(doc, ms: Manuscript, heading_style, body_style, scene_style, scene_mark: str) -> None:
    """Chapters: heading, then paragraphs and scene breaks.

    The body is written as XML and parsed a few thousand paragraphs at a time, then moved in
    before the section properties: python-docx's ``add_paragraph`` finds the section properties
    by scanning the body (quadratic in paragraphs: a one-chapter, 4-million-word book did not
    finish in 27 minutes), looks the style up among all styles and handles the text one
    character at a time. The XML is exactly what ``add_paragraph`` writes."""
    from docx.enum.style import WD_STYLE_TYPE
    from docx.oxml.ns import nsdecls
    from docx.oxml.parser import parse_xml

    default = doc.styles.default(WD_STYLE_TYPE.PARAGRAPH)

    def style_id(style) -> str | None:
        return None if default is not None and style.style_id == default.style_id else style.style_id

    heading, body, scene = style_id(heading_style), style_id(body_style), style_id(scene_style)
    sect_pr = doc.element.body.sectPr  # paragraphs go before it, as add_paragraph puts them
    chunk: list[str] = []

    def flush() -> None:
        if not chunk:
            return
        parsed = parse_xml(f"<w:body {nsdecls('w')}>{''.join(chunk)}</w:body>")
        for p in list(parsed):
            if sect_pr is not None:
                sect_pr.addprevious(p)
            else:
                doc.element.body.append(p)
        chunk.clear()

    for chapter in ms.chapters:
        chunk.append(_paragraph_xml(chapter.title, heading, _other_direction(chapter.title, ms.direction)))
        for block in chapter.blocks:
            if block is SCENE_BREAK:
                chunk.append(_paragraph_xml(scene_mark, scene, None))
            else:
                chunk.append(_paragraph_xml(block, body, _other_direction(block, ms.direction)))
            if len(chunk) >= 2000:
                flush()
    flush()


# ---- the two layouts --------------------------------------------------------------------------


def write_manuscript_docx(ms: Manuscript, path: str | Path) -> Path:
    """Standard manuscript format, for submissions to agents and magazines."""
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING, WD_TAB_ALIGNMENT
    from docx.shared import Inches, Pt

    doc = Document()
    _core_properties(doc, ms)
    section = doc.sections[0]
    section.page_width, section.page_height = Inches(8.5), Inches(11)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Inches(1))
    section.header_distance = Inches(0.5)
    section.different_first_page_header_footer = True

    normal = doc.styles["Normal"]
    _set_fonts(normal, MANUSCRIPT_FONT)
    normal.font.size = Pt(12)
    _set_language(normal, ms.language, ms.direction == "rtl")
    pf = normal.paragraph_format
    pf.line_spacing_rule = WD_LINE_SPACING.DOUBLE
    pf.space_before = pf.space_after = Pt(0)
    pf.first_line_indent = Inches(0.5)
    pf.widow_control = True

    def unindented(name: str, align=WD_ALIGN_PARAGRAPH.CENTER, single: bool = False):
        style = _paragraph_style(doc, name)
        style.paragraph_format.first_line_indent = Inches(0)
        style.paragraph_format.alignment = align
        if single:
            style.paragraph_format.line_spacing_rule = WD_LINE_SPACING.SINGLE
        return style

    contact = unindented("Contact Block", WD_ALIGN_PARAGRAPH.LEFT, single=True)
    contact.paragraph_format.tab_stops.add_tab_stop(Inches(6.5), WD_TAB_ALIGNMENT.RIGHT)
    title_style = unindented("Manuscript Title")
    title_style.paragraph_format.space_before = Inches(3)
    byline = unindented("Byline")
    chapter_style = unindented("Chapter Title")
    chapter_style.paragraph_format.page_break_before = True
    chapter_style.paragraph_format.space_before = Inches(2)  # chapters open a third of the way down
    chapter_style.paragraph_format.keep_with_next = True
    scene = unindented("Scene Break")
    end = unindented("End Mark")

    header_style = doc.styles["Header"]
    header_style.paragraph_format.first_line_indent = Inches(0)
    header_style.paragraph_format.line_spacing_rule = WD_LINE_SPACING.SINGLE
    header = section.header.paragraphs[0]
    header.style = header_style
    header.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    header.add_run(f"{surname(ms)} / {keyword(ms)} / ")
    _field(header, "PAGE", "2")

    # Title page: name and contact block top left, word count top right, title halfway down.
    lines = contact_lines(ms)
    doc.add_paragraph(f"{lines[0]}\t{word_count_label(ms.words)}", contact)
    for line in lines[1:]:
        doc.add_paragraph(line, contact)
    doc.add_paragraph(ms.title, title_style)
    doc.add_paragraph(f"by {ms.author}", byline)

    _body(doc, ms, chapter_style, normal, scene, "#")
    doc.add_paragraph("END", end)
    doc.save(str(path))
    return Path(path)


def write_ebook_docx(ms: Manuscript, path: str | Path) -> Path:
    """Layout for ebook stores that convert Word files: styles only, no manual spacing."""
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Inches, Pt

    doc = Document()
    _core_properties(doc, ms)
    normal = doc.styles["Normal"]
    _set_fonts(normal, "Georgia")
    normal.font.size = Pt(11)
    _set_language(normal, ms.language, ms.direction == "rtl")
    pf = normal.paragraph_format
    pf.first_line_indent = Inches(0.3)
    pf.space_before = pf.space_after = Pt(0)
    pf.line_spacing = 1.15

    def styled(name: str, align=WD_ALIGN_PARAGRAPH.CENTER):
        style = doc.styles[name]
        style.paragraph_format.first_line_indent = Inches(0)
        style.paragraph_format.alignment = align
        _set_fonts(style, "Georgia")
        return style

    title = styled("Title")
    subtitle = styled("Subtitle")
    subtitle.paragraph_format.space_after = Pt(24)
    heading = styled("Heading 1")
    heading.paragraph_format.page_break_before = True
    heading.paragraph_format.space_before = Pt(36)
    heading.paragraph_format.space_after = Pt(18)
    toc_heading = _paragraph_style(doc, "TOC Heading Text", heading)
    toc_heading.paragraph_format.space_before = Pt(0)
    _body_text_level(toc_heading)
    scene = _paragraph_style(doc, "Scene Break")
    scene.paragraph_format.first_line_indent = Inches(0)
    scene.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    scene.paragraph_format.space_before = scene.paragraph_format.space_after = Pt(12)
    lead = _paragraph_style(doc, "Description")
    lead.paragraph_format.first_line_indent = Inches(0)
    lead.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    lead.font.italic = True

    doc.add_paragraph(ms.title, title)
    doc.add_paragraph(ms.author, subtitle)
    if ms.description:
        doc.add_paragraph(ms.description, lead)
    # The contents page: its heading is not Heading 1, so it does not list itself.
    doc.add_paragraph("Contents", toc_heading)
    _field(doc.add_paragraph(style=lead), 'TOC \\o "1-1" \\h \\z \\u',
           "Right-click here and choose Update Field to build the table of contents.")
    _ask_to_update_fields(doc)

    _body(doc, ms, heading, normal, scene, "* * *")
    doc.save(str(path))
    return Path(path)
