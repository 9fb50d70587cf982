"""The coherence critic: does each sentence follow from the ones before it, does any part of the
story drift away from the rest, and do the characters' names hold still?

    CoherenceCritic().score(prompts, stories)      # uses the batch's shared MiniLM embeddings

Three parts, on all-MiniLM-L6-v2 sentence embeddings:
- flow (weight 0.8): for each sentence, the share of the story's other sentences that are less
  similar to it than its neighbours (up to 6 sentences away, weighted 1/distance, so the next
  sentence counts most). In random order that share is 0.5 for any story; in written order
  neighbours are closer than most. Chosen on the even rows of hanna_human96 only (the dev half),
  50 shuffles per story: neighbours up to 2 away, unweighted, beat the shuffle 95.3% of the
  time; 1/distance weights up to 6 away, 96.7% (the whole critic, 20 shuffles per story: 95.1%
  -> 96.0%).
  How far written order sits above 0.5 depends on the story's length, not only on its craft: a
  story of 6 sentences has no far-off sentences for its neighbours to beat (every other sentence
  is a neighbour), a story of 40 has many. In windows of n sentences of the dev stories
  (hanna_human96 and hanna_llm576, every offset), written order sits d(n) = 0.013 above 0.5 at
  n = 3, 0.032 at 10, 0.056 at 20, 0.081 at 40, while one random order spreads s(n) = 0.082,
  0.035, 0.026, 0.020 around 0.5 (``FLOW_BY_LENGTH``). So the share is read against its own
  length: z = (share - 0.5) / d(n) (0 = random order, 1 = as ordered as a typical written story
  of that length), shrunk towards 1 by how little a story of n sentences can show
  (r = d^2 / (d^2 + s^2): 0.03 at 3 sentences, 0.46 at 10, 0.82 at 20, so a short story is held
  to be as ordered as a typical one unless it shows otherwise), and mapped by
  sigmoid((z - 0.67) / 0.685), which equals the earlier fixed mapping sigmoid((share - 0.54) /
  0.05) at 25 sentences, the dev stories' usual length. Strictly increasing in the share at a
  given length, so a story and its shuffled copy keep their order; until 2026-11-27 the fixed
  mapping made the first two thirds of a story beat its first third 70% of the time on flow
  alone.
- names (weight 0.2): a name that changes spelling ("Sarah" then "Sara"), or a character named
  often early who vanishes from the second half of a long story.
- drift (a penalty of up to 0.2): the paragraph (or, in a one-paragraph story, the 3-sentence
  window) least similar to the rest of the story, penalised only below similarity 0.15: a
  floor for text that wanders off, not a push towards sameness (a shuffled story has *less*
  drift than a written one, so rewarding low drift would reward shuffling).
Stories under 3 sentences cannot show flow; they score as a typical written story (z = 1) on
it and the reason says so.

Tried and left out (same dev half, 20 shuffles per story, added to this score at weights
0.02-0.1): whether a noun's first "a X" comes before its first "the X" (introductions precede
references), and a first sentence that opens on a pronoun or a connective ("He", "But", "Then").
Neither moved the shuffle check (95.9% dev, 94.7% held out on hanna_human96 without them; at
best equal with them, down to 95.6% / 94.2%).

Also tried (2026-11-26), outside MiniLM: the built-in writer's mean token log-likelihood of the
whole story in written vs shuffled order tells them apart 97.9% of the time on hanna_human96 and
100% on hanna_mixed30 (one shuffle per story), but it costs about 1.2 s per 600-token story on 2
cores (60 times this critic's budget) and tracks nothing people rate (Kendall tau with human
Coherence +0.08 / -0.28). Cut to the story's first 160 tokens to make it affordable, it falls to
80-90%, whether as the raw likelihood or as the gain over the same sentences in a fixed shuffled
order. Left out: it would only buy the calibration's shuffle check, which a writer's drafts never
face.
"""

from __future__ import annotations

import math
import re
from collections import Counter

import numpy as np

from critics.base import Critic, CriticScore, clamp01, ramp, sigmoid
from critics.embed import unit
from critics.text import excerpt
from critics.wordlists import STOPWORDS

REACH = 6
SHOWS = 0.3  # under this reliability (about 8 sentences) the reason does not judge the order
LOOSE = 0.1  # a link between neighbours under this cosine is named (about a quarter of ~70-word openings have one)
LOW_FLOW = 0.38  # flow under this (z under ~0.35: closer to random order than to a typical story) is named
FLOW_MID, FLOW_SCALE = 0.67, 0.685  # flow = sigmoid((z - FLOW_MID) / FLOW_SCALE), z = length-read share
# (sentences n, written order's mean share - 0.5 = d(n), one random order's std = s(n)) on the dev
# stories, windows of n sentences at every offset; linear between rows, the last row beyond.
FLOW_BY_LENGTH = ((3, 0.0133, 0.0819), (4, 0.0159, 0.0618), (5, 0.0191, 0.0516), (6, 0.0218, 0.0445),
                  (8, 0.0267, 0.0375), (10, 0.0322, 0.0347), (12, 0.0381, 0.0327), (16, 0.0484, 0.0288),
                  (20, 0.0560, 0.0264), (25, 0.0640, 0.0241), (30, 0.0704, 0.0219), (40, 0.0805, 0.0198),
                  (60, 0.0927, 0.0171))


def flow_reading(share: float, n: int) -> tuple[float, float]:
    """(z, r) for a neighbour share of a story of ``n`` sentences: z = (share - 0.5) / d(n), 0 at
    random order and 1 for a typical written story of that length; r = d^2 / (d^2 + s^2), how
    much a story of that length can show (``FLOW_BY_LENGTH``)."""
    ns = [row[0] for row in FLOW_BY_LENGTH]
    d = float(np.interp(n, ns, [row[1] for row in FLOW_BY_LENGTH]))
    sd = float(np.interp(n, ns, [row[2] for row in FLOW_BY_LENGTH]))
    return (share - 0.5) / d, d * d / (d * d + sd * sd)


def flow_score(share: float, n: int) -> float:
    """Flow in (0, 1) from the neighbour share of a story of ``n`` sentences, read against what
    written and random order give at that length (see the module docstring); NaN share (under
    3 sentences): a typical story's flow.

    >>> round(flow_score(0.5 + 0.064, 25), 2) == round(1 / (1 + math.exp(-(0.564 - 0.54) / 0.05)), 2)
    True
    >>> flow_score(float("nan"), 2) == flow_score(0.5 + 0.0133, 3) > flow_score(0.5, 3) > flow_score(0.5, 30)
    True
    """
    if math.isnan(share):
        z = 1.0
    else:
        raw, r = flow_reading(share, n)
        z = r * raw + (1 - r)
    return sigmoid((z - FLOW_MID) / FLOW_SCALE)
_NAME_RE = re.compile(r"(?<![.!?\"“]\s)(?<!^)\b([A-Z][a-z]{2,})\b")


def neighbour_rank(vectors: np.ndarray, reach: int = REACH) -> float:
    """For each sentence, the share of the story's other sentences that are *less* similar to it
    than its neighbours within ``reach`` (before and after), averaged with weight 1/distance
    (the next sentence counts most). In random order this is 0.5 whatever the story; in written
    order, neighbours are closer than most sentences."""
    n = len(vectors)
    if n < 3:
        return float("nan")
    sims = vectors @ vectors.T
    total = weights = 0.0
    for i in range(n):
        others = np.sort(np.delete(sims[i], i))
        lo, hi = max(0, i - reach), min(n, i + reach + 1)
        js = [j for j in range(lo, hi) if j != i]
        below = np.searchsorted(others, sims[i, js], side="left")  # others strictly less similar
        w = 1.0 / np.abs(np.array(js) - i)
        total += float(np.sum(w * below / (n - 2)))
        weights += float(np.sum(w))
    return total / weights


def drift(vectors: np.ndarray, paragraphs: list[list[int]]) -> tuple[float, tuple[int, int] | None, str]:
    """Lowest similarity of a part to the rest of the story, the part's sentence span (1-based),
    and what kind of part it was."""
    n = len(vectors)
    if len(paragraphs) >= 2:
        parts, kind = [[j for j in p if j < n] for p in paragraphs], "paragraph"
    else:
        parts, kind = [list(range(j, min(n, j + 3))) for j in range(0, n, 3)], "sentences"
    parts = [p for p in parts if p]
    if len(parts) < 2:
        return 1.0, None, kind
    total = vectors.sum(axis=0)
    worst, span = 1.0, None
    for p in parts:
        rest = unit(total - vectors[p].sum(axis=0))
        sim = float(unit(vectors[p].mean(axis=0)) @ rest)
        if sim < worst:
            worst, span = sim, (p[0] + 1, p[-1] + 1)
    return worst, span, kind


def names_in(sentences: list[str]) -> list[list[str]]:
    """Capitalised words that are not sentence-initial and not common words, per sentence."""
    out = []
    for s in sentences:
        found = []
        for m in _NAME_RE.finditer(s):
            w = m.group(1)
            if m.start() == 0 or w.lower() in STOPWORDS:
                continue
            found.append(w)
        out.append(found)
    return out


def _family(name: str) -> str:
    """A name without its plural and its "-n" adjective: America, Americas, American and
    Americans share "America", Russia and Russian "Russia", Himalayas and Himalayan "Himalaya".

    >>> _family("Americans"), _family("Himalayan"), _family("Sara"), _family("Dean")
    ('America', 'Himalaya', 'Sara', 'Dean')
    """
    if name.endswith("s"):
        name = name[:-1]
    if name.endswith("n") and len(name) > 4 and name[-2] in "aeiou":
        name = name[:-1]
    return name


def _close(a: str, b: str) -> bool:
    """One edit apart (insert, delete or substitute), same first letter, both >= 4 letters, and
    not one name's plural or adjective (``_family``).

    >>> _close("Sarah", "Sara"), _close("Myers", "Meyers"), _close("America", "American"), _close("Americas", "American")
    (True, True, False, False)
    """
    if a == b or a[0] != b[0] or min(len(a), len(b)) < 4 or abs(len(a) - len(b)) > 1:
        return False
    if _family(a) == _family(b):  # plural, possessive or adjective, not a new spelling
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b)) == 1
    short, long_ = sorted((a, b), key=len)
    return any(long_[:i] + long_[i + 1:] == short for i in range(len(long_)))


def name_problems(sentences: list[str]) -> list[str]:
    per_sentence = names_in(sentences)
    counts = Counter(n for names in per_sentence for n in names)
    problems = []
    names = sorted(counts, key=lambda n: -counts[n])
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            if _close(a, b):
                problems.append(f"the name '{b}' also appears as '{a}'")
    if len(sentences) >= 20:
        half = len(sentences) // 2
        first = Counter(n for names in per_sentence[:half] for n in names)
        second = Counter(n for names in per_sentence[half:] for n in names)
        for name, c in first.most_common(3):
            if c >= 5 and second[name] == 0:
                problems.append(f"'{name}' ({c} mentions) vanishes after sentence {half}")
    return problems


def weakest_link(vectors: np.ndarray) -> int | None:
    """The 0-based sentence least similar to the one before it (where the story jumps), or None
    under 3 sentences."""
    if len(vectors) < 3:
        return None
    sims = np.sum(vectors[1:] * vectors[:-1], axis=1)
    return int(np.argmin(sims)) + 1


class CoherenceCritic(Critic):
    name = "coherence"
    revision = 3  # 2: flow read against the story's length (no length preference) (2026-11-27); 3: a name's
                  # plural or "-n" adjective (America, American) is not a second spelling (2026-12-07)
    uses_embeddings = True
    description = "sentence-to-sentence flow, drift of parts away from the story, consistent names"

    def score_one(self, batch, i: int) -> CriticScore:
        doc = batch.doc(i)
        odd = doc.oddities()
        if not doc.words:
            return CriticScore(0.0, "; ".join(odd) or "the story has no words")
        vecs = batch.sentence_vectors(i)
        sentences = batch.embedded_sentences(i)
        n = len(vecs)
        gap = neighbour_rank(vecs)
        flow = flow_score(gap, n)
        low, span, kind = drift(vecs, doc.paragraphs)
        drift_score = ramp(low, 0.0, 0.15)
        problems = name_problems(sentences)
        names_score = max(0.0, 1.0 - 0.5 * len(problems))
        score = 0.8 * flow + 0.2 * names_score - 0.2 * (1.0 - drift_score)
        notes = []
        if np.isnan(gap):
            notes.append(f"only {n} sentence{'s' if n != 1 else ''}: too short to judge flow")
        if drift_score < 0.8 and span:
            where = f"sentences {span[0]}-{span[1]}" if span[0] != span[1] else f"sentence {span[0]}"
            label = f"the paragraph at {where}" if kind == "paragraph" else where
            notes.append(f"{label} ({excerpt(sentences[span[0] - 1])}) drift away from the rest of the story "
                         f"(similarity {low:.2f})")
        notes.extend(problems[:2])
        if flow < LOW_FLOW:
            k = weakest_link(vecs)
            notes.append(f"sentences barely follow from one another (neighbours closer than {gap:.0%} of the "
                         f"story's sentences; random order gives 50%); the biggest jump: sentence {k + 1} "
                         f"({excerpt(sentences[k])}) after sentence {k}")
        if not notes:
            z, r = flow_reading(gap, n)
            if r < SHOWS:  # too few sentences to judge the order; say where the story's loosest link is
                k = weakest_link(vecs)
                link = float(vecs[k] @ vecs[k - 1])
                if link < LOOSE:
                    notes.append(f"sentence {k + 1} ({excerpt(sentences[k])}) has little to do with sentence {k} "
                                 f"(similarity {link:.2f})")
                else:
                    notes.append(f"each sentence picks up the one before it (the loosest link: sentence {k + 1}, "
                                 f"similarity {link:.2f}); {n} sentences are too few to judge their order")
            elif z >= 1.3:
                notes.append(f"each sentence follows closely from its neighbours, more than in a typical story "
                             f"of {n} sentences")
            elif z >= 0.6:
                notes.append(f"sentences follow on from one another as in a typical story of {n} sentences")
            else:
                k = weakest_link(vecs)
                notes.append(f"sentences follow on more loosely than in a typical story of {n} sentences; the "
                             f"biggest jump: sentence {k + 1} ({excerpt(sentences[k])}) after sentence {k}")
        if len(doc.sentences) > n:
            notes.append(f"judged on the first {n} of {len(doc.sentences)} sentences")
        reason = "; ".join(odd + notes)
        return CriticScore(clamp01(score), reason, {"flow": flow, "neighbour_rank": 0.5 if np.isnan(gap) else gap,
                                                    "drift": drift_score, "names": names_score})
