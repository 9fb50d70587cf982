"""Chapter versions in the studio: every accepted pick, edit, rewrite, save and restore of a
chapter is a version on the record (who, when, from which draft); any two compare word by word;
any version can be restored (as a new version, so the restore itself can be undone).

    out = save(rec, user, book_id, item_id, "New text", session="tab-1", base=3)
    out["version"], out["message"]
    html = diff_html(*texts_of(rec, user, 3, 5))
    restore(rec, user, 3)

Typing is saved as it happens (``autosave=True``): consecutive edits from one browser tab
update that tab's own latest version. When another tab (or author session) saved the chapter in
between, the save becomes a new version beside it: nothing either tab wrote is lost.
"""

from __future__ import annotations

import difflib
import html
import re
import time
from typing import Any

from ui.studio.books import owned_book
from ui.studio.engine import StudioError, may_see
from ui.studio.outline import chapter_for_item

HEADERS = ["version", "when", "what", "who", "words", "from draft"]
WIDTHS = ["10%", "22%", "14%", "18%", "12%", "14%"]
KIND_LABELS = {"initial": "before versions", "pick": "picked", "edit": "typed", "save": "saved",
               "rewrite": "rewrite", "expand": "expansion", "restore": "restored"}
TOKEN = re.compile(r"\s+|[^\s]+")


def _when(t: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t))


def version_rows(rec, user, book_id, item_id) -> list[list[Any]]:
    """The chapter's versions, newest first."""
    if item_id in (None, ""):
        return []
    chapter = chapter_for_item(rec, user, owned_book(rec, book_id, user)["id"], item_id)
    rows = []
    for v in reversed(rec.chapter_versions(chapter["id"])):
        what = KIND_LABELS.get(v["kind"], v["kind"])
        if v["restored_from"]:
            what += f" v{v['restored_from']}"
        rows.append([v["id"], _when(v["updated_at"]), what, v["author"], len(v["text"].split()), v["draft_id"] or ""])
    return rows


def version_choices(rec, user, book_id, item_id) -> list[tuple[str, int]]:
    return [(f"v{r[0]} {r[2]} {r[1]}", r[0]) for r in version_rows(rec, user, book_id, item_id)]


def head_version(rec, chapter_id: int) -> int | None:
    row = rec.one("SELECT id FROM chapter_versions WHERE chapter_id = ? ORDER BY id DESC LIMIT 1", (chapter_id,))
    return row["id"] if row else None


def save(rec, user, book_id, item_id, text: str, session: str | None = None, base: int | None = None,
         autosave: bool = False, author: str | None = None) -> dict[str, Any]:
    """Keep the author's text as a version of the chapter. ``base`` is the version the tab was
    showing; when the chapter has moved on since (another tab saved), the text still becomes a
    new version and the message says which version the other one is."""
    book = owned_book(rec, book_id, user)
    chapter = chapter_for_item(rec, user, book["id"], item_id)
    text = text or ""
    head = head_version(rec, chapter["id"])
    words = len(text.split())
    if text == chapter["text"]:
        return {"version": head, "conflict": False,
                "message": f"Chapter \"{chapter['title']}\" is saved ({words} words, version {head})."}
    if not text.strip() and not chapter["text"].strip():
        return {"version": head, "conflict": False, "message": "Nothing to save yet: the chapter is empty."}
    who = author if author is not None else (user or book["author"] or "author")
    conflict = base is not None and head is not None and head != int(base)
    version = rec.add_chapter_version(chapter["id"], text, "edit" if autosave else "save", author=str(who),
                                      session=session, parent_id=int(base) if base is not None else None,
                                      coalesce=autosave)
    message = f"Saved chapter \"{chapter['title']}\" ({words} words) as version {version}."
    if conflict:
        message += (f" It had changed elsewhere since you opened it (version {head}, another tab or session); "
                    "both are kept: compare them under Versions.")
    return {"version": version, "conflict": conflict, "message": message}


def owned_version(rec, user, version_id) -> dict[str, Any]:
    try:
        vid = int(version_id)
    except (TypeError, ValueError):
        raise StudioError("pick a version first (the Versions list)") from None
    row = rec.one("SELECT v.*, b.owner AS owner FROM chapter_versions v JOIN books b ON b.id = v.book_id "
                  "WHERE v.id = ?", (vid,))
    if row is None or not may_see(user, row["owner"]):
        raise StudioError(f"no version {vid} among your chapters' versions")
    return row


def texts_of(rec, user, a_id, b_id) -> tuple[str, str]:
    return owned_version(rec, user, a_id)["text"], owned_version(rec, user, b_id)["text"]


def restore(rec, user, version_id, session: str | None = None, base: int | None = None) -> dict[str, Any]:
    """Make an old version the chapter's text again, as a new version."""
    v = owned_version(rec, user, version_id)
    if v["chapter_id"] is None:
        raise StudioError(f"version {v['id']} belonged to chapter \"{v['chapter_title']}\", which was deleted, so it "
                          "cannot be restored into it; add the chapter again in the Outline tab and paste the text "
                          "(compare shows it)")
    new = rec.add_chapter_version(v["chapter_id"], v["text"], "restore", author=str(user or ""), session=session,
                                  parent_id=base, restored_from=v["id"])
    return {"version": new, "text": v["text"], "item_id": rec.get("chapters", v["chapter_id"])["outline_item_id"],
            "message": f"Restored version {v['id']} as version {new} (the text before it is kept too)."}


def word_diff(a: str, b: str) -> list[tuple[str, str, str]]:
    """Word-level changes from ``a`` to ``b``: (op, old piece, new piece) with op one of
    equal, delete, insert, replace. Whitespace is kept, so the pieces join back to a and b."""
    ta, tb = TOKEN.findall(a or ""), TOKEN.findall(b or "")
    ops = difflib.SequenceMatcher(None, ta, tb, autojunk=False).get_opcodes()
    return [(op, "".join(ta[i1:i2]), "".join(tb[j1:j2])) for op, i1, i2, j1, j2 in ops]


def diff_html(a: str, b: str, left: str = "before", right: str = "after") -> str:
    """The two texts side by side, removed words struck out on the left, added words marked on
    the right; every piece escaped."""
    old, new, changed = [], [], 0
    for op, x, y in word_diff(a, b):
        ex, ey = html.escape(x), html.escape(y)
        if op == "equal":
            old.append(ex), new.append(ey)
            continue
        changed += 1
        if x:
            old.append(f'<del class="df-del">{ex}</del>')
        if y:
            new.append(f'<ins class="df-ins">{ey}</ins>')
    summary = "no differences" if not changed else f"{changed} change(s)"
    return (f'<div class="df-sum">{html.escape(summary)}</div><div class="df-grid">'
            f'<div class="df-col"><div class="df-head">{html.escape(left)}</div>{"".join(old)}</div>'
            f'<div class="df-col"><div class="df-head">{html.escape(right)}</div>{"".join(new)}</div></div>')
