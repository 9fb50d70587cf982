"""The LLM-judge critic: a local instruct model rates each story on a rubric, 1 to 5 per criterion.

    judge = JudgeCritic()                                 # the built-in SmolLM2 (a weak judge)
    judge = JudgeCritic(model="./Qwen2.5-7B-Instruct", precision="4bit")
    judge.score(prompts, stories)                          # CriticScore per story
    compare(prompt, a, b, judge)                           # P(a is the better story), both orders
    win_rate(prompts, trained, base, judge)                # over lists of same-prompt pairs

    scriptorium score stories.jsonl --critics style,judge --judge-model ./Qwen2.5-7B-Instruct

For every story and criterion (``CRITERIA``: coherence, prose, engagement, and relevance when a
prompt is given) the model reads one rubric prompt (the writing prompt, the story, the question)
and its answer is pre-filled with "Rating:". The rating is not sampled: it is the expected value
of the digits 1-5 under the softmax of their logits at the answer position, so the score is
deterministic and moves smoothly. The story's score is the mean expected rating over the
criteria, mapped from [1, 5] to [0, 1] by (rating - 1) / 4; the reason names the weakest
criterion and its rating. When the model puts little of its probability on any digit at all, the
reason says so: a judge that does not answer in ratings is not judging.

Rows are batched with left padding (explicit position ids, so a row's positions do not depend on
its padding), one forward per batch, rows x width bounded by ``batch_tokens``, and only the last
position's logits are computed. In fp32 (the default) a story's score does not depend on what
else is in its batch, up to float rounding. A story longer than the judge's context (or
``max_story_tokens``) is judged on its first part, cut at a sentence end, and the reason says
how much was read.

``compare`` asks for the better of two stories twice, A/B and then B/A, and averages, so a judge
that prefers whichever story comes first (small models do) cannot decide the outcome:
compare(p, a, b) + compare(p, b, a) == 1. It is a plain function the co-training loop can use as
an outside judge; ``win_rate`` sums it over pairs.

Any local Hugging Face instruct model folder can judge (``model=``; 4-bit nf4 through
``precision="4bit"`` for models that do not fit in memory otherwise; on CPU, fp32 is faster for
small models). Measured on the dev data, the built-in 135M model is a weak judge (see
BENCHMARKS.md, "LLM judge"): it is not on the default panel.
"""

from __future__ import annotations

import functools
import inspect
import math
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from critics.base import Critic, CriticError, CriticScore, clamp01

SYSTEM = "You are an experienced fiction editor. You rate short stories honestly and strictly."
CRITERIA: dict[str, str] = {
    "coherence": "Coherence: do the events and sentences follow from one another, so that the story makes sense as a whole?",
    "prose": "Prose: is the writing clear, precise and vivid, with varied sentences and no cliches or repetition?",
    "engagement": "Engagement: would a reader enjoy this story and want to keep reading?",
    "relevance": "Relevance: does the story do what the writing prompt asks for?",
}
# what to work on, per criterion, in the reason
ADVICE = {"coherence": "make each event follow from the last", "prose": "tighten and vary the sentences",
          "engagement": "give the reader a reason to keep reading", "relevance": "write to the prompt"}
RATINGS = "12345"
RATING_LEAD = "Rating:"
CHOICE_LEAD = "Better story:"
WEAK_MASS = 0.5          # under this share of the model's probability on the digits, the reason warns
MAX_PROMPT_TOKENS = 256  # a writing prompt longer than this is cut (prompts are a sentence or two)
CHARS_PER_TOKEN = 12     # no tokenizer needs more characters per token on prose: a 200k-word story is
                         # cut to its head before it is tokenized
_CHATTER = re.compile(r"^\W*(sure|certainly|of course|okay|ok|great|absolutely|here's|here is|as an ai|"
                      r"i'd be happy|i'm happy|i would be happy|i can)\b", re.I)
_CHATTER_TOPIC = re.compile(r"\b(story|stories|let's get started|here's|here is|happy to|as requested|prompt)\b", re.I)
_OPTIONS = {RATING_LEAD: RATINGS, CHOICE_LEAD: "AB"}
_MARK = "\u241eQUESTION\u241e"  # stands in for the criterion's question while the template is rendered
_SENTENCE_END = re.compile(r"[.!?…。！？][\"')\]”’」』]*(?=\s|$)")


class JudgeError(CriticError):
    """A judge model that cannot be found, loaded or asked for ratings."""


def expected_rating(logits: np.ndarray) -> np.ndarray:
    """Expected rating (1-5) per row of digit logits ("1".."5"): the softmax-weighted mean.

    >>> float(expected_rating(np.array([[0.0, 0.0, 0.0, 0.0, 0.0]]))[0])
    3.0
    >>> round(float(expected_rating(np.array([[0.0, 0.0, 0.0, 0.0, 50.0]]))[0]), 3)
    5.0
    """
    logits = np.asarray(logits, dtype=np.float64)
    p = np.exp(logits - logits.max(axis=-1, keepdims=True))
    p /= p.sum(axis=-1, keepdims=True)
    return p @ np.arange(1, logits.shape[-1] + 1, dtype=np.float64)


def rating_to_score(rating: float) -> float:
    """[1, 5] -> [0, 1], linear (a fixed mapping: scores from different batches compare)."""
    return clamp01((rating - 1.0) / 4.0)


def answer_tokens(tokenizer, lead: str, options: Sequence[str]) -> tuple[list[int], list[int]]:
    """(ids that put the model at the answer position after ``lead``, one token id per option).

    Tokenizers differ at the answer: SmolLM2 writes "Rating: 3" as ":", " ", "3"; Llama-3 as ":",
    " 3". Each option is written after the lead with a space and then without; the first way in
    which every option is one distinct token after a shared prefix is used.
    """
    for sep in (" ", ""):
        seqs = [tokenizer(lead + sep + o, add_special_tokens=False)["input_ids"] for o in options]
        n = 0
        while all(len(s) > n for s in seqs) and len({s[n] for s in seqs}) == 1:
            n += 1
        tails = [s[n:] for s in seqs]
        if all(len(t) == 1 for t in tails) and len({t[0] for t in tails}) == len(options):
            return list(seqs[0][:n]), [t[0] for t in tails]
    raise JudgeError(f"the judge model's tokenizer has no single token for each of {', '.join(options)} after "
                     f"{lead!r}; pass --judge-model with another instruct model")


def length_batches(lengths: Sequence[int], cost, budget: int) -> list[list[int]]:
    """Indices grouped into batches, shortest first, each as large as ``cost(rows, widest) <=
    budget`` allows (a row over the budget goes alone). Sorting keeps the padding small.

    >>> length_batches([5, 1, 3, 9], lambda n, width: n * width, 10)
    [[1, 2], [0], [3]]
    """
    batches: list[list[int]] = []
    for i in sorted(range(len(lengths)), key=lambda i: lengths[i]):
        if batches and cost(len(batches[-1]) + 1, lengths[i]) <= budget:
            batches[-1].append(i)
        else:
            batches.append([i])
    return batches


def left_pad(seqs: Sequence[Sequence[int]], pad: int):
    """(ids, attention mask) as long tensors, each row right-aligned: the answer position is the last."""
    import torch

    width = max(len(x) for x in seqs)
    ids = torch.full((len(seqs), width), pad, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for r, x in enumerate(seqs):
        ids[r, width - len(x):] = torch.tensor(list(x), dtype=torch.long)
        mask[r, width - len(x):] = 1
    return ids, mask


def option_logits(last, option_ids: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """(the options' logits, the share of the full softmax on them) from last-position logits."""
    import torch

    last = last.float()
    picked = last[:, list(option_ids)]
    share = (torch.logsumexp(picked, -1) - torch.logsumexp(last, -1)).exp()
    return picked.cpu().numpy().astype(np.float64), share.cpu().numpy().astype(np.float64)


def chatter_opening(doc) -> str | None:
    """The opening words when the story starts like a chatbot's reply ("Sure! Here is a story..."), else None."""
    head = " ".join(doc.words[:16])
    if _CHATTER.match(head) and _CHATTER_TOPIC.search(head):
        return " ".join(doc.words[:6])
    return None


def check_model_dir(model) -> Path:
    """The judge model folder, checked now (cheap) so a wrong --judge-model fails before any work."""
    path = Path(model).expanduser()
    what = "pass --judge-model with a local Hugging Face instruct model folder, or leave it out to use the built-in SmolLM2"
    if not path.exists():
        raise JudgeError(f"judge model folder {path} does not exist; {what}")
    if not path.is_dir():
        raise JudgeError(f"judge model {path} is a file, not a folder; {what}")
    if not (path / "config.json").is_file():
        raise JudgeError(f"judge model folder {path} has no config.json; {what}")
    return path.resolve()


@functools.lru_cache(maxsize=2)
def _load(model: str | None, precision: str, device: str | None):
    """One loaded judge per (model, precision, device) in a process: panels made again and again
    (a studio, one per batch) share it."""
    from writer.models import ModelError, load_writer

    try:
        return load_writer(model, precision=precision, device=device, progress=False)
    except ModelError as e:
        raise JudgeError(f"cannot load the judge model {model or 'built-in SmolLM2'}: {e}") from e


@dataclass
class _Row:
    story: int       # index of the story (or pair) it belongs to
    key: str         # criterion, or "ab" / "ba" for a comparison
    ids: list[int]


class JudgeCritic(Critic):
    name = "judge"
    uses_reference = True
    description = "a local instruct LM rates coherence, prose, engagement and relevance 1-5 (expected rating; --judge-model)"

    def __init__(self, model: str | None = None, precision: str = "fp32", device: str | None = None,
                 reference=None, criteria: Sequence[str] | None = None, batch_tokens: int = 8192,
                 max_story_tokens: int = 2048):
        from writer.models import PRECISIONS

        if precision not in PRECISIONS:
            raise JudgeError(f"judge precision {precision!r} unknown; use one of {', '.join(PRECISIONS)}")
        self.criteria = list(criteria or CRITERIA)
        unknown = [c for c in self.criteria if c not in CRITERIA]
        if unknown or not self.criteria:
            raise JudgeError(f"unknown judge criteria {unknown or self.criteria}; known: {', '.join(CRITERIA)}")
        if batch_tokens < 64 or max_story_tokens < 16:
            raise JudgeError(f"batch_tokens must be >= 64 and max_story_tokens >= 16, got {batch_tokens}, {max_story_tokens}")
        self.model = str(check_model_dir(model)) if model else None
        self.precision = precision
        self.device = device
        self.reference = reference
        self.batch_tokens = batch_tokens
        self.max_story_tokens = max_story_tokens
        self._writer = None
        self._lock = threading.Lock()
        self._answers: dict[str, tuple[list[int], list[int]]] = {}
        self._overhead: int | None = None
        self._suffixes: list[list[int]] | None = None

    # ---- the model ---------------------------------------------------------------------------

    def writer(self):
        """The judging model: the panel's reference writer when it is the built-in model without
        adapters in the same precision (so the built-in is not loaded twice), else its own."""
        if self._writer is None:
            ref = self.reference
            if (self.model is None and ref is not None and not getattr(ref, "adapters", None)
                    and str(getattr(ref, "model_id", "")).startswith("builtin:") and ref.precision == self.precision):
                self._writer = ref
            else:
                self._writer = _load(self.model, self.precision, self.device)
        return self._writer

    @property
    def model_name(self) -> str:
        return Path(self.model).name if self.model else "built-in SmolLM2"

    def _answer(self, lead: str, options: str) -> tuple[list[int], list[int]]:
        if lead not in self._answers:
            self._answers[lead] = answer_tokens(self.writer().tokenizer, lead, list(options))
        return self._answers[lead]

    def _chat_text(self, user: str) -> str:
        tok = self.writer().tokenizer
        if not getattr(tok, "chat_template", None):
            return f"{SYSTEM}\n\n{user}\n\n"
        try:
            return tok.apply_chat_template([{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}],
                                           tokenize=False, add_generation_prompt=True)
        except Exception:  # noqa: BLE001 - templates that refuse a system turn (Gemma): fold it in
            return tok.apply_chat_template([{"role": "user", "content": f"{SYSTEM}\n\n{user}"}],
                                           tokenize=False, add_generation_prompt=True)

    def _chat_ids(self, user: str, lead: str) -> list[int]:
        tok = self.writer().tokenizer
        return tok(self._chat_text(user), add_special_tokens=False)["input_ids"] + self._answer(lead, _OPTIONS[lead])[0]

    def _rubric_parts(self, prompt: str, story: str) -> tuple[list[int], list[list[int]]]:
        """(ids up to the question, ids of each criterion's question and the answer lead): a story's
        rubric prompts differ only after the story, so the story is read once (``_shared_logits``)."""
        tok = self.writer().tokenizer
        rendered = self._chat_text(self._question(prompt, story, _MARK))
        if rendered.count(_MARK) != 1:
            raise JudgeError("the judge model's chat template changes the question text; pass --judge-model with "
                             "another instruct model")
        before, after = rendered.split(_MARK)
        if self._suffixes is None:
            lead = self._answer(RATING_LEAD, RATINGS)[0]
            self._suffixes = [tok(CRITERIA[c] + after, add_special_tokens=False)["input_ids"] + lead for c in self.criteria]
        return tok(before, add_special_tokens=False)["input_ids"], self._suffixes

    @property
    def context(self) -> int:
        return self.writer().context_window

    def _cut(self, text: str, budget: int) -> tuple[str, bool]:
        """``text`` within ``budget`` tokens: whole, or its head cut at a sentence end (or a space)."""
        tok = self.writer().tokenizer
        head = text[: budget * CHARS_PER_TOKEN]
        ids = tok(head, add_special_tokens=False)["input_ids"]
        if len(head) == len(text) and len(ids) <= budget:
            return text, False
        cut = tok.decode(ids[:budget], skip_special_tokens=True)
        ends = [m.end() for m in _SENTENCE_END.finditer(cut)]
        if ends and ends[-1] >= len(cut) // 2:
            cut = cut[:ends[-1]]
        elif cut.rfind(" ") >= len(cut) // 2:
            cut = cut[:cut.rfind(" ")]
        return cut.strip(), True

    def _budget(self, prompt: str, stories_per_row: int) -> int:
        """Tokens each story of a row may take: the judge's context less the rubric and the prompt."""
        if self._overhead is None:  # the longest rubric around an empty story
            self._overhead = max([len(self._chat_ids(self._pair_question("", "", ""), CHOICE_LEAD))]
                                 + [len(self._chat_ids(self._question("", "", q), RATING_LEAD)) for q in CRITERIA.values()])
        used = self._overhead + (len(self.writer().tokenizer(prompt, add_special_tokens=False)["input_ids"]) + 8
                                 if prompt else 0)
        room = (self.context - used - 16) // stories_per_row
        if room < 16:
            raise JudgeError(f"the judge model's context of {self.context} tokens has no room for a story; "
                             "pass --judge-model with a model of a longer context")
        return min(self.max_story_tokens, room)

    def _prompt_text(self, prompt: str) -> str:
        """The writing prompt, cut when it would take more than a quarter of the context."""
        return self._cut(prompt, min(MAX_PROMPT_TOKENS, self.context // 4))[0] if prompt else ""

    def _model_kwargs(self) -> tuple[dict, str]:
        params = inspect.signature(self.writer().model.forward).parameters
        keep = {"logits_to_keep": 1} if "logits_to_keep" in params else {}  # only the answer position's logits
        return keep, "cache" if "cache" in params else "past_key_values"   # renamed in transformers 5.x

    def _pad_id(self) -> int:
        tok = self.writer().tokenizer
        return tok.pad_token_id if tok.pad_token_id is not None else 0

    def _last_logits(self, rows: list[_Row], option_ids: list[int]) -> tuple[np.ndarray, np.ndarray]:
        """(logits of the options, share of the whole softmax on the options) at each row's last
        position: rows sorted by length, left-padded, batched under ``batch_tokens``."""
        import torch

        model, dev = self.writer().model, self.writer().device
        keep, _ = self._model_kwargs()
        logits = np.zeros((len(rows), len(option_ids)))
        mass = np.zeros(len(rows))
        lengths = [len(r.ids) for r in rows]
        with self._lock, torch.inference_mode():
            for chunk in length_batches(lengths, lambda n, width: n * width, self.batch_tokens):
                ids, mask = left_pad([rows[i].ids for i in chunk], self._pad_id())
                out = model(input_ids=ids.to(dev), attention_mask=mask.to(dev),
                            position_ids=(mask.cumsum(-1) - 1).clamp(min=0).to(dev), **keep)
                picked, share = option_logits(out.logits[:, -1], option_ids)
                logits[chunk], mass[chunk] = picked, share
        return logits, mass

    def _shared_logits(self, prefixes: list[list[int]], suffixes: list[list[int]],
                       option_ids: list[int]) -> tuple[np.ndarray, np.ndarray]:
        """Like ``_last_logits`` for every row prefix + suffix, shape (prefixes, suffixes, options),
        but each prefix (the story) is read once: its key/value cache is repeated for the suffixes
        (the questions), which then read only themselves. Two forwards per batch of stories, about
        a third of the tokens of asking each question over the whole story."""
        import torch

        model, dev = self.writer().model, self.writer().device
        keep, cache_arg = self._model_kwargs()
        n_suf, tail = len(suffixes), max(len(x) for x in suffixes)
        logits = np.zeros((len(prefixes), n_suf, len(option_ids)))
        mass = np.zeros((len(prefixes), n_suf))
        suf_ids, suf_mask = left_pad(suffixes, self._pad_id())
        # the cache holds n_suf copies of each prefix: bound that, not just the prefix batch
        cost = lambda n, width: n * n_suf * (width + tail)  # noqa: E731
        with self._lock, torch.inference_mode():
            for chunk in length_batches([len(x) for x in prefixes], cost, self.batch_tokens):
                ids, mask = left_pad([prefixes[i] for i in chunk], self._pad_id())
                out = model(input_ids=ids.to(dev), attention_mask=mask.to(dev),
                            position_ids=(mask.cumsum(-1) - 1).clamp(min=0).to(dev), use_cache=True, **keep)
                cache = out.cache if getattr(out, "cache", None) is not None else out.past_key_values
                cache.batch_repeat_interleave(n_suf)
                q_mask = suf_mask.repeat(len(chunk), 1)
                full_mask = torch.cat([mask.repeat_interleave(n_suf, 0), q_mask], 1)
                q_pos = mask.sum(1).repeat_interleave(n_suf)[:, None] + (q_mask.cumsum(-1) - 1).clamp(min=0)
                out = model(input_ids=suf_ids.repeat(len(chunk), 1).to(dev), attention_mask=full_mask.to(dev),
                            position_ids=q_pos.to(dev), use_cache=True, **{cache_arg: cache}, **keep)
                picked, share = option_logits(out.logits[:, -1], option_ids)
                logits[chunk] = picked.reshape(len(chunk), n_suf, -1)
                mass[chunk] = share.reshape(len(chunk), n_suf)
        return logits, mass

    # ---- rating stories ------------------------------------------------------------------------

    @staticmethod
    def _question(prompt: str, story: str, criterion: str) -> str:
        head = f"Writing prompt: {prompt}\n\n" if prompt else ""
        return (f"{head}Story:\n{story}\n\n{criterion}\nRate the story on this from 1 (very poor) to 5 (excellent). "
                "Answer with a single digit.")

    def rate(self, prompts: list[str], texts: list[str]) -> list[tuple[dict[str, float], float]]:
        """({criterion: expected rating}, mean share of probability on the digits) per text, for
        texts already normalised and cut to fit; relevance only where there is a prompt."""
        if not texts:
            return []
        _, digits = self._answer(RATING_LEAD, RATINGS)
        prefixes, suffixes = [], None
        for p, t in zip(prompts, texts):
            pre, suffixes = self._rubric_parts(p, t)
            prefixes.append(pre)
        logits, mass = self._shared_logits(prefixes, suffixes, digits)
        ratings = expected_rating(logits)
        out = []
        for i, p in enumerate(prompts):
            kept = [k for k, c in enumerate(self.criteria) if (c != "relevance" or p) and np.all(np.isfinite(logits[i, k]))]
            out.append(({self.criteria[k]: float(ratings[i, k]) for k in kept},
                        float(np.mean(mass[i, kept])) if kept else 0.0))
        return out

    def score(self, prompts, stories, outlines=None, batch=None) -> list[CriticScore]:
        batch = self.batch_for(prompts, stories, outlines, batch)
        docs = [batch.doc(i) for i in range(len(batch))]
        todo, prompts_in, texts, notes = [], [], [], {}
        for i, doc in enumerate(docs):
            if not doc.words:
                continue
            prompt = self._prompt_text(batch.prompts[i])
            budget = self._budget(prompt, 1)
            text, cut = self._cut(doc.text, budget)
            notes[i] = []
            if cut:
                from critics.text import words_of

                notes[i].append(f"judged on its first {len(words_of(text))} of {doc.n_words} words "
                                f"(the judge reads {budget} tokens of a story)")
            todo.append(i)
            prompts_in.append(prompt)
            texts.append(text)
        rated = dict(zip(todo, self.rate(prompts_in, texts))) if todo else {}
        results = []
        for i, doc in enumerate(docs):
            odd = doc.oddities()
            if i not in rated:
                results.append(CriticScore(0.0, "; ".join(odd + ["nothing to judge"]), {"ratings": {}}))
                continue
            ratings, mass = rated[i]
            opening = chatter_opening(doc)
            if opening:
                odd.append(f'opens like a chatbot reply ("{opening}...")')
            if not ratings:
                results.append(CriticScore(0.0, "; ".join(odd + ["the judge model gave no usable rating"]),
                                           {"ratings": {}}))
                continue
            mean = float(np.mean(list(ratings.values())))
            weakest = min(ratings, key=ratings.get)
            others = ", ".join(f"{c} {r:.1f}" for c, r in ratings.items() if c != weakest)
            why = f"weakest: {weakest} {ratings[weakest]:.1f}/5 ({ADVICE[weakest]})" + (f"; {others}" if others else "")
            extra = list(notes[i])
            if mass < WEAK_MASS:
                extra.append(f"the judge put only {mass:.0%} of its probability on a rating")
            results.append(CriticScore(rating_to_score(mean), "; ".join(odd + [why] + extra),
                                       {"ratings": ratings, "rating_mass": mass, "cut": bool(notes[i])}))
        return results

    # ---- comparing two stories ------------------------------------------------------------------

    def compare_orders(self, prompts: Sequence[str], a: Sequence[str], b: Sequence[str]) -> list[tuple[float, float]]:
        """(P(a[i] better) with a[i] shown first, the same with a[i] shown second) for each pair:
        the two answers ``compare_pairs`` averages; their gap is the judge's position bias. A story
        with no words loses to one with words (0 or 1 without asking); two such stories tie (0.5)."""
        from critics.text import normalize, parse

        if not len(prompts) == len(a) == len(b):
            raise JudgeError(f"got {len(prompts)} prompts, {len(a)} and {len(b)} stories; pass one prompt per pair")
        out: list[tuple[float, float]] = [(0.5, 0.5)] * len(a)
        rows, asked = [], []
        for i, (p, x, y) in enumerate(zip(prompts, a, b)):
            dx, dy = parse(x or ""), parse(y or "")
            if not dx.words or not dy.words:
                v = 0.5 if not dx.words and not dy.words else float(bool(dx.words))
                out[i] = (v, v)
                continue
            p = self._prompt_text(normalize(p or ""))
            budget = self._budget(p, 2)
            tx, ty = self._cut(dx.text, budget)[0], self._cut(dy.text, budget)[0]
            rows.append(_Row(i, "ab", self._chat_ids(self._pair_question(p, tx, ty), CHOICE_LEAD)))
            rows.append(_Row(i, "ba", self._chat_ids(self._pair_question(p, ty, tx), CHOICE_LEAD)))
            asked.append(i)
        if rows:
            logits, _ = self._last_logits(rows, self._answer(CHOICE_LEAD, "AB")[1])
            first = np.exp(logits[:, 0] - np.logaddexp(logits[:, 0], logits[:, 1]))  # P(story A) per row
            for k, i in enumerate(asked):
                p_ab, p_ba = float(first[2 * k]), 1.0 - float(first[2 * k + 1])
                out[i] = (p_ab if math.isfinite(p_ab) else 0.5, p_ba if math.isfinite(p_ba) else 0.5)
        return out

    def compare_pairs(self, prompts: Sequence[str], a: Sequence[str], b: Sequence[str]) -> list[float]:
        """P(a[i] is the better story than b[i]) for each pair: asked A/B and B/A, averaged."""
        return [(x + y) / 2.0 for x, y in self.compare_orders(prompts, a, b)]

    @staticmethod
    def _pair_question(prompt: str, a: str, b: str) -> str:
        head = f"Writing prompt: {prompt}\n\n" if prompt else ""
        return (f"{head}Story A:\n{a}\n\nStory B:\n{b}\n\nWhich story is better written, more coherent and more "
                "engaging? Answer with a single letter, A or B.")


@functools.lru_cache(maxsize=1)
def default_judge() -> JudgeCritic:
    return JudgeCritic()


def compare(prompt: str, a: str, b: str, judge: JudgeCritic | None = None) -> float:
    """P(story ``a`` is better than story ``b`` for ``prompt``), asked A/B and B/A and averaged, so
    compare(p, a, b) + compare(p, b, a) == 1 (up to float rounding). ``judge`` defaults to the
    built-in model."""
    return (judge or default_judge()).compare_pairs([prompt], [a], [b])[0]


@dataclass
class WinRate:
    """How often the first stories of same-prompt pairs beat the second, by a judge."""

    win_rate: float     # share of pairs with P(first better) > 0.5, a tie (exactly 0.5) counting half
    mean_p: float       # mean P(first better)
    pairs: int

    def __str__(self) -> str:
        return f"{self.win_rate:.1%} of {self.pairs} pairs (mean P {self.mean_p:.3f})"


def win_rate(prompts: Sequence[str], a: Sequence[str], b: Sequence[str], judge: JudgeCritic | None = None) -> WinRate:
    """The judge's win rate of ``a[i]`` over ``b[i]`` (e.g. a trained writer's draft against the
    base writer's for the same prompt and seed), both orders per pair."""
    p = (judge or default_judge()).compare_pairs(prompts, a, b)
    if not p:
        raise JudgeError("win_rate needs at least one pair of stories")
    wins = sum(1.0 if x > 0.5 else 0.5 if x == 0.5 else 0.0 for x in p)
    return WinRate(win_rate=wins / len(p), mean_p=float(np.mean(p)), pairs=len(p))
