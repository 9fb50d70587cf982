"""The co-training loop: draft K -> score -> pairs -> DPO -> evaluate, round after round.

    scriptorium cotrain --prompts prompts.jsonl --rounds 3 -k 4 --max-new-tokens 96 --steps 20

    round_ids = cotrain(rec, prompts, CotrainConfig(rounds=3, heldout=16), DraftConfig(k=4), RoundConfig())

Each round the current writer (base + the current round's adapter) drafts K candidates for
every training prompt, the training panel scores them, pairs are built (author picks first)
and one DPO round trains the next adapter from the current one. Then the held-out prompts are
drafted with the new writer (same seeds as the base and the previous round) and judged:
panel reward, win rates, guards. Everything goes to the record; the report (Markdown + PNG)
is rewritten after every round. After a round taught with author picks, the learned critic is
retrained on the picks and its agreement with held-out picks is reported.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

from record.errors import UserError
from record.settings import check_settings
from training.config import RoundConfig
from training.pairs import PairRules


class CotrainError(UserError):
    """A co-training run that cannot go on as asked."""


@dataclass
class CotrainConfig:
    """The loop around the rounds."""

    rounds: int = field(default=1, metadata={"help": "DPO rounds to run"})
    heldout: float = field(default=0.2, metadata={"help": "held-out prompts: a fraction (< 1) or a count"})
    split_seed: int = field(default=0, metadata={"help": "seed of the train / held-out split"})
    eval_k: int = field(default=4, metadata={"help": "candidates per held-out prompt when evaluating"})
    precision: str = field(default="fp32", metadata={"help": "weights for drafting and evaluating"})
    train_precision: str = field(default="4bit", metadata={"help": "base weights while training (4bit: nf4 QLoRA)"})
    guard_critic: str | None = field(default=None, metadata={"help": "critic left out of the training panel, used as a guard"})
    invent: int = field(default=0, metadata={"help": "prompts the writer invents each round to top up the training pool "
                                                     "(training.exercises; never held out)"})
    instructions: str = field(default="", metadata={"help": "system message for drafting"})
    judges: list[str] = field(default_factory=list, metadata={
        "help": "outside judges of the held-out drafts, never in the training reward: critic names (e.g. judge) or "
                "reader weights files trained on other prompts (critics train --split val)"})

    def __post_init__(self):
        check_settings(self, CotrainError)  # types and finiteness first (record/settings.py)
        if not isinstance(self.rounds, int) or self.rounds < 1:
            raise CotrainError(f"rounds must be >= 1, got {self.rounds}")
        if self.heldout < 0:
            raise CotrainError(f"heldout must be >= 0 (a fraction or a count), got {self.heldout}")
        if self.eval_k < 1:
            raise CotrainError(f"eval_k must be >= 1, got {self.eval_k}")
        if not isinstance(self.invent, int) or self.invent < 0:
            raise CotrainError(f"invent must be a count >= 0, got {self.invent}")
        for name in ("precision", "train_precision"):
            if getattr(self, name) not in ("fp32", "bf16", "4bit"):
                raise CotrainError(f"{name} must be fp32, bf16 or 4bit, got {getattr(self, name)!r}")


def register_prompts(rec, prompts: list[str], split: str, source: str) -> dict[str, int]:
    """Prompt rows (reused when the same text and split exist), text -> prompt id."""
    ids = {}
    for p in prompts:
        row = rec.one("SELECT id FROM prompts WHERE text = ? AND split = ? ORDER BY id LIMIT 1", (p, split))
        ids[p] = row["id"] if row else rec.add_prompt(p, source=source, origin="cotrain", split=split)
    return ids


def heldout_texts(rec) -> set[str]:
    return {r["text"] for r in rec.query("SELECT text FROM prompts WHERE split = 'heldout'")}


def draft_and_score(rec, writer, judges, prompts: list[str], cfg, instructions: str, round_id, prompt_ids: dict[str, int],
                    progress=None) -> tuple[list[list[int]], list[list[Any]]]:
    """Draft K per prompt, record the drafts and their panel scores; returns draft ids and panel results per prompt."""
    from training.evaluate import record_panel_scores
    from writer.cli import record_candidates
    from writer.draft import draft

    cands = draft(writer, prompts, cfg, instructions, progress=progress)
    ids: list[list[int]] = []
    for group in cands:
        ids.append(record_candidates(rec, writer, group, cfg, instructions, round_id, prompt_id=prompt_ids[group[0].prompt]))
    flat = [c for g in cands for c in g]
    results = judges.rewards([c.prompt for c in flat], [c.text for c in flat])
    record_panel_scores(rec, [i for g in ids for i in g], results)
    out, k = [], 0
    for g in cands:
        out.append(results[k:k + len(g)])
        k += len(g)
    return ids, out


def eval_texts(rec, writer, judges, heldout: list[str], cfg, instructions, round_id, prompt_ids, base_writer):
    """Draft the held-out prompts with the writer as it is now, record and measure them."""
    from training.evaluate import measure

    ids, results = draft_and_score(rec, writer, judges, heldout, cfg, instructions, round_id, prompt_ids)
    texts = [rec.get("drafts", i)["text"] for g in ids for i in g]
    prompts = [p for p, g in zip(heldout, ids) for _ in g]
    metrics, _ = measure(judges, prompts, texts, base_writer=base_writer, instructions=instructions)
    metrics["draft_ids"] = [i for g in ids for i in g]
    return metrics


def retrain_learned_critic(rec, round_id: int, heldout_picks: float = 0.25) -> dict[str, Any] | None:
    """After a round with author picks: retrain the critics' learned critic on the picks and
    report its agreement with the held-out picks. None when the critics package has no
    learned critic to retrain."""
    try:
        from critics.learned import retrain_from_picks
    except ImportError:
        return None
    return retrain_from_picks(rec, heldout=heldout_picks)


def cotrain(rec, prompts: list[str], loop: CotrainConfig, draft_cfg, round_cfg: RoundConfig, rules: PairRules | None = None,
            model: str | None = None, judges=None, report_dir: str | Path | None = None,
            on_event: Callable[[str], None] | None = None, step_progress=None, source: str = "") -> list[int]:
    """Run ``loop.rounds`` co-training rounds; returns the new round ids (the report is in ``report_dir``)."""
    from record.workspace import cache_dir
    from training.evaluate import compare, default_judges, outside_judges, split_prompts
    from training.pairs import pairs_from_drafts
    from training.report import write_report
    from training.round import NoPairsError, run_round
    from writer.models import load_writer, resolve_model

    say = on_event or (lambda msg: None)
    workspace = Path(rec.path).parent
    cache = cache_dir(workspace)
    _, model_id = resolve_model(model, cache, progress=True)
    train, heldout = split_prompts(prompts, loop.heldout, loop.split_seed)
    known_heldout = heldout_texts(rec)
    leaked = [p for p in train if p in known_heldout]
    if leaked:  # an earlier run held these out: keep them out of training
        train = [p for p in train if p not in known_heldout]
        heldout = list(dict.fromkeys(heldout + leaked))
    if not train:
        raise CotrainError(f"no training prompts left ({len(heldout)} held out of {len(prompts)}); give more prompts "
                           "or a smaller --heldout")
    train_ids = register_prompts(rec, train, "train", source)
    held_ids = register_prompts(rec, heldout, "heldout", source)
    eval_cfg = replace(draft_cfg, k=loop.eval_k)
    report_dir = Path(report_dir) if report_dir else workspace / "reports" / "cotrain"
    say(f"{len(train)} training prompts, {len(heldout)} held out; report in {report_dir}")

    def writer_for(adapter: str | None):
        w = load_writer(model, precision=loop.precision, cache=cache, progress=False)
        name = w.load_adapter(adapter) if adapter else None
        return w, name

    done: list[int] = []
    base_metrics = prev_metrics = None
    for r in range(loop.rounds):
        current = rec.current_round(model_id)
        writer, _ = writer_for(current["adapter_path"] if current else None)
        if judges is None:  # the fluency critic reads a frozen base of its own
            from critics.panel import words_for_tokens
            from critics.panel_versions import panel_config

            # the current panel version (e.g. fitted to picks), told the length the drafts are asked for
            reference = writer_for(None)[0]
            judges = default_judges(reference=reference, guard_critic=loop.guard_critic,
                                    base=panel_config(rec, asked_words=words_for_tokens(draft_cfg.max_new_tokens)))
            judges.outside = outside_judges(loop.judges, judges.panel_names, reference, judges.panel)
        if heldout and base_metrics is None:
            say("evaluating the base model on the held-out prompts")
            writer.use_adapter(None)
            base_metrics = eval_texts(rec, writer, judges, heldout, eval_cfg, loop.instructions, None, held_ids, writer)
            if current is not None:
                writer.use_adapter(next(iter(writer.adapters)))
                say(f"evaluating the current round {current['id']} (the starting point)")
                prev_metrics = eval_texts(rec, writer, judges, heldout, eval_cfg, loop.instructions, current["id"],
                                          held_ids, writer)
        # fresh drafts every round: the seed moves with the round number
        cfg_r = replace(draft_cfg, seed=draft_cfg.seed + 1000 * (len(rec.rounds(model_id)) + 1))
        pool, invented = train, None
        if loop.invent:
            from training.exercises import top_up

            say(f"round {r + 1}/{loop.rounds}: the writer invents up to {loop.invent} new prompts")
            pool, invented = top_up(rec, writer, train, loop.invent, train_ids, current["id"] if current else None,
                                    seed=cfg_r.seed, say=say)
        say(f"round {r + 1}/{loop.rounds}: drafting {draft_cfg.k} x {len(pool)} training prompts")
        ids, _ = draft_and_score(rec, writer, judges, pool, cfg_r, loop.instructions, current["id"] if current else None,
                                 train_ids)
        flat = [i for g in ids for i in g]
        pair_ids = pairs_from_drafts(rec, flat, rules)
        # untrained author picks (from the studio) join the round: a pick outranks the critics
        pair_ids += [p["id"] for p in rec.pairs(untrained_only=True) if p["origin"] == "pick" and p["id"] not in pair_ids]
        if not pair_ids:
            raise NoPairsError(f"round {r + 1}: no draft beat another by the pair margin, so there is nothing to "
                               "teach; lower --min-margin, raise -k or use longer drafts")
        del writer
        say(f"round {r + 1}/{loop.rounds}: DPO on {len(pair_ids)} pairs")
        rid = run_round(rec, pair_ids, round_cfg, model=model, precision=loop.train_precision, progress=step_progress)
        done.append(rid)
        row = rec.get("rounds", rid)
        metrics = dict(row["metrics"])
        if invented is not None:
            from training.exercises import invented_pair_share

            invented["pairs"], invented["share_of_pairs"] = invented_pair_share(rec, pair_ids)
            metrics["invented"] = invented
        if heldout:
            writer, _ = writer_for(row["adapter_path"])
            say(f"round {r + 1}/{loop.rounds}: evaluating round {rid} on {len(heldout)} held-out prompts")
            cur = eval_texts(rec, writer, judges, heldout, eval_cfg, loop.instructions, rid, held_ids, writer)
            metrics["eval"] = compare(cur, prev_metrics, base_metrics)
            metrics["eval"]["draft_ids"] = cur["draft_ids"]
            prev_metrics = cur
            del writer
        if metrics.get("pairs_from_picks"):
            learned = retrain_learned_critic(rec, rid)
            if learned is not None:
                metrics["learned_critic"] = learned
        rec.update("rounds", rid, metrics=metrics)
        write_report(rec, done, report_dir)
        e = metrics.get("eval") or {}
        if e:
            outside = "".join(f"; judged by {n} (outside the reward): {o['win_rate_vs_base']:.0%} vs base, "
                              f"{o['win_rate_vs_previous']:.0%} vs previous" for n, o in (e.get("outside") or {}).items())
            say(f"round {rid}: reward {e['reward']:.3f} (base {e['base_reward']:.3f}), judged by the training panel: win "
                f"vs base {e['win_rate_vs_base']:.0%}, vs previous {e['win_rate_vs_previous']:.0%}" + outside
                + ("; GUARDS FLAGGED: " + "; ".join(e["guard_flags"]) if e["guard_flags"] else ""))
    return done
