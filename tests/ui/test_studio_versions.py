"""Chapter versions (save, typing, two tabs, diff, restore) and rewriting a selection: snapped to
words and sentences, offered as a change, kept to its length, refused when empty or the whole
chapter."""

from __future__ import annotations

import pytest

from tests.ui.conftest import SAMPLING
from ui.studio import drafting as D
from ui.studio import outline as O
from ui.studio import versions as V
from ui.studio.engine import StudioError


def test_every_save_is_a_version_and_two_tabs_lose_nothing(engine, book):
    rec = engine.rec
    item = O.add_item(rec, None, book["id"], "One")
    first = V.save(rec, None, book["id"], item, "The sea was calm.", session="tab-a")
    assert first["message"].startswith('Saved chapter "One" (4 words) as version')
    same = V.save(rec, None, book["id"], item, "The sea was calm.", session="tab-a", base=first["version"])
    assert same["version"] == first["version"] and "is saved" in same["message"]  # nothing changed: no version
    # tab A types (one version for the stretch of typing), tab B was opened at the first version
    a = V.save(rec, None, book["id"], item, "The sea was calm. A", session="tab-a", base=first["version"], autosave=True)
    a2 = V.save(rec, None, book["id"], item, "The sea was calm. A gull.", session="tab-a", base=a["version"],
                autosave=True)
    assert a2["version"] == a["version"]
    b = V.save(rec, None, book["id"], item, "The sea was rough.", session="tab-b", base=first["version"])
    assert b["conflict"] and f"version {a['version']}" in b["message"] and "both are kept" in b["message"]
    texts = {r[0]: r for r in V.version_rows(rec, None, book["id"], item)}
    assert set(texts) == {first["version"], a["version"], b["version"]}
    assert V.texts_of(rec, None, a["version"], b["version"]) == ("The sea was calm. A gull.", "The sea was rough.")
    assert rec.chapters(book["id"])[0]["text"] == "The sea was rough."  # the later save is current, the earlier kept


def test_diff_and_restore(engine, book):
    rec = engine.rec
    item = O.add_item(rec, None, book["id"], "One")
    v1 = V.save(rec, None, book["id"], item, "Mara lit the <b>lamp</b> at dusk.")["version"]
    v2 = V.save(rec, None, book["id"], item, "Mara lit the old lamp at dawn.", base=v1)["version"]
    ops = V.word_diff(*V.texts_of(rec, None, v1, v2))
    assert "".join(x for _, x, _ in ops) == "Mara lit the <b>lamp</b> at dusk."  # pieces join back
    html = V.diff_html(*V.texts_of(rec, None, v1, v2))
    assert '<del class="df-del">dusk.</del>' in html and '<ins class="df-ins">dawn.</ins>' in html
    assert "<b>" not in html and "&lt;b&gt;lamp&lt;/b&gt;" in html  # author text is never markup
    out = V.restore(rec, None, v1)
    assert out["text"] == rec.chapters(book["id"])[0]["text"] == "Mara lit the <b>lamp</b> at dusk."
    rows = V.version_rows(rec, None, book["id"], item)
    assert rows[0][0] == out["version"] and rows[0][2] == f"restored v{v1}" and len(rows) == 3


def test_restoring_a_version_of_a_deleted_chapter_is_explained(engine, book):
    rec = engine.rec
    item = O.add_item(rec, None, book["id"], "Gone")
    v = V.save(rec, None, book["id"], item, "Some text.")["version"]
    O.delete_item(rec, None, book["id"], item)
    with pytest.raises(StudioError, match='chapter "Gone", which was deleted'):
        V.restore(rec, None, v)
    assert V.texts_of(rec, None, v, v)[0] == "Some text."  # still readable


def test_snapping_and_splicing():
    text = "The boy grew bigger. He had three brothers and a dog. Then winter came."
    start, end = D.snap_selection(text, text.index("bigg") + 2, text.index("He") + 2)
    assert text[start:end] == "The boy grew bigger. He"  # whole words; the sentence start was close
    start, end = D.snap_selection(text, text.index("grew"), text.index("bigger") + 3)
    assert text[start:end] == "The boy grew bigger."  # the sentence end was close too
    assert D.snap_selection(text, 5, 5) == (5, 5) and D.snap_selection("a   b", 1, 4) == (4, 4)  # only spaces: empty
    # a replacement is never glued to the words around it ("grew biggerhe had")
    assert D.splice("It grew bigger.He had", 3, 15, "shrank.") == "It shrank. He had"
    assert D.splice("It grew", 7, 7, "bigger") == "It grew bigger"
    assert D.splice("Calm sea. Then", 0, 9, "A calm sea,") == "A calm sea, Then"


def test_rewrites_keep_their_length_and_shape():
    assert D.length_bounds(24) == (17, 31)
    chatter = "Here is the rewritten passage: \"The tide went out. " + "Mara walked on the stones. " * 6 + "\""
    out = D.fit_passage(chatter, 10, paragraphs=False)
    assert not out.startswith(("Here", '"')) and 7 <= len(out.split()) <= 13 and out.endswith(".")
    assert "\n" not in D.fit_passage("One line.\n\nAnother line.", 4, paragraphs=False)
    assert D.fit_passage("Sure enough the sea rose high.", 6, paragraphs=False) == "Sure enough the sea rose high."
    # no sentence end within 30%: a whole sentence above half the length, not a mid-sentence cut
    short_then_long = "The tide went out at dawn. " + "Then Mara walked on and on over the wet stones " * 3 + "and on."
    assert D.fit_passage(short_then_long, 10, paragraphs=False) == "The tide went out at dawn."
    # no sentence end at all that fits: cut at the bound, marked, so the author sees where it stops
    run_on = "Mara walked on the wet stones, " * 6
    out = D.fit_passage(run_on, 10, paragraphs=False)
    assert out.endswith("\u2026") and len(out.split()) == 13 and ",\u2026" not in out


def test_rewrite_is_refused_for_empty_or_whole_chapter_selections(engine, book):
    item = O.add_item(engine.rec, None, book["id"], "One")
    text = "The sea was calm. The keeper slept."
    D.save_text(engine, None, book["id"], item, text)
    with pytest.raises(StudioError, match="select a passage"):
        next(D.stream_candidates(engine, None, None, book["id"], item, SAMPLING, "rewrite", "  ", text))
    with pytest.raises(StudioError, match="the selection is the whole chapter"):
        next(D.stream_candidates(engine, None, None, book["id"], item, SAMPLING, "rewrite", text, text))
    assert engine.rec.query("SELECT id FROM drafts") == []


def test_a_rewrite_is_proposed_then_accepted_or_rejected(engine, book):
    rec = engine.rec
    item = O.add_item(rec, None, book["id"], "One")
    text = "The sea was calm. The keeper slept. Morning came."
    D.save_text(engine, None, book["id"], item, text)
    start, end = D.snap_selection(text, text.index("keeper"), text.index("slept") + 2)
    sel = [start, end, text[start:end]]
    assert sel[2] == "The keeper slept."
    final = list(D.stream_candidates(engine, None, None, book["id"], item, SAMPLING, "rewrite", sel[2], text))[-1]
    assert rec.get("drafts", final["draft_ids"][0])["brief"].startswith('A rewrite of this passage from "One"')
    offer = D.propose(engine, None, book["id"], item, final["draft_ids"], 0, text, "rewrite", sel)
    assert rec.chapters(book["id"])[0]["text"] == text and rec.pairs() == []  # offered: nothing changed yet
    assert offer["text"] == D.splice(text, start, end, rec.get("drafts", final["draft_ids"][0])["text"])
    with pytest.raises(StudioError, match="changed since the passage was selected"):
        D.pick(engine, None, book["id"], item, final["draft_ids"], 0, text.replace("keeper", "guard"), "rewrite", sel)
    out = D.pick(engine, None, book["id"], item, final["draft_ids"], 0, text, "rewrite", sel)  # accepted
    assert rec.chapters(book["id"])[0]["text"] == offer["text"] == out["text"]
    assert rec.get("chapter_versions", out["version"])["kind"] == "rewrite"
    assert rec.get("chapter_versions", out["version"])["draft_id"] == final["draft_ids"][0]
