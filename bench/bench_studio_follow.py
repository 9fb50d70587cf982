"""Do the studio's chapter drafts follow the story bible and the outline? The built-in writer
drafts K candidates for each chapter of two books (the studio's sample book and
examples/outline.yaml) three times, with the same seeds: from the chapter prompt and system
message exactly as the studio first built them (``v0``, frozen below as the baseline); from
today's request (``writer/context.py`` and ``ui/studio/books.instructions_for``) alone, as the
studio sent it before drafts had an opening (``request only``); and as the studio drafts now,
the same request with the answer started on the character the summary names first
(``writer.context.chapter_opening``, continued by ``DraftStream(prefill=...)``).

    .venv/bin/python bench/bench_studio_follow.py                    # ~40 min on 2 busy cores
    .venv/bin/python bench/bench_studio_follow.py --k 2 --max-new-tokens 64 --threads 1

Measured per candidate (a candidate either meets a check or not; the table gives shares):

- **names**: it names at least one of the chapter's characters or places from the bible (those
  the chapter's summary mentions, else any of the bible's characters and places), by first name.
- **summary words**: the share of the summary's content words (not function words, 4+ letters,
  matched on their first 5 letters) that the candidate uses; the table gives the mean.
- **half the summary**: it uses at least half of the summary's content words.
- **chatter**: it talks about the task instead of telling the story ("Here is", "outline",
  "chapter 3", "Title:").

The drafts with an opening are measured twice: as the author reads them (opening included),
and on the model's own words only (the opening cut off), which the opening cannot pass for it.

Prints a Markdown table: one row per wording, and the ratios to v0.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHATTER = re.compile(r"\b(here(?:'s| is)|outline|chapter \d|title:|summary:|in this chapter|sure[,!])", re.I)


# ---- the baseline: the studio's first wording, frozen ---------------------------------------------


def v0_instructions(book: dict) -> str:
    from writer.draft import DEFAULT_INSTRUCTIONS

    parts = [DEFAULT_INSTRUCTIONS.replace("short story for the prompt", "chapter of a novel"),
             f"The novel is titled \"{book['title']}\"."]
    if book.get("genre"):
        parts.append(f"Genre: {book['genre']}.")
    return " ".join(parts)


def v0_prompt(bible: list[dict], outline: list[dict], index: int) -> str:
    lines = [f"- {e['name']} ({e['kind']}): {e['text'].strip()}" for e in bible]
    others = [f"{i + 1}. {it['title']}: {it['summary'].strip()}".rstrip(": ") for i, it in enumerate(outline) if i != index]
    item = outline[index]
    current = f"Write chapter {index + 1}, \"{item['title']}\"."
    if item["summary"].strip():
        current += f" In this chapter: {item['summary'].strip()}"
    parts = ["Story bible:\n" + "\n".join(lines) if lines else "", "Outline of the book:\n" + "\n".join(others) if others else "",
             current]
    return "\n\n".join(p for p in parts if p)


# ---- the checks -----------------------------------------------------------------------------------


def content_stems(text: str) -> set[str]:
    from critics.text import words_of
    from critics.wordlists import STOPWORDS

    return {w.lower()[:5] for w in words_of(text) if len(w) >= 4 and w.lower() not in STOPWORDS}


def chapter_names(bible: list[dict], summary: str) -> list[str]:
    """First names of the bible's characters and places the summary mentions (else all of them)."""
    named = [e for e in bible if e["kind"] in ("character", "place")]
    first = {e["name"]: e["name"].split()[0] for e in named}
    mentioned = [first[e["name"]] for e in named if first[e["name"]].lower() in summary.lower()]
    return mentioned or list(first.values())


def checks(text: str, names: list[str], summary: str) -> dict[str, float]:
    want = content_stems(summary)
    have = content_stems(text)
    cover = len(want & have) / len(want) if want else 1.0
    return {"names": float(any(re.search(rf"\b{re.escape(n)}\b", text) for n in names)), "summary": cover,
            "half": float(cover >= 0.5), "chatter": float(bool(CHATTER.search(text)))}


# ---- the run -------------------------------------------------------------------------------------


def books(rec) -> list[int]:
    """The sample book and examples/outline.yaml, made in a scratch record as the studio makes them."""
    import yaml

    from ui.studio.books import create_book
    from ui.studio.start import sample_book

    ids = [sample_book(rec, None)["id"]]
    spec = yaml.safe_load((ROOT / "examples" / "outline.yaml").read_text())
    book = create_book(rec, None, spec["title"], spec.get("author", ""), genre=spec.get("genre", ""))
    rec.update_book(book["id"], description=" ".join(spec["premise"].split()))
    for e in spec["bible"]:
        rec.add_bible_entry(book["id"], e["kind"], e["name"], e["text"])
    for it in spec["outline"]:
        rec.add_outline_item(book["id"], it["title"], it["summary"])
    return ids + [book["id"]]


V0, BEFORE, NOW, OWN = ("v0 (first studio wording)", "request only (before openings)",
                        "now: request + opening, as read", "now: the model's words only")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--k", type=int, default=4, help="candidates per chapter (default 4)")
    p.add_argument("--max-new-tokens", type=int, default=96, help="tokens per candidate (default 96, the studio's)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = p.parse_args(argv)

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    from writer.draft import DraftConfig, DraftStream

    from ui.studio.books import instructions_for
    from ui.studio.drafting import chapter_prompt_for
    from ui.studio.engine import StudioEngine

    engine = StudioEngine(tempfile.mkdtemp(prefix="bench-follow-"), max_new_tokens=args.max_new_tokens)
    rec = engine.rec
    cfg = DraftConfig(k=args.k, max_new_tokens=args.max_new_tokens, seed=args.seed)
    rows = {V0: [], BEFORE: [], NOW: [], OWN: []}
    samples = {}
    with engine.writer_slot() as (writer, _):
        for book_id in books(rec):
            book = rec.get("books", book_id)
            bible = rec.bible(book_id, active_only=True)
            outline = rec.outline(book_id)
            for index, item in enumerate(outline):
                names = chapter_names(bible, item["summary"])
                ctx = chapter_prompt_for(engine, writer, book, item["id"], cfg.max_new_tokens, instructions_for(book))
                # nothing is cut from these short books, so the opening's few tokens of room leave
                # the request as it was before openings: one text serves both rows
                assert not ctx.cut, ctx.cut
                wordings = {V0: (v0_prompt(bible, outline, index), v0_instructions(book), ""),
                            BEFORE: (ctx.text, instructions_for(book), ""),
                            NOW: (ctx.text, instructions_for(book), ctx.opening)}
                for label, (prompt, instructions, opening) in wordings.items():
                    stream = DraftStream(writer, prompt, cfg, instructions, prefill=opening)
                    for _ in stream:  # the studio's path: one generate call, K rows, streamed
                        pass
                    texts = [c.text for c in stream.result]
                    rows[label] += [checks(t, names, item["summary"]) for t in texts]
                    samples.setdefault(label, texts[0])
                    if label == NOW:
                        rows[OWN] += [checks(t[len(opening):], names, item["summary"]) for t in texts]
                print(f"  {book['title']} / {item['title']}: done (opening {ctx.opening!r})", file=sys.stderr)
    n = len(rows[NOW])
    print(f"\n{n} candidates per wording ({args.k} per chapter, 7 chapters, {args.max_new_tokens} new tokens, "
          f"seed {args.seed}, built-in writer fp32)\n")
    print("| wording | names a bible character/place | summary words used (mean) | uses half the summary | chatter |")
    print("|---|---|---|---|---|")
    means = {}
    for label, got in rows.items():
        m = {k: sum(r[k] for r in got) / len(got) for k in ("names", "summary", "half", "chatter")}
        means[label] = m
        print(f"| {label} | {m['names']:.0%} | {m['summary']:.0%} | {m['half']:.0%} | {m['chatter']:.0%} |")
    old = means[V0]
    for label, short in ((BEFORE, "request only / v0"), (NOW, "now, as read / v0"), (OWN, "now, model's words / v0")):
        r = {k: f"{means[label][k] / old[k]:.2f}x" if old[k] else "-" for k in old}
        print(f"| {short} | {r['names']} | {r['summary']} | {r['half']} | {r['chatter']} |")
    for label, text in samples.items():
        print(f"\nfirst candidate, {label}: {' '.join(text.split())[:300]}")
    engine.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
