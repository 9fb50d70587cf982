"""A full disk during an export: a message naming the folder, exit 2, no partial file left, the
record untouched. Simulated by the writer's own error type, and, where this machine lets a test
mount a 1 MB tmpfs in a private mount namespace, for real."""

import errno
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.publish.books import make_book
from ui.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_a_full_disk_mid_export_leaves_nothing_behind(record, workspace, tmp_path, monkeypatch, capsys):
    import publish.docx

    make_book(record)
    real = publish.docx.write_ebook_docx

    def fills_up(ms, path, **kw):
        real(ms, path, **kw)  # the file is written, then the disk fills before it is closed
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(publish.docx, "write_ebook_docx", fills_up)
    out = tmp_path / "out"
    out.mkdir()
    code = main(["export", "The Lighthouse", "--format", "docx", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and "is full" in err and str(out) in err and "Traceback" not in err
    assert list(out.iterdir()) == []  # neither the file nor its temporary part
    assert [b["title"] for b in record.books()] == ["The Lighthouse"]


def test_a_really_full_disk_mid_export(record, workspace, tmp_path):
    """The export's folder is a 1 MB tmpfs; a 300,000-word book does not fit."""
    if os.geteuid() != 0 or not shutil.which("unshare"):
        pytest.skip("mounting a tiny tmpfs needs root and `unshare` (the simulated test above covers the logic)")
    book = record.add_book("Too Long")
    record.add_chapter(book["id"], "One", "\n\n".join(f"word{i} " * 60 for i in range(5000)))
    out = tmp_path / "tiny"
    out.mkdir()
    script = f'mount -t tmpfs -o size=1m tmpfs "{out}" || exit 99; "$@"; rc=$?; echo "left:$(ls -A "{out}")"; exit $rc'
    cmd = [sys.executable, "-m", "ui.cli", "--workspace", str(workspace), "export", "Too Long", "--format", "md",
           "--out", str(out) + "/"]
    proc = subprocess.run(["unshare", "-m", "sh", "-c", script, "sh", *cmd], capture_output=True, text=True, cwd=ROOT)
    if proc.returncode == 99 or "unshare:" in proc.stderr:
        pytest.skip(f"a tmpfs mount is not permitted here: {proc.stderr.strip()[:200]}")
    assert proc.returncode == 2, proc.stderr
    assert "is full" in proc.stderr and "Traceback" not in proc.stderr and str(out) in proc.stderr
    assert proc.stdout.strip().endswith("left:")  # no partial file on the full disk
