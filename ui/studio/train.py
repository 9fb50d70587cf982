"""Training from the studio: one DPO round on a book's picks (and, if asked, its critic pairs),
run in a background thread so the studio stays usable; its progress and live loss/reward are
polled by the Train tab, and when it is done the new adapter becomes current for the author
who trained it (each author has their own lineage of rounds with sign-in) and a few of its
prompts are drafted before and after, so the Classroom shows the change from the first round.

    job = start_round(engine, user, book_id, use_critic_pairs=False, max_steps=4)
    job.snapshot()        # {"state": "running", "step": 2, "total": 4, "history": [...], ...}
"""

from __future__ import annotations

import threading
import time
from typing import Any

from ui.studio.books import owned_book
from ui.studio.engine import StudioError, not_available

CHART_KEYS = ("loss", "rewards/margins", "rewards/chosen", "rewards/rejected", "rewards/accuracies")


def book_pair_ids(rec, book_id: int, use_critic_pairs: bool) -> list[int]:
    """The book's untrained, unvetoed pairs: author picks, plus critic pairs if asked."""
    origins = ("pick", "critic") if use_critic_pairs else ("pick",)
    marks = ",".join("?" for _ in origins)
    rows = rec.query(
        "SELECT p.id FROM pairs p JOIN drafts d ON d.id = p.chosen_id WHERE d.book_id = ? AND p.vetoed = 0 "
        f"AND p.origin IN ({marks}) AND p.id NOT IN (SELECT rp.pair_id FROM round_pairs rp JOIN rounds r "
        "ON r.id = rp.round_id WHERE r.status = 'done') ORDER BY p.id", (book_id, *origins))
    return [r["id"] for r in rows]


class TrainingJob:
    """One round training in a thread; ``snapshot()`` is safe to call from any session."""

    def __init__(self, engine, book_id: int, pair_ids: list[int], config, user: str | None = None):
        self.engine = engine
        self.user = user
        self.book_id = book_id
        self.pair_ids = pair_ids
        self.config = config
        self.state = "starting"
        self.step = 0
        self.total = 0
        self.history: list[dict[str, Any]] = []
        self.round_id: int | None = None
        self.error = ""
        self.summary = ""
        self.started = time.time()
        self._lock = threading.Lock()
        self.thread = threading.Thread(target=self._run, daemon=True, name=f"train-book-{book_id}")

    def progress(self, step: int, total: int, logs: dict) -> None:
        with self._lock:
            self.state = "running"
            self.step, self.total = int(step), int(total)
            self.history.append({"step": int(step), **{k: float(v) for k, v in logs.items()
                                                       if isinstance(v, (int, float)) and not isinstance(v, bool)}})

    def _run(self) -> None:
        from training.round import run_round

        from ui.studio.classroom import sample_round

        engine = self.engine
        try:
            lineage = engine.lineage_for(self.user)
            parent = engine.rec.current_round(lineage)
            rid = run_round(engine.rec, self.pair_ids, self.config, model=engine.model,
                            precision=engine.train_precision, progress=self.progress, lineage=lineage)
            with self._lock:
                self.round_id, self.state = rid, "sampling"
            try:
                sampled = sample_round(engine, self.user, rid)
                note = f" Before/after drafts of {sampled} of its prompts are in the Classroom."
            except Exception as e:  # noqa: BLE001 - the round itself is done and current
                note = f" (No before/after samples: {e}.)"
            with self._lock:
                self.state = "done"
                self.summary = what_changed(engine.rec, rid, parent) + note
        except BaseException as e:  # reported in the Train tab; the thread must not die silently
            with self._lock:
                self.state, self.error = "failed", f"{e}"

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {"state": self.state, "step": self.step, "total": self.total, "history": list(self.history),
                    "round_id": self.round_id, "error": self.error, "summary": self.summary,
                    "pairs": len(self.pair_ids)}


def what_changed(rec, round_id: int, parent: dict | None) -> str:
    """A sentence or two on the new round: pairs taught and how its metrics moved."""
    r = rec.get("rounds", round_id)
    m = r["metrics"] or {}
    head = (f"Round {round_id} is now current (it continues "
            f"{'round ' + str(parent['id']) if parent else 'the base model'}); taught with {m.get('pairs', '?')} pairs "
            f"({m.get('pairs_from_picks', '?')} from picks).")
    parts = []
    for key, label in (("loss", "loss"), ("rewards_margins", "reward margin"), ("rewards_accuracies", "reward accuracy")):
        if f"{key}_last" in m:
            parts.append(f"{label}: {m[f'{key}_last']:.3f} at the end (mean {m.get(f'{key}_mean', float('nan')):.3f})")
    if parent and parent.get("metrics"):
        pm = parent["metrics"]
        if "rewards_margins_last" in pm and "rewards_margins_last" in m:
            parts.append(f"reward margin vs the previous round: {pm['rewards_margins_last']:.3f} -> {m['rewards_margins_last']:.3f}")
    moved = (" " + "; ".join(parts).capitalize() + ".") if parts else ""
    return head + moved + " Drafts now use the new adapter; roll back in the Classroom."


def round_defaults() -> dict[str, float | None]:
    """The Train tab's starting learning rate and beta: ``RoundConfig``'s own defaults, so the
    studio and the CLI change together (None when training is not installed)."""
    try:
        from training.config import RoundConfig
    except ImportError:
        return {"learning_rate": None, "beta": None, "max_steps": None}
    cfg = RoundConfig()
    return {"learning_rate": cfg.learning_rate, "beta": cfg.beta, "max_steps": cfg.max_steps}


def start_round(engine, user: str | None, book_id, use_critic_pairs: bool = False, max_steps: int | None = None,
                epochs: float = 1.0, learning_rate: float | None = None, beta: float | None = None) -> TrainingJob:
    """Start a round on the book's pairs in the background; one round at a time. Learning rate
    and beta left out, and max_steps 0 or None, take ``RoundConfig``'s defaults (the measured recipe)."""
    try:
        from training.config import RoundConfig
        import training.round  # noqa: F401
    except ImportError:
        raise not_available("Training", "training issue") from None
    book = owned_book(engine.rec, book_id, user)
    # One round at a time for the whole studio: every author shares the base model, and a round
    # takes the machine's memory and cores.
    for other, running in engine.jobs.items():
        if running.state in ("starting", "running", "sampling"):
            where = "this book" if other == book["id"] else (
                f"book {other}" if running.user == user else "another author's book")
            raise StudioError(f"a round is already training (started from {where}); wait for it to finish "
                              "(the Train tab's progress bar shows where it is)")
    pair_ids = book_pair_ids(engine.rec, book["id"], use_critic_pairs)
    if not pair_ids:
        raise StudioError("this book has no untrained pairs yet: pick candidates in the Draft tab first"
                          + ("" if use_critic_pairs else ", or tick 'also use critic pairs'"))
    overrides = {k: float(v) for k, v in (("learning_rate", learning_rate), ("beta", beta)) if v is not None}
    if max_steps is not None and int(max_steps) != 0:  # 0 or None: the recipe's cap; below 0: the epochs decide
        overrides["max_steps"] = int(max_steps) if int(max_steps) > 0 else -1
    config = RoundConfig(epochs=float(epochs), **overrides)
    job = TrainingJob(engine, book["id"], pair_ids, config, user=user)
    engine.jobs[book["id"]] = job
    job.thread.start()
    return job


def job_for(engine, user: str | None, book_id) -> TrainingJob | None:
    """The book's training job, if the author may see the book; None when it has none."""
    if book_id in (None, ""):
        return None
    book = owned_book(engine.rec, book_id, user)
    return engine.jobs.get(book["id"])


def history_frame(history: list[dict[str, Any]]):
    """Long-format (step, metric, value) rows for the live chart."""
    import pandas as pd

    rows = [{"step": h["step"], "metric": k, "value": h[k]} for h in history for k in CHART_KEYS if k in h]
    # explicit types even when empty: the chart fixes its axes' kinds from the first frame it gets
    return pd.DataFrame(rows, columns=["step", "metric", "value"]).astype({"step": "int64", "metric": "str",
                                                                           "value": "float64"})
