"""RoundConfig checks, the evaluation's pure pieces (split, distinct-2, win rate, guard flags) and doctests."""

import doctest

import pytest
from hypothesis import given
from hypothesis import strategies as st

import training.evaluate
import training.pairs
from training.config import RoundConfig, RoundConfigError
from training.evaluate import compare, distinct_n, guard_flags, split_prompts, win_rate


@pytest.mark.parametrize("bad", [dict(learning_rate=-1e-5), dict(beta=-0.1), dict(beta=0), dict(loss_type="nope"),
                                 dict(report_to="wandb"), dict(lora_r=0), dict(max_steps=0), dict(max_length=4),
                                 dict(sft_weight=-0.5)])
def test_round_config_refuses_bad_settings(bad):
    with pytest.raises(RoundConfigError) as e:
        RoundConfig(**bad)
    assert next(iter(bad)) in str(e.value)


def test_round_config_yaml_and_overrides(tmp_path):
    f = tmp_path / "round.yaml"
    f.write_text("beta: 0.3\nlora_targets: q_proj v_proj\nmax_steps: 9\n")
    cfg = RoundConfig.from_yaml(f, max_steps=2, learning_rate=None)
    assert (cfg.beta, cfg.lora_targets, cfg.max_steps) == (0.3, ["q_proj", "v_proj"], 2)
    f.write_text("betta: 0.3\n")
    with pytest.raises(RoundConfigError, match="betta"):
        RoundConfig.from_yaml(f)


def test_sft_weight_adds_the_chosen_nll_term_to_trls_loss(tmp_path):
    from training.round import dpo_args

    plain = dpo_args(RoundConfig(sft_weight=0), tmp_path, "cpu", progress=False)
    assert plain.loss_type == ["sigmoid"]
    rpo = dpo_args(RoundConfig(loss_type="ipo", sft_weight=0.5), tmp_path, "cpu", progress=False)
    assert rpo.loss_type == ["ipo", "sft"] and rpo.loss_weights == [1.0, 0.5]
    assert dpo_args(RoundConfig(), tmp_path, "cpu", progress=False).loss_type == ["sigmoid", "sft"]  # the default


@given(st.lists(st.text(min_size=1, max_size=12), max_size=30), st.integers(0, 10), st.integers(0, 3))
def test_split_is_disjoint_stable_and_sized(prompts, n, seed):
    train, held = split_prompts(prompts, n, seed)
    unique = list(dict.fromkeys(p.strip() for p in prompts if p.strip()))
    assert not set(train) & set(held) and sorted(train + held) == sorted(unique)
    assert len(held) == (min(n, len(unique) - 1) if unique else 0)
    # growing the list never moves an already held-out prompt into training (when the count grows with it)
    more_train, more_held = split_prompts(prompts + ["an extra prompt"], n + 1, seed)
    assert not set(held) & set(more_train) or len(unique) <= n + 1


def test_distinct_and_win_rate():
    assert distinct_n(["the cat sat", "the cat ran"]) == pytest.approx(3 / 4)
    assert distinct_n(["a"]) == 0.0
    assert win_rate([1, 0, 0.5], [0, 1, 0.5]) == pytest.approx(0.5)
    assert win_rate([1, 1], [0, 0]) == 1.0
    with pytest.raises(ValueError):
        win_rate([1], [])


def test_guard_flags_catch_reward_hacking_only_when_the_reward_rose():
    base = {"reward": 0.5, "distinct2": 0.8, "mean_words": 100, "guard_critic": 0.6, "fluency_nll": 2.0}
    honest = {"reward": 0.6, "distinct2": 0.78, "mean_words": 110, "guard_critic": 0.62, "fluency_nll": 2.1}
    assert guard_flags(honest, None, base) == []
    hacked = dict(honest, distinct2=0.5, mean_words=200, guard_critic=0.4, fluency_nll=3.0)
    flags = guard_flags(hacked, None, base)
    assert len(flags) == 4 and all("reward rose" in f for f in flags)
    assert guard_flags(dict(hacked, reward=0.4), None, base) == [], "no reward gain: nothing was hacked"
    prev = dict(honest, reward=0.7)
    assert guard_flags(hacked, prev, base) == [], "compared against the previous round"
    cur = dict(hacked, rewards=[0.9, 0.1])
    out = compare(cur, None, dict(base, rewards=[0.5, 0.5]))
    assert out["reward_hacking"] and out["win_rate_vs_base"] == 0.5 and "rewards" not in out


def test_outside_judges_are_never_the_reward_and_get_their_own_win_rates(tmp_path):
    from training.evaluate import outside_judges
    from training.round import TrainingError

    with pytest.raises(TrainingError, match="in the training panel"):
        outside_judges(["style"], ["style", "relevance"])
    with pytest.raises(TrainingError, match="neither a critic"):
        outside_judges(["no-such-critic"], ["style"])
    bad = tmp_path / "reader.safetensors"
    bad.write_bytes(b"not weights")
    with pytest.raises(Exception, match="reader.safetensors"):
        outside_judges([str(bad)], ["style"])
    from critics.panel import Panel, PanelConfig
    from critics.reader import SHIPPED

    panel = Panel(PanelConfig(critics=["reader", "style"]))
    with pytest.raises(TrainingError, match="own reader weights"):
        outside_judges([str(SHIPPED)], ["reader", "style"], training_panel=panel)
    judges = outside_judges(["lexical", " "], ["style", "relevance"])
    assert list(judges) == ["lexical"]
    base = {"reward": 0.5, "rewards": [0.5, 0.5], "outside": {"lexical": {"scores": [0.4, 0.6], "mean": 0.5}}}
    prev = dict(base, outside={"lexical": {"scores": [0.5, 0.9], "mean": 0.7}})
    cur = {"reward": 0.6, "rewards": [0.6, 0.6], "outside": {"lexical": {"scores": [0.5, 0.5], "mean": 0.5}}}
    out = compare(cur, prev, base)["outside"]["lexical"]
    assert out["win_rate_vs_base"] == 0.5 and out["win_rate_vs_previous"] == 0.25 and out["base_mean"] == 0.5


def test_doctests():
    for module in (training.pairs, training.evaluate, training.round):
        result = doctest.testmod(module)
        assert result.attempted > 0 and result.failed == 0, module.__name__
