"""Drafting throughput and memory of the built-in writer: batched vs one sequence at a time,
fp32, bf16 and 4-bit, against llama.cpp on the same GGUF, plus load times.

    .venv/bin/python bench/bench_draft.py                 # the full run (~15 min on 2 cores)
    .venv/bin/python bench/bench_draft.py --sequential 8  # how many sequences the sequential baseline times

Each precision runs in its own child process so that its peak RSS is its own. Throughput is the
aggregate of generated tokens (padding and tokens after an end-of-text are not counted) over
wall time. The sequential baseline times ``--sequential`` of the 32 sequences one at a time (a
rate, so a sample is enough); the batched run drafts all 32 (K=8 x 4 prompts) in one call.
llama.cpp (``pip install llama-cpp-python``, a bench-only extra) runs single-stream with
2 threads on the same GGUF; if it is not installed the row says so. Where CUDA is present the
same run is repeated on the GPU in 4-bit and bf16; otherwise that section says it was skipped.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PROMPTS = [
    "A lighthouse keeper finds a door at the bottom of the sea.",
    "Write a story about the last bookshop on Earth.",
    "Two rival chefs are trapped in a snowed-in mountain inn.",
    "A child discovers that her grandmother's garden is alive.",
]
K, NEW_TOKENS = 8, 128


def peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(precision: str, device: str, sequential: int) -> dict:
    from writer.draft import DraftConfig, draft
    from writer.models import load_writer

    t = time.perf_counter()
    writer = load_writer(precision=precision, device=device, progress=False)
    load_s = time.perf_counter() - t
    cfg = DraftConfig(k=K, max_new_tokens=NEW_TOKENS, seed=0)
    draft(writer, [PROMPTS[0]], DraftConfig(k=2, max_new_tokens=8))  # warm-up
    t = time.perf_counter()
    out = draft(writer, PROMPTS, cfg)
    batched_s = time.perf_counter() - t
    batched_tokens = sum(c.tokens for cands in out for c in cands)
    seq_tokens, seq_s = 0, 0.0
    one = DraftConfig(k=1, max_new_tokens=NEW_TOKENS, seed=0)
    jobs = [(p, c) for c in range(K) for p in PROMPTS][:sequential]
    for prompt, c in jobs:
        t = time.perf_counter()
        cand = draft(writer, [prompt], DraftConfig(**{**one.to_dict(), "seed": c}))[0][0]
        seq_s += time.perf_counter() - t
        seq_tokens += cand.tokens
    return {
        "precision": precision, "device": device, "load_s": load_s,
        "footprint_mb": writer.model.get_memory_footprint() / 2**20,
        "batched_tok_s": batched_tokens / batched_s, "batched_tokens": batched_tokens, "batched_s": batched_s,
        "sequential_tok_s": seq_tokens / seq_s, "sequential_n": len(jobs),
        "peak_rss_mb": peak_rss_mb(),
        **({"peak_gpu_mb": _peak_gpu_mb()} if device == "cuda" else {}),
    }


def _peak_gpu_mb() -> float:
    import torch

    return torch.cuda.max_memory_allocated() / 2**20


def llama_cpp_child() -> dict:
    try:
        from llama_cpp import Llama
    except ImportError:
        return {"skipped": "llama-cpp-python is not installed (pip install llama-cpp-python; see BENCHMARKS.md)"}
    from writer.models import builtin_gguf

    llm = Llama(model_path=str(builtin_gguf()), n_threads=2, n_ctx=2048, verbose=False, seed=0)
    llm.create_chat_completion([{"role": "user", "content": "hi"}], max_tokens=4)  # warm-up
    tokens, secs = 0, 0.0
    for prompt in PROMPTS:
        t = time.perf_counter()
        r = llm.create_chat_completion([{"role": "system", "content": "You are a fiction writer."},
                                        {"role": "user", "content": prompt}],
                                       max_tokens=NEW_TOKENS, temperature=0.8, top_p=0.95)
        secs += time.perf_counter() - t
        tokens += r["usage"]["completion_tokens"]
    return {"tok_s": tokens / secs, "tokens": tokens, "peak_rss_mb": peak_rss_mb()}


def load_times() -> dict:
    """Cold start: conversion of the GGUF into an empty cache; warm start: load from the cache."""
    from writer.models import load_writer

    with tempfile.TemporaryDirectory() as cache:
        t = time.perf_counter()
        load_writer(cache=Path(cache), progress=False)
        cold = time.perf_counter() - t
        t = time.perf_counter()
        load_writer(cache=Path(cache), progress=False)
        warm = time.perf_counter() - t
    return {"cold_s": cold, "warm_s": warm}


def run_child(args: list[str]) -> dict:
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, cwd=ROOT)
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr.strip() else f"exit {out.returncode}"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sequential", type=int, default=8, help="sequences timed one at a time (default 8 of 32)")
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"],
                   help="cuda: only the GPU rows (4-bit and bf16), for a GPU machine")
    args = p.parse_args()
    if args.child == "llama_cpp":
        print(json.dumps(llama_cpp_child()))
        return
    if args.child == "load":
        print(json.dumps(load_times()))
        return
    if args.child:
        print(json.dumps(child(args.child, args.device, args.sequential)))
        return

    import torch

    if args.device == "cuda":
        cuda_table(args, torch)
        return
    torch_threads = torch.get_num_threads()
    rows = {prec: run_child(["--child", prec, "--sequential", str(args.sequential)]) for prec in ("fp32", "bf16", "4bit")}
    ref = run_child(["--child", "llama_cpp"])
    loads = run_child(["--child", "load"])
    print(f"## Drafting benchmark ({time.strftime('%Y-%m-%d')}, torch threads {torch_threads}, "
          f"K={K} x {len(PROMPTS)} prompts x {NEW_TOKENS} new tokens)\n")
    print("| precision | batched tok/s | sequential tok/s | batched / sequential | batched / llama.cpp | weights MB | peak RSS MB | load s |")
    print("|---|---|---|---|---|---|---|---|")
    for prec, r in rows.items():
        if "error" in r:
            print(f"| {prec} | error: {r['error']} |||||||")
            continue
        vs_ref = f"{r['batched_tok_s'] / ref['tok_s']:.2f}x" if "tok_s" in ref else "n/a"
        print(f"| {prec} | {r['batched_tok_s']:.1f} | {r['sequential_tok_s']:.1f} (n={r['sequential_n']}) | "
              f"{r['batched_tok_s'] / r['sequential_tok_s']:.2f}x | {vs_ref} | {r['footprint_mb']:.0f} | "
              f"{r['peak_rss_mb']:.0f} | {r['load_s']:.1f} |")
    if "tok_s" in ref:
        print(f"\nllama.cpp (llama-cpp-python, same GGUF, single stream, 2 threads): {ref['tok_s']:.1f} tok/s, "
              f"peak RSS {ref['peak_rss_mb']:.0f} MB")
    else:
        print(f"\nllama.cpp: {ref.get('skipped') or ref.get('error')}")
    if "fp32" in rows and "4bit" in rows and "error" not in rows["fp32"] and "error" not in rows["4bit"]:
        f, q = rows["fp32"], rows["4bit"]
        print(f"\n4-bit / fp32: weights {q['footprint_mb'] / f['footprint_mb']:.2f}x (goal <= 0.35x), "
              f"peak RSS {q['peak_rss_mb'] / f['peak_rss_mb']:.2f}x")
    if "cold_s" in loads:
        print(f"\nLoad: cold start (GGUF conversion into an empty cache, then load) {loads['cold_s']:.1f} s; "
              f"warm start (from the cache) {loads['warm_s']:.1f} s")
    if torch.cuda.is_available():
        cuda_table(args, torch)
    else:
        print("\nCUDA: skipped (no CUDA GPU on this machine)")


def cuda_table(args, torch) -> None:
    if not torch.cuda.is_available():
        print("CUDA: skipped (no CUDA GPU on this machine)")
        return
    print(f"\n### CUDA ({torch.cuda.get_device_name()}, torch {torch.__version__}, "
          f"K={K} x {len(PROMPTS)} prompts x {NEW_TOKENS} new tokens)\n")
    print("| precision | batched tok/s | sequential tok/s | batched / sequential | weights MB | peak GPU MB | load s |")
    print("|---|---|---|---|---|---|---|")
    for prec in ("4bit", "bf16"):
        r = run_child(["--child", prec, "--device", "cuda", "--sequential", str(args.sequential)])
        if "error" in r:
            print(f"| {prec} | error: {r['error']} ||||||")
            continue
        print(f"| {prec} | {r['batched_tok_s']:.1f} | {r['sequential_tok_s']:.1f} (n={r['sequential_n']}) | "
              f"{r['batched_tok_s'] / r['sequential_tok_s']:.2f}x | {r['footprint_mb']:.0f} | "
              f"{r.get('peak_gpu_mb', 0):.0f} | {r['load_s']:.1f} |")


if __name__ == "__main__":
    main()
