"""The critic development data (``../shared/data/critic-dev``), read in place, and its one split.

    stories = load_dev(folder)                   # every story of the folder, human and machine
    split_of(stories[0].prompt)                  # 'train' or 'val': by prompt, fixed for good
    [s for s in stories if s.split == "val"]     # what a trained critic never saw

Files (see the folder's README): ``hanna_human96.csv`` (96 human stories, mean ratings on six
criteria), ``hanna_mixed30.jsonl`` (30 human and machine stories with mean ratings) and
``hanna_llm576.jsonl`` (576 stories by six 2023 LLMs for the same 96 prompts, no ratings).

The split is by prompt: a prompt (normalised) is in validation when a fixed hash of it falls
under ``VAL_SHARE``, so every story of a prompt, human or machine, lands on the same side, and a
critic trained on the train side is measured on prompts it has never seen. Training
(``critics.reader_train``) and calibration (``critics.calibrate``) both use this function.
"""

from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from critics.base import CriticError
from critics.text import normalize

VAL_SHARE = 1 / 3
SPLIT_SALT = "scriptorium-critic-split-5"  # the salt whose split of the 96 HANNA prompts is 64 / 32
CRITERIA = ["relevance", "coherence", "empathy", "surprise", "engagement", "complexity"]
FILES = ("hanna_human96.csv", "hanna_mixed30.jsonl", "hanna_llm576.jsonl")


def split_of(prompt: str) -> str:
    """'val' or 'train' for a prompt, from a fixed hash of its normalised, lower-cased text.

    >>> split_of("A new law is enacted that erases soldiers memories of their time at war.")
    'val'
    """
    key = " ".join(normalize(prompt).lower().split())
    h = int(hashlib.sha256(f"{SPLIT_SALT}:{key}".encode()).hexdigest()[:12], 16) / 16 ** 12
    return "val" if h < VAL_SHARE else "train"


@dataclass
class DevStory:
    """One story of the dev data: who wrote it, its prompt, its ratings (if any), its split."""

    id: str
    file: str
    prompt: str
    story: str
    author: str                      # "human", a model name, or "unknown" (mixed30 does not say)
    ratings: dict[str, float] = field(default_factory=dict)
    human_story_id: str | None = None

    @property
    def split(self) -> str:
        return split_of(self.prompt)

    @property
    def human(self) -> bool:
        return self.author == "human"


def load_dev(folder, files=FILES) -> list[DevStory]:
    """Every story of the critic-dev files found in ``folder`` (clear error when none is there)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CriticError(f"critic data folder {folder} does not exist; pass the critic-dev folder "
                          f"(with {', '.join(FILES)})")
    out: list[DevStory] = []
    try:
        if "hanna_human96.csv" in files and (folder / "hanna_human96.csv").is_file():
            with open(folder / "hanna_human96.csv", newline="", encoding="utf-8") as f:
                for r in csv.DictReader(f):
                    out.append(DevStory(str(r["story_id"]), "hanna_human96.csv", r["prompt"], r["story"], "human",
                                        {c: float(r[c.capitalize()]) for c in CRITERIA}))
        for name, author in (("hanna_mixed30.jsonl", None), ("hanna_llm576.jsonl", "model")):
            path = folder / name
            if name not in files or not path.is_file():
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
                if not line.strip():
                    continue
                r = json.loads(line)
                ratings = {c: float(r[c]) for c in CRITERIA if c in r}
                out.append(DevStory(str(r["id"]), name, r["prompt"], r["story"],
                                    r[author] if author else "unknown", ratings,
                                    str(r["human_story_id"]) if "human_story_id" in r else None))
    except (KeyError, ValueError, TypeError, AttributeError, json.JSONDecodeError) as e:
        raise CriticError(f"critic data in {folder} is not in the expected form ({type(e).__name__}: {e}); "
                          "see its README for the columns") from e
    if not out:
        raise CriticError(f"no critic data in {folder}; expected {', '.join(FILES)}")
    return out
