"""Feedback sessions: usable pairs only, what the reader is shown, seeded sides, tie and skip,
several readers with their agreement, and the export to TRL's preference JSONL."""

from __future__ import annotations

import json

import pytest

from ui.studio import feedback as F
from ui.studio.engine import StudioError

LONG = "word " * 30


def drafts(rec, request, texts, book_id=None, finish="stop", **extra):
    return rec.add_drafts([dict(request=request, prompt=f"internal prompt for {request}", text=t, model="m", candidate=i,
                                book_id=book_id, finish_reason=finish, **extra) for i, t in enumerate(texts)])


@pytest.fixture
def ann_book(engine):
    return engine.rec.add_book("Ann's", owner="ann")


def test_a_session_holds_only_usable_pairs_and_never_internal_prompts(engine, ann_book):
    rec = engine.rec
    item = rec.add_outline_item(ann_book["id"], "The Lowest Tide", "Mara finds a door in the sea.")
    chapter = rec.add_chapter(ann_book["id"], "The Lowest Tide", outline_item_id=item)
    good = drafts(rec, "r1", [LONG + "one", LONG + "two", LONG + "three"], ann_book["id"], chapter_id=chapter)
    drafts(rec, "r2", ["In", "In the"], ann_book["id"])  # too short
    drafts(rec, "r3", [LONG + "a", LONG + "b"], ann_book["id"], finish="stopped")  # stopped by the author
    drafts(rec, "r4", [LONG + "x"], ann_book["id"])  # alone: nothing to compare with
    s = F.create_session(rec, "ann", [ann_book["id"]], min_words=20, seed=3)
    items = rec.query("SELECT * FROM feedback_items WHERE session_id = ? ORDER BY position", (s["id"],))
    assert s["items"] == 3 and all({i["a_id"], i["b_id"]} <= set(good) for i in items)
    assert {i["shown"] for i in items} == {'Chapter 1, "The Lowest Tide": Mara finds a door in the sea.'}
    shown = F.next_item(rec, "ann", "ann", s["id"])
    assert "internal prompt" not in shown["shown"] and shown["position"] == 1 and shown["total"] == 3
    # a brief recorded by the studio wins; a draft outside any chapter shows the author's own prompt
    brief = drafts(rec, "r5", [LONG + "p", LONG + "q"], ann_book["id"], brief="A rewrite of this passage: ...")
    assert F.brief_for(rec, rec.get("drafts", brief[0])) == "A rewrite of this passage: ..."
    assert F.brief_for(rec, rec.get("drafts", good[0])).startswith("Chapter 1")
    assert F.brief_for(rec, rec.get("drafts", drafts(rec, "r6", ["x"])[0])) == "internal prompt for r6"


def test_too_few_usable_drafts_is_explained(engine, ann_book):
    drafts(engine.rec, "r", ["In", "In"], ann_book["id"])
    drafts(engine.rec, "s", [LONG, LONG + "b"], ann_book["id"], finish="stopped")
    with pytest.raises(StudioError, match=r"fewer than two usable drafts .* 2 under 20 words, 2 stopped"):
        F.create_session(engine.rec, "ann", [ann_book["id"]])
    with pytest.raises(StudioError, match="at least one of your books"):
        F.create_session(engine.rec, "ann", [])


def test_sides_come_from_a_seeded_coin_and_choices_mean_the_same_whatever_the_side(engine, ann_book):
    rec = engine.rec
    for n in range(12):
        drafts(rec, f"r{n}", [LONG + f"left{n}", LONG + f"right{n}"], ann_book["id"])
    s = F.create_session(rec, "ann", [ann_book["id"]], raters=["bob"], seed=11)
    a_left = []
    while (shown := F.next_item(rec, "ann", "ann", s["id"])) is not None:
        item = rec.get("feedback_items", shown["item_id"])
        a_left.append(shown["left_text"] == rec.get("drafts", item["a_id"])["text"])
        F.judge(rec, "ann", "ann", s["id"], shown["item_id"], "left")
        again = F.next_item(rec, "ann", "ann", s["id"])
        assert again is None or again["item_id"] != shown["item_id"]  # judged once, then the next
    assert 0 < sum(a_left) < len(a_left)  # both sides occur: position tells nothing
    judged = rec.query("SELECT j.choice, j.left_id, i.a_id FROM feedback_judgments j JOIN feedback_items i "
                       "ON i.id = j.item_id ORDER BY j.id")
    assert all(j["choice"] == ("a" if j["left_id"] == j["a_id"] else "b") for j in judged)
    picks = rec.query("SELECT * FROM picks WHERE session = ?", (f"feedback:{s['id']}",))
    assert len(picks) == 12 and {p["author"] for p in picks} == {"ann"}
    assert all(p["draft_id"] == j["left_id"] for p, j in zip(picks, judged))  # the left one was chosen
    # the same seed gives the same sides again
    s2 = F.create_session(rec, "ann", [ann_book["id"]], seed=11)
    assert [i["a_id"] for i in rec.query("SELECT a_id FROM feedback_items WHERE session_id = ? ORDER BY position",
                                         (s2["id"],))] == [i["a_id"] for i in rec.query(
        "SELECT a_id FROM feedback_items WHERE session_id = ? ORDER BY position", (s["id"],))]
    first = rec.query("SELECT id FROM feedback_items WHERE session_id = ? ORDER BY position", (s["id"],))[0]["id"]
    with pytest.raises(StudioError, match="already judged"):
        F.judge(rec, "ann", "ann", s["id"], first, "right")


def test_tie_skip_and_both_bad(engine, ann_book):
    rec = engine.rec
    for n in range(3):
        drafts(rec, f"r{n}", [LONG + "a", LONG + "b"], ann_book["id"])
    s = F.create_session(rec, "ann", [ann_book["id"]])
    for choice in ("tie", "skip", "both_bad"):
        shown = F.next_item(rec, "ann", "ann", s["id"])
        assert F.judge(rec, "ann", "ann", s["id"], shown["item_id"], choice) == F.MESSAGES[choice]
    assert F.next_item(rec, "ann", "ann", s["id"]) is None and F.progress(rec, s["id"], "ann") == (3, 3)
    kinds = [p["kind"] for p in rec.query("SELECT kind FROM picks ORDER BY id")]
    assert kinds == ["tie", "both_bad"] and rec.pairs() == []  # a skip makes no pick, a tie no pair
    with pytest.raises(StudioError, match="no decisive choices"):
        F.export_session(engine, "ann", "ann", s["id"])


def test_kappa_and_alpha_match_known_values():
    assert F.cohen_kappa(["a", "a", "b", "b"], ["a", "b", "b", "b"]) == pytest.approx(0.5)
    assert F.cohen_kappa(["a", "a"], ["a", "a"]) is None  # undefined, not a made-up number
    # Krippendorff (2011), "Computing Krippendorff's alpha-reliability", nominal example: 0.743
    data = [[1, 1, None, 1], [2, 2, 3, 2], [3, 3, 3, 3], [3, 3, 3, 3], [2, 2, 2, 2], [1, 2, 3, 4], [4, 4, 4, 4],
            [1, 1, 2, 1], [2, 2, 2, 2], [None, 5, 5, 5], [None, None, 1, 1], [None, 3, None, None]]
    units = [[str(v) for v in row if v is not None] for row in data]
    assert F.krippendorff_alpha(units) == pytest.approx(0.743, abs=0.001)


def test_two_readers_on_the_same_pairs_their_agreement_and_the_trl_export(engine, ann_book):
    rec = engine.rec
    for n in range(6):
        drafts(rec, f"r{n}", [LONG + "good", LONG + "bad"], ann_book["id"], instructions="Write well.")
    s = F.create_session(rec, "ann", [ann_book["id"]], raters=["bob"], seed=2)
    assert F.session_choices(rec, "bob")[0][1] == s["id"]  # bob was asked: he sees it
    with pytest.raises(StudioError, match="no feedback session"):
        F.next_item(rec, "cy", "cy", s["id"])  # cy was not
    for who in ("ann", "bob"):
        n = 0
        while (shown := F.next_item(rec, who, who, s["id"])) is not None:
            item = rec.get("feedback_items", shown["item_id"])
            good = rec.get("drafts", item["a_id"])["text"]
            side = "left" if shown["left_text"] == good else "right"
            if who == "bob" and n == 0:
                side = "right" if side == "left" else "left"  # bob disagrees once
            F.judge(rec, who, who, s["id"], shown["item_id"], side)
            n += 1
    ag = F.agreement(rec, s["id"])
    assert ag["raters"] == ["ann", "bob"] and ag["items_shared"] == 6
    # ann: a a a a a a; bob: b a a a a a -> po 5/6, pe 1*5/6 -> kappa 0
    assert ag["kappa"] == pytest.approx(0.0) and ag["pairs"][0]["agree"] == pytest.approx(5 / 6)
    assert ag["alpha"] is not None and "Cohen's kappa 0.00 over 6 pairs" in F.agreement_text(ag)
    with pytest.raises(StudioError, match="no feedback session"):
        F.export_session(engine, "bob", "bob", s["id"])  # a reader may judge, only the owner exports
    jsonl, meta = F.export_session(engine, "ann", "ann", s["id"])
    rows = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert len(rows) == 12 and all(r["prompt"][0] == {"role": "system", "content": "Write well."} for r in rows)
    assert all(r["chosen"][0]["role"] == "assistant" for r in rows)
    assert json.loads(meta.read_text())["kappa"] == pytest.approx(0.0)
    from datasets import load_dataset
    from trl.data_utils import is_conversational

    data = load_dataset("json", data_files=str(jsonl), split="train")
    assert {"prompt", "chosen", "rejected"} <= set(data.column_names) and is_conversational(data[0])


def test_sessions_are_private(engine, ann_book):
    drafts(engine.rec, "r", [LONG + "a", LONG + "b"], ann_book["id"])
    s = F.create_session(engine.rec, "ann", [ann_book["id"]])
    with pytest.raises(StudioError, match="among your books"):
        F.create_session(engine.rec, "bob", [ann_book["id"]])
    assert F.session_choices(engine.rec, "bob") == []
    with pytest.raises(StudioError, match="no feedback session"):
        F.judge(engine.rec, "bob", "bob", s["id"], 1, "left")
    assert engine.rec.query("SELECT * FROM feedback_judgments") == []
