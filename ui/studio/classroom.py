"""The classroom: the open record of what the writer was taught. Rounds with their metrics,
the pairs each round was taught with (origin, margin), pending pairs that can be vetoed before
they are taught, before/after drafts on the same prompt and seed, and rollback.

    rows = rounds_rows(rec, lineage)
    veto(rec, user, pair_id, "the chosen draft copies the prompt")
    make_current(engine, round_id)            # None = back to the base model
"""

from __future__ import annotations

from typing import Any

from ui.studio.engine import StudioError

ROUND_HEADERS = ["round", "parent", "status", "pairs", "from picks", "current", "finished"]
PAIR_HEADERS = ["pair", "origin", "margin", "vetoed", "chosen (start)", "rejected (start)"]
EXCERPT = 160


def _excerpt(text: str) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= EXCERPT else text[: EXCERPT - 1] + "\u2026"


def rounds_rows(rec, lineage: str) -> list[list[Any]]:
    import time

    current = rec.current_round(lineage)
    rows = []
    for r in rec.rounds(lineage):
        pairs = rec.one("SELECT COUNT(*) AS n, SUM(p.origin = 'pick') AS picks FROM round_pairs rp "
                        "JOIN pairs p ON p.id = rp.pair_id WHERE rp.round_id = ?", (r["id"],))
        finished = time.strftime("%Y-%m-%d %H:%M", time.localtime(r["finished_at"])) if r["finished_at"] else ""
        rows.append([r["id"], r["parent_id"] or "base", r["status"], pairs["n"], pairs["picks"] or 0,
                     "yes" if current and current["id"] == r["id"] else "", finished])
    return rows


def metrics_frame(rec, lineage: str):
    """Numeric metrics of the finished rounds, long format (round, metric, value) for a chart."""
    import pandas as pd

    rows = []
    for r in rec.rounds(lineage):
        if r["status"] != "done":
            continue
        m = r["metrics"] or {}
        found = {k: v for k, v in m.items() if k.endswith(("_last", "_mean"))}
        found.update({f"eval {k}": v for k, v in (m.get("eval") or {}).items()})  # co-training evaluations
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


def round_pair_rows(rec, round_id) -> list[list[Any]]:
    if round_id in (None, ""):
        return []
    sql, params = _pairs_query("p.id IN (SELECT pair_id FROM round_pairs WHERE round_id = ?)", (int(round_id),))
    return [_pair_row(p) for p in rec.query(sql, params)]


TRAINED = "p.id IN (SELECT rp.pair_id FROM round_pairs rp JOIN rounds r ON r.id = rp.round_id WHERE r.status = 'done')"


def pending_rows(rec, user: str | None) -> list[list[Any]]:
    """Pairs not yet taught (vetoed ones included, marked); with auth, only the author's books'."""
    where, params = f"NOT {TRAINED}", ()
    if user is not None:
        where += " AND b.owner = ?"
        params = (user,)
    sql, params = _pairs_query(where, params)
    return [_pair_row(p) for p in rec.query(sql, params)]


def veto(rec, user: str | None, pair_id, reason: str = "", vetoed: bool = True) -> str:
    """Veto a pending pair (or lift the veto) so the next round does not learn from it."""
    try:
        pair_id = int(pair_id)
    except (TypeError, ValueError):
        raise StudioError("type the number of a pending pair (the 'pair' column)") from None
    where, params = f"p.id = ? AND NOT {TRAINED}", (pair_id,)
    if user is not None:
        where += " AND b.owner = ?"
        params = (pair_id, user)
    sql, params = _pairs_query(where, params)
    if not rec.query(sql, params):
        raise StudioError(f"pair {pair_id} is not among your pending pairs (a pair already taught cannot be vetoed; "
                          "roll back the round instead)")
    if vetoed and not (reason or "").strip():
        reason = "vetoed in the studio"
    rec.veto_pair(pair_id, reason, vetoed=vetoed)
    return f"Pair {pair_id} " + ("vetoed: the next round will not learn from it." if vetoed else "restored.")


def round_choices(rec, lineage: str) -> list[tuple[str, Any]]:
    done = [r for r in rec.rounds(lineage) if r["status"] == "done"]
    return [("base model (no adapter)", "base")] + [(f"round {r['id']}", r["id"]) for r in done]


def make_current(engine, round_id) -> str:
    """Rollback (or forward): the chosen finished round becomes the writer everyone drafts with."""
    rid = None if round_id in (None, "", "base") else int(round_id)
    engine.rec.set_current_round(engine.lineage, rid)
    engine.forget_round()
    return "The base model is now current." if rid is None else f"Round {rid} is now current."


SAMPLE_HEADERS = ["prompt (start)", "seed", "before", "after"]


def recorded_samples(rec, round_id, limit: int = 6) -> list[list[Any]]:
    """Drafts already on the record that show the round's change: each draft written by the
    round (its held-out evaluation drafts first) beside the parent's draft on the same prompt,
    seed and candidate number (the base model's when the round has no parent)."""
    if round_id in (None, "", "base"):
        return []
    r = rec.get("rounds", int(round_id))
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
            rows.append([_excerpt(d["prompt"]), d["seed"], before["text"], d["text"]])
        if len(rows) >= limit:
            break
    return rows


def before_after(engine, round_id, prompt: str, seed: int = 0) -> tuple[str, str, str]:
    """Draft the same prompt with the same seed before (the parent round) and after the round."""
    from writer.cli import record_candidates
    from writer.draft import DraftConfig, draft

    if round_id in (None, "", "base"):
        raise StudioError("pick a trained round to compare with its parent")
    if not (prompt or "").strip():
        raise StudioError("type a prompt to draft before and after")
    r = engine.rec.get("rounds", int(round_id))
    if r["status"] != "done":
        raise StudioError(f"round {round_id} is {r['status']}; only finished rounds can be compared")
    cfg = DraftConfig(k=1, seed=int(seed), max_new_tokens=engine.max_new_tokens)
    texts = []
    for rid in (r["parent_id"], r["id"]):
        with engine.adapter_slot(rid) as writer:
            cand = draft(writer, [prompt.strip()], cfg)[0]
            record_candidates(engine.rec, writer, cand, cfg, round_id=rid)
        texts.append(cand[0].text)
    label = f"before: {'round ' + str(r['parent_id']) if r['parent_id'] else 'base model'}; after: round {r['id']}; seed {seed}"
    return texts[0], texts[1], label
