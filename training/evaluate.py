"""Evaluating a round: did the writer get better, and is it honest about how?

    train, heldout = split_prompts(prompts, heldout=16, seed=0)     # held-out prompts: never trained on
    m = evaluate_texts(judges, heldout, texts, base_writer=writer)    # reward, length, distinct-2, guard critic, fluency
    m["win_rate_vs_base"] = win_rate(m["rewards"], base["rewards"])
    flags = guard_flags(m, previous=prev, base=base)                   # reward hacking?

The reward is the training panel's total. The guards are not part of that reward: mean length,
distinct-2 (lexical variety), a critic left out of the training panel, and fluency (mean
negative log-likelihood per token) under the frozen base model. A round whose reward rose while
a guard collapsed is flagged as reward hacking in its report.

Win rates compare the same held-out prompts drafted with the same seeds; a tie counts half.
``win_rate_vs_base`` is judged by the training panel itself, so it shows what the writer learned
to please, not that it improved; the outside judges (``outside_judges``: critics never in the
training reward) give the win rates that can show that, under ``outside``.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from typing import Any, Sequence

# Thresholds for the reward-hacking flag (relative changes unless said otherwise).
GUARD_THRESHOLDS = {
    "distinct2_drop": 0.15,       # distinct-2 falls by more than 15% ...
    "length_ratio": 1.6,          # mean length grows past 1.6x the base's ...
    "guard_critic_drop": 0.10,    # the left-out critic falls by more than 0.10 (absolute, scores in [0, 1]) ...
    "fluency_rise": 0.25,         # NLL per token under the base rises by more than 25% ...
}                                 # ... while the reward rose.


# ---- pure pieces -----------------------------------------------------------------------------


def split_prompts(prompts: Sequence[str], heldout: int | float = 0.2, seed: int = 0) -> tuple[list[str], list[str]]:
    """Deterministic train / held-out split by a hash of each prompt (order kept, duplicates
    removed). ``heldout`` is a count or a fraction. The same prompt lands on the same side for
    the same seed however the list grows, so a held-out prompt never leaks into training.

    >>> split_prompts(["a", "b", "c", "d"], heldout=1)[1]
    ['d']
    """
    unique = list(dict.fromkeys(p.strip() for p in prompts if p and p.strip()))
    n = round(heldout * len(unique)) if isinstance(heldout, float) and heldout < 1 else int(heldout)
    n = max(0, min(n, len(unique) - 1)) if unique else 0
    rank = sorted(unique, key=lambda p: hashlib.sha256(f"{seed}:{p}".encode()).hexdigest())
    held = set(rank[:n])
    return [p for p in unique if p not in held], [p for p in unique if p in held]


def distinct_n(texts: Sequence[str], n: int = 2) -> float:
    """Unique word n-grams / all word n-grams over the texts (0 when there are none).

    >>> distinct_n(["a b a b"], 2)
    0.6666666666666666
    """
    grams = [tuple(ws[i:i + n]) for ws in (t.lower().split() for t in texts) for i in range(len(ws) - n + 1)]
    return len(set(grams)) / len(grams) if grams else 0.0


def win_rate(ours: Sequence[float], theirs: Sequence[float], tie: float = 1e-9) -> float:
    """Share of prompts where ours scored higher; a tie counts half.

    >>> win_rate([0.5, 0.9, 0.1], [0.4, 0.9, 0.3])
    0.5
    """
    if len(ours) != len(theirs) or not ours:
        raise ValueError("win_rate needs two equally long, non-empty score lists")
    return sum(1.0 if a - b > tie else 0.5 if abs(a - b) <= tie else 0.0 for a, b in zip(ours, theirs)) / len(ours)


def mean(xs: Sequence[float]) -> float:
    return float(sum(xs) / len(xs)) if xs else 0.0


def guard_flags(current: dict[str, Any], previous: dict[str, Any] | None, base: dict[str, Any],
                thresholds: dict[str, float] | None = None) -> list[str]:
    """Reasons to suspect reward hacking: the reward rose (against the previous round, or the
    base for round 1) while a guard collapsed. Each reason names the guard and the numbers.

    >>> base = {"reward": 0.5, "distinct2": 0.8, "mean_words": 50}
    >>> guard_flags({"reward": 0.7, "distinct2": 0.4, "mean_words": 50}, None, base)
    ['distinct-2 fell from 0.800 to 0.400 (-50%) while the reward rose from 0.500 to 0.700']
    """
    t = {**GUARD_THRESHOLDS, **(thresholds or {})}
    ref = previous or base
    if current["reward"] <= ref["reward"]:
        return []
    rose = f"while the reward rose from {ref['reward']:.3f} to {current['reward']:.3f}"
    flags = []
    if ref.get("distinct2") and current.get("distinct2") is not None:
        drop = 1 - current["distinct2"] / ref["distinct2"]
        if drop > t["distinct2_drop"]:
            flags.append(f"distinct-2 fell from {ref['distinct2']:.3f} to {current['distinct2']:.3f} (-{drop:.0%}) {rose}")
    if base.get("mean_words") and current.get("mean_words") is not None:
        ratio = current["mean_words"] / base["mean_words"]
        if ratio > t["length_ratio"]:
            flags.append(f"mean length grew to {ratio:.2f}x the base's ({current['mean_words']:.0f} vs "
                         f"{base['mean_words']:.0f} words) {rose}")
    if ref.get("guard_critic") is not None and current.get("guard_critic") is not None:
        fall = ref["guard_critic"] - current["guard_critic"]
        if fall > t["guard_critic_drop"]:
            flags.append(f"the held-out critic fell from {ref['guard_critic']:.3f} to {current['guard_critic']:.3f} {rose}")
    if ref.get("fluency_nll") and current.get("fluency_nll") is not None:
        rise = current["fluency_nll"] / ref["fluency_nll"] - 1
        if rise > t["fluency_rise"]:
            flags.append(f"fluency under the base fell (NLL/token {ref['fluency_nll']:.3f} -> "
                         f"{current['fluency_nll']:.3f}, +{rise:.0%}) {rose}")
    return flags


# ---- judges ------------------------------------------------------------------------------------


@dataclass
class Judges:
    """The training panel (its total is the reward) and the guard critic left out of it.

    ``panel`` and ``guard`` have ``score(prompts, stories) -> list[result]`` where a result has
    ``.total`` (and, from a real panel, ``.critics``); ``guard`` may be None."""

    panel: Any
    guard: Any = None
    guard_name: str | None = None
    panel_names: list[str] = field(default_factory=list)
    outside: dict[str, Any] = field(default_factory=dict)  # name -> critic: judges never in the training reward

    def rewards(self, prompts: list[str], stories: list[str]) -> list[Any]:
        return self.panel.score(prompts, stories)

    def outside_scores(self, prompts: list[str], stories: list[str]) -> dict[str, list[float]]:
        return {name: [float(c.score) for c in critic.score(prompts, stories)] for name, critic in self.outside.items()}

    def guard_scores(self, prompts: list[str], stories: list[str]) -> list[float] | None:
        if self.guard is None:
            return None
        # the critic's own score, not a panel total (which floors and length penalties reshape)
        return [float(r.critics[self.guard_name].score) if self.guard_name in (getattr(r, "critics", None) or {})
                else float(r.total) for r in self.guard.score(prompts, stories)]


def default_judges(reference=None, guard_critic: str | None = None, base=None) -> Judges:
    """The critics' panel minus one critic, which becomes the guard: by default coherence when
    the panel has it (else its last critic). Coherence is the guard rather than a training
    signal because on short drafts (4-5 sentences) its flow measure is noise the writer cannot
    learn, and it does not track people's coherence ratings; relevance, which tracks people's
    relevance ratings best, is what a draft can learn (BENCHMARKS.md, the loop runs D-H). ``base``: the ``PanelConfig`` to start from (default ``PanelConfig()``;
    co-training passes the record's current panel version, e.g. one fitted to author picks)."""
    from critics.panel import Panel, PanelConfig

    base = base or PanelConfig()
    names = list(base.critics)
    if len(names) < 2:
        return Judges(Panel(base, reference=reference), None, None, names)
    guard_critic = guard_critic or ("coherence" if "coherence" in names else names[-1])
    if guard_critic not in names:
        from training.round import TrainingError

        raise TrainingError(f"guard critic {guard_critic!r} is not in the panel ({', '.join(names)}); pick one of those")
    kept = [n for n in names if n != guard_critic]
    weights = {k: v for k, v in (getattr(base, "weights", None) or {}).items() if k != guard_critic}
    if weights and not any(weights.get(n, 0) > 0 for n in kept):
        weights = {}  # the guard held all the weight: the others count equally
    same = base.settings()  # every setting that moves a total (floors, guard cap, relevance gate, ...)
    panel = Panel(PanelConfig(critics=kept, weights=weights, **same), reference=reference)
    guard = Panel(PanelConfig(critics=[guard_critic], weights={guard_critic: 1.0}, **same), reference=reference)
    return Judges(panel, guard, guard_critic, kept)


def outside_judges(specs: Sequence[str], training_critics: Sequence[str], reference=None,
                   training_panel=None) -> dict[str, Any]:
    """Critics that judge the rounds but are never part of the training reward: registry names
    (e.g. ``judge``, the LLM judge), or reader weights files (``.safetensors``: a reader trained on
    other prompts than the training panel's, ``scriptorium critics train --split val``). A name
    that is on the training panel is refused: a win rate judged by the reward's own critic
    cannot show that the writer improved; so is a reader file with the training panel's own weights."""
    from pathlib import Path

    from critics.registry import CRITICS, critic_class
    from training.round import TrainingError

    out: dict[str, Any] = {}
    for spec in specs:
        spec = str(spec).strip()
        if not spec:
            continue
        if spec.endswith(".safetensors") or Path(spec).is_file():
            from critics.reader import ReaderCritic, ReaderModel

            ReaderModel.read_meta(spec)  # a clear error now, not after the first round
            judge = ReaderCritic(path=spec)
            own = getattr(training_panel, "critics", {}).get("reader")
            if own is not None and own.identity() == judge.identity():
                raise TrainingError(f"outside judge {spec} holds the training panel's own reader weights; train a "
                                    "second reader on other prompts (`scriptorium critics train --split val`)")
            out[f"reader@{Path(spec).stem}"] = judge
        elif spec in CRITICS:
            if spec in training_critics:
                raise TrainingError(f"outside judge {spec!r} is in the training panel ({', '.join(training_critics)}); "
                                    "an outside judge must not be part of the reward: pick another critic, or a reader "
                                    "weights file trained on other prompts (`scriptorium critics train --split val`)")
            cls = critic_class(spec)
            out[spec] = cls(reference=reference) if cls.uses_reference else cls()
        else:
            raise TrainingError(f"outside judge {spec!r} is neither a critic ({', '.join(CRITICS)}) nor a reader "
                                "weights file (.safetensors)")
    return out


def record_panel_scores(rec, draft_ids: list[int], results: list[Any]) -> None:
    """Each critic's score and the panel total, via the critics' ``record_scores`` when present."""
    try:
        from critics.panel import record_scores
    except ImportError:
        record_scores = None
    if record_scores is not None and all(hasattr(r, "critics") for r in results):
        record_scores(rec, draft_ids, results)
        return
    with rec.transaction():
        for d, r in zip(draft_ids, results):
            scores = {name: (cs.score, cs.reason) for name, cs in (getattr(r, "critics", None) or {}).items()}
            scores["panel"] = (float(r.total), "")
            rec.add_scores(d, scores)


# ---- measuring texts ---------------------------------------------------------------------------


def fluency_nll(writer, prompts: list[str], texts: list[str], instructions: str = "") -> float:
    """Mean negative log-likelihood per token of the texts under the bare base model (adapters
    off), each given its prompt as the writer saw it."""
    import torch

    from writer.draft import chat_text

    before = writer.active_adapter
    writer.use_adapter(None)
    total, count = 0.0, 0
    try:
        with torch.inference_mode():
            for p, t in zip(prompts, texts):
                ctx = writer.tokenizer(chat_text(writer.tokenizer, p, instructions), add_special_tokens=False)["input_ids"]
                ids = writer.tokenizer(t, add_special_tokens=False)["input_ids"]
                if not ids:
                    continue
                seq = torch.tensor([ctx + ids], device=writer.device)
                logits = writer.model(input_ids=seq).logits[0, len(ctx) - 1:-1].float()
                nll = torch.nn.functional.cross_entropy(logits, seq[0, len(ctx):], reduction="sum")
                total += float(nll)
                count += len(ids)
    finally:
        writer.use_adapter(before)
    return total / count if count else float("nan")


def measure(judges: Judges, prompts: list[str], texts: list[str], base_writer=None, instructions: str = "") -> tuple[dict[str, Any], list[Any]]:
    """Reward and guards for one set of texts; returns (metrics, panel results)."""
    results = judges.rewards(prompts, texts)
    rewards = [float(r.total) for r in results]
    guard = judges.guard_scores(prompts, texts)
    m: dict[str, Any] = {
        "rewards": rewards,
        "reward": mean(rewards),
        "mean_words": mean([len(t.split()) for t in texts]),
        "distinct2": distinct_n(texts, 2),
        "guard_critic": mean(guard) if guard is not None else None,
        "guard_critic_name": judges.guard_name,
    }
    outside = judges.outside_scores(prompts, texts)
    if outside:
        m["outside"] = {name: {"scores": xs, "mean": mean(xs)} for name, xs in outside.items()}
    if base_writer is not None:
        nll = fluency_nll(base_writer, prompts, texts, instructions)
        m["fluency_nll"] = None if math.isnan(nll) else nll
    return m, results


def compare(current: dict[str, Any], previous: dict[str, Any] | None, base: dict[str, Any],
            thresholds: dict[str, float] | None = None) -> dict[str, Any]:
    """Win rates against the previous round and the base, and the guard flags."""
    out = {k: v for k, v in current.items() if k != "rewards"}
    out["win_rate_vs_base"] = win_rate(current["rewards"], base["rewards"])
    out["win_rate_vs_previous"] = win_rate(current["rewards"], previous["rewards"]) if previous else out["win_rate_vs_base"]
    out["base_reward"] = base["reward"]
    out["base"] = {k: base.get(k) for k in ("reward", "mean_words", "distinct2", "guard_critic", "fluency_nll")}
    outside = {}
    for name, cur in (current.get("outside") or {}).items():
        b = (base.get("outside") or {}).get(name)
        prev = (previous or {}).get("outside", {}).get(name) if previous else None
        if b is None:
            continue
        outside[name] = {"mean": cur["mean"], "base_mean": b["mean"],
                         "win_rate_vs_base": win_rate(cur["scores"], b["scores"]),
                         "win_rate_vs_previous": win_rate(cur["scores"], prev["scores"]) if prev
                         else win_rate(cur["scores"], b["scores"])}
    out["outside"] = outside
    flags = guard_flags(current, previous, base, thresholds)
    out["guard_flags"] = flags
    out["reward_hacking"] = bool(flags)
    return out
