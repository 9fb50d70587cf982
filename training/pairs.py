"""Preference pairs: from a prompt's scored drafts (and the authors' picks) to the lessons DPO teaches.

    rules = PairRules(min_margin=0.05)
    specs = build_pairs(drafts, picks, rules)         # pure: no model, no I/O
    ids = record_pairs(rec, prompt, specs)             # to the record, with their origin
    write_pairs_jsonl(rec.pairs(), "pairs.jsonl")      # TRL's conversational preference format

Order of authority: an author's pick outranks the critics, so picks come first and a critic
pair that contradicts a pick is dropped. Critic pairs need a minimum panel-score margin, and a
larger one when the chosen draft is much longer than the rejected (the length guard), so the
writer is not simply taught to ramble.

The JSONL file loads with ``datasets.load_dataset("json", data_files=...)``; each line holds
``prompt`` (system + user messages), ``chosen`` and ``rejected`` (one assistant message each).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable

from record.disk import temp_file
from record.errors import UserError
from record.settings import check_settings

MODES = ("best_worst", "all")


class PairError(UserError):
    """Pair-building settings or input that cannot be used."""


@dataclass
class PairRules:
    """How critic scores become pairs."""

    min_margin: float = field(default=0.02, metadata={"help": "smallest panel-score gap for a critic pair"})
    mode: str = field(default="all", metadata={"help": "best_worst: one pair per prompt (best vs worst); "
                                                              "all: every pair whose gap clears the margin"})
    long_ratio: float = field(default=1.5, metadata={"help": "chosen longer than this x rejected (in words) counts as much longer"})
    long_margin: float = field(default=0.15, metadata={"help": "the margin required when the chosen draft is much longer "
                                                                  "(never less than min_margin)"})

    def __post_init__(self):
        check_settings(self, PairError)  # types and finiteness first (record/settings.py)
        if self.mode not in MODES:
            raise PairError(f"pair mode {self.mode!r} unknown; use one of {', '.join(MODES)}")
        if self.min_margin < 0:
            raise PairError(f"min_margin must be >= 0, got {self.min_margin}")
        if self.long_ratio < 1:
            raise PairError(f"long_ratio must be >= 1 (a ratio of lengths), got {self.long_ratio}")
        if self.long_margin < 0:
            raise PairError(f"long_margin must be >= 0, got {self.long_margin}")


@dataclass(frozen=True)
class PairSpec:
    """One lesson: the chosen draft beats the rejected one, by whom and by how much."""

    chosen_id: int
    rejected_id: int
    origin: str  # "pick" or "critic"
    margin: float | None = None
    pick_id: int | None = None


def words(text: str) -> int:
    return len(text.split())


def required_margin(chosen_len: int, rejected_len: int, rules: PairRules) -> float:
    """The margin a critic pair needs: larger when the chosen draft is much longer."""
    if chosen_len > rules.long_ratio * max(rejected_len, 1):
        return max(rules.long_margin, rules.min_margin)
    return rules.min_margin


def build_pairs(drafts: list[dict[str, Any]], picks: Iterable[dict[str, Any]] = (), rules: PairRules | None = None) -> list[PairSpec]:
    """Preference pairs for one prompt.

    ``drafts``: dicts with ``id``, ``score`` (panel total, higher is better; None if unscored)
    and ``text`` (or ``length`` in words). ``picks``: dicts with ``chosen`` and ``rejected``
    draft ids and an optional ``pick_id``. Picks come first (unconditionally: the author
    decides); then critic pairs that clear the margin, never duplicating or contradicting an
    earlier pair, never pairing two drafts with the same text, and never comparing totals made
    under different panel versions (a draft's optional ``panel_version``): after a critic or
    weight changes, a partly re-scored prompt pairs only drafts scored the same way.

    >>> d = [{"id": 1, "score": 0.9, "text": "a b c"}, {"id": 2, "score": 0.2, "text": "a b"}]
    >>> build_pairs(d)
    [PairSpec(chosen_id=1, rejected_id=2, origin='critic', margin=0.7, pick_id=None)]
    """
    rules = rules or PairRules()
    by_id = {d["id"]: d for d in drafts}
    out: list[PairSpec] = []
    taken: set[frozenset] = set()  # unordered: a pair and its reverse are the same question

    for p in picks:
        a, b = p["chosen"], p["rejected"]
        if a is None or b is None or a == b or frozenset((a, b)) in taken:
            continue
        da, db = by_id.get(a) or {}, by_id.get(b) or {}
        sa, sb = da.get("score"), db.get("score")
        comparable = sa is not None and sb is not None and da.get("panel_version") == db.get("panel_version")
        margin = sa - sb if comparable else None
        out.append(PairSpec(a, b, "pick", margin, p.get("pick_id")))
        taken.add(frozenset((a, b)))

    scored = [d for d in drafts if d.get("score") is not None]
    # best first; ties keep the input order, so the result is deterministic
    ranked = sorted(range(len(scored)), key=lambda i: (-scored[i]["score"], i))
    ranked = [scored[i] for i in ranked]

    def length(d):
        return d["length"] if "length" in d else words(d.get("text", ""))

    def fits(c, r) -> float | None:
        if c["id"] == r["id"] or frozenset((c["id"], r["id"])) in taken:
            return None
        if "text" in c and "text" in r and c["text"].strip() == r["text"].strip():
            return None
        if c.get("panel_version") != r.get("panel_version"):
            return None  # totals from different panel versions do not compare
        margin = c["score"] - r["score"]  # differences below 1e-6 are ties
        if margin <= 1e-6 or margin + 1e-12 < required_margin(length(c), length(r), rules):
            return None
        return margin

    if rules.mode == "best_worst":
        # the best draft against the worst one that it beats by the required margin
        if ranked:
            best = ranked[0]
            for rej in reversed(ranked[1:]):
                margin = fits(best, rej)
                if margin is not None:
                    out.append(PairSpec(best["id"], rej["id"], "critic", margin))
                    taken.add(frozenset((best["id"], rej["id"])))
                    break
    else:
        for i, c in enumerate(ranked):
            for r in ranked[i + 1:]:
                margin = fits(c, r)
                if margin is not None:
                    out.append(PairSpec(c["id"], r["id"], "critic", margin))
                    taken.add(frozenset((c["id"], r["id"])))
    return out


# ---- the record --------------------------------------------------------------------------------


def drafts_with_scores(rec, draft_ids: list[int]) -> list[dict[str, Any]]:
    """Drafts with their latest panel total (critic='panel') and the panel version it was made
    under, in id order."""
    if not draft_ids:
        return []
    marks = ",".join("?" for _ in draft_ids)
    rows = rec.query(
        f"SELECT d.id, d.text, d.prompt, d.request, d.instructions, d.tokens, "
        f"(SELECT pr.split FROM prompts pr WHERE pr.id = d.prompt_id) AS split, "
        f"s.score, s.panel_version FROM drafts d LEFT JOIN scores s ON s.id = "
        f"(SELECT MAX(id) FROM scores WHERE draft_id = d.id AND critic = 'panel') "
        f"WHERE d.id IN ({marks}) ORDER BY d.id", tuple(draft_ids))
    return rows


def picks_for_drafts(rec, draft_ids: list[int]) -> list[dict[str, Any]]:
    """Author picks ('pick' kind, with a loser) among these drafts, oldest first."""
    if not draft_ids:
        return []
    marks = ",".join("?" for _ in draft_ids)
    rows = rec.query(
        f"SELECT id, draft_id, other_id FROM picks WHERE kind = 'pick' AND other_id IS NOT NULL "
        f"AND draft_id IN ({marks}) AND other_id IN ({marks}) ORDER BY id", tuple(draft_ids) * 2)
    return [{"chosen": r["draft_id"], "rejected": r["other_id"], "pick_id": r["id"]} for r in rows]


def record_pairs(rec, prompt: str, specs: list[PairSpec]) -> list[int]:
    """Write pairs to the record in one transaction; returns the ids of new and already-known pairs."""
    ids = []
    with rec.transaction():
        for s in specs:
            pid = rec.add_pair(prompt, s.chosen_id, s.rejected_id, s.origin, s.margin, s.pick_id)
            if pid is None:
                pid = rec.one("SELECT id FROM pairs WHERE chosen_id = ? AND rejected_id = ?", (s.chosen_id, s.rejected_id))["id"]
            ids.append(pid)
    return ids


def pairs_from_drafts(rec, draft_ids: list[int], rules: PairRules | None = None) -> list[int]:
    """Build and record pairs for scored drafts, grouped by prompt (drafting request); drafts of
    held-out prompts are skipped. Returns the pair ids."""
    # drafts of held-out prompts are for evaluation only: they never become lessons
    rows = [r for r in drafts_with_scores(rec, draft_ids) if r["split"] != "heldout"]
    picks = picks_for_drafts(rec, draft_ids)
    groups: dict[tuple[str, str], list[dict]] = {}
    for r in rows:
        groups.setdefault((r["request"], r["prompt"]), []).append(r)
    ids: list[int] = []
    for (_, prompt), group in groups.items():
        members = {d["id"] for d in group}
        mine = [p for p in picks if p["chosen"] in members and p["rejected"] in members]
        ids += record_pairs(rec, prompt, build_pairs(group, mine, rules))
    return ids


# ---- TRL's conversational preference format ---------------------------------------------------


def conversational(prompt: str, chosen: str, rejected: str, instructions: str = "") -> dict[str, Any]:
    """One example as TRL's conversational preference format, with the system message the
    writer drafted under (see writer.draft.chat_text)."""
    from writer.draft import DEFAULT_INSTRUCTIONS

    system = (instructions or "").strip() or DEFAULT_INSTRUCTIONS
    return {
        "prompt": [{"role": "system", "content": system}, {"role": "user", "content": prompt.strip()}],
        "chosen": [{"role": "assistant", "content": chosen}],
        "rejected": [{"role": "assistant", "content": rejected}],
    }


def pair_example(row: dict[str, Any]) -> dict[str, Any]:
    """A ``Record.pairs()`` row as a training example (plus its pair id, origin and margin)."""
    ex = conversational(row["prompt"], row["chosen"], row["rejected"], row.get("instructions") or "")
    ex.update(pair_id=row["id"], origin=row["origin"], margin=row["margin"])
    return ex


def write_pairs_jsonl(rows: list[dict[str, Any]], path: str | os.PathLike) -> Path:
    """Write pairs (``Record.pairs()`` rows) as JSONL, atomically; vetoed pairs are left out."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = temp_file(f".{path.name}.", path.parent)  # follows the umask, unlike mkstemp
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            for row in rows:
                if row.get("vetoed"):
                    continue
                f.write(json.dumps(pair_example(row), ensure_ascii=False) + "\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def rules_dict(rules: PairRules) -> dict[str, Any]:
    return asdict(rules)
