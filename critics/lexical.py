"""The lexical critic: vocabulary diversity and repetition, the main guard against degenerate text.

    LexicalCritic().score(prompts, stories)

Diversity is MTLD (McCarthy & Jarvis 2010: the mean length of word runs that keep a type-token
ratio above 0.72, forward and backward averaged), which, unlike a raw type-token ratio, does not
fall just because a story is longer. Repetition is the share of repeated word 4-grams (within
sentences) and the share of sentences that repeat an earlier one (looping).

Both depend only on which sentences the story has, never on their order: MTLD runs over the
sentences in a canonical order (by length, then words), and 4-grams do not cross sentence ends.
Order is the coherence critic's business; a lexical score that moved when sentences were only
reordered let a shuffled story outscore its original on the panel (MTLD over the story's own
order moved one looping story from 0.10 to 0.41 when its sentences were shuffled).

Score mapping (fixed): diversity = ramp(MTLD, 0 -> 0, 80 -> 1), saturating at 80 so that
thesaurus-stuffing earns nothing; repetition = 1 / (1 + (share / 0.05)^2) for 4-grams and
likewise for repeated sentences, the worse of the two. Score = diversity^0.35 x repetition^0.65,
a weighted geometric mean, so heavy repetition sinks the score whatever the vocabulary.
The reason quotes the most repeated phrase: "the phrase 'she looked at him' appears 6 times".
"""

from __future__ import annotations

from collections import Counter

from critics.base import Critic, CriticScore, clamp01, ramp
from critics.wordlists import STOPWORDS

TTR_THRESHOLD = 0.72
SHORT = 50  # words: below this MTLD is unreliable


def mtld_pass(tokens: list[str], threshold: float = TTR_THRESHOLD) -> float:
    factors, types, count, ttr = 0.0, set(), 0, 1.0
    for t in tokens:
        count += 1
        types.add(t)
        ttr = len(types) / count
        if ttr <= threshold:
            factors += 1
            types, count, ttr = set(), 0, 1.0
    if count:
        factors += (1 - ttr) / (1 - threshold)
    return len(tokens) / factors if factors > 0 else float(len(tokens))


def mtld(tokens: list[str]) -> float:
    """Measure of textual lexical diversity, forward and backward averaged."""
    if not tokens:
        return 0.0
    return (mtld_pass(tokens) + mtld_pass(tokens[::-1])) / 2


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


def decay(share: float, half: float = 0.05) -> float:
    return 1.0 / (1.0 + (share / half) ** 2)


class LexicalCritic(Critic):
    name = "lexical"
    revision = 2  # 2: sentence order no longer moves the score (2026-11-26)
    description = "vocabulary diversity (MTLD) and repetition (repeated 4-grams, looping sentences)"

    def score_one(self, batch, i: int) -> CriticScore:
        doc = batch.doc(i)
        odd = doc.oddities()
        tokens = doc.lower_words
        if not tokens:
            return CriticScore(0.0, "; ".join(odd) or "the story has no words")
        sentences = [[w.lower().replace("’", "'") for w in ws] for ws in doc.sentence_words]
        d = mtld(canonical_words(sentences))
        rep4 = repeated_ngram_share(sentences)
        rep_s = repeated_sentence_share(doc.sentence_words)
        diversity = ramp(d, 0.0, 80.0) if len(tokens) >= SHORT else ramp(len(set(tokens)) / len(tokens), 0.3, 0.8)
        repetition = min(decay(rep4), decay(rep_s))
        score = (diversity ** 0.35) * (repetition ** 0.65)  # weighted geometric mean: a loop sinks it
        phrase = top_phrase(tokens) if rep4 > 0.03 or rep_s > 0 else None
        if rep_s > 0.05:
            reason = f"{rep_s:.0%} of sentences repeat an earlier one (looping)"
            if phrase:
                reason += f"; the phrase '{phrase[0]}' appears {phrase[1]} times"
        elif phrase and repetition < 0.8:
            reason = f"the phrase '{phrase[0]}' appears {phrase[1]} times ({rep4:.0%} of 4-word sequences repeat)"
        elif diversity < 0.6:
            reason = f"small vocabulary (MTLD {d:.0f}, target >= 80): the same words keep coming back"
        else:
            reason = f"varied vocabulary (MTLD {d:.0f}), {rep4:.0%} repeated 4-word sequences"
        if len(tokens) < SHORT:
            odd = odd + [f"only {len(tokens)} words, diversity measured by type-token ratio"] if len(tokens) >= 5 else odd
        if odd:
            reason = "; ".join(odd) + "; " + reason
        return CriticScore(clamp01(score), reason, {"mtld": d, "rep4": rep4, "rep_sentences": rep_s,
                                                    "diversity": diversity, "repetition": repetition})
