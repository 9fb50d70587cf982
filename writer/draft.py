"""Drafting: K candidate stories for each of several prompts, batched, seeded, streamable.

    cfg = DraftConfig(k=4, max_new_tokens=128, seed=7)
    drafts = draft(writer, ["A lighthouse keeper finds a door in the sea."], cfg)
    for text in (s := DraftStream(writer, prompt, cfg)):   # texts so far, one per candidate
        ...; s.stop()                                        # really stops generation

Every prompt goes through the model's chat template with a system message carrying the
author's instructions. All candidates of all prompts are generated in batches (left padding,
one ``generate`` call per batch) whose size is bounded by ``batch_tokens``.

Seeds: each candidate samples from its own random stream, seeded from (seed, candidate
number, prompt text). So candidate j of a prompt is the same story whichever other prompts share
its batch and whatever the batch size: the evaluation can redraw "same prompt, same seed".
"""

from __future__ import annotations

import hashlib
import queue
import random
import threading
from dataclasses import asdict, dataclass, field
from typing import Any, Iterator

from record.errors import UserError
from record.settings import check_settings

DEFAULT_INSTRUCTIONS = (
    "You are a fiction writer. Write a complete, vivid short story for the prompt. "
    "Show, don't tell; vary your sentences; give the characters names; no title, no preamble."
)
PLAIN_TEMPLATE = "### Instructions\n{system}\n\n### Prompt\n{prompt}\n\n### Story\n"
MAX_K = 64
TOP_P_SHORTLIST = 512


class DraftError(UserError):
    """A drafting request that cannot be served as asked."""


@dataclass
class DraftConfig:
    """How to sample drafts. Defaults run offline on a 2-core CPU."""

    k: int = field(default=4, metadata={"help": "candidates per prompt (1-64)"})
    temperature: float = field(default=0.8, metadata={"help": "sampling temperature (0 = greedy)"})
    top_p: float = field(default=0.95, metadata={"help": "nucleus sampling mass, in (0, 1]"})
    max_new_tokens: int = field(default=256, metadata={"help": "tokens to generate per candidate"})
    repetition_penalty: float = field(default=1.1, metadata={"help": "CTRL-style penalty on repeated tokens (1 = off)"})
    seed: int = field(default=0, metadata={"help": "random seed; the same seed redraws the same candidates"})
    batch_tokens: int = field(default=16384, metadata={"help": "memory bound: rows x (prompt + new tokens) per batch"})

    def __post_init__(self):
        check_settings(self, DraftError)  # types and finiteness first: nan passes every range check
        if not 1 <= self.k <= MAX_K:
            raise DraftError(f"k must be between 1 and {MAX_K} candidates per prompt, got {self.k}")
        if self.temperature < 0:
            raise DraftError(f"temperature must be >= 0, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise DraftError(f"top_p must be in (0, 1], got {self.top_p}")
        if not 1 <= self.max_new_tokens <= 8192:
            raise DraftError(f"max_new_tokens must be between 1 and 8192, got {self.max_new_tokens}")
        if self.repetition_penalty <= 0:
            raise DraftError(f"repetition_penalty must be > 0, got {self.repetition_penalty}")
        if self.batch_tokens < 1:
            raise DraftError(f"batch_tokens must be positive, got {self.batch_tokens}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Candidate:
    prompt_index: int
    candidate: int
    prompt: str
    text: str
    tokens: int
    finish_reason: str  # "stop" (end of text), "length" (max_new_tokens) or "stopped" (by the user)
    seed: int


def row_seed(seed: int, candidate: int, prompt: str) -> int:
    digest = hashlib.sha256(f"{seed}:{candidate}:{prompt}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & 0x7FFF_FFFF_FFFF_FFFF


def chat_text(tokenizer, prompt: str, instructions: str = "") -> str:
    """The prompt as the model sees it: chat template with a system message, or, for a
    tokenizer without a template, the documented plain-text template ``PLAIN_TEMPLATE``."""
    system = instructions.strip() or DEFAULT_INSTRUCTIONS
    if getattr(tokenizer, "chat_template", None):
        messages = [{"role": "system", "content": system}, {"role": "user", "content": prompt}]
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return PLAIN_TEMPLATE.format(system=system, prompt=prompt)


def check_prompt_text(prompt, number: int = 1, total: int = 1) -> str:
    """The prompt, stripped; an empty prompt or one that is not valid UTF-8 text is refused.

    Python hands undecodable command-line bytes over as lone surrogates, which no tokenizer
    accepts: they are named here, before any model is loaded."""
    which = "the prompt" if total == 1 else f"prompt {number}"
    if not isinstance(prompt, str) or not prompt.strip():
        raise DraftError(f"{which} is empty; give the writer something to write about")
    try:
        prompt.encode("utf-8")
    except UnicodeEncodeError as e:
        raw = prompt.encode("utf-8", "surrogateescape")[:e.start + 1]
        raise DraftError(f"{which} is not valid UTF-8 text (byte 0x{raw[-1]:02x} at character {e.start + 1}); "
                         "pass it as UTF-8, or in a UTF-8 file with --prompt-file") from None
    return prompt.strip()


def encode_checked(tokenizer, context_window: int, prompts: list[str], instructions: str,
                   max_new_tokens: int) -> list[list[int]]:
    """Token ids per prompt; refuses empty prompts, text that is not UTF-8 and prompts that
    overflow the context. Needs only the tokenizer, so it runs before a model loads."""
    out = []
    for i, p in enumerate(prompts):
        p = check_prompt_text(p, i + 1, len(prompts))
        ids = tokenizer(chat_text(tokenizer, p, instructions), add_special_tokens=False)["input_ids"]
        if len(ids) + max_new_tokens > context_window:
            which = "the prompt" if len(prompts) == 1 else f"prompt {i + 1}"
            raise DraftError(
                f"{which} is {len(ids)} tokens; with max_new_tokens {max_new_tokens} it exceeds the model's "
                f"context window of {context_window} tokens; shorten the prompt or lower --max-new-tokens"
            )
        out.append(ids)
    return out


def encode_prompts(writer, prompts: list[str], instructions: str, max_new_tokens: int) -> list[list[int]]:
    """Token ids per prompt (see ``encode_checked``)."""
    return encode_checked(writer.tokenizer, writer.context_window, prompts, instructions, max_new_tokens)


class RowSampler:
    """A logits processor that samples each row from its own random stream and returns a one-hot
    score row, so ``generate`` (run greedy) takes exactly the sampled token. Also applies the
    repetition penalty, temperature and top-p, in that order, as transformers does.

    Each row draws one uniform number per step from its own ``random.Random(seed)`` and picks
    its token by inverting the cumulative distribution, for all rows at once: the row's stream
    depends on its seed alone (batch-independent), and no per-row tensor call runs per step."""

    def __init__(self, cfg: DraftConfig, seeds: list[int]):
        self.cfg = cfg
        self.streams = [random.Random(s) for s in seeds]

    def __call__(self, input_ids, scores):
        import torch

        scores = scores.float()
        if self.cfg.repetition_penalty != 1.0:
            seen = torch.gather(scores, 1, input_ids)
            seen = torch.where(seen < 0, seen * self.cfg.repetition_penalty, seen / self.cfg.repetition_penalty)
            scores = scores.scatter(1, input_ids, seen)
        if self.cfg.temperature == 0:
            chosen = scores.argmax(dim=-1)
        else:
            probs = (scores / self.cfg.temperature).softmax(-1)
            u = torch.tensor([[s.random()] for s in self.streams], dtype=probs.dtype, device=probs.device)
            if self.cfg.top_p >= 1.0:
                chosen = _invert_cdf(probs, u)
            else:
                # The nucleus almost always lies in the top few hundred tokens: sort only those
                # (a full-vocabulary sort cost a third of drafting time), and widen the shortlist
                # (x8, then the whole vocabulary) only for the rows whose nucleus is wider.
                vocab, k = probs.shape[-1], min(probs.shape[-1], TOP_P_SHORTLIST)
                rows = torch.arange(probs.shape[0], device=probs.device)
                top, candidates = torch.topk(probs, k, dim=-1)
                chosen = self._nucleus(top, candidates, u)
                while k < vocab:
                    wide = (top.sum(-1) < self.cfg.top_p).nonzero()[:, 0]
                    if not len(wide):
                        break
                    rows, k = rows[wide], min(vocab, k * 8)
                    top, candidates = torch.topk(probs[rows], k, dim=-1)  # sorted, largest first
                    chosen[rows] = self._nucleus(top, candidates, u[rows])
        onehot = torch.full_like(scores, float("-inf"))
        onehot[torch.arange(scores.shape[0]), chosen] = 0.0
        return onehot

    def _nucleus(self, top, candidates, u):
        """Sample within the top-p nucleus of rows sorted by probability (``top``, descending)."""
        drop = top.cumsum(-1) - top > self.cfg.top_p  # keep the token that crosses top_p
        return candidates.gather(1, _invert_cdf(top.masked_fill(drop, 0.0), u)[:, None])[:, 0]


def _invert_cdf(weights, u):
    """Per row, the index where the cumulative weights first exceed ``u`` times their total."""
    import torch

    cdf = weights.cumsum(-1)
    return torch.searchsorted(cdf, u * cdf[:, -1:], right=True).clamp_(max=cdf.shape[-1] - 1)[:, 0]


class _StopFlag:
    """Stopping criterion tied to a threading.Event: set it and every row ends at the next token."""

    def __init__(self, event: threading.Event):
        self.event = event

    def __call__(self, input_ids, scores, **kwargs):
        import torch

        return torch.full((input_ids.shape[0],), self.event.is_set(), dtype=torch.bool, device=input_ids.device)


class _RowStreamer:
    """Receives each step's tokens from ``generate`` and publishes the rows' texts so far."""

    def __init__(self, tokenizer, rows: int, on_update):
        self.tokenizer = tokenizer
        self.tokens: list[list[int]] = [[] for _ in range(rows)]
        self.done = [False] * rows
        self.on_update = on_update
        self.prompt_seen = False

    def put(self, value):
        if not self.prompt_seen:  # generate() first sends the prompt ids
            self.prompt_seen = True
            return
        eos = _eos_ids(self.tokenizer)
        for i, tok in enumerate(value.reshape(-1).tolist()):
            if self.done[i]:
                continue
            if tok in eos:
                self.done[i] = True
            else:
                self.tokens[i].append(tok)
        self.on_update([self.tokenizer.decode(t, skip_special_tokens=True) for t in self.tokens])

    def end(self):
        pass


def _eos_ids(tokenizer) -> set[int]:
    ids = {tokenizer.eos_token_id}
    if tokenizer.pad_token_id is not None:
        ids.add(tokenizer.pad_token_id)
    return {i for i in ids if i is not None}


def _generate_rows(writer, rows: list[list[int]], seeds: list[int], cfg: DraftConfig, stop: threading.Event | None = None,
                   on_update=None) -> list[tuple[list[int], str]]:
    """One ``generate`` call over left-padded rows; returns (new token ids, finish reason) per row."""
    import torch
    from transformers import GenerationConfig, StoppingCriteriaList

    tok = writer.tokenizer
    width = max(len(r) for r in rows)
    pad = tok.pad_token_id
    input_ids = torch.tensor([[pad] * (width - len(r)) + r for r in rows], device=writer.device)
    attention = torch.tensor([[0] * (width - len(r)) + [1] * len(r) for r in rows], device=writer.device)
    gen_cfg = GenerationConfig(
        max_new_tokens=cfg.max_new_tokens, do_sample=False, num_beams=1,
        eos_token_id=sorted(_eos_ids(tok)), pad_token_id=pad,
    )
    stopping = StoppingCriteriaList([_StopFlag(stop)]) if stop is not None else None
    streamer = _RowStreamer(tok, len(rows), on_update) if on_update else None
    with torch.inference_mode():
        out = writer.model.generate(
            input_ids=input_ids, attention_mask=attention, generation_config=gen_cfg,
            logits_processor=[RowSampler(cfg, seeds)], stopping_criteria=stopping, streamer=streamer,
        )
    eos = _eos_ids(tok)
    results = []
    for row in out[:, width:].tolist():
        ended = next((i for i, t in enumerate(row) if t in eos), None)
        if ended is not None:
            results.append((row[:ended], "stop"))
        elif stop is not None and stop.is_set():
            results.append((row, "stopped"))
        else:
            results.append((row, "length"))
    return results


def draft(writer, prompts: list[str], cfg: DraftConfig | None = None, instructions: str = "",
          stop: threading.Event | None = None, progress=None) -> list[list[Candidate]]:
    """K candidates for each prompt, generated in memory-bounded batches.

    Returns one list of ``cfg.k`` candidates per prompt, in prompt order. ``progress`` is an
    optional callable ``(rows_done, rows_total, new_tokens)`` called after each batch.
    """
    cfg = cfg or DraftConfig()
    if isinstance(prompts, str):
        prompts = [prompts]
    prompts = [p.strip() if isinstance(p, str) else p for p in prompts]
    encoded = encode_prompts(writer, prompts, instructions, cfg.max_new_tokens)
    jobs = [(p, c) for p in range(len(prompts)) for c in range(cfg.k)]
    jobs.sort(key=lambda j: len(encoded[j[0]]))  # similar lengths share a batch: less padding
    results: dict[tuple[int, int], Candidate] = {}
    start = 0
    while start < len(jobs):
        width = len(encoded[jobs[start][0]]) + cfg.max_new_tokens
        size = max(1, cfg.batch_tokens // width)
        batch = jobs[start:start + size]
        # the longest row in the batch sets the width; shrink until it fits the bound
        while len(batch) > 1 and len(batch) * (max(len(encoded[p]) for p, _ in batch) + cfg.max_new_tokens) > cfg.batch_tokens:
            batch = batch[:-1]
        seeds = [row_seed(cfg.seed, c, prompts[p]) for p, c in batch]
        outs = _generate_rows(writer, [encoded[p] for p, _ in batch], seeds, cfg, stop)
        new_tokens = 0
        for (p, c), (ids, reason), s in zip(batch, outs, seeds):
            text = writer.tokenizer.decode(ids, skip_special_tokens=True).strip()
            results[(p, c)] = Candidate(p, c, prompts[p], text, len(ids), reason, s)
            new_tokens += len(ids)
        start += len(batch)
        if progress:
            progress(start, len(jobs), new_tokens)
        if stop is not None and stop.is_set():
            break
    return [[results[(p, c)] for c in range(cfg.k) if (p, c) in results] for p in range(len(prompts))]


class DraftStream:
    """K candidates for one prompt, streamed: iterate to get the texts so far (one string per
    candidate) as they grow; ``stop()`` ends generation at the next token; ``result`` holds the
    finished candidates once iteration ends.

    ``prefill`` is the start of the answer, written for the model ("Mara"): every candidate
    continues it, and its text includes it, so the record holds the story as the author reads
    it and a preference pair's prompt and completions stay what the model is taught to produce.
    ``tokens`` counts the generated tokens only."""

    def __init__(self, writer, prompt: str, cfg: DraftConfig | None = None, instructions: str = "", prefill: str = ""):
        self.writer = writer
        self.prompt = (prompt or "").strip()
        self.cfg = cfg or DraftConfig()
        self.instructions = instructions
        # no trailing space: the model's next token brings its own (" walked"), as in training text
        self.prefill = (prefill or "").strip()
        after = writer.tokenizer(self.prefill, add_special_tokens=False)["input_ids"] if self.prefill else []
        # the chat template ends the assistant header with a newline, so the prefill's tokens are
        # those of the joined text; the context check counts them with the new tokens
        self.encoded = encode_prompts(writer, [self.prompt], instructions, self.cfg.max_new_tokens + len(after))[0] + after
        self.event = threading.Event()
        self.updates: queue.Queue = queue.Queue()
        self.result: list[Candidate] = []
        self._thread: threading.Thread | None = None

    def stop(self) -> None:
        self.event.set()

    def _run(self) -> None:
        try:
            seeds = [row_seed(self.cfg.seed, c, self.prompt) for c in range(self.cfg.k)]
            outs = _generate_rows(self.writer, [self.encoded] * self.cfg.k, seeds, self.cfg, self.event,
                                  on_update=lambda texts: self.updates.put(("texts", [self._text(t) for t in texts])))
            tok = self.writer.tokenizer
            self.result = [Candidate(0, c, self.prompt, self._text(tok.decode(ids, skip_special_tokens=True)), len(ids),
                                     reason, s)
                           for c, ((ids, reason), s) in enumerate(zip(outs, seeds))]
            self.updates.put(("done", [c.text for c in self.result]))
        except BaseException as e:  # hand the error to the consuming thread
            self.updates.put(("error", e))

    def _text(self, generated: str) -> str:
        return (self.prefill + generated).strip()

    def __iter__(self) -> Iterator[list[str]]:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        while True:
            kind, payload = self.updates.get()
            if kind == "error":
                raise payload
            yield payload
            if kind == "done":
                break
        self._thread.join()
