"""``scriptorium prompts invent | list`` and ``scriptorium replay``: the writer's own exercises,
and lessons moved to a new model.

    scriptorium prompts invent -n 20 --like seeds.jsonl      # the writer proposes prompts; filtered, recorded
    scriptorium prompts list --origin invented --json
    scriptorium replay --to ./models/qwen2-0.5b --sft-steps 40

Light on purpose: torch, transformers and trl load inside the commands.
"""

from __future__ import annotations

import json
import sys


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def run_invent(args) -> int:
    from record import open_record
    from training.exercises import InventConfig, invent_prompts, load_seed_file
    from writer.cli import writer_from_args

    cfg = InventConfig(max_new_tokens=args.max_new_tokens, temperature=args.temperature, seed=args.seed,
                       near_duplicate=args.near_duplicate, min_relevance=args.min_relevance)
    seeds = load_seed_file(args.like) if args.like else []
    rec = open_record(args.workspace)
    if not seeds:  # in the spirit of the record's own (non-invented, non-held-out) prompts, when it has some
        seeds = [r["text"] for r in rec.query("SELECT DISTINCT text FROM prompts WHERE origin != 'invented' "
                                              "AND COALESCE(split, '') != 'heldout' ORDER BY id DESC LIMIT 50")]
    writer, round_id = writer_from_args(args, rec)
    res = invent_prompts(rec, writer, args.n, seeds=seeds, cfg=cfg, source=str(args.like or "invented"),
                         round_id=round_id, progress=_say)
    if args.json:
        for pid, text in zip(res.prompt_ids, res.texts):
            print(json.dumps({"prompt_id": pid, "prompt": text, "origin": "invented"}))
        print(json.dumps({"counts": res.counts, "candidates": res.candidates, "batch": res.batch}))
    else:
        for pid, text in zip(res.prompt_ids, res.texts):
            print(f"{pid}: {text}")
        print(res.summary())
    return 0


def run_list(args) -> int:
    from record import open_record

    rec = open_record(args.workspace)
    where, params = [], []
    if args.origin:
        where.append("origin = ?")
        params.append(args.origin)
    sql = "SELECT id, text, origin, source, split FROM prompts" + (f" WHERE {' AND '.join(where)}" if where else "")
    for r in rec.query(sql + " ORDER BY id", tuple(params)):
        print(json.dumps(r) if args.json else f"{r['id']}\t{r['origin']}\t{r['split'] or '-'}\t{r['text']}")
    return 0


def run_replay(args) -> int:
    from record import open_record
    from training.replay import ReplayConfig, replay

    cfg = ReplayConfig(sft_epochs=args.sft_epochs, sft_max_steps=args.sft_steps, dpo_max_steps=args.steps,
                       sft_learning_rate=args.sft_learning_rate, precision=args.precision, max_length=args.max_length,
                       eval_max_new_tokens=args.eval_max_new_tokens)
    rec = open_record(args.workspace)

    def steps(step, total, logs):
        loss = logs.get("loss")
        print(f"  step {step}/{total}" + (f" loss {loss:.4f}" if isinstance(loss, (int, float)) else ""),
              file=sys.stderr, flush=True)

    ids = replay(rec, args.to, source=args.source, cfg=cfg, on_event=_say, step_progress=steps,
                 evaluate=not args.no_eval)
    for rid in ids:
        row = rec.get("rounds", rid)
        if args.json:
            print(json.dumps({"round_id": rid, "lineage": row["lineage"], "parent": row["parent_id"],
                              "replayed_from": row["replayed_from"], "adapter": row["adapter_path"],
                              "kind": row["config"].get("kind", "dpo"), "eval": row["metrics"].get("eval")}))
        else:
            print(f"round {rid} ({row['config'].get('kind', 'dpo')}): {row['adapter_path']}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("prompts", help="the writer's own exercises: invent and list prompts",
                       description="Prompts in the record. `prompts invent` has the writer propose new story prompts, "
                                   "filters them (length, duplicates and near-duplicates, relevance, a lexical floor) "
                                   "and records the kept ones with origin 'invented'.")
    psub = p.add_subparsers(dest="prompts_command", metavar="ACTION")
    q = psub.add_parser("invent", help="the writer proposes new story prompts; the filtered ones are recorded")
    q.add_argument("-n", type=int, default=10, help="prompts wanted (default 10)")
    q.add_argument("--like", metavar="FILE", help="seed prompts (text, one per line, or JSONL) whose spirit to follow "
                                                  "(default: the record's own prompts, if any)")
    q.add_argument("--model", help="local Hugging Face causal-LM folder (default: built-in SmolLM2-135M-Instruct)")
    q.add_argument("--adapter", help="LoRA adapter folder, or 'none' (default: the current round's)")
    q.add_argument("--precision", choices=["fp32", "bf16", "4bit"], default="fp32", help="weights (default fp32)")
    q.add_argument("--max-new-tokens", type=int, default=64, help="tokens per proposed prompt (default 64)")
    q.add_argument("--temperature", type=float, default=1.0, help="sampling temperature (default 1.0)")
    q.add_argument("--near-duplicate", type=float, default=0.9, help="cosine similarity counted as a near-duplicate (default 0.9)")
    q.add_argument("--min-relevance", type=float, default=0.15, help="lowest similarity to the seeds (default 0.15)")
    q.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    q.add_argument("--json", action="store_true", help="JSONL: one object per kept prompt, then the filter counts")
    q.set_defaults(run=run_invent)
    q = psub.add_parser("list", help="list the record's prompts")
    q.add_argument("--origin", help="only prompts of this origin (invented, file, cotrain, ...)")
    q.add_argument("--json", action="store_true", help="one JSON object per prompt")
    q.set_defaults(run=run_list)

    p = sub.add_parser("replay", help="carry what the writer learned onto another base model",
                       description="Replay a lineage's lessons onto another causal LM: SFT (LoRA) on the chosen drafts "
                                   "of all non-vetoed pairs, then one DPO round per original round on the same pairs in "
                                   "order. The result is a new lineage whose first round names where it came from; the "
                                   "target is evaluated before and after on the held-out prompts.")
    p.add_argument("--to", required=True, metavar="MODEL_DIR", help="local Hugging Face causal-LM folder to teach")
    p.add_argument("--from", dest="source", metavar="LINEAGE",
                   help="lineage to replay: a model folder or lineage name (default: the built-in writer's)")
    p.add_argument("--sft-steps", type=int, default=-1, help="cap on SFT steps (default: one epoch)")
    p.add_argument("--sft-epochs", type=float, default=1.0, help="SFT passes over the chosen drafts (default 1)")
    p.add_argument("--sft-learning-rate", type=float, default=2e-4, help="SFT learning rate (default 2e-4)")
    p.add_argument("--steps", type=int, help="cap on each DPO round's steps (default: the original round's setting)")
    p.add_argument("--precision", choices=["auto", "4bit", "bf16", "fp32"], default="auto",
                   help="target base while training (default auto: 4bit where the model allows)")
    p.add_argument("--max-length", type=int, default=512, help="tokens per prompt+story in SFT (default 512)")
    p.add_argument("--eval-max-new-tokens", type=int, default=96, help="tokens per held-out evaluation draft (default 96)")
    p.add_argument("--no-eval", action="store_true", help="skip the before/after evaluation")
    p.add_argument("--json", action="store_true", help="one JSON object per new round")
    p.set_defaults(run=run_replay)
