"""Classroom: rounds and metrics, pairs per round, veto of pending pairs, before/after, rollback."""

from __future__ import annotations

import pytest

from tests.ui.conftest import SAMPLING
from ui.studio import classroom as C
from ui.studio import drafting as D
from ui.studio.engine import StudioError


@pytest.fixture(scope="module")
def classroom_writer(tiny_model_dir):
    """A writer of this module's own: the adapters these tests load stay off the shared one."""
    from writer.models import load_writer

    return load_writer(tiny_model_dir, device="cpu", progress=False)


@pytest.fixture
def engine(workspace, tiny_model_dir, classroom_writer):
    from ui.studio.engine import StudioEngine

    classroom_writer.use_adapter(None)
    eng = StudioEngine(workspace, model=str(tiny_model_dir), writer=classroom_writer, max_new_tokens=8)
    yield eng
    eng.close()


def make_adapter(model_dir, path, seed):
    """A LoRA adapter with non-zero weights, so it really changes what the tiny model writes."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    base = AutoModelForCausalLM.from_pretrained(model_dir)
    model = get_peft_model(base, LoraConfig(r=4, lora_alpha=64, target_modules=["q_proj", "v_proj"],
                                            init_lora_weights=False))
    model.save_pretrained(path)
    return path


def picked_pairs(engine, book):
    final = list(D.stream_candidates(engine, None, None, book["id"], None, SAMPLING))[-1]
    D.pick(engine, None, book["id"], final["item_id"], final["draft_ids"], 0)
    return [p["id"] for p in engine.rec.pairs()]


def finished_round(engine, parent, adapter, pair_ids, metrics):
    rid = engine.rec.add_round(engine.lineage, engine.lineage, parent, {})
    engine.rec.finish_round(rid, str(adapter), metrics, pair_ids)
    return rid


def test_rounds_pairs_metrics_veto_and_rollback(engine, book, tiny_model_dir, tmp_path):
    pair_ids = picked_pairs(engine, book)
    assert [r[0] for r in C.pending_rows(engine.rec, None)] == pair_ids
    assert "vetoed" in C.veto(engine.rec, None, pair_ids[1], "copies the prompt")
    assert engine.rec.get("pairs", pair_ids[1])["veto_reason"] == "copies the prompt"
    assert [r[3] for r in C.pending_rows(engine.rec, None)] == ["", "yes"]

    r1 = finished_round(engine, None, make_adapter(tiny_model_dir, tmp_path / "a1", 1), pair_ids[:1],
                        {"loss_last": 0.69, "loss_mean": 0.7, "rewards_margins_last": 0.1, "pairs": 1})
    r2 = finished_round(engine, r1, make_adapter(tiny_model_dir, tmp_path / "a2", 2), [],
                        {"loss_last": 0.5, "loss_mean": 0.6, "eval": {"reward": 0.4, "reward_hacking": False,
                                                                       "draft_ids": [1]}})
    rows = C.rounds_rows(engine, None)
    assert [(r[0], r[1], r[3], r[4], r[6]) for r in rows] == [(r1, "base", "done", 1, ""), (r2, r1, "done", 0, "yes")]
    frame = C.metrics_frame(engine, None)
    assert set(frame["metric"]) == {"loss_last", "loss_mean", "rewards_margins_last", "eval reward"}
    assert frame[(frame["round"] == r2) & (frame["metric"] == "loss_last")]["value"].item() == 0.5
    assert [r[0] for r in C.round_pair_rows(engine, None, r1)] == pair_ids[:1]
    with pytest.raises(StudioError, match="already taught"):
        C.veto(engine.rec, None, pair_ids[0])  # taught in round 1: roll back instead

    # drafts follow the current round; rollback switches the adapter for the next draft
    writer = engine._load()
    final = list(D.stream_candidates(engine, None, None, book["id"], None, SAMPLING))[-1]
    assert engine.rec.get("drafts", final["draft_ids"][0])["round_id"] == r2
    assert writer.adapter_path == str((tmp_path / "a2").resolve())
    assert C.make_current(engine, None, r1) == f"Round {r1} is now current for your drafts."
    final = list(D.stream_candidates(engine, None, None, book["id"], None, SAMPLING))[-1]
    assert engine.rec.get("drafts", final["draft_ids"][0])["round_id"] == r1
    assert writer.adapter_path == str((tmp_path / "a1").resolve())
    C.make_current(engine, None, "base")
    final = list(D.stream_candidates(engine, None, None, book["id"], None, SAMPLING))[-1]
    assert engine.rec.get("drafts", final["draft_ids"][0])["round_id"] is None and writer.active_adapter is None


def test_before_and_after_use_the_same_prompt_and_seed(engine, book, tiny_model_dir, tmp_path):
    r1 = finished_round(engine, None, make_adapter(tiny_model_dir, tmp_path / "a1", 3), [], {})
    before, after, label = C.before_after(engine, None, r1, "A cat finds a map.", seed=5)
    again_before, again_after, _ = C.before_after(engine, None, r1, "A cat finds a map.", seed=5)
    assert (before, after) == (again_before, again_after)  # same prompt, same seed: same drafts
    assert before != after  # the adapter changed the writer
    assert "base model" in label and f"round {r1}" in label
    rows = engine.rec.query("SELECT round_id, seed FROM drafts ORDER BY id")
    assert [r["round_id"] for r in rows[:2]] == [None, r1] and rows[0]["seed"] == rows[1]["seed"]
    with pytest.raises(StudioError, match="pick a trained round"):
        C.before_after(engine, None, "base", "x")
    samples = C.recorded_samples(engine, None, r1)  # the comparison stays on the record for the classroom
    assert samples and samples[0][1] == rows[0]["seed"] and (samples[0][2], samples[0][3]) == (before, after)
    assert C.recorded_samples(engine, None, "base") == []


def test_pending_pairs_are_private_with_auth(engine):
    from ui.studio.books import create_book

    ann = create_book(engine.rec, "ann", "Ann's")
    final = list(D.stream_candidates(engine, None, "ann", ann["id"], None, SAMPLING))[-1]
    D.pick(engine, "ann", ann["id"], final["item_id"], final["draft_ids"], 0)
    assert len(C.pending_rows(engine.rec, "ann")) == 2 and C.pending_rows(engine.rec, "bob") == []
    pid = C.pending_rows(engine.rec, "ann")[0][0]
    with pytest.raises(StudioError, match="not among your pending pairs"):
        C.veto(engine.rec, "bob", pid)


def test_each_author_drafts_with_their_own_lineage(engine, tiny_model_dir, tmp_path):
    """Ann's trained round writes Ann's drafts; Bob, on the same base, still drafts with the bare
    model, and neither one's rollback moves the other's writer."""
    from ui.studio.books import create_book

    ann, bob = create_book(engine.rec, "ann", "Ann's"), create_book(engine.rec, "bob", "Bob's")
    rid = engine.rec.add_round(engine.lineage_for("ann"), engine.lineage, None, {})
    engine.rec.finish_round(rid, str(make_adapter(tiny_model_dir, tmp_path / "ann", 4)), {"loss_last": 0.4}, [])
    writer = engine._load()
    for _ in range(2):  # interleaved: the adapter follows the author each time
        a = list(D.stream_candidates(engine, None, "ann", ann["id"], None, SAMPLING))[-1]
        assert a["round_id"] == rid and "written by round" in a["message"]
        assert engine.rec.get("drafts", a["draft_ids"][0])["adapter"] == str((tmp_path / "ann").resolve())
        b = list(D.stream_candidates(engine, None, "bob", bob["id"], None, SAMPLING))[-1]
        assert b["round_id"] is None and engine.rec.get("drafts", b["draft_ids"][0])["adapter"] is None
    assert writer.active_adapter is None  # bob drafted last: the bare base
    assert C.rounds_rows(engine, "bob") == [] and [r[0] for r in C.rounds_rows(engine, "ann")] == [rid]
    with pytest.raises(StudioError, match=f"no round {rid} among your rounds"):
        C.make_current(engine, "bob", rid)
    assert engine.rec.current_round(engine.lineage_for("ann"))["id"] == rid


def test_a_drafts_lineage_and_samples_for_a_round_without_any(engine, book, tiny_model_dir, tmp_path):
    pair_ids = picked_pairs(engine, book)
    r1 = finished_round(engine, None, make_adapter(tiny_model_dir, tmp_path / "a1", 5), pair_ids[:1], {"loss_last": 0.6})
    chosen = engine.rec.get("pairs", pair_ids[0])["chosen_id"]
    text = C.lineage_text(engine, None, chosen)
    assert text.startswith(f"Draft {chosen}") and "Written by: the base model" in text
    assert f"Pair {pair_ids[0]} (pick): chosen" in text and f"taught in round {r1}" in text
    assert "Prompt the writer was given:" in text and "Score panel:" in text
    assert C.recorded_samples(engine, None, r1) == []  # trained without an evaluation: nothing to show yet
    assert C.sample_round(engine, None, r1) == 1
    rows = C.recorded_samples(engine, None, r1)
    assert len(rows) == 1 and rows[0][2] != rows[0][3] and rows[0][0].startswith("Chapter 1")  # the brief, not the prompt
    with pytest.raises(StudioError, match="no draft 999"):
        C.lineage_text(engine, None, 999)
