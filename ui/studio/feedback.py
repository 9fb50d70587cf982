"""Feedback sessions: readers judge pairs of drafts, blind, and their choices become picks,
preference pairs and agreement figures.

    s = create_session(rec, "ann", [book_id], raters=["bob"], min_words=20, limit=12, seed=7)
    shown = next_item(rec, "bob", "bob", s["id"])     # {"item_id", "left_text", "right_text", "shown", ...}
    judge(rec, "bob", "bob", s["id"], shown["item_id"], "left")      # left, right, tie, both_bad, skip
    agreement(rec, s["id"])                          # Cohen's kappa (two raters), Krippendorff's alpha
    export_session(engine, "ann", "ann", s["id"])    # TRL preference JSONL + agreement JSON

A session is made by an author over their own books (one or several). Its items are pairs of
drafts of the same request (the K candidates of one chapter or passage), never with a draft
under ``min_words`` or one the author stopped; the reader is told what was asked for (the
chapter's number, title and summary, the passage to rewrite, or the author's own prompt),
never the internal prompt. Each rater sees the items in the same order, with left and right
decided by a coin seeded by (session seed, item, rater), so position tells nothing and the
session can be replayed. With several raters (overlap) every rater judges every item, and the
session's agreement is shown and exported: Cohen's kappa for two raters, Krippendorff's alpha
(nominal) for any number. Decisive choices are picks (origin 'pick' pairs, attributed to the
rater and the session); a tie or "both bad" is a pick of that kind; a skip is only counted.
"""

from __future__ import annotations

import itertools
import json
import random
import time
from collections import Counter
from pathlib import Path
from typing import Any

from ui.studio.books import owned_book
from ui.studio.engine import StudioError, may_see, scope

CHOICES = ("left", "right", "tie", "both_bad", "skip")
CATEGORIES = ("a", "b", "tie", "both_bad")  # what a judgment means, whatever side a draft was shown on
MIN_WORDS = 20
MESSAGES = {"left": "Recorded: the left draft is better.", "right": "Recorded: the right draft is better.",
            "tie": "Recorded: a tie.", "both_bad": "Recorded: both bad.", "skip": "Skipped."}


def brief_for(rec, draft: dict[str, Any]) -> str:
    """What a reader is told a draft was written for: the studio's brief, else the chapter's
    outline item, else (a draft outside any chapter) the author's own prompt."""
    if draft.get("brief"):
        return draft["brief"]
    if draft.get("chapter_id"):
        from ui.studio.drafting import chapter_brief

        ch = rec.one("SELECT * FROM chapters WHERE id = ?", (draft["chapter_id"],))
        item = ch and ch["outline_item_id"] and rec.one("SELECT * FROM outline_items WHERE id = ?",
                                                        (ch["outline_item_id"],))
        return chapter_brief(rec, item) if item else f"Chapter \"{ch['title'] if ch else '?'}\""
    return draft["prompt"]


def usable(draft: dict[str, Any], min_words: int) -> str | None:
    """Why a draft cannot be shown to a reader (None when it can)."""
    if draft["finish_reason"] == "stopped":
        return "stopped"
    if len(draft["text"].split()) < min_words:
        return "short"
    return None


def create_session(rec, user: str | None, book_ids, raters=(), name: str = "", min_words: int = MIN_WORDS,
                   limit: int = 20, seed: int = 0) -> dict[str, Any]:
    """A session over the author's chosen books; ``raters`` are the other authors asked to
    judge the same pairs (the author is always one). Refuses with a message when fewer than
    two usable drafts of one request exist."""
    if isinstance(book_ids, (int, str)):
        book_ids = [book_ids]
    books = [owned_book(rec, b, user) for b in (book_ids or [])]
    if not books:
        raise StudioError("choose at least one of your books for the session")
    if not 0 <= int(min_words) <= 10_000:
        raise StudioError(f"the minimum length is in words, 0 to 10000; got {min_words}")
    if not 1 <= int(limit) <= 500:
        raise StudioError(f"a session has 1 to 500 pairs; got {limit}")
    owner = None if user is None else str(user)
    names = [r.strip() for r in ([owner or ""] + [str(r) for r in raters]) if r and r.strip()]
    names = list(dict.fromkeys(names))
    ids = [b["id"] for b in books]
    marks = ",".join("?" for _ in ids)
    drafts = rec.query(f"SELECT * FROM drafts WHERE book_id IN ({marks}) AND TRIM(text) != '' ORDER BY id", tuple(ids))
    why = Counter(usable(d, int(min_words)) for d in drafts)
    groups: dict[str, list[dict]] = {}
    for d in drafts:
        if usable(d, int(min_words)) is None:
            groups.setdefault(d["request"], []).append(d)
    pairs = [(a, b) for group in groups.values() for a, b in itertools.combinations(group, 2)
             if a["text"].strip() != b["text"].strip()]
    if not pairs:
        raise StudioError(
            f"these books have fewer than two usable drafts of any one chapter or passage ({len(drafts)} drafts: "
            f"{why.get('short', 0)} under {int(min_words)} words, {why.get('stopped', 0)} stopped); draft more "
            "candidates (K of 2 or more, without stopping), or lower the minimum length")
    rng = random.Random(int(seed))
    rng.shuffle(pairs)
    pairs = pairs[: int(limit)]
    config = {"books": ids, "raters": names, "min_words": int(min_words), "limit": int(limit), "seed": int(seed)}
    with rec.transaction():
        sid = rec.insert("feedback_sessions", owner=owner, name=(name or "").strip() or f"Feedback on {books[0]['title']}"
                         + (f" and {len(books) - 1} more" if len(books) > 1 else ""), config=config,
                         created_at=time.time())
        for pos, (a, b) in enumerate(pairs):
            rec.insert("feedback_items", session_id=sid, position=pos, a_id=a["id"], b_id=b["id"],
                       shown=brief_for(rec, a))
    return {**rec.get("feedback_sessions", sid), "items": len(pairs)}


def _raters(session: dict[str, Any]) -> list[str]:
    return list((session["config"] or {}).get("raters") or [])


def visible_sessions(rec, user: str | None, who: str = "") -> list[dict[str, Any]]:
    """Sessions the author made, and sessions they were asked to judge; every session for the
    local author and admins."""
    rows = rec.query("SELECT * FROM feedback_sessions ORDER BY id")
    if scope(user) is None:
        return rows
    return [s for s in rows if s["owner"] == scope(user) or scope(user) in _raters(s)]


def session_choices(rec, user: str | None, who: str = "") -> list[tuple[str, int]]:
    return [(f"#{s['id']} {s['name']}" + (f" (from {s['owner']})" if s["owner"] and s["owner"] != user else ""), s["id"])
            for s in visible_sessions(rec, user, who)]


def owned_session(rec, user: str | None, session_id, owner_only: bool = False) -> dict[str, Any]:
    """A session the author may judge in (or, ``owner_only``, one they made)."""
    try:
        sid = int(session_id)
    except (TypeError, ValueError):
        raise StudioError("choose a feedback session first (or start one)") from None
    row = rec.one("SELECT * FROM feedback_sessions WHERE id = ?", (sid,))
    allowed = row is not None and (may_see(user, row["owner"]) or (not owner_only and scope(user) in _raters(row)))
    if not allowed:
        raise StudioError(f"no feedback session {sid} among yours")
    return row


def _who(user: str | None, who: str) -> str:
    name = str(user) if user is not None else (who or "").strip()
    if not name:
        raise StudioError("type your name in 'Reader' so your choices are attributed to you")
    return name


def _left_is_a(session: dict[str, Any], item_id: int, who: str) -> bool:
    """The seeded coin: the same reader sees the same item the same way round every time."""
    seed = (session["config"] or {}).get("seed", 0)
    return random.Random(f"{seed}:{item_id}:{who}").random() < 0.5


def progress(rec, session_id: int, who: str) -> tuple[int, int]:
    """(items this reader has judged or skipped, items in the session)."""
    done = rec.one("SELECT COUNT(*) AS n FROM feedback_judgments j JOIN feedback_items i ON i.id = j.item_id "
                   "WHERE i.session_id = ? AND j.author = ?", (session_id, who))["n"]
    total = rec.one("SELECT COUNT(*) AS n FROM feedback_items WHERE session_id = ?", (session_id,))["n"]
    return done, total


def next_item(rec, user: str | None, who: str, session_id) -> dict[str, Any] | None:
    """The reader's next unjudged item, shown blind (left/right by the seeded coin); None when
    they have judged every item."""
    session = owned_session(rec, user, session_id)
    who = _who(user, who)
    item = rec.one("SELECT * FROM feedback_items WHERE session_id = ? AND id NOT IN "
                   "(SELECT item_id FROM feedback_judgments WHERE author = ?) ORDER BY position LIMIT 1",
                   (session["id"], who))
    done, total = progress(rec, session["id"], who)
    if item is None:
        return None
    a, b = rec.get("drafts", item["a_id"]), rec.get("drafts", item["b_id"])
    left, right = (a, b) if _left_is_a(session, item["id"], who) else (b, a)
    return {"session_id": session["id"], "item_id": item["id"], "position": done + 1, "total": total,
            "shown": item["shown"], "left_text": left["text"], "right_text": right["text"]}


def judge(rec, user: str | None, who: str, session_id, item_id, choice: str) -> str:
    """Record a reader's choice on an item: left, right, tie, both_bad or skip."""
    session = owned_session(rec, user, session_id)
    who = _who(user, who)
    if choice not in CHOICES:
        raise StudioError(f"choice {choice!r} unknown; use one of {', '.join(CHOICES)}")
    if item_id in (None, ""):
        raise StudioError("press 'Next pair' to be shown two drafts first")
    item = rec.one("SELECT * FROM feedback_items WHERE id = ? AND session_id = ?", (int(item_id), session["id"]))
    if item is None:
        raise StudioError(f"pair {item_id} is not in feedback session {session['id']}; press 'Next pair'")
    if rec.one("SELECT id FROM feedback_judgments WHERE item_id = ? AND author = ?", (item["id"], who)):
        raise StudioError("you already judged this pair; press 'Next pair' for the next one")
    a_left = _left_is_a(session, item["id"], who)
    left_id = item["a_id"] if a_left else item["b_id"]
    category = {"left": "a" if a_left else "b", "right": "b" if a_left else "a"}.get(choice, choice)
    tag = f"feedback:{session['id']}"
    with rec.transaction():
        pick_id = None
        if category in ("a", "b"):
            chosen, other = (item["a_id"], item["b_id"]) if category == "a" else (item["b_id"], item["a_id"])
            pick_id = rec.add_pick(chosen, other, author=who, kind="pick", session=tag)
            rec.add_pair(rec.get("drafts", chosen)["prompt"], chosen, other, "pick", pick_id=pick_id)
        elif category in ("tie", "both_bad"):
            pick_id = rec.add_pick(item["a_id"], item["b_id"], author=who, kind=category, session=tag)
        rec.insert("feedback_judgments", item_id=item["id"], author=who, choice=category, left_id=left_id,
                   pick_id=pick_id, created_at=time.time())
    return MESSAGES[choice]


# ---- agreement -------------------------------------------------------------------------------


def cohen_kappa(x: list[str], y: list[str]) -> float | None:
    """Cohen's kappa of two raters' labels on the same items; None when chance agreement is
    total (both gave one same label throughout), where kappa is undefined.

    >>> round(cohen_kappa(["a", "a", "b", "b"], ["a", "b", "b", "b"]), 3)
    0.5
    """
    n = len(x)
    if n == 0 or n != len(y):
        return None
    observed = sum(p == q for p, q in zip(x, y)) / n
    cx, cy = Counter(x), Counter(y)
    expected = sum(cx[k] * cy[k] for k in set(cx) | set(cy)) / (n * n)
    return None if expected >= 1 else (observed - expected) / (1 - expected)


def krippendorff_alpha(units: list[list[str]]) -> float | None:
    """Krippendorff's alpha for nominal labels: ``units`` holds, per item, the labels its raters
    gave (items with fewer than two labels do not count). None when there is no disagreement to
    expect (one label throughout)."""
    coincide: Counter = Counter()
    for labels in units:
        m = len(labels)
        if m < 2:
            continue
        for i, j in itertools.permutations(range(m), 2):
            coincide[(labels[i], labels[j])] += 1 / (m - 1)
    totals: Counter = Counter()
    for (c, _), v in coincide.items():
        totals[c] += v
    n = sum(totals.values())
    if n <= 1:
        return None
    observed = sum(v for (c, k), v in coincide.items() if c != k)
    expected = sum(totals[c] * totals[k] for c in totals for k in totals if c != k) / (n - 1)
    return None if expected == 0 else 1 - observed / expected


def agreement(rec, session_id: int) -> dict[str, Any]:
    """The session's raters, how many items each judged, and their agreement on the items
    judged by two or more of them (skips left out)."""
    rows = rec.query("SELECT j.item_id, j.author, j.choice FROM feedback_judgments j JOIN feedback_items i "
                     "ON i.id = j.item_id WHERE i.session_id = ? AND j.choice != 'skip' ORDER BY j.item_id",
                     (int(session_id),))
    by_item: dict[int, dict[str, str]] = {}
    for r in rows:
        by_item.setdefault(r["item_id"], {})[r["author"]] = r["choice"]
    raters = sorted({r["author"] for r in rows})
    pairs = []
    for p, q in itertools.combinations(raters, 2):
        both = [(v[p], v[q]) for v in by_item.values() if p in v and q in v]
        pairs.append({"raters": [p, q], "items": len(both),
                      "kappa": cohen_kappa([a for a, _ in both], [b for _, b in both]) if both else None,
                      "agree": sum(a == b for a, b in both) / len(both) if both else None})
    shared = [list(v.values()) for v in by_item.values() if len(v) >= 2]
    return {"session_id": int(session_id), "raters": raters,
            "judged": {r: sum(r in v for v in by_item.values()) for r in raters},
            "items_shared": len(shared), "pairs": pairs,
            "kappa": pairs[0]["kappa"] if len(raters) == 2 else None,
            "alpha": krippendorff_alpha(shared) if shared else None}


def agreement_text(ag: dict[str, Any]) -> str:
    def num(v):
        return "undefined (one label throughout)" if v is None else f"{v:.2f}"

    if len(ag["raters"]) < 2:
        who = ag["raters"][0] if ag["raters"] else "nobody"
        return f"Judged by {who} so far; agreement needs two readers on the same pairs."
    lines = [f"{len(ag['raters'])} readers ({', '.join(ag['raters'])}); {ag['items_shared']} pairs judged by two or more."]
    for p in ag["pairs"]:
        if p["items"]:
            lines.append(f"{p['raters'][0]} and {p['raters'][1]}: Cohen's kappa {num(p['kappa'])} over {p['items']} "
                         f"pairs ({p['agree']:.0%} the same choice)")
    if ag["items_shared"]:
        lines.append(f"Krippendorff's alpha (nominal, all readers): {num(ag['alpha'])}")
    return "\n".join(lines)


# ---- export ----------------------------------------------------------------------------------


def export_session(engine, user: str | None, who: str, session_id) -> tuple[Path, Path]:
    """The session's decisive judgments as TRL's preference JSONL (conversational: the system
    message and prompt the writer drafted under, chosen and rejected), one line per judgment,
    and its agreement as JSON beside it. Returns (jsonl, agreement json)."""
    from training.pairs import write_pairs_jsonl

    rec = engine.rec
    session = owned_session(rec, user, session_id, owner_only=True)
    rows = rec.query(
        "SELECT j.author, p.*, c.text AS chosen, r.text AS rejected, c.instructions AS instructions FROM feedback_judgments j "
        "JOIN picks k ON k.id = j.pick_id JOIN pairs p ON p.chosen_id = k.draft_id AND p.rejected_id = k.other_id "
        "JOIN drafts c ON c.id = p.chosen_id JOIN drafts r ON r.id = p.rejected_id JOIN feedback_items i ON i.id = j.item_id "
        "WHERE i.session_id = ? AND j.choice IN ('a', 'b') ORDER BY j.id", (session["id"],))
    if not rows:
        raise StudioError(f"feedback session {session['id']} has no decisive choices yet (ties, 'both bad' and skips "
                          "make no preference pairs); judge some pairs first")
    folder = engine.workspace / "exports" / f"feedback-{session['id']}"
    jsonl = write_pairs_jsonl(rows, folder / f"feedback-{session['id']}.jsonl")
    ag = agreement(rec, session["id"])
    ag.update(name=session["name"], owner=session["owner"], config=session["config"], preference_rows=len(rows),
              vetoed_left_out=sum(bool(r["vetoed"]) for r in rows))
    meta = folder / f"feedback-{session['id']}-agreement.json"
    tmp = meta.with_name("." + meta.name)
    tmp.write_text(json.dumps(ag, indent=2, sort_keys=True), encoding="utf-8")
    tmp.replace(meta)
    return jsonl, meta
