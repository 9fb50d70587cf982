"""The default panel's weights, fitted instead of hand-set: which mix of critics prefers what
people prefer and sees the planted damage, on prompts the weights are then not judged on?

    .venv/bin/scriptorium --workspace WS critics train --data ../shared/data/critic-dev --split val --no-writer-drafts
    .venv/bin/python bench/bench_panel_weights.py --workspace WS --out weights.yaml
    .venv/bin/scriptorium critics calibrate ../shared/data/critic-dev --config weights.yaml    # judged on val

The fit is the one ``scriptorium critics fit`` runs on author picks (``critics.fit``:
Bradley-Terry on the critics' score differences, weights >= 0, an L2 penalty on standardised
coefficients), here on the calibration's pairs (``critics.calibrate.plan``) over the dev data's
**train** prompts: people's story against each LLM story for the same prompt, both cut to the
same length; and each 100-150-word crop against its shuffled, spliced, block-repeated and
chatter-wrapped copies and against another prompt's story. Every kind of pair carries the same
total weight, so the 3x more numerous rival pairs do not outvote the rest.

The trained reader must not be scored on the prompts it learned from, or the fit would trust it
blindly: ``--workspace`` names a record whose current reader was trained on the **val** split
(the command above), a stand-in for the shipped reader (same recipe, the other prompts) that is
out of sample on the train prompts. The weights are then judged on the val split with the
shipped reader by ``critics calibrate`` (the last command), where they were not fitted; the val
prompts did shape the stand-in reader, so the split is not perfectly clean, which the output says.

The fit is of the panel's weighted mean; the guards (relevance gate, chatter scale, floors) act
after it as before. Prints the pairs, the in-sample agreement per kind for the hand-set and the
fitted weights (in-sample: for choosing, not for quoting), and the weights.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

KINDS = ("human vs LLM", "shuffled", "another prompt", "spliced", "block repeated", "chatter")


def pair_keys(p) -> dict[str, tuple[list, list]]:
    """(better keys, worse keys) for every kind of pair the fit learns from."""
    pairs = {"human vs LLM": (list(p.pairs[0]), list(p.pairs[1]))}
    for kind in KINDS[1:]:
        orig, dmg, *_ = p.damage[kind]
        pairs[kind] = (list(orig), list(dmg))
    return pairs


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "critic-dev"))
    ap.add_argument("--workspace", required=True, help="record whose current reader was trained on the val split")
    ap.add_argument("--critics", default="reader,style,lexical,coherence,relevance")
    ap.add_argument("--kinds", default=",".join(k for k in KINDS if k != "chatter"),
                    help="kinds of pairs to fit on (default: all but chatter, which the chatter guard scales)")
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
    p = plan(stories, scores, seed=0)
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
    for kind, (good, bad) in pair_keys(p).items():
        d = np.stack([scores.of(n, good) - scores.of(n, bad) for n in names], axis=1)
        print(f"{kind:<16} {len(d):>6}")
        diffs.append(d)
    # equal weight per kind: the fit takes unweighted rows, so each kind's rows are repeated up to
    # the largest kind's count
    most = max(len(d) for d in diffs)
    fitted, beta = fit_bradley_terry(np.concatenate([np.repeat(d, round(most / len(d)), axis=0)
                                                     for kind, d in zip(KINDS, diffs) if kind in kinds]), l2=args.l2)
    hand = np.array([DEFAULT_WEIGHTS.get(n, 1.0) for n in names])
    hand = hand / hand.sum()

    print("\nin-sample agreement on the train prompts (for choosing, not a result):")
    print(f"{'kind':<16} {'hand-set':>9} {'fitted':>9}")
    for kind, d in zip(KINDS, diffs):
        note = "" if kind in kinds else "  (not fitted on)"
        print(f"{kind:<16} {agreement(d, hand):>9.0%} {agreement(d, fitted):>9.0%}{note}")
    print(f"\n{'critic':<12} {'hand-set':>9} {'fitted':>9}")
    for n, h, f in zip(names, hand, fitted):
        print(f"{n:<12} {h:>9.3f} {f:>9.3f}")
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
