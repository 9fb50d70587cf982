"""The order critic: does the story's sentence order carry it? Off the default panel.

    OrderCritic(reference=writer).score(prompts, stories)   # writer: writer.models.Writer
    scriptorium score stories.jsonl --critics reader,order

A story whose sentences follow from one another reads much better, to a language model, in its
own order than shuffled; a story whose sentences could come in any order (a list of vibes, a
shuffled or spliced text) reads about the same either way. So the score is a contrast of the
story with itself: the frozen reference LM's mean negative log-likelihood per token of
``copies`` shuffles of its sentences minus that of the story as written (nats per token),
mapped to [0, 1] by a sigmoid. The shuffles are drawn from the story's *set* of sentences (as
this critic splits them), so a story and any reordering of those sentences share them and the
better-reading order wins. Comparing a story with its own shuffles cancels what raw likelihood
rewards (bland, common words), which is why the plain fluency critic can only be a floor.

On the dev data's validation prompts (``bench/bench_order.py``: 32 people's and 40 LLMs'
100-150-word crops), a crop beat its own shuffled copy under this contrast 99% of the time, the
MiniLM coherence critic 80% and the trained reader 54% (BENCHMARKS.md, "Order"). But machine text
is more predictable in its own order than people's: the contrast ranks people's crops under the
LLMs' (AUC 0.26 on val), so as a weighted term it would teach the writer to sound like a machine.
On the panel it lifted shuffle detection 66% -> 92% but cost 0.07 of people-vs-LLM AUC; corrected
for predictability, or as a guard that only fires below a contrast of 0, it still fell on the
machines' side on the train prompts (BENCHMARKS.md, "The order critic on the panel").
It costs 1 + ``copies`` forward passes of the reference model per story (about 0.9 s per story on
2 CPU cores, 22x the reader), and is off the default panel: add it where the writer is loaded
anyway (the loop, the studio) or for a careful look.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections import OrderedDict

from critics.base import CriticScore, clamp01, sigmoid
from critics.fluency import FluencyCritic

# contrast (nats per token) -> score: sigmoid((contrast - MID) / SCALE). A shuffled text sits near 0
# against its own reshuffles (score 0.12), people's stories mostly between 0.1 and 0.4 under
# SmolLM2-135M (0.5 at 0.1, 0.88 at 0.2). Strictly increasing, so two orders of one story keep
# their order even below 0 (the linear ramp clamped there until 2026-12-03 and tied them).
MID = 0.1
SCALE = 0.05
MEMO = 8192  # texts whose likelihood a critic remembers


class OrderCritic(FluencyCritic):
    name = "order"
    description = "the story against seeded shuffles of its own sentences under the frozen base writer"

    def __init__(self, reference=None, model: str | None = None, copies: int = 2, max_tokens: int = 256,
                 batch_size: int = 8, mid: float = MID, scale: float = SCALE):
        super().__init__(reference=reference, model=model, max_tokens=max_tokens, batch_size=batch_size)
        self.copies = copies
        self.mid = mid
        self.scale = scale
        self._memo: OrderedDict[str, tuple[float, int]] = OrderedDict()

    def shuffles(self, sentences: list[str]) -> list[str]:
        """``copies`` reorderings of the sentences, drawn from the *set* of sentences (sorted, then
        shuffled with a seed taken from that sorted set), never from their order. So every order of
        the same sentences, the story as written and any shuffled copy of it, is measured against
        the same reference copies, and between two orders of one story the contrast is exactly
        their likelihood difference: the order that reads better wins. (Seeded by the text as
        written, until 2026-12-03, each order drew its own copies and their noise decided about
        one pair in ten.) The same story always gets the same copies, whatever else is in the batch."""
        canon = sorted(sentences)
        seed = int(hashlib.sha256("\n".join(canon).encode()).hexdigest()[:12], 16)
        rng = random.Random(seed)
        out = []
        for _ in range(self.copies):
            order = list(range(len(canon)))
            rng.shuffle(order)
            out.append(" ".join(canon[i] for i in order))
        return out

    def read(self, texts: list[str]) -> list[tuple[float, int]]:
        """``nll`` of each text, each distinct text read once and remembered (the last ``MEMO``):
        the frozen reference gives a text the same value every time, and a story, its shuffled
        copies and the same story under other prompts share their reference copies."""
        todo = [t for t in dict.fromkeys(texts) if t not in self._memo]
        for t, v in zip(todo, self.nll(todo) if todo else []):
            self._memo[t] = v
        out = []
        for t in texts:
            self._memo.move_to_end(t)
            out.append(self._memo[t])
        while len(self._memo) > MEMO:
            self._memo.popitem(last=False)
        return out

    def score(self, prompts, stories, outlines=None, batch=None):
        batch = self.batch_for(prompts, stories, outlines, batch)
        docs = [batch.doc(i) for i in range(len(batch))]
        texts, spans = [], {}
        for i, d in enumerate(docs):
            if d.words and len(set(d.sentences)) >= 3:
                spans[i] = (len(texts), 1 + self.copies)
                texts += [" ".join(d.sentences)] + self.shuffles(d.sentences)
        values = self.read(texts)
        out = []
        for i, d in enumerate(docs):
            odd = d.oddities()
            if not d.words:
                out.append(CriticScore(0.0, "; ".join(odd + ["the story has no words"]), {"contrast": 0.0}))
                continue
            if i not in spans:
                out.append(CriticScore(0.5, "; ".join(odd + ["too few sentences to judge their order"]),
                                       {"contrast": 0.0, "judged": False}))
                continue
            at, n = spans[i]
            own, rest = values[at][0], [v for v, _ in values[at + 1:at + n]]
            if math.isnan(own) or any(math.isnan(v) for v in rest):  # too few tokens
                out.append(CriticScore(0.5, "; ".join(odd + ["too short to judge its order"]), {"contrast": 0.0}))
                continue
            copies = sum(rest) / len(rest)
            contrast = copies - own
            s = clamp01(sigmoid((contrast - self.mid) / self.scale))
            if s >= 0.6:
                why = f"its order carries it: shuffled, it reads {contrast:.2f} nats/token worse"
            elif s >= 0.3:
                why = (f"its order helps a little ({contrast:.2f} nats/token better than shuffled): make each "
                       "sentence grow out of the one before")
            else:
                why = (f"reads about as well with its sentences in any order ({contrast:+.2f} nats/token): the "
                       "sentences do not build on each other")
            out.append(CriticScore(s, "; ".join(odd + [why]), {"contrast": contrast, "nll": own, "copies_nll": copies}))
        return out
