"""The lexical critic: vocabulary diversity and repetition, the main guard against degenerate text.

    LexicalCritic().score(prompts, stories)

Diversity is MATTR (Covington & McFall 2010: the type-token ratio of every run of 50 words,
averaged; a text under 50 words has its own type-token ratio), which does not move with a
story's length: on the dev stories (hanna_human96 and hanna_llm576) its median is 0.81 for the
first 50, 100, 200 or 500 words alike. Until 2026-11-27 it was MTLD (McCarthy & Jarvis 2010),
whose median on the same openings climbed from 78 at 50 words to 93 at 500, and which on
stories of 150-250 words fell by up to 35 points when a story was told on a few sentences
further in its own words. Repetition is the share of repeated word 4-grams (within sentences)
and the share of sentences that repeat an earlier one (looping).

Both depend only on which sentences the story has, never on their order: MATTR runs over the
sentences in a canonical order (by length, then words), and 4-grams do not cross sentence ends.
Order is the coherence critic's business; a lexical score that moved when sentences were only
reordered let a shuffled story outscore its original on the panel (a measure over the story's
own order moved one looping story from 0.10 to 0.41 when its sentences were shuffled).

Score mapping (fixed): diversity = ramp(MATTR, 0.3 -> 0, 0.8 -> 1), saturating at 40 different
words in 50 (the dev stories' median is 0.81) so that thesaurus-stuffing earns nothing;
repetition = 1 / (1 + (share / 0.05)^2) for 4-grams and likewise for repeated sentences, the
worse of the two. Score = diversity^0.35 x repetition^0.65, a weighted geometric mean, so heavy
repetition sinks the score whatever the vocabulary.
The reason says where to look: the sentence a loop repeats ("sentence 4 repeats sentence 1
('The lighthouse keeper looked at the sea.')"), the most repeated phrase and the sentences it
comes back in ("the phrase 'she looked at him' appears 6 times: sentences 2, 5, 9..."), or the
words a small vocabulary keeps coming back to ("'sea' 9 times, 'looked' 7 times").
"""

from __future__ import annotations

from collections import Counter

from critics.base import Critic, CriticScore, clamp01, ramp
from critics.text import excerpt
from critics.wordlists import STOPWORDS

WINDOW = 50              # words per MATTR window
DIVERSE, NARROW = 0.8, 0.3  # MATTR at which diversity scores 1 and 0
PROSE = (0.785, 0.83)  # the middle half of prose: MATTR quartiles of the dev stories and their openings (median 0.81)


def mattr(tokens: list[str], window: int = WINDOW) -> float:
    """Moving-average type-token ratio: the share of different words in every run of
    ``window`` tokens, averaged (the plain type-token ratio for a shorter text).

    >>> mattr(["a", "b", "a", "b"], window=2), mattr(["a", "b", "c"]), mattr([])
    (1.0, 1.0, 0.0)
    """
    if not tokens:
        return 0.0
    if len(tokens) <= window:
        return len(set(tokens)) / len(tokens)
    counts = Counter(tokens[:window])
    types = total = len(counts)
    for old, new in zip(tokens, tokens[window:]):
        counts[old] -= 1
        types -= counts[old] == 0
        types += counts[new] == 0
        counts[new] += 1
        total += types
    return total / (len(tokens) - window + 1) / window


def repeated_ngram_share(sentences: list[list[str]], n: int = 4) -> float:
    """Share of the word n-grams (inside sentences) that occurred before."""
    grams = [tuple(ws[i:i + n]) for ws in sentences for i in range(len(ws) - n + 1)]
    return 1 - len(set(grams)) / len(grams) if grams else 0.0


def canonical_words(sentences: list[list[str]]) -> list[str]:
    """The story's words with its sentences in a fixed order (by length, then words), so that
    measures over them do not depend on the order the story tells them in.

    >>> canonical_words([["b", "c"], ["a"]]) == canonical_words([["a"], ["b", "c"]]) == ["a", "b", "c"]
    True
    """
    return [w for ws in sorted(sentences, key=lambda ws: (len(ws), ws)) for w in ws]


def repeated_sentence_share(sentences: list[list[str]]) -> float:
    seen, dup, total = set(), 0, 0
    for words in sentences:
        if len(words) < 4:
            continue
        key = " ".join(w.lower() for w in words)
        total += 1
        dup += key in seen
        seen.add(key)
    return dup / total if total else 0.0


def top_phrase(tokens: list[str], min_count: int = 3) -> tuple[str, int] | None:
    """The longest, then most frequent, repeated phrase of 3-8 words that is not all function words."""
    for n in range(8, 2, -1):
        counts = Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))
        best = [(c, g) for g, c in counts.items() if c >= min_count and not all(w in STOPWORDS for w in g)]
        if best:
            c, g = max(best)
            return " ".join(g), c
    return None


def first_repeat(sentences: list[list[str]]) -> tuple[int, int] | None:
    """(0-based sentence, the earlier sentence it repeats) for the first looping sentence."""
    seen: dict[str, int] = {}
    for k, words in enumerate(sentences):
        if len(words) < 4:
            continue
        key = " ".join(w.lower() for w in words)
        if key in seen:
            return k, seen[key]
        seen[key] = k
    return None


def sentences_with(sentences: list[list[str]], phrase: str, limit: int = 4) -> str:
    """'sentences 2, 5, 9...': the sentences (1-based) a phrase appears in."""
    hits = [k + 1 for k, ws in enumerate(sentences) if f" {phrase} " in f" {' '.join(ws)} "]
    shown = ", ".join(str(k) for k in hits[:limit]) + ("..." if len(hits) > limit else "")
    return f"sentence{'s' if len(hits) > 1 else ''} {shown}" if hits else ""


def frequent_words(tokens: list[str], limit: int = 2) -> str:
    """"'sea' 9 times, 'looked' 7 times": the content words a story uses most."""
    counts = Counter(t for t in tokens if t not in STOPWORDS and len(t) > 2)
    return ", ".join(f"'{w}' {c} times" for w, c in counts.most_common(limit) if c > 1)


def decay(share: float, half: float = 0.05) -> float:
    return 1.0 / (1.0 + (share / half) ** 2)


class LexicalCritic(Critic):
    name = "lexical"
    revision = 3  # 2: sentence order no longer moves the score (2026-11-26); 3: MATTR, not MTLD (2026-11-27)
    description = "vocabulary diversity (MATTR) and repetition (repeated 4-grams, looping sentences)"

    def score_one(self, batch, i: int) -> CriticScore:
        doc = batch.doc(i)
        odd = doc.oddities()
        tokens = doc.lower_words
        if not tokens:
            return CriticScore(0.0, "; ".join(odd) or "the story has no words")
        sentences = [[w.lower().replace("’", "'") for w in ws] for ws in doc.sentence_words]
        d = mattr(canonical_words(sentences))
        rep4 = repeated_ngram_share(sentences)
        rep_s = repeated_sentence_share(doc.sentence_words)
        diversity = ramp(d, NARROW, DIVERSE)
        repetition = min(decay(rep4), decay(rep_s))
        score = (diversity ** 0.35) * (repetition ** 0.65)  # weighted geometric mean: a loop sinks it
        phrase = top_phrase(tokens) if rep4 > 0.03 or rep_s > 0 else None
        if rep_s > 0.05:
            reason = f"{rep_s:.0%} of sentences repeat an earlier one (looping)"
            loop = first_repeat(doc.sentence_words)
            if loop:
                reason += f": sentence {loop[0] + 1} repeats sentence {loop[1] + 1} ({excerpt(doc.sentences[loop[1]])})"
            if phrase:
                reason += f"; the phrase '{phrase[0]}' appears {phrase[1]} times"
        elif phrase and repetition < 0.8:
            reason = (f"the phrase '{phrase[0]}' appears {phrase[1]} times ({rep4:.0%} of 4-word sequences repeat): "
                      f"{sentences_with(sentences, phrase[0])}")
        elif diversity < 0.6:
            reason = (f"small vocabulary ({d * WINDOW:.0f} different words in a typical {WINDOW}, target >= "
                      f"{DIVERSE * WINDOW:.0f}): the same words keep coming back")
            common = frequent_words(tokens)
            if common:
                reason += f" ({common})"
        else:
            words = f"{d * WINDOW:.0f} different words in a typical {WINDOW}"
            if d < PROSE[0]:
                reason = (f"a narrower vocabulary than most prose ({words}; the middle half of prose: "
                          f"{PROSE[0] * WINDOW:.0f}-{PROSE[1] * WINDOW:.0f})"
                          + (f": {frequent_words(tokens)}" if frequent_words(tokens) else ""))
            elif d < PROSE[1]:
                reason = f"vocabulary about as varied as most prose ({words})"
            else:
                reason = f"a richer vocabulary than most prose ({words})"
            if rep4 >= 0.01:
                reason += f"; {rep4:.0%} of its 4-word sequences repeat"
        if len(tokens) < WINDOW:
            odd = odd + [f"only {len(tokens)} words, diversity measured over all of them"] if len(tokens) >= 5 else odd
        if odd:
            reason = "; ".join(odd) + "; " + reason
        return CriticScore(clamp01(score), reason, {"mattr": d, "rep4": rep4, "rep_sentences": rep_s,
                                                    "diversity": diversity, "repetition": repetition})
