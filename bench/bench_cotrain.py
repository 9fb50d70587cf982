"""The co-training loop on CPU with the built-in writer and the default critic panel: per round,
the held-out panel reward, win rates (vs the base and the previous round) and the guards.

    .venv/bin/python bench/bench_cotrain.py                          # 3 rounds x 32 prompts x K=4, 96 tokens, 16 held out
    .venv/bin/python bench/bench_cotrain.py --rounds 1 --train 4 --heldout 2 --k 2 --max-new-tokens 32 --steps 2

Prompts are the first ``--train + --heldout`` prompts of the shared WritingPrompts file, after
skipping ``--offset`` of them (read in place, never copied). The training panel is the default panel minus the guard critic
(coherence by default), which is only measured. Everything runs in a fresh workspace (kept, with
its report, under ``--out``). The baseline is the base model itself, judged in the same run
on the same held-out prompts with the same seeds. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SCRIPTORIUM_CACHE", str(ROOT / ".cache" / "models"))
SHARED_PROMPTS = ROOT.parent / "shared" / "data" / "prompts" / "writingprompts.jsonl"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--train", type=int, default=32, help="training prompts")
    p.add_argument("--heldout", type=int, default=16, help="held-out prompts")
    p.add_argument("--eval-k", type=int, default=None, help="drafts per held-out prompt (default: CotrainConfig's, 4)")
    p.add_argument("--k", type=int, default=4)
    p.add_argument("--max-new-tokens", type=int, default=96)
    # round settings: None takes RoundConfig's defaults, the recipe the CLI and the studio use too
    p.add_argument("--steps", type=int, default=None, help="cap on DPO steps per round (default: RoundConfig's)")
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--beta", type=float, default=None)
    p.add_argument("--learning-rate", type=float, default=None)
    p.add_argument("--loss-type", default=None)
    p.add_argument("--sft-weight", type=float, default=None, help="NLL term on the chosen draft (RPO)")
    p.add_argument("--lora-r", type=int, default=None)
    p.add_argument("--judge", action="append", default=[], metavar="CRITIC|FILE",
                   help="outside judge, never in the training reward (a critic name, or a reader weights file "
                        "trained on other prompts); repeatable")
    p.add_argument("--min-margin", type=float, default=0.02)
    p.add_argument("--pair-mode", default="all")
    p.add_argument("--guard-critic", default=None,
                   help="critic left out of training and only measured (default: coherence)")
    p.add_argument("--precision", default="fp32", help="drafting/evaluation weights")
    p.add_argument("--train-precision", default="4bit")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--offset", type=int, default=0,
                   help="skip this many prompts of the shared file first (a fresh set of prompts for a confirmation run)")
    p.add_argument("--out", default=None, help="workspace folder to keep (default: a temp folder)")
    args = p.parse_args(argv)
    if args.offset < 0:
        p.error(f"--offset must be >= 0 (prompts to skip), got {args.offset}")

    from batch.inputs import load_prompts
    from record import open_record
    from training.config import RoundConfig
    from training.cotrain import CotrainConfig, cotrain
    from training.pairs import PairRules
    from training.report import report_rows
    from writer.draft import DraftConfig

    if not SHARED_PROMPTS.is_file():
        print(f"the shared prompts file {SHARED_PROMPTS} is absent; this benchmark needs it", file=sys.stderr)
        return 2
    prompts = [i.prompt for i in load_prompts(SHARED_PROMPTS, limit=args.offset + args.train + args.heldout)][args.offset:]
    ws = Path(args.out or tempfile.mkdtemp(prefix="bench-cotrain-"))
    os.environ["SCRIPTORIUM_HOME"] = str(ws)
    rec = open_record(ws)
    loop = CotrainConfig(rounds=args.rounds, heldout=args.heldout, precision=args.precision,
                         train_precision=args.train_precision, guard_critic=args.guard_critic, judges=args.judge,
                         **({"eval_k": args.eval_k} if args.eval_k else {}))
    draft_cfg = DraftConfig(k=args.k, max_new_tokens=args.max_new_tokens, seed=args.seed)
    given = {k: v for k, v in dict(max_steps=args.steps, batch_size=args.batch_size, beta=args.beta,
                                   learning_rate=args.learning_rate, loss_type=args.loss_type,
                                   sft_weight=args.sft_weight, lora_r=args.lora_r).items() if v is not None}
    if args.lora_r:
        given["lora_alpha"] = 2 * args.lora_r
    round_cfg = RoundConfig(seed=args.seed, **given)
    round_cfg.save_steps = max(round_cfg.max_steps, 1)
    args.steps, args.batch_size, args.beta = round_cfg.max_steps, round_cfg.batch_size, round_cfg.beta
    args.learning_rate, args.loss_type, args.sft_weight, args.lora_r = (round_cfg.learning_rate, round_cfg.loss_type,
                                                                        round_cfg.sft_weight, round_cfg.lora_r)
    args.eval_k = loop.eval_k
    rules = PairRules(min_margin=args.min_margin, mode=args.pair_mode)
    t0 = time.time()
    stamps = []

    def say(msg):
        stamps.append((time.time() - t0, msg))
        print(f"[{time.time() - t0:7.0f}s] {msg}", file=sys.stderr, flush=True)

    ids = cotrain(rec, prompts, loop, draft_cfg, round_cfg, rules, on_event=say, report_dir=ws / "report",
                  step_progress=lambda *a: None)  # no Trainer log lines in the table's output
    rows = report_rows(rec, ids)
    print(f"\nworkspace {ws}; {len(prompts) - args.heldout} training prompts x K={args.k}, {args.max_new_tokens} new "
          f"tokens, {args.heldout} held out x {args.eval_k} drafts; DPO: {args.steps} steps/round, batch {args.batch_size}, beta {args.beta}, "
          f"lr {args.learning_rate}, {args.loss_type}{f' + {args.sft_weight} x NLL on chosen' if args.sft_weight else ''}, LoRA r={args.lora_r}, pairs {args.pair_mode} margin "
          f">= {args.min_margin}; base {args.train_precision} in training, {args.precision} drafting; "
          f"total {time.time() - t0:.0f} s\n")
    base = rows[0]["base_reward"] if rows else None
    print(f"base model held-out panel reward: {base:.3f}\n" if base is not None else "")
    print("Judged by the training panel itself (it shows what the writer learned to please, not that it improved):\n")
    print("| round | pairs | steps | panel reward | win vs base | win vs previous | mean words | distinct-2 | "
          f"guard critic ({rows[0]['guard_critic_name'] if rows else '-'}) | NLL/token under base | flagged |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    if rows:
        b = rows[0]["base"]
        print(f"| base | - | - | {b['reward']:.3f} | - | - | {b['mean_words']:.1f} | {b['distinct2']:.3f} | "
              f"{b['guard_critic']:.3f} | {b['fluency_nll']:.3f} | - |")
    for r in rows:
        print(f"| {r['round']} | {r['pairs']} | {r['steps']} | {r['reward']:.3f} | {r['win_rate_vs_base']:.0%} | "
              f"{r['win_rate_vs_previous']:.0%} | {r['mean_words']:.1f} | {r['distinct2']:.3f} | {r['guard_critic']:.3f} | "
              f"{r['fluency_nll']:.3f} | {'; '.join(r['guard_flags']) or 'no'} |")
    judges = list(dict.fromkeys(n for r in rows for n in r.get("outside") or {}))
    if judges:
        print("\nWin rates by the outside judges (never in the training reward):\n")
        print("| round | " + " | ".join(f"{n}: mean (base) | win vs base | win vs previous" for n in judges) + " |")
        print("|---|" + "---|---|---|" * len(judges))
        for r in rows:
            cells = [f"{r['outside'][n]['mean']:.3f} ({r['outside'][n]['base_mean']:.3f}) | "
                     f"{r['outside'][n]['win_rate_vs_base']:.0%} | {r['outside'][n]['win_rate_vs_previous']:.0%}"
                     if n in r["outside"] else "- | - | -" for n in judges]
            print(f"| {r['round']} | " + " | ".join(cells) + " |")
    (ws / "bench_cotrain.json").write_text(json.dumps({"args": vars(args), "rows": rows, "events": stamps}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
