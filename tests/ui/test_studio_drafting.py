"""Drafting: K candidates streamed, stop really stops, picks become pairs, passages rewrite."""

from __future__ import annotations

import threading

import pytest

from tests.ui.conftest import SAMPLING
from ui.studio import drafting as D
from ui.studio import outline as O
from record.errors import UserError
from ui.studio.engine import StudioError


def test_candidates_stream_side_by_side_and_are_recorded(engine, book):
    updates = list(D.stream_candidates(engine, "s1", None, book["id"], None, SAMPLING))
    final = updates[-1]
    assert updates[0]["texts"] == ["", "", ""]  # the boxes clear before the writer starts
    assert len(final["texts"]) == 3 and len(final["draft_ids"]) == 3
    streamed = [u for u in updates if "draft_ids" not in u and any(u["texts"])]
    assert len(streamed) >= 2  # texts arrived while generating, not only at the end
    assert all(len(u["texts"]) == 3 for u in updates)
    rows = [engine.rec.get("drafts", i) for i in final["draft_ids"]]
    assert {r["book_id"] for r in rows} == {book["id"]} and [r["candidate"] for r in rows] == [0, 1, 2]
    assert rows[0]["chapter_id"] == engine.rec.chapters(book["id"])[0]["id"]
    assert "s1" not in engine.streams  # the finished stream is forgotten
    for draft_id, shown in zip(final["draft_ids"], final["scores"]):
        recorded = engine.rec.scores(draft_id)
        assert {"style", "lexical", "coherence", "relevance", "panel"} <= set(recorded)
        assert shown["panel"][0] == recorded["panel"]["score"] and shown["style"][1]  # every critic gives a reason


def test_critic_weights_of_the_book_choose_the_panel(engine, book):
    from ui.studio.books import save_settings

    save_settings(engine.rec, book["id"], None, weights={"style": 2.0, "lexical": 1.0, "coherence": 0.0})
    final = list(D.stream_candidates(engine, None, None, book["id"], None, {**SAMPLING, "k": 2}))[-1]
    assert set(final["scores"][0]) == {"style", "lexical", "panel"}
    save_settings(engine.rec, book["id"], None, weights={"style": 0.0})
    with pytest.raises(StudioError, match="every critic weight is 0"):
        next(D.stream_candidates(engine, None, None, book["id"], None, SAMPLING))
    save_settings(engine.rec, book["id"], None, weights={"stlye": 1.0})
    with pytest.raises(UserError, match="no critic named 'stlye'"):
        next(D.stream_candidates(engine, None, None, book["id"], None, SAMPLING))
    assert len(engine.rec.query("SELECT id FROM drafts")) == 2  # refused before generating anything


def test_stop_really_stops_generation(engine, book):
    sampling = {**SAMPLING, "k": 2, "max_new_tokens": 260}  # leaves the tiny model room for the request
    gen = D.stream_candidates(engine, "s2", None, book["id"], None, sampling)
    seen = 0
    final = None
    for update in gen:
        if "draft_ids" in update:
            final = update
            break
        if any(update["texts"]):
            seen += 1
            if seen == 2:
                assert engine.stop("s2")
    rows = [engine.rec.get("drafts", i) for i in final["draft_ids"]]
    assert all(r["finish_reason"] in ("stopped", "stop") for r in rows)
    assert any(r["finish_reason"] == "stopped" for r in rows)
    assert all(r["tokens"] < 260 for r in rows)  # far from max_new_tokens: generation ended early
    assert "Stopped" in final["message"]
    assert not engine.stop("s2")  # nothing running any more


def test_pick_sets_the_chapter_and_records_pairs_against_each_other(engine, book):
    final = list(D.stream_candidates(engine, None, None, book["id"], None, SAMPLING))[-1]
    ids = final["draft_ids"]
    out = D.pick(engine, None, book["id"], final["item_id"], ids, 1)
    chapter = engine.rec.chapters(book["id"])[0]
    assert chapter["text"] == engine.rec.get("drafts", ids[1])["text"] == out["text"]
    pairs = engine.rec.pairs()
    assert sorted((p["chosen_id"], p["rejected_id"]) for p in pairs) == [(ids[1], ids[0]), (ids[1], ids[2])]
    assert {p["origin"] for p in pairs} == {"pick"} and all(p["pick_id"] for p in pairs)
    totals = {i: engine.rec.scores(i)["panel"]["score"] for i in ids}
    for p in pairs:  # the margin is the panel's opinion of the author's pick
        assert p["margin"] == pytest.approx(totals[p["chosen_id"]] - totals[p["rejected_id"]])
    picks = engine.rec.query("SELECT * FROM picks")
    assert len(picks) == 2 and {p["author"] for p in picks} == {"A. Keeper"}
    D.pick(engine, None, book["id"], final["item_id"], ids, 2)  # the author changes their mind
    live = {(p["chosen_id"], p["rejected_id"]) for p in engine.rec.pairs()}
    assert live == {(ids[2], ids[0]), (ids[2], ids[1])}
    assert {p["veto_reason"] for p in engine.rec.pairs(include_vetoed=True) if p["vetoed"]} == {
        "the author picked another candidate"}
    assert engine.rec.chapters(book["id"])[0]["text"] == engine.rec.get("drafts", ids[2])["text"]
    back = D.pick(engine, None, book["id"], final["item_id"], ids, 1)  # ... and back again
    assert back["pairs"] == 2
    assert {(p["chosen_id"], p["rejected_id"]) for p in engine.rec.pairs()} == {(ids[1], ids[0]), (ids[1], ids[2])}
    with pytest.raises(StudioError, match="no candidate 5"):
        D.pick(engine, None, book["id"], final["item_id"], ids, 4)


def test_a_chapter_draft_opens_on_the_summarys_character_and_teaches_with_the_opening(engine, book):
    from ui.studio import bible as Bi

    Bi.add_entry(engine.rec, None, book["id"], "character", "Mara Quill", "the keeper's daughter")
    item = O.add_item(engine.rec, None, book["id"], "The storm", "At dawn Mara finds a door in the sea")
    final = list(D.stream_candidates(engine, None, None, book["id"], item, SAMPLING))[-1]
    assert all(t.startswith("Mara") for t in final["texts"])
    rows = [engine.rec.get("drafts", i) for i in final["draft_ids"]]
    assert [r["text"] for r in rows] == final["texts"]  # the record holds the story as the author reads it
    assert all(r["prompt"].endswith("Tell it as a story with Mara Quill, starting now.") for r in rows)
    D.pick(engine, None, book["id"], item, final["draft_ids"], 0)
    pair = engine.rec.pairs()[0]  # prompt -> the whole draft: what the writer learns to produce
    assert pair["prompt"] == rows[0]["prompt"] and pair["chosen"].startswith("Mara")
    assert pair["rejected"].startswith("Mara")
    plain = O.add_item(engine.rec, None, book["id"], "Night", "the tide rises")  # names no one: no opening
    writer = engine._load()
    assert D.chapter_prompt_for(engine, writer, book, plain, 8, "").opening == ""


def test_pick_refuses_another_books_drafts(engine, book):
    other = engine.rec.add_book("Other")
    final = list(D.stream_candidates(engine, None, None, other["id"], None, SAMPLING))[-1]
    item = O.add_item(engine.rec, None, book["id"], "One")
    with pytest.raises(StudioError, match="not one of this book's candidates"):
        D.pick(engine, None, book["id"], item, final["draft_ids"], 0)
    assert engine.rec.pairs() == []


def test_rewrite_replaces_only_the_selected_passage(engine, book):
    item = O.add_item(engine.rec, None, book["id"], "One")
    text = "The sea was calm. The keeper slept. Morning came."
    D.save_text(engine, None, book["id"], item, text)
    start, end = text.index("The keeper"), text.index("Morning")
    with pytest.raises(StudioError, match="select a passage"):
        list(D.stream_candidates(engine, None, None, book["id"], item, SAMPLING, "rewrite", ""))
    final = list(D.stream_candidates(engine, None, None, book["id"], item, SAMPLING, "rewrite",
                                     text[start:end], text))[-1]
    assert "The keeper slept." in engine.rec.get("drafts", final["draft_ids"][0])["prompt"]
    out = D.pick(engine, None, book["id"], item, final["draft_ids"], 0, text, "rewrite", (start, end))
    new = engine.rec.get("drafts", final["draft_ids"][0])["text"]
    assert out["text"] == D.splice(text, start, end, new) and out["text"].startswith("The sea was calm. ")
    assert engine.rec.chapters(book["id"])[0]["text"] == out["text"]


def test_sessions_draft_through_one_model_queue(engine, book):
    """Several sessions at once: with concurrency 1, never two generations at the same time."""
    active, peak, lock = [0], [0], threading.Lock()
    real = engine.writer_slot

    import contextlib

    @contextlib.contextmanager
    def counting(user=None):
        with real(user) as got:
            with lock:
                active[0] += 1
                peak[0] = max(peak[0], active[0])
            try:
                yield got
            finally:
                with lock:
                    active[0] -= 1

    engine.writer_slot = counting
    errors, results = [], []

    def session(n):
        try:
            results.append(list(D.stream_candidates(engine, f"s{n}", None, book["id"], None, {**SAMPLING, "k": 2}))[-1])
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=session, args=(n,)) for n in range(3)]
    [t.start() for t in threads]
    [t.join(120) for t in threads]
    assert not errors and len(results) == 3 and peak[0] == 1
