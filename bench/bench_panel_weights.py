"""The default panel's weights, fitted instead of hand-set: which mix of critics prefers what
people prefer and sees the planted damage, on prompts the weights are then not judged on?

    .venv/bin/scriptorium --workspace WS critics train --data ../shared/data/critic-dev --split val
    .venv/bin/python bench/bench_panel_weights.py --workspace WS --out weights.yaml
    .venv/bin/scriptorium critics calibrate ../shared/data/critic-dev --config weights.yaml    # judged on val

The fit is the one ``scriptorium critics fit`` runs on author picks (``critics.fit``:
Bradley-Terry on the critics' score differences, weights >= 0, an L2 penalty on standardised
coefficients), here on the calibration's pairs (``critics.calibrate.plan``) over the dev data's
**train** prompts: people's story against each LLM story for the same prompt, both cut to the
same length; and each 100-150-word crop against its shuffled, spliced, block-repeated and
chatter-wrapped copies and against another prompt's story; and, where the workspace's cache holds
the built-in writer's stories for the train prompts (``critics train`` drafts them there), each
person's crop against each of the writer's crops for the same prompt. Every kind of pair carries
the same total weight, so the 3x more numerous rival pairs do not outvote the rest.

The trained reader must not be scored on the prompts it learned from, or the fit would trust it
blindly: ``--workspace`` names a record whose current reader was trained on the **val** split
(the command above, the default recipe with the writer's stories), a stand-in for the shipped
reader (same recipe, the other prompts) that is
out of sample on the train prompts. The weights are then judged on the val split with the
shipped reader by ``critics calibrate`` (the last command), where they were not fitted; the val
prompts did shape the stand-in reader, so the split is not perfectly clean, which the output says.

The fit is of the panel's weighted mean; the guards (relevance gate, chatter scale, floors) act
after it as before. Prints the pairs, the in-sample agreement per kind for the hand-set and the
fitted weights and any ``--variant`` (in-sample: for choosing, not for quoting), and the weights.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

KINDS = ("human vs LLM", "human vs writer", "shuffled", "another prompt", "spliced", "block repeated", "chatter")
WRITER_AUC = "cropped, vs the built-in writer"


def pair_keys(p) -> dict[str, tuple[list, list]]:
    """(better keys, worse keys) for every kind of pair the fit learns from. "human vs writer":
    each person's 90-150-word crop against each of the built-in writer's crops for the same prompt
    (the calibration's writer AUC, as pairs); absent when the writer's stories are not cached."""
    pairs = {"human vs LLM": (list(p.pairs[0]), list(p.pairs[1]))}
    if WRITER_AUC in p.auc:
        pos, neg, gp, gn, _ = p.auc[WRITER_AUC]
        good, bad = [], []
        for k, g in zip(pos, gp):
            for k2, g2 in zip(neg, gn):
                if g == g2:
                    good.append(k)
                    bad.append(k2)
        pairs["human vs writer"] = (good, bad)
    for kind in KINDS[2:]:
        orig, dmg, *_ = p.damage[kind]
        pairs[kind] = (list(orig), list(dmg))
    return pairs


def guarded_totals(panel, scores, names: list[str], weights: np.ndarray, settings: dict | None = None) -> np.ndarray:
    """The panel's total for every scored text with these weights and guard ``settings`` (PanelConfig
    fields such as relevance_gate, gate_power), guards included (relevance gate, chatter scale,
    floors), recombined from the stored critic scores: ``Panel.combine`` on a batch that only
    parses (nothing is embedded or scored again)."""
    from critics.base import CriticScore
    from critics.batch import Batch
    from critics.panel import Panel

    q = Panel.__new__(Panel)
    q.__dict__.update(panel.__dict__)
    q.config = type(panel.config)(**{**panel.config.to_dict(), **(settings or {}),
                                     "weights": dict(zip(names, map(float, weights)))})
    items = list(scores.index)
    batch = Batch([a for a, _ in items], [t for _, t in items])
    rows = [scores.names.index(n) for n in names]
    return np.array([q.combine(batch, i, {n: CriticScore(float(scores.values[r, i]), "", {})
                                          for n, r in zip(names, rows)}).total for i in range(len(items))])


def share(good: np.ndarray, bad: np.ndarray) -> float:
    """Share of pairs the better text wins, a tie counting half."""
    return float(np.mean(np.where(good > bad, 1.0, np.where(good < bad, 0.0, 0.5))))


GUARD_SETTINGS = ("relevance_gate", "gate_power", "chatter_scale")


def parse_variant(text: str, names: list[str]) -> tuple[str, tuple[np.ndarray, dict]]:
    """"NAME=critic:w,setting:v": weights and guard settings (GUARD_SETTINGS) for a variant to
    compare; unnamed critics keep the hand-set weight, unnamed settings the panel's."""
    from critics.registry import DEFAULT_WEIGHTS

    label, _, spec = text.partition("=")
    weights = {n: DEFAULT_WEIGHTS.get(n, 1.0) for n in names}
    settings = {}
    for part in filter(None, spec.split(",")):
        name, _, w = part.partition(":")
        if name not in weights and name not in GUARD_SETTINGS:
            raise SystemExit(f"--variant {text!r}: {name!r} is neither one of the critics ({', '.join(names)}) "
                             f"nor a guard setting ({', '.join(GUARD_SETTINGS)})")
        try:
            (weights if name in weights else settings)[name] = float(w)
        except ValueError:
            raise SystemExit(f"--variant {text!r}: value {w!r} for {name} is not a number") from None
    v = np.array([weights[n] for n in names])
    return label, (v / v.sum(), settings)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "critic-dev"))
    ap.add_argument("--workspace", required=True, help="record whose current reader was trained on the val split")
    ap.add_argument("--critics", default="reader,style,lexical,coherence,relevance")
    ap.add_argument("--kinds", default=",".join(k for k in KINDS if k != "chatter"),
                    help="kinds of pairs to fit on (default: all but chatter, which the chatter guard scales; "
                         "human vs writer only where the writer's stories are cached)")
    ap.add_argument("--variant", action="append", default=[],
                    help="NAME=critic:w,...: hand-set weights to compare beside the fit (repeatable)")
    ap.add_argument("--l2", type=float, default=1e-3)
    ap.add_argument("--cache", help="npz of the scores: reused when it exists (a second look costs nothing)")
    ap.add_argument("--out", help="write the fitted weights as a panel config YAML")
    args = ap.parse_args(argv)
    if not Path(args.data).is_dir():
        print(f"no dev data at {args.data}: pass --data DIR", file=sys.stderr)
        return 2

    from critics.calibrate import Scores, plan
    from critics.devdata import load_dev
    from critics.fit import agreement, fit_bradley_terry
    from critics.panel import Panel, PanelConfig
    from critics.registry import DEFAULT_WEIGHTS
    from record import open_record

    rec = open_record(args.workspace)
    critics = args.critics.split(",")
    panel = Panel(PanelConfig(critics=critics), record=rec)
    reader = panel.critics.get("reader")
    if reader is not None:
        from critics.reader_train import current_version

        row = current_version(rec)
        split = json.loads(json.dumps(dict(row), default=str)).get("config", {}) if row is not None else {}
        split = (split if isinstance(split, dict) else json.loads(split)).get("split")
        print(f"reader: {reader.path} ({reader.identity()}), trained on the {split} split", file=sys.stderr)
        if split != "val":
            print("warning: this reader's settings do not name the val split; on the train prompts a reader "
                  "trained on them is in sample and the fit will lean on it", file=sys.stderr)
    stories = [s for s in load_dev(args.data) if s.split == "train"]
    scores = Scores(panel)
    from critics.calibrate import normalize
    from critics.reader_data import drafts_folder, writer_drafts

    prompts = sorted({normalize(s.prompt) for s in stories if s.file == "hanna_human96.csv"})
    writer = writer_drafts(prompts, drafts_folder(args.workspace), missing=False)
    if not all(q in writer for q in prompts):
        print("the built-in writer's stories are not all cached for the train prompts: no human vs writer pairs "
              "(`critics train` drafts them into the workspace's cache)", file=sys.stderr)
        writer = None
    p = plan(stories, scores, seed=0, writer=writer)
    if args.cache and Path(args.cache).is_file():
        scores.values = np.load(args.cache)["values"]
        print(f"scores from {args.cache}", file=sys.stderr)
    else:
        print(f"train split: {len(stories)} stories, {len(scores.index)} texts to score", file=sys.stderr)
        scores.run(lambda m: print(m, file=sys.stderr))
        if args.cache:
            np.savez(args.cache, values=scores.values)

    names = list(panel.critics)
    diffs = []
    print(f"{'kind':<16} {'pairs':>6}")
    kinds = args.kinds.split(",")
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        print(f"unknown kind(s) {', '.join(unknown)}; use some of: {', '.join(KINDS)}", file=sys.stderr)
        return 2
    kept = []
    for kind, (good, bad) in pair_keys(p).items():
        d = np.stack([scores.of(n, good) - scores.of(n, bad) for n in names], axis=1)
        print(f"{kind:<16} {len(d):>6}")
        diffs.append(d)
        kept.append(kind)
    # equal weight per kind: the fit takes unweighted rows, so each kind's rows are repeated up to
    # the largest kind's count
    most = max(len(d) for d in diffs)
    fitted, beta = fit_bradley_terry(np.concatenate([np.repeat(d, round(most / len(d)), axis=0)
                                                     for kind, d in zip(kept, diffs) if kind in kinds]), l2=args.l2)
    hand = np.array([DEFAULT_WEIGHTS.get(n, 1.0) for n in names])
    columns = {"hand-set": (hand / hand.sum(), {}), "fitted": (fitted / max(1e-12, fitted.sum()), {})}
    columns.update(parse_variant(v, names) for v in args.variant)

    print("\nin-sample agreement on the train prompts, weighted mean before the guards (for choosing, not a result):")
    print(f"{'kind':<16} " + " ".join(f"{c:>12}" for c in columns))
    for kind, d in zip(kept, diffs):
        note = "" if kind in kinds else "  (not fitted on)"
        print(f"{kind:<16} " + " ".join(f"{agreement(d, w):>12.0%}" for w, _ in columns.values()) + note)
    print("\nthe same, the panel's total with its guards (relevance gate, chatter scale, floors):")
    print(f"{'kind':<16} " + " ".join(f"{c:>12}" for c in columns))
    totals = {c: guarded_totals(panel, scores, names, w, over) for c, (w, over) in columns.items()}
    for kind, (good, bad) in pair_keys(p).items():
        ig, ib = [scores.index[k] for k in good], [scores.index[k] for k in bad]
        print(f"{kind:<16} " + " ".join(f"{share(t[ig], t[ib]):>12.0%}" for t in totals.values()))
    print(f"\n{'critic':<16} " + " ".join(f"{c:>12}" for c in columns))
    for i, n in enumerate(names):
        print(f"{n:<16} " + " ".join(f"{w[i]:>12.3f}" for w, _ in columns.values()))
    for key in GUARD_SETTINGS:
        print(f"{key:<16} " + " ".join(f"{over.get(key, getattr(panel.config, key)):>12g}" for _, over in columns.values()))
    print(f"beta (confidence) {beta:.2f}")
    if args.out:
        scale = 1.0 / max(fitted)  # the largest weight 1: easier to read in a config
        lines = ["# fitted by bench/bench_panel_weights.py on the dev data's train prompts", "weights:"]
        lines += [f"  {n}: {f * scale:.3f}" for n, f in zip(names, fitted)]
        Path(args.out).write_text("\n".join(lines) + "\n")
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
