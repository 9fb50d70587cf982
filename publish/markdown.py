"""Markdown export: one file with YAML front matter (title, author, language), a ``#`` heading
per chapter, paragraphs separated by blank lines and ``* * *`` scene breaks.

    path.write_text(to_markdown(manuscript))

Chapter text is plain text, so what a Markdown reader would take as structure or HTML is
escaped: a ``#`` or ``>`` or ``-``/``+``/``1.`` list marker at the start of a paragraph gets a
backslash, and ``&``, ``<``, ``>`` become entities. Inline emphasis (``*word*``) is left as
written. ``publish/importer.py`` reads the file back to the same chapters and words.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from publish.book import SCENE_BREAK, Manuscript

_BLOCK_START_RE = re.compile(r"^(#|>|[-+*](?=\s|$)|\d+[.)](?=\s|$)|=+\s*$|`{3,}|~{3,})")


def escape_markdown(text: str) -> str:
    """Escape one paragraph of plain text so Markdown shows it as written.

    >>> escape_markdown("# not a heading & <script>")
    '\\\\# not a heading &amp; &lt;script&gt;'
    >>> escape_markdown("1. not a list")
    '1\\\\. not a list'
    """
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    m = re.match(r"^(\d+)([.)])(?=\s|$)", text)
    if m:
        return f"{m.group(1)}\\{text[len(m.group(1)):]}"
    if _BLOCK_START_RE.match(text):
        return "\\" + text
    return text


def escape_heading(text: str) -> str:
    """Escape a chapter title for a ``#`` heading line (a trailing ``#`` would be dropped).

    >>> escape_heading("Room #")
    'Room \\\\#'
    """
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text[:-1] + "\\#" if text.endswith("#") else text


def front_matter(ms: Manuscript) -> str:
    meta = {"title": ms.title, "author": ms.author, "language": ms.language}
    if ms.description:
        meta["description"] = ms.description
    if ms.genre:
        meta["genre"] = ms.genre
    meta["date"] = ms.date
    meta["identifier"] = ms.identifier
    dumped = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False, width=10_000)
    return f"---\n{dumped}---\n"


def to_markdown(ms: Manuscript) -> str:
    """The whole book as Markdown text."""
    parts = [front_matter(ms)]
    for chapter in ms.chapters:
        parts.append(f"\n# {escape_heading(chapter.title)}\n")
        for block in chapter.blocks:
            parts.append("\n* * *\n" if block is SCENE_BREAK else f"\n{escape_markdown(block)}\n")
    return "".join(parts)


def write_markdown(ms: Manuscript, path: str | Path) -> Path:
    """Write ``ms`` as Markdown at ``path`` (the caller makes the write atomic)."""
    Path(path).write_text(to_markdown(ms), encoding="utf-8")
    return Path(path)
