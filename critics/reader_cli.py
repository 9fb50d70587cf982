"""``scriptorium critics train | models | use-model``: the reader critic, trained and chosen.

    scriptorium critics train --data ../shared/data/critic-dev --out critics/models/reader.safetensors
    scriptorium critics train                       # fine-tune the current reader on this workspace's author picks
    scriptorium critics models [--json]             # every trained version, the current one marked
    scriptorium critics use-model 3                 # or `use-model shipped`

Light: argparse only; torch, TRL and the record load inside the commands. Registered into the
``critics`` group by ``critics/cli.py``.
"""

from __future__ import annotations

import json
import shlex
import sys

from critics.registry import TRAINED


def _config(args):
    from critics.reader_train import ReaderTrainConfig, ReaderTrainError
    from record.settings import load_settings

    flags = {k: getattr(args, k, None) for k in ("data", "out", "passes", "epochs", "learning_rate", "batch_size",
                                                  "max_pairs", "seed", "split")}
    if args.no_writer_drafts:
        flags["writer_drafts"] = False
    return load_settings(ReaderTrainConfig, args.config, ReaderTrainError, "reader training config", **flags)


def run_train(args) -> int:
    from critics.reader_train import train_reader
    from record import open_record, workspace_dir

    cfg = _config(args)
    rec = open_record(args.workspace)
    command = "scriptorium " + shlex.join(sys.argv[1:])  # for the model card: how this file was made
    vid = train_reader(rec, workspace_dir(args.workspace), cfg, say=lambda m: print(m, file=sys.stderr), command=command)
    row = rec.get("critic_models", vid)
    m = row["metrics"]
    if args.json:
        print(json.dumps({"version": vid, "path": row["path"], "metrics": m}))
        return 0
    print(f"reader v{vid}: {row['path']} (now current)")
    print(f"trained on {m['train']['pairs']} pairs in {m['train']['steps']} steps")
    val = m.get("val_pairs", {})
    if val.get("pairs"):
        print(f"validation (prompts it never saw): {val['accuracy']:.1%} of {val['pairs']} pairs")
        for kind, v in val["by_kind"].items():
            print(f"  {kind:<16} {v['accuracy']:.1%} of {v['pairs']}")
    stories = m.get("val_stories")
    if stories:
        print(f"people's stories over the LLMs' (val prompts): AUC {stories['auc_human_vs_llm_first_150_words']:.3f} "
              f"on their first 150 words, {stories['auc_human_vs_llm_whole']:.3f} whole")
    return 0


def shipped_path(critic: str):
    from critics.registry import critic_class

    return critic_class(critic)().path  # the shipped file's path; the weights load on first use


def run_models(args) -> int:
    from critics.reader_train import current_version
    from record import open_record

    rec = open_record(args.workspace)
    current = current_version(rec, args.critic)
    rows = rec.query("SELECT * FROM critic_models WHERE name = ? ORDER BY id", (args.critic,))
    if args.json:
        for r in rows:
            print(json.dumps({k: r[k] for k in ("id", "status", "path", "sha256", "metrics", "created_at", "finished_at")}
                             | {"current": bool(current and current["id"] == r["id"])}))
        return 0
    print(f"{'*' if current is None else ' '} shipped  {shipped_path(args.critic)}")
    for r in rows:
        acc = (r["metrics"] or {}).get("val_pairs", {}).get("accuracy")
        mark = "*" if current and current["id"] == r["id"] else " "
        print(f"{mark} v{r['id']:<6} {r['status']:<8} {r['path'] or '-'}" + (f"  val {acc:.1%}" if acc is not None else ""))
    print("(* current)")
    return 0


def run_use(args) -> int:
    from critics.reader_train import ReaderTrainError, use_version
    from record import open_record

    rec = open_record(args.workspace)
    if args.version == "shipped":
        use_version(rec, None, args.critic)
        print(f"the {args.critic} critic now uses the shipped weights")
        return 0
    try:
        vid = int(args.version.lstrip("v"))
    except ValueError:
        raise ReaderTrainError(f"use-model takes a version number (see `scriptorium critics models`) or 'shipped', "
                               f"got {args.version!r}") from None
    use_version(rec, vid, args.critic)
    print(f"the {args.critic} critic now uses v{vid}")
    return 0


def register_reader(group) -> None:
    t = group.add_parser("train", help="train the reader critic (a reward model) from the dev data and author picks",
                         description="Train the reader critic: a MiniLM reward model (TRL RewardTrainer, LoRA) on "
                                     "people's stories vs machines' and planted damage (--data), plus this "
                                     "workspace's author picks. Resumable: run the same command again after a kill.")
    t.add_argument("--data", help="critic-dev folder: train from the base MiniLM (default: fine-tune the current "
                                  "reader on this workspace's author picks)")
    t.add_argument("--out", help="weights file to write (default: a new file under <workspace>/critics/)")
    t.add_argument("--config", help="YAML of ReaderTrainConfig settings; flags override it")
    t.add_argument("--passes", type=int, help="times the stories are cut into fresh passages (default 2)")
    t.add_argument("--epochs", type=float, help="optimiser passes over the pairs (default 1)")
    t.add_argument("--learning-rate", type=float, dest="learning_rate")
    t.add_argument("--batch-size", type=int, dest="batch_size")
    t.add_argument("--max-pairs", type=int, dest="max_pairs", help="cap on training pairs (a quick run)")
    t.add_argument("--seed", type=int)
    t.add_argument("--split", choices=["train", "val"],
                   help="side of the dev data's split by prompt to train on (default train; val makes a second "
                        "reader on other prompts, an outside judge for co-training)")
    t.add_argument("--no-writer-drafts", action="store_true",
                   help="leave out the built-in writer's stories (they are drafted once, which takes minutes)")
    t.add_argument("--json", action="store_true", help="print the new version and its metrics as JSON")
    t.set_defaults(run=run_train)

    m = group.add_parser("models", help="a trained critic's versions (the reader's, or --critic topic)")
    m.add_argument("--critic", choices=TRAINED, default="reader", help="whose versions (default reader)")
    m.add_argument("--json", action="store_true")
    m.set_defaults(run=run_models)

    u = group.add_parser("use-model", help="make a trained critic version current (or 'shipped')")
    u.add_argument("version", help="a version number from `critics models`, or 'shipped'")
    u.add_argument("--critic", choices=TRAINED, default="reader", help="whose version (default reader)")
    u.set_defaults(run=run_use)
