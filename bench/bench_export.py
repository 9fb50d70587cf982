"""Export time and peak memory per format for a long book (default 200,000 words, 60 chapters).

    .venv/bin/python bench/bench_export.py [--words 200000] [--chapters 60] [--formats epub,docx,...]
    .venv/bin/python bench/bench_export.py --words 1000000,4000000 --chapters 1 --formats docx,manuscript,pdf

Each format runs in a fresh subprocess (so its peak resident memory is its own): it opens the
record, loads the book and writes the file through ``export_book``, exactly as
``scriptorium export`` does. The baseline, run the same way in the same run, loads the same book
and writes it as plain text; the table shows each format's time as a ratio to it. The goal in
issue 6 is every format under 20 s on 2 cores. After the Markdown export, importing that file
back (``scriptorium book import``) is timed too. Prints a Markdown table.

``--words`` takes several sizes (one book each, in one run); with ``pdf`` among the formats a
column gives each format's time as a ratio to the PDF export's of the same book (issue 16's goal:
DOCX within 3x of PDF on a one-chapter book of 1 and 4 million words).
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORDS = ("the sea light keeper door night wind stone harbour boat rope salt lamp tower gull storm "
         "morning her his they said quietly against through window letter bread fire old young "
         "remembered waited listened climbed opened answered under over between before after").split()

CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, {root!r})
from record.store import Record
rec = Record.open({db!r})
fmt, out = {fmt!r}, {out!r}
start = time.perf_counter()
if fmt == "baseline":
    from publish.book import SCENE_BREAK, load_manuscript
    ms = load_manuscript(rec, 1)
    with open(out, "w", encoding="utf-8") as f:
        for ch in ms.chapters:
            f.write(ch.title + "\n\n")
            for b in ch.blocks:
                f.write(("* * *" if b is SCENE_BREAK else b) + "\n\n")
elif fmt == "import-md":
    from publish.importer import import_markdown
    import_markdown(rec, out)
else:
    from publish.export import export_book
    export_book(rec, 1, fmt, out, force=True)
seconds = time.perf_counter() - start
print(json.dumps({{"seconds": seconds, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def make_book(db: Path, words: int, chapters: int, seed: int = 0) -> int:
    """A book of about ``words`` words in ``chapters`` chapters, with dialogue, scene breaks and
    characters that need escaping."""
    sys.path.insert(0, str(ROOT))
    from record.store import Record

    rng = random.Random(seed)
    rec = Record.open(db)
    book = rec.add_book(title="The Long Harbour", author="Ann Keeper")
    per_chapter = words // chapters
    total = 0
    with rec.transaction():
        for c in range(chapters):
            paras, n = [], 0
            while n < per_chapter:
                k = min(rng.randint(20, 110), per_chapter - n)
                ws = [rng.choice(WORDS) for _ in range(k)]
                ws[0] = ws[0].capitalize()
                if rng.random() < 0.2:
                    ws.insert(k // 2, "&")
                para = " ".join(ws) + "."
                if rng.random() < 0.3:
                    para = f"\u201c{para}\u201d"
                paras.append(para)
                n += k
                if rng.random() < 0.02:
                    paras.append("* * *")
            total += n
            rec.add_chapter(book["id"], f"Chapter {c + 1}", "\n\n".join(paras))
    rec.close()
    return total


def run(fmt: str, db: Path, out: Path) -> dict:
    code = CHILD.format(root=str(ROOT), db=str(db), fmt=fmt, out=str(out))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(f"{fmt} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--words", default="200000", help="words per book; several sizes comma separated")
    ap.add_argument("--chapters", type=int, default=60)
    ap.add_argument("--formats", default="epub,docx,manuscript,pdf,md")
    args = ap.parse_args()
    formats = args.formats.split(",")
    for words in (int(w) for w in args.words.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            bench_book(Path(tmp), words, args.chapters, formats)


def bench_book(tmp: Path, words: int, chapters: int, formats: list[str]) -> None:
    db = tmp / "record.sqlite"
    total = make_book(db, words, chapters)
    base = run("baseline", db, tmp / "baseline.txt")
    print(f"Book: {total:,} words, {chapters} chapters. Baseline (load + plain text): "
          f"{base['seconds']:.2f} s, {base['peak_mb']:.0f} MB peak.\n")
    results = {}
    order = ["pdf"] + [f for f in formats if f != "pdf"] if "pdf" in formats else formats  # the PDF first: the ratio
    for fmt in order:
        out = tmp / f"book.{fmt}"
        results[fmt] = dict(run(fmt, db, out), size=out.stat().st_size / 2**20)
        if fmt == "md":  # and back in: `scriptorium book import` of the same file
            results["import md"] = dict(run("import-md", db, out), size=results["md"]["size"])
        sys.stdout.flush()
    pdf = results.get("pdf", {}).get("seconds")
    print("| format | time (s) | x baseline |" + (" x pdf |" if pdf else "") + " peak memory (MB) | file size (MB) | under 20 s |")
    print("|---|---:|---:|" + ("---:|" if pdf else "") + "---:|---:|---|")
    for fmt in [f for f in formats if f in results] + (["import md"] if "import md" in results else []):
        r = results[fmt]
        ratio = f" {r['seconds'] / pdf:.2f} |" if pdf else ""
        print(f"| {fmt} | {r['seconds']:.2f} | {r['seconds'] / base['seconds']:.1f} |{ratio} {r['peak_mb']:.0f} | "
              f"{r['size']:.1f} | {'yes' if r['seconds'] < 20 else 'NO'} |")
    print()
    sys.stdout.flush()


if __name__ == "__main__":
    main()
