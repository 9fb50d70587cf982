"""Export and import through the publish package, with the studio's checks."""

from __future__ import annotations

import zipfile

import pytest

from ui.studio import export as X
from ui.studio import outline as O
from ui.studio.engine import StudioError


def test_export_epub_and_markdown(engine, book):
    item = O.add_item(engine.rec, None, book["id"], "The storm")
    O.chapter_for_item(engine.rec, None, book["id"], item)
    engine.rec.set_chapter_text(engine.rec.chapters(book["id"])[0]["id"], "Mara lit the lamp. <script>x</script>")
    epub = X.export(engine, None, book["id"], "epub")
    assert epub.suffix == ".epub" and epub.parent == engine.workspace / "exports" / f"book-{book['id']}"
    with zipfile.ZipFile(epub) as z:
        text = "".join(z.read(n).decode("utf-8", "ignore") for n in z.namelist() if n.endswith(".xhtml"))
    assert "Mara lit the lamp." in text and "<script>" not in text
    md = X.export(engine, None, book["id"], "md")
    assert "Mara lit the lamp." in md.read_text() and "The storm" in md.read_text()
    again = X.export(engine, None, book["id"], "md")  # exporting twice replaces the file
    assert again == md
    with pytest.raises(StudioError, match="format 'odt' unknown"):
        X.export(engine, None, book["id"], "odt")
    with pytest.raises(StudioError, match="among your books"):
        X.export(engine, "bob", book["id"], "md")


def test_import_is_limited_and_owned(engine, tmp_path):
    md = tmp_path / "novel.md"
    md.write_text("# My Novel\n\n## One\n\nIt began.\n\n## Two\n\nIt ended.\n")
    book_id = X.import_upload(engine, "ann", md)
    assert engine.rec.get("books", book_id)["owner"] == "ann"
    assert [label for label, _ in O.chapter_choices(engine.rec, "ann", book_id)] == ["1. One", "2. Two"]
    big = tmp_path / "big.md"
    big.write_text("x" * (engine.config.max_upload_mb * 1024 * 1024 + 1))
    with pytest.raises(StudioError, match="the limit is 5 MB"):
        X.import_upload(engine, None, big)
    exe = tmp_path / "evil.exe"
    exe.write_text("MZ")
    with pytest.raises(StudioError, match="not a Markdown file"):
        X.import_upload(engine, None, exe)


def test_unwritten_and_empty_chapters_are_listed_before_exporting(engine, book):
    assert X.export_problems(engine.rec, None, book["id"])[0].startswith("the book has no text yet")
    written = O.add_item(engine.rec, None, book["id"], "Written")
    O.add_item(engine.rec, None, book["id"], "Never drafted")
    empty = O.add_item(engine.rec, None, book["id"], "Opened")
    O.chapter_for_item(engine.rec, None, book["id"], empty)  # opened in the Draft tab, nothing written
    engine.rec.set_chapter_text(O.chapter_for_item(engine.rec, None, book["id"], written)["id"], "Text.")
    assert X.export_problems(engine.rec, None, book["id"]) == [
        'chapter 2 "Never drafted" was never drafted: it is left out of the export',
        'chapter 3 "Opened" has no text: it is exported as a heading alone']


def test_manuscript_details_and_cover_from_the_studio(engine, book, tmp_path):
    from docx import Document
    from PIL import Image

    O.chapter_for_item(engine.rec, None, book["id"], O.add_item(engine.rec, None, book["id"], "One"))
    engine.rec.set_chapter_text(engine.rec.chapters(book["id"])[0]["id"], "Mara lit the lamp.")
    png = tmp_path / "cover.png"
    Image.new("RGB", (600, 900), "navy").save(png)
    msg = X.save_details(engine, None, book["id"], "Ann Q. Keeper", "12 Harbour Road\n\nann@example.com", "Keeper",
                         "Lamp", cover_upload=png)
    assert msg.startswith("Saved the manuscript details (legal name, contact, surname, keyword, cover)")
    details = X.manuscript_details(engine.rec, None, book["id"])
    assert details["contact"] == "12 Harbour Road\nann@example.com" and details["cover"].endswith("cover.png")
    doc = Document(X.export(engine, None, book["id"], "manuscript"))
    body = "\n".join(p.text for p in doc.paragraphs)
    assert "Ann Q. Keeper" in body and "ann@example.com" in body
    assert "Keeper / Lamp" in "".join(p.text for p in doc.sections[0].header.paragraphs + doc.sections[-1].header.paragraphs)
    with zipfile.ZipFile(X.export(engine, None, book["id"], "epub")) as z:
        assert any(n.endswith(".png") for n in z.namelist())
    bad = tmp_path / "cover.jpg"
    bad.write_bytes(b"not an image")
    with pytest.raises(Exception, match="corrupt or not an image|not a known image format"):
        X.save_details(engine, None, book["id"], cover_upload=bad)
    assert X.manuscript_details(engine.rec, None, book["id"])["cover"].endswith("cover.png")  # the old one stays
    X.save_details(engine, None, book["id"], remove_cover=True)
    assert X.manuscript_details(engine.rec, None, book["id"]) == {"legal_name": "", "contact": "", "surname": "",
                                                                 "keyword": "", "cover": ""}
