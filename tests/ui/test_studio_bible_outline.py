"""Story bible and outline: editing, active entries in the prompt, token budget, ordering."""

from __future__ import annotations

import pytest

from ui.studio import bible as Bi
from ui.studio import drafting as D
from ui.studio import outline as O
from ui.studio.engine import StudioError


def test_active_bible_entries_go_into_the_chapter_prompt(engine, book):
    keep = Bi.add_entry(engine.rec, None, book["id"], "character", "Mara", "the keeper, afraid of boats")
    Bi.add_entry(engine.rec, None, book["id"], "place", "Gull Rock", "a bare island", active=False)
    item = O.add_item(engine.rec, None, book["id"], "The storm", "Mara finds a door in the sea")
    writer = engine._load()
    ctx = D.chapter_prompt_for(engine, writer, book, item, 8, "")
    assert "Mara" in ctx.text and "Gull Rock" not in ctx.text and "The storm" in ctx.text
    # the request comes last and names the bible's people the summary mentions
    last = ctx.text.split("\n\n")[-1]
    assert last.startswith('Write chapter 1, "The storm". What happens in it: Mara finds a door in the sea')
    assert last.endswith("Tell it as a story with Mara, starting now.")
    used, budget = Bi.bible_budget(engine.rec, None, book["id"], writer.tokenizer, 400)
    assert used == ctx.bible_tokens > 0 and budget == 400
    Bi.update_entry(engine.rec, None, book["id"], keep, "character", "Mara", "x", active=False)
    assert Bi.bible_budget(engine.rec, None, book["id"], writer.tokenizer, 400)[0] == 0
    rows = Bi.bible_rows(engine.rec, None, book["id"])
    assert [r[1] for r in rows] == ["no", "no"] and rows[0][3] == "Mara"
    Bi.delete_entry(engine.rec, None, book["id"], keep)
    assert [r[3] for r in Bi.bible_rows(engine.rec, None, book["id"])] == ["Gull Rock"]


def test_chapter_instructions_say_what_the_book_is_and_what_a_chapter_holds():
    from ui.studio.books import PREMISE_WORDS, instructions_for

    book = {"title": "The Lamp", "genre": "mystery", "language": "en", "description": "word " * 100}
    said = instructions_for(book)
    assert said.startswith('You are a novelist writing "The Lamp", a mystery novel. The premise: word word')
    assert said.count("word") == PREMISE_WORDS and "characters and places by name" in said
    assert "summary" not in instructions_for(book, chapter=False)  # outlines get the plain role
    assert "language with code 'fr'" in instructions_for({**book, "language": "fr"})


def test_bible_checks_input_and_owner(engine, book):
    with pytest.raises(StudioError, match="needs a name"):
        Bi.add_entry(engine.rec, None, book["id"], "character", " ")
    with pytest.raises(StudioError, match="character, place, rule, note"):
        Bi.add_entry(engine.rec, None, book["id"], "villain", "Mara")
    other = engine.rec.add_book("Other")
    entry = Bi.add_entry(engine.rec, None, other["id"], "note", "n")
    with pytest.raises(StudioError, match="no bible entry"):
        Bi.delete_entry(engine.rec, None, book["id"], entry)  # an entry of another book


def test_outline_items_reorder_edit_delete_and_become_chapters(engine, book):
    a = O.add_item(engine.rec, None, book["id"], "One", "first")
    b = O.add_item(engine.rec, None, book["id"], "Two")
    c = O.add_item(engine.rec, None, book["id"], "Three")
    for item in (a, b, c):
        O.chapter_for_item(engine.rec, None, book["id"], item)
    O.move_item(engine.rec, None, book["id"], c, -2)
    assert [r[2] for r in O.outline_rows(engine.rec, None, book["id"])] == ["Three", "One", "Two"]
    assert [ch["title"] for ch in engine.rec.chapters(book["id"])] == ["Three", "One", "Two"]
    O.update_item(engine.rec, None, book["id"], a, "Uno", "primero")
    assert engine.rec.one("SELECT title FROM chapters WHERE outline_item_id = ?", (a,))["title"] == "Uno"
    O.delete_item(engine.rec, None, book["id"], c)
    assert [ch["title"] for ch in engine.rec.chapters(book["id"])] == ["Uno", "Two"]
    assert [label for label, _ in O.chapter_choices(engine.rec, None, book["id"])] == ["1. Uno", "2. Two"]


def test_parse_outline_reads_numbered_lines():
    text = "Here is the outline:\n1. The Storm: Mara finds a door.\n2) Below - the sea opens\n\n* Chapter 3: Home\n"
    items = O.parse_outline(text)
    assert items[1:] == [("The Storm", "Mara finds a door."), ("Below", "the sea opens"), ("Home", "")]
    assert O.parse_outline("") == []
    assert O.parse_outline("Cliffs: they climb\nIV. Lima - the city\n12 Civil war") == [
        ("Cliffs", "they climb"), ("Lima", "the city"), ("Civil war", "")]


def test_generated_outline_is_added_all_at_once(engine, book, monkeypatch):
    from writer import draft as draft_mod
    from writer.draft import Candidate

    monkeypatch.setattr(draft_mod, "draft", lambda writer, prompts, cfg, instructions="": [[
        Candidate(0, 0, prompts[0], "1. Arrival: she comes.\n2. Storm: it breaks.", 10, "stop", 1)]])
    O.add_item(engine.rec, None, book["id"], "Old")
    items = O.generate_outline(engine, None, book["id"], "a keeper and a door", 2, replace=True)
    assert items == [("Arrival", "she comes."), ("Storm", "it breaks.")]
    assert [r[2] for r in O.outline_rows(engine.rec, None, book["id"])] == ["Arrival", "Storm"]
    monkeypatch.setattr(draft_mod, "draft", lambda *a, **k: [[Candidate(0, 0, "", "   ", 0, "stop", 1)]])
    with pytest.raises(StudioError, match="could not give a usable outline in 3 tries"):
        O.generate_outline(engine, None, book["id"], "premise", 2, replace=True)
    assert len(O.outline_rows(engine.rec, None, book["id"])) == 2  # a failed generation removes nothing


def test_placeholder_titles_are_refused_and_the_writer_asked_again(engine, book, monkeypatch):
    from writer import draft as draft_mod
    from writer.draft import Candidate

    replies = iter(["1. Title: a summary\n2. A\n3. B", "1. Chapter 1: x\n2. The Lowest Tide: Mara sees the door.",
                    "1. The Lowest Tide: Mara sees the door.\n2. The Other Side: she steps through.\n3. Home: back."])
    seeds = []

    def fake(writer, prompts, cfg, instructions=""):
        seeds.append(cfg.seed)
        return [[Candidate(0, 0, prompts[0], next(replies), 10, "stop", 1)]]

    monkeypatch.setattr(draft_mod, "draft", fake)
    items = O.generate_outline(engine, None, book["id"], "a door in the sea", 3, seed=4)
    assert [t for t, _ in items] == ["The Lowest Tide", "The Other Side", "Home"] and seeds == [4, 5, 6]
    monkeypatch.setattr(draft_mod, "draft", lambda *a, **k: [[Candidate(0, 0, "", "1. Title\n2. Chapter 2\n3. <title>", 5, "stop", 1)]])
    with pytest.raises(StudioError, match="placeholder titles such as '<title>', 'Chapter 2', 'Title'"):
        O.generate_outline(engine, None, book["id"], "a door in the sea", 3)
    assert [O.is_placeholder(t) for t in ("Title", "A", "Chapter 2", "<title>", "Lima", "The Door")] == [
        True, True, True, True, False, False]


def test_imported_chapters_are_adopted_into_the_outline(engine, book):
    engine.rec.add_chapter(book["id"], "Opening", "Once.")
    assert O.adopt_chapters(engine.rec, book["id"]) == 1
    assert O.adopt_chapters(engine.rec, book["id"]) == 0
    assert [label for label, _ in O.chapter_choices(engine.rec, None, book["id"])] == ["1. Opening"]
