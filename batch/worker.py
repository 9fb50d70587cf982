"""The batch worker: loads the writer and the critic panel once, then turns tasks into results.

    worker = ItemWorker(WriterSpec(model_dir=..., model_id=...), draft_cfg, panel_config=None)
    result = worker.work(Task(key="line3", prompt="A cat finds a map."))

Each task is drafted K times and every candidate is scored by the panel. The worker writes
nothing: it returns an ``ItemResult`` to the driver, which alone writes the record and the
files. The same class runs in-process (local backend) and as a Ray actor (``batch/ray_backend.py``),
so both backends produce the same drafts for the same seed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from record.errors import UserError

CHAPTER_INSTRUCTIONS = (
    "You are a novelist writing one chapter of a book. Continue the story from where the previous "
    "chapter ended; keep the characters, places and rules of the story bible; write only this chapter's "
    "events, as vivid prose with no title and no preamble."
)


@dataclass
class WriterSpec:
    """Which writer a worker loads; resolved by the driver so every worker loads the same one."""

    model_dir: str
    model_id: str
    precision: str = "fp32"
    adapter: str | None = None
    round_id: int | None = None
    device: str | None = None


@dataclass
class Task:
    """One item to draft: a story prompt, or a chapter with its book's context."""

    key: str
    prompt: str
    instructions: str = ""
    chapter: int | None = None  # chapter index in ``outline`` (chapters only)
    bible: list[dict] = field(default_factory=list)
    outline: list[dict] = field(default_factory=list)
    premise: str = ""
    previous_text: str = ""


@dataclass
class ItemResult:
    """What a worker sends back for one task."""

    key: str
    model_prompt: str = ""  # the prompt the writer saw (a chapter's full context for chapters)
    instructions: str = ""
    candidates: list[dict[str, Any]] = field(default_factory=list)  # text, tokens, seed, candidate, finish_reason
    scores: list[Any] = field(default_factory=list)  # one PanelResult per candidate
    tokens: int = 0
    seconds: float = 0.0
    context: dict[str, Any] = field(default_factory=dict)  # chapters: tokens, bible_tokens, cut
    error: str | None = None


def chapter_instructions(premise: str, instructions: str = "") -> str:
    """The system message for a chapter: the author's instructions (or ours) plus the premise."""
    base = instructions.strip() or CHAPTER_INSTRUCTIONS
    return f"{base}\n\nThe book's premise: {premise.strip()}" if premise.strip() else base


class ItemWorker:
    """Holds one loaded writer and panel; ``work`` drafts, scores and returns one task."""

    def __init__(self, spec: WriterSpec, draft_config: dict, panel_config=None, threads: int | None = None,
                 writer=None, panel=None):
        """Load the writer and the panel (a ``critics.panel.PanelConfig``; None: the default panel).
        ``writer`` and ``panel`` may be given already loaded."""
        from writer.draft import DraftConfig
        from writer.models import load_writer

        if threads:
            import torch

            torch.set_num_threads(threads)
        self.spec = spec
        self.cfg = DraftConfig(**draft_config)
        self.writer = writer or load_writer(spec.model_dir, precision=spec.precision, adapter=spec.adapter,
                                            device=spec.device, progress=False)
        self.writer.model_id = spec.model_id  # the built-in model keeps its "builtin:" id on every worker
        if panel is None:
            from critics.panel import Panel

            panel = Panel(panel_config, reference=self.writer)
        self.panel = panel

    def ready(self) -> str:
        """A cheap call the driver uses to wait until the models are loaded."""
        return self.writer.model_id

    def work(self, task: Task) -> ItemResult:
        try:
            return self._work(task)
        except UserError as e:  # a bad item (empty prompt, context overflow): reported, the batch goes on
            return ItemResult(key=task.key, error=str(e))

    def _work(self, task: Task) -> ItemResult:
        from writer.draft import DraftError, draft

        start = time.perf_counter()
        if not task.prompt.strip():
            raise DraftError("the prompt is empty; give the writer something to write about")
        instructions, context = task.instructions, {}
        model_prompt = task.prompt
        if task.chapter is not None:
            from writer.context import chapter_prompt, prompt_budget

            instructions = chapter_instructions(task.premise, task.instructions)
            budget = prompt_budget(self.writer, self.cfg.max_new_tokens, instructions)
            ctx = chapter_prompt(self.writer.tokenizer, task.bible, task.outline, task.chapter, task.previous_text, budget)
            model_prompt = ctx.text
            context = {"tokens": ctx.tokens, "bible_tokens": ctx.bible_tokens, "cut": list(ctx.cut)}
        candidates = draft(self.writer, [model_prompt], self.cfg, instructions)[0]
        stories = [c.text for c in candidates]
        outlines = [task.outline[task.chapter]["summary"]] * len(stories) if task.chapter is not None else None
        scores = self.panel.score([task.prompt] * len(stories), stories, outlines)
        return ItemResult(
            key=task.key, model_prompt=model_prompt, instructions=instructions,
            candidates=[{"text": c.text, "tokens": c.tokens, "seed": c.seed, "candidate": c.candidate,
                         "finish_reason": c.finish_reason} for c in candidates],
            scores=list(scores), tokens=sum(c.tokens for c in candidates), seconds=time.perf_counter() - start,
            context=context,
        )
