"""Export a book from the record to a file: the one entry point every caller uses.

    path = export_book(rec, book_id, "epub", "out/", force=False, cover="cover.jpg")
    scriptorium export "The Lighthouse" --format epub --out out/

Formats: ``epub`` (ebook stores), ``docx`` (ebook-store Word layout), ``manuscript`` (standard
manuscript format DOCX, for submissions), ``pdf`` and ``md``. The file is written to a temp
name beside the target and renamed into place only when complete; an existing file is kept
unless ``force``. ``out_path`` may be a file, a folder, or None (the current folder); a name
derived from the title is sanitised.
"""

from __future__ import annotations

from pathlib import Path

from publish.book import ExportError, ExportNote, load_manuscript

FORMATS = {  # format -> (file suffix, "module:function")
    "epub": (".epub", "publish.epub:write_epub"),
    "docx": (".docx", "publish.docx:write_ebook_docx"),
    "manuscript": (".docx", "publish.docx:write_manuscript_docx"),
    "pdf": (".pdf", "publish.pdf:write_pdf"),
    "md": (".md", "publish.markdown:write_markdown"),
}


def default_suffix(fmt: str) -> str:
    return FORMATS[fmt][0] if fmt != "manuscript" else "-manuscript.docx"


def export_book(rec, book_id, fmt: str, out_path=None, force: bool = False, cover=None) -> Path:
    """Write book ``book_id`` (id or exact title) in format ``fmt``; returns the path written.

    ``cover`` (a JPEG or PNG path, for EPUB and PDF) defaults to the book's ``settings["cover"]``.
    """
    import importlib

    from publish.files import atomic_output, output_path

    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    ms = load_manuscript(rec, book_id)
    target = FORMATS[fmt][1]
    path = output_path(out_path, ms.title, default_suffix(fmt))
    extra = {}
    if cover and fmt not in ("epub", "pdf"):
        import warnings

        warnings.warn(ExportNote(f"--cover applies to EPUB and PDF only; the {fmt} export has no cover"),
                      stacklevel=2)
    if fmt in ("epub", "pdf"):
        cover = cover or ms.settings.get("cover")
        if cover:
            from publish.cover import load_cover

            extra["cover"] = load_cover(cover)  # checked before anything is written
    module, func = target.split(":")
    write = getattr(importlib.import_module(module), func)
    if fmt == "pdf":
        from publish.pdf import check_pdf_text

        check_pdf_text(ms)
    with atomic_output(path, force=force) as tmp:
        write(ms, tmp, **extra)
    return path
