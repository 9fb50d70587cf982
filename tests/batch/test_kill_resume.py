"""Crash safety: SIGKILL a real batch process at random moments, run the same command again,
and the record and the files equal those of an uninterrupted run of the same seed."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.batch.conftest import FAST_CRITICS, cli, out_files, snapshot, write_prompts

PROMPTS = ["A lighthouse keeper finds a door in the sea.", "A cat finds a map.", "The ship sailed north.",
           "A dragon learns to knit.", "She said nothing.", "The storm ended at dawn.", "A letter arrives late.",
           "The last train leaves.", "Two clocks disagree.", "The well answers back."]


def finished(workspace: Path) -> int:
    db = workspace / "record.sqlite"
    if not db.exists():
        return 0
    con = sqlite3.connect(db, timeout=10)
    try:
        return con.execute("SELECT COUNT(*) FROM state WHERE key LIKE 'batch:%:item:%'").fetchone()[0]
    except sqlite3.OperationalError:  # the schema is not created yet
        return 0
    finally:
        con.close()


@pytest.mark.slow
def test_sigkill_at_random_points_then_resume_equals_an_uninterrupted_run(tmp_path, batch_model):
    prompts = write_prompts(tmp_path / "p.jsonl", PROMPTS)
    flags = ["--prompts", prompts, "-k", "3", "--max-new-tokens", "48", "--seed", "11", "--model", batch_model,
             "--critics", FAST_CRITICS, "--threads", "1", "--quiet"]

    ref_ws, ref_out = tmp_path / "ref-ws", tmp_path / "ref-out"
    assert cli(ref_ws, "--out", ref_out, *flags) == 0

    ws, out = tmp_path / "ws", tmp_path / "out"
    cmd = [sys.executable, "-m", "ui.cli", "--workspace", str(ws), "batch", "--out", str(out), *map(str, flags)]
    rng = random.Random(os.environ.get("BATCH_KILL_SEED", "7"))
    kills = []
    for _ in range(3):
        before = finished(ws)
        if before >= len(PROMPTS):
            break
        target = before + rng.randint(1, 2)  # kill during the next few items, at a random instant
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 120
        while proc.poll() is None and finished(ws) < target and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(rng.uniform(0, 0.3))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        proc.wait()
        kills.append((before, finished(ws), proc.returncode))
        proc.stderr.close()
    print("kills (finished before, after, exit status):", kills)
    assert any(rc == -signal.SIGKILL and 0 < after < len(PROMPTS) for _, after, rc in kills), kills

    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert snapshot(ws) == snapshot(ref_ws)  # no item lost, none drafted twice, same drafts and scores
    assert out_files(out) == out_files(ref_out)  # whole, byte-identical files
    assert not [p for p in out.rglob(".*") if p.is_file()]  # no temporary leftovers
