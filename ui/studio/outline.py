"""The outline in the studio: write it or generate it from a premise; reorder, edit, add and
delete items; each item is a chapter (its chapter row is made when first needed).

    add_item(rec, user, book_id, "The storm", "Mara finds the door")
    move_item(rec, user, book_id, item_id, -1)          # one place up
    items = parse_outline("1. The storm: Mara finds the door\\n2. ...")
"""

from __future__ import annotations

import re
from typing import Any

from ui.studio.books import owned_book
from ui.studio.engine import StudioError

HEADERS = ["id", "#", "title", "summary", "chapter words"]
# "1. ", "2) ", "IV. ", "Chapter 3: ", "12 " before the title; a numeral only counts when a
# separator follows it, so titles such as "Cliffs" or "Lima" keep their first letters.
ITEM_LINE = re.compile(r"^\s*(?:chapter\s+)?(?:(?:\d+|[ivxlc]+)\s*[.):\-]\s*|\d+\s+)?(.+?)\s*$", re.I)


def _item(rec, user, book_id, item_id) -> dict[str, Any]:
    book = owned_book(rec, book_id, user)
    try:
        item_id = int(item_id)
    except (TypeError, ValueError):
        raise StudioError("pick an outline item first (click its row)") from None
    row = rec.one("SELECT * FROM outline_items WHERE id = ? AND book_id = ?", (item_id, book["id"]))
    if row is None:
        raise StudioError(f"no outline item {item_id} in this book")
    return row


def add_item(rec, user, book_id, title: str, summary: str = "") -> int:
    book = owned_book(rec, book_id, user)
    if not (title or "").strip():
        raise StudioError("an outline item needs a title (the chapter's name)")
    return rec.add_outline_item(book["id"], title.strip(), (summary or "").strip())


def update_item(rec, user, book_id, item_id, title: str, summary: str) -> None:
    item = _item(rec, user, book_id, item_id)
    if not (title or "").strip():
        raise StudioError("an outline item needs a title (the chapter's name)")
    with rec.transaction():
        rec.update("outline_items", item["id"], title=title.strip(), summary=(summary or "").strip())
        rec.conn.execute("UPDATE chapters SET title = ? WHERE outline_item_id = ?", (title.strip(), item["id"]))


def delete_item(rec, user, book_id, item_id) -> None:
    """Delete an outline item and its chapter (their drafts stay on the record)."""
    item = _item(rec, user, book_id, item_id)
    with rec.transaction():
        rec.conn.execute("DELETE FROM chapters WHERE outline_item_id = ?", (item["id"],))
        rec.conn.execute("DELETE FROM outline_items WHERE id = ?", (item["id"],))
        _renumber(rec, item["book_id"])


def move_item(rec, user, book_id, item_id, step: int) -> None:
    """Move an item ``step`` places (negative = earlier); its chapter moves with it."""
    item = _item(rec, user, book_id, item_id)
    ids = [i["id"] for i in rec.outline(item["book_id"])]
    at = ids.index(item["id"])
    to = max(0, min(len(ids) - 1, at + step))
    ids.insert(to, ids.pop(at))
    with rec.transaction():
        rec.reorder("outline_items", ids)
        _renumber(rec, item["book_id"])


def _renumber(rec, book_id: int) -> None:
    """Chapters follow their outline items' order."""
    for pos, it in enumerate(rec.outline(book_id)):
        rec.conn.execute("UPDATE chapters SET position = ? WHERE outline_item_id = ?", (pos, it["id"]))


def outline_rows(rec, user, book_id) -> list[list[Any]]:
    book = owned_book(rec, book_id, user)
    words = {c["outline_item_id"]: len(c["text"].split()) for c in rec.chapters(book["id"])}
    return [[it["id"], n + 1, it["title"], it["summary"], words.get(it["id"], 0)]
            for n, it in enumerate(rec.outline(book["id"]))]


def chapter_for_item(rec, user, book_id, item_id) -> dict[str, Any]:
    """The chapter of an outline item, made on first use."""
    item = _item(rec, user, book_id, item_id)
    row = rec.one("SELECT * FROM chapters WHERE outline_item_id = ?", (item["id"],))
    if row is None:
        pos = [i["id"] for i in rec.outline(item["book_id"])].index(item["id"])
        chapter_id = rec.add_chapter(item["book_id"], item["title"], outline_item_id=item["id"], position=pos)
        row = rec.get("chapters", chapter_id)
    return row


def adopt_chapters(rec, book_id: int) -> int:
    """Give chapters made outside the studio (Markdown import, batch runs) an outline item each,
    so they can be picked and drafted here; returns how many were adopted."""
    orphans = rec.query("SELECT * FROM chapters WHERE book_id = ? AND outline_item_id IS NULL ORDER BY position, id",
                        (book_id,))
    if not orphans:
        return 0
    with rec.transaction():
        for ch in orphans:
            item = rec.add_outline_item(book_id, ch["title"] or "Untitled")
            rec.conn.execute("UPDATE chapters SET outline_item_id = ? WHERE id = ?", (item, ch["id"]))
        _renumber(rec, book_id)
    return len(orphans)


def chapter_choices(rec, user, book_id) -> list[tuple[str, int]]:
    """(label, outline item id) for the drafting tab's chapter picker."""
    book = owned_book(rec, book_id, user)
    return [(f"{n + 1}. {it['title']}", it["id"]) for n, it in enumerate(rec.outline(book["id"]))]


def parse_outline(text: str, limit: int = 40) -> list[tuple[str, str]]:
    """Outline items from the writer's (or an author's pasted) text: one item a line,
    ``Title: summary`` or ``Title - summary``, numbering and bullets ignored."""
    items = []
    for line in (text or "").splitlines():
        line = line.strip().lstrip("-*#• ").strip()
        if not line:
            continue
        m = ITEM_LINE.match(line)
        body = m.group(1) if m else line
        body = body.strip().strip('"')
        if len(body) < 2:
            continue
        title, _, summary = _split(body)
        items.append((title.strip()[:120], summary.strip()))
        if len(items) >= limit:
            break
    return items


def _split(body: str) -> tuple[str, str, str]:
    m = re.search(r"\s*[:\u2014]\s+|\s+-\s+", body)
    if not m:
        return body, "", ""
    return body[: m.start()], m.group(0), body[m.end():]


OUTLINE_REQUEST = (
    "Write an outline for a novel with this premise: {premise}\n"
    "Give exactly {n} chapters, one per line. Each line: the chapter number, a title of a few words that names "
    "what happens, a colon, and one sentence saying what happens in it."
)
# titles a model writes when it echoes the format instead of filling it in: "Title", "A", "B",
# "Chapter 2", "<title>", "Chapter title", "Summary"
PLACEHOLDER = re.compile(r"^(?:(?:chapter\s*)?(?:title|name|summary)|chapter(?:\s*\d+|\s+[ivxlc]+)?|untitled|tbd|tba|"
                         r"[a-z]|\d+|<[^>]*>|\[[^\]]*\]|\W*|(?:the\s+)?(?:first|second|third|next|last|final)\s+chapter)$",
                         re.I)
OUTLINE_TRIES = 3


def is_placeholder(title: str) -> bool:
    """True for a title that only echoes the request's format (see ``PLACEHOLDER``)."""
    return bool(PLACEHOLDER.match((title or "").strip().strip("\"'*_").strip()))


def generate_outline(engine, user, book_id, premise: str, chapters: int = 5, seed: int = 0,
                     replace: bool = False) -> list[tuple[str, str]]:
    """Ask the writer for an outline and add its items to the book (all or nothing). Items with
    placeholder titles are refused; the writer is asked again (``OUTLINE_TRIES`` seeds) until
    it gives ``chapters`` real items, and the best try is kept, or the author is told it could
    not."""
    from writer.draft import DraftConfig, draft

    from ui.studio.books import instructions_for

    book = owned_book(engine.rec, book_id, user)
    if not (premise or "").strip():
        raise StudioError("type a premise (what the book is about) to generate an outline from")
    if not 1 <= int(chapters) <= 40:
        raise StudioError(f"an outline has 1 to 40 chapters, got {chapters}")
    best: list[tuple[str, str]] = []
    refused: list[str] = []
    for attempt in range(OUTLINE_TRIES):
        cfg = DraftConfig(k=1, max_new_tokens=max(engine.max_new_tokens, 24 * int(chapters)), seed=int(seed) + attempt)
        with engine.writer_slot(user) as (writer, _):
            out = draft(writer, [OUTLINE_REQUEST.format(premise=premise.strip(), n=int(chapters))], cfg,
                        instructions_for(book, chapter=False))[0][0]
        items = []
        for title, summary in parse_outline(out.text, limit=40):
            if is_placeholder(title):
                refused.append(title)
            elif title.lower() not in {t.lower() for t, _ in items}:
                items.append((title, summary))
        items = items[: int(chapters)]
        if len(items) > len(best):
            best = items
        if len(best) >= int(chapters):
            break
    if not best:
        seen = ", ".join(sorted({repr(t) for t in refused})[:5])
        raise StudioError(f"the writer could not give a usable outline in {OUTLINE_TRIES} tries"
                          + (f" (only placeholder titles such as {seen})" if seen else "")
                          + "; try another premise or seed, or write the outline yourself (Add item)")
    with engine.rec.transaction():
        if replace:
            engine.rec.conn.execute("DELETE FROM chapters WHERE book_id = ? AND outline_item_id IS NOT NULL", (book["id"],))
            engine.rec.conn.execute("DELETE FROM outline_items WHERE book_id = ?", (book["id"],))
        for title, summary in best:
            engine.rec.add_outline_item(book["id"], title, summary)
    return best
