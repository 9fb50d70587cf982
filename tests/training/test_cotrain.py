"""The co-training loop and the CLI on a tiny in-test model, with a hash-scoring stand-in for the panel."""

import json
import os
from pathlib import Path

import pytest

from tests.training import fakes
from ui.cli import main


@pytest.fixture
def fake_judges(monkeypatch):
    import training.evaluate

    monkeypatch.setattr(training.evaluate, "default_judges", lambda reference=None, guard_critic=None, **kw: fakes.judges())


def cli(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cotrain_two_rounds_end_to_end(workspace, tiny_model_dir, capsys, fake_judges, tmp_path, monkeypatch):
    import critics.learned

    from record import open_record

    retrained = []
    monkeypatch.setattr(critics.learned, "retrain_from_picks",
                        lambda rec, heldout=0.25: retrained.append(heldout) or {"heldout_accuracy": 0.75, "pairs": 1})
    rec = open_record(workspace)  # an author's pick from the studio waits in the record
    a, b = rec.add_drafts([dict(request="s", prompt="An author's own prompt.", text=t, model="m", candidate=i)
                           for i, t in enumerate(["The chosen one.", "The other one."])])
    pick_pair = rec.add_pair("An author's own prompt.", a, b, "pick", pick_id=rec.add_pick(a, b, author="ann"))
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text("".join(json.dumps({"id": i, "prompt": f"Tale number {i} of the sea."}) + "\n" for i in range(5)))
    code, out, err = cli(capsys, "cotrain", "--prompts", str(prompts), "--rounds", "2", "-k", "3", "--max-new-tokens", "8",
                         "--steps", "1", "--heldout", "2", "--model", str(tiny_model_dir), "--min-margin", "0.01",
                         "--train-precision", "fp32", "--lora-targets", "q_proj v_proj", "--json")
    assert code == 0, err
    rounds = [json.loads(l) for l in out.splitlines()]
    assert [r["parent"] for r in rounds] == [None, rounds[0]["round_id"]]
    assert rounds[1]["current"] and not rounds[0]["current"]
    for r in rounds:
        e = r["metrics"]["eval"]
        assert set(e) >= {"reward", "win_rate_vs_base", "win_rate_vs_previous", "mean_words", "distinct2",
                          "guard_critic", "fluency_nll", "guard_flags", "reward_hacking"}
        assert 0 <= e["win_rate_vs_base"] <= 1 and e["fluency_nll"] > 0 and r["pairs"]
        assert Path(r["adapter"], "adapter_model.safetensors").is_file()

    assert pick_pair in rounds[0]["pairs"] and rounds[0]["metrics"]["pairs_from_picks"] == 1
    assert rounds[0]["metrics"]["learned_critic"] == {"heldout_accuracy": 0.75, "pairs": 1}
    assert len(retrained) == 1 and "learned_critic" not in rounds[1]["metrics"], "retrained only after a round with picks"
    held = {r["text"] for r in rec.query("SELECT text FROM prompts WHERE split = 'heldout'")}
    assert len(held) == 2
    assert all(p["prompt"] not in held for p in rec.pairs(include_vetoed=True)), "held-out prompts are never taught"
    trained = {p["prompt"] for r in rounds for p in rec.round_pairs(r["round_id"])}
    assert trained and not trained & held
    # every pair's drafts were written by the round that was current then, and scored by the panel
    for r in rounds:
        for p in rec.round_pairs(r["round_id"]):
            if p["origin"] == "pick":  # the author's own drafts, judged by a person
                continue
            lineage = rec.draft_lineage(p["chosen_id"])
            assert "panel" in lineage["scores"] and r["round_id"] in lineage["taught_in_rounds"]
            assert lineage["draft"]["round_id"] == r["parent"]
    report = workspace / "reports" / "cotrain" / "report.md"
    text = report.read_text()
    assert "| round |" in text and "rounds.png" in text and "heldout_accuracy" in text and (report.parent / "rounds.png").stat().st_size > 1000

    code, out, _ = cli(capsys, "rounds", "--json")
    listed = [json.loads(l) for l in out.splitlines()]
    assert [r["round_id"] for r in listed] == [r["round_id"] for r in rounds]
    assert all({"round_id", "parent", "adapter", "current", "metrics"} <= set(r) for r in listed)

    code, out, _ = cli(capsys, "rounds", "rollback", str(rounds[0]["round_id"]))
    assert code == 0 and rec.current_round(str(tiny_model_dir))["id"] == rounds[0]["round_id"]
    code, out, _ = cli(capsys, "rounds", "rollback", "base", "--model", str(tiny_model_dir))
    assert code == 0 and rec.current_round(str(tiny_model_dir)) is None


def test_pairs_cli_build_list_veto_export_and_train(workspace, tiny_model_dir, capsys, tmp_path):
    from record import open_record

    rec = open_record(workspace)
    ids = rec.add_drafts([dict(request="r", prompt="A cat.", text=t, model="m", candidate=i)
                          for i, t in enumerate(["A fine tale of a cat.", "Cat.", "The cat sat on a mat."])])
    for i, s in zip(ids, [0.9, 0.1, 0.5]):
        rec.add_scores(i, {"panel": (s, "")})
    code, out, err = cli(capsys, "pairs", "build", "--pair-mode", "all")
    assert code == 0 and out.startswith("3 pair(s)"), err
    code, out, _ = cli(capsys, "pairs", "list", "--json")
    pairs = [json.loads(l) for l in out.splitlines()]
    assert len(pairs) == 3 and all(p["origin"] == "critic" for p in pairs)
    assert cli(capsys, "pairs", "veto", str(pairs[0]["id"]), "--reason", "no")[0] == 0
    assert cli(capsys, "rounds", "veto", str(pairs[1]["id"]))[0] == 0
    code, out, _ = cli(capsys, "pairs", "export", str(tmp_path / "p.jsonl"))
    assert code == 0 and len((tmp_path / "p.jsonl").read_text().splitlines()) == 1

    code, out, err = cli(capsys, "train", "--model", str(tiny_model_dir), "--precision", "fp32", "--steps", "1", "--json")
    assert code == 0, err
    r = json.loads(out)
    assert r["pairs"] == [pairs[2]["id"]] and r["current"] and r["metrics"]["steps"] == 1

    code, _, err = cli(capsys, "train", "--model", str(tiny_model_dir), "--steps", "1")
    assert code == 2 and "no untrained" in err
    code, _, err = cli(capsys, "train", "--model", str(tiny_model_dir), "--learning-rate", "-1")
    assert code == 2 and "learning_rate must be > 0" in err
    code, _, err = cli(capsys, "train", "--model", str(tiny_model_dir), "--beta", "-0.5")
    assert code == 2 and "beta must be > 0" in err
    code, _, err = cli(capsys, "rounds", "rollback", "42")
    assert code == 2 and "no round with id 42" in err
    assert len(rec.rounds()) == 1


def _accelerate_launch(workspace, *argv, processes=2):
    """``accelerate launch --multi_gpu --num_processes N ARGV`` as a user runs it, on the CPU: torchrun
    starts the processes with RANK, LOCAL_RANK and WORLD_SIZE set, as it does on a machine with GPUs."""
    import socket
    import subprocess
    import sys

    with socket.socket() as s:  # a free port, so a launch beside another one does not collide
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "SCRIPTORIUM_HOME": str(workspace), "CUDA_VISIBLE_DEVICES": "", "PYTHONPATH": str(root),
           "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    return subprocess.run([sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes",
                           str(processes), "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
                           "--main_process_port", str(port), *map(str, argv)],
                          cwd=root, env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_a_round_runs_under_accelerate_with_several_processes(workspace, tiny_model_dir):
    """Two processes through `accelerate launch` (the command the CLI's help documents): the
    batches are sharded, the processes agree on the round, one round is recorded and reported once."""
    from record import open_record
    from training.cli import __doc__ as cli_doc

    assert "accelerate launch --multi_gpu --num_processes" in cli_doc
    rec = open_record(workspace)
    fakes.seed_pairs(rec, 4)
    out = _accelerate_launch(workspace, "-m", "ui.cli", "train", "--model", tiny_model_dir, "--precision", "fp32",
                             "--batch-size", "1", "--json")
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    (row,) = rec.rounds()
    (printed,) = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]  # the main process only
    assert printed["round_id"] == row["id"] and printed["current"] and row["status"] == "done"
    # one epoch of 4 pairs, 1 per process per step: 2 steps (not 4), so the batches were sharded
    assert row["metrics"]["steps"] == 2 and len(rec.round_pairs(row["id"])) == 4
    assert Path(row["adapter_path"], "adapter_model.safetensors").is_file()
    assert [p.name for p in Path(row["adapter_path"]).parent.iterdir()] == [f"round-{row['id']}"]


DISAGREEING_PROCESSES = r"""
import json, os, sqlite3, sys

from record import open_record
from training.config import RoundConfig
from training.round import run_round

rank, pair_ids, model = int(os.environ["RANK"]), json.loads(sys.argv[1]), sys.argv[2]
reports = open(f"{sys.argv[3]}/rank-{rank}.jsonl", "w")  # one file each: lines on a shared stdout interleave
rec = open_record()


def attempt(check, pairs=None, device=None):
    try:
        rid = run_round(rec, pairs, RoundConfig(batch_size=1, max_steps=1), model=model, precision="fp32", device=device)
        reports.write(json.dumps({"check": check, "rank": rank, "round": rid}) + "\n")
    except Exception as e:
        reports.write(json.dumps({"check": check, "rank": rank, "error": f"{type(e).__name__}: {e}"}) + "\n")
    reports.flush()


# a process set up for CUDA on a machine without it sees itself alone (the old two-rounds bug)
attempt("set up wrongly", device="cuda")
attempt("different pairs", pairs=pair_ids[:2] if rank == 0 else pair_ids[:3])


def full_disk(*args, **kwargs):
    raise sqlite3.OperationalError("database or disk is full")


if rank == 0:
    type(rec).add_round = full_disk
attempt("main cannot record")
"""


@pytest.mark.slow
def test_processes_that_disagree_stop_loudly_and_record_no_round(workspace, tiny_model_dir, tmp_path):
    """If the launched processes would not train the same round, every one of them fails with a
    message and the record holds no round (never two); none is left waiting for the others."""
    from record import open_record

    rec = open_record(workspace)
    pair_ids = fakes.seed_pairs(rec, 4)
    script = tmp_path / "disagree.py"
    script.write_text(DISAGREEING_PROCESSES)
    out = _accelerate_launch(workspace, script, json.dumps(pair_ids), tiny_model_dir, tmp_path)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    reports = [json.loads(line) for rank in (0, 1) for line in (tmp_path / f"rank-{rank}.jsonl").read_text().splitlines()]
    seen = {(r["check"], r["rank"]): r.get("error") for r in reports}
    assert len(seen) == 6 and all(seen.values()), seen
    for rank in (0, 1):
        assert "accelerate sees 1" in seen["set up wrongly", rank] and "record its own round" in seen["set up wrongly", rank]
        assert "processes disagree on the round to train" in seen["different pairs", rank]
        assert "differ from the main one in pair_ids" in seen["different pairs", rank]
    assert seen["main cannot record", 0] == "OperationalError: database or disk is full"
    assert seen["main cannot record", 1].startswith("TrainingError: the main process could not record the round "
                                                     "(OperationalError: database or disk is full)")
    assert rec.rounds() == []
