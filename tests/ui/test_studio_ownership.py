"""Ownership with sign-in: every handler that takes an id from the page refuses an id that
belongs to another author, with a message, and changes nothing; each author's rounds are their
own lineage, so a rollback touches only theirs; an admin sees everything."""

from __future__ import annotations

import pytest

from tests.ui.conftest import SAMPLING
from ui.studio import bible as Bi
from ui.studio import books as B
from ui.studio import classroom as C
from ui.studio import drafting as D
from ui.studio import export as X
from ui.studio import feedback as F
from ui.studio import outline as O
from ui.studio import train as T
from ui.studio import versions as V
from ui.studio.engine import Author, StudioError, may_see, scope

TABLES = ("books", "bible_entries", "outline_items", "chapters", "chapter_versions", "drafts", "picks", "pairs",
          "rounds", "round_pairs", "feedback_sessions", "feedback_items", "feedback_judgments", "state")


def snapshot(rec) -> dict:
    return {t: rec.query(f"SELECT * FROM {t} ORDER BY rowid") for t in TABLES}


@pytest.fixture
def ann(engine):
    """Ann's book with a bible entry, a drafted and picked chapter, a version, a round and a
    feedback session: one of everything an id can point at."""
    rec = engine.rec
    book = B.create_book(rec, "ann", "Ann's secret novel", "Ann")
    entry = Bi.add_entry(rec, "ann", book["id"], "character", "Mara", "the keeper")
    item = O.add_item(rec, "ann", book["id"], "The storm", "Mara finds the door")
    final = list(D.stream_candidates(engine, None, "ann", book["id"], item, SAMPLING))[-1]
    picked = D.pick(engine, "ann", book["id"], item, final["draft_ids"], 0)
    pairs = [p["id"] for p in rec.pairs()]
    rid = rec.add_round(engine.lineage_for("ann"), engine.lineage, None, {})
    rec.finish_round(rid, "/nowhere/ann-round", {"loss_last": 0.5}, pairs[:1])
    session = F.create_session(rec, "ann", [book["id"]], min_words=0)
    return {"book": book["id"], "entry": entry, "item": item, "drafts": final["draft_ids"], "version": picked["version"],
            "pairs": pairs, "round": rid, "session": session["id"]}


def refused(rec, call, match="among your|no feedback session|no round|in this book|not one of this book"):
    before = snapshot(rec)
    with pytest.raises(StudioError, match=match):
        call()
    assert snapshot(rec) == before  # refused, and nothing changed


def test_every_id_from_the_page_is_checked(engine, ann):
    rec, a = engine.rec, ann
    bob = Author("bob")
    mine = B.create_book(rec, bob, "Bob's book")
    bob_item = O.add_item(rec, bob, mine["id"], "One")
    calls = [
        # books
        lambda: B.update_book(rec, bob, a["book"], "Stolen", "", "en", "", "general", ""),
        lambda: B.delete_book(rec, bob, a["book"], "Ann's secret novel"),
        lambda: B.save_settings(rec, a["book"], bob, sampling={"k": 2}),
        lambda: B.book_settings(rec, a["book"], bob),
        # story bible and outline
        lambda: Bi.add_entry(rec, bob, a["book"], "note", "x"),
        lambda: Bi.update_entry(rec, bob, a["book"], a["entry"], "note", "x", "", True),
        lambda: Bi.delete_entry(rec, bob, mine["id"], a["entry"]),  # his book, her entry
        lambda: Bi.bible_rows(rec, bob, a["book"]),
        lambda: O.add_item(rec, bob, a["book"], "x"),
        lambda: O.update_item(rec, bob, mine["id"], a["item"], "x", ""),
        lambda: O.move_item(rec, bob, a["book"], a["item"], 1),
        lambda: O.delete_item(rec, bob, a["book"], a["item"]),
        lambda: O.outline_rows(rec, bob, a["book"]),
        lambda: O.generate_outline(engine, bob, a["book"], "premise", 2),
        # drafting and picking
        lambda: next(D.stream_candidates(engine, None, bob, a["book"], a["item"], SAMPLING)),
        lambda: D.pick(engine, bob, a["book"], a["item"], a["drafts"], 1),
        lambda: D.pick(engine, bob, mine["id"], bob_item, a["drafts"], 1),  # her drafts in his book
        lambda: D.propose(engine, bob, a["book"], a["item"], a["drafts"], 1, "x", "rewrite", [0, 1, "x"]),
        lambda: D.chapter_text(engine, bob, a["book"], a["item"]),
        # versions
        lambda: V.save(rec, bob, a["book"], a["item"], "overwritten"),
        lambda: V.version_rows(rec, bob, a["book"], a["item"]),
        lambda: V.texts_of(rec, bob, a["version"], a["version"]),
        lambda: V.restore(rec, bob, a["version"]),
        # classroom: rounds, pairs, drafts
        lambda: C.round_pair_rows(engine, bob, a["round"]),
        lambda: C.recorded_samples(engine, bob, a["round"]),
        lambda: C.make_current(engine, bob, a["round"]),
        lambda: C.before_after(engine, bob, a["round"], "A prompt"),
        lambda: C.sample_round(engine, bob, a["round"]),
        lambda: C.veto(rec, bob, a["pairs"][1]),
        lambda: C.lineage_text(engine, bob, a["drafts"][0]),
        # training and export
        lambda: T.start_round(engine, bob, a["book"]),
        lambda: T.job_for(engine, bob, a["book"]),
        lambda: X.export(engine, bob, a["book"], "md"),
        lambda: X.export_problems(rec, bob, a["book"]),
        lambda: X.save_details(engine, bob, a["book"], legal_name="Bob"),
        lambda: X.manuscript_details(rec, bob, a["book"]),
        # feedback
        lambda: F.create_session(rec, bob, [a["book"]]),
        lambda: F.next_item(rec, bob, "bob", a["session"]),
        lambda: F.judge(rec, bob, "bob", a["session"], 1, "left"),
        lambda: F.export_session(engine, bob, "bob", a["session"]),
    ]
    for call in calls:
        refused(rec, call)
    # what bob is shown holds nothing of ann's
    assert [b["id"] for b in B.list_books(rec, bob)] == [mine["id"]]
    assert C.rounds_rows(engine, bob) == [] and C.pending_rows(rec, bob) == []
    assert C.round_choices(engine, bob) == [("base model (no adapter)", "base")]
    assert C.metrics_frame(engine, bob).empty and F.session_choices(rec, bob) == []
    assert B.last_book(rec, bob) == mine["id"]


def test_rollback_touches_only_the_authors_own_lineage(engine, ann):
    rec = engine.rec
    assert rec.current_round(engine.lineage_for("ann"))["id"] == ann["round"]
    assert C.make_current(engine, "bob", "base") == "The base model is now current for your drafts."
    assert rec.current_round(engine.lineage_for("ann"))["id"] == ann["round"]  # ann's writer untouched
    assert C.make_current(engine, "ann", "base").startswith("The base model")
    assert rec.current_round(engine.lineage_for("ann")) is None
    assert C.make_current(engine, "ann", ann["round"]) == f"Round {ann['round']} is now current for your drafts."
    assert rec.current_round(engine.lineage) is None  # the shared (CLI) lineage never moved


def test_an_admin_sees_every_author(engine, ann):
    boss = Author("ed", admin=True)
    assert scope(boss) is None and may_see(boss, "ann") and not may_see(Author("bob"), "ann")
    assert B.owned_book(engine.rec, ann["book"], boss)["owner"] == "ann"
    assert B.book_choices(engine.rec, boss) == [(f"Ann's secret novel (#{ann['book']}) [ann]", ann["book"])]
    assert [r[0] for r in C.rounds_rows(engine, boss)] == [ann["round"]]
    assert C.rounds_rows(engine, boss)[0][2] == "ann"  # whose lineage it is
    assert C.lineage_text(engine, boss, ann["drafts"][0]).startswith(f"Draft {ann['drafts'][0]}")
    assert F.session_choices(engine.rec, boss)[0][1] == ann["session"]


def test_engine_names_authors_and_their_lineages(engine):
    engine.admins = frozenset({"ed"})
    assert engine.author(None) is None and engine.author("ed").admin and not engine.author("ann").admin
    assert engine.lineage_for(None) == engine.lineage  # no sign-in: the CLI's lineage
    assert engine.lineage_for("ann") != engine.lineage_for("bob") != engine.lineage


def test_stale_ids_are_refused_with_a_message(engine, ann):
    """An id that no longer exists (a deleted book, pair, round... or one never made) is
    refused like another author's: a message, nothing changed."""
    rec, gone = engine.rec, 10**6
    ann_user = Author("ann")
    calls = [
        lambda: B.update_book(rec, ann_user, gone, "x", "", "en", "", "general", ""),
        lambda: Bi.delete_entry(rec, ann_user, ann["book"], gone),
        lambda: O.update_item(rec, ann_user, ann["book"], gone, "x", ""),
        lambda: next(D.stream_candidates(engine, None, ann_user, ann["book"], gone, SAMPLING)),
        lambda: D.pick(engine, ann_user, ann["book"], ann["item"], [gone, ann["drafts"][0]], 0),
        lambda: V.restore(rec, ann_user, gone),
        lambda: V.texts_of(rec, ann_user, ann["version"], gone),
        lambda: C.make_current(engine, ann_user, gone),
        lambda: C.round_pair_rows(engine, ann_user, gone),
        lambda: C.veto(rec, ann_user, gone),
        lambda: C.lineage_text(engine, ann_user, gone),
        lambda: X.export(engine, ann_user, gone, "md"),
        lambda: F.next_item(rec, ann_user, "ann", gone),
        lambda: F.judge(rec, ann_user, "ann", ann["session"], gone, "left"),
    ]
    for call in calls:
        before = snapshot(rec)
        with pytest.raises(StudioError) as got:
            call()
        assert len(str(got.value)) > 20 and "Traceback" not in str(got.value), str(got.value)
        assert snapshot(rec) == before
