"""``scriptorium score`` and the ``scriptorium critics`` group (calibrate, learn, list).

    scriptorium score stories.jsonl                 # per-critic scores and reasons
    scriptorium score stories.jsonl --json          # one JSON object per input line, in order
    scriptorium critics calibrate ../shared/data/critic-dev
    scriptorium critics learn                       # retrain the learned critic from author picks
    scriptorium critics list

Without ``--config`` or ``--critics``, ``score`` uses the record's current panel version (its
weights and settings, e.g. fitted to the authors' picks; `scriptorium critics use`), or the
hand-set panel when none is current, and says which on stderr.

Input for ``score``: one JSON object per line with ``story`` (required), ``prompt`` and
``outline`` (optional). A malformed line is reported with its line number and the rest of the
file is still scored; ``--strict`` refuses the whole file instead. Light on purpose: the
models load inside the commands.
"""

from __future__ import annotations

import argparse
import json
import sys

from record.errors import UserError

CHUNK = 64  # stories scored per panel call: bounded memory on long files


class ScoreInputError(UserError):
    """A score input file that cannot be read as asked."""


def read_jsonl(path: str) -> list[tuple[int, dict | None, str | None]]:
    """(line number, record or None, error or None) for every non-blank line."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        raise ScoreInputError(f"no such file {path}; pass a JSONL file with one {{\"prompt\": ..., \"story\": ...}} per line") from None
    except IsADirectoryError:
        raise ScoreInputError(f"{path} is a folder; pass a JSONL file") from None
    out = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            out.append((number, None, f"line {number}: not valid JSON ({e.msg} at column {e.colno})"))
            continue
        if not isinstance(obj, dict):
            out.append((number, None, f"line {number}: expected a JSON object with \"story\", got {type(obj).__name__}"))
        elif not isinstance(obj.get("story"), str):
            out.append((number, None, f"line {number}: needs a \"story\" string (keys found: {', '.join(obj) or 'none'})"))
        elif obj.get("prompt") is not None and not isinstance(obj.get("prompt"), str):
            out.append((number, None, f"line {number}: \"prompt\" must be a string"))
        else:
            out.append((number, obj, None))
    return out


def panel_from_args(args, rec=None):
    """(Panel, which configuration it is). With --config or --critics, the panel those name;
    otherwise the record's current panel version (its weights and settings, e.g. fitted to the
    authors' picks), or the hand-set default when no version is current."""
    from critics.panel import Panel, PanelConfig

    overrides = {}
    if getattr(args, "critics", None):
        overrides["critics"] = [c.strip() for c in args.critics.split(",") if c.strip()]
    if getattr(args, "preset", None):
        overrides["preset"] = args.preset
    if getattr(args, "config", None):
        cfg, source = PanelConfig.from_yaml(args.config, **overrides), f"panel config {args.config}"
    elif "critics" in overrides:
        cfg, source = PanelConfig(**overrides), "the critics named by --critics, hand-set weights"
    else:
        from critics.panel_versions import current_version, panel_config

        version = current_version(rec) if rec is not None else None
        if version is None:
            cfg, source = PanelConfig(**overrides), "the hand-set weights (no panel version is current)"
        else:
            cfg = panel_config(rec, **overrides)
            weights = ", ".join(f"{n} {cfg.weight(n):.2f}" for n in cfg.critics)
            source = f"panel version {version['id']} ({version['source']}: {weights})"
    judge_model = getattr(args, "judge_model", None)
    for name, wanted in (("fluency", getattr(args, "fluency", False)), ("judge", bool(judge_model))):
        if wanted and name not in cfg.critics:
            weights = dict(cfg.weights)
            if weights:  # the added critic weighs as much as the average critic already on the panel
                weights[name] = sum(cfg.weight(n) for n in cfg.critics) / len(cfg.critics)
            cfg = PanelConfig(**{**cfg.to_dict(), "critics": [*cfg.critics, name], "weights": weights})
            source += f", plus {name}"
    judge = None
    if judge_model:
        from critics.judge import JudgeCritic

        judge = JudgeCritic(model=judge_model)  # checks the folder now, before any model loads
    reference = None
    if ({"fluency", "order"} & set(cfg.critics)) and getattr(args, "model", None):
        from writer.models import load_writer

        reference = load_writer(args.model, precision="fp32", progress=False)
    panel = Panel(cfg, reference=reference, record=rec)
    if judge is not None:
        panel.critics["judge"] = judge
        source += f" (judge: {judge_model})"
    return panel, source


def run_score(args) -> int:
    entries = read_jsonl(args.file)
    if not entries:  # before the panel loads: an empty file is a mistake, not zero stories scored
        raise ScoreInputError(f"{args.file} holds no stories (it is empty or blank); pass a JSONL file with one "
                              "{\"prompt\": ..., \"story\": ...} per line")
    bad = [e for _, _, e in entries if e]
    if bad and args.strict:
        raise ScoreInputError(f"{len(bad)} malformed line(s) in {args.file} (--strict): " + "; ".join(bad[:5]))
    for e in bad:
        print(f"warning: {e}; skipped", file=sys.stderr)
    from record import open_record, record_path, workspace_dir

    wants_learned = "learned" in (getattr(args, "critics", None) or "")
    rec = open_record(args.workspace) if wants_learned or record_path(workspace_dir(args.workspace)).is_file() else None
    panel, source = panel_from_args(args, rec)
    print(f"note: scoring with {source}", file=sys.stderr)
    for note in panel.notes:
        print(f"note: {note}", file=sys.stderr)
    good = [(n, obj) for n, obj, e in entries if obj is not None]
    results: dict[int, object] = {}
    printed: set[int] = set()
    for start in range(0, len(good), CHUNK):
        chunk = good[start:start + CHUNK]
        outlines = [o.get("outline") or "" for _, o in chunk]
        scored = panel.score([o.get("prompt") or "" for _, o in chunk], [o["story"] for _, o in chunk],
                             outlines if any(outlines) else None)
        for (n, _), r in zip(chunk, scored):
            results[n] = r
        _emit(args, entries, results, printed, done_through=chunk[-1][0])
    _emit(args, entries, results, printed, done_through=None)  # malformed lines after the last story
    sys.stdout.flush()
    return 0 if good else 2


def _emit(args, entries, results, printed: set[int], done_through) -> None:
    """Print, in file order, every entry up to ``done_through`` not printed yet."""
    for n, obj, err in entries:
        if done_through is not None and n > done_through:
            break
        if n in printed:
            continue
        printed.add(n)
        if err:
            if args.json:
                print(json.dumps({"line": n, "error": err}))
            continue
        r = results[n]
        if args.json:
            out = {"line": n}
            if "id" in obj:
                out["id"] = obj["id"]
            out.update(r.to_dict())
            print(json.dumps(out, ensure_ascii=False))
        else:
            label = f"line {n}" + (f" (id {obj['id']})" if "id" in obj else "")
            print(f"{label}: panel {r.total:.3f}" + (f"  [guard: {r.guard}]" if r.guard else ""))
            for name, cs in r.critics.items():
                print(f"  {name:<10} {cs.score:.3f}  {cs.reason}")


def calibration_drafts(args, prompts: list[str]) -> dict[str, list[str]] | None:
    """The built-in writer's stories for the calibration's prompts: drafted (once, into the cache
    `critics train` uses) with --writer-drafts, else what the cache holds, or None when it lacks some."""
    from critics.reader_data import drafts_folder, writer_drafts
    from record.workspace import workspace_dir

    folder = drafts_folder(workspace_dir(args.workspace))
    if args.writer_drafts:
        print(f"the built-in writer's stories for {len(prompts)} prompts (drafted once, then cached in {folder})",
              file=sys.stderr)
        return writer_drafts(prompts, folder, progress=lambda i, n: print(f"  drafted {i}/{n}", file=sys.stderr))
    cached = writer_drafts(prompts, folder, missing=False)
    return cached if all(p in cached for p in prompts) else None


def run_calibrate(args) -> int:
    from critics.calibrate import report, run, to_json

    if args.boot < 10:
        raise UserError(f"--boot must be at least 10 resamples, got {args.boot}")
    from record import open_record, record_path, workspace_dir

    # the workspace's record, when it has one: its current reader version and panel version are what it scores with
    rec = open_record(args.workspace) if record_path(workspace_dir(args.workspace)).is_file() else None
    panel, source = panel_from_args(args, rec)
    reader = panel.critics.get("reader")
    if reader is not None:
        source += f"; reader: {f'version {reader.version}' if reader.version else 'the shipped weights'} ({reader.path})"
    print(f"note: calibrating {', '.join(panel.critics)} ({source}) on the {args.split} split", file=sys.stderr)
    result = run(args.data, panel, split=args.split, boot=args.boot, seed=args.seed,
                 progress=lambda m: print(m, file=sys.stderr), max_prompts=args.max_prompts,
                 writer_drafts=lambda prompts: calibration_drafts(args, prompts))
    print(to_json(result) if args.json else report(result))
    return 0


def run_learn(args) -> int:
    from record import open_record, workspace_dir
    from critics.learned import train_learned

    rec = open_record(args.workspace)
    critic, version = train_learned(rec, workspace_dir(args.workspace), critic_pair_weight=args.critic_pair_weight)
    m = critic.metrics
    held = f", held-out accuracy {m['heldout_accuracy']:.1%} on {m['heldout_pairs']} pairs" if "heldout_accuracy" in m else ""
    print(f"learned critic v{version}: {m['pairs']} pairs, training accuracy {m['train_accuracy']:.1%}{held}")
    return 0


def run_list(args) -> int:
    from critics.registry import CRITICS, DEFAULT_CRITICS, critic_class

    for name in CRITICS:
        cls = critic_class(name)
        mark = "*" if name in DEFAULT_CRITICS else " "
        print(f"{mark} {name:<10} {cls.description}")
    print("(* on the default panel)")
    return 0


def add_panel_flags(p: argparse.ArgumentParser) -> None:
    from critics.registry import DEFAULT_CRITICS

    g = p.add_argument_group("panel")
    g.add_argument("--critics", help=f"comma-separated critics (default: {','.join(DEFAULT_CRITICS)}; also fluency, "
                                     "order, judge, learned)")
    g.add_argument("--preset", help="style preset: general, childrens, ya, literary, thriller")
    g.add_argument("--config", help="panel config YAML (PanelConfig fields); flags override it (default: the "
                                    "record's current panel version, see `scriptorium critics versions`)")
    g.add_argument("--fluency", action="store_true", help="add the fluency critic (loads the writer model; slower)")
    g.add_argument("--model", help="reference model folder for the fluency and order critics (default: built-in SmolLM2)")
    g.add_argument("--judge-model", metavar="DIR",
                   help="local Hugging Face instruct model folder for the judge critic, which it adds to the panel "
                        "(`--critics ...,judge` without it: the built-in SmolLM2, a weak judge; see BENCHMARKS.md)")


def register(sub) -> None:
    p = sub.add_parser("score", help="score stories with the critic panel",
                       description="Score each {\"prompt\": ..., \"story\": ...} line of a JSONL file with the critic panel.")
    p.add_argument("file", help="JSONL file: one {\"prompt\": ..., \"story\": ...} per line (outline optional)")
    p.add_argument("--json", action="store_true", help="one JSON object per input line, in order")
    p.add_argument("--strict", action="store_true", help="refuse the whole file if any line is malformed")
    add_panel_flags(p)
    p.set_defaults(run=run_score)

    g = sub.add_parser("critics", help="calibrate, train and list the critics",
                       description="The critics: calibrate against human ratings, retrain the learned critic, list.")
    group = g.add_subparsers(dest="critics_command", metavar="SUBCOMMAND")
    g.set_defaults(run=lambda args: (g.print_help(), 2)[1])

    c = group.add_parser("calibrate", help="agreement with people and planted-damage checks, with baselines",
                         description="Every critic on the panel, the panel total and naive baselines (length, "
                                     "Flesch, type-token ratio, prompt cosine) on the critic-dev data: human vs "
                                     "machine AUC, tau with people's ratings, length-balanced human vs LLM pairs, "
                                     "planted damage and length preference, each with a 95% bootstrap interval. Without "
                                     "--critics or --config: the workspace's current panel version (else the hand-set "
                                     "default panel), with its current reader version (else the shipped weights).")
    c.add_argument("data", help="critic-dev folder (hanna_human96.csv, hanna_mixed30.jsonl, hanna_llm576.jsonl)")
    c.add_argument("--split", choices=["val", "train", "all"], default="val",
                   help="which prompts of critics.devdata's split (default val: the only side on which a critic "
                        "trained on the train prompts may be judged)")
    c.add_argument("--boot", type=int, default=1000, help="bootstrap resamples for the 95%% intervals (default 1000)")
    c.add_argument("--seed", type=int, default=0, help="seed of the damage, rivals and resamples (default 0)")
    c.add_argument("--max-prompts", type=int, default=None,
                   help="only the split's first N prompts, for a quick look (default: all of them)")
    c.add_argument("--writer-drafts", action="store_true",
                   help="also check people's stories against the built-in writer's (GPT-2-like) for the same "
                        "prompts, drafting them first where the cache lacks them (about 15-20 minutes per 32 "
                        "prompts on 2 cores; cached, and shared with `critics train`)")
    c.add_argument("--json", action="store_true", help="every number as one JSON object instead of Markdown")
    add_panel_flags(c)
    c.set_defaults(run=run_calibrate)

    le = group.add_parser("learn", help="retrain the learned critic from the record's author picks")
    le.add_argument("--critic-pair-weight", type=float, default=0.0,
                    help="weight of critic-made pairs next to author picks (default 0: picks only)")
    le.set_defaults(run=run_learn)

    ls = group.add_parser("list", help="the registered critics")
    ls.set_defaults(run=run_list)

    from critics.fit_cli import register_fit  # fit, versions, use: the panel tuned to the authors (light)

    register_fit(group)

    from critics.reader_cli import register_reader  # train, models, use-model: the reader critic (light)

    register_reader(group)
