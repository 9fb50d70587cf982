"""What the studio costs on top of drafting: one chapter draft (K candidates, scored by the
default critic panel, recorded) done directly with the library, through the studio's handler,
and through the served studio over HTTP (gradio_client, streaming); then ten sessions drafting
at once through the server's one model queue against the same ten drafts done one after another
directly.

    .venv/bin/python bench/bench_studio.py                 # ~5 min on 2 busy cores
    .venv/bin/python bench/bench_studio.py --k 2 --max-new-tokens 32 --repeats 3

The built-in writer (fp32) and the critics' embedding model are loaded and warmed up before any
clock starts. Every row drafts the same chapter prompt with the same seed, so the rows differ only
in the path the work takes. Prints a Markdown table; ratios are against the direct row.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

WEIGHTS = {"headers": ["critic", "weight"], "data": [["", None]]}


def direct_draft(engine, book, item, sampling):
    """The baseline: the library calls the studio makes, without the studio."""
    from critics.panel import record_scores
    from writer.cli import record_candidates
    from writer.draft import DraftStream

    from ui.studio.books import instructions_for
    from ui.studio.drafting import _sampling_config, chapter_prompt_for

    cfg = _sampling_config(engine, sampling)
    instructions = instructions_for(book)
    panel = engine.panel(book, {})
    with engine.writer_slot() as (writer, round_id):
        prompt = chapter_prompt_for(engine, writer, book, item, cfg.max_new_tokens, instructions).text
        stream = DraftStream(writer, prompt, cfg, instructions)
        for _ in stream:
            pass
        ids = record_candidates(engine.rec, writer, stream.result, cfg, instructions, round_id, book_id=book["id"])
        results = panel.score([prompt] * len(ids), [c.text for c in stream.result])
        record_scores(engine.rec, ids, results, panel.version(engine.rec))
    return ids


def timed(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--k", type=int, default=2, help="candidates per draft (default 2)")
    p.add_argument("--max-new-tokens", type=int, default=32, help="tokens per candidate (default 32)")
    p.add_argument("--repeats", type=int, default=5, help="drafts per single-session row; the median counts")
    p.add_argument("--sessions", type=int, default=10, help="sessions drafting at once (default 10)")
    args = p.parse_args(argv)

    from gradio_client import Client

    from ui.studio import books as B
    from ui.studio import bible as Bi
    from ui.studio import drafting as D
    from ui.studio import outline as O
    from ui.studio.app import build_app, launch
    from ui.studio.engine import StudioEngine

    ws = Path(tempfile.mkdtemp(prefix="bench-studio-"))
    engine = StudioEngine(ws, max_new_tokens=args.max_new_tokens)
    book = B.create_book(engine.rec, None, "The Lighthouse", "A. Keeper", genre="mystery")
    Bi.add_entry(engine.rec, None, book["id"], "character", "Mara", "the lighthouse keeper, afraid of boats")
    item = O.add_item(engine.rec, None, book["id"], "The storm", "Mara finds a door in the sea")
    sampling = {**B.SAMPLING_DEFAULTS, "k": args.k, "max_new_tokens": args.max_new_tokens, "seed": 7}

    load_start = time.perf_counter()
    direct_draft(engine, book, item, sampling)  # loads the writer and the embedding model, warms both
    load_s = time.perf_counter() - load_start

    app = build_app(engine)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    launch(app, port=port, prevent_thread_lock=True)
    url = f"http://127.0.0.1:{port}/"
    client = Client(url, verbose=False)
    draft_args = (book["id"], item, args.k, 0.8, 0.95, 1.1, 7, args.max_new_tokens, WEIGHTS)
    client.predict(*draft_args, api_name="/draft")  # warm the route

    # The paths take turns, repeat after repeat, so a change in the machine's load (shared cores)
    # hits all of them alike; the median of each path counts.
    paths = {
        "direct: DraftStream + panel + record": lambda: direct_draft(engine, book, item, sampling),
        "studio handler in-process (stream_candidates)":
            lambda: list(D.stream_candidates(engine, "bench", None, book["id"], item, sampling)),
        "served studio, 1 session over HTTP (gradio_client)": lambda: client.predict(*draft_args, api_name="/draft"),
    }
    times: dict[str, list[float]] = {name: [] for name in paths}
    for _ in range(args.repeats):
        for name, fn in paths.items():
            times[name].append(timed(fn, 1))
    rows = [(name, statistics.median(ts)) for name, ts in times.items()]
    base = rows[0][1]

    sequential = timed(lambda: [direct_draft(engine, book, item, sampling) for _ in range(args.sessions)], 1)
    clients = [Client(url, verbose=False) for _ in range(args.sessions)]
    errors: list[BaseException] = []

    def one(c):
        try:
            out = c.predict(*draft_args, api_name="/draft")
            assert f"{args.k} candidates ready" in out[-2], out[-2]
        except BaseException as e:  # counted below
            errors.append(e)

    def together():
        threads = [threading.Thread(target=one, args=(c,)) for c in clients]
        [t.start() for t in threads]
        [t.join() for t in threads]

    concurrent = timed(together, 1)
    app.close()
    engine.close()

    print(f"Built-in writer fp32, K={args.k}, {args.max_new_tokens} new tokens, default critic panel; "
          f"models loaded and warmed in {load_s:.1f} s (not counted). Median of {args.repeats} drafts per "
          "single-session row.\n")
    print("| path | s per draft | x direct |")
    print("|---|---:|---:|")
    for name, t in rows:
        print(f"| {name} | {t:.2f} | {t / base:.2f} |")
    print(f"| {args.sessions} drafts one after another, direct | {sequential / args.sessions:.2f} | "
          f"{sequential / args.sessions / base:.2f} |")
    print(f"| {args.sessions} sessions at once through the served studio (wall / {args.sessions}) | "
          f"{concurrent / args.sessions:.2f} | {concurrent / args.sessions / base:.2f} |")
    print(f"\n{args.sessions - len(errors)}/{args.sessions} concurrent sessions completed without error; "
          f"{args.sessions} at once took {concurrent / sequential:.2f}x the sequential direct time.")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
