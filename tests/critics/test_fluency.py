"""The fluency critic: a floor on likelihood under the frozen base writer, never a maximum."""

import random

import pytest

from critics.fluency import FluencyCritic
from tests.critics.stories import BAKERY, LIGHTHOUSE, LOOPING


def test_mapping_is_a_floor(tiny_writer):
    critic = FluencyCritic(reference=tiny_writer, fluent_nll=4.5, garbled_nll=7.2)
    critic.nll = lambda texts: [(3.0, 10), (4.5, 10), (5.85, 10), (7.5, 10), (float("nan"), 0)][: len(texts)]
    got = critic.score([""] * 5, ["a b c. d e."] * 4 + ["x"])
    assert [round(g.score, 2) for g in got[:4]] == [1.0, 1.0, 0.5, 0.0]  # blander than the floor earns nothing more
    assert "hard to read" in got[2].reason and "too short" in got[4].reason


def test_scores_with_a_tiny_reference_and_restores_its_adapter(tiny_writer):
    critic = FluencyCritic(reference=tiny_writer)
    values = critic.nll([LIGHTHOUSE, "", "Hi"])
    assert values[0][1] > 20 and values[0][0] > 0 and values[1][1] == 0
    res = critic.score(["", ""], [LIGHTHOUSE, ""])
    assert all(0 <= r.score <= 1 for r in res) and res[1].score == 0.0
    assert tiny_writer.active_adapter is None


@pytest.mark.slow
def test_builtin_writer_prefers_prose_over_word_salad_but_not_over_loops():
    critic = FluencyCritic()
    rng = random.Random(0)
    salad = [" ".join(rng.sample(t.split(), len(t.split()))) for t in (LIGHTHOUSE, BAKERY)]
    got = critic.score([""] * 5, [LIGHTHOUSE, BAKERY, *salad, LOOPING])
    assert got[0].score == 1.0 and got[1].score == 1.0
    assert got[2].score < 0.5 and got[3].score < 0.5
    assert got[4].score == 1.0  # the likelihood trap: a loop is "fluent"; the lexical floor must catch it
    nll = critic.nll([LIGHTHOUSE, LOOPING])
    assert nll[1][0] < nll[0][0]


def test_a_reference_with_adapters_grades_with_a_private_base(tiny_writer):
    from types import SimpleNamespace

    adapted = SimpleNamespace(**{**vars(tiny_writer), "adapters": {"a0": "/x"}, "active_adapter": "a0"})
    adapted.device = tiny_writer.device
    critic = FluencyCritic(reference=adapted)
    base = critic.writer()
    assert base is not adapted and base.adapters == {} and adapted.active_adapter == "a0"
    assert critic.writer() is base  # loaded once
    assert critic.nll([LIGHTHOUSE])[0] == pytest.approx(FluencyCritic(reference=tiny_writer).nll([LIGHTHOUSE])[0])
