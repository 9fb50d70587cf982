"""The reader critic's training pairs: pure pieces and the length balance, on synthetic stories."""

import random

import pytest

from critics.devdata import DevStory, split_of
from critics.reader_data import (Pair, balance_lengths, crop, dev_pairs, length_stats, matched, repeated, shuffled,
                                 strip_chatter, truncated, with_chatter, words)


def _story(seed: int, n: int = 30) -> str:
    rng = random.Random(seed)
    nouns = ["harbour", "lamp", "sister", "letter", "storm", "garden", "engine", "river", "window", "bell"]
    verbs = ["watched", "carried", "forgot", "mended", "opened", "followed", "burned", "counted"]
    return " ".join(f"The {rng.choice(nouns)} {rng.choice(verbs)} the {rng.choice(nouns)} at dawn number {i}."
                    .replace(f" number {i}", " " + "again " * (i % 3)).replace("  ", " ").replace(" .", ".")
                    for i in range(n))


def _dev(n_prompts: int = 12) -> list[DevStory]:
    out = []
    for k in range(n_prompts):
        prompt = f"Prompt number {k}: a lighthouse keeper finds a door in the sea, variant {k}."
        out.append(DevStory(str(k), "hanna_human96.csv", prompt, _story(k), "human"))
        for m in range(2):
            out.append(DevStory(f"{k}-{m}", "hanna_llm576.jsonl", prompt,
                                "Sure! Here is a story:\n\n" + _story(100 + 10 * k + m), f"model-{m}"))
    return out


def test_crop_matched_and_damage_keep_lengths_close():
    sents = [f"Sentence {i} has five words." for i in range(20)]
    assert words(crop(sents, 0, 23)) == 20 and crop(sents, 19, 5) == sents[19:]
    a, b = matched(sents, [f"Other {i} is four." for i in range(30)], 40)
    assert abs(words(a) - words(b)) <= 5
    rng = random.Random(0)
    assert sorted(shuffled(sents[:6], rng)) == sorted(sents[:6]) and shuffled(sents[:6], rng) != sents[:6]
    assert shuffled(["Same."] * 5, rng) is None
    rep = repeated(sents[:8], rng)
    assert words(rep) == words(sents[:8]) and len(set(rep)) < len(rep)
    chat = with_chatter(sents[:8], "A door in the sea", rng)
    assert abs(words(chat) - words(sents[:8])) <= 8
    varied = [f"Sentence {i} has {'many ' * (i % 4)}words." for i in range(8)]
    good, cut = truncated(varied)
    assert words(good) == len(cut.split()) and not cut.endswith(".")


def test_strip_chatter_keeps_the_story():
    text = "Sure! Here is a story based on your prompt:\n\nTitle: The Door\n\nMara walked to the sea.\n\nI hope you enjoyed it!"
    assert strip_chatter(text) == "Mara walked to the sea."


def test_balance_lengths_makes_each_kind_neutral():
    pairs = [Pair("p", "a " * 50, "b " * 40, "x") for _ in range(30)] + [Pair("p", "a " * 40, "b " * 50, "x")
                                                                          for _ in range(10)]
    pairs += [Pair("p", "a " * 50, "b " * 50, "y") for _ in range(5)]
    stats = length_stats(pairs)
    assert stats["x"]["chosen_longer"] == 0.75
    balanced = balance_lengths(pairs)
    assert length_stats(balanced)["x"]["chosen_longer"] == 0.5
    assert sum(p.kind == "x" for p in balanced) == 20 and sum(p.kind == "y" for p in balanced) == 5


def test_dev_pairs_stay_in_their_split_and_are_length_balanced():
    stories = _dev()
    for split in ("train", "val"):
        prompts = {s.prompt for s in stories if s.split == split}
        pairs = balance_lengths(dev_pairs(stories, None, split, seed=1))
        if not prompts:
            continue
        assert pairs and {p.prompt for p in pairs} - {""} <= prompts
        kinds = {p.kind for p in pairs}
        assert {"human_vs_llm", "shuffled", "chatter"} <= kinds
        assert all(0.3 <= v["chosen_longer"] <= 0.7 for v in length_stats(pairs).values())
        assert not any("Sure! Here is" in p.rejected for p in pairs if p.kind == "human_vs_llm")
    assert dev_pairs(stories, None, "train", seed=1) == dev_pairs(stories, None, "train", seed=1)
    assert split_of("x") in ("train", "val")


def test_damage_can_be_cut_from_peoples_stories_only():
    """``damage_from="people"``: every shuffled, repeated, chatter-wrapped and truncated pair is cut
    from a person's story (by default about six LLM stories to one person's feed them)."""
    stories, damaged = _dev(), ("shuffled", "repeated", "chatter", "truncated")
    by_all = [p for p in dev_pairs(stories, None, "train", seed=1) if p.kind in damaged]
    by_people = [p for p in dev_pairs(stories, None, "train", seed=1, damage_from="people") if p.kind in damaged]
    assert by_people and all(p.source.startswith("hanna_human96.csv:") for p in by_people)
    assert any(p.source.startswith("hanna_llm576.jsonl:") for p in by_all)
    with pytest.raises(ValueError, match="damage_from"):
        dev_pairs(stories, None, "train", damage_from="llms")
