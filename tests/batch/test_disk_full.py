"""A batch whose output disk fills up: a message naming the folder and exit 2, no half-written
or temporary file left, the previous file kept whole, every finished item still in the record,
and the same command run again (space freed) writes the rest."""

from __future__ import annotations

import errno
import os

import pytest

from tests.batch.conftest import FAST_CRITICS, cli, write_prompts


def _fill_after(monkeypatch, n: int) -> None:
    """Let ``n`` more story files be written, then every fsync fails as a full disk does."""
    real = os.fsync
    left = [n]

    def fsync(fd):
        if left[0] <= 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        left[0] -= 1
        return real(fd)

    monkeypatch.setattr(os, "fsync", fsync)


def test_write_atomic_on_a_full_disk_keeps_the_previous_file(tmp_path, monkeypatch):
    from batch.manuscript import write_atomic
    from record.disk import DiskFullError

    path = write_atomic(tmp_path / "story.md", "the old story\n")
    _fill_after(monkeypatch, 0)
    with pytest.raises(DiskFullError, match="is full") as e:
        write_atomic(path, "a new story\n" * 1000)
    assert str(tmp_path) in str(e.value) and "writing story.md" in str(e.value)
    assert path.read_text() == "the old story\n" and sorted(p.name for p in tmp_path.iterdir()) == ["story.md"]


def test_a_batch_on_a_full_disk_exits_2_and_resumes(tmp_path, batch_model, monkeypatch, capsys):
    from record import Record

    prompts = write_prompts(tmp_path / "p.jsonl", ["A cat finds a map.", "The ship sailed north.", "The lamp went out."])
    ws, out = tmp_path / "ws", tmp_path / "out"
    flags = ["--model", batch_model, "-k", 2, "--max-new-tokens", 6, "--seed", 1, "--critics", FAST_CRITICS, "--quiet"]
    _fill_after(monkeypatch, 1)
    assert cli(ws, "--prompts", prompts, "--out", out, *flags) == 2
    err = capsys.readouterr().err
    assert "is full" in err and str(out) in err and "Traceback" not in err, err
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]  # no half-written file
    rec = Record.open(ws / "record.sqlite")
    recorded = len(rec.query("SELECT * FROM drafts"))
    rec.close()
    assert recorded >= 2  # at least the first item's candidates are kept

    monkeypatch.undo()  # space freed: the same command finishes the batch
    assert cli(ws, "--prompts", prompts, "--out", out, *flags) == 0
    stories = [p for p in out.rglob("*.md") if p.is_file()]
    assert len(stories) >= 3 and all(p.read_text().strip() for p in stories)
    rec = Record.open(ws / "record.sqlite")
    assert len(rec.query("SELECT * FROM drafts")) == 3 * 2  # nothing drafted twice
    rec.close()
