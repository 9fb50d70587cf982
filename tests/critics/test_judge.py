"""The LLM-judge critic: expected ratings, both-order comparisons, bad input, the --judge-model flag."""

import json
import math

import numpy as np
import pytest

from critics.judge import (CRITERIA, JudgeCritic, JudgeError, answer_tokens, compare, expected_rating,
                           rating_to_score, win_rate)
from tests.critics.stories import BAKERY, BAKERY_PROMPT, LIGHTHOUSE, LIGHTHOUSE_PROMPT, LOOPING


@pytest.fixture(scope="module")
def judge_dir(tmp_path_factory):
    from tests.tiny import make_tiny_model

    # a longer context than the shared tiny model, so the hand-written stories fit whole
    return make_tiny_model(tmp_path_factory.mktemp("judge") / "llama", seed=3, max_positions=2048)


@pytest.fixture(scope="module")
def judge(judge_dir):
    return JudgeCritic(model=str(judge_dir), device="cpu")


def finite01(results):
    return all(math.isfinite(r.score) and 0.0 <= r.score <= 1.0 for r in results)


def test_expected_rating_is_the_softmax_mean_of_the_digits():
    assert expected_rating(np.zeros((1, 5)))[0] == pytest.approx(3.0)
    assert expected_rating(np.array([[30.0, 0, 0, 0, 0]]))[0] == pytest.approx(1.0)
    assert expected_rating(np.array([[0, 0, 0, 0, 1000.0]]))[0] == pytest.approx(5.0)  # no overflow
    two = expected_rating(np.array([[0, np.log(3), 0, 0, 0]]))[0]  # P(2) = 3/7, others 1/7
    assert two == pytest.approx((1 + 2 * 3 + 3 + 4 + 5) / 7)
    assert [rating_to_score(r) for r in (1, 3, 5, 7, float("nan"))] == [0.0, 0.5, 1.0, 1.0, 0.0]


def test_each_option_is_one_token_at_the_answer_position(judge):
    tok = judge.writer().tokenizer
    prefix, ids = answer_tokens(tok, "Rating:", list("12345"))
    assert len(set(ids)) == 5
    for d, i in zip("12345", ids):
        assert tok.decode(prefix + [i]).replace(" ", "") == f"Rating:{d}"
    _, ab = answer_tokens(tok, "Better story:", ["A", "B"])
    assert len(set(ab)) == 2


def test_scores_are_expected_ratings_in_0_1_with_the_weakest_criterion_named(judge):
    got = judge.score([LIGHTHOUSE_PROMPT, BAKERY_PROMPT, ""], [LIGHTHOUSE, BAKERY, LOOPING])
    assert finite01(got)
    for r in got:
        ratings = r.details["ratings"]
        assert all(1.0 <= v <= 5.0 for v in ratings.values())
        assert r.score == pytest.approx((np.mean(list(ratings.values())) - 1) / 4)
        weakest = min(ratings, key=ratings.get)
        assert r.reason.startswith(f"weakest: {weakest} {ratings[weakest]:.1f}/5")
    assert set(got[0].details["ratings"]) == set(CRITERIA)
    assert "relevance" not in got[2].details["ratings"]  # no prompt, no relevance question


def test_scores_are_deterministic_and_do_not_depend_on_the_batch(judge):
    alone = judge.score([LIGHTHOUSE_PROMPT], [LIGHTHOUSE])[0]
    again = judge.score([LIGHTHOUSE_PROMPT], [LIGHTHOUSE])[0]
    mixed = judge.score([BAKERY_PROMPT, "", LIGHTHOUSE_PROMPT, BAKERY_PROMPT],
                        [BAKERY, "Short one. Very short.", LIGHTHOUSE, LOOPING])[2]
    assert again.score == alone.score
    assert mixed.score == pytest.approx(alone.score, abs=1e-5)
    for c, v in alone.details["ratings"].items():
        assert mixed.details["ratings"][c] == pytest.approx(v, abs=1e-4)
    small = JudgeCritic(model=judge.model, device="cpu", batch_tokens=64)  # one row per forward
    assert small.score([LIGHTHOUSE_PROMPT], [LIGHTHOUSE])[0].score == pytest.approx(alone.score, abs=1e-5)


def test_reading_the_story_once_gives_the_ratings_of_asking_each_question_in_full(judge):
    from critics.judge import RATING_LEAD, RATINGS

    prompts, texts = [LIGHTHOUSE_PROMPT, ""], [LIGHTHOUSE, "Short one. Very short."]
    shared = judge.rate(prompts, texts)
    _, digits = judge._answer(RATING_LEAD, RATINGS)
    for (p, t), (ratings, _) in zip(zip(prompts, texts), shared):
        pre, suffixes = judge._rubric_parts(p, t)
        rows = [type("Row", (), {"ids": pre + x})() for x in suffixes]
        full = expected_rating(judge._last_logits(rows, digits)[0])
        for c, r in ratings.items():
            assert r == pytest.approx(full[judge.criteria.index(c)], abs=1e-4)


def test_compare_asks_both_orders_so_it_is_symmetric(judge):
    ab = compare(LIGHTHOUSE_PROMPT, LIGHTHOUSE, BAKERY, judge)
    ba = compare(LIGHTHOUSE_PROMPT, BAKERY, LIGHTHOUSE, judge)
    assert 0.0 <= ab <= 1.0 and ab + ba == pytest.approx(1.0, abs=1e-6)
    assert compare(LIGHTHOUSE_PROMPT, LIGHTHOUSE, LIGHTHOUSE, judge) == pytest.approx(0.5, abs=1e-6)
    assert compare("", LIGHTHOUSE, "", judge) == 1.0 and compare("", "", "🙂", judge) == 0.5
    many = judge.compare_pairs([LIGHTHOUSE_PROMPT, BAKERY_PROMPT], [LIGHTHOUSE, LOOPING], [BAKERY, BAKERY])
    assert many[0] == pytest.approx(ab, abs=1e-5)


def test_win_rate_over_pairs(judge):
    prompts = [LIGHTHOUSE_PROMPT, BAKERY_PROMPT, BAKERY_PROMPT]
    a, b = [LIGHTHOUSE, BAKERY, ""], [BAKERY, LOOPING, BAKERY]
    p = judge.compare_pairs(prompts, a, b)
    w = win_rate(prompts, a, b, judge)
    assert w.pairs == 3 and w.mean_p == pytest.approx(np.mean(p))
    assert w.win_rate == pytest.approx(sum(x > 0.5 for x in p) / 3)  # the empty story lost (P 0)
    assert p[2] == 0.0
    flipped = win_rate(prompts, b, a, judge)
    assert flipped.mean_p == pytest.approx(1 - w.mean_p, abs=1e-6)
    with pytest.raises(JudgeError, match="at least one pair"):
        win_rate([], [], [], judge)
    with pytest.raises(JudgeError, match="one prompt per pair"):
        judge.compare_pairs([""], [LIGHTHOUSE, BAKERY], [BAKERY])


def test_bad_input_scores_in_0_1_with_a_reason_that_says_what_happened(judge):
    cases = {
        "empty": ("", "the story is empty"),
        "one word": ("Lighthouse", "only 1 word"),
        "emoji": ("🙂🙂🙂 🎉🎉 🌊🌊🌊🌊", "has no words"),
        "cjk": ("灯塔看守人在暴风雨中发现了一封信。他读了两遍，然后又爬上了塔。", "CJK"),
        "rtl": ("שומר המגדלור מצא מכתב בבקבוק בזמן הסערה. הוא קרא אותו פעמיים.", "right-to-left"),
        "nul": ("The keeper\x00 climbed\x00 the tower.\x00 The lamp was lit.", "weakest:"),
        "chatter": ("Sure! Here is a story about a lighthouse keeper. " + LIGHTHOUSE, "chatbot reply"),
        "huge": ("The keeper climbed the tower. " * 40000, "judged on its first"),  # 200k words
    }
    got = judge.score([LIGHTHOUSE_PROMPT] * len(cases), [s for s, _ in cases.values()])
    assert finite01(got)
    for (name, (_, expect)), r in zip(cases.items(), got):
        assert expect in r.reason, (name, r.reason)
    assert got[0].score == 0.0 and got[2].score == 0.0  # nothing to judge is never a reward
    assert "200000 words" in got[-1].reason
    assert "\x00" not in got[5].reason


def test_a_story_longer_than_the_context_is_cut_to_fit(tiny_model_dir):
    short_context = JudgeCritic(model=str(tiny_model_dir), device="cpu")  # 512 positions
    lengths = []
    rated, compared = short_context._shared_logits, short_context._last_logits
    short_context._shared_logits = lambda pre, suf, o: (
        lengths.extend(len(x) + len(y) for x in pre for y in suf), rated(pre, suf, o))[1]
    short_context._last_logits = lambda rows, o: (lengths.extend(len(r.ids) for r in rows), compared(rows, o))[1]
    got = short_context.score([LIGHTHOUSE_PROMPT], [" ".join([LIGHTHOUSE] * 10)])[0]
    assert finite01([got]) and "judged on its first" in got.reason and "of 1250 words" in got.reason
    assert lengths and max(lengths) <= short_context.context
    lengths.clear()
    pair = short_context.compare_pairs([LIGHTHOUSE_PROMPT], [" ".join([LIGHTHOUSE] * 10)], [BAKERY * 5])
    assert 0 <= pair[0] <= 1 and lengths and max(lengths) <= short_context.context


def test_a_missing_or_invalid_judge_model_is_a_clear_error(tmp_path):
    with pytest.raises(JudgeError, match=f"judge model folder {tmp_path / 'nope'} does not exist.*--judge-model"):
        JudgeCritic(model=str(tmp_path / "nope"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(JudgeError, match="has no config.json"):
        JudgeCritic(model=str(tmp_path / "empty"))
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "config.json").write_text("{not json")
    judge = JudgeCritic(model=str(tmp_path / "broken"))
    with pytest.raises(JudgeError, match="cannot load the judge model .*broken"):
        judge.score([""], [LIGHTHOUSE])
    with pytest.raises(JudgeError, match="precision"):
        JudgeCritic(precision="int3")


def test_judge_is_registered_but_off_the_default_panel():
    from critics.registry import CRITICS, DEFAULT_CRITICS, critic_class

    assert "judge" in CRITICS and "judge" not in DEFAULT_CRITICS
    assert critic_class("judge") is JudgeCritic


def test_score_cli_with_judge_model(tmp_path, workspace, judge_dir, capsys):
    from ui.cli import main

    f = tmp_path / "in.jsonl"
    f.write_text("\n".join(json.dumps({"prompt": p, "story": s})
                           for p, s in ((LIGHTHOUSE_PROMPT, LIGHTHOUSE), (BAKERY_PROMPT, ""))) + "\n")
    assert main(["score", str(f), "--json", "--critics", "style", "--judge-model", str(judge_dir)]) == 0
    cap = capsys.readouterr()
    out = [json.loads(line) for line in cap.out.splitlines()]
    assert [set(o["critics"]) for o in out] == [{"style", "judge"}] * 2
    assert out[0]["critics"]["judge"]["reason"].startswith("weakest:") and out[1]["critics"]["judge"]["score"] == 0.0
    assert "plus judge" in cap.err and str(judge_dir) in cap.err
    assert main(["score", str(f), "--judge-model", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err
    assert f"judge model folder {tmp_path / 'missing'} does not exist" in err


@pytest.mark.slow
def test_builtin_judge_scores_and_compares_consistently():
    judge = JudgeCritic(criteria=["coherence"])  # one criterion: a few forwards of the real model
    got = judge.score([LIGHTHOUSE_PROMPT, BAKERY_PROMPT, ""], [LIGHTHOUSE, BAKERY, ""])
    assert finite01(got) and got[2].score == 0.0
    assert got[0].details["rating_mass"] > 0.5  # the built-in model does answer in digits
    assert judge.score([LIGHTHOUSE_PROMPT], [LIGHTHOUSE])[0].score == pytest.approx(got[0].score, abs=1e-4)
    ab, ba = judge.compare_pairs([LIGHTHOUSE_PROMPT] * 2, [LIGHTHOUSE, BAKERY], [BAKERY, LIGHTHOUSE])
    assert ab + ba == pytest.approx(1.0, abs=1e-5)
