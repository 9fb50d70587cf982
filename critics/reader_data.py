"""Training pairs for the reader critic: what people wrote beats what machines wrote, and a story
beats its own damaged copies, always at (nearly) the same length.

    drafts = writer_drafts(prompts, cache_folder)            # the built-in writer's stories, cached
    pairs = dev_pairs(load_dev(folder), drafts, "train", seed=0)
    pairs = balance_lengths(pairs, seed=0)                     # per kind, the longer text wins half
    length_stats(pairs)                                        # {'human_vs_llm': 0.50, ...}

A pair is (prompt, chosen, rejected, kind). The kinds, and why each is there:

- ``human_vs_llm``: a passage of a person's story beats a passage of a 2023 LLM's story for the
  same prompt (HANNA). The LLM's chat chatter ("Sure! Here is...") is stripped first, so the
  pair is about the prose, not the chatter (which has its own kind).
- ``human_vs_writer``: a person's passage beats a story of the built-in writer (SmolLM2-135M)
  for the same prompt: weak, GPT-2-like machine text, the kind the writer is trained away from.
- ``shuffled``: a passage beats itself with its sentences shuffled (order and sense).
- ``spliced``: a passage beats its first half joined to the second half of another story.
- ``other_prompt``: under a prompt, a passage written for it beats one written for another.
- ``repeated``: a passage beats itself with a sentence or two repeated (cut back to its length).
- ``chatter``: a passage beats itself wrapped in chatbot chatter (cut back to its length).
- ``truncated``: a passage that ends on a finished sentence beats one that stops mid-sentence.
- ``pick``: an author's pick from the record (``record_pairs``); picks outrank everything.

Every text is normalised (``critics.text.normalize``) and cut at sentence ends into passages of
``MIN_WORDS``-``MAX_WORDS`` words, the two sides of a pair cut to the same target, so that no kind
can be won by length; ``balance_lengths`` then drops pairs until, within each kind, the chosen
text is the longer one in half of the pairs whose lengths differ. The data is split by prompt
(``critics.devdata.split_of``): pairs of one split never contain a text of the other.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path

from critics.base import CriticError
from critics.text import normalize, parse

MIN_WORDS, MAX_WORDS = 60, 150
LENGTH_TOLERANCE = 0.05  # lengths within 5% count as equal in the length balance

KINDS = ("human_vs_llm", "human_vs_writer", "shuffled", "spliced", "other_prompt", "repeated", "chatter",
         "truncated", "pick")

# Chat chatter wrapped around a passage for the ``chatter`` kind. {topic} is a few words of the prompt.
CHATTER_BEFORE = (
    "Sure! Here is a short story based on your prompt:",
    "Sure, here's a story about {topic}:",
    "Certainly! Below is a story inspired by the prompt.",
    "Great! Let's get started.",
    "Of course. Here is my take on the prompt:",
    "Here is a story for you:",
    "Title: The {Topic}",
    "I'd be happy to write a story about {topic}!",
    "As requested, here is a short piece of fiction.",
    "Okay, here's a creative story based on that idea.",
    "What a fun prompt! Here goes:",
    "Here's a short story that explores {topic}.",
)
CHATTER_AFTER = (
    "I hope you enjoyed this story!",
    "Let me know if you'd like any changes or a different ending.",
    "Feel free to ask for another version.",
    "I hope this captures what you were looking for.",
    "The End. Would you like me to continue the story?",
    "Thank you for the prompt, it was fun to write!",
    "Is there anything else you would like me to add?",
    "In conclusion, this story shows how {topic} can change a life.",
)
# Paragraphs of an LLM story that are chatter rather than story (stripped before human_vs_llm).
_CHATTER_PARA = re.compile(
    r"^(sure|certainly|of course|great|okay|ok|absolutely|here is|here's|i'd be happy|i would be happy|"
    r"title:|story:|prompt:|chapter \w+\s*$|the end\b|i hope|let me know|feel free|thank you|"
    r"please let me|as an ai|in this story|this story)", re.I)
_TRANSCRIPT = re.compile(r"^\s*(human|assistant|user|ai)\s*:", re.I | re.M)
_STOP = {"a", "an", "the", "you", "your", "is", "are", "of", "to", "in", "and", "on", "for", "with", "that", "it", "be",
         "who", "has", "have", "was", "were", "as", "at", "by", "from", "his", "her", "their", "they", "he", "she", "wp"}


@dataclass
class Pair:
    prompt: str
    chosen: str
    rejected: str
    kind: str
    source: str = ""  # which stories it came from, for the model card and debugging

    def to_dict(self) -> dict:
        return asdict(self)


# ---- pure pieces ---------------------------------------------------------------------------------


def sentences(text: str) -> list[str]:
    return parse(normalize(text)).sentences


def words(text_or_sentences) -> int:
    if isinstance(text_or_sentences, str):
        return len(text_or_sentences.split())
    return sum(len(s.split()) for s in text_or_sentences)


def crop(sents: list[str], start: int, max_words: int) -> list[str]:
    """Sentences from ``start`` while they fit in ``max_words`` (at least one).

    >>> crop(["a b.", "c d e.", "f."], 0, 5)
    ['a b.', 'c d e.']
    """
    out, n = [], 0
    for s in sents[start:]:
        w = len(s.split())
        if out and n + w > max_words:
            break
        out.append(s)
        n += w
    return out


def join(sents: list[str]) -> str:
    return " ".join(sents)


def strip_chatter(text: str) -> str:
    """An LLM story without its leading and trailing chatter paragraphs ("Sure! Here is...",
    "Title: ...", "I hope you enjoyed it")."""
    paras = [p.strip() for p in normalize(text).split("\n") if p.strip()]
    while paras and (len(paras[0].split()) <= 40 and _CHATTER_PARA.match(paras[0])):
        paras.pop(0)
    while paras and (len(paras[-1].split()) <= 40 and _CHATTER_PARA.match(paras[-1])):
        paras.pop()
    return "\n\n".join(paras)


def topic_of(prompt: str, n: int = 4) -> str:
    ws = [w for w in re.findall(r"[A-Za-z']+", normalize(prompt).lower()) if w not in _STOP]
    return " ".join(ws[:n]) or "this idea"


def matched(a: list[str], b: list[str], target: int, start_a: int = 0, start_b: int = 0) -> tuple[list[str], list[str]]:
    """Two passages cut to at most ``target`` words at sentence ends, then the longer trimmed by
    whole sentences while that brings the two closer (so a pair's lengths nearly match)."""
    x, y = crop(a, start_a, target), crop(b, start_b, target)
    for _ in range(4):
        longer, shorter = (x, y) if words(x) > words(y) else (y, x)
        if len(longer) < 2 or abs(words(longer[:-1]) - words(shorter)) >= abs(words(longer) - words(shorter)):
            break
        longer.pop()
    return x, y


def shuffled(sents: list[str], rng: random.Random) -> list[str] | None:
    """The sentences in another order (None when there are fewer than 3 distinct ones)."""
    if len(set(sents)) < 3:
        return None
    order = list(range(len(sents)))
    for _ in range(20):
        rng.shuffle(order)
        if [sents[i] for i in order] != sents:
            return [sents[i] for i in order]
    return None


def repeated(sents: list[str], rng: random.Random) -> list[str] | None:
    """A sentence or two said three times, the passage then cut back to its word count."""
    if len(sents) < 3:
        return None
    size = 1 if len(sents) < 5 else rng.choice((1, 2))
    at = rng.randrange(0, len(sents) - size)
    block = sents[at:at + size]
    out = crop(sents[:at + size] + block + block + sents[at + size:], 0, words(sents))
    return out if out != sents else None


def with_chatter(sents: list[str], prompt: str, rng: random.Random) -> list[str]:
    """The passage wrapped in chatbot chatter, cut (from the story's end) back to its word count."""
    topic = topic_of(prompt)
    before = rng.random() < 0.75
    after = not before or rng.random() < 0.4
    pre = [rng.choice(CHATTER_BEFORE).format(topic=topic, Topic=topic.title())] if before else []
    post = [rng.choice(CHATTER_AFTER).format(topic=topic, Topic=topic.title())] if after else []
    budget = words(sents) - words(pre) - words(post)
    body = crop(sents, 0, max(budget, 1))
    return pre + body + post


def truncated(sents: list[str]) -> tuple[list[str], str] | None:
    """(a passage ending on a finished sentence, a passage of the same word count that starts one
    sentence later and stops mid-sentence), or None for passages too short."""
    if len(sents) < 4:
        return None
    good = sents[:-1]
    n = words(good)
    rest = " ".join(sents[1:]).split()
    cut = " ".join(rest[:n])
    if n >= len(rest) or re.search(r"[.!?\"']$", cut):
        return None
    return good, cut


def balance_lengths(pairs: list[Pair], seed: int = 0, tolerance: float = LENGTH_TOLERANCE) -> list[Pair]:
    """Within each kind, drop pairs until the chosen text is the longer one in as many pairs as
    it is the shorter (pairs within ``tolerance`` of each other count as equal and stay), so that
    no kind can be learned as "longer wins" or "shorter wins". Order is kept."""
    rng = random.Random(seed)
    by_kind: dict[str, dict[str, list[int]]] = defaultdict(lambda: {"longer": [], "shorter": []})
    for i, p in enumerate(pairs):
        c, r = words(p.chosen), words(p.rejected)
        if abs(c - r) > tolerance * max(c, r, 1):
            by_kind[p.kind]["longer" if c > r else "shorter"].append(i)
    drop: set[int] = set()
    for sides in by_kind.values():
        longer, shorter = sides["longer"], sides["shorter"]
        big, small = (longer, shorter) if len(longer) > len(shorter) else (shorter, longer)
        drop.update(rng.sample(big, len(big) - len(small)))
    return [p for i, p in enumerate(pairs) if i not in drop]


def length_stats(pairs: list[Pair], tolerance: float = LENGTH_TOLERANCE) -> dict[str, dict[str, float]]:
    """Per kind: pairs, and the share of those with different lengths where the chosen text is
    the longer one (0.5 is length-neutral)."""
    out: dict[str, dict[str, float]] = {}
    for kind in sorted({p.kind for p in pairs}):
        ps = [p for p in pairs if p.kind == kind]
        diff = [(words(p.chosen), words(p.rejected)) for p in ps]
        diff = [(c, r) for c, r in diff if abs(c - r) > tolerance * max(c, r, 1)]
        out[kind] = {"pairs": len(ps), "chosen_longer": (sum(c > r for c, r in diff) / len(diff)) if diff else 0.5,
                     "mean_words": sum(words(p.chosen) + words(p.rejected) for p in ps) / (2 * len(ps))}
    return out


# ---- building the pairs ----------------------------------------------------------------------------


@dataclass
class _Text:
    prompt: str
    sents: list[str]
    author: str  # "human", a model name, or "writer"
    ref: str


def _texts(stories, drafts: dict[str, list[str]] | None, split: str) -> dict[str, list[_Text]]:
    """prompt -> the usable texts for it (normalised, cut into sentences), of one split."""
    by_prompt: dict[str, list[_Text]] = defaultdict(list)
    for s in stories:
        if s.split != split or s.author == "unknown":
            continue
        prompt = normalize(s.prompt)
        text = s.story if s.human else strip_chatter(s.story)
        if not s.human and _TRANSCRIPT.search(text):
            continue  # a chat transcript, not a story: no passage of prose to compare
        sents = sentences(text)
        if words(sents) >= MIN_WORDS // 2:
            by_prompt[prompt].append(_Text(prompt, sents, s.author, f"{s.file}:{s.id}"))
    for prompt, texts in (drafts or {}).items():
        prompt = normalize(prompt)
        if prompt not in by_prompt:
            continue
        for k, t in enumerate(texts):
            sents = [x for x in sentences(t) if re.search(r"[.!?\"']$", x)]  # drop a last unfinished sentence
            if words(sents) >= 20:
                by_prompt[prompt].append(_Text(prompt, sents, "writer", f"writer:{k}"))
    return dict(by_prompt)


def dev_pairs(stories, drafts: dict[str, list[str]] | None, split: str, seed: int = 0, rivals: int = 3,
              damage_from: str = "all") -> list[Pair]:
    """All pair kinds but ``pick`` for the prompts of one split (see the module docstring);
    ``stories`` are ``critics.devdata.DevStory`` rows, ``drafts`` maps a prompt to the built-in
    writer's stories for it; ``rivals`` other-prompt pairs per prompt. ``damage_from``: whose
    stories the damaged pairs (shuffled, repeated, chatter, truncated, spliced, other prompt) are
    cut from: ``all`` (people's and the LLMs', about six LLM stories to one person's per prompt)
    or ``people`` (people's only, so that "ordered" is never learned as "machine-like"; the
    LLMs' stories still serve as splice halves and other prompts' stories). Deterministic for a
    seed; different seeds cut other passages."""
    if damage_from not in ("all", "people"):
        raise ValueError(f"damage_from must be 'all' or 'people', got {damage_from!r}")
    rng = random.Random(f"{seed}:{split}")
    by_prompt = _texts(stories, drafts, split)
    prompts = sorted(by_prompt)
    pairs: list[Pair] = []

    def target() -> int:
        return rng.randint(MIN_WORDS, MAX_WORDS)

    def starts(a: _Text, b: _Text) -> tuple[int, int]:
        if rng.random() < 0.5:  # half the passages open the story, half start inside it
            return 0, 0
        return rng.randrange(max(1, len(a.sents) - 3)), rng.randrange(max(1, len(b.sents) - 3))

    def passage(t: _Text) -> tuple[list[str], int]:
        start = 0 if rng.random() < 0.5 else rng.randrange(max(1, len(t.sents) - 3))
        return crop(t.sents, start, target()), start

    def add(prompt, chosen, rejected, kind, source):
        if chosen and rejected and chosen != rejected:
            pairs.append(Pair(prompt, join(chosen), join(rejected), kind, source))

    def add_damaged(prompt, t: _Text, damage, kind, source):
        """A passage against its damaged copy; half the time the passage is re-cut to the copy's
        length (a damaged copy is often a little shorter, and length must not tell them apart)."""
        p, start = passage(t)
        bad = damage(p)
        if not bad:
            return
        if rng.random() < 0.5:
            p = crop(t.sents, start, words(bad))
        add(prompt, p, bad, kind, source)

    for prompt in prompts:
        texts = by_prompt[prompt]
        humans = [t for t in texts if t.author == "human"]
        llms = [t for t in texts if t.author not in ("human", "writer")]
        writers = [t for t in texts if t.author == "writer"]
        others = [t for p in prompts if p != prompt for t in by_prompt[p]]
        for h in humans:
            for m in llms:
                for _ in range(2):
                    a, b = matched(h.sents, m.sents, target(), *starts(h, m))
                    add(prompt, a, b, "human_vs_llm", f"{h.ref}>{m.ref}")
            for w in writers:
                sa, _ = starts(h, w)
                a, b = matched(h.sents, w.sents, min(target(), words(w.sents)), sa, 0)
                add(prompt, a, b, "human_vs_writer", f"{h.ref}>{w.ref}")
        prose = humans + llms if damage_from == "all" else humans  # damage is about the text
        if not prose:
            continue
        for _ in range(3):
            t = rng.choice(prose)
            add_damaged(prompt, t, lambda p: shuffled(p, rng), "shuffled", t.ref)
        for _ in range(2):
            t = rng.choice(prose)
            add_damaged(prompt, t, lambda p: repeated(p, rng), "repeated", t.ref)
        for _ in range(3):
            t = rng.choice(prose)
            add_damaged(prompt, t, lambda p: with_chatter(p, prompt, rng), "chatter", t.ref)
        for _ in range(2):
            t = rng.choice(prose)
            cut = truncated(passage(t)[0])
            if cut:
                pairs.append(Pair(prompt, join(cut[0]), cut[1], "truncated", t.ref))
        if others:
            for _ in range(rivals):
                t, o = rng.choice(prose), rng.choice(others)
                a, b = matched(t.sents, o.sents, target(), *starts(t, o))
                add(prompt, a, b, "other_prompt", f"{t.ref}>{o.ref}")
            for _ in range(2):
                t = rng.choice(prose)
                o = rng.choice(others + [x for x in prose if x is not t])
                tail_start = rng.randrange(max(1, len(o.sents) - 3))

                def splice(p, o=o, tail_start=tail_start):
                    half = crop(p, 0, max(1, words(p) // 2))
                    return half + crop(o.sents, tail_start, words(p) - words(half))

                add_damaged(prompt, t, splice, "spliced", f"{t.ref}+{o.ref}")
    # prompt-free copies, so the critic also judges passages that come without a prompt
    for p in list(pairs):
        if p.kind != "other_prompt" and rng.random() < 0.15:
            pairs.append(Pair("", p.chosen, p.rejected, p.kind, p.source + " (no prompt)"))
    return pairs


def record_pairs(rec) -> list[Pair]:
    """The record's author picks (not vetoed) as ``pick`` pairs."""
    return [Pair(normalize(r["prompt"]), normalize(r["chosen"]), normalize(r["rejected"]), "pick", f"pair:{r['id']}")
            for r in rec.pairs() if r["origin"] == "pick" and r["chosen"].strip() and r["rejected"].strip()]


# ---- the built-in writer's stories -----------------------------------------------------------------

# (name, instructions or "" for the default, temperature, top_p): varied, so the critic sees more
# than one kind of weak machine text.
WRITER_SETTINGS = (
    ("default", "", 0.8, 0.95),
    ("hot", "", 1.0, 0.95),
    ("first-person", "You are a writer on a story forum. Answer the prompt with a short story told in the first "
                     "person. No title, no preamble.", 0.9, 0.95),
)
WRITER_K, WRITER_TOKENS = 2, 200


def drafts_folder(workspace) -> Path:
    """Where ``writer_drafts`` caches for a workspace: shared by ``critics train`` and ``critics calibrate``."""
    from record.workspace import cache_dir

    return cache_dir(Path(workspace)) / "critic-data"


def drafts_path(folder, model=None) -> Path:
    """The cache file of ``writer_drafts`` in ``folder``: one per writer and drafting settings."""
    key = hashlib.sha256(json.dumps([WRITER_SETTINGS, WRITER_K, WRITER_TOKENS, str(model or "builtin")]).encode()).hexdigest()[:12]
    return Path(folder) / f"writer-drafts-{key}.jsonl"


def writer_drafts(prompts: list[str], folder, model=None, progress=None, batch: int = 8,
                  missing: bool = True) -> dict[str, list[str]]:
    """The built-in writer's stories for each prompt (``WRITER_SETTINGS`` x ``WRITER_K``), cached in
    ``folder`` as JSONL, one line per (setting, prompt) appended as it is finished, so a killed run
    resumes where it stopped and a second run drafts nothing. With ``missing=False`` only what the
    cache already holds (nothing is drafted, the writer is not loaded)."""
    from writer.draft import DraftConfig, draft
    from writer.models import load_writer

    path = drafts_path(folder, model)
    if missing:
        path.parent.mkdir(parents=True, exist_ok=True)
    done: dict[tuple[str, str], list[str]] = {}
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                row = json.loads(line)
                done[(row["setting"], row["prompt"])] = row["texts"]
            except (json.JSONDecodeError, KeyError):
                continue  # a line cut by a kill: drafted again below
    todo = [(name, p) for name, *_ in WRITER_SETTINGS for p in prompts if (name, p) not in done]
    if todo and missing:
        writer = load_writer(model, precision="fp32", progress=progress is not None)
        settings = {name: rest for name, *rest in WRITER_SETTINGS}
        with open(path, "a", encoding="utf-8") as f:
            for i in range(0, len(todo), batch):
                chunk = todo[i:i + batch]
                for name in dict.fromkeys(n for n, _ in chunk):
                    instructions, temperature, top_p = settings[name]
                    group = [p for n, p in chunk if n == name]
                    cfg = DraftConfig(k=WRITER_K, max_new_tokens=WRITER_TOKENS, temperature=temperature, top_p=top_p,
                                      seed=17)
                    for cands in draft(writer, group, cfg, instructions):
                        texts = [c.text for c in cands]
                        done[(name, cands[0].prompt)] = texts
                        f.write(json.dumps({"setting": name, "prompt": cands[0].prompt, "texts": texts}) + "\n")
                        f.flush()
                        os.fsync(f.fileno())
                if progress:
                    progress(min(i + batch, len(todo)), len(todo))
    out: dict[str, list[str]] = defaultdict(list)
    for (name, p), texts in done.items():
        if p in prompts:
            out[p].extend(texts)
    return dict(out)


def check_pairs(pairs: list[Pair], what: str) -> None:
    if not pairs:
        raise CriticError(f"no training pairs could be built from {what}; pass --data with the critic-dev folder, "
                          "or pick between drafts in the studio first")
