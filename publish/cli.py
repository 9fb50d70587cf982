"""``scriptorium book`` and ``scriptorium export``: books in and out of the record.

    scriptorium book new --title "The Lighthouse" --author "A. Keeper"
    scriptorium book import novel.md
    scriptorium book list --json
    scriptorium book set "The Lighthouse" --legal-name "Ann Q. Keeper" --contact "12 Harbour Road"
    scriptorium export "The Lighthouse" --format epub --out out/ [--cover cover.jpg] [--force]

Light on purpose: argparse only at import; the exporters load inside the command.
"""

from __future__ import annotations

import json
import sys

FORMAT_CHOICES = ["epub", "docx", "manuscript", "pdf", "md"]


def _book_summary(rec, book: dict) -> dict:
    from publish.book import count_words

    chapters = rec.chapters(book["id"])
    return {"id": book["id"], "title": book["title"], "author": book["author"], "language": book["language"],
            "genre": book["genre"], "description": book["description"], "chapters": len(chapters),
            "words": sum(count_words(c["text"]) for c in chapters),
            "created_at": book["created_at"], "updated_at": book["updated_at"]}


def _print_book(summary: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(summary, ensure_ascii=False))
    else:
        by = f" by {summary['author']}" if summary["author"] else ""
        print(f"{summary['id']}: {summary['title']}{by} ({summary['chapters']} chapters, {summary['words']:,} words)")


def run_book_new(args) -> int:
    from publish.book import check_language, clean_line
    from record import open_record

    rec = open_record(args.workspace)
    book = rec.add_book(title=clean_line(args.title), author=clean_line(args.author or ""),
                        language=check_language(args.language), genre=clean_line(args.genre or ""),
                        description=clean_line(args.description or ""))
    _print_book(_book_summary(rec, book), args.json)
    return 0


def run_book_import(args) -> int:
    from publish.importer import import_markdown
    from record import open_record

    rec = open_record(args.workspace)
    book_id = import_markdown(rec, args.file, title=args.title, author=args.author)
    _print_book(_book_summary(rec, rec.get("books", book_id)), args.json)
    return 0


SETTING_FLAGS = {"legal_name": "name on the manuscript's title page, if not the byline",
                 "surname": "surname for the manuscript's running header (default: last word of the name)",
                 "keyword": "title keyword for the running header (default: first word that is not an article)",
                 "cover": "cover image (JPEG or PNG) for EPUB and PDF exports",
                 "publisher": "publisher for EPUB metadata (default: the author)",
                 "identifier": "unique identifier for EPUB metadata, e.g. urn:isbn:9780000000000"}


def run_book_set(args) -> int:
    from pathlib import Path

    from publish.book import check_language, clean_line
    from record import open_record

    rec = open_record(args.workspace)
    book = rec.find_book(args.book)
    fields = {}
    for name in ("title", "author", "genre", "description"):
        value = getattr(args, name)
        if value is not None:
            fields[name] = clean_line(value)
    if args.language is not None:
        fields["language"] = check_language(args.language)
    if fields.get("title") == "":
        from publish.book import ExportError

        raise ExportError("a book needs a title; pass a non-empty --title")
    settings = dict(book["settings"] or {})
    for key in SETTING_FLAGS:
        value = getattr(args, key)
        if value is not None:
            if key == "cover" and value:
                value = str(Path(value).expanduser().resolve())
            settings[key] = clean_line(value) if value else None
    if args.contact is not None:
        settings["contact"] = [clean_line(c) for c in args.contact if c.strip()]
    settings = {k: v for k, v in settings.items() if v not in (None, [])}
    book = rec.update_book(book["id"], settings=settings, **fields)
    summary = _book_summary(rec, book)
    summary["settings"] = settings
    _print_book(summary, args.json)
    return 0


def run_book_list(args) -> int:
    from record import open_record

    rec = open_record(args.workspace, readonly=True)
    for book in rec.books():
        _print_book(_book_summary(rec, book), args.json)
    if not args.json and not rec.books():
        print("no books yet; create one with `scriptorium book new --title T` or `scriptorium book import FILE.md`")
    return 0


def run_export(args) -> int:
    import warnings

    from publish.export import export_book
    from record import open_record

    rec = open_record(args.workspace, readonly=True)  # an export only reads the record
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        path = export_book(rec, args.book, args.format, args.out, force=args.force, cover=args.cover)
    from publish.book import ExportNote

    for w in caught:
        if issubclass(w.category, ExportNote):
            print(f"note: {w.message}", file=sys.stderr)
    print(path)
    sys.stdout.flush()
    return 0


def register(sub) -> None:
    book = sub.add_parser("book", help="create, import, change and list books",
                          description="Create a book, import a Markdown manuscript, change a book's details, "
                                      "or list the books.")
    bsub = book.add_subparsers(dest="book_command", metavar="ACTION", required=True)

    p = bsub.add_parser("new", help="create an empty book")
    p.add_argument("--title", required=True, help="the book's title")
    p.add_argument("--author", default="", help="the author's name as it appears on the cover")
    p.add_argument("--language", default="en", help="language tag such as en, en-GB, fr, ja, ar (default en)")
    p.add_argument("--genre", default="", help="genre, e.g. 'literary fiction'")
    p.add_argument("--description", default="", help="a one-paragraph blurb (goes into EPUB metadata)")
    p.add_argument("--json", action="store_true", help="print the new book as a JSON object")
    p.set_defaults(run=run_book_new)

    p = bsub.add_parser("import", help="import a Markdown manuscript as a new book",
                        description="Import a Markdown file: chapters start at '#' or '##' headings; YAML front "
                                    "matter (title, author, language, description) is read if present.")
    p.add_argument("file", help="the Markdown (.md) file")
    p.add_argument("--title",
                   help="title (default: the front matter's, else the single '#' heading, else the file name)")
    p.add_argument("--author", help="author (default: the front matter's)")
    p.add_argument("--json", action="store_true", help="print the new book as a JSON object")
    p.set_defaults(run=run_book_import)

    p = bsub.add_parser("set", help="change a book's metadata and manuscript details",
                        description="Change a book's metadata, and the details the exports use (title page contact "
                                    "block, running header, cover). An empty value removes a setting.")
    p.add_argument("book", help="the book's id or exact title")
    for name in ("title", "author", "language", "genre", "description"):
        p.add_argument(f"--{name}", help=f"new {name}")
    for key, text in SETTING_FLAGS.items():
        p.add_argument(f"--{key.replace('_', '-')}", dest=key, help=text)
    p.add_argument("--contact", action="append", metavar="LINE",
                   help="a line of the contact block (address, phone, email); repeat for each line")
    p.add_argument("--json", action="store_true", help="print the book as a JSON object")
    p.set_defaults(run=run_book_set)

    p = bsub.add_parser("list", help="list the books in the record")
    p.add_argument("--json", action="store_true", help="print one JSON object per book (JSONL)")
    p.set_defaults(run=run_book_list)

    p = sub.add_parser("export", help="export a book to EPUB, DOCX, manuscript DOCX, PDF or Markdown",
                       description="Export a book from the record. The file appears only when complete, and an "
                                   "existing file is never replaced without --force.")
    p.add_argument("book", help="the book's id or exact title (see `scriptorium book list`)")
    p.add_argument("--format", "-f", choices=FORMAT_CHOICES, required=True,
                   help="epub (ebook stores), docx (ebook-store Word layout), manuscript (standard manuscript "
                        "format for submissions), pdf, md")
    p.add_argument("--out", "-o",
                   help="output file or folder (default: the current folder, file named after the title)")
    p.add_argument("--force", action="store_true", help="overwrite an existing file")
    p.add_argument("--cover", help="cover image, JPEG or PNG (EPUB and PDF; default: the book's settings 'cover')")
    p.set_defaults(run=run_export)
