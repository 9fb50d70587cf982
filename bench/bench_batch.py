"""Batch generation on the built-in writer: stories per minute for best-of-1 vs best-of-4 (the
cost of reranking), in-process vs Ray with 2 workers, and the share of the run spent on the
record and resume bookkeeping.

    .venv/bin/python bench/bench_batch.py                       # ~6 min on 2 busy cores
    .venv/bin/python bench/bench_batch.py --prompts 8 --max-new-tokens 128 --no-ray

Every configuration drafts the same prompts (the first ``--prompts`` of the shared
WritingPrompts file when present, else a built-in list) with the default critic panel, into a
fresh workspace. Models are loaded and warmed up before the clock starts (load times are
reported apart), so a row times drafting + scoring + best-of-K + record + files. Ray runs on a
local Ray with ``--ray-cpus`` CPUs and one actor per CPU, each actor with one torch thread; the
in-process runs use one torch thread (the fair match for one actor); ``--default-threads`` adds
K=4 with torch's default (one per core), which suffers badly when other processes share the
cores. The bookkeeping share is the driver's
time in record transactions, resume look-ups and file writes over the run's wall time.
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
FALLBACK = [
    "A lighthouse keeper finds a door at the bottom of the sea.",
    "Write a story about the last bookshop on Earth.",
    "Two rival chefs are trapped in a snowed-in mountain inn.",
    "A child discovers that her grandmother's garden is alive.",
    "The moon files a complaint about the people who live on it.",
    "A retired spy is asked to babysit.",
    "Every mirror in town shows the same stranger.",
    "A river decides to flow uphill for one day.",
]


def load_items(n: int):
    from batch.inputs import Item, load_prompts

    if SHARED_PROMPTS.is_file():
        return load_prompts(SHARED_PROMPTS, limit=n), str(SHARED_PROMPTS)
    return [Item(key=f"p{i}", position=i, prompt=p) for i, p in enumerate(FALLBACK[:n])], "built-in list"


def run(backend, items, spec, draft_cfg, panel_cfg, label: str):
    from batch.config import BatchConfig
    from batch.runner import run_batch
    from record import Record

    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        rec = Record.open(Path(tmp) / "record.sqlite")
        try:
            summary = run_batch(rec, Path(tmp) / "out", items, [], spec, draft_cfg, BatchConfig(progress=False),
                                backend, panel_config=panel_cfg)
            t = time.perf_counter()
            again = run_batch(rec, Path(tmp) / "out", items, [], spec, draft_cfg, BatchConfig(progress=False),
                              backend, panel_config=panel_cfg)  # resume of a finished run: no drafting
            resume_s = time.perf_counter() - t
        finally:
            rec.close()
    assert summary.finished == len(items) and again.generated == 0, (summary, again)
    row = {"label": label, "stories": summary.finished, "seconds": summary.seconds,
           "stories_per_min": 60 * summary.finished / summary.seconds, "tokens": summary.tokens,
           "tok_s": summary.tokens / summary.seconds, "bookkeeping_s": summary.bookkeeping_seconds,
           "bookkeeping_share": summary.bookkeeping_seconds / summary.seconds, "resume_finished_s": resume_s}
    print(f"  {label}: {row['stories_per_min']:.2f} stories/min, {row['tok_s']:.1f} tok/s, "
          f"bookkeeping {100 * row['bookkeeping_share']:.2f}%", file=sys.stderr)
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--prompts", type=int, default=4, help="stories per configuration (default 4)")
    ap.add_argument("--max-new-tokens", type=int, default=64, help="tokens per candidate (default 64)")
    ap.add_argument("--ray-cpus", type=int, default=2, help="CPUs of the local Ray = its workers (default 2)")
    ap.add_argument("--no-ray", action="store_true", help="skip the Ray rows")
    ap.add_argument("--default-threads", action="store_true",
                    help="also time in-process K=4 with torch's default threads (very slow on shared, busy cores)")
    ap.add_argument("--json", help="also write the rows to this JSON file")
    args = ap.parse_args()

    from batch.ray_backend import RayBackend, RayOptions, is_ray_available
    from batch.runner import LocalBackend
    from batch.worker import ItemWorker, Task, WriterSpec
    from critics.panel import PanelConfig
    from record.workspace import cache_dir
    from writer.draft import DraftConfig
    from writer.models import resolve_model

    import torch

    items, source = load_items(args.prompts)
    model_dir, model_id = resolve_model(None, cache_dir(), progress=True)
    spec = WriterSpec(model_dir=str(model_dir), model_id=model_id)
    panel_cfg = PanelConfig()
    rows, loads = [], {}
    default_threads = torch.get_num_threads()
    configs = [(1, 1), (4, 1)] + ([(4, default_threads)] if args.default_threads and default_threads > 1 else [])
    for k, threads in configs:
        torch.set_num_threads(threads)
        draft_cfg = DraftConfig(k=k, max_new_tokens=args.max_new_tokens, seed=0).to_dict()
        t = time.perf_counter()
        worker = ItemWorker(spec, draft_cfg, panel_cfg)
        loads["in-process writer + panel"] = time.perf_counter() - t
        worker.work(Task(key="warm-up", prompt="Warm up with a short story."))
        rows.append(run(LocalBackend(spec, draft_cfg, panel_cfg, worker=worker), items, spec, draft_cfg, panel_cfg,
                        f"in-process, K={k}, {threads} torch thread{'s' if threads > 1 else ''}"))
        del worker
    torch.set_num_threads(default_threads)

    if not args.no_ray and is_ray_available():
        import ray

        ray.init(num_cpus=args.ray_cpus, include_dashboard=False, log_to_driver=False)
        try:
            for k in (1, 4):
                draft_cfg = DraftConfig(k=k, max_new_tokens=args.max_new_tokens, seed=0).to_dict()
                backend = RayBackend(RayOptions(workers=args.ray_cpus), spec, draft_cfg, panel_cfg)
                t = time.perf_counter()
                backend.start()
                loads[f"{args.ray_cpus} Ray actors (in parallel)"] = time.perf_counter() - t
                ray.get([a.work.remote(Task(key="warm-up", prompt="Warm up with a short story."))
                         for a in backend.actors])
                rows.append(run(backend, items, spec, draft_cfg, panel_cfg,  # the run's end kills the actors
                                f"Ray, K={k}, {args.ray_cpus} actors x 1 torch thread"))
        finally:
            ray.shutdown()
    elif not args.no_ray:
        print("Ray is not installed: the Ray rows are skipped (pip install 'scriptorium[ray]')", file=sys.stderr)

    def baseline(r):  # in-process, same K, one torch thread
        k = r["label"].split("K=")[1].split(",")[0]
        return next(b for b in rows if b["label"] == f"in-process, K={k}, 1 torch thread")

    print(f"\n{len(items)} prompts from {source}, max_new_tokens={args.max_new_tokens}, default panel "
          f"({', '.join(panel_cfg.critics)}), cores: {os.cpu_count()}\n")
    print("| configuration | stories/min | vs in-process K=1 (1 thread) | vs in-process same K (1 thread) | tokens/s "
          "| bookkeeping share | resume of the finished run (s) |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['label']} | {r['stories_per_min']:.2f} | {r['stories_per_min'] / rows[0]['stories_per_min']:.2f}x | "
              f"{r['stories_per_min'] / baseline(r)['stories_per_min']:.2f}x | {r['tok_s']:.1f} | "
              f"{100 * r['bookkeeping_share']:.2f}% | {r['resume_finished_s']:.2f} |")
    print("\n| model load (before the clock) | seconds |\n|---|---|")
    for name, s in loads.items():
        print(f"| {name} | {s:.1f} |")
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "loads": loads}, indent=2))


if __name__ == "__main__":
    main()
