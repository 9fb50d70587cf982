"""The topic critic: was this story written for this prompt, or for another one?

    TopicCritic().score(prompts, stories)      # list[CriticScore]; a gate for the panel (PanelConfig.gate_critic)

The reader's architecture (``critics.reader``: all-MiniLM-L6-v2 as a cross-encoder over
"[CLS] prompt [SEP] passage [SEP]", LoRA and a score head, TRL's ``RewardTrainer``), trained on
one kind of pair only: a passage of a story written for the prompt over a passage, cut to the
same length, of a story written for another prompt (people's and 2023 LLMs' stories of the dev
data's train prompts; ``critics/models/topic.md`` names the data and the command). A
cross-encoder reads the prompt and the story together, so it can see that a story takes its
prompt up loosely, as people's stories often do, where a cosine between the two only sees
shared words and topics, and pays most for restating the prompt (the machines' habit).

The score is the reader's fixed mapping, sigmoid((raw - centre) / scale), with the centre
halfway between the training passages written for the prompt and those written for another:
0.5 means "as much like a story for another prompt as like one for this". So it serves as the
panel's gate (``PanelConfig.gate_critic``): under 0.5 the total is scaled down, above it the
story keeps its whole total, and a story is not paid for restating its prompt.
"""

from __future__ import annotations

from pathlib import Path

from critics.base import CriticScore
from critics.reader import REBUILD as READER_REBUILD
from critics.reader import ReaderCritic, ReaderFileError

SHIPPED = Path(__file__).resolve().parent / "models" / "topic.safetensors"
REBUILD = ("rebuild it with `scriptorium critics train --data ../shared/data/critic-dev --config "
           "critics/models/topic.yaml --out critics/models/topic.safetensors` (see critics/models/topic.md)")


class TopicCritic(ReaderCritic):
    name = "topic"
    description = "a cross-encoder trained on stories written for the prompt vs for another prompt (MiniLM + LoRA)"
    rebuild = REBUILD

    def __init__(self, model=None, path=None, version: int | None = None):
        super().__init__(model=model, path=path or (None if model else SHIPPED), version=version)

    @classmethod
    def current(cls, rec=None) -> "TopicCritic":
        """The record's current topic version (``critics train --config critics/models/topic.yaml``),
        else the shipped one."""
        if rec is not None:
            from critics.reader_train import current_version

            row = current_version(rec, "topic")
            if row is not None:
                return cls(path=row["path"], version=row["id"])
        return cls(path=SHIPPED)

    @property
    def model(self):
        try:
            return super().model
        except ReaderFileError as e:  # name this file's rebuild command, not the reader's
            raise ReaderFileError(str(e).replace(READER_REBUILD, REBUILD)) from e

    def score(self, prompts, stories, outlines=None, batch=None) -> list[CriticScore]:
        batch = self.batch_for(prompts, stories, outlines, batch)
        out = super().score(prompts, stories, outlines, batch)
        for i, p in enumerate(batch.prompts):
            if not p.strip() and batch.doc(i).words:
                out[i] = CriticScore(0.5, "no prompt given: topic not judged", {"judged": False})
        return out

    weak_at = "drifts from the prompt at"

    def _lean(self, score: float) -> str:
        if score >= 0.7:
            lean = "reads as written for this prompt"
        elif score >= 0.5:
            lean = "takes the prompt up loosely"
        else:
            lean = "reads more like a story for another prompt than for this one"
        return f"{lean} ({score:.2f}; 0.5 is halfway between stories written for it and for other prompts)"

    def _is_weak(self, worst: float, score: float) -> bool:
        return worst < min(0.5, score - 0.2)

    def _phrasing(self, doc) -> list[str]:
        return []  # the machine-phrasing lexicon is the reader's
