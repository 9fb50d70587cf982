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
"""

from __future__ import annotations

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


def _bible_block(entries: list[dict]) -> str:
    if not entries:
        return ""
    lines = [f"- {e['name']} ({e.get('kind', 'note')}): {e.get('text', '').strip()}" for e in entries]
    return "Story bible:\n" + "\n".join(lines)


def _outline_block(outline: list[dict], keep: list[int], index: int) -> str:
    if len(keep) <= 1:
        return ""
    lines = []
    for i in keep:
        if i == index:
            continue
        item = outline[i]
        lines.append(f"{i + 1}. {item['title']}: {item.get('summary', '').strip()}".rstrip(": "))
    return "Outline of the book:\n" + "\n".join(lines)


def _tail(tokenizer, text: str, n: int) -> str:
    """The last ``n`` tokens of ``text``, started at a word boundary."""
    if n <= 0 or not text.strip():
        return ""
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    if len(ids) <= n:
        return text.strip()
    piece = tokenizer.decode(ids[-n:], skip_special_tokens=True)
    space = piece.find(" ")
    return ("..." + piece[space:] if 0 <= space < 40 else "..." + piece).strip()


def _assemble(bible: list[dict], outline: list[dict], keep: list[int], index: int, tail: str) -> str:
    item = outline[index]
    current = f"Write chapter {index + 1}, \"{item['title']}\"."
    if item.get("summary", "").strip():
        current += f" In this chapter: {item['summary'].strip()}"
    parts = [_bible_block(bible), _outline_block(outline, keep, index)]
    if tail:
        parts.append("The previous chapter ended:\n" + tail)
    parts.append(current + (" Continue the story from where the previous chapter ended." if tail else ""))
    return "\n\n".join(p for p in parts if p)


def chapter_prompt(tokenizer, bible: list[dict], outline: list[dict], index: int, previous_text: str,
                   budget: int) -> ChapterContext:
    """Build the user prompt for chapter ``index`` within ``budget`` tokens (see module doc)."""
    if not 0 <= index < len(outline):
        raise ContextError(f"chapter {index + 1} is not in the outline ({len(outline)} items); add an outline item first")

    def count(text: str) -> int:
        return len(tokenizer(text, add_special_tokens=False)["input_ids"])

    bible = list(bible)
    keep = list(range(len(outline)))
    tail_n = TAIL_TOKENS
    cut: list[str] = []

    def build() -> tuple[str, int]:
        text = _assemble(bible, outline, keep, index, _tail(tokenizer, previous_text, tail_n))
        return text, count(text)

    text, n = build()
    if n > budget and previous_text.strip():  # 1. shrink the previous chapter's end
        while n > budget and tail_n > MIN_TAIL_TOKENS:
            tail_n = max(MIN_TAIL_TOKENS, tail_n - 80)
            text, n = build()
        cut.append(f"previous chapter shortened to its last {tail_n} tokens")
    while n > budget and len(keep) > 1:  # 2. outline items, farthest first
        far = max((i for i in keep if i != index), key=lambda i: (abs(i - index), i))
        keep.remove(far)
        cut.append(f"outline item {far + 1} ({outline[far]['title']})")
        text, n = build()
    while n > budget and bible:  # 3. bible entries from the bottom
        gone = bible.pop()
        cut.append(f"bible entry {gone['name']}")
        text, n = build()
    if n > budget and tail_n:  # 4. the previous chapter's end entirely
        tail_n = 0
        cut.append("the end of the previous chapter")
        text, n = build()
    if n > budget:
        raise ContextError(
            f"chapter {index + 1}'s outline item alone is {n} tokens, over the {budget}-token budget; "
            "shorten its summary or lower max_new_tokens"
        )
    block = _bible_block(bible)
    return ChapterContext(text=text, tokens=n, bible_tokens=count(block) if block else 0, cut=cut)


def prompt_budget(writer, max_new_tokens: int, instructions: str = "") -> int:
    """Tokens left for the user prompt once the chat template, the instructions and the new
    tokens are set aside."""
    from writer.draft import chat_text

    overhead = len(writer.tokenizer(chat_text(writer.tokenizer, "", instructions), add_special_tokens=False)["input_ids"])
    return writer.context_window - max_new_tokens - overhead
