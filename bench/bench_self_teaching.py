"""Self-teaching on the built-in model: does ``critics fit`` recover a hidden author rule, and what
does replaying 3 rounds of lessons cost against the original 3 rounds?

    .venv/bin/python bench/bench_self_teaching.py                  # both parts (~15 min on 2 busy cores)
    .venv/bin/python bench/bench_self_teaching.py --part fit       # only the weight fit
    .venv/bin/python bench/bench_self_teaching.py --part replay    # only the replay cost

Fit: the built-in writer drafts K=4 stories for 50 prompts, the default panel scores them, and a
synthetic author picks, for 200 pairs of drafts of the same prompt, the draft a hidden rule
prefers (a weighted sum of the critics' scores with weights the fit is not told). ``fit_panel``
fits on the train picks; the table gives held-out agreement of the hand-set (equal) weights
(before) and of the fit (after), and how far the fitted weights are from the hidden ones.
Goal: >= 90% held-out agreement after the fit.

Replay: ``cotrain`` runs 3 rounds on the built-in writer (drafting, panel, pairs, DPO on the
4-bit base, held-out evaluation), timed; then ``replay`` carries those 3 rounds onto a copy of
the built-in model (a different lineage: the folder differs, so does the model id): SFT on the
chosen drafts, 3 DPO rounds on the same pairs, before/after evaluation, timed. The ratio is
replay time / original time, in total and for the training steps alone.

Prompts come from ../shared/data/prompts/writingprompts.jsonl when present, else a short list.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SCRIPTORIUM_CACHE", str(ROOT / ".cache" / "models"))

QUIET = lambda *a: None  # noqa: E731 - step progress that keeps the Trainer's log lines out of the output
HIDDEN = {"style": 0.05, "lexical": 0.15, "coherence": 0.6, "relevance": 0.2}
FALLBACK = [
    "A lighthouse keeper finds a door at the bottom of the sea.", "Write a story about the last bookshop on Earth.",
    "Two rival chefs are trapped in a snowed-in mountain inn.", "A child discovers that her grandmother's garden is alive.",
    "A robot applies for a job as a night watchman.", "The moon stops rising one night and nobody notices but you.",
    "A thief steals a painting that paints itself.", "An old sailor teaches a city kid to read the weather.",
]


def load_prompts(n: int, seed: int = 0) -> list[str]:
    path = ROOT.parent / "shared" / "data" / "prompts" / "writingprompts.jsonl"
    if path.is_file():
        rows = [json.loads(line)["prompt"] for line in path.read_text().splitlines() if line.strip()]
        rows = [r for r in rows if 5 <= len(r.split()) <= 40]
        random.Random(seed).shuffle(rows)
        return rows[:n]
    return (FALLBACK * (n // len(FALLBACK) + 1))[:n]


def bench_fit(args) -> list[str]:
    import numpy as np

    from critics.fit import FitConfig, fit_panel
    from critics.panel import Panel, PanelConfig, record_scores
    from critics.panel_versions import version_weights
    from record import Record
    from writer.cli import record_candidates
    from writer.draft import DraftConfig, draft
    from writer.models import load_writer

    ws = Path(tempfile.mkdtemp(prefix="bench-fit-"))
    rec = Record.open(ws / "record.sqlite")
    prompts = load_prompts(args.fit_prompts)
    writer = load_writer(progress=False)
    cfg = DraftConfig(k=4, max_new_tokens=args.fit_tokens, seed=1)
    t = time.perf_counter()
    groups = draft(writer, prompts, cfg)
    draft_s = time.perf_counter() - t
    panel = Panel(PanelConfig())
    ids = []
    t = time.perf_counter()
    for g in groups:
        gid = record_candidates(rec, writer, g, cfg)
        record_scores(rec, gid, panel.score([c.prompt for c in g], [c.text for c in g]))
        ids.append(gid)
    score_s = time.perf_counter() - t
    critics = list(HIDDEN)
    hidden = np.array([HIDDEN[c] for c in critics])
    pairs = [(a, b) for gid in ids for i, a in enumerate(gid) for b in gid[i + 1:]]
    random.Random(0).shuffle(pairs)
    picks = 0
    for a, b in pairs:
        sa = rec.scores(a)
        sb = rec.scores(b)
        ha = sum(HIDDEN[c] * sa[c]["score"] for c in critics)
        hb = sum(HIDDEN[c] * sb[c]["score"] for c in critics)
        if abs(ha - hb) < 1e-9:
            continue  # the rule cannot choose: no pick
        rec.add_pick(a, b, author="hidden-rule") if ha > hb else rec.add_pick(b, a, author="hidden-rule")
        picks += 1
        if picks == args.picks:
            break
    t = time.perf_counter()
    res = fit_panel(rec, FitConfig(), critics=critics)
    fit_s = time.perf_counter() - t
    fitted = version_weights(rec.get("panel_versions", res.version_id))
    err = max(abs(fitted[c] - HIDDEN[c]) for c in critics)
    lines = [
        f"Drafts: {sum(map(len, ids))} ({len(prompts)} prompts x 4, {args.fit_tokens} new tokens, built-in model, "
        f"{draft_s:.0f} s); panel scoring {score_s:.0f} s; synthetic author picks: {picks} "
        f"({res.train_picks} train, {res.heldout_picks} held out); fit {fit_s:.2f} s.",
        "",
        "| weights | held-out agreement |",
        "|---|---:|",
        f"| hand-set (equal), before | {res.agreement_before:.1%} |",
        f"| fitted (Bradley-Terry), after | {res.agreement_after:.1%} |",
        f"| hidden rule itself | {100:.1f}% |",
        "",
        "| critic | hidden weight | fitted weight |",
        "|---|---:|---:|",
        *[f"| {c} | {HIDDEN[c]:.3f} | {fitted[c]:.3f} |" for c in critics],
        "",
        f"Largest weight error: {err:.3f}. Made current: {res.made_current}. "
        f"Goal (>= 90% held-out agreement after the fit): {'met' if res.agreement_after >= 0.9 else 'NOT met'}.",
    ]
    shutil.rmtree(ws, ignore_errors=True)
    return lines


def link_copy(src: Path, dst: Path) -> Path:
    def link(a, b):
        try:
            os.link(a, b)
        except OSError:
            shutil.copy2(a, b)

    shutil.copytree(src, dst, copy_function=link)
    return dst


def bench_replay(args) -> list[str]:
    from record import Record
    from training.config import RoundConfig
    from training.cotrain import CotrainConfig, cotrain
    from training.pairs import PairRules
    from training.replay import ReplayConfig, replay
    from writer.draft import DraftConfig
    from writer.models import builtin_model_dir

    ws = Path(tempfile.mkdtemp(prefix="bench-replay-"))
    os.environ["SCRIPTORIUM_HOME"] = str(ws)
    rec = Record.open(ws / "record.sqlite")
    prompts = load_prompts(args.train_prompts + args.heldout, seed=1)
    say = (lambda m: print("  " + m, file=sys.stderr, flush=True)) if args.verbose else None
    round_cfg = RoundConfig(max_steps=args.steps, batch_size=2)
    t = time.perf_counter()
    original = cotrain(rec, prompts, CotrainConfig(rounds=3, heldout=args.heldout),
                       DraftConfig(k=args.k, max_new_tokens=args.tokens), round_cfg, PairRules(min_margin=0.02),
                       on_event=say, step_progress=QUIET)
    original_s = time.perf_counter() - t
    orig_train = sum(rec.get("rounds", r)["metrics"].get("train_runtime_s", 0.0) for r in original)
    pairs = sum(len(rec.round_pairs(r)) for r in original)

    target = link_copy(builtin_model_dir(Path(os.environ["SCRIPTORIUM_CACHE"]), progress=False), ws / "smollm2-copy")
    t = time.perf_counter()
    new = replay(rec, target, cfg=ReplayConfig(eval_max_new_tokens=args.tokens), on_event=say, step_progress=QUIET)
    replay_s = time.perf_counter() - t
    rows = [rec.get("rounds", r) for r in new]
    rep_train = sum(r["metrics"].get("train_runtime_s", 0.0) for r in rows)
    ev = rows[-1]["metrics"].get("eval") or {}
    last_orig = rec.get("rounds", original[-1])["metrics"].get("eval") or {}
    lines = [
        f"Original: `cotrain` 3 rounds, {args.train_prompts} training + {args.heldout} held-out prompts, K={args.k}, "
        f"{args.tokens} new tokens, {args.steps} DPO steps per round (batch 2, 4-bit base), {pairs} pairs in all. "
        f"Replay: onto a copy of the built-in model (new lineage), SFT 1 epoch on the chosen drafts "
        f"({rows[0]['metrics'].get('steps')} steps) + 3 DPO rounds with the original settings.",
        "",
        "| run | wall time (s) | training steps only (s) | x original (total) | x original (training) |",
        "|---|---:|---:|---:|---:|",
        f"| original 3 rounds (cotrain) | {original_s:.0f} | {orig_train:.0f} | 1.00 | 1.00 |",
        f"| replay of the 3 rounds | {replay_s:.0f} | {rep_train:.0f} | {replay_s / original_s:.2f} | "
        f"{rep_train / max(orig_train, 1e-9):.2f} |",
        "",
        f"Held-out panel reward: base {last_orig.get('base_reward', float('nan')):.3f}, after the original 3 rounds "
        f"{last_orig.get('reward', float('nan')):.3f}; replay target before {ev.get('base_reward', float('nan')):.3f}, "
        f"after {ev.get('reward', float('nan')):.3f} (win rate vs before {ev.get('win_rate_vs_base', float('nan')):.0%}).",
    ]
    shutil.rmtree(ws, ignore_errors=True)
    return lines


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--part", choices=["fit", "replay", "both"], default="both")
    p.add_argument("--picks", type=int, default=200, help="synthetic author picks (default 200)")
    p.add_argument("--fit-prompts", type=int, default=50, help="prompts drafted for the fit (default 50)")
    p.add_argument("--fit-tokens", type=int, default=96, help="new tokens per draft for the fit (default 96)")
    p.add_argument("--train-prompts", type=int, default=6, help="co-training prompts (default 6)")
    p.add_argument("--heldout", type=int, default=3, help="held-out prompts (default 3)")
    p.add_argument("-k", type=int, default=3, help="candidates per prompt in co-training (default 3)")
    p.add_argument("--tokens", type=int, default=64, help="new tokens per co-training draft (default 64)")
    p.add_argument("--steps", type=int, default=4, help="DPO steps per round (default 4)")
    p.add_argument("--verbose", action="store_true")
    args = p.parse_args()
    out = []
    if args.part in ("fit", "both"):
        out += ["### critics fit on synthetic-author picks", "", *bench_fit(args), ""]
    if args.part in ("replay", "both"):
        out += ["### replay cost", "", *bench_replay(args), ""]
    print("\n".join(out))


if __name__ == "__main__":
    main()
