"""Style targets: what the style critic measures a story against, from a named preset or a book.

    targets = StyleTargets.from_preset("ya")
    targets = StyleTargets.from_book(book_row)           # books.style_targets JSON, over its preset
    targets = StyleTargets.resolve("thriller", {"grade": [5, 7]})

A book's ``style_targets`` is a JSON object with any of the fields below (ranges as [lo, hi])
plus an optional ``preset`` name that fills the rest. Unknown keys are refused with the list of
known ones, so a typo never silently does nothing.

Length is not quality: no preset sets a length. A story is held to a length only when someone
asked for one (``length_range``): the book's explicit ``words`` target, or the length the drafts
were asked for (``asked_words``, from the writer's ``max_new_tokens``), of which a draft must
reach ``SHORT_SHARE`` before it counts as short. With neither, no critic or guard prefers a
story for its length (until 2026-11-27 every preset asked for 300+ words, so every draft of the
studio's and the loop's 96 tokens "read as unfinished" and the panel rewarded length).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields

from critics.base import CriticError

SHORT_SHARE = 0.5  # a draft shorter than this share of the length asked for counts as short


@dataclass
class StyleTargets:
    """Ranges a story should fall in; each field has help text, checked in __post_init__."""

    grade: tuple[float, float] = field(default=(5.0, 9.0), metadata={"help": "Flesch-Kincaid grade level range"})
    sentence_words: tuple[float, float] = field(default=(8.0, 20.0), metadata={"help": "mean words per sentence"})
    variety: float = field(default=0.45, metadata={"help": "minimum sentence-length variety (std / mean of words per sentence)"})
    dialogue: tuple[float, float] = field(default=(0.0, 0.6), metadata={"help": "share of the text inside quotation marks"})
    adverbs: float = field(default=2.5, metadata={"help": "most -ly adverbs per 100 words"})
    cliches: float = field(default=1.0, metadata={"help": "most stock phrases per 1,000 words"})
    words: tuple[float, float] | None = field(default=None, metadata={
        "help": "story length in words [min, max], when the book asks for one (default: none, length is not judged)"})
    preset: str = field(default="general", metadata={"help": "the preset these targets started from"})

    def __post_init__(self):
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "preset" or (f.name == "words" and value is None):
                continue
            if isinstance(f.default, tuple) or f.name == "words":
                if not isinstance(value, (list, tuple)) or len(value) != 2:
                    raise CriticError(f"style target {f.name!r} must be a range [low, high], got {value!r}")
                lo, hi = (float(v) for v in value)
                if lo > hi or lo < 0:
                    raise CriticError(f"style target {f.name!r} must be [low, high] with 0 <= low <= high, got {value!r}")
                setattr(self, f.name, (lo, hi))
            else:
                try:
                    value = float(value)
                except (TypeError, ValueError) as e:
                    raise CriticError(f"style target {f.name!r} must be a number, got {value!r}") from e
                if value < 0:
                    raise CriticError(f"style target {f.name!r} must be >= 0, got {value}")
                setattr(self, f.name, value)

    @classmethod
    def from_preset(cls, name: str) -> "StyleTargets":
        key = (name or "general").lower().replace("'", "").replace("’", "").replace("-", "").replace(" ", "")
        key = ALIASES.get(key, key)
        if key not in PRESETS:
            raise CriticError(f"style preset {name!r} unknown; use one of {', '.join(PRESETS)}")
        return cls(preset=key, **PRESETS[key])

    @classmethod
    def resolve(cls, preset: str | None = None, overrides: dict | None = None) -> "StyleTargets":
        overrides = dict(overrides or {})
        base = cls.from_preset(overrides.pop("preset", None) or preset or "general")
        known = {f.name for f in fields(cls)} - {"preset"}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise CriticError(f"unknown style target(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        return cls(**{**asdict(base), **overrides})

    @classmethod
    def from_book(cls, book: dict) -> "StyleTargets":
        """Targets from a ``books`` row: its ``style_targets`` over its preset (default general)."""
        targets = book.get("style_targets") or {}
        if not isinstance(targets, dict):
            raise CriticError(f"book {book.get('id')} has style_targets {targets!r}; expected a JSON object")
        return cls.resolve(None, targets)

    def to_dict(self) -> dict:
        return asdict(self)

    def length_range(self, asked_words: float | None = None) -> tuple[float, float] | None:
        """(minimum, maximum) words a story is held to, or None: no length is judged.

        The book's ``words`` target when it sets one; the length the drafts were asked for
        (``asked_words``) makes the minimum ``SHORT_SHARE`` of it (and caps a book's minimum
        there: a 96-token draft cannot reach a 2,000-word chapter target).

        >>> StyleTargets().length_range() is None
        True
        >>> StyleTargets().length_range(72)
        (36.0, inf)
        >>> StyleTargets(words=(300, 5000)).length_range(72)
        (36.0, 5000.0)
        """
        floor = SHORT_SHARE * float(asked_words) if asked_words else None
        if self.words is None:
            return (floor, math.inf) if floor else None
        lo, hi = self.words
        return (min(lo, floor) if floor else lo, hi)


def minimum_words(minimum: float, asked_words: float | None = None) -> str:
    """What a length minimum is, for a reason: half the asked length, or the book's minimum.

    >>> minimum_words(36, 72), minimum_words(300, None)
    ('half the ~72 words asked for', "the book's 300-word minimum")
    """
    if asked_words and math.isclose(minimum, SHORT_SHARE * asked_words):
        return f"half the ~{asked_words:.0f} words asked for"
    return f"the book's {minimum:.0f}-word minimum"


PRESETS: dict[str, dict] = {
    "general": {},
    "childrens": dict(grade=(1.5, 4.5), sentence_words=(5, 12), variety=0.35, dialogue=(0.05, 0.6), adverbs=3.0,
                      cliches=2.0),
    "ya": dict(grade=(5, 8.5), sentence_words=(8, 18), variety=0.45, dialogue=(0.1, 0.6), adverbs=2.5),
    "literary": dict(grade=(7, 12), sentence_words=(12, 28), variety=0.55, dialogue=(0.0, 0.45), adverbs=1.5,
                     cliches=0.5),
    "thriller": dict(grade=(4, 8), sentence_words=(6, 16), variety=0.5, dialogue=(0.1, 0.6), adverbs=2.0),
}
ALIASES = {"children": "childrens", "kids": "childrens", "youngadult": "ya", "literaryfiction": "literary",
           "default": "general"}
