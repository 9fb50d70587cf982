"""Fitting a chapter's context (story bible + outline + the previous chapter's end) to the
built-in writer's window, for outlines of 100 to 10,000 items: time per chapter.

    .venv/bin/python bench/bench_context.py [--sizes 100,300,1000,3000,10000] [--baseline-max 300]

Each outline item has a title and a 5-25 word summary; the bible has 20 entries, the previous
chapter is ~600 words, and the budget is what ``prompt_budget`` leaves in SmolLM2's window with
256 new tokens. Per size, chapters at the start, the middle and the end are fitted (the middle
one keeps a window of items on both sides) with ``writer.context.chapter_prompt``. The baseline,
in the same run, is the same rule done one cut at a time (re-tokenise after each cut:
``tests/writer/context_reference.py``, the algorithm before issue 16), up to ``--baseline-max``
items because it is quadratic. Only the built-in tokenizer is loaded (converted once like
``scriptorium draft`` does). Prints a Markdown table; the goal is under 1 s per chapter at
10,000 items on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SCRIPTORIUM_CACHE", str(ROOT / ".cache" / "models"))

WORDS = ("storm keeper lamp door sea night ship map cat dragon ice wind letter harbour tower rope "
         "island mother brother secret winter promise fire stranger bell").split()


def book(n: int, seed: int = 0) -> tuple[list[dict], list[dict], str]:
    rng = random.Random(seed)
    outline = [{"title": f"Chapter {i + 1}: The {rng.choice(WORDS)}",
                "summary": " ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 25)))} for i in range(n)]
    bible = [{"kind": "character", "name": f"Person {j}", "text": " ".join(rng.choice(WORDS) for _ in range(20))}
             for j in range(20)]
    previous = " ".join(f"The {rng.choice(WORDS)} waited by the {rng.choice(WORDS)} until morning." for _ in range(75))
    return outline, bible, previous


class _TokenizerOnly:
    """What ``prompt_budget`` reads from a writer, without loading the model."""

    def __init__(self, tokenizer, window: int):
        self.tokenizer, self.context_window = tokenizer, window


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="100,300,1000,3000,10000")
    ap.add_argument("--baseline-max", type=int, default=300, help="largest outline the one-cut-at-a-time baseline runs on")
    ap.add_argument("--max-new-tokens", type=int, default=256)
    args = ap.parse_args()

    from transformers import AutoConfig

    from record.workspace import cache_dir
    from tests.writer.context_reference import chapter_prompt_one_cut_at_a_time
    from writer.context import chapter_prompt, prompt_budget
    from writer.models import builtin_model_dir, load_tokenizer

    model_dir = builtin_model_dir(cache_dir(), progress=False)
    tok = load_tokenizer(model_dir)
    window = int(AutoConfig.from_pretrained(model_dir).max_position_embeddings)
    budget = prompt_budget(_TokenizerOnly(tok, window), args.max_new_tokens)
    print(f"Tokenizer: built-in SmolLM2 ({window}-token window); budget {budget} prompt tokens "
          f"({args.max_new_tokens} new tokens).\n")
    print("| outline items | chapter | fit (s) | one cut at a time (s) | x faster | prompt tokens | outline items cut |")
    print("|---:|---|---:|---:|---:|---:|---:|")
    for n in (int(s) for s in args.sizes.split(",")):
        outline, bible, previous = book(n)
        for label, index in (("first", 0), ("middle", n // 2), ("last", n - 1)):
            start = time.perf_counter()
            ctx = chapter_prompt(tok, bible, outline, index, previous, budget)
            fast = time.perf_counter() - start
            slow = ratio = "-"
            if n <= args.baseline_max:
                start = time.perf_counter()
                ref = chapter_prompt_one_cut_at_a_time(tok, bible, outline, index, previous, budget)
                took = time.perf_counter() - start
                assert (ref.text, ref.cut) == (ctx.text, ctx.cut), "the fast fit differs from the baseline"
                slow, ratio = f"{took:.2f}", f"{took / fast:.1f}"
            cuts = sum(c.startswith("outline item") for c in ctx.cut)
            print(f"| {n:,} | {label} | {fast:.3f} | {slow} | {ratio} | {ctx.tokens} | {cuts:,} |")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
