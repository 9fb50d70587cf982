"""Train tab: a round from the book's picks in a background thread, with progress."""

from __future__ import annotations

import threading

import pytest

from tests.ui.conftest import SAMPLING
from ui.studio import drafting as D
from ui.studio import train as T
from ui.studio.engine import StudioError
from training.config import RoundConfig


def picks(engine, book):
    final = list(D.stream_candidates(engine, None, None, book["id"], None, SAMPLING))[-1]
    D.pick(engine, None, book["id"], final["item_id"], final["draft_ids"], 0)
    return final["draft_ids"]


def test_book_pairs_are_its_untrained_unvetoed_picks(engine, book):
    ids = picks(engine, book)
    pairs = [p["id"] for p in engine.rec.pairs()]
    engine.rec.add_pair("p", ids[1], ids[2], "critic", margin=0.3)
    other = engine.rec.add_book("Other")
    engine.rec.veto_pair(pairs[1], "no")
    assert T.book_pair_ids(engine.rec, book["id"], False) == pairs[:1]
    assert len(T.book_pair_ids(engine.rec, book["id"], True)) == 2
    assert T.book_pair_ids(engine.rec, other["id"], True) == []


def test_a_round_trains_in_the_background_with_progress(engine, book, monkeypatch):
    import training.round

    picks(engine, book)
    gate = threading.Event()
    seen = {}

    def fake_run_round(rec, pair_ids, config, model=None, precision="4bit", progress=None, lineage=None):
        seen.update(pair_ids=pair_ids, max_steps=config.max_steps, model=model, precision=precision,
                    learning_rate=config.learning_rate, beta=config.beta, lineage=lineage)
        progress(1, 2, {"loss": 0.69, "rewards/margins": 0.0, "learning_rate": 1e-5})
        gate.wait(30)  # the studio must stay usable meanwhile: the test drafts while this waits
        progress(2, 2, {"loss": 0.6, "rewards/margins": 0.2})
        rid = rec.add_round(engine.lineage, engine.lineage, None, {})
        rec.finish_round(rid, "/nowhere", {"pairs": len(pair_ids), "pairs_from_picks": len(pair_ids),
                                           "loss_last": 0.6, "loss_mean": 0.65}, pair_ids, make_current=False)
        return rid

    monkeypatch.setattr(training.round, "run_round", fake_run_round)
    job = T.start_round(engine, None, book["id"], max_steps=2, learning_rate=None)  # an emptied field
    with pytest.raises(StudioError, match="already training"):
        T.start_round(engine, None, book["id"])
    other = engine.rec.add_book("Another")
    picks(engine, other)
    with pytest.raises(StudioError, match=f"started from book {book['id']}"):
        T.start_round(engine, None, other["id"])  # the writer is shared: one round at a time
    for _ in range(600):
        if job.snapshot()["step"] == 1:
            break
        threading.Event().wait(0.05)
    snap = job.snapshot()
    assert snap["state"] == "running" and (snap["step"], snap["total"]) == (1, 2)
    assert list(D.stream_candidates(engine, None, None, book["id"], None, SAMPLING))[-1]["draft_ids"]
    gate.set()
    job.thread.join(30)
    snap = job.snapshot()
    assert snap["state"] == "done" and snap["round_id"] and "taught with 2 pairs" in snap["summary"]
    assert seen["max_steps"] == 2 and seen["precision"] == engine.train_precision and len(seen["pair_ids"]) == 2
    assert seen["lineage"] == engine.lineage  # no sign-in: the model's own lineage, shared with the CLI
    assert (seen["learning_rate"], seen["beta"]) == (RoundConfig().learning_rate, RoundConfig().beta)  # defaults filled in
    frame = T.history_frame(snap["history"])
    assert list(frame[frame["metric"] == "loss"]["value"]) == [0.69, 0.6]


def test_failures_are_reported_not_swallowed(engine, book, monkeypatch):
    import training.round

    picks(engine, book)

    def boom(*args, **kwargs):
        raise training.round.TrainingError("disk full")

    monkeypatch.setattr(training.round, "run_round", boom)
    job = T.start_round(engine, None, book["id"])
    job.thread.join(30)
    assert job.snapshot()["state"] == "failed" and "disk full" in job.snapshot()["error"]


def test_no_pairs_no_round(engine, book):
    with pytest.raises(StudioError, match="no untrained pairs"):
        T.start_round(engine, None, book["id"])


def test_a_real_round_on_the_tiny_writer_becomes_current(workspace, tiny_model_dir):
    """No stand-in: training.round.run_round trains a LoRA on the book's picks, and the next
    draft is written by the new adapter."""
    from writer.models import load_writer

    from ui.studio.books import create_book
    from ui.studio.engine import StudioEngine

    writer = load_writer(tiny_model_dir, device="cpu", progress=False)  # its own: the adapter stays on it
    engine = StudioEngine(workspace, model=str(tiny_model_dir), writer=writer, max_new_tokens=8, train_precision="fp32")
    try:
        book = create_book(engine.rec, None, "Trained")
        picks(engine, book)
        job = T.start_round(engine, None, book["id"], max_steps=2, epochs=2)  # 2 pairs: one step an epoch
        job.thread.join(300)
        snap = job.snapshot()
        assert snap["state"] == "done", snap["error"]
        assert [h["step"] for h in snap["history"]] == [1, 2] and all("loss" in h for h in snap["history"])
        assert engine.rec.current_round(engine.lineage)["id"] == snap["round_id"]
        assert f"Round {snap['round_id']} is now current" in snap["summary"] and "Loss: " in snap["summary"]
        final = list(D.stream_candidates(engine, None, None, book["id"], None, SAMPLING))[-1]
        assert engine.rec.get("drafts", final["draft_ids"][0])["round_id"] == snap["round_id"]
        assert writer.adapter_path.endswith(f"round-{snap['round_id']}")
        assert T.book_pair_ids(engine.rec, book["id"], True) == []  # taught pairs are no longer pending
    finally:
        engine.close()


def test_chart_frames_have_numeric_axes_even_when_empty():
    empty = T.history_frame([])
    assert empty.empty and str(empty["step"].dtype) == "int64" and str(empty["value"].dtype) == "float64"


def test_the_train_tab_starts_from_round_config_defaults():
    cfg = RoundConfig()
    assert T.round_defaults() == {"learning_rate": cfg.learning_rate, "beta": cfg.beta, "max_steps": cfg.max_steps}
