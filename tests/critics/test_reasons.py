"""Reasons a writer can act on: each names the sentence or span and the craft point; chat
chatter is found and quoted with its place; a prompt's instruction words are never 'missing'."""

import re

import pytest

from critics.coherence import CoherenceCritic
from critics.lexical import LexicalCritic
from critics.panel import Panel
from critics.relevance import RelevanceCritic, key_words, missing_words
from critics.style import StyleCritic, component_scores, measure
from critics.text import parse
from critics.wordlists import PROMPT_BOILERPLATE
from tests.critics.stories import BAKERY, BAKERY_PROMPT, DENSE, LIGHTHOUSE, LIGHTHOUSE_PROMPT, LOOPING, SCENES

SENTENCE = re.compile(r"sentences? \d+")


def test_style_reasons_name_the_sentences_to_look_at():
    style = StyleCritic()
    (dense,) = style.score([""], [DENSE])
    assert "hardest: sentence 1 ('Notwithstanding the considerable" in dense.reason
    cliched = ("She woke early. All of a sudden the phone rang in the hall. "
               "Her heart was racing as she ran down the stairs to answer it before it stopped.")
    (r,) = style.score([""], [cliched])
    assert "'all of a sudden' (sentence 2)" in r.reason and "'heart was racing' (sentence 3)" in r.reason
    adverbs = "He quickly ran. She slowly smiled and quietly waited. They happily sang and softly laughed all night."
    (r,) = style.score([""], [adverbs])
    assert "'quickly'" in r.reason and "-ly adverbs" in r.reason
    (r,) = style.score([""], [LIGHTHOUSE])
    assert re.search(r"sentences \d+-\d+ all run \d+-\d+ words", r.reason)
    cut = parse(LIGHTHOUSE + " Then the boat turned and the")
    score, message = component_scores(measure(cut), style.targets, cut)["ending"]
    assert score == 0.5 and message == "the story stops mid-sentence: '...Then the boat turned and the'"


def test_lexical_reasons_quote_the_loop_and_where_it_comes_back():
    (r,) = LexicalCritic().score([""], [LOOPING])
    assert "sentence 2 repeats sentence 1 ('The lighthouse keeper looked at the sea.')" in r.reason
    dull = ("The cat sat. The cat ate. The cat sat again. The cat ate again. The cat slept. The cat woke. "
            "The cat sat. The cat ate. The cat ran. The cat sat. The cat ate food. The cat sat down. " * 2)
    (r,) = LexicalCritic().score([""], [dull])
    assert SENTENCE.search(r.reason) or "'cat'" in r.reason


def test_coherence_reasons_name_the_jump_and_the_drift():
    doc = parse(SCENES)
    dealt = " ".join(doc.sentences[i] for k in range(3) for i in range(k, 12, 3))  # scenes dealt like cards
    (r,) = CoherenceCritic().score([""], [dealt])
    assert "barely follow" in r.reason and re.search(r"the biggest jump: sentence \d+ \('.+'\) after sentence \d+", r.reason)
    wander = SCENES + (" The tax code defines depreciation schedules for equipment. Form 4562 reports amortization. "
                       "Section 179 allows expensing.")
    (r,) = CoherenceCritic().score([""], [wander])
    assert re.search(r"sentences 13-15 \('The tax code defines", r.reason) and "drift away" in r.reason
    # too few sentences to judge the order: the reason still names the loosest link
    (r,) = CoherenceCritic().score([""], ["The cat slept by the fire. Quarterly revenue rose four percent. "
                                          "The cat woke and stretched by the fire."])
    assert re.search(r"sentence [23] \('.+'\) has little to do with sentence [12]", r.reason), r.reason
    (r,) = CoherenceCritic().score([""], [" ".join(parse(LIGHTHOUSE).sentences[:4])])
    assert "the loosest link: sentence" in r.reason and "too few to judge their order" in r.reason


def test_relevance_reasons_name_the_sentence_and_only_key_words():
    own, other = RelevanceCritic().score([LIGHTHOUSE_PROMPT] * 2, [LIGHTHOUSE, BAKERY])
    assert SENTENCE.search(own.reason) and SENTENCE.search(other.reason)
    assert "strays from the prompt" in other.reason and "'bottle'" in other.reason
    prompt = "Write a short piece based on the prompt: describe an elderly wizard and his young female apprentice."
    (r,) = RelevanceCritic().score([prompt], [BAKERY])
    named = re.findall(r"'([^']+)'", r.reason.split("never mentions")[-1])
    assert named == ["wizard", "apprentice"]


@pytest.mark.parametrize("prompt", [
    "Write a short story based on this prompt: a dragon guards a library.",
    "[WP] Tell the tale of a dragon who guards a library. Describe it in the first person.",
    "Write a piece, in the style of a fable, that begins with a dragon and ends in a library.",
])
def test_a_prompts_instruction_words_are_never_missing(prompt):
    keys = key_words(prompt)
    assert {"dragon", "library"} <= set(keys)
    assert not set(w.lower() for w in keys) & PROMPT_BOILERPLATE
    assert missing_words(prompt, {"cat", "sat"}) == keys[:3]
    assert missing_words(prompt, {"dragons", "library"}) == [w for w in keys if w not in ("dragon", "library")][:3]


def test_key_words_keep_names_and_nouns():
    assert key_words("Mark Zuckerberg decides to end Facebook.")[:2] == ["Zuckerberg", "Facebook"]
    assert key_words("A new law is enacted that erases soldiers memories of their time at war.")[:1] == ["law"]
    assert key_words("Write a story.") == [] and key_words("") == []


CHATTER_CASES = {
    "Sure! Here is a story based on the prompt you provided:\n\nThe storm came at dusk.": ("preamble", 1),
    "Great! Here's a short story about a lighthouse keeper.\n\nThe storm came at dusk.": ("preamble", 1),
    "Of course, I'd be happy to help you with that! The storm came at dusk.": ("preamble", 1),
    "Title: The Keeper\n\nThe storm came at dusk. Elias lit the lamp.": ("label", 1),
    "The storm came at dusk. Elias lit the lamp. I hope you enjoyed the story!": ("sign-off", 3),
    "The storm came at dusk. Let me know if you would like me to change anything.": ("sign-off", 2),
    "As an AI language model, I cannot write that story. The storm came.": ("assistant", 1),
    "The storm came at dusk.\n\n### Assistant: Would you like another story?": ("label", 2),
}
NOT_CHATTER = [
    LIGHTHOUSE, BAKERY, SCENES,
    '"Sure," she said. "Here is the key to the lighthouse, and here is the story of it."',
    '"Let me know if you need anything," the keeper said, and closed the door.',
    "As an AI researcher, Mara had never trusted the machines she built.",
    "Great waves broke on the rocks. Of course the boat was late.",
]


@pytest.mark.parametrize("text", list(CHATTER_CASES))
def test_the_chatter_detector_finds_and_places_chat_talk(text):
    kind, sentence = CHATTER_CASES[text]
    found = parse(text).chatter
    assert found and found[0].kind == kind and found[0].sentence == sentence, found
    assert f"sentence {sentence}" in found[0].describe() or f"sentences {sentence}-" in found[0].describe()


@pytest.mark.parametrize("text", NOT_CHATTER)
def test_the_chatter_detector_leaves_stories_and_dialogue_alone(text):
    assert parse(text).chatter == []


def test_chatter_is_quoted_in_the_reason_and_costs_the_story(tmp_path):
    wrapped = ("Sure! Here is a story about a lighthouse keeper who finds a message in a bottle.\n\n" + LIGHTHOUSE
               + "\n\nI hope you enjoyed it! Let me know if you would like another one.")
    panel = Panel()
    plain, chatty = panel.score([LIGHTHOUSE_PROMPT] * 2, [LIGHTHOUSE, wrapped])
    assert "sounds like a chatbot" in chatty.critics["style"].reason
    assert "'Sure! Here is a story about" in chatty.critics["style"].reason and "(sentences 1-2)" in chatty.critics["style"].reason
    assert "chat chatter" in chatty.guard and plain.total > chatty.total
    # the chatter restates the prompt: relevance does not count it
    assert chatty.critics["relevance"].score <= plain.critics["relevance"].score + 0.02


def test_no_reason_is_boilerplate_on_ordinary_stories():
    """On ordinary stories of a draft's length no critic says the same fault of every story:
    the length and unfinished notes are gone, and what is said names a place in the story."""
    panel = Panel()
    texts = [" ".join(parse(t).sentences[:5]) for t in (LIGHTHOUSE, BAKERY, SCENES)]
    results = panel.score([LIGHTHOUSE_PROMPT, BAKERY_PROMPT, "A day in a harbour town."], texts)
    for r in results:
        for name, cs in r.critics.items():
            assert "unfinished" not in cs.reason and "target 300" not in cs.reason, (name, cs.reason)
        assert not r.guard or "word" not in r.guard
        assert SENTENCE.search(r.critics["relevance"].reason)
