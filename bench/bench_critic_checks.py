"""Two checks of the hand-set critics on the critic-dev stories: length preference and reasons.

    .venv/bin/python bench/bench_critic_checks.py                 # every story (several minutes)
    .venv/bin/python bench/bench_critic_checks.py --limit 40      # the first 40 prompts only
    .venv/bin/python bench/bench_critic_checks.py --json out.json

1. **Length is not quality.** Pairs of texts under the same prompt, scored by each critic of the
   default panel and by the panel total; for each pair set, the share of pairs the *longer*
   text wins (a tie counts half; the tie share is shown too). Near 50% means no preference
   for length. Pair sets:
   - human vs LLM: each of the 576 LLM stories against the human story of its prompt (the
     texts differ in more than length, so 50% is not the target here; it shows whether the
     critic's verdict tracks length);
   - crops 1/3 vs 2/3: the first third and the first two thirds (by sentences) of each story
     with at least 6 sentences: same writer, same story, both cut at a sentence end;
   - draft-length crops: the story's opening cut at the first sentence end after 50 words vs
     after 100 words (the length of a studio or loop draft of 96 tokens, and twice that);
   - windows k vs 2k: a window of k sentences and one of 2k sentences of the same story, each
     at a random place (k = 3, 4, 6; seeded): length without position (a prefix also tests
     position: stories take their prompt up most in their opening sentences);
   - hanna_mixed30: every pair of its stories under the same prompt, with the share the people
     (mean of the six ratings) gave to the longer one.
2. **Reasons that fire on nearly every story.** Each reason is cut into its clauses ("; "),
   numbers and quoted words replaced by N and Q, so "312 words, target 300-5000" and
   "80 words, target 300-5000" are one template; for each critic, the templates that fire on
   the most stories and their share, on the full dev stories and on their openings cut at
   the first sentence end after 70 words (a draft of 96 tokens). Also: the share of stories
   whose relevance reason calls a prompt-instruction word ("story", "short", "based", ...)
   missing.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import re
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data" / "critic-dev"


def opening(doc, words: int) -> str:
    """The story's sentences up to the first sentence end at or after ``words`` words."""
    out, n = [], 0
    for s, w in zip(doc.sentences, doc.sentence_words):
        out.append(s)
        n += len(w)
        if n >= words:
            break
    return " ".join(out)


QUOTED = re.compile(r"(?<!\w)'.*?'(?!\w)|(?<!\w)\".*?\"(?!\w)")


def template(clause: str) -> str:
    """A reason clause with its particulars (numbers, quoted words) replaced, so that clauses
    made by the same template compare equal.

    >>> template("312 words, target 300-5000")
    'N words, target N-N'
    >>> template("never mentions 'short', 'don't'")
    'never mentions Q, Q'
    """
    clause = QUOTED.sub("Q", clause)
    clause = re.sub(r"\d+(?:[.,]\d+)*%?", "N", clause)
    return " ".join(clause.split())


def clauses(reason: str) -> set[str]:
    """The templates of a reason's clauses: its parts between top-level "; " (not inside
    parentheses or quotes).

    >>> sorted(clauses("stays (a; b); never mentions 'x; y'; fine"))
    ['fine', 'never mentions Q', 'stays (a; b)']
    """
    reason = QUOTED.sub("Q", reason)
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(reason):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth = max(0, depth - 1)
        elif depth == 0 and reason.startswith("; ", i):
            parts.append(reason[start:i])
            start = i + 2
    parts.append(reason[start:])
    return {template(c) for c in parts if c.strip()}


def longer_wins(pairs, scores, words) -> tuple[float, float, int]:
    """(share won by the longer text with ties as half, tie share, pairs) over pairs of text keys."""
    won = ties = n = 0
    for a, b in pairs:
        if words[a] == words[b]:
            continue
        long_, short = (a, b) if words[a] > words[b] else (b, a)
        n += 1
        if abs(scores[long_] - scores[short]) < 1e-9:
            ties += 1
        elif scores[long_] > scores[short]:
            won += 1
    return ((won + ties / 2) / n if n else float("nan")), (ties / n if n else float("nan")), n


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", default=str(DATA))
    p.add_argument("--limit", type=int, default=None, help="only the first N prompts of hanna_human96")
    p.add_argument("--asked-words", type=int, default=None,
                   help="the length the panel is told the texts were asked for (default: none)")
    p.add_argument("--json", default=None, help="also write the numbers to this file")
    args = p.parse_args(argv)

    from critics.devdata import load_dev
    from critics.panel import Panel, PanelConfig
    from critics.text import parse

    stories = load_dev(args.data)
    human = [s for s in stories if s.file == "hanna_human96.csv"]
    if args.limit:
        human = human[:args.limit]
    keep_ids = {s.id for s in human}
    llm = [s for s in stories if s.file == "hanna_llm576.jsonl" and s.human_story_id in keep_ids]
    mixed = [s for s in stories if s.file == "hanna_mixed30.jsonl"]
    if args.limit:
        mixed = mixed[:max(4, args.limit // 3)]
    cfg = PanelConfig() if args.asked_words is None else PanelConfig(asked_words=args.asked_words)
    panel = Panel(cfg)

    texts: dict[tuple[str, str], str] = {}   # (prompt, text) keys, each scored once
    def add(prompt: str, text: str):
        key = (prompt, text)
        texts[key] = text
        return key

    sets: dict[str, list] = defaultdict(list)
    full_keys, opening_keys = [], []
    by_id = {s.id: s for s in human}
    rng = random.Random(0)
    for s in llm:
        h = by_id[s.human_story_id]
        sets["human vs LLM (same prompt)"].append((add(h.prompt, h.story), add(s.prompt, s.story)))
    for s in human + llm:
        doc = parse(s.story)
        n = len(doc.sentences)
        if n >= 6:
            third, two = -(-n // 3), -(-2 * n // 3)
            sets["crops: first 1/3 vs first 2/3 of sentences"].append(
                (add(s.prompt, " ".join(doc.sentences[:third])), add(s.prompt, " ".join(doc.sentences[:two]))))
        if doc.n_words >= 130:
            sets["draft-length crops: ~50 vs ~100 words"].append(
                (add(s.prompt, opening(doc, 50)), add(s.prompt, opening(doc, 100))))
        for k in (3, 4, 6):
            if n >= 4 * k:
                a, b = rng.randrange(n - k + 1), rng.randrange(n - 2 * k + 1)
                sets["windows: k vs 2k sentences at random places"].append(
                    (add(s.prompt, " ".join(doc.sentences[a:a + k])), add(s.prompt, " ".join(doc.sentences[b:b + 2 * k]))))
    people: dict = {}
    for s in human + llm + mixed:
        full_keys.append(add(s.prompt, s.story))
        opening_keys.append(add(s.prompt, opening(parse(s.story), 70)))
    for a, b in itertools.combinations(mixed, 2):
        if a.prompt.strip() == b.prompt.strip():
            ka, kb = add(a.prompt, a.story), add(b.prompt, b.story)
            sets["hanna_mixed30 pairs (same prompt)"].append((ka, kb))
            people[ka] = sum(a.ratings.values()) / len(a.ratings)
            people[kb] = sum(b.ratings.values()) / len(b.ratings)

    keys = list(texts)
    t0 = time.time()
    results = {}
    for start in range(0, len(keys), 256):
        chunk = keys[start:start + 256]
        for k, r in zip(chunk, panel.score([k[0] for k in chunk], [k[1] for k in chunk])):
            results[k] = r
        print(f"scored {min(start + 256, len(keys))}/{len(keys)} texts ({time.time() - t0:.0f} s)", file=sys.stderr)
    words = {k: parse(k[1]).n_words for k in keys}
    critics = list(panel.critics)

    out: dict = {"config": {"asked_words": args.asked_words, "limit": args.limit}, "length": {}, "reasons": {}}
    print("\n### Share of same-prompt pairs won by the longer text (ties count half)\n")
    print("| pairs | n | " + " | ".join(critics) + " | panel | people |")
    print("|---|---|" + "---|" * (len(critics) + 2))
    for name, pairs in sets.items():
        row, data = [], {}
        for c in critics + ["panel"]:
            sc = {k: (results[k].total if c == "panel" else results[k].critics[c].score) for k in keys}
            share, tie, n = longer_wins(pairs, sc, words)
            data[c] = {"longer_wins": share, "ties": tie}
            row.append(f"{share:.0%}" + (f" ({tie:.0%} tied)" if tie >= 0.05 else ""))
        ppl = "-"
        if name.startswith("hanna_mixed30"):
            share, tie, _ = longer_wins(pairs, people, words)
            ppl, data["people"] = f"{share:.0%}", {"longer_wins": share, "ties": tie}
        out["length"][name] = {"n": n, **data}
        print(f"| {name} | {n} | " + " | ".join(row) + f" | {ppl} |")

    from critics.wordlists import PROMPT_BOILERPLATE

    for label, group in (("full dev stories", full_keys), ("openings of ~70 words", opening_keys)):
        group = list(dict.fromkeys(group))
        print(f"\n### Reasons on the {label} ({len(group)} texts): the most frequent templates per critic\n")
        print("| critic | reason template | share of texts |")
        print("|---|---|---|")
        out["reasons"][label] = {"n": len(group)}
        for c in critics + ["panel"]:
            fired = Counter()
            for k in group:
                r = results[k]
                reason = (r.guard or "") if c == "panel" else r.critics[c].reason
                fired.update(clauses(reason))
            top = [(t, n / len(group)) for t, n in fired.most_common(3)]
            out["reasons"][label][c] = top
            for t, share in top:
                print(f"| {c} | {t[:110]} | {share:.0%} |")
        missing = [re.findall(r"never mentions ((?:'[^']*'(?:, )?)+)", results[k].critics["relevance"].reason)
                   for k in group] if "relevance" in critics else []
        named = [set(re.findall(r"'([^']*)'", m[0])) if m else set() for m in missing]
        boiler = sum(1 for ws in named if ws & PROMPT_BOILERPLATE) / max(1, len(group))
        any_missing = sum(1 for ws in named if ws) / max(1, len(group))
        out["reasons"][label]["boilerplate_missing"] = boiler
        out["reasons"][label]["any_missing"] = any_missing
        print(f"\nrelevance reasons naming prompt words as missing: {any_missing:.0%} of texts; naming a "
              f"prompt-instruction word (critics.wordlists.PROMPT_BOILERPLATE): {boiler:.0%}")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
