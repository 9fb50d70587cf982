"""The topic critic on a tiny encoder built in the test: trained by the reader's trainer on
other-prompt pairs only, kept apart from the reader's versions, and used as the panel's gate."""

import math

import pytest

from critics.base import CriticScore
from critics.reader_train import ReaderTrainError, current_version, train_reader
from critics.topic import TopicCritic
from tests.critics.test_reader import HUMAN, MACHINE, _cfg, _story, dev_folder, tiny_encoder  # noqa: F401 (fixtures)


def test_topic_training_is_its_own_critic(tiny_encoder, dev_folder, tmp_path, workspace, record, capsys):
    cfg = _cfg(tiny_encoder, dev_folder, tmp_path, critic="topic", kinds=["other_prompt"], rivals=6,
               out=str(tmp_path / "topic.safetensors"))
    vid = train_reader(record, tmp_path / "ws", cfg, progress=False)
    assert current_version(record) is None  # the reader's current version is untouched
    row = current_version(record, "topic")
    assert row["id"] == vid and row["name"] == "topic"
    assert set(row["meta"]["data"]["pairs"]) == {"other_prompt"}
    assert (tmp_path / "topic.md").read_text().startswith("# The topic critic's weights")
    critic = TopicCritic.current(record)
    assert critic.version == vid
    bad = ["", "Word", "😀" * 50, "A\x00B\x00 story.", _story(HUMAN, 2)]
    out = critic.score(["Prompt 1: a keeper finds a door in the sea (1)"] * len(bad), bad)
    assert all(0 <= s.score <= 1 and not math.isnan(s.score) and s.reason for s in out)
    unjudged = critic.score([""], [_story(MACHINE, 1)])[0]
    assert unjudged.score == 0.5 and unjudged.details["judged"] is False

    from ui.cli import main  # the versions, listed and chosen per critic from the CLI

    cli = lambda *argv: main(["--workspace", str(workspace), "critics", *argv])  # noqa: E731
    capsys.readouterr()
    assert cli("models", "--critic", "topic") == 0
    listed = capsys.readouterr().out
    assert f"* v{vid}" in listed and "topic.safetensors" in listed
    assert cli("models") == 0 and f"v{vid}" not in capsys.readouterr().out  # the reader's list
    assert cli("use-model", str(vid)) == 2  # a topic version is not a reader version
    assert "holds topic weights" in capsys.readouterr().err and current_version(record) is None
    assert cli("use-model", "shipped", "--critic", "topic") == 0 and current_version(record, "topic") is None
    assert cli("use-model", str(vid), "--critic", "topic") == 0 and current_version(record, "topic")["id"] == vid


def test_topic_needs_the_dev_data_and_known_kinds(tiny_encoder, tmp_path):
    from critics.reader_train import ReaderTrainConfig

    with pytest.raises(ReaderTrainError, match="pass --data"):
        ReaderTrainConfig(critic="topic")
    with pytest.raises(ReaderTrainError, match="unknown pair kind"):
        _cfg(tiny_encoder, tmp_path, tmp_path, kinds=["gossip"])
    with pytest.raises(ReaderTrainError, match="critic must be one of"):
        _cfg(tiny_encoder, tmp_path, tmp_path, critic="style")


def test_missing_topic_weights_name_the_topic_rebuild_command(tmp_path):
    from critics.reader import ReaderFileError

    with pytest.raises(ReaderFileError, match=r"nowhere\.safetensors.*topic\.yaml"):
        TopicCritic(path=tmp_path / "nowhere.safetensors").model


def test_the_gate_critic_scales_the_total_under_its_gate():
    from critics.base import CriticError
    from critics.panel import Panel, PanelConfig

    with pytest.raises(CriticError, match="no critic named 'topik'"):
        PanelConfig(gate_critic="topik")

    panel = Panel(PanelConfig(critics=["style", "relevance"], gate_critic="topic", relevance_gate=0.5))
    batch = panel.batch(["p"], ["The tide went out. Mara walked on the stones."])
    scores = {"style": CriticScore(0.8, "ok"), "relevance": CriticScore(0.1, "strays"), "topic": CriticScore(0.25, "off")}
    result = panel.combine(batch, 0, scores)
    assert f"topic 0.25 under 0.5: total scaled by {0.5 ** panel.config.gate_power:.2f}" in result.guard
    on_topic = panel.combine(batch, 0, {**scores, "topic": CriticScore(0.9, "on")})
    assert on_topic.guard is None or "topic" not in on_topic.guard  # relevance 0.1 gates nothing now
