"""EPUB 3 export (ebooklib): the format ebook stores take.

    write_epub(manuscript, "book.epub", cover=load_cover("cover.jpg"))

The file holds the metadata (title, author, language, unique identifier, description, date), an
optional cover, a title page, the EPUB 3 navigation document and an NCX table of contents (for
older readers), one XHTML file per chapter in the spine, and a small stylesheet (first-line
indents, centred scene breaks). Right-to-left languages get ``dir="rtl"`` and a right-to-left
page progression. Every file written here passes ``epubcheck`` with no errors and no warnings
(tests/publish/test_epub.py runs it). Text is escaped, never interpreted as HTML.
"""

from __future__ import annotations

import html
from datetime import datetime, timezone
from pathlib import Path

from publish.book import SCENE_BREAK, Chapter, Manuscript
from publish.cover import Cover
from publish.rtl import base_direction, has_rtl

STYLESHEET = """\
body { margin: 0 5%; font-family: serif; line-height: 1.4; }
h1 { text-align: center; font-size: 1.6em; margin: 2em 0 1.5em; page-break-before: always; }
p { margin: 0; text-indent: 1.5em; text-align: justify; }
h1 + p, p.scene + p, p.first { text-indent: 0; }
p.scene { text-align: center; text-indent: 0; margin: 1em 0; }
.titlepage { text-align: center; margin-top: 30%; }
.titlepage h1 { font-size: 2em; page-break-before: avoid; }
.titlepage p { text-align: center; text-indent: 0; }
p.author { font-size: 1.3em; margin-top: 1em; }
p.description { font-style: italic; margin-top: 3em; }
.cover { text-align: center; margin: 0; padding: 0; }
.cover img { max-width: 100%; max-height: 100%; }
"""
SCENE_MARK = "* * *"


def esc(text: str) -> str:
    return html.escape(text, quote=True)


def dir_attr(text: str, book_direction: str = "ltr") -> str:
    """A ``dir`` attribute for text whose own direction differs from the book's, so a Hebrew
    paragraph in an English book (or the reverse) is set from the right side.

    >>> dir_attr("שלום, world"), dir_attr("hello"), dir_attr("hello", "rtl")
    (' dir="rtl"', '', ' dir="ltr"')
    """
    if book_direction == "ltr" and not has_rtl(text):
        return ""
    own = "rtl" if base_direction(text, "R" if book_direction == "rtl" else "L") == "R" else "ltr"
    return "" if own == book_direction else f' dir="{own}"'


def chapter_body(chapter: Chapter, direction: str = "ltr") -> str:
    """The XHTML body of one chapter: its heading, paragraphs and scene breaks, all escaped.

    >>> chapter_body(Chapter("A <b>", ["x & y", None, "z"]))
    '<section><h1>A &lt;b&gt;</h1>\\n<p>x &amp; y</p>\\n<p class="scene">* * *</p>\\n<p>z</p>\\n</section>'
    """
    parts = [f"<section><h1{dir_attr(chapter.title, direction)}>{esc(chapter.title)}</h1>\n"]
    for block in chapter.blocks:
        if block is SCENE_BREAK:
            parts.append(f'<p class="scene">{SCENE_MARK}</p>\n')
        else:
            parts.append(f"<p{dir_attr(block, direction)}>{esc(block)}</p>\n")
    parts.append("</section>")
    return "".join(parts)


def title_body(ms: Manuscript) -> str:
    d = ms.direction
    desc = (f'<p class="description"{dir_attr(ms.description, d)}>{esc(ms.description)}</p>'
            if ms.description else "")
    return (f'<section class="titlepage"><h1{dir_attr(ms.title, d)}>{esc(ms.title)}</h1>'
            f'<p class="author"{dir_attr(ms.author, d)}>{esc(ms.author)}</p>{desc}</section>')


def write_epub(ms: Manuscript, path: str | Path, cover: Cover | None = None) -> Path:
    """Write ``ms`` as an EPUB 3 file at ``path`` (the caller makes the write atomic)."""
    from ebooklib import epub

    direction = ms.direction if ms.direction == "rtl" else None
    book = epub.EpubBook()
    book.set_identifier(ms.identifier)
    book.set_title(ms.title)
    book.set_language(ms.language)
    book.add_author(ms.author)
    if ms.description:
        book.add_metadata("DC", "description", ms.description)
    book.add_metadata("DC", "date", ms.date)
    if ms.genre:
        book.add_metadata("DC", "subject", ms.genre)
    book.add_metadata("DC", "publisher", ms.settings.get("publisher") or ms.author)
    if direction:
        book.set_direction(direction)

    css = epub.EpubItem(uid="style", file_name="style/book.css", media_type="text/css", content=STYLESHEET)
    book.add_item(css)

    def page(uid: str, file_name: str, title: str, body: str):
        item = epub.EpubHtml(uid=uid, file_name=file_name, title=title, lang=ms.language, direction=direction)
        item.content = f"<html><head></head><body>{body}</body></html>"
        item.add_item(css)
        book.add_item(item)
        return item

    spine = []
    if cover is not None:
        image_name = "images/cover" + cover.suffix
        book.set_cover(image_name, cover.data, create_page=False)
        spine.append(page("cover", "cover.xhtml", "Cover",
                          f'<div class="cover"><img src="{image_name}" alt="{esc(ms.title)}"/></div>'))
    title_page = page("titlepage", "titlepage.xhtml", ms.title, title_body(ms))
    spine.append(title_page)
    nav = epub.EpubNav(title="Contents", direction=direction)
    nav.add_item(css)
    book.add_item(nav)
    book.add_item(epub.EpubNcx())

    chapters = []
    width = max(3, len(str(len(ms.chapters))))
    for i, ch in enumerate(ms.chapters, start=1):
        name = f"chapter{i:0{width}d}"
        chapters.append(page(name, f"{name}.xhtml", ch.title, chapter_body(ch, ms.direction)))
    book.toc = [epub.Link(title_page.file_name, ms.title, "titlepage")] + chapters
    book.spine = spine + ["nav"] + chapters

    options = {"raise_exceptions": True, "epub3_pages": False, "epub2_guide": False, "epub3_landmark": False,
               "mtime": datetime.now(timezone.utc)}
    epub.write_epub(str(path), book, options)
    return Path(path)
