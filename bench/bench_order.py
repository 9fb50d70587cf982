"""Does a critic see sentence order? The order critic (the story against its own shuffles under
the built-in writer) beside the coherence critic and the trained reader, in one run, on the dev
data's validation prompts: how often a 100-150-word crop beats a shuffled copy of itself, and
the seconds each critic spends per story.

    .venv/bin/python bench/bench_order.py                 # 80 crops (people's and 2023 LLMs')
    .venv/bin/python bench/bench_order.py --n 20 --threads 1

Reads ../shared/data/critic-dev in place (exits with a message when it is absent).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "critic-dev"))
    p.add_argument("--n", type=int, default=80, help="crops to test")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = p.parse_args(argv)
    if not Path(args.data).is_dir():
        print(f"no dev data at {args.data}: pass --data DIR", file=sys.stderr)
        return 2
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    from critics.coherence import CoherenceCritic
    from critics.devdata import load_dev
    from critics.order import OrderCritic
    from critics.reader import ReaderCritic
    from critics.reader_data import crop, join, sentences, shuffled

    rng = random.Random(args.seed)
    items = []
    for s in load_dev(args.data):
        if s.split == "val" and s.file != "hanna_mixed30.jsonl":
            sents = crop(sentences(s.story), 0, 150)
            if len(sents) >= 4 and len(join(sents).split()) >= 100:
                items.append((s.prompt, sents))
    rng.shuffle(items)
    items = items[:args.n]
    prompts = [p for p, _ in items]
    own = [join(s) for _, s in items]
    mixed = [join(shuffled(s, rng) or s) for _, s in items]
    critics = {"order": OrderCritic(), "coherence": CoherenceCritic(), "reader": ReaderCritic()}
    for c in critics.values():  # load and warm up outside the timing
        c.score(prompts[:2], own[:2])
    print(f"{len(items)} validation crops of 100-150 words (people's and 2023 LLMs'), each against a shuffled copy\n")
    print("| critic | beats its shuffled copy | s per story |")
    print("|---|---|---|")
    for name, c in critics.items():
        t = time.perf_counter()
        a = [x.score for x in c.score(prompts, own)]
        b = [x.score for x in c.score(prompts, mixed)]
        dt = (time.perf_counter() - t) / (2 * len(items))
        wins = sum(1.0 if x > y else 0.5 if x == y else 0.0 for x, y in zip(a, b)) / len(items)
        print(f"| {name} | {wins:.0%} | {dt:.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
