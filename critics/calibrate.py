"""Calibration: how well the critics agree with people, and whether they catch planted damage.

    scriptorium critics calibrate ../shared/data/critic-dev            # Markdown tables
    python -m critics.calibrate ../shared/data/critic-dev --boot 1000

Two parts, on each file of the folder (``hanna_human96.csv``: 96 human stories, mean of three
raters on six criteria; ``hanna_mixed30.jsonl``: 30 human and machine stories):

1. Agreement with people: Kendall tau-b and Spearman rho of each critic and of the panel total
   against each criterion's mean human score, with 95% percentile bootstrap intervals
   (stories resampled with replacement).
2. Self-supervised checks on every story (accuracy: the original scores strictly higher; a tie
   counts as a miss), for the critic that should catch the damage and for the panel:
   - coherence: the story with its sentences shuffled (seeded; paragraph sizes kept);
   - lexical: one paragraph repeated three times (a story without paragraph breaks is cut into
     4-sentence blocks and its middle block is repeated);
   - relevance: the story against every story of the same file written for another prompt,
     all under this story's prompt (stories that share its prompt are left out);
   - panel: the story truncated to its first third (by sentences).

Protocol (the "held-out" columns): the critics' measures and constants are chosen on the
even-numbered rows of hanna_human96 only (the "dev" half, row 0 first); "held-out" is every
other story: the odd rows of hanna_human96 and all of hanna_mixed30. A check's held-out
accuracy averages over held-out stories; in the relevance check a held-out story is still
compared with every story of its file written for another prompt, dev rows included.
"""

from __future__ import annotations

import csv
import json
import math
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from critics.base import CriticError

RATED_RELEVANT = 4.0  # the relevance check is also reported for stories people rated at least this relevant
CRITERIA = ["relevance", "coherence", "empathy", "surprise", "engagement", "complexity"]


# ---- statistics (pure) --------------------------------------------------------------------

def rankdata(x: np.ndarray) -> np.ndarray:
    """Ranks from 1, ties get their average rank."""
    x = np.asarray(x, dtype=float)
    order = np.argsort(x, kind="mergesort")
    ranks = np.empty(len(x))
    sx = x[order]
    i = 0
    while i < len(x):
        j = i
        while j + 1 < len(x) and sx[j + 1] == sx[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def spearman(x, y) -> float:
    rx, ry = rankdata(x), rankdata(y)
    if rx.std() == 0 or ry.std() == 0:
        return float("nan")
    return float(np.corrcoef(rx, ry)[0, 1])


def kendall_tau_b(x, y) -> float:
    """Kendall's tau-b (handles ties), O(n^2) vectorised.

    >>> round(kendall_tau_b([1, 2, 3, 4], [1, 3, 2, 4]), 3)
    0.667
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    dx = np.sign(x[:, None] - x[None, :])
    dy = np.sign(y[:, None] - y[None, :])
    iu = np.triu_indices(len(x), 1)
    dx, dy = dx[iu], dy[iu]
    concordant_minus_discordant = float(np.sum(dx * dy))
    nx, ny = float(np.sum(dx != 0)), float(np.sum(dy != 0))
    if nx == 0 or ny == 0:
        return float("nan")
    return concordant_minus_discordant / math.sqrt(nx * ny)


def bootstrap_ci(x, y, stat, boot: int = 1000, seed: int = 0, level: float = 0.95) -> tuple[float, float]:
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(boot):
        idx = rng.integers(0, len(x), len(x))
        v = stat(x[idx], y[idx])
        if not math.isnan(v):
            values.append(v)
    if not values:
        return float("nan"), float("nan")
    lo, hi = np.percentile(values, [(1 - level) / 2 * 100, (1 + level) / 2 * 100])
    return float(lo), float(hi)


# ---- data ---------------------------------------------------------------------------------

@dataclass
class Story:
    id: str
    prompt: str
    story: str
    human: dict[str, float]
    dev: bool  # looked at while designing the critics


def load_folder(folder) -> dict[str, list[Story]]:
    """The critic-dev files found in ``folder``: file name -> stories."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CriticError(f"calibration data folder {folder} does not exist; pass the critic-dev folder "
                          "(hanna_human96.csv, hanna_mixed30.jsonl)")
    out: dict[str, list[Story]] = {}
    csv_path = folder / "hanna_human96.csv"
    if csv_path.is_file():
        with open(csv_path, newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        out[csv_path.name] = [Story(str(r["story_id"]), r["prompt"], r["story"],
                                    {c: float(r[c.capitalize()]) for c in CRITERIA}, k % 2 == 0)
                              for k, r in enumerate(rows)]
    jsonl_path = folder / "hanna_mixed30.jsonl"
    if jsonl_path.is_file():
        stories = []
        for line in jsonl_path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                r = json.loads(line)
                stories.append(Story(str(r["id"]), r["prompt"], r["story"], {c: float(r[c]) for c in CRITERIA}, False))
        out[jsonl_path.name] = stories
    if not out:
        raise CriticError(f"no calibration files in {folder}; expected hanna_human96.csv and/or hanna_mixed30.jsonl")
    return out


# ---- perturbations (pure) -----------------------------------------------------------------

def _paragraph_blocks(doc, block: int = 4) -> list[list[str]]:
    if len(doc.paragraphs) >= 2:
        return [[doc.sentences[i] for i in p] for p in doc.paragraphs]
    s = doc.sentences
    return [s[i:i + block] for i in range(0, len(s), block)]


def shuffled(doc, seed: int) -> str:
    """Sentences shuffled (guaranteed a different order when there are 2+ distinct sentences),
    regrouped into paragraphs of the original sizes."""
    rng = random.Random(seed)
    order = list(range(len(doc.sentences)))
    for _ in range(20):
        rng.shuffle(order)
        if [doc.sentences[i] for i in order] != doc.sentences:
            break
    sents = [doc.sentences[i] for i in order]
    out, k = [], 0
    for p in doc.paragraphs:
        out.append(" ".join(sents[k:k + len(p)]))
        k += len(p)
    return "\n\n".join(out)


def repeated_paragraph(doc) -> str:
    blocks = _paragraph_blocks(doc)
    mid = len(blocks) // 2
    blocks = blocks[:mid + 1] + [blocks[mid], blocks[mid]] + blocks[mid + 1:]
    return "\n\n".join(" ".join(b) for b in blocks)


def first_third(doc) -> str:
    keep = max(1, math.ceil(len(doc.sentences) / 3))
    return " ".join(doc.sentences[:keep])


# ---- running ------------------------------------------------------------------------------

def rivals(prompts: list[str], i: int) -> list[int]:
    """The stories written for another prompt than story ``i``'s (a file may hold several
    stories of one prompt: hanna_mixed30 has 30 stories for 24 prompts).

    >>> rivals(["a", "b", "a ", "c"], 0)
    [1, 3]
    """
    return [j for j in range(len(prompts)) if prompts[j].strip() != prompts[i].strip()]


def accuracy(orig: list[float], other: list[float]) -> float:
    return float(np.mean([a > b for a, b in zip(orig, other)])) if orig else float("nan")


def run(folder, panel=None, boot: int = 1000, seed: int = 0, progress=None) -> dict:
    """All numbers of the calibration, as a dict (``report`` turns it into Markdown)."""
    from critics.batch import Batch
    from critics.panel import Panel
    from critics.text import parse

    panel = panel or Panel()
    say = progress or (lambda msg: None)
    data = load_folder(folder)
    out = {"files": {}, "critics": list(panel.critics), "boot": boot}
    for fname, stories in data.items():
        say(f"{fname}: scoring {len(stories)} stories and their damaged copies")
        prompts = [s.prompt for s in stories]
        texts = [s.story for s in stories]
        docs = [parse(t) for t in texts]
        n = len(stories)
        variants = {"shuffle": [shuffled(d, seed + k) for k, d in enumerate(docs)],
                    "repeat": [repeated_paragraph(d) for d in docs],
                    "third": [first_third(d) for d in docs]}
        all_texts = texts + variants["shuffle"] + variants["repeat"] + variants["third"]
        batch = panel.batch(prompts * 4, all_texts)
        per_critic = panel.critic_scores(batch)
        results = [panel.combine(batch, i, {c: v[i] for c, v in per_critic.items()}) for i in range(len(batch))]

        def crit(name, part):
            if name == "panel":
                return [r.total for r in results[part * n:(part + 1) * n]]
            return [r.critics[name].score for r in results[part * n:(part + 1) * n]]

        # agreement with people
        corr = {}
        for name in [*panel.critics, "panel"]:
            xs = np.array(crit(name, 0))
            for c in CRITERIA:
                ys = np.array([s.human[c] for s in stories])
                corr[(name, c)] = {
                    "tau": kendall_tau_b(xs, ys), "tau_ci": bootstrap_ci(xs, ys, kendall_tau_b, boot, seed),
                    "rho": spearman(xs, ys), "rho_ci": bootstrap_ci(xs, ys, spearman, boot, seed),
                }
        held = [not s.dev for s in stories]
        # relevance check: this story vs every story of the file written for another prompt, under this story's prompt
        say(f"{fname}: relevance check ({n} x {n - 1} pairs)")
        base = Batch(prompts, texts, embedder=panel.embedder, max_sentences=panel.config.max_sentences)
        rel_critic = panel.critics.get("relevance")
        base_scores = {c: v[:n] for c, v in per_critic.items()}
        rel_hits, panel_hits, rel_held, rel_human = [], [], [], []
        if rel_critic is not None and n >= 2:
            for i in range(n):
                others = rivals(prompts, i)
                if not others:
                    continue
                b = base.with_prompts([prompts[i]] * n)
                rel = rel_critic.score(b.prompts, b.stories, batch=b)
                totals = []
                for j in range(n):
                    scores = {c: v[j] for c, v in base_scores.items()}
                    scores["relevance"] = rel[j]
                    totals.append(panel.combine(b, j, scores).total)
                rel_hits.append(float(np.mean([rel[i].score > rel[j].score for j in others])))
                panel_hits.append(float(np.mean([totals[i] > totals[j] for j in others])))
                rel_held.append(held[i])
                rel_human.append(stories[i].human["relevance"])
        checks = {}
        for check, part, critic in (("shuffled sentences", 1, "coherence"), ("paragraph repeated 3x", 2, "lexical"),
                                    ("first third only", 3, "panel")):
            orig_c = crit(critic, 0) if critic in panel.critics or critic == "panel" else None
            row = {"critic": critic}
            if orig_c is not None:
                dmg = crit(critic, part)
                row["critic_acc"] = accuracy(orig_c, dmg)
                row["critic_acc_heldout"] = accuracy([a for a, h in zip(orig_c, held) if h], [b for b, h in zip(dmg, held) if h])
            po, pd = crit("panel", 0), crit("panel", part)
            row["panel_acc"] = accuracy(po, pd)
            row["panel_acc_heldout"] = accuracy([a for a, h in zip(po, held) if h], [b for b, h in zip(pd, held) if h])
            checks[check] = row
        if rel_hits:
            def mean_held(xs):
                kept = [x for x, h in zip(xs, rel_held) if h]
                return float(np.mean(kept)) if kept else float("nan")

            checks["another prompt's story"] = {
                "critic": "relevance", "critic_acc": float(np.mean(rel_hits)), "critic_acc_heldout": mean_held(rel_hits),
                "panel_acc": float(np.mean(panel_hits)), "panel_acc_heldout": mean_held(panel_hits),
            }
            # where the misses are: the same check split by how relevant people rated the story
            out_by = {}
            for label, keep in ((f"rated >= {RATED_RELEVANT:g}", lambda h: h >= RATED_RELEVANT),
                                (f"rated < {RATED_RELEVANT:g}", lambda h: h < RATED_RELEVANT)):
                kept = [(r, p) for r, p, h in zip(rel_hits, panel_hits, rel_human) if keep(h)]
                if kept:
                    out_by[label] = {"n": len(kept), "critic_acc": float(np.mean([r for r, _ in kept])),
                                     "panel_acc": float(np.mean([p for _, p in kept]))}
            checks["another prompt's story"]["by_rating"] = out_by
        out["files"][fname] = {"n": n, "heldout": int(sum(held)), "corr": corr, "checks": checks}
    return out


def _f(x: float, digits: int = 2) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:+.{digits}f}"


def report(result: dict) -> str:
    """Markdown tables of a ``run`` result."""
    lines = []
    names = [*result["critics"], "panel"]
    for fname, r in result["files"].items():
        lines.append(f"### {fname} ({r['n']} stories; {r['heldout']} held out from design)\n")
        lines.append("Self-supervised checks (accuracy: original scored strictly higher; goals >= 95% critic, >= 90% panel)\n")
        lines.append("| check | critic | critic acc. (all) | critic acc. (held-out) | panel acc. (all) | panel acc. (held-out) |")
        lines.append("|---|---|---|---|---|---|")
        for check, row in r["checks"].items():
            ca = f"{row['critic_acc']:.1%}" if "critic_acc" in row else "n/a"
            ch = f"{row['critic_acc_heldout']:.1%}" if "critic_acc_heldout" in row and not math.isnan(row["critic_acc_heldout"]) else "n/a"
            ph = f"{row['panel_acc_heldout']:.1%}" if not math.isnan(row["panel_acc_heldout"]) else "n/a"
            lines.append(f"| {check} | {row['critic']} | {ca} | {ch} | {row['panel_acc']:.1%} | {ph} |")
        lines.append("")
        by = r["checks"].get("another prompt's story", {}).get("by_rating")
        if by:
            lines.append("Another prompt's story, by the story's human Relevance rating (1-5): "
                         + "; ".join(f"{label} ({v['n']} {'story' if v['n'] == 1 else 'stories'}): critic {v['critic_acc']:.1%}, panel {v['panel_acc']:.1%}"
                                     for label, v in by.items()) + "\n")
        for stat, label in (("tau", "Kendall tau-b"), ("rho", "Spearman rho")):
            lines.append(f"{label} against mean human scores [95% bootstrap interval, {result['boot']} resamples]\n")
            lines.append("| critic | " + " | ".join(CRITERIA) + " |")
            lines.append("|---" * (len(CRITERIA) + 1) + "|")
            for name in names:
                cells = []
                for c in CRITERIA:
                    v = r["corr"][(name, c)]
                    lo, hi = v[f"{stat}_ci"]
                    cells.append(f"{_f(v[stat])} [{_f(lo)}, {_f(hi)}]")
                lines.append(f"| {name} | " + " | ".join(cells) + " |")
            lines.append("")
    return "\n".join(lines)


def main(argv=None) -> int:
    import argparse
    import sys

    p = argparse.ArgumentParser(description="Calibrate the critic panel against human ratings.")
    p.add_argument("data", help="folder with hanna_human96.csv and/or hanna_mixed30.jsonl")
    p.add_argument("--boot", type=int, default=1000)
    p.add_argument("--fluency", action="store_true", help="put the fluency critic on the panel (loads the writer)")
    args = p.parse_args(argv)
    from critics.panel import Panel, PanelConfig
    from critics.registry import DEFAULT_CRITICS

    cfg = PanelConfig(critics=DEFAULT_CRITICS + (["fluency"] if args.fluency else []))
    print(report(run(args.data, Panel(cfg), boot=args.boot, progress=lambda m: print(m, file=sys.stderr))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
