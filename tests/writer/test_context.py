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


def _outline(n: int, seed: int) -> list[dict]:
    import random

    rng = random.Random(seed)
    words = "storm keeper lamp door sea night ship map cat dragon ice wind".split()
    return [{"title": f"Part {i}", "summary": " ".join(rng.choice(words) for _ in range(rng.randint(0, 12)))}
            for i in range(n)]


@pytest.mark.parametrize("seed", range(6))
def test_fast_fit_matches_cutting_one_thing_at_a_time(tiny_writer, seed):
    import random

    from tests.writer.context_reference import chapter_prompt_one_cut_at_a_time

    tok = tiny_writer.tokenizer
    rng = random.Random(seed)
    outline = _outline(rng.randint(1, 40), seed)
    bible = BIBLE[: rng.randint(0, 2)]
    previous = PREVIOUS[: rng.choice([0, 50, 4000])]
    full = chapter_prompt(tok, bible, outline, 0, previous, budget=10**6).tokens
    for _ in range(8):
        index = rng.randrange(len(outline))
        budget = rng.randint(20, full + 20)
        try:
            want = chapter_prompt_one_cut_at_a_time(tok, bible, outline, index, previous, budget)
        except ContextError:
            with pytest.raises(ContextError, match="alone is"):
                chapter_prompt(tok, bible, outline, index, previous, budget)
            continue
        got = chapter_prompt(tok, bible, outline, index, previous, budget)
        assert (got.text, got.tokens, got.cut, got.bible_tokens) == (want.text, want.tokens, want.cut, want.bible_tokens)
        assert got.tokens <= budget


def test_a_ten_thousand_item_outline_is_fitted(tiny_writer):
    tok = tiny_writer.tokenizer
    outline = _outline(10_000, 1)
    ctx = chapter_prompt(tok, BIBLE, outline, 5_000, PREVIOUS, budget=2_000)
    assert ctx.tokens <= 2_000 and 'Write chapter 5001, "Part 5000"' in ctx.text
    kept = [i for i in range(10_000) if f"\n{i + 1}. Part {i}" in ctx.text]
    assert 5_000 not in kept and min(kept) < 5_000 < max(kept)
    assert max(kept) - min(kept) == len(kept)  # the nearest items: a window around the current one
    assert sum(c.startswith("outline item") for c in ctx.cut) == 10_000 - 1 - len(kept)
    assert "Mara (character)" in ctx.text


def test_the_opening_is_the_character_the_summary_names_first_as_it_names_them():
    from writer.context import chapter_opening

    bible = [{"kind": "character", "name": "Ada Morrow"}, {"kind": "character", "name": "Widow Carrow"},
             {"kind": "place", "name": "Skerry Light"}, {"kind": "rule", "name": "The Lamp"}]
    assert chapter_opening(bible, "During a gale Ada lights the lamp.") == "Ada"
    assert chapter_opening(bible, "Then Widow Carrow tells Ada the truth.") == "Widow Carrow"  # first named, whole
    assert chapter_opening(bible, "Ada's brother comes home.") == "Ada"
    assert chapter_opening(bible, "Morrow and Carrow argue.") == "Morrow"  # as the summary names her
    # a place, a rule or a lower-case word is no opening; nor is a summary that names no one
    assert chapter_opening(bible, "At Skerry Light the lamp burns; ada sleeps.") == ""
    assert chapter_opening(bible, "") == ""
