"""Drafting a chapter in the studio: K candidates streamed side by side, scored by the critic
panel, recorded; the author's pick becomes the chapter text and a preference pair against each
other candidate. Also rewriting or expanding a selected passage (again K candidates).

    for update in stream_candidates(engine, "session", None, book_id, item_id, sampling):
        update["texts"]      # one string per candidate, growing
    pick(engine, None, book_id, item_id, update["draft_ids"], 0, current_text)

The generator holds one model slot (the studio's model queue) while it generates and scores;
``engine.stop(session)`` ends generation at the next token, and the stopped candidates are
still recorded and scored (finished work is never lost).
"""

from __future__ import annotations

from typing import Any, Iterator

from ui.studio.books import book_settings, instructions_for, owned_book
from ui.studio.engine import StudioError
from ui.studio.outline import chapter_for_item

MODES = ("chapter", "rewrite", "expand")
SUPERSEDED = "the author picked another candidate"
PASSAGE_REQUEST = {
    "rewrite": "Rewrite this passage from the chapter \"{title}\" so it reads better. Keep its events and "
               "its length; change the wording.\n\nPassage:\n{passage}",
    "expand": "Expand this passage from the chapter \"{title}\" into a longer, richer scene with more detail "
              "and dialogue. Keep its events.\n\nPassage:\n{passage}",
}


def _sampling_config(engine, sampling: dict[str, Any]):
    from writer.draft import DraftConfig

    return DraftConfig(k=int(sampling["k"]), temperature=float(sampling["temperature"]), top_p=float(sampling["top_p"]),
                       repetition_penalty=float(sampling["repetition_penalty"]), seed=int(sampling["seed"]),
                       max_new_tokens=int(sampling.get("max_new_tokens") or engine.max_new_tokens))


def chapter_prompt_for(engine, writer, book: dict, item_id, max_new_tokens: int, instructions: str):
    """The chapter's prompt (bible + outline + the end of the previous chapter), fitted."""
    from writer.context import chapter_prompt, prompt_budget

    outline = engine.rec.outline(book["id"])
    ids = [it["id"] for it in outline]
    if int(item_id) not in ids:
        raise StudioError("that chapter is not in this book's outline; pick a chapter")
    index = ids.index(int(item_id))
    previous = ""
    if index > 0:
        prev = engine.rec.one("SELECT text FROM chapters WHERE outline_item_id = ?", (ids[index - 1],))
        previous = prev["text"] if prev else ""
    bible = [{"kind": e["kind"], "name": e["name"], "text": e["text"]} for e in engine.rec.bible(book["id"], active_only=True)]
    items = [{"title": it["title"], "summary": it["summary"]} for it in outline]
    budget = prompt_budget(writer, max_new_tokens, instructions)
    return chapter_prompt(writer.tokenizer, bible, items, index, previous, budget)


def first_chapter(engine, user, book_id) -> int:
    """The first outline item, made ("Chapter 1") when the book has no outline yet."""
    book = owned_book(engine.rec, book_id, user)
    outline = engine.rec.outline(book["id"])
    if outline:
        return outline[0]["id"]
    return engine.rec.add_outline_item(book["id"], "Chapter 1")


def stream_candidates(engine, session: str | None, user: str | None, book_id, item_id, sampling: dict[str, Any],
                      mode: str = "chapter", passage: str = "", chapter_text: str = "") -> Iterator[dict[str, Any]]:
    """Draft K candidates for a chapter (or a passage of it); yields progress dicts with
    ``texts``, and finally ``draft_ids``, ``scores`` ({critic: (score, reason)} per candidate,
    with the panel total under 'panel'), ``guards`` and ``message``."""
    from writer.cli import record_candidates
    from writer.draft import DraftStream

    rec = engine.rec
    book = owned_book(rec, book_id, user)
    if mode not in MODES:
        raise StudioError(f"drafting mode {mode!r} unknown; use one of {', '.join(MODES)}")
    if item_id in (None, ""):
        item_id = first_chapter(engine, user, book["id"])
    chapter = chapter_for_item(rec, user, book["id"], item_id)
    cfg = _sampling_config(engine, sampling)
    instructions = instructions_for(book)
    if mode != "chapter" and not (passage or "").strip():
        raise StudioError("select a passage in the chapter text first (drag over it), then rewrite or expand it")
    settings = book_settings(rec, book["id"], user)
    panel = engine.panel(book, settings["weights"])
    yield {"texts": [""] * cfg.k, "message": f"Waiting for the writer (model queue: {engine.concurrency} at a time)..."}
    with engine.writer_slot() as (writer, round_id):
        if mode == "chapter":
            ctx = chapter_prompt_for(engine, writer, book, item_id, cfg.max_new_tokens, instructions)
            prompt, cut = ctx.text, ctx.cut
        else:
            prompt, cut = PASSAGE_REQUEST[mode].format(title=chapter["title"], passage=passage.strip()), []
        stream = DraftStream(writer, prompt, cfg, instructions)
        if session:
            engine.streams[session] = stream
        try:
            note = f" (not shown to the model for lack of room: {'; '.join(cut)})" if cut else ""
            for texts in stream:
                yield {"texts": texts, "message": f"Drafting {cfg.k} candidates...{note}"}
        finally:
            stream.stop()  # a closed generator (browser gone) must not leave the model running
            if session and engine.streams.get(session) is stream:
                del engine.streams[session]
        candidates = stream.result
        ids = record_candidates(rec, writer, candidates, cfg, instructions, round_id,
                                book_id=book["id"], chapter_id=chapter["id"])
        guards: list[str | None] = [None] * len(ids)
        if panel is not None and candidates:
            from critics.panel import record_scores

            yield {"texts": [c.text for c in candidates], "message": "Scoring the candidates with the critic panel..."}
            item = rec.get("outline_items", int(item_id))
            outline = f"{item['title']}: {item['summary']}".strip(": ")
            # Judged against what the author asked for (the outline item, or the passage), not
            # against the context scaffolding ("Write chapter 3 ...") around it.
            asked = outline if mode == "chapter" else passage.strip()
            results = panel.score([asked] * len(candidates), [c.text for c in candidates], [outline] * len(candidates))
            record_scores(rec, ids, results, panel.version(rec))
            guards = [r.guard for r in results]
    stopped = any(c.finish_reason == "stopped" for c in candidates)
    scores = [scores_of(rec, i) for i in ids]
    message = (f"Stopped: {len(ids)} partial candidates kept." if stopped else f"{len(ids)} candidates ready.")
    message += " Pick the one to keep." if ids else ""
    if panel is None:
        message += " Critic scores are not available yet (the critics package has not landed)."
    yield {"texts": [c.text for c in candidates], "draft_ids": ids, "scores": scores, "guards": guards,
           "message": message, "mode": mode, "chapter_id": chapter["id"], "item_id": int(item_id)}


def scores_of(rec, draft_id: int) -> dict[str, tuple[float, str]]:
    return {critic: (row["score"], row["reason"]) for critic, row in rec.scores(draft_id).items()}


def _book_draft(rec, book: dict, draft_id) -> dict[str, Any]:
    row = rec.one("SELECT * FROM drafts WHERE id = ? AND book_id = ?", (int(draft_id), book["id"]))
    if row is None:
        raise StudioError(f"draft {draft_id} is not one of this book's candidates; draft again")
    return row


def pick(engine, user: str | None, book_id, item_id, draft_ids: list[int], index: int, chapter_text: str = "",
         mode: str = "chapter", selection: tuple[int, int] | None = None, author: str | None = None) -> dict[str, Any]:
    """Keep candidate ``index``: it becomes the chapter text (or replaces the selected passage),
    and the pick is recorded against each other candidate as a preference pair (origin 'pick',
    margin = the panel's total difference when scored). All in one transaction."""
    rec = engine.rec
    book = owned_book(rec, book_id, user)
    if not draft_ids:
        raise StudioError("there are no candidates to pick from; draft first")
    if not 0 <= int(index) < len(draft_ids):
        raise StudioError(f"there is no candidate {int(index) + 1}; pick one of 1-{len(draft_ids)}")
    chapter = chapter_for_item(rec, user, book["id"], item_id)
    drafts = [_book_draft(rec, book, d) for d in draft_ids]
    chosen = drafts[int(index)]
    if mode == "chapter":
        text = chosen["text"]
    else:
        if not selection:
            raise StudioError("the selected passage was lost; select it again and redraft")
        start, end = int(selection[0]), int(selection[1])
        current = chapter_text if chapter_text is not None else chapter["text"]
        if not 0 <= start <= end <= len(current):
            raise StudioError("the chapter text changed since the passage was selected; select it again")
        text = current[:start] + chosen["text"] + current[end:]
    totals = {d["id"]: (scores_of(rec, d["id"]).get("panel") or (None, ""))[0] for d in drafts}
    who = author if author is not None else (user or book["author"] or "author")
    pairs = 0
    with rec.transaction():
        # A change of mind: this author's earlier pick among the same candidates stops counting
        # (if not yet taught); other authors' feedback choices are theirs and stay.
        marks = ",".join("?" for _ in drafts)
        ids = [d["id"] for d in drafts]
        rec.conn.execute(
            f"UPDATE pairs SET vetoed = 1, veto_reason = ? WHERE origin = 'pick' "
            f"AND chosen_id IN ({marks}) AND rejected_id IN ({marks}) AND chosen_id != ? AND vetoed = 0 "
            "AND id NOT IN (SELECT pair_id FROM round_pairs) "
            "AND pick_id IN (SELECT id FROM picks WHERE author = ? AND session = 'studio')",
            (SUPERSEDED, *ids, *ids, chosen["id"], who))
        for other in drafts:
            if other["id"] == chosen["id"]:
                continue
            pick_id = rec.add_pick(chosen["id"], other["id"], author=who, kind="pick", session="studio")
            margin = None
            if totals[chosen["id"]] is not None and totals[other["id"]] is not None:
                margin = totals[chosen["id"]] - totals[other["id"]]
            if rec.add_pair(chosen["prompt"], chosen["id"], other["id"], "pick", margin=margin, pick_id=pick_id):
                pairs += 1
            else:  # picked before, then changed, now back: the pair counts again
                pairs += rec.conn.execute(
                    "UPDATE pairs SET vetoed = 0, veto_reason = NULL WHERE chosen_id = ? AND rejected_id = ? "
                    "AND veto_reason = ?", (chosen["id"], other["id"], SUPERSEDED)).rowcount
        rec.set_chapter_text(chapter["id"], text)
    return {"text": text, "pairs": pairs,
            "message": f"Kept candidate {int(index) + 1}; {pairs} preference pair(s) recorded for training."}


def save_text(engine, user, book_id, item_id, text: str) -> str:
    """The author's own edit of the chapter text."""
    book = owned_book(engine.rec, book_id, user)
    chapter = chapter_for_item(engine.rec, user, book["id"], item_id)
    engine.rec.set_chapter_text(chapter["id"], text or "")
    return f"Saved chapter \"{chapter['title']}\" ({len((text or '').split())} words)."


def chapter_text(engine, user, book_id, item_id) -> str:
    if item_id in (None, ""):
        return ""
    book = owned_book(engine.rec, book_id, user)
    return chapter_for_item(engine.rec, user, book["id"], item_id)["text"]
