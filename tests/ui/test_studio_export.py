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
