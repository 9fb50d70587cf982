"""The one registry of critics: a name -> a lazy ``"module:Class"`` string.

Nothing is imported until a critic is asked for, so listing critics (and ``scriptorium --help``)
stays instant.

    cls = critic_class("coherence")
    names()                          # ['style', 'lexical', 'coherence', 'relevance', 'fluency', 'learned']
"""

from __future__ import annotations

import importlib

from critics.base import CriticError

CRITICS: dict[str, str] = {
    "style": "critics.style:StyleCritic",
    "lexical": "critics.lexical:LexicalCritic",
    "coherence": "critics.coherence:CoherenceCritic",
    "relevance": "critics.relevance:RelevanceCritic",
    "fluency": "critics.fluency:FluencyCritic",
    "learned": "critics.learned:LearnedCritic",
    "judge": "critics.judge:JudgeCritic",
}

# The fast default panel: fluency needs the writer model (slow on CPU), the learned critic needs data.
DEFAULT_CRITICS = ["style", "lexical", "coherence", "relevance"]


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
