"""The batch runner: draft K candidates per item, keep the panel's best, record everything,
write the manuscript; resumable after a crash at any moment.

    summary = run_batch(rec, out, items, books, spec, draft_cfg, BatchConfig(), LocalBackend(...))

Flow: the run is named by a key (``batch/resume.py``) and its books are created once. Items
already finished in the record are skipped. The rest go to a backend (in-process, or Ray
actors) which returns drafts and panel scores; the driver picks the best candidate
(``critics.panel.best_of``), and in ONE transaction records the drafts, every critic's score,
the chapter and the item's finished mark. Then it writes the item's Markdown file (temp file +
rename). A book's chapters run in order, each drafted with the end of the chapter before it;
stories run in any order. At the end the manuscript (and any export format) is written from
the record, so a resumed run writes the same bytes as an uninterrupted one.

Outputs under ``out``: ``manuscript.md``, ``stories/NNNN-<id>.md`` or ``chapters/NN-<title>.md``
(one book in ``out``, several in ``out/<title>/``), exports, and ``batch.json`` (the summary).
"""

from __future__ import annotations

import collections
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from batch import manuscript as md
from batch import resume
from batch.config import BatchConfig
from batch.inputs import BookSpec, Item, slug
from batch.progress import BatchProgress
from batch.worker import ItemResult, Task, WriterSpec


@dataclass
class BatchSummary:
    """What a batch did; also written to ``batch.json``."""

    run_key: str
    total: int
    finished: int
    generated: int  # items drafted by this run (the rest were finished before)
    failed: list[dict[str, str]] = field(default_factory=list)
    tokens: int = 0
    seconds: float = 0.0  # wall time of this run
    work_seconds: float = 0.0  # drafting + scoring time reported by the workers
    bookkeeping_seconds: float = 0.0  # record writes, resume look-ups and file writes on the driver
    outputs: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class LocalBackend:
    """Runs tasks one at a time in this process, with one loaded worker."""

    capacity = 1

    def __init__(self, spec: WriterSpec, draft_config: dict, panel_config=None, worker=None, threads: int | None = None):
        self.spec, self.draft_config, self.panel_config = spec, draft_config, panel_config
        self.worker, self.threads = worker, threads
        self.pending: collections.deque = collections.deque()

    def start(self) -> None:
        if self.worker is None:
            from batch.worker import ItemWorker

            self.worker = ItemWorker(self.spec, self.draft_config, self.panel_config, threads=self.threads)

    def submit(self, task: Task) -> None:
        self.pending.append(task)

    def next_result(self) -> ItemResult:
        return self.worker.work(self.pending.popleft())

    def close(self) -> None:
        pass


def identity(mode: str, items: list[Item], books: list[BookSpec], spec: WriterSpec, draft_config: dict,
             cfg: BatchConfig, panel_config=None) -> dict[str, Any]:
    """Everything that decides a batch's output (not where it is written, not the backend)."""
    import dataclasses

    panel = dataclasses.asdict(panel_config) if dataclasses.is_dataclass(panel_config) else panel_config
    return {
        "mode": mode, "items": [[i.key, i.prompt] for i in items], "books": [b.to_dict() for b in books],
        "draft": draft_config, "model": spec.model_id, "precision": spec.precision, "adapter": spec.adapter,
        "panel": panel, "instructions": cfg.instructions, "title": cfg.title,
    }


def _book_dirs(out: Path, books: list[BookSpec]) -> list[Path]:
    if len(books) <= 1:
        return [out]
    dirs, used = [], set()
    for b in books:
        name, n = slug(b.title), 2
        while name in used:
            name, n = f"{slug(b.title)}-{n}", n + 1
        used.add(name)
        dirs.append(out / name)
    return dirs


def run_batch(rec, out: Path, items: list[Item], books: list[BookSpec], spec: WriterSpec, draft_config: dict,
              cfg: BatchConfig, backend, source: str = "", panel_config=None,
              panel_version: int | None = None) -> BatchSummary:
    """Run (or resume) a batch; see the module docstring. ``books`` is empty for a prompts batch;
    ``panel_config`` is the panel the backend's workers score with (it is part of the run's key)
    and ``panel_version`` the recorded panel version its weights come from, if any."""
    from critics.panel import best_of, record_scores

    wall = time.perf_counter()
    keep = 0.0  # bookkeeping seconds
    mode = "book" if books else "prompts"
    title = cfg.title or Path(source).stem or "Batch stories"
    key = resume.run_key(identity(mode, items, books, spec, draft_config, cfg, panel_config))
    by_key = {i.key: i for i in items}
    book_dirs = _book_dirs(out, books)

    def make_books() -> list[dict[str, Any]]:
        if not books:
            b = rec.add_book(title=title, genre="anthology", description=f"stories drafted by a batch from {source}")
            return [{"id": b["id"], "outline_ids": []}]
        made = []
        for spec_b in books:
            b = rec.add_book(title=spec_b.title, author=spec_b.author, genre=spec_b.genre, language=spec_b.language,
                             description=spec_b.premise)
            for e in spec_b.bible:
                rec.add_bible_entry(b["id"], e["kind"], e["name"], e["text"])
            ids = [rec.add_outline_item(b["id"], ch["title"], ch["summary"], position=i)  # (no MAX(position) per item)
                   for i, ch in enumerate(spec_b.outline)]
            made.append({"id": b["id"], "outline_ids": ids})
        return made

    t = time.perf_counter()
    md.clean_partials(out)
    state = resume.start_run(rec, key, {"mode": mode, "source": source, "items": len(items)}, make_books)
    done = resume.finished_items(rec, key)
    keep += time.perf_counter() - t

    def chapter_text(item_key: str) -> str:
        return rec.get("chapters", done[item_key]["chapter_id"])["text"]

    def item_path(item: Item) -> Path:
        if item.book is None:
            return out / "stories" / f"{item.position + 1:04d}-{slug(item.key)}.md"
        ch = books[item.book].outline[item.chapter]
        return book_dirs[item.book] / "chapters" / f"{item.chapter + 1:02d}-{slug(ch['title'])}.md"

    def item_markdown(item: Item) -> str:
        text = chapter_text(item.key)
        if item.book is None:
            return md.story_markdown(md.section_title(item.prompt), item.prompt, text)
        return md.chapter_markdown(item.chapter + 1, books[item.book].outline[item.chapter]["title"], text)

    # A chapter waits for the one before it; it is ready once that one is finished.
    successor: dict[str, Item] = {}
    ready: collections.deque[Item] = collections.deque()
    for item in items:
        if item.key in done:
            continue
        if item.book is not None and item.chapter > 0:
            prev = f"book{item.book + 1}/ch{item.chapter:03d}"
            if prev not in done:
                successor[prev] = item
                continue
        ready.append(item)

    def make_task(item: Item) -> Task:
        if item.book is None:
            return Task(key=item.key, prompt=item.prompt, instructions=cfg.instructions)
        b = books[item.book]
        prev = chapter_text(f"book{item.book + 1}/ch{item.chapter:03d}") if item.chapter > 0 else ""
        return Task(key=item.key, prompt=item.prompt, instructions=cfg.instructions, chapter=item.chapter,
                    bible=b.bible, outline=b.outline, premise=b.premise, previous_text=prev)

    def commit(item: Item, result: ItemResult) -> dict[str, Any]:
        best = best_of([r.total for r in result.scores])
        best_text = result.candidates[best]["text"]
        book = state["book_ids"][item.book or 0]

        def write() -> dict[str, Any]:
            prompt_id = None
            if item.book is None:
                prompt_id = rec.add_prompt(item.prompt, source=item.source, origin="batch", meta=item.meta)
                chapter_id = rec.add_chapter(book["id"], md.section_title(item.prompt), text=best_text,
                                             position=item.position)
            else:
                chapter_id = rec.add_chapter(book["id"], books[item.book].outline[item.chapter]["title"],
                                             text=best_text, outline_item_id=book["outline_ids"][item.chapter],
                                             position=item.chapter)
            rows = [dict(request=resume.request_id(key, item.key), prompt=result.model_prompt,
                         instructions=result.instructions, text=c["text"], model=spec.model_id, adapter=spec.adapter,
                         round_id=spec.round_id, config=draft_config, seed=c["seed"], candidate=c["candidate"],
                         tokens=c["tokens"], finish_reason=c["finish_reason"], book_id=book["id"],
                         chapter_id=chapter_id, prompt_id=prompt_id)
                    for c in result.candidates]
            ids = rec.add_drafts(rows)
            record_scores(rec, ids, result.scores, panel_version=panel_version)
            return {"draft_ids": ids, "best": best, "best_draft_id": ids[best], "chapter_id": chapter_id,
                    "total": float(result.scores[best].total), "tokens": result.tokens,
                    "context_cut": result.context.get("cut", [])}

        return resume.commit_item(rec, key, item.key, write)

    summary = BatchSummary(run_key=key, total=len(items), finished=len(done), generated=0)
    progress = BatchProgress(len(items), len(done), cfg.progress, desc=f"batch {key[:8]}")
    failed_keys: set[str] = set()

    def fail(item: Item, error: str) -> None:
        failed_keys.add(item.key)
        summary.failed.append({"item": item.key, "source": item.source, "error": error})
        progress.note(f"failed: {item.source or item.key}: {error}")
        progress.item(0, failed=True)
        nxt = successor.pop(item.key, None)
        if nxt is not None:
            fail(nxt, f"not drafted: the chapter before it ({item.key}) failed")

    for item in [i for i in ready if not i.prompt.strip()]:  # no model needed to refuse these
        ready.remove(item)
        fail(item, "the prompt is empty; give the writer something to write about")
    in_flight = 0
    try:
        if ready:
            backend.start()
        while ready or in_flight:
            while ready and in_flight < backend.capacity:
                backend.submit(make_task(ready.popleft()))
                in_flight += 1
            result = backend.next_result()
            in_flight -= 1
            item = by_key[result.key]
            summary.work_seconds += result.seconds
            if result.error:
                fail(item, result.error)
                continue
            t = time.perf_counter()
            done[item.key] = commit(item, result)
            md.write_atomic(item_path(item), item_markdown(item))
            keep += time.perf_counter() - t
            summary.generated += 1
            summary.tokens += result.tokens
            progress.item(result.tokens)
            nxt = successor.pop(item.key, None)
            if nxt is not None:
                ready.append(nxt)
    finally:
        progress.close()
        backend.close()

    t = time.perf_counter()
    summary.finished = len(done)
    summary.outputs = [str(p) for p in _write_outputs(rec, out, items, books, book_dirs, state, done, title, cfg,
                                                      item_path, item_markdown, summary.failed)]
    keep += time.perf_counter() - t
    summary.seconds = time.perf_counter() - wall
    summary.bookkeeping_seconds = keep
    md.write_atomic(out / "batch.json", json.dumps(summary.to_dict(), indent=2) + "\n")
    return summary


def _write_outputs(rec, out, items, books, book_dirs, state, done, title, cfg, item_path, item_markdown,
                   failed: list[dict[str, str]]) -> list[Path]:
    """Every item file (rewritten if a kill struck between commit and write), the manuscripts
    and the exports, all from the record. A failed export is appended to ``failed``."""
    written = []
    if cfg.formats:
        from publish import export_book
        from publish.export import default_suffix
    for item in items:
        if item.key in done:
            written.append(md.write_if_changed(item_path(item), item_markdown(item)))
    if not books:
        sections = [item_markdown(i) for i in items if i.key in done]
        written.append(md.write_if_changed(out / "manuscript.md", md.manuscript_markdown(title, sections)))
        book_outs = [(state["book_ids"][0]["id"], out, title)]
    else:
        book_outs = []
        for b, spec_b in enumerate(books):
            sections = [item_markdown(i) for i in items if i.book == b and i.key in done]
            written.append(md.write_if_changed(book_dirs[b] / "manuscript.md",
                                           md.manuscript_markdown(spec_b.title, sections, spec_b.author, spec_b.premise)))
            book_outs.append((state["book_ids"][b]["id"], book_dirs[b], spec_b.title))
    for fmt in cfg.formats:
        for book_id, folder, book_title in book_outs:
            path = folder / f"{slug(book_title)}{default_suffix(fmt)}"
            try:  # export_book writes to a temporary name and renames: the file is whole or absent
                written.append(export_book(rec, book_id, fmt, path, force=True))
            except Exception as e:  # the drafts are safe in the record; report and keep the other formats
                failed.append({"item": f"export:{fmt}", "source": str(path), "error": f"{type(e).__name__}: {e}"})
    return written
