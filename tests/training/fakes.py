"""Stand-ins for the critics panel in unit tests: deterministic scores from the text alone."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field


@dataclass
class Score:
    score: float
    reason: str = ""


@dataclass
class Result:
    total: float
    critics: dict = field(default_factory=dict)
    guard: str | None = None


class HashPanel:
    """Scores in [0, 1] from a hash of the story: different drafts get clearly different scores."""

    def __init__(self, salt: str = ""):
        self.salt = salt
        self.calls = 0

    def score(self, prompts, stories, outlines=None):
        self.calls += 1
        out = []
        for s in stories:
            v = int(hashlib.sha256((self.salt + s).encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
            out.append(Result(v, {"hash" + self.salt: Score(v, "hash")}))
        return out


def judges():
    from training.evaluate import Judges

    return Judges(HashPanel(), HashPanel("guard"), "guard", ["hash"])


def seed_pairs(rec, n: int = 4, prompt_words: int = 3, vetoed: int = 0) -> list[int]:
    """n prompts with two drafts each and one critic pair per prompt; returns pair ids."""
    ids = []
    for i in range(n):
        prompt = " ".join(["A story about a lighthouse"] * prompt_words) + f" {i}"
        a, b = rec.add_drafts([
            dict(request=f"r{i}", prompt=prompt, text=f"The keeper lit the lamp and the ship came home {i}.", model="m"),
            dict(request=f"r{i}", prompt=prompt, text="The the the cat cat.", model="m", candidate=1),
        ])
        ids.append(rec.add_pair(prompt, a, b, "critic", 0.4))
    for pid in ids[:vetoed]:
        rec.veto_pair(pid, "test")
    return ids
