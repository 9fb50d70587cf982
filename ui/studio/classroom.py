"""The classroom: the open record of what the writer was taught. Rounds with their metrics,
the pairs each round was taught with (origin, margin), pending pairs that can be vetoed before
they are taught, before/after drafts on the same prompt and seed, a draft's whole lineage, and
rollback.

    rows = rounds_rows(engine, user)
    veto(rec, user, pair_id, "the chosen draft copies the prompt")
    make_current(engine, user, round_id)            # None = back to the base model
    print(lineage_text(engine, user, draft_id))

With sign-in every author has their own lineage of rounds (``engine.lineage_for``): they see,
compare and roll back only those, and only pairs from their own drafts. A round, pair or draft
id from the page that is not theirs is refused with the same message as one that does not exist.
"""

from __future__ import annotations

import json
from typing import Any

from ui.studio.engine import StudioError, may_see, scope

ROUND_HEADERS = ["round", "parent", "lineage", "status", "pairs", "from picks", "current", "finished"]
ROUND_WIDTHS = ["8%", "8%", "20%", "10%", "8%", "10%", "8%", "28%"]
PAIR_HEADERS = ["pair", "origin", "margin", "vetoed", "chosen (start)", "rejected (start)"]
PAIR_WIDTHS = ["7%", "8%", "8%", "7%", "35%", "35%"]
SAMPLE_HEADERS = ["prompt (start)", "seed", "before", "after"]
EXCERPT = 160
# who a draft (and so a pair of two drafts) belongs to: its book's owner, else the author who
# asked for it outside a book (a before/after draft)
DRAFT_OWNER = "COALESCE(b.owner, c.owner)"


def _excerpt(text: str) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= EXCERPT else text[: EXCERPT - 1] + "\u2026"


def lineage_label(engine, lineage: str) -> str:
    """A lineage as an author reads it: whose rounds they are."""
    base = engine.lineage
    if lineage == base:
        return "shared (CLI, no sign-in)"
    if lineage.startswith(base + "@author:"):
        return lineage[len(base) + len("@author:"):]
    return lineage


def visible_rounds(engine, user: str | None) -> list[dict[str, Any]]:
    """The rounds ``user`` may see: their own lineage's (every lineage for the local author and
    admins)."""
    if scope(user) is None:
        return engine.rec.rounds()
    return engine.rec.rounds(engine.lineage_for(user))


def owned_round(engine, user: str | None, round_id) -> dict[str, Any]:
    """A round ``user`` may see and change; anything else is refused."""
    try:
        rid = int(round_id)
    except (TypeError, ValueError):
        raise StudioError(f"round {round_id!r} is not a round number; pick a round in the list") from None
    row = engine.rec.one("SELECT * FROM rounds WHERE id = ?", (rid,))
    if row is None or (scope(user) is not None and row["lineage"] != engine.lineage_for(user)):
        raise StudioError(f"no round {rid} among your rounds; pick one in the list (Refresh updates it)")
    return row


def rounds_rows(engine, user: str | None) -> list[list[Any]]:
    import time

    rec = engine.rec
    rows = []
    for r in visible_rounds(engine, user):
        current = rec.current_round(r["lineage"])
        pairs = rec.one("SELECT COUNT(*) AS n, SUM(p.origin = 'pick') AS picks FROM round_pairs rp "
                        "JOIN pairs p ON p.id = rp.pair_id WHERE rp.round_id = ?", (r["id"],))
        finished = time.strftime("%Y-%m-%d %H:%M", time.localtime(r["finished_at"])) if r["finished_at"] else ""
        rows.append([r["id"], r["parent_id"] or "base", lineage_label(engine, r["lineage"]), r["status"], pairs["n"],
                     pairs["picks"] or 0, "yes" if current and current["id"] == r["id"] else "", finished])
    return rows


def metrics_frame(engine, user: str | None):
    """Numeric metrics of the finished rounds, long format (round, metric, value) for a chart.
    Training metrics (``*_last``, ``*_mean``) come with every round, from the studio or the CLI;
    co-training evaluations add ``eval *``."""
    import pandas as pd

    rows = []
    for r in visible_rounds(engine, user):
        if r["status"] != "done":
            continue
        m = r["metrics"] or {}
        found = {k: v for k, v in m.items() if k.endswith(("_last", "_mean"))}
        found.update({f"eval {k}": v for k, v in (m.get("eval") or {}).items()})
        for key, value in sorted(found.items()):
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                rows.append({"round": r["id"], "metric": key, "value": float(value)})
    # explicit types even when empty: the chart fixes its axes' kinds from the first frame it gets
    return pd.DataFrame(rows, columns=["round", "metric", "value"]).astype({"round": "int64", "metric": "str",
                                                                            "value": "float64"})


def _pair_row(p: dict[str, Any]) -> list[Any]:
    margin = "" if p["margin"] is None else round(float(p["margin"]), 3)
    return [p["id"], p["origin"], margin, "yes" if p["vetoed"] else "", _excerpt(p.get("chosen", "")),
            _excerpt(p.get("rejected", ""))]


def _pairs_query(where: str, params: tuple) -> tuple[str, tuple]:
    return ("SELECT p.*, c.text AS chosen, r.text AS rejected FROM pairs p JOIN drafts c ON c.id = p.chosen_id "
            f"JOIN drafts r ON r.id = p.rejected_id LEFT JOIN books b ON b.id = c.book_id WHERE {where} "
            "ORDER BY (p.origin = 'pick') DESC, p.id", params)


def _owner_clause(user: str | None, where: str, params: tuple) -> tuple[str, tuple]:
    if scope(user) is None:
        return where, params
    return f"{where} AND {DRAFT_OWNER} = ?", (*params, scope(user))


def round_pair_rows(engine, user: str | None, round_id) -> list[list[Any]]:
    if round_id in (None, "", "base"):
        return []
    r = owned_round(engine, user, round_id)
    sql, params = _pairs_query("p.id IN (SELECT pair_id FROM round_pairs WHERE round_id = ?)", (r["id"],))
    return [_pair_row(p) for p in engine.rec.query(sql, params)]


TRAINED = "p.id IN (SELECT rp.pair_id FROM round_pairs rp JOIN rounds r ON r.id = rp.round_id WHERE r.status = 'done')"


def pending_rows(rec, user: str | None) -> list[list[Any]]:
    """Pairs not yet taught (vetoed ones included, marked); with sign-in, only the author's."""
    sql, params = _pairs_query(*_owner_clause(user, f"NOT {TRAINED}", ()))
    return [_pair_row(p) for p in rec.query(sql, params)]


def veto(rec, user: str | None, pair_id, reason: str = "", vetoed: bool = True) -> str:
    """Veto a pending pair (or lift the veto) so the next round does not learn from it."""
    try:
        pair_id = int(pair_id)
    except (TypeError, ValueError):
        raise StudioError("type the number of a pending pair (the 'pair' column)") from None
    sql, params = _pairs_query(*_owner_clause(user, f"p.id = ? AND NOT {TRAINED}", (pair_id,)))
    if not rec.query(sql, params):
        raise StudioError(f"pair {pair_id} is not among your pending pairs (a pair already taught cannot be vetoed; "
                          "roll back the round instead)")
    if vetoed and not (reason or "").strip():
        reason = "vetoed in the studio"
    rec.veto_pair(pair_id, reason, vetoed=vetoed)
    return f"Pair {pair_id} " + ("vetoed: the next round will not learn from it." if vetoed else "restored.")


def round_choices(engine, user: str | None) -> list[tuple[str, Any]]:
    done = [r for r in visible_rounds(engine, user) if r["status"] == "done"]
    many = len({r["lineage"] for r in done}) > 1
    return [("base model (no adapter)", "base")] + [
        (f"round {r['id']}" + (f" ({lineage_label(engine, r['lineage'])})" if many else ""), r["id"]) for r in done]


def make_current(engine, user: str | None, round_id) -> str:
    """Rollback (or forward) in the author's own lineage: the chosen finished round becomes
    the writer their drafts use; other authors' writers are untouched."""
    if round_id in (None, "", "base"):
        engine.rec.set_current_round(engine.lineage_for(user), None)
        return "The base model is now current for your drafts."
    r = owned_round(engine, user, round_id)
    engine.rec.set_current_round(r["lineage"], r["id"])
    return f"Round {r['id']} is now current for your drafts."


def current_label(engine, user: str | None) -> str:
    """Which round the author's drafts use now, in words."""
    current = engine.rec.current_round(engine.lineage_for(user))
    return "the base model (no training yet)" if current is None else f"round {current['id']}"


def recorded_samples(engine, user: str | None, round_id, limit: int = 6) -> list[list[Any]]:
    """Drafts already on the record that show the round's change: each draft written by the
    round (its listed evaluation drafts first) beside the parent's draft on the same prompt,
    seed and candidate number (the base model's when the round has no parent)."""
    if round_id in (None, "", "base"):
        return []
    rec = engine.rec
    r = owned_round(engine, user, round_id)
    listed = ((r["metrics"] or {}).get("eval") or {}).get("draft_ids") or []
    after = [rec.get("drafts", i) for i in listed] if listed else rec.query(
        "SELECT * FROM drafts WHERE round_id = ? AND seed IS NOT NULL ORDER BY id DESC LIMIT 200", (r["id"],))
    parent_clause = "round_id = ?" if r["parent_id"] else "round_id IS NULL"
    rows = []
    for d in after:
        params = (d["prompt"], d["seed"], d["candidate"]) + ((r["parent_id"],) if r["parent_id"] else ())
        before = rec.one(f"SELECT text FROM drafts WHERE prompt = ? AND seed = ? AND candidate = ? AND {parent_clause} "
                         "ORDER BY id DESC LIMIT 1", params)
        if before is not None:
            rows.append([_excerpt(d.get("brief") or d["prompt"]), d["seed"], before["text"], d["text"]])
        if len(rows) >= limit:
            break
    return rows


def _draft_pair(engine, user, r: dict, prompt: str, seed: int, instructions: str = "", **links) -> tuple[str, str]:
    """The same prompt and seed drafted by the round's parent and by the round, recorded."""
    from writer.cli import record_candidates
    from writer.draft import DraftConfig, draft

    cfg = DraftConfig(k=1, seed=int(seed), max_new_tokens=engine.max_new_tokens)
    texts = []
    for rid in (r["parent_id"], r["id"]):
        with engine.adapter_slot(rid) as writer:
            cand = draft(writer, [prompt], cfg, instructions)[0]
            record_candidates(engine.rec, writer, cand, cfg, instructions, round_id=rid,
                              owner=None if user is None else str(user), **links)
        texts.append(cand[0].text)
    return texts[0], texts[1]


def before_after(engine, user: str | None, round_id, prompt: str, seed: int = 0) -> tuple[str, str, str]:
    """Draft the same prompt with the same seed before (the parent round) and after the round."""
    if round_id in (None, "", "base"):
        raise StudioError("pick a trained round to compare with its parent")
    if not (prompt or "").strip():
        raise StudioError("type a prompt to draft before and after")
    r = owned_round(engine, user, round_id)
    if r["status"] != "done":
        raise StudioError(f"round {round_id} is {r['status']}; only finished rounds can be compared")
    before, after = _draft_pair(engine, user, r, prompt.strip(), seed, brief=prompt.strip())
    label = f"before: {'round ' + str(r['parent_id']) if r['parent_id'] else 'base model'}; after: round {r['id']}; seed {seed}"
    return before, after, label


def sample_round(engine, user: str | None, round_id, n: int = 2, seed: int = 0) -> int:
    """Draft before/after samples for a round that has none on the record (a round trained in
    the studio or with ``scriptorium train``): up to ``n`` prompts it was taught with, same seed,
    each with the instructions its drafts had. Returns how many prompts were drafted."""
    r = owned_round(engine, user, round_id)
    if r["status"] != "done":
        raise StudioError(f"round {r['id']} is {r['status']}; only finished rounds have samples")
    rows = engine.rec.query(
        "SELECT c.prompt, c.instructions, c.brief, c.book_id, c.chapter_id FROM round_pairs rp "
        "JOIN pairs p ON p.id = rp.pair_id JOIN drafts c ON c.id = p.chosen_id WHERE rp.round_id = ? ORDER BY p.id",
        (r["id"],))
    seen, done = set(), 0
    for row in rows:
        if row["prompt"] in seen:
            continue
        seen.add(row["prompt"])
        _draft_pair(engine, user, r, row["prompt"], seed, row["instructions"] or "", brief=row["brief"],
                    book_id=row["book_id"], chapter_id=row["chapter_id"])
        done += 1
        if done >= n:
            break
    if not done:
        raise StudioError(f"round {r['id']} was taught no pairs, so there is no prompt to sample; "
                          "use 'Draft before and after' with a prompt of your own")
    return done


def visible_draft(engine, user: str | None, draft_id) -> dict[str, Any]:
    try:
        did = int(draft_id)
    except (TypeError, ValueError):
        raise StudioError("type a draft number (the Draft tab shows each candidate's)") from None
    row = engine.rec.one("SELECT d.*, b.owner AS book_owner FROM drafts d LEFT JOIN books b ON b.id = d.book_id "
                         "WHERE d.id = ?", (did,))
    if row is None or not may_see(user, row["book_owner"] if row["book_id"] else row["owner"]):
        raise StudioError(f"no draft {did} among your drafts")
    return row


def lineage_text(engine, user: str | None, draft_id) -> str:
    """A draft's lineage as plain text (shown in a text box, never as HTML): which round and
    adapter wrote it (and that round's ancestors), its prompt and sampling config, its scores,
    the pairs it joined and the rounds those pairs taught."""
    d = visible_draft(engine, user, draft_id)
    lin = engine.rec.draft_lineage(d["id"])
    chain = " <- ".join(f"round {r['id']}" for r in lin["written_by"]) or "none"
    written = f"round {d['round_id']}" if d["round_id"] else "the base model (no adapter)"
    lines = [f"Draft {d['id']}",
             f"Written by: {written}; its lineage: {chain} <- base",
             f"Adapter: {d['adapter'] or 'none'}",
             f"Model: {d['model']}; seed {d['seed']}, candidate {d['candidate'] + 1}, {d['tokens']} tokens, "
             f"ended by {d['finish_reason'] or '?'}",
             f"Config: {json.dumps(d['config'], sort_keys=True)}"]
    if d.get("brief"):
        lines.append(f"Asked for: {d['brief']}")
    for critic, s in sorted(lin["scores"].items()):
        lines.append(f"Score {critic}: {s['score']:.3f} (panel version {s['panel_version'] or 'hand-set'}): {s['reason']}")
    for p in lin["pairs"]:
        side = "chosen" if p["chosen_id"] == d["id"] else "rejected"
        other = p["rejected_id"] if side == "chosen" else p["chosen_id"]
        taught = [rp["round_id"] for rp in engine.rec.query("SELECT round_id FROM round_pairs WHERE pair_id = ?",
                                                             (p["id"],))]
        lines.append(f"Pair {p['id']} ({p['origin']}): {side} against draft {other}"
                     + (f", margin {p['margin']:.3f}" if p["margin"] is not None else "")
                     + (", vetoed" if p["vetoed"] else "")
                     + (f"; taught in round {', '.join(map(str, taught))}" if taught else "; not taught yet"))
    if not lin["pairs"]:
        lines.append("Pairs: none yet (pick between candidates to make some)")
    lines.append("\nPrompt the writer was given:\n" + d["prompt"])
    if d["instructions"]:
        lines.append("\nInstructions (system message):\n" + d["instructions"])
    return "\n".join(lines)
