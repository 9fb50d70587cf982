"""The panel's weight fit: recovers planted weights from synthetic author picks, refuses to
become current when it does not beat the current weights, and asks for enough picks."""

import doctest

import numpy as np
import pytest

import critics.fit
import critics.panel_versions
from critics.fit import FitConfig, FitError, agreement, fit_bradley_terry, fit_panel, split_ids
from critics.panel_versions import (PanelVersionError, add_version, current_version, current_weights, panel_config,
                                    use_version, version_weights, versions)

CRITICS = ["style", "lexical", "coherence", "relevance"]
PLANTED = {"style": 0.5, "lexical": 0.3, "coherence": 0.15, "relevance": 0.05}


def plant_picks(rec, n, weights, beta=25.0, seed=0, critics=CRITICS):
    """n author picks between two scored drafts each; the author follows a Bradley-Terry rule
    with the planted weights (noisy: a close call can go either way)."""
    rng = np.random.default_rng(seed)
    w = np.array([weights.get(c, 0.0) for c in critics])
    with rec.transaction():
        _plant(rec, n, w, beta, rng, critics)


def _plant(rec, n, w, beta, rng, critics):
    for i in range(n):
        a, b = rec.add_drafts([dict(request=f"q{i}", prompt=f"p{i}", text=f"a{i}", model="m"),
                               dict(request=f"q{i}", prompt=f"p{i}", text=f"b{i}", model="m", candidate=1)])
        sa, sb = rng.random(len(critics)), rng.random(len(critics))
        rec.add_scores(a, {c: (float(s), "") for c, s in zip(critics, sa)})
        rec.add_scores(b, {c: (float(s), "") for c, s in zip(critics, sb)})
        p_a = 1 / (1 + np.exp(-beta * float((sa - sb) @ w)))
        chosen, rejected = (a, b) if rng.random() < p_a else (b, a)
        rec.add_pick(chosen, rejected, author="synthetic")


def test_fit_recovers_planted_weights_and_becomes_current(record):
    plant_picks(record, 400, PLANTED)
    use_version(record, add_version(record, {c: 0.25 for c in CRITICS}, source="hand"))
    res = fit_panel(record, FitConfig(), critics=CRITICS, rescore=False)
    assert max(abs(res.weights[c] - PLANTED[c]) for c in CRITICS) <= 0.05, res.weights
    assert all(v >= 0 for v in res.weights.values()) and abs(sum(res.weights.values()) - 1) < 1e-9
    assert res.agreement_after > res.agreement_before and res.made_current
    assert current_version(record)["id"] == res.version_id
    row = record.get("panel_versions", res.version_id)
    assert row["source"] == "fit"
    train, held = row["metrics"]["train_pick_ids"], row["metrics"]["heldout_pick_ids"]
    assert len(train) + len(held) == 400 and not set(train) & set(held) and 80 <= len(held) <= 120


def test_fit_that_does_not_help_is_recorded_but_not_made_current(record):
    plant_picks(record, 200, PLANTED, seed=1)
    planted = add_version(record, PLANTED, source="hand")
    use_version(record, planted)  # the current weights already are the author's rule
    res = fit_panel(record, FitConfig(), critics=CRITICS, rescore=False)
    assert not res.made_current and res.agreement_after <= res.agreement_before
    assert current_version(record)["id"] == planted
    assert record.get("panel_versions", res.version_id)["metrics"]["made_current"] is False
    assert "does not beat" in res.note


def test_fit_on_coin_flip_picks_does_not_become_current_over_good_weights(record):
    plant_picks(record, 120, PLANTED, beta=0.0, seed=2)  # beta 0: the author flips a coin
    current = add_version(record, {"style": 1.0}, source="hand")
    use_version(record, current)
    res = fit_panel(record, FitConfig(min_gain=0.05), critics=CRITICS, rescore=False)
    assert current_version(record)["id"] == (res.version_id if res.made_current else current)
    assert res.made_current == (res.agreement_after > res.agreement_before + 0.05)


def test_too_few_picks_says_how_many_are_needed(record):
    plant_picks(record, 7, PLANTED)
    with pytest.raises(FitError, match=r"at least 20 author picks.*has 7.*13 more"):
        fit_panel(record, critics=CRITICS, rescore=False)
    assert versions(record) == []


def test_picks_without_scores_are_skipped_and_counted(record):
    plant_picks(record, 30, PLANTED)
    a, b = record.add_drafts([dict(request="x", prompt="p", text="x", model="m"),
                              dict(request="x", prompt="p", text="y", model="m", candidate=1)])
    record.add_pick(a, b)
    res = fit_panel(record, critics=CRITICS, rescore=False)
    assert res.skipped_picks == 1 and res.train_picks + res.heldout_picks == 30


def test_pure_pieces():
    train, held = split_ids(range(1, 101), 0.25, seed=3)
    assert 10 <= len(held) <= 40 and not set(train) & set(held) and len(train) + len(held) == 100
    assert set(held) <= set(split_ids(range(1, 201), 0.25, seed=3)[1])  # a pick keeps its side as the record grows
    assert len(split_ids([1, 2], 0.01)[1]) == 1 and len(split_ids([1, 2], 0.99)[0]) == 1
    d = np.array([[0.3, -0.1], [0.2, 0.2], [-0.1, 0.4]])
    assert agreement(d, np.array([1.0, 0.0])) == pytest.approx(2 / 3)
    w, beta = fit_bradley_terry(np.zeros((10, 3)))
    assert beta == 0 and not w.any()  # nothing to learn: no weights, not NaN
    assert doctest.testmod(critics.fit).failed == 0
    assert doctest.testmod(critics.panel_versions).failed == 0


def test_switching_versions(record):
    v1 = add_version(record, {"style": 2, "lexical": 2}, source="fit")
    assert version_weights(record.get("panel_versions", v1)) == {"style": 0.5, "lexical": 0.5}
    use_version(record, v1)
    assert current_version(record)["id"] == v1 and current_weights(record) == {"style": 0.5, "lexical": 0.5}
    cfg = panel_config(record)
    assert cfg.critics == ["style", "lexical"] and cfg.weights == {"style": 0.5, "lexical": 0.5}
    # the panel built from the version names that same version when it records scores
    from critics.panel import Panel

    assert Panel(cfg).version(record) == v1
    use_version(record, None)
    assert current_version(record) is None
    with pytest.raises(PanelVersionError, match="no panel version 99"):
        use_version(record, 99)


def run_cli(workspace, *argv):
    """The critics fit/versions/use commands through the scriptorium parser, as a user runs them."""
    from ui.cli import main

    return main(["--workspace", str(workspace), "critics", *argv])


def test_cli_fit_versions_use(workspace, record, capsys):
    import json

    assert run_cli(workspace, "fit") == 2
    assert "at least 20 author picks" in capsys.readouterr().err
    plant_picks(record, 120, PLANTED, seed=4)
    assert run_cli(workspace, "fit", "--critics", ",".join(CRITICS), "--json") == 0
    res = json.loads(capsys.readouterr().out)
    assert res["made_current"] and res["agreement_after"] > res["agreement_before"]
    assert run_cli(workspace, "versions", "--json") == 0
    listed = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [v["version"] for v in listed if v["current"]] == [res["version_id"]]
    assert run_cli(workspace, "use", "hand") == 0 and current_version(record) is None
    assert run_cli(workspace, "use", str(res["version_id"])) == 0 and current_version(record)["id"] == res["version_id"]
    assert run_cli(workspace, "use", "77") == 2 and "no panel version 77" in capsys.readouterr().err
    assert run_cli(workspace, "versions") == 0
    assert "* " in capsys.readouterr().out


def test_current_version_drives_the_cotraining_judges(record):
    from training.evaluate import default_judges

    v = add_version(record, {"style": 0.1, "lexical": 0.2, "coherence": 0.6, "relevance": 0.1}, source="fit")
    assert default_judges(base=panel_config(record)).panel.config.weights == {}  # no version current: hand-set
    use_version(record, v)
    judges = default_judges(base=panel_config(record))
    assert judges.guard_name == "coherence" and judges.panel_names == ["style", "lexical", "relevance"]
    assert judges.panel.config.weights == pytest.approx({"style": 0.1, "lexical": 0.2, "relevance": 0.1})


def test_small_score_differences_are_not_drowned_by_the_penalty():
    """Critic scores of real drafts differ by hundredths; the fit must still find a hidden rule."""
    rng = np.random.default_rng(5)
    hidden = np.array([0.05, 0.15, 0.6, 0.2])
    d = rng.normal(size=(300, 4)) * np.array([0.02, 0.05, 0.03, 0.1])
    d *= np.sign(d @ hidden)[:, None]  # the author always prefers what the hidden rule prefers
    w, _ = fit_bradley_terry(d[:220])
    assert agreement(d[220:], w) >= 0.95 and np.abs(w - hidden).max() <= 0.1, w
