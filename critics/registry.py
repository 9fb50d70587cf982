"""The one registry of critics: a name -> a lazy ``"module:Class"`` string.

Nothing is imported until a critic is asked for, so listing critics (and ``scriptorium --help``)
stays instant.

    cls = critic_class("coherence")
    names()                          # ['style', 'lexical', ..., 'judge', 'reader']
"""

from __future__ import annotations

import importlib

from critics.base import CriticError

TRAINED = ("reader", "topic")  # critics whose weights `critics train` makes, each with its own versions in the record

CRITICS: dict[str, str] = {
    "style": "critics.style:StyleCritic",
    "lexical": "critics.lexical:LexicalCritic",
    "coherence": "critics.coherence:CoherenceCritic",
    "relevance": "critics.relevance:RelevanceCritic",
    "prompt_fit": "critics.relevance:PromptFitCritic",
    "fluency": "critics.fluency:FluencyCritic",
    "learned": "critics.learned:LearnedCritic",
    "judge": "critics.judge:JudgeCritic",
    "reader": "critics.reader:ReaderCritic",
    "topic": "critics.topic:TopicCritic",
    "order": "critics.order:OrderCritic",
}

# The default panel: the reader (trained on people's stories vs machines' and on planted damage)
# carries most of the weight; relevance keeps drafts on their prompt; style, lexical and coherence
# are cheap hand-set measures that count for less (BENCHMARKS.md, "Critic panel and calibration").
# fluency needs the writer model (slow on CPU), the learned critic needs author picks, the judge
# needs a capable instruct model.
DEFAULT_CRITICS = ["reader", "style", "lexical", "coherence", "relevance"]
# weight in the total of a critic the panel config gives no weight (others: 1)
DEFAULT_WEIGHTS = {"reader": 3.0, "relevance": 1.0, "style": 0.5, "lexical": 0.5, "coherence": 0.5}


def names() -> list[str]:
    return list(CRITICS)


def critic_class(name: str):
    """The critic class registered under ``name`` (imported now)."""
    try:
        target = CRITICS[name]
    except KeyError:
        raise CriticError(f"no critic named {name!r}; known critics: {', '.join(CRITICS)}") from None
    module, _, cls = target.partition(":")
    return getattr(importlib.import_module(module), cls)
