"""The panel: registry, guards, bad input, the TRL reward signature, best-of-K, recording."""

import inspect
import math

import pytest

from critics.base import CriticError, CriticScore
from critics.panel import Panel, PanelConfig, PanelResult, best_of, record_scores
from critics.registry import CRITICS, DEFAULT_CRITICS, critic_class, names
from tests.critics.stories import BAKERY, BAKERY_PROMPT, LIGHTHOUSE, LIGHTHOUSE_PROMPT, LOOPING


@pytest.fixture(scope="module")
def panel():
    return Panel()


def test_registry_names_every_critic():  # its import is light: tests/critics/test_cli.py
    assert names() == ["style", "lexical", "coherence", "relevance", "prompt_fit", "fluency", "learned", "judge", "reader", "topic", "order"]
    assert all(":" in target for target in CRITICS.values())
    for name in names():
        cls = critic_class(name)
        assert cls.name == name and cls.higher_is_better is True
    with pytest.raises(CriticError, match="no critic named 'tone'; known critics: style"):
        critic_class("tone")


def test_config_checks():
    with pytest.raises(CriticError, match="no critic named 'styel'"):
        PanelConfig(critics=["styel"])
    with pytest.raises(CriticError, match="weight for 'style' must be a number >= 0"):
        PanelConfig(weights={"style": -1})
    with pytest.raises(CriticError, match="add up to 0"):
        PanelConfig(critics=["style"], weights={"style": 0})
    with pytest.raises(CriticError, match="style preset 'noir' unknown"):
        PanelConfig(preset="noir")
    assert PanelConfig(critics="style, lexical").critics == ["style", "lexical"]
    assert PanelConfig().critics == DEFAULT_CRITICS


def test_looping_story_is_capped_whatever_the_others_say(panel):
    good, loop = panel.score([LIGHTHOUSE_PROMPT] * 2, [LIGHTHOUSE, LOOPING])
    assert loop.guard and "lexical" in loop.guard and "capped" in loop.guard
    assert loop.total <= panel.config.guard_cap < good.total
    # the cap holds even when every other critic is perfect
    perfect = {n: CriticScore(1.0, "perfect") for n in ("style", "coherence", "relevance")}
    batch = panel.batch([""], [LOOPING])
    capped = panel.combine(batch, 0, {**perfect, "lexical": CriticScore(0.1, "loop")})
    assert capped.total <= panel.config.guard_cap and "capped" in capped.guard


def test_capped_stories_keep_their_order(panel):
    batch = panel.batch([""], [LIGHTHOUSE])
    base = {"style": CriticScore(0.9, ""), "coherence": CriticScore(0.9, ""), "relevance": CriticScore(0.9, "")}
    better = panel.combine(batch, 0, {**base, "lexical": CriticScore(0.3, "")})
    worse = panel.combine(batch, 0, {**base, "coherence": CriticScore(0.2, ""), "lexical": CriticScore(0.3, "")})
    assert panel.config.guard_cap >= better.total > worse.total > 0  # no tie at the cap: a pair can still teach
    assert "capped" in better.guard and "capped" in worse.guard


def test_a_story_that_ignores_its_prompt_cannot_win_on_style(panel):
    judged = {"judged": True}
    others = {"style": CriticScore(0.9, ""), "lexical": CriticScore(0.9, ""), "coherence": CriticScore(0.9, "")}
    equal = dict(critics=["style", "lexical", "coherence", "relevance"], weights={n: 1.0 for n in
                 ["style", "lexical", "coherence", "relevance"]}, short_penalty=False)
    full_length = Panel(PanelConfig(**equal))
    batch = full_length.batch([LIGHTHOUSE_PROMPT], [LIGHTHOUSE])
    on = full_length.combine(batch, 0, {**others, "relevance": CriticScore(0.9, "", judged)})
    off = full_length.combine(batch, 0, {**others, "relevance": CriticScore(0.15, "", judged)})
    gate, power = full_length.config.relevance_gate, full_length.config.gate_power
    assert on.guard is None and off.guard and "relevance 0.15 under" in off.guard
    assert on.total == pytest.approx(0.9) and off.total == pytest.approx((0.9 * 3 + 0.15) / 4 * (0.15 / gate) ** power)
    # the gate's power: 1 scales in proportion, 0.5 by the square root (a light touch of the prompt loses less)
    for p in (1.0, 0.5):
        r = Panel(PanelConfig(**equal, gate_power=p)).combine(batch, 0, {**others, "relevance": CriticScore(0.15, "", judged)})
        assert r.total == pytest.approx((0.9 * 3 + 0.15) / 4 * (0.15 / gate) ** p)
        assert f"total scaled by {(0.15 / gate) ** p:.2f}" in r.guard
    # no prompt: relevance is not judged (0.5), and the total is not scaled
    unjudged = full_length.combine(batch, 0, {**others, "relevance": CriticScore(0.5, "", {"judged": False})})
    assert unjudged.total == pytest.approx((0.9 * 3 + 0.5) / 4) and unjudged.guard is None
    ungated = Panel(PanelConfig(**equal, relevance_gate=0)).combine(
        batch, 0, {**others, "relevance": CriticScore(0.15, "", judged)})
    assert ungated.total == pytest.approx((0.9 * 3 + 0.15) / 4)
    # end to end: the bakery story under the lighthouse prompt
    own, other = panel.score([LIGHTHOUSE_PROMPT] * 2, [LIGHTHOUSE, BAKERY])
    assert own.total > other.total and "relevance" in other.guard
    with pytest.raises(CriticError, match="relevance_gate must be in"):
        PanelConfig(relevance_gate=1.5)
    for bad in (0, -1, 9):
        with pytest.raises(CriticError, match="gate_power must be in"):
            PanelConfig(gate_power=bad)


def test_weights_move_the_total(panel):
    batch = panel.batch([""], [LIGHTHOUSE])
    scores = {"style": CriticScore(1.0, ""), "lexical": CriticScore(0.6, ""), "coherence": CriticScore(0.6, ""),
              "relevance": CriticScore(0.6, "")}
    equal = panel.combine(batch, 0, scores).total
    heavy = Panel(PanelConfig(weights={"style": 5.0})).combine(batch, 0, scores).total
    assert heavy > equal


ODD = {
    "empty": "",
    "one word": "Hello",
    "huge": ("The sea was grey and the wind was cold. " * 12500),  # 100,000 words
    "no punctuation": " ".join(["the boat drifted past the rocks and the gulls followed it home"] * 30),
    "only dialogue": '"Where were you?" "Out." "Out where?" "By the river, watching the boats come in." ' * 6,
    "emoji": "🐉🔥 The dragon 🐉 flew 🔥🔥 over the town 🏰 and everyone cheered 🎉🎉🎉 all night.",
    "cjk": "龙飞过了小镇。人们欢呼起来。夜晚很长，星星很亮。" * 5,
    "rtl": "הדרקון עף מעל העיר. כולם הריעו. הלילה היה ארוך והכוכבים זרחו. " * 5,
    "html": "<html><body><h1>Title</h1><p>The dragon <b>flew</b> over the town.</p><p>Everyone cheered &amp; sang.</p></body></html>",
    "markdown": "# The Dragon\n\n**The dragon** flew over the [town](http://x.y).\n\n- everyone cheered\n- they sang",
    "french": "Le dragon a survolé la ville. Tout le monde a applaudi et chanté toute la nuit sous les étoiles. " * 4,
}
EXPECTED = {"empty": "empty", "one word": "only 1 word", "no punctuation": "no sentence punctuation",
            "only dialogue": "only dialogue", "emoji": "emoji", "cjk": "CJK", "rtl": "right-to-left",
            "html": "HTML", "markdown": "markdown", "french": "does not look like English"}


def test_bad_input_stays_in_range_with_a_reason(panel):
    results = panel.score(["A dragon story."] * len(ODD), list(ODD.values()))
    for (kind, _), r in zip(ODD.items(), results):
        assert 0.0 <= r.total <= 1.0 and not math.isnan(r.total), kind
        for name, cs in r.critics.items():
            assert 0.0 <= cs.score <= 1.0 and not math.isnan(cs.score), (kind, name)
            assert cs.reason, (kind, name)
        if kind in EXPECTED:
            assert any(EXPECTED[kind] in cs.reason for cs in r.critics.values()), (kind, r.critics)
    by_kind = dict(zip(ODD, results))
    assert by_kind["empty"].total == 0.0 and by_kind["empty"].guard
    assert by_kind["one word"].total <= panel.config.guard_cap
    assert "judged on the first 200" in by_kind["huge"].critics["coherence"].reason


def test_reward_is_a_trl_reward_callable(panel):
    params = list(inspect.signature(panel.reward).parameters.values())
    assert [p.name for p in params[:2]] == ["prompts", "completions"] and params[-1].kind is inspect.Parameter.VAR_KEYWORD
    plain = panel.reward([LIGHTHOUSE_PROMPT, BAKERY_PROMPT], [LIGHTHOUSE, LOOPING], completion_ids=[[1], [2]])
    assert len(plain) == 2 and all(isinstance(x, float) and 0 <= x <= 1 for x in plain) and plain[0] > plain[1]
    chat = panel.reward([[{"role": "user", "content": LIGHTHOUSE_PROMPT}]] * 2,
                        [[{"role": "assistant", "content": LIGHTHOUSE}], [{"role": "assistant", "content": LOOPING}]])
    assert chat == pytest.approx(plain[:1] + [chat[1]]) and chat[0] == pytest.approx(plain[0])


def test_best_of():
    assert best_of([0.1, 0.9, 0.3]) == 1
    assert best_of([0.5, 0.7, 0.7]) == 1  # ties: lowest index
    assert best_of([float("nan"), 0.2]) == 1
    with pytest.raises(CriticError):
        best_of([])


def test_record_scores_writes_each_critic_and_the_panel(record, panel, monkeypatch):
    ids = record.add_drafts([dict(request="r", prompt=LIGHTHOUSE_PROMPT, text=t, model="m", candidate=k)
                             for k, t in enumerate([LIGHTHOUSE, BAKERY])])
    results = panel.score([LIGHTHOUSE_PROMPT] * 2, [LIGHTHOUSE, BAKERY])
    version = panel.version(record)
    assert panel.version(record) == version  # same configuration, same version
    # every setting that moves a total makes another version
    others = [Panel(PanelConfig(short_penalty=False)).version(record), Panel(PanelConfig(relevance_gate=0.5)).version(record),
              Panel(PanelConfig(min_words=5)).version(record)]
    assert len({version, *others}) == 4 and Panel(PanelConfig(short_penalty=False)).version(record) == others[0]
    assert record.one("SELECT weights FROM panel_versions WHERE id = ?", (others[0],))["weights"]["short_penalty"] is False
    # so does a critic whose measure changed (its revision): old and new scores never share a version
    stored_version = record.one("SELECT weights FROM panel_versions WHERE id = ?", (version,))["weights"]
    assert stored_version["revisions"]["relevance"] == panel.critics["relevance"].revision
    monkeypatch.setattr(type(panel.critics["relevance"]), "revision", panel.critics["relevance"].revision + 1)
    assert panel.version(record) not in {version, *others}
    monkeypatch.undo()
    assert panel.version(record) == version
    record_scores(record, ids, results, version)
    stored = record.scores(ids[0])
    assert set(stored) == {*DEFAULT_CRITICS, "panel"}
    assert stored["panel"]["score"] == pytest.approx(results[0].total) and stored["panel"]["panel_version"] == version
    assert stored["style"]["reason"] == results[0].critics["style"].reason
    with pytest.raises(CriticError, match="2 panel results for 1 drafts"):
        record_scores(record, ids[:1], results)
    assert len(record.query("SELECT * FROM scores")) == 2 * (len(DEFAULT_CRITICS) + 1)  # the refused call wrote nothing


def test_result_as_json():
    r = PanelResult(0.5, {"style": CriticScore(0.4, "grade level 12.4, target 6-8")}, None)
    assert r.to_dict() == {"panel": 0.5, "guard": None, "critics": {"style": {"score": 0.4, "reason": "grade level 12.4, target 6-8"}}}
    assert CriticScore(float("nan"), "x").score == 0.0
