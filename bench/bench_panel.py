"""What the critics cost: scoring K drafts next to drafting them, and each critic's seconds per story.

    .venv/bin/python bench/bench_panel.py                          # 2 prompts x K=4, 48 stories per critic
    .venv/bin/python bench/bench_panel.py --prompts 4 --n 96       # more of both
    .venv/bin/python bench/bench_panel.py --critics style,relevance --no-draft

All in one run, so the ratios compare like with like on a shared, noisy machine:
1. Drafting: the built-in writer (SmolLM2-135M, fp32, the drafting default) drafts K candidates
   for each of ``--prompts`` shared prompts (from ``--offset``; the HANNA prompts the critics were
   calibrated and trained on are skipped) with the drafting defaults (``DraftConfig``:
   256 new tokens). Then the default panel scores exactly those drafts, its embedding cache
   emptied first: **scoring time / drafting time** (goal < 15%), ``--repeats`` times with
   other seeds, since the load on a shared machine moves. Models are loaded and warmed
   up before either clock starts (a studio or a loop loads them once).
2. Per critic, in batch: every critic of the registry alone, on ``--n`` stories of about 150
   words (whole sentences, 135-165 words, from critic-dev human and LLM stories), each with a
   fresh batch and an emptied embedding cache, so a critic that embeds pays for its embedding:
   **seconds per story** (goal for the trained ``reader`` critic: well under 0.1 s). A critic
   that cannot be built here (``learned`` needs a record's picks, ``reader`` before it lands)
   is listed with the reason. An expensive critic starts no new batch after ``--budget``
   seconds and reports the stories it finished. Last, the default panel on the same stories, embedding once for all
   its critics.
Prints Markdown tables, then one JSON line with every number on stderr.
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
CHUNK = 16  # stories per critic call in the per-critic pass


def stories_of_150(data: Path, n: int) -> tuple[list[str], list[str]]:
    """(prompts, stories): ``n`` crops of 135-165 words, alternating human and LLM stories of
    critic-dev so both kinds of text are timed."""
    from critics.calibrate import crop
    from critics.devdata import load_dev

    every = load_dev(data / "critic-dev", files=("hanna_human96.csv", "hanna_llm576.jsonl"))
    human = [s for s in every if s.human]
    machine = [s for s in every if not s.human]
    prompts, stories = [], []
    for pair in zip(human, machine[::6], machine[3::6]):
        for s in pair:
            c = crop(s.story, 135, 165)
            if c is not None and c not in stories:
                prompts.append(s.prompt)
                stories.append(c)
    if len(stories) < n:
        raise SystemExit(f"only {len(stories)} stories of 135-165 words in {data / 'critic-dev'}; pass --n {len(stories)}")
    return prompts[:n], stories[:n]


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def make_critic(name: str, writer):
    """The registry's critic ``name`` as the panel would build it (the fluency critic and the judge
    get the already-loaded built-in writer where they take one), or the reason it cannot be built."""
    import inspect

    from critics.registry import critic_class

    try:
        cls = critic_class(name)
        if name == "learned":
            return None, "needs a record with author picks (`scriptorium critics learn`)"
        params = inspect.signature(cls).parameters
        if "reference" in params:
            return cls(reference=writer), None
        return cls(), None
    except Exception as e:  # a critic that cannot load here is reported, not fatal
        return None, f"{type(e).__name__}: {e}"


def per_critic(critic, prompts, stories, embedder, budget: float) -> tuple[int, float]:
    """(stories scored, seconds) for one critic alone, in chunks of ``CHUNK``, stopping after
    ``budget`` seconds: each chunk a fresh batch, the embedding cache emptied first."""
    from critics.batch import Batch

    embedder.clear()
    done, spent = 0, 0.0
    while done < len(stories) and spent < budget:
        p, s = prompts[done:done + CHUNK], stories[done:done + CHUNK]
        secs, _ = timed(lambda: critic.score(p, s, batch=Batch(p, s, embedder=embedder)))
        done += len(s)
        spent += secs
    return done, spent


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--prompts", type=int, default=2, help="prompts drafted (default 2)")
    p.add_argument("--k", type=int, default=4, help="candidates per prompt (default 4)")
    p.add_argument("--max-new-tokens", type=int, default=None, help="default: DraftConfig's (256)")
    p.add_argument("--offset", type=int, default=300, help="first shared prompt drafted (default 300)")
    p.add_argument("--n", type=int, default=48, help="150-word stories per critic (default 48)")
    p.add_argument("--budget", type=float, default=120.0, help="seconds at most per critic (default 120)")
    p.add_argument("--critics", help="critics timed one by one (default: every critic in the registry)")
    p.add_argument("--repeats", type=int, default=2, help="draft-then-score rounds, each with its own seed (default 2)")
    p.add_argument("--no-draft", action="store_true", help="skip the drafting comparison")
    p.add_argument("--data", type=Path, default=DATA, help=f"the shared data folder (default {DATA})")
    args = p.parse_args()
    if not (args.data / "critic-dev").is_dir() or not (args.data / "prompts" / "writingprompts.jsonl").is_file():
        p.error(f"{args.data} has no critic-dev/ or prompts/writingprompts.jsonl; pass --data with the shared data folder")

    import numpy as np
    import torch

    from batch.inputs import load_prompts
    from critics.devdata import load_dev
    from critics.panel import Panel
    from critics.registry import CRITICS, DEFAULT_CRITICS
    from writer.draft import DraftConfig, draft
    from writer.models import load_writer

    prompts150, stories150 = stories_of_150(args.data, args.n)
    hanna = {" ".join(s.prompt.lower().split()) for s in load_dev(args.data / "critic-dev")}
    panel = Panel()
    panel.score(prompts150[:4], [s + " (warm-up)" for s in stories150[:4]])  # load and warm the models
    emb = panel.embedder
    writer = load_writer(None, precision="fp32", device="cpu", progress=False)
    out: dict = {"cpu_cores": os.cpu_count(), "torch_threads": torch.get_num_threads(), "embed_dtype": emb.dtype,
                 "default_panel": list(DEFAULT_CRITICS)}

    lines = [f"Machine: {os.cpu_count()} CPU cores, torch threads {torch.get_num_threads()}, embedding dtype "
             f"{emb.dtype}; default panel: {', '.join(panel.critics)}\n"]
    if not args.no_draft:
        items = load_prompts(args.data / "prompts" / "writingprompts.jsonl")[args.offset:]
        prompts = [i.prompt for i in items if " ".join(i.prompt.lower().split()) not in hanna][:args.prompts]
        draft(writer, prompts[:1], DraftConfig(k=1, max_new_tokens=8, seed=1))  # warm-up
        rows, out["drafting"] = [], []
        for rep in range(args.repeats):  # draft then score, again with another seed: the load on a shared machine moves
            cfg = DraftConfig(k=args.k, seed=rep, **({"max_new_tokens": args.max_new_tokens} if args.max_new_tokens else {}))
            t_draft, cands = timed(lambda: draft(writer, prompts, cfg))
            flat_p = [c.prompt for cs in cands for c in cs]
            flat_s = [c.text for cs in cands for c in cs]
            tokens = sum(c.tokens for cs in cands for c in cs)
            words = sum(len(s.split()) for s in flat_s) / len(flat_s)
            emb.clear()
            t_score, _ = timed(lambda: panel.score(flat_p, flat_s))
            out["drafting"].append({"seed": rep, "draft_s": t_draft, "drafts": len(flat_s), "new_tokens": tokens,
                                    "draft_words": words, "score_s": t_score, "score_vs_draft": t_score / t_draft})
            rows.append(f"| {rep} | {len(flat_s)} | {tokens} | {words:.0f} | {t_draft:.1f} | {t_score:.2f} | "
                        f"**{t_score / t_draft:.1%}** |")
        out["score_vs_draft_median"] = float(np.median([d["score_vs_draft"] for d in out["drafting"]]))
        lines += [f"Drafting {len(prompts)} prompts x K={args.k} with the built-in writer (fp32, {cfg.max_new_tokens} "
                  "new tokens at most), then scoring exactly those drafts with the default panel:\n",
                  "| seed | drafts | new tokens | words per draft | drafting s | scoring s | scoring / drafting "
                  "(goal < 15%) |", "|---|---|---|---|---|---|---|", *rows, ""]

    names = [c.strip() for c in args.critics.split(",")] if args.critics else list(CRITICS)
    if "reader" not in CRITICS and not args.critics:
        names.append("reader")
    rows, out["per_critic"] = [], {}
    for name in names:
        if name not in CRITICS:
            rows.append(f"| {name} | not in the registry yet | | |")
            out["per_critic"][name] = {"skipped": "not in the registry"}
            continue
        critic, why = make_critic(name, writer)
        if critic is None:
            rows.append(f"| {name} | skipped: {why} | | |")
            out["per_critic"][name] = {"skipped": why}
            continue
        critic.score(prompts150[:2], [s + " (warm-up)" for s in stories150[:2]])  # loads its model, if any
        done, secs = per_critic(critic, prompts150, stories150, emb, args.budget)
        rows.append(f"| {name} | {done} | {secs:.2f} | {secs / done:.4f} |")
        out["per_critic"][name] = {"stories": done, "seconds": secs, "s_per_story": secs / done}
    emb.clear()
    t_panel, _ = timed(lambda: panel.score(prompts150, stories150))
    rows.append(f"| **default panel** ({', '.join(panel.critics)}; embeds once for all) | {len(stories150)} | "
                f"{t_panel:.2f} | {t_panel / len(stories150):.4f} |")
    out["panel_s_per_story"] = t_panel / len(stories150)
    words150 = sum(len(s.split()) for s in stories150) / len(stories150)
    lines += [f"Per critic, in batches of {CHUNK}, on {len(stories150)} critic-dev stories of ~{words150:.0f} words "
              "(each critic alone, paying for its own embedding):\n",
              "| critic | stories | seconds | s per story |", "|---|---|---|---|", *rows]
    print("\n".join(lines))
    print(json.dumps(out), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
