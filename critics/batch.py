"""A batch of stories as the critics see it: each story parsed once and embedded once.

    batch = Batch(prompts, stories, outlines)
    batch.doc(0).sentences           # parsed (critics.text.Doc)
    batch.sentence_vectors(0)         # (n_sentences, 384) unit vectors, from one encode call
    batch.story_vector(0)             # unit mean of the sentence vectors
    batch.prompt_vector(0)

The first call that needs a vector embeds *every* sentence of every story, every prompt and
every outline item of the batch in a single batched ``encode`` (sorted by length inside the
model), so all embedding-based critics share one pass. A story's vector is the normalised mean
of its sentence vectors: MiniLM truncates long inputs, a mean of sentences covers the whole
story. At most ``max_sentences`` sentences per story are embedded (the reasons say so).
"""

from __future__ import annotations

import numpy as np

from critics.embed import DIM, get_embedder, unit
from critics.text import Doc, normalize, parse


class Batch:
    def __init__(self, prompts: list[str] | None, stories: list[str], outlines: list[str] | None = None,
                 embedder=None, max_sentences: int = 200, embed_dtype: str = "auto"):
        stories = list(stories)
        n = len(stories)
        prompts = [""] * n if prompts is None else list(prompts)
        if len(prompts) != n:
            from critics.base import CriticError

            raise CriticError(f"got {len(prompts)} prompts for {n} stories; pass one prompt per story")
        if outlines is not None and len(outlines) != n:
            from critics.base import CriticError

            raise CriticError(f"got {len(outlines)} outline items for {n} stories; pass one per story (or None)")
        # every critic reads the normalised text, so formatting artefacts never decide a score
        self.prompts = [normalize(p) if isinstance(p, str) else "" for p in prompts]
        self.stories = [normalize(s) for s in stories]
        self.outlines = [normalize(o) if isinstance(o, str) else "" for o in outlines] if outlines is not None else None
        self.max_sentences = max_sentences
        self._embedder = embedder
        self._embed_dtype = embed_dtype
        self._docs: list[Doc | None] = [None] * n
        self._prompt_docs: list[Doc | None] = [None] * n
        self._sent: list[np.ndarray] | None = None
        self._prompt: np.ndarray | None = None
        self._outline: np.ndarray | None = None
        self.extra: dict = {}  # per-batch values a critic computes once and another reuses

    def __len__(self) -> int:
        return len(self.stories)

    def doc(self, i: int) -> Doc:
        if self._docs[i] is None:
            self._docs[i] = parse(self.stories[i])
        return self._docs[i]

    def prompt_doc(self, i: int) -> Doc:
        if self._prompt_docs[i] is None:
            self._prompt_docs[i] = parse(self.prompts[i])
        return self._prompt_docs[i]

    @property
    def embedder(self):
        if self._embedder is None:
            self._embedder = get_embedder(self._embed_dtype)
        return self._embedder

    def embedded_sentences(self, i: int) -> list[str]:
        return self.doc(i).sentences[: self.max_sentences]

    def _embed(self) -> None:
        if self._sent is not None:
            return
        texts: list[str] = []
        spans = []
        for i in range(len(self)):
            sents = self.embedded_sentences(i)
            spans.append((len(texts), len(texts) + len(sents)))
            texts.extend(sents)
        p0 = len(texts)
        texts.extend(self.prompt_doc(i).text for i in range(len(self)))
        o0 = len(texts)
        if self.outlines is not None:
            texts.extend(self.outlines)
        vecs = self.embedder.encode(texts) if texts else np.zeros((0, DIM), dtype=np.float32)
        self._sent = [vecs[a:b] for a, b in spans]
        self._prompt = vecs[p0:o0]
        self._outline = vecs[o0:] if self.outlines is not None else None

    def with_prompts(self, prompts: list[str]) -> "Batch":
        """The same stories (parsed and embedded once) under other prompts: for checks that pair
        every story with every prompt."""
        self._embed()
        other = Batch(prompts, self.stories, None, embedder=self.embedder, max_sentences=self.max_sentences)
        other._docs = self._docs
        other._sent = self._sent
        other._prompt = self.embedder.encode([other.prompt_doc(i).text for i in range(len(other))]) if len(other) else None
        return other

    def sentence_vectors(self, i: int) -> np.ndarray:
        self._embed()
        return self._sent[i]

    def story_vector(self, i: int) -> np.ndarray:
        s = self.sentence_vectors(i)
        return unit(s.mean(axis=0)) if len(s) else np.zeros(DIM, dtype=np.float32)

    def paragraph_vectors(self, i: int) -> list[np.ndarray]:
        s = self.sentence_vectors(i)
        out = []
        for para in self.doc(i).paragraphs:
            ids = [j for j in para if j < len(s)]
            if ids:
                out.append(unit(s[ids].mean(axis=0)))
        return out

    def prompt_vector(self, i: int) -> np.ndarray:
        self._embed()
        return self._prompt[i]

    def outline_vector(self, i: int) -> np.ndarray | None:
        self._embed()
        if self._outline is None or not self.outlines[i].strip():
            return None
        return self._outline[i]
