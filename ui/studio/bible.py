"""The story bible in the studio: characters, places, rules and notes; the active ones go into
every chapter prompt, and the studio shows how many prompt tokens they use.

    add_entry(rec, user, book_id, "character", "Mara", "the keeper; afraid of boats")
    rows = bible_rows(rec, user, book_id)
"""

from __future__ import annotations

from typing import Any

from ui.studio.books import owned_book
from ui.studio.engine import StudioError

KINDS = ["character", "place", "rule", "note"]
HEADERS = ["id", "active", "kind", "name", "text"]


def _entry(rec, user, book_id, entry_id) -> dict[str, Any]:
    book = owned_book(rec, book_id, user)
    try:
        entry_id = int(entry_id)
    except (TypeError, ValueError):
        raise StudioError("pick a bible entry first (click its row)") from None
    row = rec.one("SELECT * FROM bible_entries WHERE id = ? AND book_id = ?", (entry_id, book["id"]))
    if row is None:
        raise StudioError(f"no bible entry {entry_id} in this book")
    return row


def add_entry(rec, user, book_id, kind: str, name: str, text: str = "", active: bool = True) -> int:
    book = owned_book(rec, book_id, user)
    if kind not in KINDS:
        raise StudioError(f"a bible entry is a {', '.join(KINDS)}; got {kind!r}")
    if not (name or "").strip():
        raise StudioError("a bible entry needs a name (who or what it is)")
    return rec.add_bible_entry(book["id"], kind, name.strip(), (text or "").strip(), active=bool(active))


def update_entry(rec, user, book_id, entry_id, kind: str, name: str, text: str, active: bool) -> None:
    entry = _entry(rec, user, book_id, entry_id)
    if kind not in KINDS:
        raise StudioError(f"a bible entry is a {', '.join(KINDS)}; got {kind!r}")
    if not (name or "").strip():
        raise StudioError("a bible entry needs a name (who or what it is)")
    rec.update("bible_entries", entry["id"], kind=kind, name=name.strip(), text=(text or "").strip(), active=int(bool(active)))


def delete_entry(rec, user, book_id, entry_id) -> None:
    entry = _entry(rec, user, book_id, entry_id)
    with rec.transaction():
        rec.conn.execute("DELETE FROM bible_entries WHERE id = ?", (entry["id"],))


def bible_rows(rec, user, book_id) -> list[list[Any]]:
    book = owned_book(rec, book_id, user)
    return [[e["id"], "yes" if e["active"] else "no", e["kind"], e["name"], e["text"]] for e in rec.bible(book["id"])]


def bible_budget(rec, user, book_id, tokenizer, budget: int) -> tuple[int, int]:
    """(tokens the active entries use in a chapter prompt, the prompt's token budget)."""
    from writer.context import _bible_block

    book = owned_book(rec, book_id, user)
    block = _bible_block(rec.bible(book["id"], active_only=True))
    used = len(tokenizer(block, add_special_tokens=False)["input_ids"]) if block else 0
    return used, budget
