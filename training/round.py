"""One DPO round: TRL's DPOTrainer teaches a LoRA adapter on the 4-bit (nf4) base from the
record's preference pairs, and the finished adapter is recorded with its lineage.

    rid = run_round(rec, None, RoundConfig(max_steps=2))      # all untrained, unvetoed pairs
    rid = run_round(rec, [3, 4, 9], cfg, model="./my-model", precision="fp32")

Iterative DPO: round k+1 starts from round k's adapter (the current round of the model's
lineage), and a frozen copy of that same adapter is its reference (TRL adds it as the "ref"
adapter). Round 1 starts from a fresh LoRA and its reference is the bare base.

Safety: checkpoints go to ``adapters/round-N.ckpt`` every ``save_steps``; a killed round is
resumed from its last checkpoint by the next call with the same pairs and settings. The
finished adapter is written to a temporary folder and renamed into ``adapters/round-N``, and
only then is the round marked done and made current, so a failed save (a full disk) leaves the
previous current round current and intact.

Several GPUs: run the same command under ``accelerate launch`` (see ``training/cli.py``'s help);
only the main process writes the record and the adapter, after every process has shown it would
train the same round (same parent, pairs and settings); if one would not, all of them stop and
nothing is recorded.
"""

from __future__ import annotations

import functools
import gc
import json
import math
import os
import shutil
import time
from pathlib import Path
from typing import Any, Callable

from record.disk import disk_full_message, is_disk_full, temp_dir
from record.errors import UserError
from training.config import RoundConfig

Progress = Callable[[int, int, dict], None]
METRIC_KEYS = ("loss", "rewards/accuracies", "rewards/margins", "rewards/chosen", "rewards/rejected")


class TrainingError(UserError):
    """A round that cannot run or could not be saved; the message says what to do."""


class NoPairsError(TrainingError):
    """Nothing to train on."""


# ---- choosing the round's pairs ---------------------------------------------------------------


def select_pairs(rec, pair_ids: list[int] | None) -> list[dict[str, Any]]:
    """The pairs a round trains on: the given ids, or every untrained pair; never a vetoed one."""
    if pair_ids is None:
        rows = rec.pairs(untrained_only=True)
        if not rows:
            raise NoPairsError("no untrained preference pairs in the record (vetoed pairs are never trained on); "
                               "draft and score some stories, then run `scriptorium pairs`")
        return rows
    wanted = set(int(p) for p in pair_ids)
    rows = [r for r in rec.pairs(include_vetoed=True) if r["id"] in wanted]
    missing = wanted - {r["id"] for r in rows}
    if missing:
        raise NoPairsError(f"no pair(s) {', '.join(map(str, sorted(missing)))} in the record; see `scriptorium pairs --list`")
    live = [r for r in rows if not r["vetoed"]]
    if not live:
        raise NoPairsError(f"all {len(rows)} chosen pair(s) are vetoed, so there is nothing to train on; "
                           "unveto some with `scriptorium pairs unveto ID` or build new pairs")
    return live


def split_by_length(tokenizer, rows: list[dict[str, Any]], max_length: int) -> tuple[list[dict], list[dict]]:
    """(kept, dropped): a pair whose prompt alone fills ``max_length`` tokens has nothing left to learn from."""
    from writer.draft import chat_text

    kept, dropped = [], []
    for r in rows:
        n = len(tokenizer(chat_text(tokenizer, r["prompt"], r.get("instructions") or ""), add_special_tokens=False)["input_ids"])
        (dropped if n >= max_length else kept).append(r)
    return kept, dropped


def training_examples(tokenizer, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows as DPO examples: conversational with a chat template, else the plain drafting template."""
    from training.pairs import conversational
    from writer.draft import chat_text

    if getattr(tokenizer, "chat_template", None):
        return [conversational(r["prompt"], r["chosen"], r["rejected"], r.get("instructions") or "") for r in rows]
    return [{"prompt": chat_text(tokenizer, r["prompt"], r.get("instructions") or ""), "chosen": r["chosen"],
             "rejected": r["rejected"]} for r in rows]


# ---- models --------------------------------------------------------------------------------------


def adapter_mark(path: Path) -> dict[str, Any]:
    from writer.models import ADAPTER_MARK

    mark = Path(path) / ADAPTER_MARK
    return json.loads(mark.read_text()) if mark.is_file() else {}


def check_parent_adapter(path: Path, fingerprint: str) -> None:
    """The parent adapter must exist, be complete and belong to this base model."""
    from writer.models import ModelError, check_adapter_dir

    try:
        check_adapter_dir(Path(path))
    except ModelError as e:
        raise TrainingError(f"the current round's adapter cannot be used ({e}); roll back to a round whose adapter "
                            "is intact with `scriptorium rounds rollback ID`") from e
    base = adapter_mark(path).get("base_fingerprint")
    if base and base != fingerprint:
        raise TrainingError(f"adapter {path} was trained for another base model (fingerprint {base}, this model is "
                            f"{fingerprint}); pass the --model it was trained on")


def lora_config(cfg: RoundConfig):
    from peft import LoraConfig

    targets = "all-linear" if cfg.lora_targets == ["all-linear"] else list(cfg.lora_targets)
    return LoraConfig(r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout, target_modules=targets,
                      bias="none", task_type="CAUSAL_LM")


def round_steps(cfg: RoundConfig, n_pairs: int | None) -> int:
    """Optimiser steps of a round: ``max_steps`` is a cap, so a round with few pairs stops after
    ``epochs`` passes instead of cycling over them. -1 lets TRL count the epochs' steps itself
    (it knows how the batches are sharded over processes).

    >>> round_steps(RoundConfig(max_steps=24, batch_size=4), 200), round_steps(RoundConfig(max_steps=24, batch_size=4), 10)
    (24, -1)
    """
    if cfg.max_steps <= 0 or not n_pairs:
        return cfg.max_steps
    processes = max(1, int(os.environ.get("WORLD_SIZE", "1") or 1))
    per_epoch = math.ceil(n_pairs / (cfg.batch_size * cfg.grad_accum * processes))
    return -1 if math.ceil(cfg.epochs * per_epoch) <= cfg.max_steps else cfg.max_steps


def dpo_args(cfg: RoundConfig, output_dir: Path, device: str, progress: bool, n_pairs: int | None = None):
    """TRL's DPOConfig for a round; the one place our settings map onto TRL's."""
    import torch
    from trl import DPOConfig

    on_cuda = device.startswith("cuda")
    return DPOConfig(
        output_dir=str(output_dir), beta=cfg.beta, learning_rate=cfg.learning_rate,
        loss_type=[cfg.loss_type, "sft"] if cfg.sft_weight > 0 else [cfg.loss_type],
        loss_weights=[1.0, cfg.sft_weight] if cfg.sft_weight > 0 else None,
        num_train_epochs=cfg.epochs, max_steps=round_steps(cfg, n_pairs), per_device_train_batch_size=cfg.batch_size,
        gradient_accumulation_steps=cfg.grad_accum, max_length=cfg.max_length, seed=cfg.seed, data_seed=cfg.seed,
        report_to=[] if cfg.report_to == "none" else [cfg.report_to], logging_steps=1,
        save_strategy="steps", save_steps=cfg.save_steps, save_total_limit=2, save_only_model=False,
        gradient_checkpointing=cfg.gradient_checkpointing, bf16=on_cuda and torch.cuda.is_bf16_supported(),
        use_cpu=not on_cuda, disable_tqdm=not progress, dataloader_num_workers=0, dataset_num_proc=None,
        remove_unused_columns=False, lr_scheduler_type="constant", warmup_steps=0,
    )


def check_report_backend(cfg: RoundConfig) -> None:
    """The logging backend must be installed; tensorboard logs go to ``<workspace>/runs/round-N``
    (the checkpoint folder is removed once the round is saved)."""
    import importlib.util

    if cfg.report_to == "tensorboard":
        if not (importlib.util.find_spec("tensorboard") or importlib.util.find_spec("tensorboardX")):
            raise TrainingError("report_to tensorboard needs the tensorboard package: `pip install tensorboard` "
                                "(or use --report-to none)")
    elif cfg.report_to == "trackio" and not importlib.util.find_spec("trackio"):
        raise TrainingError("report_to trackio needs the trackio package: `pip install trackio` (or use --report-to none)")


def last_checkpoint(ckpt_dir: Path) -> Path | None:
    """The newest complete checkpoint (one with trainer_state.json, written last by the Trainer)."""
    if not ckpt_dir.is_dir():
        return None
    found = []
    for d in ckpt_dir.glob("checkpoint-*"):
        suffix = d.name.split("-")[-1]
        if suffix.isdigit() and (d / "trainer_state.json").is_file():
            found.append((int(suffix), d))
    return max(found)[1] if found else None


def save_adapter(model, dest: Path, mark: dict[str, Any]) -> Path:
    """Write the trained ("default") adapter to ``dest`` atomically: a temp folder, then a rename."""
    from writer.models import ADAPTER_MARK

    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_dir(f".{dest.name}.", dest.parent)  # follows the umask, unlike mkdtemp
    try:
        model.save_pretrained(str(tmp), selected_adapters=["default"])
        (tmp / ADAPTER_MARK).write_text(json.dumps(mark, indent=2, sort_keys=True))
        if dest.exists():
            shutil.rmtree(dest)
        os.replace(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dest


def summarize_logs(history: list[dict[str, Any]]) -> dict[str, Any]:
    """Round metrics from the Trainer's log history: the last value and the mean of each DPO metric."""
    out: dict[str, Any] = {}
    steps = [h for h in history if "loss" in h]
    for key in METRIC_KEYS:
        values = [h[key] for h in steps if key in h]
        if values:
            name = key.replace("/", "_")
            out[f"{name}_last"] = float(values[-1])
            out[f"{name}_mean"] = float(sum(values) / len(values))
    final = next((h for h in reversed(history) if "train_runtime" in h), {})
    if final:
        out["train_runtime_s"] = float(final["train_runtime"])
    return out


def _no_final_checkpoint():
    """Skip the checkpoint at the last step: the finished adapter is saved right after it."""
    from transformers import TrainerCallback

    class _Skip(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if state.max_steps > 0 and state.global_step >= state.max_steps:
                control.should_save = False
            return control

    return _Skip()


def _progress_callback(progress: Progress):
    from transformers import TrainerCallback

    class _Report(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs and "loss" in logs and state.is_world_process_zero:  # one bar for a launch of several
                progress(state.global_step, state.max_steps, dict(logs))

    return _Report()


# ---- the round ----------------------------------------------------------------------------------


def _find_resumable(rec, lineage: str, parent_id: int | None, signature: dict) -> dict | None:
    for r in reversed(rec.rounds(lineage)):
        if r["status"] in ("running", "failed") and r["parent_id"] == parent_id and r["config"].get("signature") == signature:
            return r
    return None


def launch_state(device: str | None = None):
    """This process's place among the processes ``accelerate launch`` started, set up the way
    the Trainer's arguments will set it up.

    A bare ``PartialState()`` asks for a GPU backend; on a launch without CUDA it finds none and
    reports a single process, so every rank would believe it is the main one and write its own
    round to the record. The Trainer sets the state up again with ``cpu=True``; doing the same
    here, first, means the record and the Trainer see the same processes.
    """
    import torch
    from accelerate import PartialState
    from accelerate.state import AcceleratorState
    from accelerate.utils import parse_flag_from_env

    if device:
        on_cuda = device.startswith("cuda")
    else:
        on_cuda = torch.cuda.is_available() and not parse_flag_from_env("ACCELERATE_USE_CPU")
    AcceleratorState._reset_state(reset_partial_state=True)  # what TrainingArguments does too
    state = PartialState(cpu=not on_cuda)
    grouped = torch.distributed.is_available() and torch.distributed.is_initialized()
    launched = torch.distributed.get_world_size() if grouped else state.num_processes
    launched = max(launched, int(os.environ.get("WORLD_SIZE", "1") or 1))
    if state.num_processes != launched:
        raise TrainingError(f"this process was launched as one of {launched} but accelerate sees "
                            f"{state.num_processes} ({state.distributed_type}, device {state.device}), so every process "
                            "would act as the main one and record its own round; launch with `accelerate launch` "
                            "(without GPUs: `accelerate launch --multi_gpu --num_processes N`) and leave the device "
                            "unset")
    if state.num_processes > 1:
        _close_process_group_at_exit()
    return state


@functools.cache
def _close_process_group_at_exit() -> None:
    """A process that exits with its gloo group still open is sometimes aborted ("terminate called
    without an active exception"), which fails the whole launch after the round was done."""
    import atexit

    import torch

    atexit.register(lambda: torch.distributed.is_initialized() and torch.distributed.destroy_process_group())


def agree_on_round(state, lineage: str, signature: dict) -> None:
    """Every process must be about to train the same round (same parent, pairs and settings)
    before the main one records it; otherwise all of them stop, and nothing is recorded."""
    if state.num_processes == 1:
        return
    from accelerate.utils import gather_object

    plans = gather_object([{"lineage": lineage, **signature}])
    differing = [i for i, plan in enumerate(plans) if plan != plans[0]]
    if differing:
        keys = sorted(k for k in plans[0] if any(plan.get(k) != plans[0][k] for plan in plans))
        raise TrainingError(f"the {len(plans)} launched processes disagree on the round to train (process(es) "
                            f"{', '.join(map(str, differing))} differ from the main one in {', '.join(keys)}); "
                            "nothing was recorded. Was the record changed while the round started? Run it again")


def run_round(rec, pair_ids: list[int] | None, config: RoundConfig | None = None, model: str | None = None,
              precision: str = "4bit", progress: Progress | None = None, device: str | None = None,
              make_current: bool = True, lineage: str | None = None) -> int:
    """Train one DPO round on the record's pairs and record it; returns the round id.

    ``pair_ids`` None means every untrained, unvetoed pair. ``model`` is a model folder or None
    for the built-in writer; the round continues that model's current round (its lineage), or
    the current round of ``lineage`` when given (the studio keeps one lineage per author).
    ``progress(step, total, logs)`` is called after every optimiser step.
    """
    from record.workspace import adapters_dir, cache_dir
    from writer.models import PRECISIONS, load_tokenizer, resolve_model

    cfg = config or RoundConfig()
    if precision not in PRECISIONS:
        raise TrainingError(f"precision {precision!r} unknown; use one of {', '.join(PRECISIONS)}")
    workspace = Path(rec.path).parent
    model_dir, model_id = resolve_model(model, cache_dir(workspace), progress=progress is not None)
    lineage = lineage or model_id
    parent = rec.current_round(lineage)

    rows = select_pairs(rec, pair_ids)
    check_report_backend(cfg)
    tokenizer = load_tokenizer(model_dir)
    tokenizer.padding_side = "right"
    rows, dropped = split_by_length(tokenizer, rows, cfg.max_length)
    if not rows:
        raise NoPairsError(f"all {len(dropped)} pair(s) have prompts of {cfg.max_length}+ tokens (max_length), so none "
                           "can be trained on; raise --max-length or use shorter prompts")

    state = launch_state(device)
    device = device or str(state.device)
    used_ids = sorted(r["id"] for r in rows)
    signature = {"round": cfg.to_dict(), "precision": precision, "pair_ids": used_ids,
                 "parent": parent["id"] if parent else None}
    agree_on_round(state, lineage, signature)

    # Only the main process touches the record; the others learn the round id from it.
    rid = failure = None
    if state.is_main_process:
        try:
            round_row = _find_resumable(rec, lineage, signature["parent"], signature)
            if round_row is None:
                rid = rec.add_round(lineage, model_id, signature["parent"],
                                    {"signature": signature, "dropped_too_long": len(dropped)})
            else:
                rid = round_row["id"]
                rec.update("rounds", rid, status="running")
        except Exception as e:  # the others wait in the broadcast below: tell them, then fail together
            failure = e
    error = f"{type(failure).__name__}: {failure}" if failure else None
    if state.num_processes > 1:
        from accelerate.utils import broadcast_object_list

        rid, error = broadcast_object_list([rid, error])
    if failure is not None:
        raise failure
    if error is not None:
        raise TrainingError(f"the main process could not record the round ({error}); nothing was trained")

    out_dir = adapters_dir(workspace) / f"round-{rid}"
    if cfg.report_to == "tensorboard":
        os.environ["TENSORBOARD_LOGGING_DIR"] = str(workspace / "runs" / f"round-{rid}")
    ckpt_dir = out_dir.with_name(out_dir.name + ".ckpt")
    resume = last_checkpoint(ckpt_dir)
    try:
        adapter_path = _train(cfg, rows, tokenizer, model_dir, precision, device, parent, ckpt_dir, resume, progress,
                              state, out_dir, mark_extra={"round_id": rid, "base_model": model_id})
    except BaseException as e:
        if state.is_main_process and not isinstance(e, KeyboardInterrupt):
            rec.update("rounds", rid, status="failed", metrics={"error": f"{type(e).__name__}: {str(e)[:500]}"})
        current = f"the current round is unchanged ({parent['id'] if parent else 'the base model'})"
        if is_disk_full(e):  # OSError, or safetensors' SafetensorError ("os error 28"), which is not one
            raise TrainingError(f"round {rid} could not be saved: " + disk_full_message(
                out_dir.parent, "saving its adapter or a checkpoint",
                after=f"run the same command again to resume from its last checkpoint; {current}")) from e
        if isinstance(e, OSError):
            raise TrainingError(f"round {rid} could not be saved ({e.strerror or e}); free some disk space and run "
                                f"the same command again to resume from its last checkpoint; {current}") from e
        raise
    metrics = adapter_path.pop("metrics")
    if state.is_main_process:
        metrics.update(pairs=len(rows), dropped_too_long=len(dropped),
                       pairs_from_picks=sum(r["origin"] == "pick" for r in rows), resumed_from=resume.name if resume else None,
                       base_fingerprint=adapter_path["fingerprint"])
        rec.finish_round(rid, str(adapter_path["path"]), metrics, used_ids, make_current=make_current)
        shutil.rmtree(ckpt_dir, ignore_errors=True)
    return rid


def build_trainer(cfg: RoundConfig, rows: list[dict], tokenizer, model_dir: Path, precision: str, device: str,
                  parent_adapter: str | None, output_dir: Path, progress: Progress | None = None):
    """The DPOTrainer for a round: the base in ``precision``; LoRA from ``parent_adapter`` (which
    TRL also copies, frozen, as the "ref" adapter: the reference) or a fresh LoRA whose reference
    is the bare base. Returns (trainer, base fingerprint)."""
    import datasets
    from peft import PeftModel
    from trl import DPOTrainer

    from writer.models import config_fingerprint, load_base

    datasets.disable_progress_bars()
    base = load_base(model_dir, precision, device)
    fingerprint = config_fingerprint(base.config)
    peft_config = None
    if parent_adapter:
        check_parent_adapter(Path(parent_adapter), fingerprint)
        model = PeftModel.from_pretrained(base, parent_adapter, is_trainable=True)  # adapter "default"
    else:
        model, peft_config = base, lora_config(cfg)
    train = datasets.Dataset.from_list(training_examples(tokenizer, rows))
    args = dpo_args(cfg, output_dir, device, progress=progress is None, n_pairs=len(rows))
    try:
        trainer = DPOTrainer(model=model, args=args, train_dataset=train, processing_class=tokenizer,
                             peft_config=peft_config,
                             callbacks=[_no_final_checkpoint()] + ([_progress_callback(progress)] if progress else []))
    except ValueError as e:
        if "target" in str(e).lower() and "module" in str(e).lower():
            raise TrainingError(f"LoRA targets {cfg.lora_targets} do not match this model's modules ({str(e)[:200]}); "
                                "pass --lora-targets with module names of this model (or all-linear)") from e
        raise
    if progress is not None:
        from transformers import PrinterCallback

        trainer.remove_callback(PrinterCallback)  # our progress callable reports instead
    return trainer, fingerprint


def _train(cfg, rows, tokenizer, model_dir, precision, device, parent, ckpt_dir, resume, progress, state, out_dir,
           mark_extra) -> dict[str, Any]:
    parent_adapter = parent.get("adapter_path") if parent else None
    trainer, fingerprint = build_trainer(cfg, rows, tokenizer, model_dir, precision, device, parent_adapter, ckpt_dir,
                                         progress)
    trainer.train(resume_from_checkpoint=str(resume) if resume else None)
    metrics = summarize_logs(trainer.state.log_history)
    metrics["steps"] = int(trainer.state.global_step)
    path = None
    if state.is_main_process:
        mark = dict(mark_extra, base_fingerprint=fingerprint, parent_round=parent["id"] if parent else None,
                    parent_adapter=parent_adapter, config=cfg.to_dict(), precision=precision, created_at=time.time())
        path = save_adapter(trainer.model, out_dir, mark)
    state.wait_for_everyone()
    del trainer
    gc.collect()
    return {"path": path, "fingerprint": fingerprint, "metrics": metrics}
