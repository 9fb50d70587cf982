"""Does a critic see sentence order, and what else does it prefer? The order critic (the story
against its own shuffles under the built-in writer) beside the coherence critic and the trained
reader, in one run, on the dev data's validation prompts: how often a 100-150-word crop beats a
shuffled copy of itself, the AUC of people's crops against the 2023 LLMs' (does the critic
prefer machine text?), and the seconds each critic spends per story; then the order contrast's
quantiles for people's crops, the LLMs' and the shuffled copies (nats per token), and the share
of each that reads worse as written than shuffled (contrast < 0).

    .venv/bin/python bench/bench_order.py                 # up to 40 people's crops and 40 LLMs'
    .venv/bin/python bench/bench_order.py --n 10 --threads 1
    .venv/bin/python bench/bench_order.py --split train   # for choosing a mapping (not for quoting)

Reads ../shared/data/critic-dev in place (exits with a message when it is absent).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "critic-dev"))
    p.add_argument("--n", type=int, default=40, help="crops of each side (people's, the LLMs') to test")
    p.add_argument("--split", choices=["val", "train"], default="val")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = p.parse_args(argv)
    if not Path(args.data).is_dir():
        print(f"no dev data at {args.data}: pass --data DIR", file=sys.stderr)
        return 2
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    from critics.calibrate import auc, prefers
    from critics.coherence import CoherenceCritic
    from critics.devdata import load_dev
    from critics.order import OrderCritic
    from critics.reader import ReaderCritic
    from critics.reader_data import crop, join, sentences, shuffled

    rng = random.Random(args.seed)
    sides = {"people": [], "LLMs": []}
    for s in load_dev(args.data):
        if s.split == args.split and s.file != "hanna_mixed30.jsonl":
            sents = crop(sentences(s.story), 0, 150)
            if len(sents) >= 4 and len(join(sents).split()) >= 100:
                sides["people" if s.file == "hanna_human96.csv" else "LLMs"].append((s.prompt, sents))
    for side in sides.values():
        rng.shuffle(side)
    people, llms = sides["people"][:args.n], sides["LLMs"][:args.n]
    items = people + llms
    human = np.array([True] * len(people) + [False] * len(llms))
    prompts = [p for p, _ in items]
    own = [join(s) for _, s in items]
    mixed = [join(shuffled(s, rng) or s) for _, s in items]
    critics = {"order": OrderCritic(), "coherence": CoherenceCritic(), "reader": ReaderCritic()}
    warm = "The lamp went out. She waited in the dark. Then the door opened."  # not a test text: the order
    for c in critics.values():  # critic remembers what it read; load and warm up outside the timing
        c.score([""], [warm])
    print(f"{args.split} crops of 100-150 words, {human.sum()} people's and {(~human).sum()} 2023 LLMs', "
          "each against a shuffled copy\n")
    print("| critic | beats its shuffled copy | AUC people vs LLMs | s per story |")
    print("|---|---|---|---|")
    contrast = {}
    for name, c in critics.items():
        t = time.perf_counter()
        a, b = c.score(prompts, own), c.score(prompts, mixed)
        dt = (time.perf_counter() - t) / (2 * len(items))
        x, y = np.array([r.score for r in a]), np.array([r.score for r in b])
        wins = float(prefers(x, y).mean())
        print(f"| {name} | {wins:.0%} | {auc(x[human], x[~human]):.2f} | {dt:.3f} |")
        if name == "order":
            contrast = {"people": np.array([r.details["contrast"] for r, h in zip(a, human) if h]),
                        "LLMs": np.array([r.details["contrast"] for r, h in zip(a, human) if not h]),
                        "shuffled copies": np.array([r.details["contrast"] for r in b])}
    print("\n| order contrast (nats/token) | q10 | q25 | median | q75 | q90 | reads worse as written (< 0) |")
    print("|---|---|---|---|---|---|---|")
    for side, v in contrast.items():
        q = np.quantile(v, [0.1, 0.25, 0.5, 0.75, 0.9])
        print(f"| {side} ({len(v)}) | " + " | ".join(f"{z:+.3f}" for z in q) + f" | {np.mean(v < 0):.0%} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
