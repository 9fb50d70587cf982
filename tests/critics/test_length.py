"""Length is not quality: no hand-set critic prefers a story for being longer, and the length a
story is held to follows what was asked for (the drafts' max_new_tokens, or a book's target)."""

import pytest

from critics.panel import Panel, PanelConfig, words_for_tokens
from critics.presets import SHORT_SHARE, StyleTargets
from critics.style import StyleCritic
from critics.text import parse
from tests.critics.stories import BAKERY, BAKERY_PROMPT, LIGHTHOUSE, LIGHTHOUSE_PROMPT, SCENES

# Three stories, each with a longer version of the same quality: the story told on, in the same
# voice and shape (the lighthouse and the bakery go on with their last scene, the four scenes get
# a fifth of three sentences), so length is all that differs.
LONGER = {
    "lighthouse": (LIGHTHOUSE_PROMPT, LIGHTHOUSE, LIGHTHOUSE + (
        " The boat carried a girl and an old man who had sailed from the north island. "
        "They had followed the beam for hours after their engine failed in the dark. "
        "Elias wrapped them in blankets and set a kettle on the stove. "
        "The old man asked who had kept the light before him, and Elias showed him the letter. "
        "He read it slowly, then laughed, because the careful hand was his sister's.")),
    "bakery": (BAKERY_PROMPT, BAKERY, BAKERY + (
        " Mina baked through the night to keep up with the queue. "
        "Each morning there were more confessions at the counter, and more customers who wanted to hear them. "
        "The mayor came back for a whole loaf to take to the council. "
        "He read the budget aloud there, between slices of sourdough.")),
    "scenes": ("A day in a harbour town, from the kitchen to the last train.", SCENES, SCENES + (
        " In the city the next morning, the two of them walked through the market under striped awnings. "
        "Traders called out prices for cheese, apples and bolts of cloth. "
        "They bought a loaf from a stall and ate it on the steps of the cathedral, and thought of home.")),
}
MARGIN = 0.1  # a longer version of the same story scores within this of the shorter one, on every critic
# but the reader: it judges the added passage itself (a mean over ~150-word passages), and the
# shipped reader of 2026-12-03 reads the four scenes' added city morning as more like people's
# writing (0.49 -> 0.61) while the other two longer versions score lower (0.67 -> 0.65, 0.67 -> 0.60):
# it moves with what was added, in both directions, not with length (and the longer never wins all
# three, below; on the dev data it prefers the longer of a same-prompt pair 49% of the time).
MARGINS = {"reader": 0.15}


@pytest.fixture(scope="module")
def panel():
    return Panel()


def test_a_longer_version_of_the_same_story_scores_about_the_same_and_does_not_systematically_win(panel):
    prompts, stories = [], []
    for prompt, short, long_ in LONGER.values():
        assert parse(long_).n_words > 1.25 * parse(short).n_words
        prompts += [prompt, prompt]
        stories += [short, long_]
    results = panel.score(prompts, stories)
    wins = {name: 0 for name in [*results[0].critics, "panel"]}
    for k in range(0, len(results), 2):
        short, long_ = results[k], results[k + 1]
        for name in short.critics:
            diff = long_.critics[name].score - short.critics[name].score
            assert abs(diff) <= MARGINS.get(name, MARGIN), (list(LONGER)[k // 2], name, short.critics[name], long_.critics[name])
            wins[name] += diff > 0
        assert abs(long_.total - short.total) <= MARGIN
        assert "words" not in (short.guard or "") and "words" not in (long_.guard or "")  # no length guard either
        wins["panel"] += long_.total > short.total
    assert all(w < len(LONGER) for w in wins.values()), wins  # the longer never wins all three, on any critic


def test_style_judges_no_length_unless_one_was_asked_for():
    short, long_ = LONGER["lighthouse"][1], LONGER["lighthouse"][2]
    plain = StyleCritic().score(["", ""], [short, long_])
    assert "words" not in plain[0].details and "word" not in plain[0].reason.split(";")[0].split()[1:2]
    assert not any("unfinished" in r.reason or "under" in r.reason for r in plain)
    # asked for 96 tokens (~72 words): a 96-token draft is never short; a 20-word one is
    asked = StyleCritic(asked_words=words_for_tokens(96))
    a_draft = " ".join(parse(LIGHTHOUSE).sentences[:4])  # ~60 words, what a 96-token draft holds
    tiny = "The storm came. Elias climbed the tower and lit the lamp for the boats."
    draft, stub = asked.score(["", ""], [a_draft, tiny])
    assert draft.details["words"] == 1.0 and "asked for" not in draft.reason
    assert stub.details["words"] < 1.0 and "under half the ~72 words asked for" in stub.reason
    # a book's explicit words target still applies
    book = StyleCritic(StyleTargets.resolve("general", {"words": [300, 5000]}))
    (r,) = book.score([""], [LIGHTHOUSE])
    assert r.details["words"] < 1.0 and "under the book's 300-word minimum" in r.reason


def test_length_range_follows_what_was_asked_for():
    assert StyleTargets().length_range() is None and StyleTargets.from_preset("childrens").words is None
    assert StyleTargets().length_range(72) == (SHORT_SHARE * 72, float("inf"))
    book = StyleTargets.resolve("ya", {"words": [300, 5000]})
    assert book.length_range() == (300.0, 5000.0)
    assert book.length_range(72) == (36.0, 5000.0)  # a 96-token draft cannot reach a 300-word target
    assert words_for_tokens(96) == 72 and words_for_tokens(256) == 192 and words_for_tokens(None) is None
    with pytest.raises(Exception, match="asked_words must be a number of words >= 1"):
        PanelConfig(asked_words=0)
    with pytest.raises(Exception, match="asked_words"):
        PanelConfig(asked_words=float("nan"))


def test_the_short_penalty_fires_only_under_what_was_asked_for():
    a_draft = " ".join(parse(LIGHTHOUSE).sentences[:4])  # ~60 words: a whole 96-token draft
    stub = ("The storm came at dusk and Elias climbed the tower. He lit the lamp and watched the sea "
            "for the bottle his grandmother had promised him.")  # 28 words: over min_words, under half of 72
    no_length = Panel()
    studio = Panel(PanelConfig(asked_words=words_for_tokens(96)))
    batch_run = Panel(PanelConfig(asked_words=words_for_tokens(256)))
    for panel in (no_length, studio):
        (r,) = panel.score([LIGHTHOUSE_PROMPT], [a_draft])
        assert not r.guard or "words" not in r.guard  # the default asked length never fires it
    (r,) = no_length.score([LIGHTHOUSE_PROMPT], [stub])
    assert not r.guard or "asked for" not in r.guard
    (r,) = studio.score([LIGHTHOUSE_PROMPT], [stub])
    assert "under half the ~72 words asked for: total scaled by" in r.guard
    (r,) = batch_run.score([LIGHTHOUSE_PROMPT], [a_draft])  # asked for 256 tokens, it stopped at ~60 words
    assert "under half the ~192 words asked for" in r.guard
    # min_words still caps degenerate text with no length asked for
    (r,) = no_length.score([LIGHTHOUSE_PROMPT], ["The lamp went out."])
    assert "minimum 20" in r.guard and r.total <= no_length.config.guard_cap


def test_asked_length_is_part_of_the_panel_version(record):
    base = Panel().version(record)
    asked = Panel(PanelConfig(asked_words=72)).version(record)
    assert asked != base and Panel(PanelConfig(asked_words=72)).version(record) == asked
    stored = record.one("SELECT weights FROM panel_versions WHERE id = ?", (asked,))["weights"]
    assert stored["asked_words"] == 72


def test_call_sites_pass_the_asked_length(record, monkeypatch):
    from batch.cli import batch_panel_config
    from critics.panel_versions import panel_config

    cfg, _ = batch_panel_config(record, None, words_for_tokens(256))
    assert cfg.asked_words == 192
    cfg, _ = batch_panel_config(record, ["style", "lexical"], words_for_tokens(96))
    assert cfg.asked_words == 72 and cfg.critics == ["style", "lexical"]
    assert panel_config(record, asked_words=72).asked_words == 72
    # the co-training judges carry the asked length into both their panels
    from training.evaluate import default_judges

    judges = default_judges(base=PanelConfig(asked_words=72))
    assert judges.panel.config.asked_words == 72 and judges.guard.config.asked_words == 72
    assert judges.panel.critics["style"].asked_words == 72


def test_studio_panel_is_told_the_drafts_length(workspace, tiny_model_dir, tiny_writer):
    from ui.studio.engine import StudioEngine

    engine = StudioEngine(workspace, model=str(tiny_model_dir), writer=tiny_writer, max_new_tokens=96)
    book = {"id": 1, "style_targets": {}}
    panel = engine.panel(book, None, 96)
    assert panel.config.asked_words == 72 and panel.critics["style"].asked_words == 72
    assert engine.panel(book, None, 96) is panel and engine.panel(book, None, 256).config.asked_words == 192
    engine.close()
