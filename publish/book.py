"""A book as the exporters see it: metadata plus chapters split into paragraphs and scene breaks.

Every exporter (EPUB, DOCX, PDF, Markdown) reads the same ``Manuscript``, built once from the
record, so they agree on what a paragraph, a scene break and a word are:

    ms = load_manuscript(rec, book_id)
    for chapter in ms.chapters:
        for block in chapter.blocks:   # a paragraph's text, or SCENE_BREAK
            ...

Chapter text is plain text, never markup: ``<script>``, ``&`` and ``*stars*`` are words to
print, and each exporter escapes them for its own format. Pure functions, no heavy imports.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone

from record.errors import UserError

SCENE_BREAK = None  # a block that is a scene break rather than a paragraph

# A line that is only a scene-break marker: "#", "*", "* * *", "***", "~", "---" and the like.
_SCENE_RE = re.compile(r"^\s*(?:(?:[*#~]\s*){1,5}|-{3,}|_{3,}|(?:-\s){2,}-)\s*$")
_BLANK_LINE_RE = re.compile(r"\n[ \t\u00a0]*\n")
# Characters XML 1.0 forbids (and DOCX/EPUB readers reject), and lone surrogates.
_ILLEGAL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff\ud800-\udfff]")
# Scripts written one word per character: each character counts as a word.
_CJK_RE = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")
_LANG_RE = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*$")
RTL_LANGUAGES = {"ar", "arc", "ckb", "dv", "fa", "he", "iw", "ks", "ku", "ps", "sd", "ug", "ur", "yi"}


class ExportError(UserError):
    """A book that cannot be exported as asked; the message says what to change."""


class ExportNote(UserWarning):
    """Something the person exporting should know, though the file was written (a missing
    font, an option that does not apply). The CLI prints these as ``note:`` lines."""


@dataclass
class Chapter:
    title: str
    blocks: list[str | None] = field(default_factory=list)  # paragraph text, or SCENE_BREAK

    @property
    def paragraphs(self) -> list[str]:
        return [b for b in self.blocks if b is not SCENE_BREAK]


@dataclass
class Manuscript:
    book_id: int
    title: str
    author: str
    language: str = "en"
    description: str = ""
    genre: str = ""
    date: str = ""  # ISO date (YYYY-MM-DD) of the last change
    identifier: str = ""  # stable urn:uuid for this book
    settings: dict = field(default_factory=dict)
    chapters: list[Chapter] = field(default_factory=list)

    @property
    def direction(self) -> str:
        return "rtl" if self.language.split("-")[0].lower() in RTL_LANGUAGES else "ltr"

    @property
    def words(self) -> int:
        return sum(count_words(p) for c in self.chapters for p in c.paragraphs)


def clean_text(text: str) -> str:
    """Drop characters no document format can hold (control characters, lone surrogates) and
    normalise line ends; everything else, markup-looking or not, is kept as written."""
    text = (text or "").replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    return _ILLEGAL_RE.sub("", text)


def clean_line(text: str) -> str:
    """A title or metadata value: one line, cleaned, whitespace collapsed."""
    return " ".join(clean_text(text).split())


def is_scene_break(line: str) -> bool:
    return bool(_SCENE_RE.match(line))


def split_blocks(text: str) -> list[str | None]:
    """Split chapter text into paragraphs and scene breaks.

    Paragraphs are separated by blank lines; lines inside one are joined with a space (so a
    hard-wrapped manuscript reads as prose). Text with no blank line at all has one paragraph per
    line, as writer models often produce. A line of only ``#``, ``*``, ``* * *``, ``~`` or ``---``
    is a scene break. Leading and trailing scene breaks are dropped; repeated ones collapse.

    >>> split_blocks("One.\\nTwo.\\n\\n* * *\\n\\nThree")
    ['One. Two.', None, 'Three']
    >>> split_blocks("One.\\nTwo.")
    ['One.', 'Two.']
    """
    text = clean_text(text).strip("\n")
    if not text.strip():
        return []
    if _BLANK_LINE_RE.search(text):
        groups = [g.split("\n") for g in _BLANK_LINE_RE.split(text)]
    else:
        groups = [[line] for line in text.split("\n")]
    blocks: list[str | None] = []
    for lines in groups:
        para: list[str] = []
        for line in lines:
            if is_scene_break(line):
                if para:
                    blocks.append(" ".join(para))
                    para = []
                blocks.append(SCENE_BREAK)
            elif line.strip():
                para.append(" ".join(line.split()))
        if para:
            blocks.append(" ".join(para))
    out: list[str | None] = []
    for b in blocks:
        if b is SCENE_BREAK and (not out or out[-1] is SCENE_BREAK):
            continue
        out.append(b)
    while out and out[-1] is SCENE_BREAK:
        out.pop()
    return out


def count_words(text: str) -> int:
    """Words as a word processor counts them, with each CJK character counted as one word.

    >>> count_words("The cat sat.  猫が")
    5
    """
    cjk = len(_CJK_RE.findall(text))
    return cjk + len(_CJK_RE.sub(" ", text).split())


def round_to_hundred(n: int) -> int:
    """Manuscript word count: nearest hundred (halves up), and never 0 for a book with words.

    >>> round_to_hundred(80_049), round_to_hundred(80_050), round_to_hundred(12)
    (80000, 80100, 100)
    """
    if n <= 0:
        return 0
    return max(100, (n + 50) // 100 * 100)


def check_language(lang: str) -> str:
    """A BCP 47 language tag such as ``en``, ``en-GB`` or ``zh-Hans``; anything else is an error."""
    lang = (lang or "").strip() or "en"
    if not _LANG_RE.match(lang):
        raise ExportError(f"book language {lang!r} is not a language tag; expected a BCP 47 tag such as "
                          "'en', 'en-GB', 'fr', 'ja' or 'ar' (set it with the book's language field)")
    return lang


def book_identifier(book: dict) -> str:
    """A stable ``urn:uuid`` per book (same book, same identifier on every export), unless the
    book's settings carry one (an ISBN URN, say)."""
    import uuid

    settings = book.get("settings") or {}
    if settings.get("identifier"):
        return clean_line(str(settings["identifier"]))
    return "urn:uuid:" + str(uuid.uuid5(uuid.NAMESPACE_URL, f"scriptorium:book:{book['id']}:{book['created_at']!r}"))


def manuscript_from_rows(book: dict, chapters: list[dict]) -> Manuscript:
    """Pure: the book and chapter rows of the record -> a Manuscript. Raises ExportError for a
    book that has nothing to export."""
    title = clean_line(book.get("title", ""))
    if not title:
        raise ExportError(f"book {book.get('id')} has no title; give it one before exporting")
    if not chapters:
        raise ExportError(f"book {title!r} has no chapters; add a chapter (or `scriptorium book import FILE.md`) "
                          "before exporting")
    out = []
    for i, ch in enumerate(chapters, start=1):
        ctitle = clean_line(ch.get("title") or "") or f"Chapter {i}"
        out.append(Chapter(title=ctitle, blocks=split_blocks(ch.get("text") or "")))
    stamp = book.get("updated_at") or book.get("created_at") or 0
    settings = book.get("settings") if isinstance(book.get("settings"), dict) else {}
    return Manuscript(
        book_id=book["id"],
        title=title,
        author=clean_line(book.get("author") or "") or "Anonymous",
        language=check_language(book.get("language") or "en"),
        description=clean_line(book.get("description") or ""),
        genre=clean_line(book.get("genre") or ""),
        date=datetime.fromtimestamp(stamp, tz=timezone.utc).strftime("%Y-%m-%d"),
        identifier=book_identifier(book),
        settings=settings,
        chapters=out,
    )


def load_manuscript(rec, book_id: int | str) -> Manuscript:
    """Read a book (by id or exact title) and its chapters from the record."""
    book = rec.find_book(book_id)
    return manuscript_from_rows(book, rec.chapters(book["id"]))

