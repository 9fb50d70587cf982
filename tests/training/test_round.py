"""One DPO round on a tiny in-test Llama: only LoRA weights move, round k+1's reference is round
k's adapter, a killed round resumes to the same adapter, and bad input never loses the current round."""

import errno
import hashlib
import json
from pathlib import Path

import pytest

from tests.training.fakes import seed_pairs
from training.config import RoundConfig
from training.round import NoPairsError, TrainingError, build_trainer, run_round, select_pairs

CFG = dict(max_steps=1, batch_size=2, learning_rate=1e-2, save_steps=1)


def adapter_tensors(path):
    from safetensors.torch import load_file

    return load_file(str(Path(path) / "adapter_model.safetensors"))


def folder_digest(path):
    h = hashlib.sha256()
    for f in sorted(Path(path).rglob("*")):
        if f.is_file():
            h.update(f.name.encode() + f.read_bytes())
    return h.hexdigest()


def test_one_step_moves_only_lora_weights(record, tiny_model_dir, tmp_path):
    from transformers import AutoTokenizer

    seed_pairs(record, 2)
    rows = select_pairs(record, None)
    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    trainer, _ = build_trainer(RoundConfig(**CFG), rows, tok, tiny_model_dir, "4bit", "cpu", None, tmp_path / "ckpt")
    before = {n: p.detach().clone() for n, p in trainer.model.named_parameters()}
    trainer.train()
    after = dict(trainer.model.named_parameters())
    moved = {n for n in before if not (before[n] == after[n].detach()).all()}
    assert moved, "one DPO step changed nothing"
    assert all("lora_" in n for n in moved), f"base weights moved: {sorted(n for n in moved if 'lora_' not in n)}"
    trainable = {n for n, p in trainer.model.named_parameters() if p.requires_grad}
    assert trainable and all("lora_" in n for n in trainable)
    import bitsandbytes as bnb

    assert any(isinstance(m, bnb.nn.Linear4bit) for m in trainer.model.modules()), "the base is 4-bit nf4"


def test_round_k_plus_1_starts_from_and_is_referenced_to_round_k(record, tiny_model_dir, tmp_path):
    from transformers import AutoTokenizer

    ids = seed_pairs(record, 4)
    r1 = run_round(record, ids[:2], RoundConfig(**CFG), model=tiny_model_dir, precision="4bit")
    round1 = record.get("rounds", r1)
    assert round1["status"] == "done" and round1["parent_id"] is None
    assert record.current_round(str(tiny_model_dir))["id"] == r1
    saved = adapter_tensors(round1["adapter_path"])
    mark = json.loads((Path(round1["adapter_path"]) / "scriptorium-adapter.json").read_text())
    assert mark["round_id"] == r1 and mark["base_fingerprint"] and mark["parent_round"] is None
    assert all("lora_" in k for k in saved) and any("lora_B" in k and v.abs().sum() > 0 for k, v in saved.items())

    # the trainer round 2 would use: starts from round 1 and keeps a frozen copy as its reference
    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    rows = select_pairs(record, ids[2:])
    trainer, _ = build_trainer(RoundConfig(**CFG), rows, tok, tiny_model_dir, "4bit", "cpu", round1["adapter_path"],
                               tmp_path / "ckpt2")

    def adapter_weights(name):
        return {n.replace(f".{name}.", "."): p.detach().float().clone() for n, p in trainer.model.named_parameters()
                if f".{name}." in n}

    ref, start = adapter_weights("ref"), adapter_weights("default")
    assert ref and set(ref) == set(start)
    first = {k.replace(".weight", "").replace("base_model.model.", ""): v.float() for k, v in saved.items()}
    for n, w in ref.items():
        key = n.replace("base_model.model.", "").replace(".weight", "")
        assert (w - first[key]).abs().max() < 1e-2, n  # bf16 round trip of the trainable copy aside
    trainer.train()
    assert all((adapter_weights("ref")[n] == w).all() for n, w in ref.items()), "the reference never moves"
    assert any(not (adapter_weights("default")[n] == w).all() for n, w in start.items())

    r2 = run_round(record, ids[2:], RoundConfig(**CFG), model=tiny_model_dir, precision="4bit")
    round2 = record.get("rounds", r2)
    assert round2["parent_id"] == r1 and record.current_round(str(tiny_model_dir))["id"] == r2
    assert json.loads((Path(round2["adapter_path"]) / "scriptorium-adapter.json").read_text())["parent_round"] == r1
    assert [r["id"] for r in record.round_lineage(r2)] == [r2, r1]
    assert {p["id"] for p in record.round_pairs(r2)} == set(ids[2:])

    record.set_current_round(str(tiny_model_dir), r1)  # roll back
    assert record.current_round(str(tiny_model_dir))["id"] == r1


class Kill(BaseException):
    """Stands in for SIGKILL: not an Exception, so nothing on the way up handles it."""


def test_a_killed_round_resumes_to_the_same_adapter(tmp_path, tiny_model_dir, monkeypatch):
    from record import open_record

    cfg = RoundConfig(max_steps=4, batch_size=1, save_steps=2, learning_rate=1e-2)

    def fresh(name):
        monkeypatch.setenv("SCRIPTORIUM_HOME", str(tmp_path / name))
        rec = open_record()
        return rec, seed_pairs(rec, 4)

    rec, ids = fresh("straight")
    straight = adapter_tensors(rec.get("rounds", run_round(rec, ids, cfg, model=tiny_model_dir, precision="fp32"))["adapter_path"])

    rec, ids = fresh("killed")

    def kill_at_3(step, total, logs):
        if step == 3:
            raise Kill()

    with pytest.raises(Kill):
        run_round(rec, ids, cfg, model=tiny_model_dir, precision="fp32", progress=kill_at_3)
    (killed,) = rec.rounds()
    assert killed["status"] in ("running", "failed") and rec.current_round(str(tiny_model_dir)) is None
    rid = run_round(rec, ids, cfg, model=tiny_model_dir, precision="fp32")
    assert rid == killed["id"], "the same round is resumed, not a new one"
    row = rec.get("rounds", rid)
    assert row["status"] == "done" and row["metrics"]["resumed_from"] == "checkpoint-2" and row["metrics"]["steps"] == 4
    resumed = adapter_tensors(row["adapter_path"])
    assert set(resumed) == set(straight)
    for k in straight:
        assert (resumed[k] - straight[k]).abs().max() < 1e-6, k
    assert not Path(row["adapter_path"] + ".ckpt").exists(), "checkpoints are cleared once the adapter is saved"


def test_no_pairs_or_all_vetoed_records_no_round(record, tiny_model_dir):
    with pytest.raises(NoPairsError, match="no untrained"):
        run_round(record, None, RoundConfig(**CFG), model=tiny_model_dir)
    ids = seed_pairs(record, 2, vetoed=2)
    with pytest.raises(NoPairsError, match="vetoed"):
        run_round(record, ids, RoundConfig(**CFG), model=tiny_model_dir)
    with pytest.raises(NoPairsError, match="untrained"):
        run_round(record, None, RoundConfig(**CFG), model=tiny_model_dir)
    with pytest.raises(NoPairsError, match="no pair"):
        run_round(record, [999], RoundConfig(**CFG), model=tiny_model_dir)
    assert record.rounds() == []


def test_long_prompts_are_dropped_and_counted(record, tiny_model_dir):
    ids = seed_pairs(record, 2) + seed_pairs(record, 1, prompt_words=60)
    with pytest.raises(NoPairsError, match="max_length"):
        run_round(record, ids[2:], RoundConfig(**dict(CFG, max_length=400)), model=tiny_model_dir, precision="fp32")
    rid = run_round(record, ids, RoundConfig(**dict(CFG, max_length=400)), model=tiny_model_dir, precision="fp32")
    m = record.get("rounds", rid)["metrics"]
    assert (m["pairs"], m["dropped_too_long"]) == (2, 1)
    assert {p["id"] for p in record.round_pairs(rid)} == set(ids[:2]), "a dropped pair stays untrained"
    assert [r["status"] for r in record.rounds()] == ["done"]


def test_adapter_for_another_base_and_disk_full_keep_the_current_round(record, tiny_model_dir, monkeypatch):
    ids = seed_pairs(record, 4)
    r1 = run_round(record, ids[:2], RoundConfig(**CFG), model=tiny_model_dir, precision="fp32")
    path = Path(record.get("rounds", r1)["adapter_path"])
    digest = folder_digest(path)

    import peft

    real_save = peft.PeftModel.save_pretrained

    def full_disk(self, save_directory, **kw):
        real_save(self, save_directory, **kw)  # half the files land, then the disk is full
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(peft.PeftModel, "save_pretrained", full_disk)
    with pytest.raises(TrainingError, match="could not be saved") as e:
        run_round(record, ids[2:], RoundConfig(**CFG), model=tiny_model_dir, precision="fp32")
    assert f"unchanged ({r1})" in str(e.value)
    monkeypatch.undo()
    assert record.current_round(str(tiny_model_dir))["id"] == r1 and folder_digest(path) == digest
    failed = record.rounds()[-1]
    assert failed["status"] == "failed" and not Path(path.parent / f"round-{failed['id']}").exists()
    assert not list(path.parent.glob(".round-*")), "no temporary adapter folder is left behind"

    mark = path / "scriptorium-adapter.json"
    mark.write_text(json.dumps(dict(json.loads(mark.read_text()), base_fingerprint="0123456789abcdef")))
    with pytest.raises(TrainingError, match="another base model"):
        run_round(record, ids[2:], RoundConfig(**CFG), model=tiny_model_dir, precision="fp32")
    assert record.current_round(str(tiny_model_dir))["id"] == r1


def test_a_missing_logging_backend_is_named_before_anything_runs(record, tiny_model_dir, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name.startswith(("tensorboard", "trackio")) else real(name, *a))
    ids = seed_pairs(record, 1)
    for backend in ("tensorboard", "trackio"):
        with pytest.raises(TrainingError, match=f"pip install {backend}"):
            run_round(record, ids, RoundConfig(**dict(CFG, report_to=backend)), model=tiny_model_dir)
    assert record.rounds() == []
