"""Feedback sessions: blind pairs in random order, choices attributed to their author."""

from __future__ import annotations

import random
import threading

import pytest

from ui.studio import feedback as F
from ui.studio.engine import StudioError


def drafts(rec, prompt, texts, book_id=None):
    return rec.add_drafts([dict(request=prompt, prompt=prompt, text=t, model="m", candidate=i, book_id=book_id)
                           for i, t in enumerate(texts)])


def test_pairs_are_blind_random_and_from_one_prompt(engine):
    a = drafts(engine.rec, "p1", ["one", "two"])
    drafts(engine.rec, "p2", ["lonely"])  # a prompt with one draft is never shown
    orders = set()
    for seed in range(20):
        shown = F.next_pair(engine.rec, None, random.Random(seed))
        assert shown["prompt"] == "p1" and {shown["a"], shown["b"]} == set(a)
        orders.add((shown["a"], shown["b"]))
    assert len(orders) == 2  # both orders appear: the position tells nothing


def test_choices_are_recorded_per_author_and_session(engine):
    ids = drafts(engine.rec, "p", ["first", "second"])
    shown = {"a": ids[1], "b": ids[0], "prompt": "p"}
    with pytest.raises(StudioError, match="type your name"):
        F.record_choice(engine.rec, " ", "s", shown, "A")
    F.record_choice(engine.rec, "ann", "s-ann", shown, "A")
    F.record_choice(engine.rec, "bob", "s-bob", shown, "tie")
    F.record_choice(engine.rec, "bob", "s-bob", shown, "both_bad")
    picks = engine.rec.query("SELECT author, kind, session, draft_id, other_id FROM picks ORDER BY id")
    assert [(p["author"], p["kind"], p["session"]) for p in picks] == [
        ("ann", "pick", "s-ann"), ("bob", "tie", "s-bob"), ("bob", "both_bad", "s-bob")]
    assert (picks[0]["draft_id"], picks[0]["other_id"]) == (ids[1], ids[0])
    pairs = engine.rec.pairs()
    assert [(p["chosen_id"], p["rejected_id"], p["origin"]) for p in pairs] == [(ids[1], ids[0], "pick")]
    assert F.session_count(engine.rec, "s-bob") == 2


def test_an_author_is_shown_pairs_they_have_not_judged(engine):
    first = drafts(engine.rec, "p1", ["a", "b"])
    second = drafts(engine.rec, "p2", ["c", "d"])
    F.record_choice(engine.rec, "ann", "s", {"a": first[0], "b": first[1]}, "B")
    for seed in range(10):
        shown = F.next_pair(engine.rec, None, random.Random(seed), author="ann")
        assert {shown["a"], shown["b"]} == set(second)


def test_several_sessions_at_once(engine):
    ids = drafts(engine.rec, "p", ["x", "y"])
    errors = []

    def session(author):
        try:
            for n in range(5):
                shown = F.next_pair(engine.rec, None, random.Random(n))
                F.record_choice(engine.rec, author, f"s-{author}", shown, random.Random(n).choice(F.CHOICES))
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=session, args=(name,)) for name in ("ann", "bob", "cy")]
    [t.start() for t in threads]
    [t.join(30) for t in threads]
    assert not errors
    counts = engine.rec.query("SELECT author, COUNT(*) AS n FROM picks GROUP BY author ORDER BY author")
    assert [(c["author"], c["n"]) for c in counts] == [("ann", 5), ("bob", 5), ("cy", 5)]
    assert ids


def test_with_auth_only_the_authors_books_drafts_are_shown(engine):
    ann = engine.rec.add_book("A", owner="ann")
    drafts(engine.rec, "p", ["x", "y"], book_id=ann["id"])
    assert F.next_pair(engine.rec, "ann", random.Random(0))["prompt"] == "p"
    with pytest.raises(StudioError, match="no prompt has two drafts"):
        F.next_pair(engine.rec, "bob", random.Random(0))
