"""Books in the studio: create, open, rename, delete, and each book's remembered settings.

Plain functions over the record, called by the Gradio handlers in ``ui.studio`` and by tests.
``user`` is the signed-in author when the studio runs with ``--auth`` (then an author sees and
touches only the books they own; an admin sees all) and None otherwise (one local author, every
book visible). The book an author last worked on is remembered (``remember_book``) and opens
on their next visit.

    book = create_book(rec, user="ann", title="The Lighthouse", author="Ann", genre="mystery")
    settings = book_settings(rec, book["id"], "ann")
"""

from __future__ import annotations

import json
from typing import Any

from ui.studio.engine import StudioError, may_see, scope

LANGUAGES = ["en", "de", "fr", "es", "it", "nl", "pt", "zh", "ja"]
SAMPLING_DEFAULTS = {"k": 2, "temperature": 0.8, "top_p": 0.95, "repetition_penalty": 1.1, "seed": 0}
MAX_UI_K = 6


def owned_book(rec, book_id, user: str | None) -> dict[str, Any]:
    """The book, if it exists and ``user`` may see it; else a StudioError."""
    if book_id in (None, ""):
        raise StudioError("no book is open; create one or pick one in the Books tab")
    try:
        book_id = int(book_id)
    except (TypeError, ValueError):
        raise StudioError(f"book id {book_id!r} is not a number; pick a book in the Books tab") from None
    row = rec.one("SELECT * FROM books WHERE id = ?", (book_id,))
    if row is None or not may_see(user, row["owner"]):
        # The same message whether it is missing or someone else's: no probing other authors' ids.
        raise StudioError(f"no book {book_id} among your books; pick one in the Books tab")
    return row


def list_books(rec, user: str | None) -> list[dict[str, Any]]:
    return rec.books(owner=scope(user)) if scope(user) is not None else rec.books()


def _last_key(user: str | None) -> str:
    return f"studio_last_book:{user or ''}"


def remember_book(rec, user: str | None, book_id) -> None:
    """Note the book the author is working on, so it opens on their next visit."""
    if book_id not in (None, ""):
        rec.set_state(_last_key(user), int(book_id))


def last_book(rec, user: str | None) -> int | None:
    """The book the author last worked on, if they still may open it; else their newest."""
    books = {b["id"] for b in list_books(rec, user)}
    last = rec.get_state(_last_key(user))
    if last in books:
        return last
    return max(books) if books else None


def book_choices(rec, user: str | None) -> list[tuple[str, int]]:
    """(label, id) pairs for a dropdown."""
    mine = scope(user) is None and user is not None  # an admin: say whose each book is
    return [(f"{b['title']} (#{b['id']})" + (f" [{b['owner']}]" if mine and b["owner"] != user else ""), b["id"])
            for b in list_books(rec, user)]


def style_presets() -> list[str]:
    """The critics' named style presets (``critics/presets.py``)."""
    try:
        from critics.presets import PRESETS
    except ImportError:
        return ["general"]
    return list(PRESETS)


def parse_targets(text: str) -> dict[str, Any]:
    """Custom style targets over the preset, written as JSON (``{"grade": [5, 7]}``)."""
    text = (text or "").strip()
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise StudioError(f"custom style targets must be JSON like {{\"grade\": [5, 7]}}; {e.msg} at column {e.colno}") from None
    if not isinstance(value, dict):
        raise StudioError("custom style targets must be a JSON object of name: value")
    return value


def style_targets(preset: str, custom: str) -> dict[str, Any]:
    """A book's ``style_targets`` as the critics read it: the preset name plus any overrides,
    checked against the style critic's known targets when the critics are installed."""
    targets = {"preset": preset or "general", **parse_targets(custom)}
    try:
        from critics.presets import StyleTargets
    except ImportError:
        return targets
    StyleTargets.resolve(None, targets)  # raises a UserError naming the unknown target or preset
    return targets


def create_book(rec, user: str | None, title: str, author: str = "", language: str = "en", genre: str = "",
                preset: str = "general", custom_targets: str = "") -> dict[str, Any]:
    if not (title or "").strip():
        raise StudioError("a book needs a title; type one in the Title box")
    return rec.add_book(title=title, author=author or "", language=language or "en", genre=(genre or "").strip(),
                        style_targets=style_targets(preset, custom_targets), owner=None if user is None else str(user),
                        settings={"sampling": dict(SAMPLING_DEFAULTS)})


def update_book(rec, user: str | None, book_id, title: str, author: str, language: str, genre: str,
                preset: str, custom_targets: str) -> dict[str, Any]:
    owned_book(rec, book_id, user)
    if not (title or "").strip():
        raise StudioError("a book needs a title; the Title box is empty")
    return rec.update_book(int(book_id), title=title.strip(), author=(author or "").strip(),
                           language=language or "en", genre=(genre or "").strip(),
                           style_targets=style_targets(preset, custom_targets))


def delete_book(rec, user: str | None, book_id, confirm_title: str) -> str:
    """Delete a book and everything in it; ``confirm_title`` must repeat the title."""
    book = owned_book(rec, book_id, user)
    if (confirm_title or "").strip() != book["title"]:
        raise StudioError(f"to delete, type the title exactly ({book['title']!r}) in the confirmation box")
    rec.delete_book(book["id"])
    return book["title"]


def book_form(book: dict[str, Any]) -> dict[str, Any]:
    """The book's fields as the Books form shows them."""
    style = dict(book.get("style_targets") or {})
    preset = style.pop("preset", None) or "general"
    return {"title": book["title"], "author": book["author"], "language": book["language"], "genre": book["genre"],
            "preset": preset, "custom": json.dumps(style) if style else ""}


def book_settings(rec, book_id, user: str | None) -> dict[str, Any]:
    """Sampling settings and critic weights remembered for the book."""
    settings = owned_book(rec, book_id, user).get("settings") or {}
    sampling = {**SAMPLING_DEFAULTS, **(settings.get("sampling") or {})}
    return {"sampling": sampling, "weights": dict(settings.get("weights") or {})}


def save_settings(rec, book_id, user: str | None, sampling: dict | None = None,
                  weights: dict[str, float] | None = None) -> dict[str, Any]:
    book = owned_book(rec, book_id, user)
    settings = dict(book.get("settings") or {})
    if sampling is not None:
        check_sampling(sampling)
        settings["sampling"] = {**SAMPLING_DEFAULTS, **sampling}
    if weights is not None:
        bad = {k: v for k, v in weights.items() if not isinstance(v, (int, float)) or v < 0}
        if bad:
            raise StudioError(f"critic weights must be numbers >= 0; fix {', '.join(bad)}")
        settings["weights"] = {k: float(v) for k, v in weights.items()}
    rec.update_book(book["id"], settings=settings)
    return settings


# a book's premise goes into the chapter instructions up to this many words
PREMISE_WORDS = 60


def check_sampling(s: dict[str, Any]) -> None:
    from writer.draft import DraftConfig

    k = int(s.get("k", 2))
    if not 1 <= k <= MAX_UI_K:
        raise StudioError(f"the studio shows 1 to {MAX_UI_K} candidates side by side, got {k}")
    DraftConfig(k=k, temperature=float(s.get("temperature", 0.8)), top_p=float(s.get("top_p", 0.95)),
                repetition_penalty=float(s.get("repetition_penalty", 1.1)), seed=int(s.get("seed", 0)))


def instructions_for(book: dict[str, Any], chapter: bool = True) -> str:
    """The system message for drafting this book: the writer's role, the book (title, genre,
    premise) and, for a chapter, what a chapter must do (the bible's people and places by name,
    the summary's events, no notes). ``chapter=False`` is the plain role, for outlines."""
    from writer.draft import DEFAULT_INSTRUCTIONS

    if not chapter:
        parts = [DEFAULT_INSTRUCTIONS.replace("short story for the prompt", "chapter of a novel"),
                 f"The novel is titled \"{book['title']}\"."]
        if book.get("genre"):
            parts.append(f"Genre: {book['genre']}.")
    else:
        # A short system message that says what the book is and what the chapter must contain,
        # not the generic story-writer role. Measured with bench/bench_studio_follow.py: on the
        # built-in writer it alone was not measurably better than the first wording; the chapter's
        # opening on its character (writer.context.chapter_opening) is what moved the drafts
        # (BENCHMARKS.md, "Studio drafts that follow").
        genre = f", a {book['genre']} novel" if book.get("genre") else ""
        parts = [f"You are a novelist writing \"{book['title']}\"{genre}."]
        premise = " ".join((book.get("description") or "").split())
        if premise:
            words = premise.split()
            parts.append("The premise: " + (" ".join(words[:PREMISE_WORDS]) + "..." if len(words) > PREMISE_WORDS
                                            else premise))
        parts.append("Write the chapter you are asked for as story prose: use the story bible's characters and "
                     "places by name and tell what the chapter's summary says happens. No title, no notes, "
                     "no preamble.")
    if book.get("language") and book["language"] != "en":
        parts.append(f"Write in the language with code '{book['language']}'.")
    return " ".join(parts)
