"""Own exercises: the writer invents new story prompts, the filters keep the real ones.

    scriptorium prompts invent -n 20 --like seeds.jsonl
    result = invent_prompts(rec, writer, 20, seeds=seed_texts)   # -> InventResult (ids, counts)

The writer is asked (a system message plus a few seed prompts as examples, a different handful
per request) for one new story prompt per candidate. Each candidate is cleaned (first line,
list marks, "Prompt:" labels and quotes removed) and then goes through the filters, in order;
the first that fails names the reason it is counted under:

1. ``empty``: nothing left after cleaning.
2. ``too_short`` / ``too_long``: fewer than ``min_words`` or more than ``max_words`` words.
3. ``not_a_prompt`` (the lexical floor): text the critics' reader (``critics.text.parse``)
   finds odd (markup, not English, emoji, no words), a reply about the task ("Sure, here
   is..."), fewer than ``min_content_words`` distinct content words, or a distinct-word share
   under ``min_distinct`` (repetition loops).
4. ``duplicate``: the same words (case and punctuation aside) as a seed, a prompt already in
   the record, or an earlier candidate.
5. ``near_duplicate``: cosine similarity of the panel's sentence embeddings (all-MiniLM-L6-v2)
   of at least ``near_duplicate`` to any of those.
6. ``off_topic``: with seeds, a best cosine similarity to the seeds under ``min_relevance``.

Kept prompts are recorded with ``origin='invented'`` and their origin in ``meta`` (model,
adapter, round, seed, nearest seed and similarities, the counts of the whole batch). Rejected
candidates are only counted: they never reach the record's prompts, so they are never drafted
for or trained on. An invented prompt can never equal a held-out prompt (rule 4 and 5 compare
with every prompt in the record), and ``cotrain`` only adds invented prompts to training.
"""

from __future__ import annotations

import random
import re
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Sequence

from record.errors import UserError
from record.settings import check_settings

INVENT_INSTRUCTIONS = (
    "You invent story prompts for a fiction workshop. Reply with exactly one new story prompt: one or two "
    "sentences that set up a character, a situation and a twist. No title, no story, no list, no preamble."
)
REASONS = ("empty", "too_short", "too_long", "not_a_prompt", "duplicate", "near_duplicate", "off_topic")
_META_REPLY = re.compile(r"^(sure|okay|ok|certainly|of course|here('s| is| are)|as an ai|i can|i'm sorry|i cannot|"
                         r"story prompt:?$|note:|response:)", re.I)
_LABEL = re.compile(r"^\s*(?:[-*•#>]+|\d+[.)]|\[\s*\w{1,4}\s*\]|(?:new\s+|story\s+|writing\s+)?prompt\s*\d*\s*[:.-])\s*", re.I)
_QUOTES = "\"'“”‘’«»"


class ExerciseError(UserError):
    """Prompt invention that cannot run as asked."""


@dataclass
class InventConfig:
    """How prompts are invented and filtered."""

    min_words: int = field(default=6, metadata={"help": "shortest kept prompt, in words"})
    max_words: int = field(default=60, metadata={"help": "longest kept prompt, in words"})
    min_content_words: int = field(default=3, metadata={"help": "lexical floor: distinct non-function words"})
    min_distinct: float = field(default=0.6, metadata={"help": "lexical floor: distinct words / words (repetition guard)"})
    near_duplicate: float = field(default=0.9, metadata={"help": "cosine similarity at or above which a prompt is a near-duplicate"})
    min_relevance: float = field(default=0.15, metadata={"help": "with seeds: lowest best cosine similarity to a seed"})
    examples: int = field(default=3, metadata={"help": "seed prompts shown to the writer per request"})
    oversample: float = field(default=3.0, metadata={"help": "candidates drawn per wanted prompt in each attempt"})
    attempts: int = field(default=3, metadata={"help": "drafting passes before giving up on reaching n"})
    max_new_tokens: int = field(default=64, metadata={"help": "tokens the writer may spend on one prompt"})
    temperature: float = field(default=1.0, metadata={"help": "sampling temperature for invention"})
    seed: int = field(default=0, metadata={"help": "random seed (examples shown and sampling)"})

    def __post_init__(self):
        check_settings(self, ExerciseError)  # types and finiteness first (record/settings.py)
        checks = [
            (1 <= self.min_words <= self.max_words, f"need 1 <= min_words <= max_words, got {self.min_words}, {self.max_words}"),
            (0 <= self.min_distinct <= 1, f"min_distinct must be in [0, 1], got {self.min_distinct}"),
            (0 < self.near_duplicate <= 1, f"near_duplicate must be in (0, 1], got {self.near_duplicate}"),
            (-1 <= self.min_relevance < 1, f"min_relevance must be in [-1, 1), got {self.min_relevance}"),
            (self.examples >= 0, f"examples must be >= 0, got {self.examples}"),
            (self.oversample >= 1, f"oversample must be >= 1, got {self.oversample}"),
            (self.attempts >= 1, f"attempts must be >= 1, got {self.attempts}"),
            (1 <= self.max_new_tokens <= 512, f"max_new_tokens must be in 1..512, got {self.max_new_tokens}"),
            (self.temperature >= 0, f"temperature must be >= 0, got {self.temperature}"),
            (self.min_content_words >= 0, f"min_content_words must be >= 0, got {self.min_content_words}"),
        ]
        for ok, message in checks:
            if not ok:
                raise ExerciseError(message)


# ---- pure pieces ---------------------------------------------------------------------------------


def clean_candidate(text: str) -> str:
    """The prompt inside a model's reply: the first non-empty line without list marks, labels or
    surrounding quotes, whitespace collapsed.

    >>> clean_candidate('  1. Prompt: "A cat inherits a lighthouse."\\nMore text')
    'A cat inherits a lighthouse.'
    """
    for line in (text or "").splitlines():
        line = line.strip()
        for _ in range(3):
            line = _LABEL.sub("", line, count=1).strip()
        line = line.strip(_QUOTES + " *_").strip()
        if line:
            return " ".join(line.split())
    return ""


def normalize(text: str) -> str:
    """Words only, lower case: the key for exact duplicates.

    >>> normalize("A Cat -- finds a MAP!") == normalize("a cat finds a map")
    True
    """
    return " ".join(re.findall(r"[^\W_]+", text.lower()))


def lexical_reason(text: str, cfg: InventConfig) -> str | None:
    """None when ``text`` passes rules 1-3 (empty, length, the lexical floor), else the reason."""
    from critics.text import parse
    from critics.wordlists import STOPWORDS

    if not text.strip():
        return "empty"
    doc = parse(text)
    n = doc.n_words
    if n < cfg.min_words:
        return "too_short"
    if n > cfg.max_words:
        return "too_long"
    if doc.oddities() or _META_REPLY.match(text):
        return "not_a_prompt"
    words = doc.lower_words
    content = {w for w in words if w not in STOPWORDS and len(w) > 1}
    if len(content) < cfg.min_content_words or len(set(words)) / len(words) < cfg.min_distinct:
        return "not_a_prompt"
    return None


@dataclass
class Verdict:
    text: str
    reason: str | None  # None: kept
    nearest_seed: str | None = None
    relevance: float | None = None
    max_similarity: float | None = None


def filter_candidates(candidates: Sequence[str], seeds: Sequence[str], existing: Sequence[str], cfg: InventConfig,
                      embed: Callable[[list[str]], Any]) -> list[Verdict]:
    """Apply the documented filters to raw candidates in order; one verdict per candidate.

    ``existing``: prompts already known (the record's); ``embed``: texts -> unit vectors (rows).
    """
    import numpy as np

    cleaned = [clean_candidate(c) for c in candidates]
    verdicts = [Verdict(t, lexical_reason(t, cfg)) for t in cleaned]
    known_keys = {normalize(t) for t in list(seeds) + list(existing)}
    for v in verdicts:
        if v.reason is None:
            key = normalize(v.text)
            if key in known_keys:
                v.reason = "duplicate"
            else:
                known_keys.add(key)
    live = [v for v in verdicts if v.reason is None]
    if not live:
        return verdicts
    reference = list(dict.fromkeys([s for s in seeds if s.strip()] + [e for e in existing if e.strip()]))
    vecs = np.asarray(embed([v.text for v in live] + reference), dtype=np.float32)
    cand_vecs, ref_vecs = vecs[:len(live)], vecs[len(live):]
    seed_count = len([s for s in dict.fromkeys(s for s in seeds if s.strip())])
    kept_vecs: list[Any] = []
    for v, vec in zip(live, cand_vecs):
        sims = ref_vecs @ vec if len(ref_vecs) else np.zeros(0)
        kept_sims = np.array([k @ vec for k in kept_vecs]) if kept_vecs else np.zeros(0)
        best = float(max(sims.max() if len(sims) else -1.0, kept_sims.max() if len(kept_sims) else -1.0))
        v.max_similarity = best
        if seed_count:
            seed_sims = sims[:seed_count]
            i = int(seed_sims.argmax())
            v.nearest_seed, v.relevance = reference[i], float(seed_sims[i])
        if best >= cfg.near_duplicate:
            v.reason = "near_duplicate"
        elif seed_count and v.relevance < cfg.min_relevance:
            v.reason = "off_topic"
        else:
            kept_vecs.append(vec)
    return verdicts


def count_reasons(verdicts: Sequence[Verdict]) -> dict[str, int]:
    counts = {"kept": 0, **{r: 0 for r in REASONS}}
    for v in verdicts:
        counts[v.reason or "kept"] += 1
    return counts


def request_text(examples: Sequence[str]) -> str:
    """The user message of one invention request (the examples are seed prompts)."""
    if not examples:
        return "Invent one new, original story prompt."
    shown = "\n".join(f"- {e}" for e in examples)
    return f"Here are some story prompts:\n{shown}\n\nInvent one new story prompt in the same spirit, different from all of these."


# ---- with the writer and the record -------------------------------------------------------------


@dataclass
class InventResult:
    """What one invention run produced."""

    prompt_ids: list[int]
    texts: list[str]
    counts: dict[str, int]
    candidates: int
    batch: str

    def summary(self) -> str:
        rejected = ", ".join(f"{k} {v}" for k, v in self.counts.items() if k != "kept" and v)
        return (f"kept {len(self.texts)} of {self.candidates} invented prompts"
                + (f"; filtered: {rejected}" if rejected else ""))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def load_seed_file(path) -> list[str]:
    """Seed prompts from a text file (one per line) or JSONL (a ``prompt`` or ``text`` field)."""
    import json
    from pathlib import Path

    path = Path(path)
    if not path.is_file():
        raise ExerciseError(f"seed file {path} does not exist; pass --like with a text file (one prompt per line) or JSONL")
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        if line.startswith("{"):
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise ExerciseError(f"{path} line {n} is not valid JSON ({e.msg}); fix it or use one prompt per line") from e
            line = str(row.get("prompt") or row.get("text") or "").strip()
        if line:
            out.append(line)
    if not out:
        raise ExerciseError(f"seed file {path} holds no prompts; put one prompt per line")
    return out


def invent_prompts(rec, writer, n: int, seeds: Sequence[str] = (), cfg: InventConfig | None = None,
                   source: str = "invented", round_id: int | None = None, embed: Callable | None = None,
                   split: str | None = None, progress: Callable[[str], None] | None = None) -> InventResult:
    """Ask the writer for up to ``n`` new prompts, filter them (see the module docstring) and
    record the kept ones (origin 'invented'). Returns their ids, texts and the filter counts."""
    from writer.draft import DraftConfig, draft

    if not isinstance(n, int) or n < 1:
        raise ExerciseError(f"-n must be a positive number of prompts, got {n}")
    cfg = cfg or InventConfig()
    seeds = [s.strip() for s in seeds if s and s.strip()]
    if embed is None:
        from critics.embed import get_embedder

        embed = get_embedder().encode
    rng = random.Random(cfg.seed)
    existing = [r["text"] for r in rec.query("SELECT DISTINCT text FROM prompts")]
    batch = uuid.uuid4().hex
    kept: list[Verdict] = []
    all_verdicts: list[Verdict] = []
    for attempt in range(cfg.attempts):
        want = n - len(kept)
        if want <= 0:
            break
        requests = max(1, round(want * cfg.oversample))
        k = min(8, requests)
        messages = [request_text(rng.sample(seeds, min(cfg.examples, len(seeds))) if seeds else [])
                    for _ in range(-(-requests // k))]
        dcfg = DraftConfig(k=k, max_new_tokens=cfg.max_new_tokens, temperature=cfg.temperature,
                           seed=cfg.seed + 7919 * attempt + len(existing))
        outs = draft(writer, messages, dcfg, INVENT_INSTRUCTIONS)
        raw = [(c.text, c.seed) for group in outs for c in group]
        verdicts = filter_candidates([t for t, _ in raw], seeds, existing + [v.text for v in kept], cfg, embed)
        for v, (_, s) in zip(verdicts, raw):
            v.seed = s  # type: ignore[attr-defined]
        all_verdicts += verdicts
        kept += [v for v in verdicts if v.reason is None][:want]
        if progress:
            progress(f"attempt {attempt + 1}: kept {len(kept)} of {n} wanted")
    counts = count_reasons(all_verdicts)
    extra = counts["kept"] - len(kept)  # kept by the filters beyond n: not recorded
    counts["kept"] = len(kept)
    if extra:
        counts["surplus"] = extra
    ids = []
    with rec.transaction():
        for v in kept:
            meta = {"batch": batch, "model": writer.model_id, "adapter": writer.adapter_path, "round_id": round_id,
                    "seed": getattr(v, "seed", None), "nearest_seed": v.nearest_seed, "relevance": v.relevance,
                    "max_similarity": v.max_similarity, "counts": counts, "config": asdict(cfg)}
            ids.append(rec.add_prompt(v.text, source=source, origin="invented", split=split, meta=meta))
    return InventResult(ids, [v.text for v in kept], counts, len(all_verdicts), batch)


def invented_pair_share(rec, pair_ids: Sequence[int]) -> tuple[int, float]:
    """(pairs whose chosen draft answers an invented prompt, their share of ``pair_ids``)."""
    if not pair_ids:
        return 0, 0.0
    marks = ",".join("?" for _ in pair_ids)
    row = rec.one(f"SELECT COUNT(*) AS n FROM pairs p JOIN drafts d ON d.id = p.chosen_id "
                  f"JOIN prompts pr ON pr.id = d.prompt_id WHERE pr.origin = 'invented' AND p.id IN ({marks})",
                  tuple(pair_ids))
    return int(row["n"]), int(row["n"]) / len(set(pair_ids))


def top_up(rec, writer, train: list[str], n: int, train_ids: dict[str, int], round_id: int | None = None,
           seed: int = 0, say: Callable[[str], None] | None = None, source: str = "cotrain") -> tuple[list[str], dict]:
    """``cotrain --invent N``: the round's training pool plus up to ``n`` prompts the writer
    invents in the spirit of ``train`` (recorded with split 'train', ids added to ``train_ids``).
    Returns (the pool, what the invention did). Held-out prompts are never among them: the
    filters drop any candidate that copies a prompt in the record."""
    res = invent_prompts(rec, writer, n, seeds=train, cfg=InventConfig(seed=seed), source=source, round_id=round_id,
                         split="train")
    train_ids.update(zip(res.texts, res.prompt_ids))
    if say:
        say(res.summary())
    return train + res.texts, {"prompts": len(res.texts), "prompt_ids": res.prompt_ids, "counts": res.counts,
                               "candidates": res.candidates}
