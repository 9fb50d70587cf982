"""Feedback sessions: an author is shown two drafts for the same prompt, blind and in random
order, and says which is better (or "tie", or "both bad"). Each choice is a pick attributed to
its author and session; a preference becomes a pair (origin 'pick'). Several authors can run
sessions at once: each session keeps its own shown pair.

    shown = next_pair(rec, user=None, rng=random.Random())
    record_choice(rec, "ann", session_id, shown, "A")
"""

from __future__ import annotations

import random
from typing import Any

from ui.studio.engine import StudioError

CHOICES = ("A", "B", "tie", "both_bad")


def next_pair(rec, user: str | None, rng: random.Random, author: str = "", tries: int = 20) -> dict[str, Any]:
    """Two drafts of one prompt, in random order; prefers pairs this author has not judged."""
    owner = "AND b.owner = ?" if user is not None else ""
    params: tuple = (user,) if user is not None else ()
    groups = rec.query(
        "SELECT d.prompt AS prompt, GROUP_CONCAT(d.id) AS ids FROM drafts d LEFT JOIN books b ON b.id = d.book_id "
        f"WHERE TRIM(d.text) != '' {owner} GROUP BY d.prompt HAVING COUNT(*) >= 2", params)
    if not groups:
        raise StudioError("no prompt has two drafts yet; draft some candidates first (Draft tab, K of 2 or more)")
    judged = {(r["draft_id"], r["other_id"]) for r in rec.query(
        "SELECT draft_id, other_id FROM picks WHERE author = ?", (author,))} if author else set()
    a = b = None
    for _ in range(tries):
        ids = [int(i) for i in rng.choice(groups)["ids"].split(",")]
        a, b = rng.sample(ids, 2)
        if (a, b) not in judged and (b, a) not in judged:
            break
    da, db = rec.get("drafts", a), rec.get("drafts", b)
    return {"a": a, "b": b, "prompt": da["prompt"], "a_text": da["text"], "b_text": db["text"]}


def record_choice(rec, author: str, session: str, shown: dict[str, Any] | None, choice: str) -> str:
    if not shown:
        raise StudioError("press 'Next pair' to be shown two drafts first")
    if not (author or "").strip():
        raise StudioError("type your name in 'Author' so the choice is attributed to you")
    if choice not in CHOICES:
        raise StudioError(f"choice {choice!r} unknown; use one of {', '.join(CHOICES)}")
    a, b = shown["a"], shown["b"]
    with rec.transaction():
        if choice in ("A", "B"):
            chosen, other = (a, b) if choice == "A" else (b, a)
            pick_id = rec.add_pick(chosen, other, author=author.strip(), kind="pick", session=session)
            rec.add_pair(rec.get("drafts", chosen)["prompt"], chosen, other, "pick", pick_id=pick_id)
        else:
            rec.add_pick(a, b, author=author.strip(), kind=choice, session=session)
    return {"A": "Recorded: A is better.", "B": "Recorded: B is better.", "tie": "Recorded: a tie.",
            "both_bad": "Recorded: both bad."}[choice]


def session_count(rec, session: str) -> int:
    return rec.one("SELECT COUNT(*) AS n FROM picks WHERE session = ?", (session,))["n"]
