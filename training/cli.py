"""``scriptorium pairs | train | cotrain | rounds``: lessons, DPO rounds and their history.

    scriptorium pairs build --min-margin 0.02          # scored drafts -> preference pairs
    scriptorium pairs list --json ; scriptorium pairs veto 12 --reason "teaches cruelty"
    scriptorium pairs export pairs.jsonl                # TRL conversational preference format
    scriptorium train --steps 20 --beta 0.1             # one DPO round on the untrained pairs
    scriptorium cotrain --prompts prompts.jsonl --rounds 3 -k 4 --max-new-tokens 96 --steps 20
    scriptorium rounds --json ; scriptorium rounds show 3 ; scriptorium rounds rollback 2

Several GPUs: launch the same command with accelerate (or a DeepSpeed config through it); the
trainer shards the batches and only the main process writes the record and the adapter:

    accelerate launch --num_processes 4 -m ui.cli train --steps 200

Without GPUs (to try it), ask for torchrun's processes by name; they train on the CPU:

    accelerate launch --multi_gpu --num_processes 2 -m ui.cli train --steps 20

Light on purpose: torch, transformers, trl and peft load inside the commands.
"""

from __future__ import annotations

import argparse
import json
import sys

ROUND_FLAGS = [
    # (flag, RoundConfig field, type, help)
    ("--beta", "beta", float, "DPO beta: how far the writer may move from its reference"),
    ("--loss-type", "loss_type", str, "DPO loss (sigmoid, ipo, hinge, robust, ...)"),
    ("--sft-weight", "sft_weight", float, "weight of an NLL term on the chosen draft (RPO; 0: plain DPO)"),
    ("--learning-rate", "learning_rate", float, "learning rate of the LoRA weights"),
    ("--epochs", "epochs", float, "passes over the round's pairs"),
    ("--steps", "max_steps", int, "cap on DPO steps per round (a tiny run: --steps 2)"),
    ("--lora-r", "lora_r", int, "LoRA rank"),
    ("--lora-targets", "lora_targets", str, "modules that get LoRA, space separated (or all-linear)"),
    ("--max-length", "max_length", int, "tokens per prompt+story in training"),
    ("--batch-size", "batch_size", int, "pairs per step"),
    ("--grad-accum", "grad_accum", int, "gradient accumulation steps"),
    ("--save-steps", "save_steps", int, "checkpoint every N steps (a killed round resumes from there)"),
    ("--report-to", "report_to", str, "none, tensorboard or trackio"),
]


def add_round_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("training round (defaults: RoundConfig; --config YAML, flags override it)")
    g.add_argument("--config", metavar="YAML", help="flat YAML file of RoundConfig settings")
    for flag, _, kind, text in ROUND_FLAGS:
        g.add_argument(flag, type=kind, default=None, help=text)


def round_config_from_args(args, seed: int | None = None):
    from training.config import RoundConfig

    overrides = {field: getattr(args, flag[2:].replace("-", "_")) for flag, field, _, _ in ROUND_FLAGS}
    if seed is not None:
        overrides["seed"] = seed
    return RoundConfig.from_yaml(args.config, **overrides)


def add_pair_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("pairs")
    g.add_argument("--min-margin", type=float, default=0.02, help="smallest panel-score gap for a critic pair (default 0.02)")
    g.add_argument("--pair-mode", choices=["best_worst", "all"], default="all",
                   help="best_worst: one pair per prompt; all: every pair above the margin")
    g.add_argument("--long-ratio", type=float, default=1.5, help="chosen this many times longer counts as rambling (default 1.5)")
    g.add_argument("--long-margin", type=float, default=0.15, help="the margin a much longer chosen draft needs (default 0.15)")


def pair_rules_from_args(args):
    from training.pairs import PairRules

    return PairRules(min_margin=args.min_margin, mode=args.pair_mode, long_ratio=args.long_ratio, long_margin=args.long_margin)


class StepBar:
    """A tqdm bar fed by run_round's progress(step, total, logs)."""

    def __init__(self, desc: str):
        self.desc, self.bar = desc, None

    def __call__(self, step, total, logs):
        from tqdm.auto import tqdm

        if self.bar is None or self.bar.total != total:
            self.close()
            self.bar = tqdm(total=total, desc=self.desc, unit="step", file=sys.stderr)
        self.bar.n = step
        self.bar.set_postfix(loss=f"{logs.get('loss', float('nan')):.4f}",
                             margin=f"{logs.get('rewards/margins', float('nan')):.3f}", refresh=True)

    def close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _lineage(args, rec) -> str:
    from record.workspace import cache_dir, workspace_dir
    from writer.models import resolve_model

    return resolve_model(args.model, cache_dir(workspace_dir(args.workspace)), progress=True)[1]


# ---- pairs ----------------------------------------------------------------------------------------


def run_pairs(args) -> int:
    from record import open_record
    from training.pairs import pairs_from_drafts, write_pairs_jsonl

    rec = open_record(args.workspace, readonly=args.action in ("list", "export"))
    if args.action == "build":
        rules = pair_rules_from_args(args)
        draft_ids = [r["id"] for r in rec.query("SELECT DISTINCT draft_id AS id FROM scores WHERE critic = 'panel' ORDER BY draft_id")]
        if not draft_ids:
            from training.round import NoPairsError

            raise NoPairsError("no drafts with panel scores in the record; draft with `scriptorium draft` and score "
                               "with `scriptorium score` first")
        before = rec.one("SELECT COUNT(*) AS n FROM pairs")["n"]
        ids = pairs_from_drafts(rec, draft_ids, rules)
        new = rec.one("SELECT COUNT(*) AS n FROM pairs")["n"] - before
        print(f"{len(ids)} pair(s) from {len(draft_ids)} scored drafts ({new} new); "
              f"{len(rec.pairs(untrained_only=True))} untrained pair(s) wait for `scriptorium train`")
        return 0
    if args.action == "list":
        rows = rec.pairs(include_vetoed=True, untrained_only=args.untrained)
        for r in rows:
            if args.json:
                print(json.dumps({k: r[k] for k in ("id", "prompt", "chosen_id", "rejected_id", "origin", "margin",
                                                    "vetoed", "veto_reason", "chosen", "rejected")}))
            else:
                margin = "-" if r["margin"] is None else f"{r['margin']:+.3f}"
                veto = f"  VETOED: {r['veto_reason'] or ''}" if r["vetoed"] else ""
                print(f"{r['id']:>5}  {r['origin']:<6} {margin:>7}  {r['chosen_id']} > {r['rejected_id']}  "
                      f"{r['prompt'][:60]!r}{veto}")
        if not rows and not args.json:
            print("no pairs yet; build them with `scriptorium pairs build`")
        return 0
    if args.action == "export":
        if not args.target:
            raise _usage("pairs export needs a file: scriptorium pairs export pairs.jsonl")
        rows = rec.pairs(untrained_only=args.untrained)
        path = write_pairs_jsonl(rows, args.target)
        print(f"{len(rows)} pair(s) written to {path} (TRL conversational preference format; vetoed pairs left out)")
        return 0
    # veto / unveto
    pair_id = _id(args.target, "pair")
    rec.get("pairs", pair_id)
    rec.veto_pair(pair_id, args.reason or "", vetoed=args.action == "veto")
    print(f"pair {pair_id} {'vetoed: it will never be trained on' if args.action == 'veto' else 'unvetoed'}")
    return 0


def _usage(message: str):
    from record.errors import UserError

    return UserError(message)


def _id(value, what: str) -> int:
    if value is None or not str(value).isdigit():
        raise _usage(f"expected a {what} id (a number), got {value!r}")
    return int(value)


# ---- train ----------------------------------------------------------------------------------------


def run_train(args) -> int:
    from record import open_record
    from training.round import run_round

    cfg = round_config_from_args(args, seed=args.seed)  # validate before anything slow
    pair_ids = [_id(p, "pair") for p in args.pairs.replace(",", " ").split()] if args.pairs else None
    rec = open_record(args.workspace)
    bar = StepBar("DPO")
    try:
        rid = run_round(rec, pair_ids, cfg, model=args.model, precision=args.precision, progress=bar)
    finally:
        bar.close()
    from accelerate import PartialState

    if not PartialState().is_main_process:  # under `accelerate launch` the main process reports the round
        return 0
    row = rec.get("rounds", rid)
    if args.json:
        print(json.dumps(round_json(rec, row)))
    else:
        m = row["metrics"]
        print(f"round {rid} is current (parent {row['parent_id'] or 'base'}): {m['pairs']} pairs, {m['steps']} steps, "
              f"loss {m.get('loss_last', float('nan')):.4f}, reward margin {m.get('rewards_margins_last', float('nan')):.3f}; "
              f"adapter {row['adapter_path']}")
        if m.get("dropped_too_long"):
            print(f"{m['dropped_too_long']} pair(s) dropped: their prompt fills --max-length {cfg.max_length}")
    return 0


# ---- cotrain --------------------------------------------------------------------------------------


def run_cotrain(args) -> int:
    from batch.inputs import read_prompts
    from record import open_record
    from training.cotrain import CotrainConfig, cotrain
    from writer.cli import draft_config_from_args

    draft_cfg = draft_config_from_args(args)
    round_cfg = round_config_from_args(args, seed=args.seed)
    rules = pair_rules_from_args(args)
    loop = CotrainConfig(rounds=args.rounds, heldout=args.heldout, eval_k=args.eval_k, precision=args.precision,
                         train_precision=args.train_precision, guard_critic=args.guard_critic,
                         instructions=args.instructions, invent=args.invent, judges=args.judge or [])
    prompts = read_prompts(args.prompts, args.limit, flag="--prompts")
    if len(prompts) < 2:
        raise _usage(f"{args.prompts} holds {len(prompts)} prompt(s); co-training needs at least 2 (some are held out)")
    rec = open_record(args.workspace)
    from tqdm.auto import tqdm

    bar = tqdm(total=args.rounds, desc="co-training rounds", unit="round", file=sys.stderr)
    steps = StepBar("DPO")

    def say(msg):
        steps.close()
        bar.write(msg, file=sys.stderr)
        if msg.startswith("round ") and ": reward" in msg:
            bar.update(1)

    try:
        ids = cotrain(rec, prompts, loop, draft_cfg, round_cfg, rules, model=args.model, report_dir=args.report,
                      on_event=say, step_progress=steps, source=str(args.prompts))
    finally:
        steps.close()
        bar.close()
    for rid in ids:
        print(json.dumps(round_json(rec, rec.get("rounds", rid))) if args.json else
              f"round {rid}: {rec.get('rounds', rid)['adapter_path']}")
    from pathlib import Path

    from record.workspace import workspace_dir

    report = Path(args.report) if args.report else workspace_dir(args.workspace) / "reports" / "cotrain"
    if not args.json:
        print(f"report: {report / 'report.md'}")
    return 0


# ---- rounds ---------------------------------------------------------------------------------------


def round_json(rec, row: dict) -> dict:
    current = rec.current_round(row["lineage"])
    return {"round_id": row["id"], "parent": row["parent_id"], "adapter": row["adapter_path"],
            "current": bool(current and current["id"] == row["id"]), "status": row["status"], "lineage": row["lineage"],
            "pairs": [p["id"] for p in rec.round_pairs(row["id"])], "config": row["config"], "metrics": row["metrics"],
            "created_at": row["created_at"], "finished_at": row["finished_at"]}


def run_rounds(args) -> int:
    from record import open_record

    rec = open_record(args.workspace, readonly=args.action in ("list", "show"))
    if args.action == "list":
        rows = rec.rounds()
        for row in rows:
            if args.json:
                print(json.dumps(round_json(rec, row)))
            else:
                j = round_json(rec, row)
                m, e = row["metrics"] or {}, (row["metrics"] or {}).get("eval") or {}
                win = f", win vs base {e['win_rate_vs_base']:.0%}" if "win_rate_vs_base" in e else ""
                flag = ", GUARDS FLAGGED" if e.get("reward_hacking") else ""
                print(f"{'*' if j['current'] else ' '} round {row['id']:>3}  {row['status']:<8} parent "
                      f"{row['parent_id'] or 'base':<5} pairs {len(j['pairs']):>4}  loss {m.get('loss_last', float('nan')):.4f}"
                      f"{win}{flag}  {row['lineage']}")
        if not rows and not args.json:
            print("no rounds yet; train one with `scriptorium train` or `scriptorium cotrain`")
        return 0
    if args.action == "show":
        row = rec.get("rounds", _id(args.target, "round"))
        j = round_json(rec, row)
        j["lineage_chain"] = [r["id"] for r in rec.round_lineage(row["id"])]
        print(json.dumps(j, indent=2))
        return 0
    if args.action == "veto":
        pair_id = _id(args.target, "pair")
        rec.get("pairs", pair_id)
        rec.veto_pair(pair_id, args.reason or "")
        print(f"pair {pair_id} vetoed: it will never be trained on")
        return 0
    # rollback
    if args.target in ("base", "none"):
        lineage = _lineage(args, rec)
        rec.set_current_round(lineage, None)
        print(f"the bare base model is current for {lineage}")
        return 0
    row = rec.get("rounds", _id(args.target, "round"))
    from writer.models import check_adapter_dir

    check_adapter_dir(__import__("pathlib").Path(row["adapter_path"] or "."))
    rec.set_current_round(row["lineage"], row["id"])
    print(f"round {row['id']} is current again for {row['lineage']}; drafts use its adapter")
    return 0


# ---- registration ---------------------------------------------------------------------------------


def register(sub) -> None:
    from writer.cli import add_draft_flags

    p = sub.add_parser("pairs", help="build, list, export or veto preference pairs",
                       description="Preference pairs: build them from scored drafts (author picks first), list, export "
                                   "as TRL conversational JSONL, or veto one so it is never trained on.")
    p.add_argument("action", nargs="?", default="build", choices=["build", "list", "export", "veto", "unveto"])
    p.add_argument("target", nargs="?", help="export: the JSONL file; veto/unveto: the pair id")
    p.add_argument("--reason", help="why a pair is vetoed (kept in the record)")
    p.add_argument("--untrained", action="store_true", help="list/export only pairs no finished round used")
    p.add_argument("--json", action="store_true", help="list as JSONL")
    add_pair_flags(p)
    p.set_defaults(run=run_pairs)

    p = sub.add_parser("train", help="one DPO round on the untrained pairs (LoRA on the 4-bit base)",
                       description="Train one DPO round (TRL DPOTrainer, LoRA on the nf4 base) from the current round "
                                   "of the model's lineage, record it and make it current. Re-running a killed round "
                                   "resumes it from its last checkpoint.")
    p.add_argument("--pairs", help="pair ids to train on (comma separated; default: every untrained, unvetoed pair)")
    p.add_argument("--model", help="local Hugging Face causal-LM folder (default: built-in SmolLM2-135M-Instruct)")
    p.add_argument("--precision", choices=["4bit", "bf16", "fp32"], default="4bit", help="base weights (default 4bit nf4)")
    p.add_argument("--seed", type=int, default=0, help="seed for LoRA init and data order (default 0)")
    p.add_argument("--json", action="store_true", help="print the round as JSON")
    add_round_flags(p)
    p.set_defaults(run=run_train)

    p = sub.add_parser("cotrain", help="the co-training loop: draft -> score -> pairs -> DPO -> evaluate",
                       description="Run co-training rounds: the writer drafts K candidates per training prompt, the "
                                   "panel scores them, pairs are built and a DPO round trains the next adapter, which "
                                   "is evaluated on held-out prompts. Writes a report (Markdown + PNG).")
    p.add_argument("--prompts", required=True, help="JSONL file of {\"prompt\": ...} objects, or a text file, one per line")
    p.add_argument("--rounds", type=int, default=1, help="rounds to run (default 1)")
    p.add_argument("--limit", type=int, help="use only the first N prompts of the file")
    p.add_argument("--heldout", type=float, default=0.2, help="held-out prompts: a fraction (<1) or a count (default 0.2)")
    p.add_argument("--eval-k", type=int, default=4, help="candidates per held-out prompt when evaluating (default 4)")
    p.add_argument("--train-precision", choices=["4bit", "bf16", "fp32"], default="4bit",
                   help="base weights while training (default 4bit nf4)")
    p.add_argument("--invent", type=int, default=0, metavar="N",
                   help="each round, the writer invents up to N new training prompts (filtered; never held out)")
    p.add_argument("--guard-critic", help="critic left out of the training panel and used as a guard "
                                          "(default: coherence, else the panel's last critic)")
    p.add_argument("--judge", action="append", metavar="CRITIC|FILE",
                   help="an outside judge of the held-out drafts, never in the training reward: a critic name (e.g. "
                        "judge) or a reader weights file trained on other prompts (`critics train --split val`); "
                        "repeatable. Without one, every win rate is the training panel's own")
    p.add_argument("--report", metavar="DIR", help="report folder (default <workspace>/reports/cotrain)")
    p.add_argument("--json", action="store_true", help="print one JSON object per new round")
    add_draft_flags(p, k=4, max_new_tokens=96)
    add_round_flags(p)
    add_pair_flags(p)
    p.set_defaults(run=run_cotrain)

    p = sub.add_parser("rounds", help="training rounds: list, show, veto a pair, roll back",
                       description="The history of training rounds. `rounds rollback ID` makes an earlier round "
                                   "current (`rollback base` returns to the bare model); `rounds veto PAIR` vetoes a pair.")
    p.add_argument("action", nargs="?", default="list", choices=["list", "show", "veto", "rollback"])
    p.add_argument("target", nargs="?", help="show/rollback: the round id (or 'base'); veto: the pair id")
    p.add_argument("--reason", help="why a pair is vetoed")
    p.add_argument("--model", help="the model whose lineage `rollback base` applies to (default: built-in)")
    p.add_argument("--json", action="store_true", help="one JSON object per round (round_id, parent, adapter, current, metrics, ...)")
    p.set_defaults(run=run_rounds)
