"""Lessons move to a new model: replay what a writer learned onto another base model.

    scriptorium replay --to ./models/qwen2-0.5b            # the built-in writer's lineage -> that model
    new_round_ids = replay(rec, "./models/qwen2-0.5b", source=None, cfg=ReplayConfig())

What a lineage learned is its pairs: the rounds from the base to its current round, oldest
first, and the pairs each was taught with. Replay teaches them to the target model in two steps:

1. Supervised fine-tuning (TRL ``SFTTrainer``, LoRA, loss on the story only) on the chosen
   drafts of all those pairs that are not vetoed now, in their original order. Recorded as the
   first round of the target's lineage, with ``replayed_from`` naming the source lineage.
2. One DPO round per source round, on the same pairs in the same order, with that round's
   settings (``training.round.run_round``: the SFT adapter is the first round's start and
   reference, each round then continues from the one before, as in co-training).

Any causal-LM architecture: LoRA goes on the modules the source round named when the target has
them, else on every linear layer (``all-linear``, e.g. GPT-2's ``c_attn``). The base is loaded
in 4-bit nf4 where bitsandbytes can quantize it, else in fp32 (said). A target tokenizer without
a chat template gets the documented plain-text template (``writer.draft.PLAIN_TEMPLATE``:
``### Instructions / ### Prompt / ### Story``), for training and drafting alike; replay says so
and records it.

Evaluation: with held-out prompts in the record, the target is drafted before (bare base) and
after (the last replayed round) on them with the same seeds, judged by the same panel and
guards as co-training (``training.evaluate``), and the comparison is stored in the last
round's metrics and written as a report (``reports/replay-<round>/report.md``).
"""

from __future__ import annotations

import gc
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

from record.errors import UserError
from record.settings import check_settings
from training.config import RoundConfig


class ReplayError(UserError):
    """A replay that cannot run as asked; the message says what to do."""


@dataclass
class ReplayConfig:
    """Settings of a replay (the DPO rounds reuse each source round's own settings)."""

    sft_epochs: float = field(default=1.0, metadata={"help": "passes over the chosen drafts in the SFT step"})
    sft_max_steps: int = field(default=-1, metadata={"help": "cap on SFT optimiser steps (-1: as the epochs need)"})
    sft_learning_rate: float = field(default=2e-4, metadata={"help": "SFT learning rate for the LoRA weights"})
    sft_batch_size: int = field(default=2, metadata={"help": "chosen drafts per SFT step"})
    dpo_max_steps: int | None = field(default=None, metadata={"help": "cap on each DPO round's steps (None: the source round's setting)"})
    max_length: int = field(default=512, metadata={"help": "tokens per prompt + story"})
    precision: str = field(default="auto", metadata={"help": "target base while training: auto (4bit where the model "
                                                             "allows, else fp32), 4bit, bf16 or fp32"})
    eval_precision: str = field(default="fp32", metadata={"help": "weights for drafting the evaluation"})
    eval_max_new_tokens: int = field(default=96, metadata={"help": "tokens per held-out evaluation draft"})
    eval_seed: int = field(default=0, metadata={"help": "seed of the evaluation drafts (same before and after)"})
    seed: int = field(default=0, metadata={"help": "seed for the SFT LoRA init and data order"})

    def __post_init__(self):
        check_settings(self, ReplayError)  # types and finiteness first (record/settings.py)
        checks = [
            (self.sft_epochs > 0, f"sft_epochs must be > 0, got {self.sft_epochs}"),
            (self.sft_max_steps == -1 or self.sft_max_steps >= 1, f"sft_max_steps must be -1 or >= 1, got {self.sft_max_steps}"),
            (self.sft_learning_rate > 0, f"sft_learning_rate must be > 0, got {self.sft_learning_rate}"),
            (self.sft_batch_size >= 1, f"sft_batch_size must be >= 1, got {self.sft_batch_size}"),
            (self.dpo_max_steps is None or self.dpo_max_steps >= 1, f"dpo_max_steps must be >= 1, got {self.dpo_max_steps}"),
            (self.max_length >= 16, f"max_length must be >= 16, got {self.max_length}"),
            (self.precision in ("auto", "4bit", "bf16", "fp32"), f"precision must be auto, 4bit, bf16 or fp32, got {self.precision!r}"),
            (self.eval_precision in ("4bit", "bf16", "fp32"), f"eval_precision must be 4bit, bf16 or fp32, got {self.eval_precision!r}"),
            (self.eval_max_new_tokens >= 1, f"eval_max_new_tokens must be >= 1, got {self.eval_max_new_tokens}"),
        ]
        for ok, message in checks:
            if not ok:
                raise ReplayError(message)


# ---- what the source lineage learned --------------------------------------------------------------


def lessons(rec, lineage: str) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """(round, its non-vetoed pairs in id order) for each DPO round from the base to the
    lineage's current round, oldest first; rounds left with no pairs are skipped, and so is the
    SFT step of a lineage that was itself replayed (its DPO rounds carry the same pairs)."""
    current = rec.current_round(lineage)
    if current is None:
        raise ReplayError(f"lineage {lineage!r} has no current round, so there is nothing to replay; train it first "
                          "(`scriptorium train` or `scriptorium cotrain`), or pass --from with a lineage that has rounds "
                          f"(known: {', '.join(sorted({r['lineage'] for r in rec.rounds()})) or 'none'})")
    live = {p["id"]: p for p in rec.pairs()}  # vetoed pairs are never taught, here either
    out = []
    for r in reversed(rec.round_lineage(current["id"])):
        if (r["config"] or {}).get("kind") == "replay-sft":
            continue  # a replayed lineage's SFT step: its pairs come again in the DPO rounds after it
        pairs = [live[p["id"]] for p in rec.round_pairs(r["id"]) if p["id"] in live]
        if pairs:
            out.append((r, pairs))
    if not out:
        raise ReplayError(f"lineage {lineage!r} has no unvetoed pairs in its rounds, so there is nothing to replay")
    return out


def sft_examples(tokenizer, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Prompt-completion examples of the chosen drafts (loss on the story only), each chosen
    draft once, in order: conversational with a chat template, else the plain-text template."""
    from writer.draft import DEFAULT_INSTRUCTIONS, chat_text

    seen, out = set(), []
    for r in rows:
        if r["chosen_id"] in seen:
            continue
        seen.add(r["chosen_id"])
        system = (r.get("instructions") or "").strip() or DEFAULT_INSTRUCTIONS
        if getattr(tokenizer, "chat_template", None):
            out.append({"prompt": [{"role": "system", "content": system}, {"role": "user", "content": r["prompt"].strip()}],
                        "completion": [{"role": "assistant", "content": r["chosen"]}]})
        else:
            out.append({"prompt": chat_text(tokenizer, r["prompt"].strip(), system),
                        "completion": r["chosen"] + (tokenizer.eos_token or "")})
    return out


def lora_targets_for(model, wanted: list[str]) -> list[str]:
    """``wanted`` if the model has modules of all those names, else ``['all-linear']``."""
    if wanted == ["all-linear"]:
        return wanted
    names = {n.rsplit(".", 1)[-1] for n, _ in model.named_modules()}
    return wanted if all(w in names for w in wanted) else ["all-linear"]


def train_precision(model_dir: Path, asked: str, device: str, say: Callable[[str], None]) -> str:
    """4-bit where bitsandbytes can quantize the model (at least one linear layer), else fp32."""
    if asked != "auto":
        return asked
    try:
        import bitsandbytes as bnb

        from writer.models import load_base

        probe = load_base(model_dir, "4bit", device)
        ok = any(isinstance(m, bnb.nn.Linear4bit) for m in probe.modules())
        del probe
        gc.collect()
    except Exception as e:  # noqa: BLE001 - any failure to quantize means "not allowed here"
        say(f"4-bit loading failed for {model_dir} ({type(e).__name__}: {str(e)[:120]}); training in fp32")
        return "fp32"
    if not ok:
        say(f"{model_dir} has no layers bitsandbytes can quantize; training in fp32")
        return "fp32"
    return "4bit"


# ---- the SFT step ------------------------------------------------------------------------------


def run_sft(rec, rows, cfg: ReplayConfig, model_dir: Path, model_id: str, source: str, precision: str, device: str,
            lora_targets: list[str], template: str, source_rounds: list[int], progress=None) -> int:
    """Supervised fine-tuning on the chosen drafts; recorded as a round of the target's lineage
    (parent: the bare base) with ``replayed_from`` set. Returns its round id."""
    import datasets
    from trl import SFTConfig, SFTTrainer

    from record.workspace import adapters_dir
    from training.round import _progress_callback, lora_config, save_adapter, summarize_logs
    from writer.models import config_fingerprint, load_base, load_tokenizer

    datasets.disable_progress_bars()
    tokenizer = load_tokenizer(model_dir)
    tokenizer.padding_side = "right"
    examples = sft_examples(tokenizer, rows)
    config = {"kind": "replay-sft", "source_lineage": source, "source_rounds": source_rounds, "template": template,
              "replay": asdict(cfg), "precision": precision, "lora_targets": lora_targets,
              "chosen_drafts": len(examples), "pairs": [r["id"] for r in rows]}
    rid = rec.add_round(model_id, model_id, None, config, replayed_from=source)
    workspace = Path(rec.path).parent
    out_dir = adapters_dir(workspace) / f"round-{rid}"
    try:
        base = load_base(model_dir, precision, device)
        fingerprint = config_fingerprint(base.config)
        on_cuda = device.startswith("cuda")
        args = SFTConfig(
            output_dir=str(out_dir.with_name(out_dir.name + ".ckpt")), learning_rate=cfg.sft_learning_rate,
            num_train_epochs=cfg.sft_epochs, max_steps=cfg.sft_max_steps, per_device_train_batch_size=cfg.sft_batch_size,
            max_length=cfg.max_length, seed=cfg.seed, data_seed=cfg.seed, report_to=[], logging_steps=1,
            save_strategy="no", use_cpu=not on_cuda, disable_tqdm=progress is not None, dataloader_num_workers=0,
            lr_scheduler_type="constant", warmup_steps=0, completion_only_loss=True, packing=False,
            bf16=on_cuda and __import__("torch").cuda.is_bf16_supported(),
        )
        round_cfg = RoundConfig(lora_targets=lora_targets, seed=cfg.seed)
        trainer = SFTTrainer(model=base, args=args, train_dataset=datasets.Dataset.from_list(examples),
                             processing_class=tokenizer, peft_config=lora_config(round_cfg),
                             callbacks=[_progress_callback(progress)] if progress else None)
        trainer.train()
        metrics = summarize_logs(trainer.state.log_history)
        metrics.update(steps=int(trainer.state.global_step), chosen_drafts=len(examples), pairs=len(rows),
                       base_fingerprint=fingerprint, kind="replay-sft")
        mark = {"round_id": rid, "base_model": model_id, "base_fingerprint": fingerprint, "parent_round": None,
                "parent_adapter": None, "kind": "replay-sft", "replayed_from": source, "precision": precision,
                "created_at": time.time()}
        path = save_adapter(trainer.model, out_dir, mark)
        del trainer, base
        gc.collect()
    except BaseException as e:
        if not isinstance(e, KeyboardInterrupt):
            rec.update("rounds", rid, status="failed", metrics={"error": f"{type(e).__name__}: {str(e)[:500]}"})
        raise
    import shutil

    shutil.rmtree(out_dir.with_name(out_dir.name + ".ckpt"), ignore_errors=True)
    rec.finish_round(rid, str(path), metrics, [r["id"] for r in rows])
    return rid


# ---- evaluation ----------------------------------------------------------------------------------


def evaluate_replay(rec, model_dir: Path, adapter: str, cfg: ReplayConfig, judges=None, last_round: int | None = None,
                    say=print) -> dict[str, Any] | None:
    """Draft the held-out prompts with the target before (bare) and after (``adapter``), same
    seeds, judged by the same panel and guards; None when the record has no held-out prompts."""
    from training.cotrain import eval_texts
    from training.evaluate import compare, default_judges
    from writer.draft import DraftConfig
    from writer.models import load_writer

    held = rec.query("SELECT text, MIN(id) AS id FROM prompts WHERE split = 'heldout' GROUP BY text ORDER BY MIN(id)")
    if not held:
        say("no held-out prompts in the record: the replay is not evaluated (co-training records some)")
        return None
    prompts = [h["text"] for h in held]
    ids = {h["text"]: h["id"] for h in held}
    writer = load_writer(model_dir, precision=cfg.eval_precision, progress=False)
    if judges is None:
        from critics.panel import words_for_tokens
        from critics.panel_versions import panel_config

        judges = default_judges(reference=writer,
                                base=panel_config(rec, asked_words=words_for_tokens(cfg.eval_max_new_tokens)))
    dcfg = DraftConfig(k=1, max_new_tokens=cfg.eval_max_new_tokens, seed=cfg.eval_seed)
    say(f"evaluating the target before replay on {len(prompts)} held-out prompts")
    before = eval_texts(rec, writer, judges, prompts, dcfg, "", None, ids, writer)
    writer.load_adapter(adapter)
    say("evaluating the target after replay")
    after = eval_texts(rec, writer, judges, prompts, dcfg, "", last_round, ids, writer)
    out = compare(after, None, before)
    out["draft_ids"] = after["draft_ids"]
    out["base_draft_ids"] = before["draft_ids"]
    return out


# ---- the replay ------------------------------------------------------------------------------------


def source_lineage(rec, source: str | None) -> str:
    """The lineage to replay: None is the built-in writer's, a lineage name in the record is
    itself, a model folder is the lineage of that model."""
    from writer.models import BUILTIN_NAME

    if source is None or str(source) in ("builtin", BUILTIN_NAME):
        return f"builtin:{BUILTIN_NAME}"
    if rec.rounds(str(source)):
        return str(source)
    path = Path(str(source)).expanduser()
    if path.is_dir() and rec.rounds(str(path.resolve())):
        return str(path.resolve())
    known = sorted({r["lineage"] for r in rec.rounds()})
    raise ReplayError(f"no lineage {source!r} in the record; pass --from with one of: {', '.join(known) or 'none yet'}")


def check_target(path) -> Path:
    path = Path(path).expanduser()
    if not path.is_dir():
        raise ReplayError(f"replay target {path} does not exist; pass --to with a local Hugging Face causal-LM folder "
                          "(config.json, weights and tokenizer files)")
    if not (path / "config.json").is_file():
        raise ReplayError(f"replay target {path} has no config.json; pass --to with a Hugging Face model folder")
    return path.resolve()


def replay(rec, target, source: str | None = None, cfg: ReplayConfig | None = None, judges=None,
           on_event: Callable[[str], None] | None = None, step_progress=None, device: str | None = None,
           evaluate: bool = True) -> list[int]:
    """Replay the ``source`` lineage (a lineage name, a model folder, or None for the built-in
    writer's) onto the model folder ``target``. Returns the new rounds' ids, SFT first."""
    import torch

    from training.report import write_report
    from training.round import run_round
    from writer.models import load_base, load_tokenizer

    say = on_event or (lambda msg: None)
    cfg = cfg or ReplayConfig()
    model_dir = check_target(target)
    model_id = str(model_dir)
    workspace = Path(rec.path).parent
    source = source_lineage(rec, source)
    if source == model_id:
        raise ReplayError(f"the target {model_id} is the source lineage itself; replay onto another model folder")
    plan = lessons(rec, source)
    rows = [p for _, ps in plan for p in ps]
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")

    tokenizer = load_tokenizer(model_dir)
    template = "chat" if getattr(tokenizer, "chat_template", None) else "plain"
    if template == "plain":
        say(f"{model_dir.name}'s tokenizer has no chat template: using the plain-text template "
            "(### Instructions / ### Prompt / ### Story, writer/draft.py PLAIN_TEMPLATE) for training and drafting")
    precision = train_precision(model_dir, cfg.precision, device, say)
    probe = load_base(model_dir, "fp32", "cpu")
    wanted = list((plan[0][0]["config"].get("signature") or {}).get("round", {}).get("lora_targets")
                  or RoundConfig().lora_targets)
    targets = lora_targets_for(probe, wanted)
    del probe
    if targets != wanted:
        say(f"{model_dir.name} has no {'/'.join(wanted)} modules: LoRA goes on all linear layers")

    say(f"replaying {len(plan)} round(s) of {source} ({len(rows)} pairs) onto {model_id}: SFT on the chosen drafts")
    new_ids = [run_sft(rec, rows, cfg, model_dir, model_id, source, precision, device, targets,
                       template, [r["id"] for r, _ in plan], step_progress)]
    for n, (orig, pairs) in enumerate(plan, 1):
        settings = dict(orig["config"].get("signature", {}).get("round") or {})
        round_cfg = RoundConfig.from_yaml(None, **settings)
        round_cfg = replace(round_cfg, lora_targets=targets, **({"max_steps": cfg.dpo_max_steps} if cfg.dpo_max_steps else {}))
        say(f"DPO round {n}/{len(plan)}: the {len(pairs)} pairs of round {orig['id']}")
        rid = run_round(rec, [p["id"] for p in pairs], round_cfg, model=str(model_dir), precision=precision,
                        progress=step_progress, device=device)
        row = rec.get("rounds", rid)
        metrics = dict(row["metrics"], replay_of_round=orig["id"], replay_source=source)
        rec.update("rounds", rid, replayed_from=source, metrics=metrics)
        new_ids.append(rid)

    last = rec.get("rounds", new_ids[-1])
    if evaluate:
        result = evaluate_replay(rec, model_dir, last["adapter_path"], cfg, judges, last["id"], say)
        if result is not None:
            rec.update("rounds", last["id"], metrics=dict(last["metrics"], eval=result))
            report = write_report(rec, new_ids[1:], workspace / "reports" / f"replay-{new_ids[0]}",
                                  title=f"Replay of {source} onto {model_dir.name}",
                                  notes=[f"First round (SFT on {len(rows)} pairs' chosen drafts): {new_ids[0]}; "
                                         f"template: {template}; training precision: {precision}."])
            say(f"after replay: panel reward {result['reward']:.3f} (before {result['base_reward']:.3f}), "
                f"win rate vs before {result['win_rate_vs_base']:.0%}; report {report}")
    return new_ids
