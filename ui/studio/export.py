"""Export and import in the studio, through the publish package: the book as EPUB, DOCX,
standard manuscript, PDF or Markdown for download; a Markdown file uploaded as a new book.
Before exporting, the studio lists chapters that are unwritten or empty (the author chooses to
go on), and the manuscript's details (legal name, contact block, running header, cover) are
set here as ``scriptorium book set`` sets them.

    problems = export_problems(rec, user, book_id)  # ["chapter 2 \"The storm\" is unwritten: ...", ...]
    path = export(engine, user, book_id, "epub")     # <workspace>/exports/book-<id>/<title>.epub
    save_details(engine, user, book_id, legal_name="Ann Q. Keeper", contact="12 Harbour Road\nann@example.com")
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


def export_problems(rec, user: str | None, book_id) -> list[str]:
    """What an export would hide: outline chapters never written (left out), chapters with no
    text (a heading alone), or a book with no text at all."""
    book = owned_book(rec, book_id, user)
    chapters = rec.chapters(book["id"])
    by_item = {c["outline_item_id"]: c for c in chapters if c["outline_item_id"] is not None}
    problems = []
    for n, item in enumerate(rec.outline(book["id"]), start=1):
        ch = by_item.get(item["id"])
        if ch is None:
            problems.append(f"chapter {n} \"{item['title']}\" was never drafted: it is left out of the export")
        elif not ch["text"].strip():
            problems.append(f"chapter {n} \"{item['title']}\" has no text: it is exported as a heading alone")
    for ch in chapters:
        if ch["outline_item_id"] is None and not ch["text"].strip():
            problems.append(f"chapter \"{ch['title']}\" has no text: it is exported as a heading alone")
    if not any(c["text"].strip() for c in chapters):
        problems.insert(0, "the book has no text yet: the export would have no story in it")
    return problems


DETAILS = ("legal_name", "contact", "surname", "keyword", "cover")


def manuscript_details(rec, user: str | None, book_id) -> dict[str, str]:
    """The book's manuscript details as the Export tab's fields show them (contact: one line each)."""
    settings = owned_book(rec, book_id, user).get("settings") or {}
    return {"legal_name": settings.get("legal_name") or "", "contact": "\n".join(settings.get("contact") or []),
            "surname": settings.get("surname") or "", "keyword": settings.get("keyword") or "",
            "cover": settings.get("cover") or ""}


def save_details(engine, user: str | None, book_id, legal_name: str = "", contact: str = "", surname: str = "",
                 keyword: str = "", cover_upload: str | os.PathLike | None = None, remove_cover: bool = False) -> str:
    """Set the title page's name and contact block, the running header's surname and keyword,
    and the cover (an uploaded JPEG or PNG, checked and kept in the workspace). Empty fields
    go back to the defaults (the byline's name, the title's first word)."""
    from publish.book import clean_line
    from publish.cover import load_cover

    book = owned_book(engine.rec, book_id, user)
    settings = dict(book.get("settings") or {})
    for key, value in (("legal_name", legal_name), ("surname", surname), ("keyword", keyword)):
        settings[key] = clean_line(value or "") or None
    settings["contact"] = [clean_line(line) for line in (contact or "").splitlines() if line.strip()] or None
    if cover_upload:
        src = Path(cover_upload)
        limit = engine.config.max_upload_mb * 1024 * 1024
        if src.stat().st_size > limit:
            raise StudioError(f"{src.name} is {src.stat().st_size // 1024} KB; the limit is {engine.config.max_upload_mb} MB")
        cover = load_cover(src)  # refuses anything but a sound JPEG or PNG, with a message
        folder = engine.workspace / "covers" / f"book-{book['id']}"
        folder.mkdir(parents=True, exist_ok=True)
        dest = folder / f"cover{cover.suffix}"
        tmp = folder / f".upload{cover.suffix}"
        tmp.write_bytes(cover.data)  # as checked (and scaled down when huge)
        os.replace(tmp, dest)
        settings["cover"] = str(dest)
    elif remove_cover:
        settings["cover"] = None
    settings = {k: v for k, v in settings.items() if v not in (None, [])}
    engine.rec.update_book(book["id"], settings=settings)
    shown = [k.replace("_", " ") for k in DETAILS if settings.get(k)]
    return "Saved the manuscript details" + (f" ({', '.join(shown)})." if shown else " (all defaults).")


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
        engine.rec.update_book(book_id, owner=str(user))
    adopt_chapters(engine.rec, book_id)
    return book_id
