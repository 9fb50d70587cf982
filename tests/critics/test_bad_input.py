"""Every registered hand-set critic on bad input: a score in [0, 1], never NaN, and a reason
that says what happened (the trained and LLM critics have their own tests)."""

import math

import pytest

from critics.panel import Panel, PanelConfig
from critics.registry import critic_class, names

TRAINED = {"learned", "reader", "judge"}  # trained on data or an LLM: tested with their models
HAND_SET = [n for n in names() if n not in TRAINED]

BAD = {
    "empty": "",
    "one word": "Hello",
    "200k words": "The sea was grey and the wind was cold on the long road home. " * 15385,
    "emoji only": "🐉🔥🐉 🏰🎉🎉 🌊🌊 ⚓️✨ 🐟🐟🐟 " * 4,
    "cjk": "龙飞过了小镇。人们欢呼起来。夜晚很长，星星很亮。" * 5,
    "rtl": "הדרקון עף מעל העיר. כולם הריעו. הלילה היה ארוך והכוכבים זרחו. " * 5,
    "nul bytes": "The dragon\x00 flew over\x00\x00 the town.\x00 Everyone cheered\x00 all night long.\x00",
    "chat chatter": ("Sure! Here is a story based on the prompt you provided: a dragon over a town. "
                     "I hope you enjoyed it! Let me know if you would like another story."),
}
SAYS = {  # what some critic's reason (or the panel's guard) must say
    "empty": "empty", "one word": "only 1 word", "emoji only": "emoji", "cjk": "CJK", "rtl": "right-to-left",
    "chat chatter": "chatbot",
}


def test_the_bad_inputs_are_what_they_say():
    assert len(BAD["200k words"].split()) >= 200_000
    assert "\x00" in BAD["nul bytes"]


@pytest.fixture(scope="module")
def critics(tiny_writer):
    out = {}
    for name in HAND_SET:
        cls = critic_class(name)
        out[name] = cls(reference=tiny_writer) if name == "fluency" else cls()
    return out


def test_every_hand_set_critic_stays_in_range_with_a_reason(critics):
    prompts = ["A dragon flies over a town."] * len(BAD)
    for name, critic in critics.items():
        got = critic.score(prompts, list(BAD.values()))
        assert len(got) == len(BAD), name
        for kind, cs in zip(BAD, got):
            assert isinstance(cs.score, float) and math.isfinite(cs.score) and 0.0 <= cs.score <= 1.0, (name, kind, cs)
            assert cs.reason and cs.reason.strip(), (name, kind)
        assert got[0].score == 0.0 and "empty" in got[0].reason, name
    # the NUL bytes are read as spaces: the story is scored as the text it is
    for name in ("style", "lexical"):
        clean, nul = critics[name].score(["", ""], ["The dragon flew over the town. Everyone cheered all night long.",
                                                    BAD["nul bytes"]])
        assert clean.score == pytest.approx(nul.score), name


def test_the_panel_says_what_happened(tiny_writer):
    panel = Panel(PanelConfig(critics=HAND_SET), reference=tiny_writer)
    results = panel.score(["A dragon flies over a town."] * len(BAD), list(BAD.values()))
    for kind, r in zip(BAD, results):
        assert math.isfinite(r.total) and 0.0 <= r.total <= 1.0, kind
        said = " ".join([r.guard or ""] + [cs.reason for cs in r.critics.values()])
        if kind in SAYS:
            assert SAYS[kind] in said, (kind, said)
    by_kind = dict(zip(BAD, results))
    assert by_kind["empty"].total == 0.0
    assert "chat chatter" in by_kind["chat chatter"].guard
    assert by_kind["200k words"].total <= panel.config.guard_cap  # one sentence said 15,000 times: a loop
    assert "judged on the first 200" in by_kind["200k words"].critics["coherence"].reason
