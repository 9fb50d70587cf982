"""How long are the studio's rewrites of a selection? The built-in writer rewrites passages of
one to four sentences cut from HANNA's human stories (../shared/data/critic-dev, read in place),
K candidates each, the same seeds for every row:

- ``v0``: the studio's first request ("Keep its events and its length"), the book's token
  budget (96 new tokens), the text pasted as the model wrote it (the baseline);
- ``request + budget``: today's request (the passage's word count and bounds, one paragraph)
  and token budget (``ui.studio.drafting.passage_request``), the raw text;
- ``studio``: the same, after ``fit_passage`` (chatter and quotes off, one paragraph, cut at a
  sentence end within the bounds): what the author is shown.

    .venv/bin/python bench/bench_studio_rewrite.py                 # ~10 min on 2 busy cores
    .venv/bin/python bench/bench_studio_rewrite.py --passages 10 --k 2

A candidate is within bounds when its word count is within 30% of the selection's
(``length_bounds``). Prints a Markdown table: share within bounds, too short, too long, the
median length ratio, the share with a paragraph break where the selection had none, and the
share that ends at a sentence end (a rewrite ``fit_passage`` had to cut at the word bound
ends mid-sentence).
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data" / "critic-dev"
V0_REQUEST = ("Rewrite this passage from the chapter \"{title}\" so it reads better. Keep its events and "
              "its length; change the wording.\n\nPassage:\n{passage}")


def passages(n: int, seed: int) -> list[str]:
    """``n`` passages of 1-4 consecutive sentences (8-70 words) from different human stories."""
    from critics.devdata import load_dev
    from critics.text import split_sentences

    stories = [s for s in load_dev(DATA, files=("hanna_human96.csv",)) if s.author == "human"]
    rng = random.Random(seed)
    rng.shuffle(stories)
    out = []
    for s in stories:
        sentences = [x for para in s.story.split("\n") for x in split_sentences(" ".join(para.split())) if x.strip()]
        if len(sentences) < 2:
            continue
        start = rng.randrange(len(sentences))
        piece = " ".join(sentences[start:start + rng.randint(1, 4)])
        if 8 <= len(piece.split()) <= 70:
            out.append(piece)
        if len(out) >= n:
            break
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--passages", type=int, default=24, help="passages to rewrite (default 24)")
    p.add_argument("--k", type=int, default=2, help="candidates per passage (default 2, the studio's)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    if not DATA.is_dir():
        print(f"the critic-dev data folder {DATA} is absent; this benchmark reads its human stories", file=sys.stderr)
        return 2

    from writer.draft import DraftConfig, draft
    from writer.models import load_writer

    from ui.studio.books import instructions_for
    from ui.studio.drafting import SENTENCE_END, fit_passage, length_bounds, passage_request

    ends = re.compile(SENTENCE_END.pattern + r"\Z")
    writer = load_writer(None, precision="fp32", progress=False)
    instructions = instructions_for({"title": "The Book", "genre": "", "language": "en"})
    base = DraftConfig(k=args.k, max_new_tokens=96, seed=args.seed)
    rows: dict[str, list[tuple[int, str]]] = {"v0 (first request, 96 tokens, as written)": [],
                                              "request + budget (raw)": [], "studio (request + budget + fit)": []}
    chosen = passages(args.passages, args.seed)
    for i, piece in enumerate(chosen):
        words = len(piece.split())
        old = draft(writer, [V0_REQUEST.format(title="The Book", passage=piece)], base, instructions)[0]
        prompt, cfg = passage_request(writer.tokenizer, "The Book", piece, "rewrite", base)
        new = draft(writer, [prompt], cfg, instructions)[0]
        rows["v0 (first request, 96 tokens, as written)"] += [(words, c.text) for c in old]
        rows["request + budget (raw)"] += [(words, c.text) for c in new]
        rows["studio (request + budget + fit)"] += [(words, fit_passage(c.text, words, False)) for c in new]
        print(f"  passage {i + 1}/{len(chosen)} ({words} words) done", file=sys.stderr)

    print(f"\n{len(chosen)} passages ({min(len(x.split()) for x in chosen)}-{max(len(x.split()) for x in chosen)} words), "
          f"{args.k} candidates each, seed {args.seed}, built-in writer fp32\n")
    print("| rewrite | within ±30% | too short | too long | median length / selection | new paragraph breaks "
          "| ends at a sentence end | cut at the bound (marked \u2026) |")
    print("|---|---|---|---|---|---|---|---|")
    for label, got in rows.items():
        inside = short = long = 0
        ratios, breaks, ended, marked = [], 0, 0, 0
        for words, text in got:
            lo, hi = length_bounds(words)
            n = len(text.split())
            inside += lo <= n <= hi
            short += n < lo
            long += n > hi
            ratios.append(n / words)
            breaks += "\n\n" in text.strip() or "\n" in text.strip()
            cut = "studio" in label and text.strip().endswith("\u2026")  # fit_passage's marked cut
            marked += cut
            ended += bool(ends.search(text.strip())) and not cut
        total = len(got)
        print(f"| {label} | {inside / total:.0%} | {short / total:.0%} | {long / total:.0%} | "
              f"{statistics.median(ratios):.2f} | {breaks / total:.0%} | {ended / total:.0%} | "
              f"{marked / total:.0%} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
