"""Export and import in the studio, through the publish package: the book as EPUB, DOCX,
standard manuscript, PDF or Markdown for download; a Markdown file uploaded as a new book.

    path = export(engine, user, book_id, "epub")     # <workspace>/exports/book-<id>/<title>.epub
"""

from __future__ import annotations

import os
from pathlib import Path

from ui.studio.books import owned_book
from ui.studio.engine import StudioError, not_available

FORMATS = ["epub", "docx", "manuscript", "pdf", "md"]
UPLOAD_TYPES = [".md", ".markdown", ".txt"]


def export(engine, user: str | None, book_id, fmt: str) -> Path:
    try:
        from publish import export_book
    except ImportError:
        raise not_available("Export", "export issue") from None
    book = owned_book(engine.rec, book_id, user)
    if fmt not in FORMATS:
        raise StudioError(f"format {fmt!r} unknown; use one of {', '.join(FORMATS)}")
    folder = engine.workspace / "exports" / f"book-{book['id']}"
    folder.mkdir(parents=True, exist_ok=True)
    return Path(export_book(engine.rec, book["id"], fmt, folder, force=True))


def import_upload(engine, user: str | None, path: str | os.PathLike | None) -> int:
    """A new book from an uploaded Markdown file (size-limited); owned by the author."""
    try:
        from publish import import_markdown
    except ImportError:
        raise not_available("Markdown import", "export issue") from None
    if not path:
        raise StudioError("choose a Markdown file to import first")
    path = Path(path)
    if path.suffix.lower() not in UPLOAD_TYPES:
        raise StudioError(f"{path.name} is not a Markdown file; upload one of {', '.join(UPLOAD_TYPES)}")
    limit = engine.config.max_upload_mb * 1024 * 1024  # Gradio refuses bigger uploads; checked again here
    if path.stat().st_size > limit:
        raise StudioError(f"{path.name} is {path.stat().st_size // 1024} KB; the limit is {engine.config.max_upload_mb} MB")
    from ui.studio.outline import adopt_chapters

    book_id = import_markdown(engine.rec, path)
    if user is not None:
        engine.rec.update_book(book_id, owner=user)
    adopt_chapters(engine.rec, book_id)
    return book_id
