"""PDF export: title page, chapters on new pages, page numbers, embedded fonts per script, and
text that pdftotext gets back (selectable) in order, escaped."""

import re
import shutil
import subprocess

import pytest

from publish import export_book
from publish import fonts as fonts_module
from publish.book import ExportError
from publish.fonts import FontNote
from tests.publish.books import BAD_CHAPTERS, BAD_TITLE, RTL_CHAPTERS, chapter_words, make_book, words

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None,
                                reason="pdftotext (Debian package poppler-utils) is not installed")


def pdf_text(path, page=None):
    pages = ["-f", str(page), "-l", str(page)] if page else []
    args = ["pdftotext", "-raw", "-enc", "UTF-8", *pages, str(path), "-"]
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout


def pdf_info(path):
    out = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    return dict(line.split(":", 1) for line in out.splitlines() if ":" in line)


def squashed(ws):
    return "".join(ws)


def assert_chapters_in_order(text, expected):
    """Each chapter's words appear in order; whitespace is ignored, since CJK lines break
    between characters, and page numbers (lines of digits) and scene marks are dropped."""
    kept = [line for line in text.splitlines() if not re.fullmatch(r"\s*(\d+|\*\s*\*\s*\*)\s*", line)]
    stream = squashed(words("\n".join(kept)))
    pos = 0
    for chapter in expected:
        needle = squashed(chapter)
        found = stream.find(needle, pos)
        assert found >= 0, f"chapter text not found in order: {needle[:80]!r}"
        pos = found + len(needle)


def test_book_pdf(record, tmp_path):
    book_id = make_book(record, description="A keeper & a door.")
    path = export_book(record, book_id, "pdf", tmp_path)
    assert path.name == "The_Lighthouse.pdf" and path.read_bytes()[:5] == b"%PDF-"
    info = pdf_info(path)
    assert info["Title"].strip() == "The Lighthouse" and info["Author"].strip() == "Ann Keeper"
    assert int(info["Pages"]) == 4  # title page + one page per short chapter
    title_page = pdf_text(path, 1)
    assert "The Lighthouse" in title_page and "Ann Keeper" in title_page and not re.search(r"^\d+$", title_page, re.M)
    for page, heading in [(2, "The Lamp"), (3, "The Door"), (4, "The Letter")]:
        text = pdf_text(path, page)
        lines = [line for line in text.splitlines() if line.strip() and line.strip() != str(page)]
        assert lines[0] == heading  # each chapter opens a page
        assert re.search(rf"^{page}$", text, re.M)  # with its page number
    assert_chapters_in_order(pdf_text(path), chapter_words(record, book_id))
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    rows = fonts.splitlines()[2:]
    assert rows and all(row.split()[-5] == "yes" for row in rows)  # every font embedded


def test_bad_input_pdf_keeps_text_and_scripts(record, tmp_path):
    book_id = make_book(record, title=BAD_TITLE, chapters=BAD_CHAPTERS)
    with pytest.warns(FontNote, match="🚀"):
        path = export_book(record, book_id, "pdf", tmp_path)
    text = pdf_text(path)
    assert "<script>alert(1)</script>" in text and "& an ampersand" in text and "&amp; an entity" in text
    assert "Ελληνικά" in text and "Cafe\u0301" in text
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    if not fonts_module.pdf_fonts().cjk:
        pytest.skip("no CJK font (Debian package fonts-wqy-microhei): CJK text cannot be drawn to check")
    assert "灯台守は毎晩" in text.replace("\n", "") and "한국어" in text
    bmp = [[w for w in (re.sub("[\U00010000-\U0010ffff]", "", x) for x in ch) if w]
           for ch in chapter_words(record, book_id)]
    assert_chapters_in_order(text, bmp)
    assert "WenQuanYi" in fonts


BIDI_MARKS = re.compile("[\u200e\u200f\u202a-\u202e]")


def letters(ws):
    """Words reduced to letters and digits in NFKC form (Arabic presentation forms become
    letters again), for comparing right-to-left text whose punctuation moves in extraction."""
    import unicodedata

    out = ["".join(ch for ch in unicodedata.normalize("NFKC", w) if ch.isalnum()) for w in ws]
    return sorted(w for w in out if w)


def test_right_to_left_text_is_laid_out_in_visual_order(record, tmp_path):
    chapters = RTL_CHAPTERS + [("ארוך", " ".join(["שלום עולם, זה ספר בעברית."] * 15))]
    book_id = make_book(record, title="ספר", author="דנה", chapters=chapters, language="he")
    path = export_book(record, book_id, "pdf", tmp_path)
    raw = BIDI_MARKS.sub("", pdf_text(path))
    lines = [line for line in raw.splitlines() if line.strip()]
    # Drawn right to left: read left to right, the words of a Hebrew line come out reversed.
    hebrew = [line for line in lines if "זה" in line and "שלום" in line][0]
    assert hebrew.split() == [".בעברית", "ספר", "זה", ",עולם", "שלום"]
    assert "English then עברית then English again." in lines  # a left-to-right paragraph stays so
    long_lines = [line for line in lines if line.count("שלום") >= 2]
    assert len(long_lines) >= 3  # a long paragraph is wrapped over several lines
    for page, expected in zip(range(2, 5), chapter_words(record, book_id)):
        page_words = BIDI_MARKS.sub("", pdf_text(path, page)).split()
        heading = words(chapters[page - 2][0])
        assert letters(heading + expected) == letters(w for w in page_words if not w.isdigit() and w != "***")


def test_right_to_left_without_the_bidi_packages_stops_with_a_message(record, tmp_path, monkeypatch):
    from publish import rtl

    monkeypatch.setattr(rtl, "available", lambda: False)
    book_id = make_book(record, chapters=RTL_CHAPTERS)
    with pytest.raises(ExportError, match="right-to-left.*python-bidi.*EPUB or DOCX"):
        export_book(record, book_id, "pdf", tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.fixture
def fonts_reset():
    fonts_module.pdf_fonts.cache_clear()
    yield
    fonts_module.pdf_fonts.cache_clear()


def test_missing_cjk_font_is_a_note_not_a_failure(record, tmp_path, monkeypatch, fonts_reset):
    real = fonts_module._find
    monkeypatch.setattr(fonts_module, "_find", lambda name: None if "wqy" in name else real(name))
    book_id = make_book(record, chapters=[("One", "Tea 茶 and cake.")])
    with pytest.warns(FontNote, match="fonts-wqy-microhei"):
        path = export_book(record, book_id, "pdf", tmp_path)
    assert "Tea" in pdf_text(path) and "cake." in pdf_text(path)


def test_no_dejavu_falls_back_to_a_builtin_font(record, tmp_path, monkeypatch, fonts_reset):
    monkeypatch.setattr(fonts_module, "_find", lambda name: None)
    book_id = make_book(record)
    with pytest.warns(FontNote, match="fonts-dejavu-core"):
        path = export_book(record, book_id, "pdf", tmp_path)
    assert_chapters_in_order(pdf_text(path), chapter_words(record, book_id))


def test_long_latin_heading_wraps_between_words(record, tmp_path):
    title = "Extraordinarily Magnificent Lighthouse Adventures Continue Unabated Tonight Forevermore"
    book_id = make_book(record, title=title, chapters=[(title, "Short text.")])
    text = pdf_text(export_book(record, book_id, "pdf", tmp_path))
    heading_lines = [line for line in text.splitlines() if line.strip() and set(line.split()) <= set(title.split())]
    assert len(heading_lines) >= 4  # wrapped over lines on the title page and the chapter page...
    assert " ".join(heading_lines).split() == title.split() * 2  # ...and only between words


def test_a_paragraph_with_no_line_breaks_at_all(record, tmp_path):
    """A model that never wrote a newline: 12,000 words in one paragraph, set in pieces."""
    import random

    from publish.pdf import split_long

    rng = random.Random(1)
    ws = [rng.choice(["sea", "light", "keeper", "door.", "night", "wind"]) for _ in range(12_000)]
    pieces = split_long(" ".join(ws))
    assert len(pieces) > 1 and " ".join(pieces).split() == ws
    book_id = make_book(record, chapters=[("One", " ".join(ws))])
    text = pdf_text(export_book(record, book_id, "pdf", tmp_path))
    body = [w for w in words(text) if not w.isdigit()]
    assert body[body.index("One") + 1:] == ws


def test_cover_page(record, tmp_path):
    from PIL import Image

    Image.new("RGB", (1600, 2560), (30, 60, 90)).save(tmp_path / "cover.jpg")
    book_id = make_book(record)
    path = export_book(record, book_id, "pdf", tmp_path / "c.pdf", cover=tmp_path / "cover.jpg")
    assert int(pdf_info(path)["Pages"]) == 5
    images = subprocess.run(["pdfimages", "-list", str(path)], capture_output=True, text=True, check=True).stdout
    rows = images.splitlines()[2:]
    assert len(rows) == 1 and rows[0].split()[0] == "1"  # one image, on page 1
    assert pdf_text(path, 1).strip() == "" and "The Lighthouse" in pdf_text(path, 2)
    assert not re.search(r"^\d+$", pdf_text(path, 2), re.M)  # the title page carries no number
    assert re.search(r"^3$", pdf_text(path, 3), re.M)
