"""The order critic: does the story's sentence order carry it? Off the default panel.

    OrderCritic(reference=writer).score(prompts, stories)   # writer: writer.models.Writer
    scriptorium score stories.jsonl --critics reader,order

A story whose sentences follow from one another reads much better, to a language model, in its
own order than shuffled; a story whose sentences could come in any order (a list of vibes, a
shuffled or spliced text) reads about the same either way. So the score is a contrast of the
story with itself: the frozen reference LM's mean negative log-likelihood per token of
``copies`` seeded shuffles of its sentences minus that of the story as written (nats per token),
mapped to [0, 1] by a fixed ramp. Comparing a story with its own shuffles cancels what raw
likelihood rewards (bland, common words), which is why the plain fluency critic can only be a
floor.

On the dev data's validation prompts (``bench/bench_order.py``: 40 100-150-word crops, people's
and 2023 LLMs'), a crop beat its own shuffled copy under this contrast 88% of the time, the MiniLM
coherence critic 57% and the trained reader 62% (BENCHMARKS.md, "Order"). It costs 1 + ``copies``
forward passes of the reference model per story, about 60x the reader's time on CPU, so it is
off the default panel: add it where the writer is loaded anyway (the loop, the studio) or for a
careful look.
"""

from __future__ import annotations

import hashlib
import math
import random

from critics.base import CriticScore, clamp01, ramp
from critics.fluency import FluencyCritic

# contrast (nats per token) that maps to 0 and to 1: a shuffled text sits near 0 against its own
# reshuffles; people's stories mostly between 0.1 and 0.4 under SmolLM2-135M
FLAT = 0.0
ORDERED = 0.3


class OrderCritic(FluencyCritic):
    name = "order"
    description = "the story against seeded shuffles of its own sentences under the frozen base writer"

    def __init__(self, reference=None, model: str | None = None, copies: int = 2, max_tokens: int = 160,
                 batch_size: int = 8, flat: float = FLAT, ordered: float = ORDERED):
        super().__init__(reference=reference, model=model, max_tokens=max_tokens, batch_size=batch_size)
        self.copies = copies
        self.flat = flat
        self.ordered = ordered

    def shuffles(self, sentences: list[str]) -> list[str]:
        """``copies`` reorderings of the sentences, seeded by the text (the same story always gets
        the same copies, whatever else is in the batch)."""
        seed = int(hashlib.sha256(" ".join(sentences).encode()).hexdigest()[:12], 16)
        rng = random.Random(seed)
        out = []
        for _ in range(self.copies):
            order = list(range(len(sentences)))
            for _ in range(20):
                rng.shuffle(order)
                if order != sorted(order):
                    break
            out.append(" ".join(sentences[i] for i in order))
        return out

    def score(self, prompts, stories, outlines=None, batch=None):
        batch = self.batch_for(prompts, stories, outlines, batch)
        docs = [batch.doc(i) for i in range(len(batch))]
        texts, spans = [], {}
        for i, d in enumerate(docs):
            if d.words and len(set(d.sentences)) >= 3:
                spans[i] = (len(texts), 1 + self.copies)
                texts += [" ".join(d.sentences)] + self.shuffles(d.sentences)
        values = self.nll(texts) if texts else []
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
            contrast = sum(rest) / len(rest) - own
            s = clamp01(ramp(contrast, self.flat, self.ordered))
            if s >= 0.6:
                why = f"its order carries it: shuffled, it reads {contrast:.2f} nats/token worse"
            elif s >= 0.3:
                why = (f"its order helps a little ({contrast:.2f} nats/token better than shuffled): make each "
                       "sentence grow out of the one before")
            else:
                why = (f"reads about as well with its sentences in any order ({contrast:+.2f} nats/token): the "
                       "sentences do not build on each other")
            out.append(CriticScore(s, "; ".join(odd + [why]), {"contrast": contrast}))
        return out
