"""Bring an existing manuscript into the record from a Markdown file, to continue it here.

    book_id = import_markdown(rec, "novel.md")
    scriptorium book import novel.md

YAML front matter (``title``, ``author``, ``language``, ``description``, ``genre``), if present,
gives the book's metadata. Chapters start at ``#`` or ``##`` headings. When the file has a single
``#`` heading followed directly by ``##`` headings, the ``#`` one is the book's title and the
``##`` ones are chapters. Text before the first chapter heading becomes a chapter of its own ("Opening"), so
nothing is lost. Headings inside fenced code blocks are text. Markdown written by
``publish/markdown.py`` reads back to the same chapters and words.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from pathlib import Path

from publish.book import ExportError, check_language, clean_line, clean_text

_HEADING_RE = re.compile(r"^(#{1,6})[ \t]+(.*?)[ \t]*$|^(#{1,6})[ \t]*$")
_FENCE_RE = re.compile(r"^\s*(`{3,}|~{3,})")
MAX_IMPORT_BYTES = 50 * 1024 * 1024


class ManuscriptImportError(ExportError):
    """A manuscript file that cannot be imported; the message says what to fix."""


@dataclass
class ParsedBook:
    title: str
    author: str = ""
    language: str = "en"
    description: str = ""
    genre: str = ""
    chapters: list[tuple[str, str]] = field(default_factory=list)  # (title, text)


def _front_matter(text: str) -> tuple[dict, str]:
    import yaml

    if not text.startswith("---"):
        return {}, text
    lines = text.split("\n")
    if lines[0].strip() != "---":
        return {}, text
    for i in range(1, len(lines)):
        if lines[i].strip() in ("---", "..."):
            try:
                meta = yaml.safe_load("\n".join(lines[1:i])) or {}
            except yaml.YAMLError as e:
                raise ManuscriptImportError(f"the front matter (between the --- lines) is not valid YAML: {e}; "
                                   "fix it or remove it") from e
            if not isinstance(meta, dict):
                raise ManuscriptImportError("the front matter (between the --- lines) should be key: value pairs "
                                   "such as 'title: My Book'")
            return meta, "\n".join(lines[i + 1:])
    return {}, text


def _heading_text(raw: str) -> str:
    raw = re.sub(r"(?<!\\)\s+#+\s*$", "", " " + raw).strip()  # an optional closing sequence
    return clean_line(html.unescape(raw.replace("\\#", "#")))


def unescape_paragraph(text: str) -> str:
    """Undo publish.markdown.escape_markdown for one paragraph.

    >>> unescape_paragraph("\\\\# x &amp; &lt;y&gt;")
    '# x & <y>'
    """
    text = re.sub(r"^\\([#>+*=`~-])", r"\1", text)
    text = re.sub(r"^(\d+)\\([.)])", r"\1\2", text)
    return html.unescape(text)


def _unescape_body(text: str) -> str:
    paragraphs = re.split(r"(\n[ \t]*\n)", text)
    return "".join(p if i % 2 else "\n".join(unescape_paragraph(line) for line in p.split("\n"))
                   for i, p in enumerate(paragraphs))


def parse_markdown(text: str, fallback_title: str = "Untitled") -> ParsedBook:
    """Pure: Markdown text -> a ParsedBook (metadata and chapters)."""
    text = clean_text(text.lstrip("\ufeff"))
    meta, body = _front_matter(text)
    lines = body.split("\n")
    headings = []  # (line index, level, title)
    fence = None
    for i, line in enumerate(lines):
        m = _FENCE_RE.match(line)
        if m:
            marker = m.group(1)[0]
            fence = None if fence == marker else (fence or marker)
            continue
        if fence:
            continue
        h = _HEADING_RE.match(line)
        if h:
            level = len(h.group(1) or h.group(3))
            headings.append((i, level, _heading_text(h.group(2) or "")))

    title = clean_line(str(meta.get("title") or ""))
    level1 = [h for h in headings if h[1] == 1]
    level2 = [h for h in headings if h[1] == 2]
    split_levels = {1, 2}
    if (len(level1) == 1 and level2 and level1[0][0] < level2[0][0]
            and not "".join(lines[level1[0][0] + 1:level2[0][0]]).strip()):
        if not title:
            title = level1[0][2]
        headings.remove(level1[0])
        lines[level1[0][0]] = ""
        split_levels = {2}
    chapter_heads = [h for h in headings if h[1] in split_levels and h[2]]

    chapters: list[tuple[str, str]] = []
    starts = [h[0] for h in chapter_heads] + [len(lines)]
    opening = "\n".join(lines[:starts[0]]).strip("\n")
    if opening.strip():
        chapters.append(("Opening", _unescape_body(opening)))
    for (index, _, head), end in zip(chapter_heads, starts[1:]):
        chapters.append((head, _unescape_body("\n".join(lines[index + 1:end]).strip("\n"))))

    return ParsedBook(
        title=title or clean_line(fallback_title) or "Untitled",
        author=clean_line(str(meta.get("author") or "")),
        language=check_language(str(meta.get("language") or meta.get("lang") or "en")),
        description=clean_line(str(meta.get("description") or "")),
        genre=clean_line(str(meta.get("genre") or "")),
        chapters=chapters,
    )


def import_markdown(rec, path: str | Path, title: str | None = None, author: str | None = None) -> int:
    """Create a book with its chapters from a Markdown file, in one transaction; returns its id.
    ``title`` and ``author`` override the file's."""
    path = Path(path).expanduser()
    if path.is_dir():
        raise ManuscriptImportError(f"{path} is a folder; book import takes one Markdown (.md) file (join the "
                                    "chapters into one file, each under a '#' heading)")
    if not path.is_file():
        raise ManuscriptImportError(f"{path} not found; pass a Markdown (.md) file")
    if path.stat().st_size > MAX_IMPORT_BYTES:
        raise ManuscriptImportError(f"{path} is over {MAX_IMPORT_BYTES // 2**20} MB; split it into several books")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ManuscriptImportError(f"{path} is not UTF-8 text (byte {e.start} cannot be read); save it as UTF-8 "
                           "Markdown and try again") from e
    book = parse_markdown(text, fallback_title=path.stem.replace("_", " "))
    if not book.chapters:
        raise ManuscriptImportError(f"{path} has no text to import; expected Markdown with '#' or '##' "
                                    "chapter headings")
    with rec.transaction():
        row = rec.add_book(title=title or book.title, author=author if author is not None else book.author,
                           language=book.language, description=book.description, genre=book.genre)
        for chapter_title, chapter_text in book.chapters:
            rec.add_chapter(row["id"], chapter_title, chapter_text)
    return row["id"]
