"""The relevance critic: is the story about its prompt (and, for a chapter, its outline item)?

    RelevanceCritic().score(prompts, stories, outlines)

On the batch's shared MiniLM embeddings: the prompt against the story's three sentences closest
to it (top-3 mean cosine), which rewards a story that takes the prompt up somewhere without
asking every sentence to repeat it. With an outline item, prompt and outline count half each.
Mapping (fixed): ramp(similarity, 0.05 -> 0, 0.55 -> 1). The reason names the prompt words the
story never uses, as a hint of what it missed.
"""

from __future__ import annotations

import numpy as np

from critics.base import Critic, CriticScore, clamp01, ramp
from critics.text import words_of
from critics.wordlists import STOPWORDS

TOP = 3


def top_similarity(query: np.ndarray, sentences: np.ndarray, top: int = TOP) -> float:
    if not len(sentences) or not np.any(query):
        return 0.0
    sims = np.sort(sentences @ query)[::-1]
    return float(sims[:top].mean())


def content_words(text: str) -> list[str]:
    seen, out = set(), []
    for w in words_of(text):
        lw = w.lower()
        if len(lw) > 2 and lw not in STOPWORDS and lw not in seen:
            seen.add(lw)
            out.append(lw)
    return out


def missing_words(prompt: str, story_words: set[str], limit: int = 3) -> list[str]:
    stems = {w[:5] for w in story_words}
    return [w for w in content_words(prompt) if w[:5] not in stems][:limit]


class RelevanceCritic(Critic):
    name = "relevance"
    uses_embeddings = True
    description = "the story against its prompt (and outline item, for chapters)"

    def score_one(self, batch, i: int) -> CriticScore:
        doc = batch.doc(i)
        odd = doc.oddities()
        if not doc.words:
            return CriticScore(0.0, "; ".join(odd) or "the story has no words")
        vecs = batch.sentence_vectors(i)
        has_prompt = bool(batch.prompts[i].strip())
        outline = batch.outline_vector(i)
        if not has_prompt and outline is None:
            return CriticScore(0.5, "; ".join(odd + ["no prompt given: relevance not judged"]))
        parts, notes = [], []
        if has_prompt:
            sim = top_similarity(batch.prompt_vector(i), vecs)
            parts.append(sim)
            missed = missing_words(batch.prompts[i], set(doc.lower_words))
            level = "stays on the prompt" if sim >= 0.45 else "touches the prompt" if sim >= 0.25 else "strays from the prompt"
            note = f"{level} (similarity {sim:.2f})"
            if missed and sim < 0.45:
                note += "; never mentions " + ", ".join(f"'{w}'" for w in missed)
            notes.append(note)
        if outline is not None:
            osim = top_similarity(outline, vecs)
            parts.append(osim)
            notes.append(f"{'follows' if osim >= 0.35 else 'departs from'} its outline item (similarity {osim:.2f})")
        raw = float(np.mean(parts))
        return CriticScore(clamp01(ramp(raw, 0.05, 0.55)), "; ".join(odd + notes), {"similarity": raw})
