"""Drafting a chapter in the studio: K candidates streamed side by side (each opening on the
character the chapter's summary names first, ``writer.context.chapter_opening``), scored by the
critic panel, recorded; the author's pick becomes the chapter text (a new version of it) and a
preference pair against each other candidate. Also rewriting or expanding a selected passage
(again K candidates): the selection is snapped to whole words (and to sentence boundaries when
it nearly reaches them), a rewrite is asked for, budgeted and trimmed to stay within ~30% of
the selection's length, and the author sees the change as a diff to accept or reject.

    for update in stream_candidates(engine, "session", None, book_id, item_id, sampling):
        update["texts"]      # one string per candidate, growing
    pick(engine, None, book_id, item_id, update["draft_ids"], 0, current_text)
    start, end = snap_selection(text, 5, 17)          # whole words, sentences when close

The generator holds one model slot (the studio's model queue) while it generates and scores;
``engine.stop(session)`` ends generation at the next token, and the stopped candidates are
still recorded and scored (finished work is never lost).
"""

from __future__ import annotations

import math
import re
from typing import Any, Iterator

from ui.studio.books import book_settings, instructions_for, owned_book, remember_book
from ui.studio.engine import StudioError
from ui.studio.outline import chapter_for_item

MODES = ("chapter", "rewrite", "expand")
SUPERSEDED = "the author picked another candidate"
PASSAGE_REQUEST = {
    "rewrite": "Rewrite this passage from the chapter \"{title}\" so it reads better. Keep its events, its "
               "point of view and its tense; change the wording. Use about {words} words (between {lo} and {hi})"
               "{shape}. Reply with the rewritten passage only.\n\nPassage:\n{passage}",
    "expand": "Expand this passage from the chapter \"{title}\" into a longer, richer scene with more detail "
              "and dialogue. Keep its events. Reply with the expanded passage only.\n\nPassage:\n{passage}",
}
# a rewrite's length may move this far from the selection's (in words), either way
REWRITE_SLACK = 0.3
# how far (in characters) the snapped selection may grow to reach a sentence boundary
SENTENCE_REACH = 16
SENTENCE_END = re.compile(r"[.!?\u2026]+[\"'\u201d\u2019)\]]*(?=\s|$)")
CHATTER = re.compile(r"^\s*(?:sure|certainly|of course|okay|here(?:'s| is| are)|rewritten|revised|expanded|"
                     r"the (?:rewritten|revised|expanded) (?:passage|version|text))\b[^\n:]{0,80}:\s*", re.I)


def snap_selection(text: str, start: int, end: int) -> tuple[int, int]:
    """The selection grown to whole words, and to the sentence's start or end when one is
    within ``SENTENCE_REACH`` characters; whitespace at its edges is left out. A selection that
    ends mid-word ("grew bigg|er") takes the whole word, so nothing is glued on replacement."""
    n = len(text)
    start, end = max(0, min(int(start), n)), max(0, min(int(end), n))
    start, end = min(start, end), max(start, end)
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if start == end:
        return start, end
    while start > 0 and not text[start - 1].isspace():
        start -= 1
    while end < n and not text[end].isspace():
        end += 1
    # the sentence's start: after the last sentence end (or line break) before the selection
    bound = max([m.end() for m in SENTENCE_END.finditer(text, 0, start)] + [text.rfind("\n", 0, start) + 1, 0])
    while bound < start and text[bound].isspace():
        bound += 1
    if 0 < start - bound <= SENTENCE_REACH:
        start = bound
    if not SENTENCE_END.search(text[max(start, end - 4):end] + " ", 0):
        m = SENTENCE_END.search(text, end)
        if m and m.end() - end <= SENTENCE_REACH and "\n" not in text[end:m.end()]:
            end = m.end()
    return start, end


def splice(text: str, start: int, end: int, new: str) -> str:
    """``text`` with [start, end) replaced by ``new``, spaced like its neighbours: never glued
    to the word before or after."""
    before, after = text[:start], text[end:]
    new = (new or "").strip()
    if before and new and not before[-1].isspace():
        new = " " + new
    if after and new and not after[0].isspace() and after[0] not in ".,;:!?)]}\u201d\u2019\"'":
        new += " "
    return before + new + after


def length_bounds(words: int) -> tuple[int, int]:
    """The word counts a rewrite of ``words`` words must land between."""
    return max(1, math.ceil(words * (1 - REWRITE_SLACK))), max(1, math.floor(words * (1 + REWRITE_SLACK)))


def fit_passage(text: str, words: int, paragraphs: bool) -> str:
    """A rewrite cut to its passage's shape: model chatter ("Here is the rewritten passage:")
    and quotes around it removed, one paragraph when the passage was one, and no longer than
    the upper bound. The cut is at the last sentence end within the bounds; with none there, at
    the last sentence end above half the passage's length (a whole sentence, a little short,
    reads better than a broken one); with none there either, at the bound with an ellipsis, so
    the author sees where it stops."""
    out = (text or "").strip()
    out = CHATTER.sub("", out, count=1).strip() or out
    if len(out) > 1 and out[0] in "\"\u201c" and out[-1] in "\"\u201d" and out.count(out[0]) <= 2:
        out = out[1:-1].strip()
    if not paragraphs:
        out = " ".join(out.split())
    lo, hi = length_bounds(words)
    tokens = out.split()
    if len(tokens) <= hi:
        return out
    within = short = None
    for m in SENTENCE_END.finditer(out):
        n = len(out[:m.end()].split())
        if n > hi:
            break
        if n >= lo:
            within = m.end()
        elif 2 * n >= words:
            short = m.end()
    cut = within or short
    return out[:cut].strip() if cut else " ".join(tokens[:hi]).rstrip(",;:-\u2014") + "\u2026"


def _sampling_config(engine, sampling: dict[str, Any]):
    from writer.draft import DraftConfig

    return DraftConfig(k=int(sampling["k"]), temperature=float(sampling["temperature"]), top_p=float(sampling["top_p"]),
                       repetition_penalty=float(sampling["repetition_penalty"]), seed=int(sampling["seed"]),
                       max_new_tokens=int(sampling.get("max_new_tokens") or engine.max_new_tokens))


def chapter_prompt_for(engine, writer, book: dict, item_id, max_new_tokens: int, instructions: str):
    """The chapter's prompt (bible + outline + the end of the previous chapter), fitted, with the
    draft's opening words (``ChapterContext.opening``: the character the summary names first)."""
    from dataclasses import replace

    from writer.context import chapter_opening, chapter_prompt, prompt_budget

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
    opening = chapter_opening(bible, items[index]["summary"] or "")
    # the opening is read by the model like the prompt, so its tokens come out of the prompt's room
    budget = prompt_budget(writer, max_new_tokens, instructions)
    budget -= len(writer.tokenizer(opening, add_special_tokens=False)["input_ids"]) if opening else 0
    return replace(chapter_prompt(writer.tokenizer, bible, items, index, previous, budget), opening=opening)


def first_chapter(engine, user, book_id) -> int:
    """The first outline item, made ("Chapter 1") when the book has no outline yet."""
    book = owned_book(engine.rec, book_id, user)
    outline = engine.rec.outline(book["id"])
    if outline:
        return outline[0]["id"]
    return engine.rec.add_outline_item(book["id"], "Chapter 1")


def passage_request(tokenizer, title: str, passage: str, mode: str, cfg):
    """The writer's request for rewriting or expanding ``passage`` and the sampling config to
    draft it with: a rewrite asks for the passage's length (and shape: one paragraph when it was
    one) and gets a token budget just above the upper bound, so it cannot run on."""
    from writer.draft import DraftConfig

    words = len(passage.split())
    lo, hi = length_bounds(words)
    shape = ", in one paragraph" if "\n" not in passage else ""
    prompt = PASSAGE_REQUEST[mode].format(title=title, passage=passage, words=words, lo=lo, hi=hi, shape=shape)
    if mode == "rewrite":  # room for the upper bound and a little chatter, no more
        budget = len(tokenizer(passage, add_special_tokens=False)["input_ids"])
        cfg = DraftConfig(**{**cfg.to_dict(), "max_new_tokens": max(8, math.ceil(budget * (1 + REWRITE_SLACK)) + 8)})
    return prompt, cfg


def chapter_brief(rec, item: dict) -> str:
    """What a reader of this chapter's drafts may be told: its number, title and summary."""
    ids = [it["id"] for it in rec.outline(item["book_id"])]
    number = ids.index(item["id"]) + 1 if item["id"] in ids else "?"
    summary = (item.get("summary") or "").strip()
    return f"Chapter {number}, \"{item['title']}\"" + (f": {summary}" if summary else "")


def check_passage(chapter_text: str, passage: str, mode: str) -> None:
    """A passage to rewrite or expand must be part of the chapter, not empty and not all of it."""
    piece = (passage or "").strip()
    if not piece:
        raise StudioError("select a passage in the chapter text first (drag over it), then rewrite or expand it")
    whole = (chapter_text or "").strip()
    if whole and piece.split() == whole.split():
        raise StudioError(f"the selection is the whole chapter; to {mode} it, select a passage of it (a few "
                          "sentences), or use 'Draft candidates' to redraft the whole chapter")


def stream_candidates(engine, session: str | None, user: str | None, book_id, item_id, sampling: dict[str, Any],
                      mode: str = "chapter", passage: str = "", chapter_text: str = "") -> Iterator[dict[str, Any]]:
    """Draft K candidates for a chapter (or a passage of it); yields progress dicts with
    ``texts``, and finally ``draft_ids``, ``scores`` ({critic: (score, reason)} per candidate,
    with the panel total under 'panel'), ``guards``, ``round_id`` (the round whose adapter wrote
    them, None for the base model) and ``message``."""
    from writer.cli import record_candidates
    from writer.draft import DraftStream

    rec = engine.rec
    book = owned_book(rec, book_id, user)
    if mode not in MODES:
        raise StudioError(f"drafting mode {mode!r} unknown; use one of {', '.join(MODES)}")
    if item_id in (None, ""):
        item_id = first_chapter(engine, user, book["id"])
    chapter = chapter_for_item(rec, user, book["id"], item_id)
    item = rec.get("outline_items", int(item_id))
    cfg = _sampling_config(engine, sampling)
    instructions = instructions_for(book)
    notes = []
    if mode != "chapter":
        check_passage(chapter_text or chapter["text"], passage, mode)
        passage = passage.strip()
        brief = f"A {mode} of this passage from \"{chapter['title']}\": {passage}"
    else:
        brief = chapter_brief(rec, item)
        if not (item["summary"] or "").strip():
            notes.append(f"\"{item['title']}\" has no summary, so it was drafted from its title alone; add a "
                         "summary in the Outline tab for drafts that follow your plan.")
    settings = book_settings(rec, book["id"], user)
    panel = engine.panel(book, settings["weights"], cfg.max_new_tokens)
    remember_book(rec, user, book["id"])
    yield {"texts": [""] * cfg.k, "message": f"Waiting for the writer (model queue: {engine.concurrency} at a time)..."}
    with engine.writer_slot(user) as (writer, round_id):
        words = len(passage.split())
        if mode == "chapter":
            ctx = chapter_prompt_for(engine, writer, book, item_id, cfg.max_new_tokens, instructions)
            prompt, cut, opening = ctx.text, ctx.cut, ctx.opening
        else:
            prompt, cfg = passage_request(writer.tokenizer, chapter["title"], passage, mode, cfg)
            cut, opening = [], ""
        stream = DraftStream(writer, prompt, cfg, instructions, prefill=opening)
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
        if mode == "rewrite":  # what the author sees, picks and teaches with is the fitted text
            for c in candidates:
                c.text = fit_passage(c.text, words, "\n" in passage)
        ids = record_candidates(rec, writer, candidates, cfg, instructions, round_id, book_id=book["id"],
                                chapter_id=chapter["id"], owner=None if user is None else str(user), brief=brief)
        guards: list[str | None] = [None] * len(ids)
        if panel is not None and candidates:
            from critics.panel import record_scores

            yield {"texts": [c.text for c in candidates], "message": "Scoring the candidates with the critic panel..."}
            outline = f"{item['title']}: {item['summary']}".strip(": ")
            # Judged against what the author asked for (the outline item, or the passage), not
            # against the context scaffolding ("Write chapter 3 ...") around it.
            asked = outline if mode == "chapter" else passage.strip()
            results = panel.score([asked] * len(candidates), [c.text for c in candidates], [outline] * len(candidates))
            record_scores(rec, ids, results, panel.version(rec))
            guards = [r.guard for r in results]
    stopped = any(c.finish_reason == "stopped" for c in candidates)
    scores = [scores_of(rec, i) for i in ids]
    by = f"round {round_id}" if round_id else "the base model (no training yet)"
    message = (f"Stopped: {len(ids)} partial candidates kept" if stopped else f"{len(ids)} candidates ready")
    message += f", written by {by}." + (" Pick the one to keep." if ids else "")
    if mode != "chapter" and ids:
        message += " Picking one shows the change to accept or reject."
    if panel is None:
        message += " Critic scores are not available yet (the critics package has not landed)."
    message = " ".join([message, *notes])
    yield {"texts": [c.text for c in candidates], "draft_ids": ids, "scores": scores, "guards": guards,
           "message": message, "mode": mode, "chapter_id": chapter["id"], "item_id": int(item_id),
           "round_id": round_id, "notes": notes}


def scores_of(rec, draft_id: int) -> dict[str, tuple[float, str]]:
    return {critic: (row["score"], row["reason"]) for critic, row in rec.scores(draft_id).items()}


def _book_draft(rec, book: dict, draft_id) -> dict[str, Any]:
    row = rec.one("SELECT * FROM drafts WHERE id = ? AND book_id = ?", (int(draft_id), book["id"]))
    if row is None:
        raise StudioError(f"draft {draft_id} is not one of this book's candidates; draft again")
    return row


def _chosen(engine, user, book_id, item_id, draft_ids, index, chapter_text, mode, selection):
    """(book, chapter, the candidates' drafts, the chosen one, the chapter text with it in place)."""
    rec = engine.rec
    book = owned_book(rec, book_id, user)
    if not draft_ids:
        raise StudioError("there are no candidates to pick from; draft first")
    if not 0 <= int(index) < len(draft_ids):
        raise StudioError(f"there is no candidate {int(index) + 1}; pick one of 1-{len(draft_ids)}")
    drafts = [_book_draft(rec, book, d) for d in draft_ids]  # before anything is made for the chapter
    chapter = chapter_for_item(rec, user, book["id"], item_id)
    chosen = drafts[int(index)]
    if mode == "chapter":
        return book, chapter, drafts, chosen, chosen["text"]
    if not selection:
        raise StudioError("the selected passage was lost; select it again and redraft")
    start, end = int(selection[0]), int(selection[1])
    current = chapter_text if chapter_text is not None else chapter["text"]
    if not 0 <= start <= end <= len(current) or (len(selection) > 2 and current[start:end] != selection[2]):
        raise StudioError("the chapter text changed since the passage was selected; select it again and redraft")
    return book, chapter, drafts, chosen, splice(current, start, end, chosen["text"])


def propose(engine, user: str | None, book_id, item_id, draft_ids: list[int], index: int, chapter_text: str,
            mode: str, selection) -> dict[str, Any]:
    """The chapter as it would read with candidate ``index`` in place of the selected passage;
    nothing is changed until the author accepts (``pick``). Returns ``text`` and ``before``."""
    book, chapter, _, chosen, text = _chosen(engine, user, book_id, item_id, draft_ids, index, chapter_text, mode,
                                             selection)
    current = chapter_text if chapter_text is not None else chapter["text"]
    words = len(chosen["text"].split()), len(str(selection[2] if len(selection) > 2 else "").split())
    return {"text": text, "before": current, "index": int(index),
            "message": f"Candidate {int(index) + 1} would replace the {words[1]}-word selection with {words[0]} words; "
                       "accept or reject the change below."}


def pick(engine, user: str | None, book_id, item_id, draft_ids: list[int], index: int, chapter_text: str = "",
         mode: str = "chapter", selection=None, author: str | None = None, session: str | None = None,
         base_version: int | None = None) -> dict[str, Any]:
    """Keep candidate ``index``: it becomes the chapter text (or replaces the selected passage),
    a new version of the chapter, and the pick is recorded against each other candidate as a
    preference pair (origin 'pick', margin = the panel's total difference when scored). All in
    one transaction."""
    rec = engine.rec
    book, chapter, drafts, chosen, text = _chosen(engine, user, book_id, item_id, draft_ids, index, chapter_text, mode,
                                                  selection)
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
        version = rec.add_chapter_version(chapter["id"], text, "pick" if mode == "chapter" else mode, author=who,
                                          session=session, draft_id=chosen["id"], parent_id=base_version)
    return {"text": text, "pairs": pairs, "version": version,
            "message": f"Kept candidate {int(index) + 1} as version {version}; {pairs} preference pair(s) recorded "
                       "for training."}


def save_text(engine, user, book_id, item_id, text: str) -> str:
    """The author's own edit of the chapter text, kept as a new version."""
    from ui.studio.versions import save

    return save(engine.rec, user, book_id, item_id, text)["message"]


def chapter_text(engine, user, book_id, item_id) -> str:
    if item_id in (None, ""):
        return ""
    book = owned_book(engine.rec, book_id, user)
    return chapter_for_item(engine.rec, user, book["id"], item_id)["text"]
