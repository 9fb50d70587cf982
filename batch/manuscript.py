"""The batch's Markdown files: one per story or chapter, and the whole manuscript.

Every file is written to a temporary name in its folder and renamed into place
(``write_atomic``), so a kill leaves either the previous whole file or the new whole file,
never half of one. The text comes from the record, so a resumed batch writes byte-identical
files to an uninterrupted one.
"""

from __future__ import annotations

import os
from pathlib import Path

from record.disk import on_disk_full, temp_file


def write_atomic(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` via a temporary file and ``os.replace``. A full disk is a
    ``DiskFullError`` naming the folder; the previous file, if any, is left whole."""
    with on_disk_full(path.parent, f"writing {path.name}", needed=len(text.encode("utf-8")),
                      after="the record keeps every finished item, so the same command writes the rest"):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = temp_file(f".{path.name}.", path.parent, suffix=".tmp")  # follows the umask, unlike mkstemp
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
    return path


def write_if_changed(path: Path, text: str) -> Path:
    """``write_atomic`` unless the file already holds exactly ``text`` (a resumed run rewrites
    nothing it wrote before)."""
    try:
        if path.read_text(encoding="utf-8") == text:
            return path
    except (OSError, UnicodeDecodeError):
        pass
    return write_atomic(path, text)


def clean_partials(folder: Path) -> None:
    """Remove temporary files a killed run left behind."""
    if folder.is_dir():
        for pattern in (".*.tmp", ".*.partial-*"):
            for tmp in folder.rglob(pattern):
                tmp.unlink(missing_ok=True)


def section_title(text: str, limit: int = 72) -> str:
    """A heading from a prompt: its first line, cut at a word near ``limit`` characters."""
    line = " ".join(text.split())
    if len(line) <= limit:
        return line
    cut = line[:limit].rsplit(" ", 1)[0]
    return cut + "…"


def story_markdown(title: str, prompt: str, text: str) -> str:
    """A story under its heading; a prompt too long for the heading is quoted in full below it."""
    head = f"## {title}\n\n"
    if title != " ".join(prompt.split()):
        head += "\n".join(f"> {ln}" if ln else ">" for ln in prompt.strip().splitlines()) + "\n\n"
    return f"{head}{text.strip()}\n"


def chapter_markdown(number: int, title: str, text: str) -> str:
    return f"## Chapter {number}: {title}\n\n{text.strip()}\n"


def manuscript_markdown(title: str, sections: list[str], author: str = "", premise: str = "") -> str:
    """The whole manuscript: a title block, then the sections in order."""
    head = f"# {title}\n\n"
    if author:
        head += f"*by {author}*\n\n"
    if premise:
        head += f"*{premise}*\n\n"
    return head + "\n".join(sections)
