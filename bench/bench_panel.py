"""Critic panel throughput, the gain from embedding once, and scoring cost next to drafting.

    .venv/bin/python bench/bench_panel.py                    # 200 stories, K=4 x 2 prompts
    .venv/bin/python bench/bench_panel.py --n 50 --prompts 1 # quicker

All in one run, so the ratios compare like with like on a shared, noisy machine:
1. the default panel (style, lexical, coherence, relevance) on ``--n`` stories of ~300 words
   cut at sentence boundaries from ../shared/data/critic-dev: stories/s (models loaded and
   warmed up first, text cache emptied before each timed pass);
2. the same critics where each embedding critic embeds on its own (no shared batch, no text
   cache): the baseline for "embed once";
3. the panel with the fluency critic (built-in SmolLM2 in fp32 as the frozen reference);
4. drafting K candidates for ``--prompts`` prompts with the built-in writer (256 new tokens),
   then scoring those candidates with and without fluency: scoring time / drafting time.
Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SCRIPTORIUM_CACHE", str(ROOT / ".cache" / "models"))
DATA = ROOT.parent / "shared" / "data"


def stories_of_about(words: int, n: int) -> tuple[list[str], list[str]]:
    """(prompts, stories): runs of whole sentences of ~``words`` words from critic-dev. The
    126 stories give ~160 such runs; a second pass starting half a run later gives the rest
    (overlapping, but different texts); duplicates are dropped."""
    from critics.calibrate import load_folder
    from critics.text import parse

    seen: set[str] = set()
    docs = []
    for items in load_folder(DATA / "critic-dev").values():
        for s in items:
            if s.story not in seen:  # the mixed set repeats some of the 96 human stories
                seen.add(s.story)
                docs.append((s.prompt, parse(s.story)))
    prompts, stories = [], []
    for offset in (0, words // 2):
        for prompt, doc in docs:
            chunk, count, skipped = [], 0, 0
            for sent, w in zip(doc.sentences, doc.sentence_words):
                if skipped < offset:
                    skipped += len(w)
                    continue
                chunk.append(sent)
                count += len(w)
                if count >= words:
                    _add(prompts, stories, prompt, " ".join(chunk))
                    chunk, count = [], 0
            if count >= words * 2 // 3:
                _add(prompts, stories, prompt, " ".join(chunk))
        if len(stories) >= n:
            break
    if len(stories) < n:
        raise SystemExit(f"only {len(stories)} stories of ~{words} words in {DATA / 'critic-dev'}")
    return prompts[:n], stories[:n]


def _add(prompts: list[str], stories: list[str], prompt: str, story: str) -> None:
    if story not in stories:
        prompts.append(prompt)
        stories.append(story)


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=200, help="stories to score (default 200)")
    p.add_argument("--words", type=int, default=300, help="words per story (default 300)")
    p.add_argument("--k", type=int, default=4, help="candidates per prompt for the drafting comparison")
    p.add_argument("--prompts", type=int, default=2, help="prompts for the drafting comparison")
    p.add_argument("--max-new-tokens", type=int, default=256)
    p.add_argument("--fluency-n", type=int, default=None, help="stories for the fluency pass (default: --n; 0 skips it)")
    p.add_argument("--no-draft", action="store_true", help="skip the drafting comparison (throughput only)")
    args = p.parse_args()

    import torch

    from critics.batch import Batch
    from critics.embed import Embedder, get_embedder
    from critics.fluency import FluencyCritic
    from critics.panel import Panel, PanelConfig
    from writer.draft import DraftConfig, draft
    from writer.models import load_writer

    prompts, stories = stories_of_about(args.words, args.n)
    n_words = sum(len(s.split()) for s in stories) / len(stories)
    rows = []
    panel = Panel()
    panel.score(prompts[:4], [s + " (warm-up)" for s in stories[:4]])  # load and warm the models

    emb = panel.embedder
    emb.clear()
    t_panel, _ = timed(lambda: panel.score(prompts, stories))
    rows.append(("panel, no fluency (embed once, shared)", len(stories), t_panel))

    # baseline: every embedding critic on its own, embedding for itself
    private = Embedder(panel.config.embed_dtype, cache_size=0)
    private.model = emb.model  # the same weights; only the sharing differs

    def per_critic():
        for name, critic in panel.critics.items():
            b = Batch(prompts, stories, embedder=private if critic.uses_embeddings else None)
            critic.score(prompts, stories, batch=b)

    t_sep, _ = timed(per_critic)
    rows.append(("same critics, each embedding on its own", len(stories), t_sep))

    print(f"| what | stories | seconds | stories/s |\n|---|---|---|---|", file=sys.stderr)
    for what, count, secs in rows:
        print(f"| {what} | {count} | {secs:.1f} | {count / secs:.2f} |", file=sys.stderr)
    if args.fluency_n == 0 and args.no_draft:
        print(f"\nMachine: {os.cpu_count()} CPU cores, torch threads {torch.get_num_threads()}, embedding dtype "
              f"{emb.dtype}; stories: {len(stories)} x ~{n_words:.0f} words from critic-dev\n")
        print("| what | stories | seconds | stories/s |\n|---|---|---|---|")
        for what, count, secs in rows:
            print(f"| {what} | {count} | {secs:.1f} | {count / secs:.2f} |")
        print(f"\nembed once vs each critic on its own: {t_sep / t_panel:.2f}x")
        return 0
    writer = load_writer(None, precision="fp32", device="cpu", progress=False)
    fluent_panel = Panel(PanelConfig(critics=["style", "lexical", "coherence", "relevance", "fluency"]), reference=writer)
    fluent_panel.critics["fluency"].score(prompts[:2], stories[:2])  # warm-up
    fn = args.fluency_n or len(stories)
    emb.clear()
    t_flu, _ = timed(lambda: fluent_panel.score(prompts[:fn], stories[:fn]))
    rows.append(("panel with fluency (SmolLM2-135M fp32 reference)", fn, t_flu))

    # drafting K candidates vs scoring them
    draft_prompts = prompts[: args.prompts]
    cfg = DraftConfig(k=args.k, max_new_tokens=args.max_new_tokens, seed=0)
    t_draft, cands = timed(lambda: draft(writer, draft_prompts, cfg))
    flat_p = [c.prompt for cs in cands for c in cs]
    flat_s = [c.text for cs in cands for c in cs]
    tokens = sum(c.tokens for cs in cands for c in cs)
    emb.clear()
    t_score_k, _ = timed(lambda: panel.score(flat_p, flat_s))
    emb.clear()
    t_score_kf, _ = timed(lambda: fluent_panel.score(flat_p, flat_s))

    print(f"\nMachine: {os.cpu_count()} CPU cores, torch threads {torch.get_num_threads()}, "
          f"embedding dtype {emb.dtype}; stories: {len(stories)} x ~{n_words:.0f} words from critic-dev\n")
    print("| what | stories | seconds | stories/s |")
    print("|---|---|---|---|")
    for what, count, secs in rows:
        print(f"| {what} | {count} | {secs:.1f} | {count / secs:.2f} |")
    print(f"\n| ratio | value |\n|---|---|")
    print(f"| embed once vs each critic on its own (speed-up) | {t_sep / t_panel:.2f}x |")
    print(f"| drafting {args.prompts} prompts x K={args.k} ({tokens} new tokens) | {t_draft:.1f} s |")
    print(f"| scoring those {len(flat_s)} candidates, no fluency | {t_score_k:.2f} s = {t_score_k / t_draft:.1%} of drafting |")
    print(f"| scoring those {len(flat_s)} candidates, with fluency | {t_score_kf:.2f} s = {t_score_kf / t_draft:.1%} of drafting |")
    print(json.dumps({"panel_sps": len(stories) / t_panel, "separate_sps": len(stories) / t_sep,
                      "fluency_sps": fn / t_flu, "draft_s": t_draft, "score_k_ratio": t_score_k / t_draft,
                      "score_kf_ratio": t_score_kf / t_draft}), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
