"""The fitting rule of ``writer.context`` done the slow, obvious way: cut one thing, re-tokenise
the whole prompt, repeat. Quadratic in the outline's length; the tests check the fast fit
against it and ``bench/bench_context.py`` uses it as the baseline."""

from __future__ import annotations

from writer.context import MIN_TAIL_TOKENS, TAIL_TOKENS, ChapterContext, ContextError, _assemble, _bible_block, _tail


def chapter_prompt_one_cut_at_a_time(tokenizer, bible, outline, index, previous_text, budget) -> ChapterContext:
    def count(text: str) -> int:
        return len(tokenizer(text, add_special_tokens=False)["input_ids"])

    bible = list(bible)
    previous_text = previous_text if previous_text.strip() else ""
    ids = tokenizer(previous_text, add_special_tokens=False)["input_ids"] if previous_text else []
    keep = list(range(len(outline)))
    tail_n = TAIL_TOKENS
    cut: list[str] = []

    def build():
        text = _assemble(bible, outline, keep, index, _tail(tokenizer, previous_text, ids, tail_n))
        return text, count(text)

    text, n = build()
    if n > budget and previous_text:
        while n > budget and tail_n > MIN_TAIL_TOKENS:
            tail_n = max(MIN_TAIL_TOKENS, tail_n - 80)
            text, n = build()
        cut.append(f"previous chapter shortened to its last {tail_n} tokens")
    while n > budget and len(keep) > 1:
        far = max((i for i in keep if i != index), key=lambda i: (abs(i - index), i))
        keep.remove(far)
        cut.append(f"outline item {far + 1} ({outline[far]['title']})")
        text, n = build()
    while n > budget and bible:
        gone = bible.pop()
        cut.append(f"bible entry {gone['name']}")
        text, n = build()
    if n > budget and previous_text:
        tail_n = 0
        cut.append("the end of the previous chapter")
        text, n = build()
    if n > budget:
        raise ContextError(f"chapter {index + 1}'s outline item alone is {n} tokens, over the {budget}-token budget")
    block = _bible_block(bible)
    return ChapterContext(text=text, tokens=n, bible_tokens=count(block) if block else 0, cut=cut)
