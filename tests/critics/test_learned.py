"""The learned critic learns a planted preference, is saved versioned, and is absent until there is data."""

import random

import numpy as np
import pytest

from critics.learned import LearnedCritic, NoLearnedCritic, fit_bradley_terry, retrain_from_picks, save, train_from_texts
from critics.panel import Panel, PanelConfig

NAMES = ["Ada", "Ben", "Cleo", "Dan", "Eve", "Finn", "Gus", "Hana", "Ivo", "Jade", "Kai", "Lena"]
SEA = ["the waves broke over the harbour wall", "a gull stole bread from the fishing boat", "salt spray stung her eyes on deck",
       "the tide pulled the little dinghy out past the reef", "whales sang under the hull at night",
       "the lighthouse beam swept the dark water", "nets full of silver herring came aboard"]
DESERT = ["the dunes shifted under the hot wind", "a camel knelt beside the dry well", "sand hissed against the tent",
          "the sun baked the cracked clay of the canyon", "a lizard watched from a cactus at noon",
          "the caravan crossed the salt flat at dawn", "heat shimmered over the endless rocks"]
ACTIONS = ["Later that day", "In the morning", "Without a word", "After a long silence", "By evening"]


def story(rng, scenery):
    a, b = rng.sample(NAMES, 2)
    parts = rng.sample(scenery, 3)
    return (f"{a} and {b} set out together. {rng.choice(ACTIONS)}, {parts[0]}. {a} laughed as {parts[1]}. "
            f"{rng.choice(ACTIONS)}, {parts[2]}, and {b} wrote it all down.")


def pairs(n, seed):
    rng = random.Random(seed)
    return [story(rng, SEA) for _ in range(n)], [story(rng, DESERT) for _ in range(n)]


def test_bradley_terry_recovers_a_direction():
    rng = np.random.default_rng(0)
    true = np.array([2.0, -1.0, 0.0])
    x = rng.normal(size=(400, 3))
    y = (1 / (1 + np.exp(-x @ true)) > rng.random(400))
    diffs = np.where(y[:, None], x, -x)
    w = fit_bradley_terry(diffs, l2=0.1)
    assert w[0] > 1 and w[1] < -0.4 and abs(w[2]) < 0.4


def test_learns_a_planted_preference_from_50_pairs():
    chosen, rejected = pairs(50, seed=1)
    critic, metrics = train_from_texts(["A journey."] * 50, chosen, rejected)
    assert metrics["pairs"] == 50 and metrics["train_accuracy"] > 0.9
    test_chosen, test_rejected = pairs(30, seed=2)  # unseen stories
    sc = [s.score for s in critic.score(["A journey."] * 30, test_chosen)]
    sr = [s.score for s in critic.score(["A journey."] * 30, test_rejected)]
    held_out = np.mean([a > b for a, b in zip(sc, sr)])
    assert held_out > 0.9, held_out
    assert "people picked" in critic.score([""], [test_chosen[0]])[0].reason


def test_absent_until_there_is_data_then_versioned(record, workspace):
    with pytest.raises(NoLearnedCritic, match="no trained version yet"):
        LearnedCritic.latest(record)
    panel = Panel(PanelConfig(critics=["style", "learned"]), record=record)
    assert list(panel.critics) == ["style"] and "learned critic absent" in panel.notes[0]
    assert retrain_from_picks(record) is None  # no picks yet: nothing to learn from
    with pytest.raises(NoLearnedCritic, match="needs at least"):
        train_from_texts(["p"], ["a"], ["b"])

    chosen, rejected = pairs(12, seed=3)
    ids = record.add_drafts([dict(request="r", prompt="A journey.", text=t, model="m") for t in chosen + rejected])
    for k in range(12):
        pick = record.add_pick(ids[k], ids[12 + k], author="tester")
        record.add_pair("A journey.", ids[k], ids[12 + k], "pick", pick_id=pick)
    metrics = retrain_from_picks(record, workspace=workspace)
    assert metrics["version"] == 1 and metrics["pairs"] == 12
    row = record.get("learned_critics", 1)
    assert row["pairs_used"] == 12 and row["path"].endswith(".npz") and not list(workspace.glob("critics/*.tmp*"))
    loaded = LearnedCritic.latest(record)
    assert loaded.version == 1
    critic2, _ = train_from_texts(["A journey."] * 12, chosen, rejected)
    assert save(critic2, record, workspace / "critics") == 2
    panel = Panel(PanelConfig(critics=["style", "learned"]), record=record)
    assert panel.critics["learned"].version == 2
    (r,) = panel.score(["A journey."], [pairs(1, seed=9)[0][0]])
    assert 0 <= r.critics["learned"].score <= 1 and "v2" in r.critics["learned"].reason
