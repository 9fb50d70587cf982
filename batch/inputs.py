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


def _decode(data: bytes, where: str, flag: str) -> str:
    """UTF-8 text, or an error naming the line and byte that are not UTF-8."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b"\n") + 1
        raise BatchInputError(f"{where} is not UTF-8 text: line {line} has byte 0x{data[e.start]:02x} ({e.reason}); "
                              f"save it as UTF-8 and pass {flag} again") from None


def _read_bytes(path: str | os.PathLike, what: str, flag: str) -> tuple[bytes, str]:
    """The bytes of ``path`` (``-``: standard input) and how to name it in messages."""
    import sys

    if str(path) == "-":
        return sys.stdin.buffer.read(), "standard input"
    path = Path(path).expanduser()
    if path.is_dir():
        raise BatchInputError(f"{what} {path} is a folder, not a file; pass {flag} with a file")
    try:
        return path.read_bytes(), str(path)
    except FileNotFoundError:
        raise BatchInputError(f"{what} {path} does not exist; pass {flag} with a file") from None
    except OSError as e:
        raise BatchInputError(f"cannot read {what} {path} ({e.strerror}); check its permissions") from None


def _items_from_jsonl(lines: list[str], where: str, limit: int | None) -> list[Item]:
    items: list[Item] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue  # blank lines between records are harmless
        at = f"{where}:{number}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise BatchInputError(
                f"{at}: not valid JSON ({e.msg} at column {e.colno}); each line must be one object like "
                '{"prompt": "A cat finds a map."}'
            ) from None
        if not isinstance(obj, dict):
            raise BatchInputError(f'{at}: expected a JSON object like {{"prompt": "..."}}, got {type(obj).__name__}')
        if "prompt" not in obj:
            raise BatchInputError(f"{at}: the object has no \"prompt\" field (it has: {', '.join(obj) or 'nothing'})")
        prompt = obj["prompt"]
        if prompt is not None and not isinstance(prompt, str):
            raise BatchInputError(f"{at}: \"prompt\" must be a string, got {type(prompt).__name__}")
        key = str(obj["id"]) if obj.get("id") is not None else f"line{number}"
        if key in seen:
            raise BatchInputError(f"{at}: id {key!r} was already used on line {seen[key]}; ids must be unique")
        seen[key] = number
        meta = {k: v for k, v in obj.items() if k not in ("prompt", "id")}
        items.append(Item(key=key, position=len(items), prompt=(prompt or "").strip(), source=at, meta=meta))
        if limit is not None and len(items) >= limit:
            break
    return items


def load_prompts(path: str | os.PathLike, limit: int | None = None) -> list[Item]:
    """Items from a JSONL prompts file (``-``: standard input). Raises ``BatchInputError`` naming
    the line for malformed JSON, a line that is not an object, a missing ``prompt``, a repeated
    ``id`` or bytes that are not UTF-8."""
    data, where = _read_bytes(path, "prompts file", "--prompts")
    items = _items_from_jsonl(_decode(data, f"prompts file {where}", "--prompts").splitlines(), where, limit)
    if not items:
        raise BatchInputError(f"prompts file {where} holds no prompts; write one JSON object per line")
    return items


def read_prompts(path: str | os.PathLike, limit: int | None = None, flag: str = "--prompt-file") -> list[str]:
    """Prompts from a file (``-``: standard input): JSONL (objects with a ``prompt``: a ``.jsonl``
    name, or a first line that starts with ``{``) or plain text, one prompt per line. Blank lines
    are skipped; an empty file, bad JSON or bytes that are not UTF-8 are errors naming the line."""
    data, where = _read_bytes(path, "prompts file", flag)
    text = _decode(data, f"prompts file {where}", flag)
    lines = text.splitlines()
    first = next((line.strip() for line in lines if line.strip()), "")
    if str(path).endswith(".jsonl") or first.startswith("{"):
        prompts = [i.prompt for i in _items_from_jsonl(lines, where, limit) if i.prompt]
    else:
        prompts = [line.strip() for line in lines if line.strip()][:limit]
    if not prompts:
        raise BatchInputError(f"prompts file {where} holds no prompts; write one prompt per line (or JSONL objects "
                              'like {"prompt": "..."})')
    return prompts


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
        # libyaml's loader where PyYAML has it: a 10,000-chapter outline loads in a fraction of the time
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
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
