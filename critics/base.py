"""What every critic is and returns.

A critic is small: a class with ``name``, ``higher_is_better`` and
``score(prompts, stories, outlines=None, batch=None) -> list[CriticScore]``, one score per story
in [0, 1] (higher is better, by a fixed mapping documented on the critic, so that scores from
different batches and days compare) and a one-line reason a writer can act on. A critic holds no
training logic. ``batch`` (a ``critics.batch.Batch``) carries the parsed stories and their
embeddings, so a panel reads and embeds each story once for all its critics.

    class Shouty(Critic):
        name = "shouty"
        def score_one(self, batch, i):
            share = sum(w.isupper() for w in batch.doc(i).words) / max(1, batch.doc(i).n_words)
            return CriticScore(1 - share, f"{share:.0%} of words in capitals")
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from record.errors import UserError


class CriticError(UserError):
    """A critic or panel asked for something it cannot do; the message says what to change."""


def clamp01(x: float) -> float:
    """Into [0, 1]; NaN and infinities become 0 (a score we cannot compute is never a reward)."""
    try:
        x = float(x)
    except (TypeError, ValueError):
        return 0.0
    if math.isnan(x):
        return 0.0
    return min(1.0, max(0.0, x))


def band(x: float, lo: float, hi: float, soft: float) -> float:
    """1 inside [lo, hi], decaying as exp(-distance / soft) outside it."""
    if x < lo:
        return math.exp(-(lo - x) / soft)
    if x > hi:
        return math.exp(-(x - hi) / soft)
    return 1.0


def sigmoid(x: float) -> float:
    """1 / (1 + e^-x), as 0.5 + 0.5 tanh(x / 2): no overflow for any float (NaN stays NaN).

    >>> sigmoid(0.0), round(sigmoid(2.0), 4), sigmoid(-1e6)
    (0.5, 0.8808, 0.0)
    """
    return 0.5 + 0.5 * math.tanh(0.5 * x)


def ramp(x: float, zero: float, one: float) -> float:
    """Linear from 0 at ``zero`` to 1 at ``one`` (either direction), clamped."""
    if one == zero:
        return 1.0 if x >= one else 0.0
    return clamp01((x - zero) / (one - zero))


@dataclass
class CriticScore:
    """One critic's verdict on one story: a score in [0, 1] (higher is better) and why."""

    score: float
    reason: str
    details: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self):
        raw = self.score
        self.score = clamp01(raw)
        if isinstance(raw, float) and math.isnan(raw):
            self.reason = f"{self.reason}; the measure was undefined (scored 0)".lstrip("; ")


class Critic:
    """Base class: override ``score_one`` (one story) or ``score`` (a whole batch at once)."""

    name = "critic"
    higher_is_better = True
    uses_embeddings = False
    # True for critics built on a language model that take the panel's ``reference`` writer
    # (fluency, order, judge), so the model already loaded for drafting is shared
    uses_reference = False
    description = ""
    # Raised whenever a change to the critic moves its scores: the panel version records it, so
    # scores made before and after the change never pass for the same measure.
    revision = 1

    def score(self, prompts: list[str], stories: list[str], outlines: list[str] | None = None,
              batch=None) -> list[CriticScore]:
        batch = self.batch_for(prompts, stories, outlines, batch)
        return [self.score_one(batch, i) for i in range(len(batch))]

    def score_one(self, batch, i: int) -> CriticScore:  # pragma: no cover - abstract
        raise NotImplementedError

    @staticmethod
    def batch_for(prompts, stories, outlines=None, batch=None):
        if batch is not None:
            return batch
        from critics.batch import Batch

        return Batch(prompts, stories, outlines)
