"""What a batch is asked to write: prompts from a JSONL file, or books from YAML outlines.

    items = load_prompts("prompts.jsonl")          # one Item per line
    book = load_outline("examples/outline.yaml")   # premise, story bible, outline

A prompts file holds one JSON object per line with a ``prompt`` (and optionally an ``id``;
other fields are kept as metadata). A malformed line stops the batch before any work, naming
the line. An empty prompt does not: it becomes an item that fails when its turn comes, so the
rest of the file is still written and the summary lists it.

An outline file (see ``examples/outline.yaml``) holds ``title`` and ``premise`` (required),
optionally ``author``, ``genre`` and ``language``, a ``bible`` list (``kind``, ``name``,
``text``; kind is character, place, rule or note) and an ``outline`` list of chapters (``title``,
``summary``). Unknown keys are refused, so a typo never silently drops a chapter.

Pure: no model, no record.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from record.errors import UserError

BIBLE_KINDS = ("character", "place", "rule", "note")
BOOK_KEYS = {"title": True, "premise": True, "outline": True, "author": False, "genre": False, "language": False,
             "bible": False}
BIBLE_KEYS = ("kind", "name", "text")
CHAPTER_KEYS = ("title", "summary")


class BatchInputError(UserError):
    """A prompts file, outline or output folder the batch cannot use."""


@dataclass
class Item:
    """One unit of batch work: a story for a prompt, or one chapter of a book."""

    key: str  # unique and stable across runs: resume bookkeeping is keyed by it
    position: int  # order in the manuscript
    prompt: str  # the prompt (stories) or the chapter's "title: summary" (chapters)
    source: str = ""  # where it came from, for the record (file:line)
    meta: dict[str, Any] = field(default_factory=dict)
    book: int | None = None  # index of its book among the outlines (chapters only)
    chapter: int | None = None  # index of the chapter in its outline (chapters only)


@dataclass
class BookSpec:
    """A book outline as read from YAML."""

    title: str
    premise: str
    outline: list[dict[str, str]]
    bible: list[dict[str, str]] = field(default_factory=list)
    author: str = ""
    genre: str = ""
    language: str = "en"
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"title": self.title, "premise": self.premise, "outline": self.outline, "bible": self.bible,
                "author": self.author, "genre": self.genre, "language": self.language}


def load_prompts(path: str | os.PathLike, limit: int | None = None) -> list[Item]:
    """Items from a JSONL prompts file. Raises ``BatchInputError`` naming the line for malformed
    JSON, a line that is not an object, a missing ``prompt`` or a repeated ``id``."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise BatchInputError(f"prompts file {path} does not exist; pass --prompts with a JSONL file") from None
    except IsADirectoryError:
        raise BatchInputError(f"prompts file {path} is a folder; pass --prompts with a JSONL file") from None
    except UnicodeDecodeError as e:
        raise BatchInputError(f"prompts file {path} is not UTF-8 text ({e.reason} at byte {e.start})") from None
    items: list[Item] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue  # blank lines between records are harmless
        where = f"{path}:{number}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise BatchInputError(
                f"{where}: not valid JSON ({e.msg} at column {e.colno}); each line must be one object like "
                '{"prompt": "A cat finds a map."}'
            ) from None
        if not isinstance(obj, dict):
            raise BatchInputError(f'{where}: expected a JSON object like {{"prompt": "..."}}, got {type(obj).__name__}')
        if "prompt" not in obj:
            raise BatchInputError(f"{where}: the object has no \"prompt\" field (it has: {', '.join(obj) or 'nothing'})")
        prompt = obj["prompt"]
        if prompt is not None and not isinstance(prompt, str):
            raise BatchInputError(f"{where}: \"prompt\" must be a string, got {type(prompt).__name__}")
        key = str(obj["id"]) if obj.get("id") is not None else f"line{number}"
        if key in seen:
            raise BatchInputError(f"{where}: id {key!r} was already used on line {seen[key]}; ids must be unique")
        seen[key] = number
        meta = {k: v for k, v in obj.items() if k not in ("prompt", "id")}
        items.append(Item(key=key, position=len(items), prompt=(prompt or "").strip(), source=where, meta=meta))
        if limit is not None and len(items) >= limit:
            break
    if not items:
        raise BatchInputError(f"prompts file {path} holds no prompts; write one JSON object per line")
    return items


def _check_keys(obj: Any, allowed, required, where: str) -> None:
    if not isinstance(obj, dict):
        raise BatchInputError(f"{where}: expected a mapping with {', '.join(allowed)}, got {type(obj).__name__}")
    unknown = [k for k in obj if k not in allowed]
    if unknown:
        raise BatchInputError(f"{where}: unknown key {unknown[0]!r}; allowed keys are {', '.join(allowed)}")
    for k in required:
        value = obj.get(k)
        if value is None or (isinstance(value, str) and not value.strip()):
            raise BatchInputError(f"{where}: missing {k!r}; every entry needs {', '.join(required)}")


def _text(obj: dict, key: str, where: str) -> str:
    value = obj.get(key, "")
    if value is None:
        return ""
    if not isinstance(value, (str, int, float)):
        raise BatchInputError(f"{where}: {key!r} must be text, got {type(value).__name__}")
    return str(value).strip()


def load_outline(path: str | os.PathLike) -> BookSpec:
    """A ``BookSpec`` from a YAML outline; the error names the file, the entry and the key."""
    import yaml

    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BatchInputError(f"outline {path} does not exist; pass --book with a YAML outline (see examples/outline.yaml)") from None
    except IsADirectoryError:
        raise BatchInputError(f"outline {path} is a folder; pass --book with a YAML file") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark else ""
        raise BatchInputError(f"outline {path} is not valid YAML{at}: {getattr(e, 'problem', None) or e}") from None
    where = str(path)
    _check_keys(data, list(BOOK_KEYS), [k for k, req in BOOK_KEYS.items() if req], where)
    chapters = data["outline"]
    if not isinstance(chapters, list) or not chapters:
        raise BatchInputError(f"{where}: 'outline' must be a non-empty list of chapters, each with title and summary")
    outline = []
    for i, ch in enumerate(chapters, start=1):
        at = f"{where}: outline item {i}"
        _check_keys(ch, CHAPTER_KEYS, CHAPTER_KEYS, at)
        outline.append({k: _text(ch, k, at) for k in CHAPTER_KEYS})
    bible_in = data.get("bible") or []
    if not isinstance(bible_in, list):
        raise BatchInputError(f"{where}: 'bible' must be a list of entries, each with kind, name and text")
    bible = []
    for i, entry in enumerate(bible_in, start=1):
        at = f"{where}: bible entry {i}"
        _check_keys(entry, BIBLE_KEYS, ("kind", "name"), at)
        kind = _text(entry, "kind", at)
        if kind not in BIBLE_KINDS:
            raise BatchInputError(f"{at}: kind {kind!r} unknown; use {', '.join(BIBLE_KINDS)}")
        bible.append({"kind": kind, "name": _text(entry, "name", at), "text": _text(entry, "text", at)})
    return BookSpec(title=_text(data, "title", where), premise=_text(data, "premise", where), outline=outline,
                    bible=bible, author=_text(data, "author", where), genre=_text(data, "genre", where),
                    language=_text(data, "language", where) or "en", source=str(path))


def book_items(books: list[BookSpec]) -> list[Item]:
    """One item per chapter, books one after another."""
    items = []
    for b, book in enumerate(books):
        for c, ch in enumerate(book.outline):
            items.append(Item(key=f"book{b + 1}/ch{c + 1:03d}", position=len(items),
                              prompt=f"{ch['title']}: {ch['summary']}" if ch["summary"] else ch["title"],
                              source=f"{book.source}: outline item {c + 1}", book=b, chapter=c))
    return items


def check_out_dir(path: str | os.PathLike) -> Path:
    """Create the output folder if needed and prove it writable, before any slow work."""
    out = Path(path).expanduser()
    if out.exists() and not out.is_dir():
        raise BatchInputError(f"output {out} is a file, not a folder; pass --out with a folder path")
    try:
        out.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".probe-", dir=out)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise BatchInputError(
            f"cannot write to output folder {out} ({e.strerror or e}); pass --out with a folder you can write to"
        ) from None
    return out.resolve()


def slug(text: str, limit: int = 40) -> str:
    """A file-name-safe short form of a title: 'The Salt Road!' -> 'the-salt-road'."""
    s = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return (s[:limit].rstrip("-") or "untitled")
