"""Publishing: books in and out of the record (EPUB, DOCX in two layouts, PDF, Markdown).

    from publish import export_book, import_markdown
    export_book(rec, book_id, "epub", "out/")
    book_id = import_markdown(rec, "novel.md")

Light on import: each exporter loads its library (ebooklib, python-docx, reportlab) when used.
"""

from publish.book import ExportError
from publish.export import FORMATS, export_book
from publish.importer import import_markdown

__all__ = ["ExportError", "FORMATS", "export_book", "import_markdown"]
