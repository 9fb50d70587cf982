"""The panel: the chosen critics, weighted, with guards; the reward that teaches the writer.

    panel = Panel(PanelConfig(preset="ya"))                 # style, lexical, coherence, relevance
    results = panel.score(prompts, stories)                 # list[PanelResult]
    results[0].total, results[0].critics["style"].reason, results[0].guard
    best = best_of([r.total for r in results])              # best-of-K reranking
    record_scores(rec, draft_ids, results, panel.version(rec))

    trainer = GRPOTrainer(..., reward_funcs=panel.reward)   # a plain TRL reward callable

The total is the weighted mean of the critics' scores, then the guards, in this order:
- a story that strays from its prompt: with relevance on the panel and a prompt (or outline
  item) given, a relevance score under ``relevance_gate`` (0.3, about where the relevance
  critic's reason turns to "strays from the prompt") scales the total by
  sqrt(relevance / relevance_gate) (``gate_power`` 0.5), so a story that ignores its prompt
  cannot win on style; a story that touches its prompt keeps its whole total, so the writer is
  not pushed to restate it (at 0.75, the gate used to scale most of people's loosely tied stories
  and made the panel one prompt cosine). The square root, not the plain ratio (until 2026-12-03):
  half of people's 90-150-word crops sit under the gate, and the plain ratio cost them their pairs
  against the machines, which restate their prompts; chosen on the dev data's train prompts with
  a stand-in reader, judged once on val (BENCHMARKS.md, "A gentler relevance gate");
- a story shorter than the length that was asked for: with ``asked_words`` set (the length
  the drafts were asked for; ``words_for_tokens(max_new_tokens)`` at the call sites that draft)
  or a book's explicit ``words`` target, a story under the minimum of
  ``StyleTargets.length_range`` (half the asked length; the book's minimum) has its total scaled
  by sqrt(words / minimum) (``short_penalty``; words of repeated sentences count once). With no
  length asked for, length moves no total: length is not quality;
- a story with chat chatter around it ("Sure! Here is a story based on the prompt:", "I hope you
  enjoyed it!", "Title:" lines; ``critics.text.find_chatter``) has its total scaled by
  ``chatter_scale`` (0.7): the writer must tell the story, not talk to the user, and the chatter
  often restates the prompt, which no critic should pay for;
- a story under a critic's floor (``floors``: lexical by default, fluency when it is on the
  panel), or shorter than ``min_words``, gets its total capped at ``guard_cap``, whatever the
  other critics say, so degenerate text can never win on style. The cap is
  guard_cap * (0.9 + 0.1 * total), never above the total: two capped stories keep their
  order (a tie would teach nothing) and stay within a tenth of the cap.
``guard`` on the result says which of these applied.
Each story is parsed and embedded once per call (``critics.batch.Batch``) and every critic reads
that; stories are batched through the embedding model together.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from critics.base import CriticError, CriticScore, clamp01
from critics.presets import minimum_words
from critics.registry import CRITICS, DEFAULT_CRITICS, DEFAULT_WEIGHTS, critic_class
from record.settings import check_settings

CAP_SLACK = 0.1  # share of the guard cap that still follows the total, so capped stories do not tie

# PanelConfig fields a panel version records next to critics and weights: everything that moves a
# total (embed_dtype only changes rounding, so two machines share versions).
VERSIONED = ("floors", "guard_cap", "relevance_gate", "gate_power", "gate_critic", "short_penalty", "min_words", "preset", "style_targets",
             "max_sentences", "asked_words", "chatter_scale")
WORDS_PER_TOKEN = 0.75  # English prose in the built-in writer's tokenizer: 0.80 words per token on the dev stories


def words_for_tokens(max_new_tokens: int | None) -> int | None:
    """The length in words a draft of ``max_new_tokens`` new tokens was asked for, a little
    under what such a draft holds (0.80 words per token in SmolLM2's tokenizer), so a draft
    that used its tokens is never short.

    >>> words_for_tokens(96), words_for_tokens(256), words_for_tokens(None)
    (72, 192, None)
    """
    return round(WORDS_PER_TOKEN * int(max_new_tokens)) if max_new_tokens else None


@dataclass
class PanelConfig:
    """Which critics sit on the panel, how much each counts, and the floors that cap a reward."""

    critics: list[str] = field(default_factory=lambda: list(DEFAULT_CRITICS),
                               metadata={"help": f"critic names, from {', '.join(CRITICS)}"})
    weights: dict[str, float] = field(default_factory=dict,
                                      metadata={"help": "critic name -> weight in the total (default: "
                                                                      "critics.registry.DEFAULT_WEIGHTS, else 1)"})
    preset: str = field(default="general", metadata={"help": "style preset: general, childrens, ya, literary, thriller"})
    style_targets: dict[str, Any] = field(default_factory=dict,
                                          metadata={"help": "style target overrides over the preset (see critics.presets)"})
    floors: dict[str, float] = field(default_factory=lambda: {"lexical": 0.35, "fluency": 0.5},
                                     metadata={"help": "critic -> floor; a story under a floor gets its total capped"})
    guard_cap: float = field(default=0.2, metadata={"help": "the most a story under a floor can score"})
    relevance_gate: float = field(default=0.3, metadata={
        "help": "gate critic's score under which the total is scaled by (score / relevance_gate) ** gate_power (0: off)"})
    gate_power: float = field(default=0.5, metadata={
        "help": "how hard the gate bites: 1 scales the total in proportion to score / relevance_gate, 0.5 by its "
                "square root (a story that touches its prompt lightly loses less)"})
    gate_critic: str = field(default="relevance", metadata={
        "help": "the critic whose score gates the total (relevance; topic, the trained one; prompt_fit); one that is not on "
                "the panel gates nothing"})
    short_penalty: bool = field(default=True, metadata={
        "help": "scale the total of a story shorter than the length asked for (half of asked_words, or the book's "
                "words target) by sqrt(words / minimum)"})
    min_words: int = field(default=20, metadata={"help": "a story shorter than this is capped like one under a floor"})
    asked_words: int | None = field(default=None, metadata={
        "help": "the length in words the drafts were asked for (words_for_tokens(max_new_tokens)); None: no length "
                "preference beyond min_words"})
    chatter_scale: float = field(default=0.7, metadata={
        "help": "a story with chat chatter ('Sure! Here is a story...', 'I hope you enjoyed it!') has its total "
                "scaled by this (1: off)"})
    embed_dtype: str = field(default="auto", metadata={"help": "embedding weights: auto (bf16 where the CPU has it), fp32, bf16"})
    max_sentences: int = field(default=200, metadata={"help": "sentences per story embedded (long stories: the first N)"})

    def __post_init__(self):
        if isinstance(self.critics, str):
            self.critics = [c.strip() for c in self.critics.split(",") if c.strip()]
        check_settings(self, CriticError)  # types and finiteness first (record/settings.py)
        if not self.critics:
            raise CriticError("a panel needs at least one critic; known critics: " + ", ".join(CRITICS))
        for name in [*self.critics, *self.weights, *self.floors, self.gate_critic]:
            if name not in CRITICS:
                raise CriticError(f"no critic named {name!r}; known critics: {', '.join(CRITICS)}")
        if len(set(self.critics)) != len(self.critics):
            raise CriticError(f"critic listed twice in {self.critics}; list each once")
        for name, w in self.weights.items():
            if not isinstance(w, (int, float)) or math.isnan(w) or w < 0:
                raise CriticError(f"weight for {name!r} must be a number >= 0, got {w!r}")
        if sum(self.weight(c) for c in self.critics) <= 0:
            raise CriticError("the panel's weights add up to 0; give at least one critic a positive weight")
        for name, f in self.floors.items():
            if not isinstance(f, (int, float)) or not 0 <= f <= 1:
                raise CriticError(f"floor for {name!r} must be in [0, 1], got {f!r}")
        if not 0 <= self.guard_cap <= 1:
            raise CriticError(f"guard_cap must be in [0, 1], got {self.guard_cap}")
        if not 0 < self.gate_power <= 4:
            raise CriticError(f"gate_power must be in (0, 4] (1: in proportion, 0.5: the square root), got {self.gate_power!r}")
        if not isinstance(self.relevance_gate, (int, float)) or not 0 <= self.relevance_gate <= 1:
            raise CriticError(f"relevance_gate must be in [0, 1] (0 turns it off), got {self.relevance_gate!r}")
        if self.min_words < 0:
            raise CriticError(f"min_words must be >= 0, got {self.min_words}")
        if not isinstance(self.chatter_scale, (int, float)) or not 0 <= self.chatter_scale <= 1:
            raise CriticError(f"chatter_scale must be in [0, 1] (1 turns it off), got {self.chatter_scale!r}")
        if self.asked_words is not None:
            if isinstance(self.asked_words, bool) or not isinstance(self.asked_words, (int, float)) \
                    or not math.isfinite(self.asked_words) or self.asked_words < 1:
                raise CriticError(f"asked_words must be a number of words >= 1 (or None), got {self.asked_words!r}")
            self.asked_words = int(round(self.asked_words))
        if self.max_sentences < 3:
            raise CriticError(f"max_sentences must be >= 3, got {self.max_sentences}")
        from critics.presets import StyleTargets

        StyleTargets.resolve(self.preset, self.style_targets)  # fail now, not mid-batch

    def weight(self, name: str) -> float:
        return float(self.weights.get(name, DEFAULT_WEIGHTS.get(name, 1.0)))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def settings(self) -> dict[str, Any]:
        """The settings besides critics and weights that change a total: what a panel version
        records (``Panel.version``, ``critics.panel_versions``)."""
        return {k: getattr(self, k) for k in VERSIONED}

    @classmethod
    def for_book(cls, book: dict, **overrides) -> "PanelConfig":
        """A panel judging against a ``books`` row's style targets."""
        targets = dict(book.get("style_targets") or {})
        preset = targets.pop("preset", None) or overrides.pop("preset", "general")
        return cls(preset=preset, style_targets=targets, **overrides)

    @classmethod
    def from_yaml(cls, path, **overrides) -> "PanelConfig":
        import yaml

        try:
            data = yaml.safe_load(open(path, encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as e:
            raise CriticError(f"cannot read panel config {path}: {e}") from e
        if not isinstance(data, dict):
            raise CriticError(f"panel config {path} must be a mapping of PanelConfig fields")
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise CriticError(f"unknown panel setting(s) {', '.join(unknown)} in {path}; known: {', '.join(sorted(known))}")
        return cls(**{**data, **{k: v for k, v in overrides.items() if v is not None}})


@dataclass
class PanelResult:
    """The panel's verdict on one story."""

    total: float
    critics: dict[str, CriticScore]
    guard: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"panel": self.total, "guard": self.guard,
                "critics": {k: {"score": v.score, "reason": v.reason} for k, v in self.critics.items()}}


def best_of(totals: list[float]) -> int:
    """Index of the best total; ties go to the lowest index; NaN never wins.

    >>> best_of([0.2, 0.7, 0.7, float("nan")])
    1
    """
    if not totals:
        raise CriticError("best_of needs at least one score")
    best, best_value = 0, -math.inf
    for i, t in enumerate(totals):
        value = -math.inf if t is None or (isinstance(t, float) and math.isnan(t)) else float(t)
        if value > best_value:
            best, best_value = i, value
    return best


def _text(x: Any) -> str:
    """A prompt or completion as TRL passes it: a string, or chat messages (the last content)."""
    if isinstance(x, str):
        return x
    if isinstance(x, dict):
        return str(x.get("content", ""))
    if isinstance(x, (list, tuple)) and x:
        return _text(x[-1])
    return "" if x is None else str(x)


class Panel:
    """Scores stories with the configured critics; see the module docstring."""

    def __init__(self, config: PanelConfig | None = None, reference=None, record=None):
        self.config = config or PanelConfig()
        self.reference = reference
        self.notes: list[str] = []
        self.critics = {}
        for name in self.config.critics:
            critic = self._make(name, record)
            if critic is not None:
                self.critics[name] = critic
        if not self.critics:
            raise CriticError("no critic of the panel could be used: " + "; ".join(self.notes))
        self._embedder = None
        from critics.presets import StyleTargets

        self.targets = StyleTargets.resolve(self.config.preset, self.config.style_targets)
        # (minimum, maximum) words, or None: the short penalty fires only under a length someone asked for
        self.length = self.targets.length_range(self.config.asked_words)

    def _make(self, name: str, record):
        cls = critic_class(name)
        if name == "style":
            from critics.presets import StyleTargets

            return cls(StyleTargets.resolve(self.config.preset, self.config.style_targets), asked_words=self.config.asked_words)
        if cls.uses_reference:  # fluency, order, judge: the writer already loaded (the judge's, when built in)
            return cls(reference=self.reference)
        if name in ("reader", "topic"):
            return cls.current(record)  # the record's current trained version, else the shipped weights
        if name == "learned":
            from critics.learned import NoLearnedCritic

            try:
                return cls.latest(record)
            except NoLearnedCritic as e:
                self.notes.append(str(e))
                return None
        return cls()

    @property
    def embedder(self):
        if self._embedder is None:
            from critics.embed import get_embedder

            self._embedder = get_embedder(self.config.embed_dtype)
        return self._embedder

    def batch(self, prompts, stories, outlines=None):
        from critics.batch import Batch

        uses = any(getattr(c, "uses_embeddings", False) for c in self.critics.values())
        return Batch(prompts, stories, outlines, embedder=self.embedder if uses else None,
                     max_sentences=self.config.max_sentences, embed_dtype=self.config.embed_dtype)

    def score(self, prompts: list[str], stories: list[str], outlines: list[str] | None = None) -> list[PanelResult]:
        """One ``PanelResult`` per story, in order."""
        if isinstance(stories, str):
            stories = [stories]
        if prompts is None or isinstance(prompts, str):
            prompts = [prompts or ""] * len(stories)
        return self.score_batch(self.batch(prompts, stories, outlines))

    def critic_scores(self, batch) -> dict[str, list[CriticScore]]:
        """Each critic's scores for a prepared batch (the learned critic last: it reads the others)."""
        per_critic: dict[str, list[CriticScore]] = {}
        for name, critic in self.critics.items():
            if name == "learned":
                continue
            per_critic[name] = critic.score(batch.prompts, batch.stories, batch.outlines, batch=batch)
        if "learned" in self.critics:
            batch.extra["scores"] = per_critic
            per_critic["learned"] = self.critics["learned"].score(batch.prompts, batch.stories, batch.outlines, batch=batch)
        return per_critic

    def score_batch(self, batch) -> list[PanelResult]:
        per_critic = self.critic_scores(batch)
        return [self.combine(batch, i, {n: s[i] for n, s in per_critic.items()}) for i in range(len(batch))]

    def combine(self, batch, i: int, scores: dict[str, CriticScore]) -> PanelResult:
        weights = {n: self.config.weight(n) for n in scores}
        total = sum(weights[n] * s.score for n, s in scores.items()) / max(1e-9, sum(weights.values()))
        total = clamp01(total)
        notes = []
        gater, gate = scores.get(self.config.gate_critic), self.config.relevance_gate
        if gater is not None and gate > 0 and gater.details.get("judged", True) and gater.score < gate:
            factor = (gater.score / gate) ** self.config.gate_power
            total *= factor
            notes.append(f"{self.config.gate_critic} {gater.score:.2f} under {gate:g}: total scaled by {factor:.2f}")
        n_words = batch.doc(i).n_words
        length = batch.doc(i).unique_words  # repeated sentences add no length
        if self.config.short_penalty and self.length is not None and 0 < length < self.length[0]:
            minimum = self.length[0]
            factor = math.sqrt(length / minimum)
            total *= factor
            notes.append(f"{length} words, under {minimum_words(minimum, self.config.asked_words)}: "
                         f"total scaled by {factor:.2f}")
        chatter = batch.doc(i).chatter
        if chatter and self.config.chatter_scale < 1:
            total *= self.config.chatter_scale
            notes.append(f"chat chatter {chatter[0].describe()}: total scaled by {self.config.chatter_scale:g}")
        if not batch.doc(i).words:
            return PanelResult(total=0.0, critics=scores, guard="empty story: no reward")
        under = [(n, s.score, self.config.floors[n]) for n, s in scores.items()
                 if n in self.config.floors and s.score < self.config.floors[n]]
        if n_words < self.config.min_words:
            under.append(("length", float(n_words), self.config.min_words))
        if under:
            cap = self.config.guard_cap
            total = min(total, cap * (1 - CAP_SLACK + CAP_SLACK * total))
            notes.insert(0, "; ".join(f"only {s:.0f} words (minimum {f:g})" if n == "length" else
                                      f"{n} {s:.2f} under its floor {f:g}" for n, s, f in under)
                         + f": reward capped at {cap:g}")
        return PanelResult(total=clamp01(total), critics=scores, guard="; ".join(notes) or None)

    def reward(self, prompts, completions, **kwargs) -> list[float]:
        """TRL reward callable: one float in [0, 1] per completion.

        Prompts and completions may be strings or chat messages (the last message's content
        counts). Extra keyword arguments (``completion_ids``, dataset columns) are ignored,
        except ``outline`` (a column of outline items) when present.
        """
        stories = [_text(c) for c in completions]
        prompt_texts = [_text(p) for p in prompts] if prompts is not None else [""] * len(stories)
        outlines = kwargs.get("outline")
        if outlines is not None and len(outlines) != len(stories):
            outlines = None
        return [r.total for r in self.score(prompt_texts, stories, outlines)]

    def version(self, rec) -> int:
        """The ``panel_versions`` id for this configuration, recording it the first time."""
        weights = {"critics": list(self.critics), "weights": {n: self.config.weight(n) for n in self.critics},
                   **self.config.settings()}
        learned = self.critics.get("learned")
        if learned is not None:
            weights["learned_version"] = learned.version
        reader = self.critics.get("reader")
        if reader is not None:  # new weights are a new measure: a new panel version
            weights["reader_weights"] = reader.identity()
        topic = self.critics.get("topic")
        if topic is not None:
            weights["topic_weights"] = topic.identity()
        weights["revisions"] = revisions(self.critics)
        key = json.dumps(weights, sort_keys=True)
        with rec.transaction():
            for row in rec.query("SELECT id, weights FROM panel_versions ORDER BY id DESC"):
                if json.dumps(row["weights"], sort_keys=True) == key:
                    return row["id"]
            return rec.insert("panel_versions", weights=weights, source="hand", metrics={}, created_at=time.time())


def revisions(names) -> dict[str, int]:
    """{critic: code revision} for these critic names: a panel version records them, so a critic
    whose measure changed makes a new version and old and new scores never pass for the same."""
    return {n: getattr(critic_class(n), "revision", 1) for n in names}


def record_scores(rec, draft_ids: list[int], results: list[PanelResult], panel_version: int | None = None) -> None:
    """Write each critic's score and reason, plus a ``panel`` row with the total, for each draft,
    in one transaction (all drafts or none)."""
    if len(draft_ids) != len(results):
        raise CriticError(f"got {len(results)} panel results for {len(draft_ids)} drafts; pass one result per draft")
    with rec.transaction():
        for draft_id, result in zip(draft_ids, results):
            scores = {name: (cs.score, cs.reason) for name, cs in result.critics.items()}
            summary = result.guard or "weighted mean of " + ", ".join(result.critics)
            scores["panel"] = (result.total, summary)
            rec.add_scores(draft_id, scores, panel_version=panel_version)
