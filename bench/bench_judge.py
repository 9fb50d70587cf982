"""The LLM-judge critic on the dev data's validation prompts: agreement with people, and its cost.

    .venv/bin/python bench/bench_judge.py                       # built-in SmolLM2 as the judge, 32 val prompts
    .venv/bin/python bench/bench_judge.py --prompts 8 --llm 2   # quicker
    .venv/bin/python bench/bench_judge.py --judge-model DIR     # another local instruct model

Validation prompts only (``critics.devdata.split_of(prompt) == 'val'``), all in one run:
(a) AUC human vs machine: the human96 story against ``--llm`` of the llm576 stories of each
    prompt (the same seeded pick every run), every story cropped to its first whole sentences
    of 90-150 words (``critics.calibrate.crop``) so that length cannot decide; the judge's score, each criterion's expected
    rating, and the default panel on the same crops, with 95% intervals from resampling prompts;
(b) Kendall tau-b of the judge with the mean human ratings of hanna_human96 (coherence,
    engagement, relevance), on the whole stories people rated, with 95% bootstrap intervals;
(c) pairwise accuracy on the same human-vs-LLM crops: P(human better) > 0.5 with both orders
    averaged (``critics.judge.compare``), next to each single order and the position bias;
(d) the cost: seconds per 150-word story scored in batch (all criteria), per pair compared, and
    the ratio to drafting a 150-word story with the built-in writer (fp32, K=4 batched), timed in
    the same run. Prints Markdown.
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
DATA = ROOT.parent / "shared" / "data"
HUMAN_CRITERIA = {"coherence": "coherence", "engagement": "engagement", "relevance": "relevance"}


def timed(fn):
    """((wall seconds, CPU seconds of this process), fn())."""
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return (time.perf_counter() - w, time.process_time() - c), out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--prompts", type=int, default=32, help="validation prompts used (default 32: all)")
    p.add_argument("--llm", type=int, default=3, help="LLM stories per prompt, a seeded pick of the 6 (default 3)")
    p.add_argument("--words", type=int, default=150, help="crops: the first whole sentences up to this many words "
                                                          "(default 150; at least 60%% of it, else the story is left out)")
    p.add_argument("--boot", type=int, default=1000, help="bootstrap resamples (default 1000)")
    p.add_argument("--judge-model", help="judge model folder (default: the built-in SmolLM2)")
    p.add_argument("--precision", default="fp32", help="judge precision: fp32, bf16, 4bit (default fp32)")
    p.add_argument("--draft-prompts", type=int, default=2, help="prompts drafted K=4 for the cost ratio (default 2)")
    args = p.parse_args()

    import numpy as np
    import torch

    from critics.calibrate import auc, crop, interval, kendall_tau_b, prefers, resamples
    from critics.devdata import load_dev
    from critics.judge import CRITERIA, JudgeCritic
    from critics.panel import Panel
    from writer.draft import DraftConfig, draft
    from writer.models import load_writer

    t_start = time.perf_counter()
    stories = [s for s in load_dev(DATA / "critic-dev") if s.split == "val"]
    humans = {s.prompt: s for s in stories if s.file == "hanna_human96.csv"}
    prompts = sorted(humans)[: args.prompts]
    rng = random.Random(0)
    machine = {q: rng.sample(sorted((s for s in stories if s.file == "hanna_llm576.jsonl" and s.prompt == q),
                                    key=lambda s: s.id), args.llm) for q in prompts}

    writer = load_writer(None, precision="fp32", device="cpu", progress=False)
    judge = JudgeCritic(model=args.judge_model, precision=args.precision, device="cpu",
                        reference=writer if args.judge_model is None else None)
    judge.score(prompts[:1], ["A short warm-up story. It ends here."])  # load and warm the model
    panel = Panel()
    panel.score(prompts[:2], ["A short warm-up story. It ends here."] * 2)

    # (a) + (d): crops of human and machine stories, scored in one batched call
    crop_p, crop_s, crop_h = [], [], []
    for q in prompts:
        for s in [humans[q], *machine[q]]:
            text = crop(s.story, int(args.words * 0.6), args.words)
            if text is not None:
                crop_p.append(q)
                crop_s.append(text)
                crop_h.append(s.human)
    words = np.array([len(s.split()) for s in crop_s])
    (t_judge, c_judge), judged = timed(lambda: judge.score(crop_p, crop_s))
    panel_totals = [r.total for r in panel.score(crop_p, crop_s)]
    human = np.array(crop_h)
    series = {"judge": [r.score for r in judged]}
    for c in CRITERIA:
        series[f"judge: {c} rating"] = [r.details["ratings"].get(c, np.nan) for r in judged]
    series["default panel (style, lexical, coherence, relevance)"] = panel_totals
    series["length in words (the crop)"] = list(words)
    draws = resamples(crop_p, args.boot)
    auc_rows = []
    for label, values in series.items():
        v = np.asarray(values, float)
        auc_rows.append((label, interval(lambda idx, v=v: auc(v[idx][human[idx]], v[idx][~human[idx]]), len(v), draws)))

    # (b) tau with people's ratings, on the whole human stories they rated
    full = [humans[q] for q in prompts]
    (t_full, _), full_scores = timed(lambda: judge.score([s.prompt for s in full], [s.story for s in full]))
    tau_rows = []
    story_draws = resamples(list(range(len(full))), args.boot)
    for label, values in [("judge", [r.score for r in full_scores])] + [
            (f"judge: {c} rating", [r.details["ratings"].get(c, np.nan) for r in full_scores]) for c in CRITERIA]:
        xs = np.asarray(values, float)
        cells = []
        for crit in HUMAN_CRITERIA:
            ys = np.array([s.ratings[crit] for s in full])
            cells.append(interval(lambda idx, ys=ys: kendall_tau_b(xs[idx], ys[idx]), len(xs), story_draws))
        tau_rows.append((label, cells))

    # (c) both-order comparisons of the human crop against each machine crop of its prompt
    pair_p, pair_h, pair_m = [], [], []
    for i, (q, h) in enumerate(zip(crop_p, human)):
        if h:
            for j in range(i + 1, len(crop_p)):
                if crop_p[j] != q:
                    break
                pair_p.append(q)
                pair_h.append(crop_s[i])
                pair_m.append(crop_s[j])
    (t_pairs, c_pairs), orders = timed(lambda: judge.compare_orders(pair_p, pair_h, pair_m))
    first, second = np.array([o[0] for o in orders]), np.array([o[1] for o in orders])
    both = (first + second) / 2
    pair_draws = resamples(pair_p, args.boot)
    acc_rows = []
    for label, x in (("both orders averaged (compare)", both), ("human story shown first (A/B only)", first),
                     ("human story shown second (B/A only)", second)):
        won = prefers(x, np.full(len(x), 0.5))
        acc_rows.append((label, interval(lambda idx, won=won: float(won[idx].mean()), len(won), pair_draws)))
    p_first = float(np.mean(np.concatenate([first, 1 - second])))  # P(the story shown first wins), over every ask

    # (d) drafting ~150-word stories with the built-in writer, in the same run
    cfg = DraftConfig(k=4, max_new_tokens=int(args.words * 1.4), seed=0)
    (t_draft, c_draft), cands = timed(lambda: draft(writer, prompts[: args.draft_prompts], cfg))
    drafted = [c for cs in cands for c in cs]
    draft_words = float(np.mean([len(c.text.split()) for c in drafted]))
    per_draft_150 = t_draft / len(drafted) * args.words / draft_words
    per_judge_150 = t_judge / len(crop_s) * args.words / float(words.mean())
    per_pair = t_pairs / len(pair_p)
    cpu_draft = c_draft / len(drafted) * args.words / draft_words
    cpu_judge = c_judge / len(crop_s) * args.words / float(words.mean())
    cpu_pair = c_pairs / len(pair_p)

    name = args.judge_model or "built-in SmolLM2-135M-Instruct"
    print(f"\nJudge: {name} ({args.precision}); {len(prompts)} validation prompts, human story + {args.llm} LLM stories "
          f"each ({len(crop_s)} crops, mean {words.mean():.0f} words: human {words[human].mean():.0f}, machine "
          f"{words[~human].mean():.0f}); {len(pair_p)} pairs; {args.boot} bootstrap resamples. Machine: "
          f"{os.cpu_count()} CPU cores, torch threads {torch.get_num_threads()}, load average at the end "
          f"{os.getloadavg()[0]:.1f}; whole run {time.perf_counter() - t_start:.0f} s.\n")
    print("(a) human vs machine, same prompts, crops of ~150 words\n\n| scorer | AUC | 95% CI |\n|---|---|---|")
    for label, c in auc_rows:
        print(f"| {label} | {c['value']:.2f} | {c['lo']:.2f} to {c['hi']:.2f} |")
    print(f"\n(b) Kendall tau-b with people's mean ratings, {len(full)} whole hanna_human96 stories\n")
    print("| scorer | " + " | ".join(HUMAN_CRITERIA) + " |\n|---|" + "---|" * len(HUMAN_CRITERIA))
    for label, cells in tau_rows:
        print(f"| {label} | " + " | ".join(f"{c['value']:+.2f} ({c['lo']:+.2f} to {c['hi']:+.2f})" for c in cells) + " |")
    print(f"\n(c) pairwise, human crop vs LLM crop of the same prompt: P(human better) > 0.5, {len(pair_p)} pairs\n")
    print("| asked | accuracy | 95% CI |\n|---|---|---|")
    for label, c in acc_rows:
        print(f"| {label} | {c['value']:.1%} | {c['lo']:.1%} to {c['hi']:.1%} |")
    print(f"\nposition bias: the story shown first won {p_first:.1%} of single-order asks; mean P(human better) "
          f"{both.mean():.3f}\n")
    print("(d) cost (wall seconds, and CPU seconds of this process: less sensitive to a busy machine)\n")
    print("| what | wall s | CPU s |\n|---|---|---|")
    print(f"| judge, per {args.words}-word story in batch ({len(judge.criteria)} criteria, {len(crop_s)} stories) | "
          f"{per_judge_150:.2f} | {cpu_judge:.2f} |")
    print(f"| judge, per whole human story (mean {np.mean([len(s.story.split()) for s in full]):.0f} words) | "
          f"{t_full / len(full):.2f} | |")
    print(f"| compare, per pair of {args.words}-word stories (both orders) | {per_pair:.2f} | {cpu_pair:.2f} |")
    print(f"| drafting, per {args.words}-word story (built-in writer fp32, K=4 x {args.draft_prompts} prompts, "
          f"{cfg.max_new_tokens} new tokens, mean {draft_words:.0f} words) | {per_draft_150:.2f} | {cpu_draft:.2f} |")
    print(f"\njudge / drafting, per {args.words}-word story: {per_judge_150 / per_draft_150:.2f}x wall, "
          f"{cpu_judge / cpu_draft:.2f}x CPU; one comparison / drafting one story: {per_pair / per_draft_150:.2f}x wall, "
          f"{cpu_pair / cpu_draft:.2f}x CPU")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
