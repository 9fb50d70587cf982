"""Fitting a chapter's context into the window: what is kept, what is cut first."""

import pytest

from writer.context import ContextError, chapter_prompt

BIBLE = [{"kind": "character", "name": "Mara", "text": "the keeper, stubborn"},
         {"kind": "place", "name": "Isle", "text": "a rock in the north sea " * 5}]
OUTLINE = [{"title": f"Part {i}", "summary": f"things happen in part {i} " * 3} for i in range(6)]
PREVIOUS = " ".join(f"Sentence {i} of the last chapter." for i in range(200))


def test_everything_fits_when_budget_allows(tiny_writer):
    ctx = chapter_prompt(tiny_writer.tokenizer, BIBLE, OUTLINE, 2, "The storm ended.", budget=5000)
    assert "Mara (character)" in ctx.text and "Isle" in ctx.text
    assert "The storm ended." in ctx.text and 'Write chapter 3, "Part 2"' in ctx.text
    assert ctx.cut == [] and ctx.bible_tokens > 0


def test_cut_order_previous_tail_then_far_outline_then_bible(tiny_writer):
    tok = tiny_writer.tokenizer
    full = chapter_prompt(tok, BIBLE, OUTLINE, 2, PREVIOUS, budget=100_000)
    small = chapter_prompt(tok, BIBLE, OUTLINE, 2, PREVIOUS, budget=full.tokens - 300)
    assert small.cut[0].startswith("previous chapter shortened")
    assert small.tokens <= full.tokens - 300
    tighter = chapter_prompt(tok, BIBLE, OUTLINE, 2, PREVIOUS, budget=small.tokens - 150)
    outline_cuts = [c for c in tighter.cut if c.startswith("outline item")]
    assert outline_cuts and outline_cuts[0] == "outline item 6 (Part 5)"  # farthest from chapter 3 first
    assert "Mara" in tighter.text  # bible outlives the outline


def test_current_item_is_never_cut(tiny_writer):
    tok = tiny_writer.tokenizer
    alone = chapter_prompt(tok, [], OUTLINE[:1], 0, "", budget=100_000).tokens
    ctx = chapter_prompt(tok, BIBLE, OUTLINE, 0, PREVIOUS, budget=alone + 5)
    assert 'Write chapter 1, "Part 0"' in ctx.text and ctx.tokens <= alone + 5
    assert any(c.startswith("bible entry") for c in ctx.cut)
    with pytest.raises(ContextError, match="alone is"):
        chapter_prompt(tok, BIBLE, OUTLINE, 0, PREVIOUS, budget=5)
    with pytest.raises(ContextError, match="not in the outline"):
        chapter_prompt(tok, BIBLE, OUTLINE, 9, "", budget=500)
