"""A DPO step on the built-in writer: 4-bit (nf4) vs fp32 base, seconds per step and peak memory,
and our round (``training.round.run_round``) vs a plain TRL ``DPOTrainer`` script on the same
pairs and settings, in the same run.

    .venv/bin/python bench/bench_dpo.py                    # CPU: ~5 min on 2 busy cores
    .venv/bin/python bench/bench_dpo.py --steps 6 --pairs 16
    .venv/bin/python bench/bench_dpo.py --device cuda      # on a GPU: 4-bit base, bf16 compute

Each configuration runs in its own child process so that its peak RSS (and peak GPU memory) is
its own. Seconds per step is the median gap between optimiser steps after the first (warm-up)
step. "Round wall" is everything a user waits for, from process start: importing the libraries,
loading the base, building the trainer, training, saving the adapter (ours also: reading the pairs
from the record, checkpoints, recording the round). The plain TRL script does the same work without the record: the same 4-bit base,
the same LoraConfig and DPOConfig, the same conversational pairs. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

START = time.perf_counter()  # "round wall" counts from process start: imports included, for both children

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SCRIPTORIUM_CACHE", str(ROOT / ".cache" / "models"))

STORY = ("The lighthouse keeper, a quiet woman named Ines, climbed the stairs at dusk. The lamp hummed; below, the sea "
         "kept its own counsel. When the ship appeared without lights she did not call the coast guard. She waited, "
         "counting the seconds between the flashes, and wrote each one in the log.")
WEAK = "The keeper was at the lighthouse. The sea was there. A ship came. She looked at it. It was a ship. The end."


def seed_record(rec, n: int) -> list[int]:
    ids = []
    for i in range(n):
        prompt = f"A lighthouse keeper sees a ship with no lights (variation {i})."
        a, b = rec.add_drafts([dict(request=f"r{i}", prompt=prompt, text=STORY, model="bench"),
                               dict(request=f"r{i}", prompt=prompt, text=WEAK, model="bench", candidate=1)])
        ids.append(rec.add_pair(prompt, a, b, "critic", 0.5))
    return ids


def peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_ours(args, precision: str) -> dict:
    import torch

    from record import open_record
    from training.config import RoundConfig
    from training.round import run_round

    torch.set_num_threads(args.threads)
    ws = Path(tempfile.mkdtemp(prefix="bench-dpo-"))
    os.environ["SCRIPTORIUM_HOME"] = str(ws)
    rec = open_record(ws)
    ids = seed_record(rec, args.pairs)
    stamps = []
    # the plain TRL script's settings: LoRA r=8 alpha 16, lr 5e-5, plain sigmoid DPO (no NLL term)
    cfg = RoundConfig(max_steps=args.steps, batch_size=args.batch_size, lora_r=8, save_steps=args.steps, seed=0,
                      lora_alpha=16, learning_rate=5e-5, sft_weight=0.0,
                      gradient_checkpointing=args.gradient_checkpointing)
    if args.device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    rid = run_round(rec, ids, cfg, precision=precision, device=args.device,
                    progress=lambda step, total, logs: stamps.append(time.perf_counter()))
    out = {"wall": time.perf_counter() - START, "steps": len(stamps), "step_s": _step_s(stamps), "rss_mb": peak_rss_mb(),
           "loss": rec.get("rounds", rid)["metrics"].get("loss_last")}
    if args.device == "cuda":
        out["gpu_mb"] = torch.cuda.max_memory_allocated() / 2**20
    return out


def child_plain_trl(args) -> dict:
    """The baseline: what a user would write with TRL directly, on the same pairs and settings."""
    import datasets
    import torch
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer, BitsAndBytesConfig, TrainerCallback
    from trl import DPOConfig, DPOTrainer

    from record.workspace import cache_dir
    from training.pairs import conversational
    from writer.models import builtin_model_dir

    torch.set_num_threads(args.threads)
    model_dir = builtin_model_dir(cache_dir(), progress=False)
    on_cuda = args.device == "cuda"
    compute = torch.bfloat16 if on_cuda else torch.float32
    model = AutoModelForCausalLM.from_pretrained(model_dir, quantization_config=BitsAndBytesConfig(
        load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True, bnb_4bit_compute_dtype=compute),
        dtype=compute, device_map={"": args.device})
    tok = AutoTokenizer.from_pretrained(model_dir)
    rows = [conversational(f"A lighthouse keeper sees a ship with no lights (variation {i}).", STORY, WEAK)
            for i in range(args.pairs)]
    stamps = []

    class Stamp(TrainerCallback):
        def on_step_end(self, *a, **k):
            stamps.append(time.perf_counter())

    out_dir = tempfile.mkdtemp(prefix="bench-trl-")
    trainer = DPOTrainer(
        model=model, processing_class=tok, train_dataset=datasets.Dataset.from_list(rows),
        peft_config=LoraConfig(r=8, lora_alpha=16, lora_dropout=0.0, target_modules=["q_proj", "k_proj", "v_proj", "o_proj"],
                               task_type="CAUSAL_LM"),
        args=DPOConfig(output_dir=out_dir, max_steps=args.steps, per_device_train_batch_size=args.batch_size,
                       learning_rate=5e-5, beta=0.1, max_length=512, logging_steps=1, save_strategy="no",
                       report_to=[], gradient_checkpointing=args.gradient_checkpointing, bf16=on_cuda, use_cpu=not on_cuda, seed=0,
                       disable_tqdm=True),
        callbacks=[Stamp()],
    )
    if on_cuda:
        torch.cuda.reset_peak_memory_stats()
    trainer.train()
    trainer.model.save_pretrained(out_dir + "/adapter")
    out = {"wall": time.perf_counter() - START, "steps": len(stamps), "step_s": _step_s(stamps), "rss_mb": peak_rss_mb()}
    if on_cuda:
        out["gpu_mb"] = torch.cuda.max_memory_allocated() / 2**20
    return out


def _step_s(stamps: list[float]) -> float | None:
    gaps = [b - a for a, b in zip(stamps, stamps[1:])]
    return statistics.median(gaps) if gaps else None


def run_child(kind: str, args) -> dict:
    cmd = [sys.executable, __file__, "--child", kind, "--steps", str(args.steps), "--pairs", str(args.pairs),
           "--batch-size", str(args.batch_size), "--device", args.device, "--threads", str(args.threads),
           *(["--gradient-checkpointing"] if args.gradient_checkpointing else [])]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    lines = [l for l in proc.stdout.splitlines() if l.startswith("RESULT ")]
    if proc.returncode or not lines:
        print(proc.stderr[-3000:], file=sys.stderr)
        raise SystemExit(f"child {kind} failed ({proc.returncode})")
    return json.loads(lines[-1][7:])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=8)
    p.add_argument("--pairs", type=int, default=16)
    p.add_argument("--batch-size", type=int, default=2)
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--gradient-checkpointing", action="store_true", help="on in every run (less memory, slower)")
    p.add_argument("--repeat", type=int, default=1, help="run the ours-vs-TRL pair this many times (alternating)")
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        result = child_plain_trl(args) if args.child == "trl" else child_ours(args, args.child)
        print("RESULT " + json.dumps(result), flush=True)
        return 0

    results: dict[str, list[dict]] = {}
    order = ["fp32", "4bit"] if args.device == "cpu" else ["bf16"]
    for _ in range(args.repeat):
        order += ["trl", "4bit-ours"]
    for kind in order:
        name = kind.replace("-ours", "")
        print(f"running {kind} ...", file=sys.stderr, flush=True)
        results.setdefault(kind, []).append(run_child(name, args))

    def best(kind, key):
        vals = [r[key] for r in results.get(kind, []) if r.get(key) is not None]
        return min(vals) if vals else None

    print(f"\nDPO on the built-in SmolLM2-135M, {args.device}, LoRA r=8 on q/k/v/o, batch {args.batch_size}, "
          f"{args.steps} steps on {args.pairs} pairs (~{len((STORY).split())}-word chosen), {args.threads} threads, "
          f"gradient checkpointing {'on' if args.gradient_checkpointing else 'off'}\n")
    print("| run | s/step | round wall (s) | peak RSS (MB) |" + (" peak GPU mem (MB) |" if args.device == "cuda" else ""))
    print("|---|---|---|---|" + ("---|" if args.device == "cuda" else ""))
    rows = [("ours, fp32 base", "fp32"), ("ours, bf16 base", "bf16"), ("ours, 4-bit nf4 base", "4bit"),
            ("ours, 4-bit (vs TRL run)", "4bit-ours"),
            ("plain TRL DPOTrainer script, 4-bit", "trl")]
    for label, kind in rows:
        if kind not in results:
            continue
        gpu = f" {best(kind, 'gpu_mb'):.0f} |" if args.device == "cuda" else ""
        print(f"| {label} | {best(kind, 'step_s'):.2f} | {best(kind, 'wall'):.1f} | {best(kind, 'rss_mb'):.0f} |{gpu}")
    print()
    if "bf16" in results and "4bit-ours" in results and args.device == "cuda":
        print(f"- 4-bit / bf16 peak GPU memory: {best('4bit-ours', 'gpu_mb') / best('bf16', 'gpu_mb'):.2f}x; "
              f"s/step: {best('4bit-ours', 'step_s') / best('bf16', 'step_s'):.2f}x")
    if "fp32" in results and "4bit" in results:
        print(f"- 4-bit / fp32 peak RSS: {best('4bit', 'rss_mb') / best('fp32', 'rss_mb'):.2f}x (goal <= 0.6x); "
              f"s/step: {best('4bit', 'step_s') / best('fp32', 'step_s'):.2f}x")
    print(f"- our round / plain TRL, wall: {best('4bit-ours', 'wall') / best('trl', 'wall'):.2f}x (goal <= 1.15x); "
          f"s/step: {best('4bit-ours', 'step_s') / best('trl', 'step_s'):.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
