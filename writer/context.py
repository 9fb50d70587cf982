"""Context for drafting a chapter: story bible + outline + the end of the previous chapter,
fitted to the model's context window.

    budget = prompt_budget(writer, max_new_tokens=256)
    ctx = chapter_prompt(writer.tokenizer, bible, outline, index=3, previous_text=ch3, budget=budget)
    draft(writer, [ctx.text], cfg)

The fitting rule, in the order things are cut when the prompt is over budget:

1. The end of the previous chapter shrinks, keeping its last sentences, down to
   ``MIN_TAIL_TOKENS`` (continuity needs only the last beat, not the whole scene).
2. Outline items far from the current chapter are dropped, farthest first (the chapters just
   before and after matter most).
3. Story bible entries are dropped from the bottom of the bible up (authors put the most
   important entries first).
4. The previous chapter's end goes entirely.
5. What is left, the current chapter's own outline item, is never cut: if it alone does not
   fit, ``ContextError`` says by how much.

Every cut is listed in ``ChapterContext.cut`` so the studio can show what the model did not see.

``chapter_opening`` gives the draft's first words (the character the summary names first), which
the studio hands the writer to continue (``DraftStream(prefill=...)``); batch drafting does not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from record.errors import UserError

TAIL_TOKENS = 400
MIN_TAIL_TOKENS = 120


class ContextError(UserError):
    """The chapter's own outline item does not fit the context window."""


@dataclass
class ChapterContext:
    text: str
    tokens: int
    bible_tokens: int
    cut: list[str] = field(default_factory=list)
    opening: str = ""  # the draft's first words, for the writer to continue (``chapter_opening``)


def _bible_line(entry: dict) -> str:
    return f"- {entry['name']} ({entry.get('kind', 'note')}): {entry.get('text', '').strip()}"


def _outline_line(i: int, item: dict) -> str:
    return f"{i + 1}. {item['title']}: {item.get('summary', '').strip()}".rstrip(": ")


def _bible_block(entries: list[dict]) -> str:
    if not entries:
        return ""
    return "Story bible:\n" + "\n".join(_bible_line(e) for e in entries)


def _outline_block(outline: list[dict], keep: list[int], index: int) -> str:
    lines = [_outline_line(i, outline[i]) for i in keep if i != index]
    if not lines:
        return ""
    return "The other chapters, for context only (do not write them):\n" + "\n".join(lines)


def _tail(tokenizer, text: str, ids: list[int], n: int) -> str:
    """The last ``n`` tokens of ``text`` (whose token ids are ``ids``), started at a word boundary."""
    if n <= 0 or not ids:
        return ""
    if len(ids) <= n:
        return text.strip()
    piece = tokenizer.decode(ids[-n:], skip_special_tokens=True)
    space = piece.find(" ")
    return ("..." + piece[space:] if 0 <= space < 40 else "..." + piece).strip()


def _named(bible: list[dict], summary: str) -> list[str]:
    """The bible's characters and places that ``summary`` mentions by a capitalised word of
    their name ("Mara" for Mara Quill; not "The")."""
    said = {w.lower() for w in re.findall(r"[^\W\d_]+", summary)}
    return [e["name"] for e in bible if e.get("kind") in ("character", "place")
            and any(w.lower() in said for w in _name_words(e["name"]))]


def _name_words(name: str) -> list[str]:
    """The capitalised words of a bible name that can stand for it ("Mara" for Mara Quill; not "The")."""
    return [w for w in re.findall(r"[^\W\d_]{3,}", name) if w[0].isupper() and w.lower() not in ("the", "and")]


def chapter_opening(bible: list[dict], summary: str) -> str:
    """The first words of the chapter's draft: the bible character the summary names first, as
    the summary names them ("Ada" for Ada Morrow, "Widow Carrow"); empty when it names none.

    The built-in writer, asked for "a story with Mara", often starts on someone else ("The story
    begins with Emily...") or on the task; handed the start of its answer, it continues that:
    every draft opens on the chapter's character, with no chatter, and its own words use a few
    more of the summary's (bench/bench_studio_follow.py, BENCHMARKS.md). Only a character opens
    a chapter: a place name alone ("Gull Rock") is not how a chapter starts.

    >>> chapter_opening([{"kind": "character", "name": "Ada Morrow"}], "During a gale Ada lights the lamp.")
    'Ada'
    """
    first: tuple[int, set[str]] | None = None
    for entry in bible:
        if entry.get("kind") != "character":
            continue
        words = _name_words(entry["name"])
        for word in words:
            m = re.search(rf"\b{re.escape(word)}\b", summary)
            if m and (first is None or m.start() < first[0]):
                first = (m.start(), set(words))
    if first is None:
        return ""
    start, words = first
    end = start
    for m in re.finditer(r"[^\W\d_]+", summary[start:]):  # the name as written: "Widow Carrow", not "Widow"
        if m.group() not in words or summary[end:start + m.start()].strip():
            break
        end = start + m.end()
    return summary[start:end]


def _assemble(bible: list[dict], outline: list[dict], keep: list[int], index: int, tail: str) -> str:
    # The request comes last and says what the chapter must hold: a small writer follows what it
    # read last (measured in bench/bench_studio_follow.py).
    item = outline[index]
    summary = item.get("summary", "").strip()
    current = f"Write chapter {index + 1}, \"{item['title']}\"."
    if summary:
        current += f" What happens in it: {summary}"
    if tail:
        current += " Continue the story from where the previous chapter ended."
    names = _named(bible, summary)
    names = names[:3]
    with_names = f" with {', '.join(names[:-1])} and {names[-1]}" if len(names) > 1 else f" with {names[0]}" if names else ""
    current += f" Tell it as a story{with_names}, starting now."
    parts = [_bible_block(bible), _outline_block(outline, keep, index)]
    if tail:
        parts.append("The previous chapter ended:\n" + tail)
    parts.append(current)
    return "\n\n".join(p for p in parts if p)


def chapter_prompt(tokenizer, bible: list[dict], outline: list[dict], index: int, previous_text: str,
                   budget: int) -> ChapterContext:
    """Build the user prompt for chapter ``index`` within ``budget`` tokens (see module doc).

    The cuts form one sequence of states (shrink the tail step by step, drop outline items
    farthest first, bible entries bottom up, then the tail); the answer is the first state that
    fits. Lines are tokenised once each, so an estimate of a state's length costs O(1); the
    estimate picks a starting state, and a few exact counts, each of a text about the size of
    the budget, find the first state that really fits. Time grows with the outline's length only
    through sorting and formatting its items (re-tokenising the whole context after every cut, as
    before, made a 1,000-item outline take minutes).
    """
    if not 0 <= index < len(outline):
        raise ContextError(f"chapter {index + 1} is not in the outline ({len(outline)} items); add an outline item first")

    def count(text: str) -> int:
        return len(tokenizer(text, add_special_tokens=False)["input_ids"])

    def counts(lines: list[str]) -> list[int]:
        return [len(ids) for ids in tokenizer(lines, add_special_tokens=False)["input_ids"]] if lines else []

    bible = list(bible)
    previous_text = previous_text if previous_text.strip() else ""
    # Only the end of the previous chapter can be kept, so only its end is tokenised (a token is
    # far shorter than 16 characters; the cut at the slice's start is far from the kept tokens).
    tail_source = previous_text[-TAIL_TOKENS * 16:] if previous_text else ""
    tail_ids = tokenizer(tail_source, add_special_tokens=False)["input_ids"] if tail_source else []
    if len(tail_ids) <= TAIL_TOKENS and len(tail_source) < len(previous_text):
        tail_source, tail_ids = previous_text, tokenizer(previous_text, add_special_tokens=False)["input_ids"]
    tails = [TAIL_TOKENS]  # 1. the tail shrinks by 80 tokens a step, down to MIN_TAIL_TOKENS
    while previous_text and tails[-1] > MIN_TAIL_TOKENS:
        tails.append(max(MIN_TAIL_TOKENS, tails[-1] - 80))
    tail_text = {n: _tail(tokenizer, tail_source, tail_ids, n) for n in tails + [0]}
    # 2. outline items, farthest from the current chapter first; 3. bible entries from the bottom.
    order = sorted((i for i in range(len(outline)) if i != index), key=lambda i: (abs(i - index), i), reverse=True)
    n_tail, n_outline, n_bible = len(tails) - 1, len(order), len(bible)
    n_states = n_tail + n_outline + n_bible + (1 if previous_text else 0)

    def state(k: int) -> tuple[int, int, int]:
        """(tail tokens, outline items dropped, bible entries dropped) after the first k cuts."""
        tail_n = tails[min(k, n_tail)]
        k -= n_tail
        dropped = min(max(k, 0), n_outline)
        k -= n_outline
        popped = min(max(k, 0), n_bible)
        k -= n_bible
        return (0 if k > 0 else tail_n), dropped, popped

    # Prefix sums for the estimate: a block costs its lines, one newline per line and a header.
    # Outline lines are tokenised nearest first, only until they alone overflow the budget: the
    # farther ones are dropped whatever they hold (each costs at least a token), so a long
    # outline costs no more tokenising than a short one.
    header = 8
    outline_left = [0] * (n_outline + 1)  # tokens of the items still kept after m drops
    known = n_outline  # outline_left[m] is exact for m >= known
    chunk = 64
    while known > 0 and outline_left[known] <= budget:
        batch = order[max(0, known - chunk):known]
        for i, c in zip(reversed(batch), reversed(counts([_outline_line(i, outline[i]) for i in batch]))):
            known -= 1
            outline_left[known] = outline_left[known + 1] + c + 1
        chunk *= 2
    for m in range(known - 1, -1, -1):  # a lower bound, already over the budget
        outline_left[m] = outline_left[m + 1] + 1
    bible_kept = [0]  # tokens of the first j entries
    for c in counts([_bible_line(e) for e in bible]):
        bible_kept.append(bible_kept[-1] + c + 1)
    skeletons: dict[int, int] = {}

    def skeleton(tail_n: int) -> int:
        """Tokens of the prompt with no bible and no other outline items (counted when needed)."""
        if tail_n not in skeletons:
            skeletons[tail_n] = count(_assemble([], outline, [index], index, tail_text[tail_n]))
        return skeletons[tail_n]

    def estimate(k: int) -> int:
        tail_n, dropped, popped = state(k)
        kept_bible = bible_kept[n_bible - popped]
        return (skeleton(tail_n) + (outline_left[dropped] + header if dropped < n_outline else 0)
                + (kept_bible + header if popped < n_bible else 0))

    built: dict[int, tuple[str, int]] = {}

    def build(k: int) -> tuple[str, int]:
        if k not in built:
            tail_n, dropped, popped = state(k)
            keep = sorted(order[dropped:] + [index])
            text = _assemble(bible[:n_bible - popped], outline, keep, index, tail_text[tail_n])
            built[k] = (text, count(text))
        return built[k]

    def fits(k: int) -> bool:
        return build(k)[1] <= budget

    # The first state the estimate says fits, then exact counts around it: gallop to a state
    # that does not fit and one that does, and bisect between them.
    k0 = next((k for k in range(n_states + 1) if estimate(k) <= budget), n_states)
    if fits(k0):
        lo, hi, step = k0 - 1, k0, 1
        while lo >= 0 and fits(lo):
            hi, step = lo, step * 2
            lo = hi - step
        lo = max(lo, -1)
    else:
        lo, hi, step = k0, k0 + 1, 1
        while hi < n_states and not fits(hi):
            lo, step = hi, step * 2
            hi = min(lo + step, n_states)
        hi = min(hi, n_states)
        if not fits(hi):
            raise ContextError(
                f"chapter {index + 1}'s outline item alone is {build(n_states)[1]} tokens, over the "
                f"{budget}-token budget; shorten its summary or lower max_new_tokens"
            )
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if fits(mid) else (mid, hi)
    text, n = build(hi)
    tail_n, dropped, popped = state(hi)
    cut: list[str] = []
    if hi > 0 and previous_text:
        cut.append(f"previous chapter shortened to its last {tails[min(hi, n_tail)]} tokens")
    cut += [f"outline item {i + 1} ({outline[i]['title']})" for i in order[:dropped]]
    cut += [f"bible entry {e['name']}" for e in reversed(bible[n_bible - popped:])]
    if previous_text and tail_n == 0:
        cut.append("the end of the previous chapter")
    block = _bible_block(bible[:n_bible - popped])
    return ChapterContext(text=text, tokens=n, bible_tokens=count(block) if block else 0, cut=cut)


def prompt_budget(writer, max_new_tokens: int, instructions: str = "") -> int:
    """Tokens left for the user prompt once the chat template, the instructions and the new
    tokens are set aside."""
    from writer.draft import chat_text

    overhead = len(writer.tokenizer(chat_text(writer.tokenizer, "", instructions), add_special_tokens=False)["input_ids"])
    return writer.context_window - max_new_tokens - overhead
