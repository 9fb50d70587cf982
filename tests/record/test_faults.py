"""The record under faults: another process holding the write lock, a read-only workspace, a
full disk, a damaged schema. Each ends in a message that says what to do, and loses nothing."""

import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from record import Record, RecordBusyError, RecordError
from record.disk import DiskFullError, is_disk_full

ROOT = Path(__file__).resolve().parents[2]
HOLDER = """
import sys
sys.path.insert(0, {root!r})
from record.store import Record, set_process_kind
set_process_kind("studio")
rec = Record.open({path!r})
rec.conn.execute("BEGIN IMMEDIATE")
rec.conn.execute("INSERT INTO state (key, value) VALUES ('held', '1')")
print("held", flush=True)
sys.stdin.readline()
rec.conn.execute("COMMIT")
print("released", flush=True)
sys.stdin.readline()
"""


@pytest.fixture
def holder(tmp_path):
    """Another process (registered as the studio) holding the record's write lock until released."""
    path = tmp_path / "ws" / "record.sqlite"
    Record.open(path).close()
    proc = subprocess.Popen([sys.executable, "-c", HOLDER.format(root=str(ROOT), path=str(path))],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"

    def release():
        proc.stdin.write("\n")
        proc.stdin.flush()
        assert proc.stdout.readline().strip() == "released"

    yield path, release, proc
    proc.kill()
    proc.wait()


def test_a_held_record_is_a_message_naming_the_holder_then_works_once_released(holder):
    path, release, proc = holder
    rec = Record.open(path, busy_wait=0.5)
    start = time.monotonic()
    with pytest.raises(RecordBusyError) as e:
        rec.add_book("Waiting")
    assert time.monotonic() - start < 10
    message = str(e.value)
    assert "busy" in message and f"held by studio" in message and f"pid {proc.pid}" in message
    assert "run the same command again" in message
    release()
    rec.add_book("Waiting")  # the lock is free: the same call now succeeds
    assert [b["title"] for b in rec.books()] == ["Waiting"]
    assert rec.get_state("held") == 1  # the holder's own write survived


def test_a_writer_waits_and_retries_while_the_holder_finishes(holder):
    path, release, _ = holder
    rec = Record.open(path, busy_wait=30)
    import threading

    threading.Timer(0.5, release).start()
    rec.add_book("After the wait")  # blocks until the holder commits, then writes
    assert [b["title"] for b in rec.books()] == ["After the wait"]


def test_cli_on_a_held_record_exits_2_without_traceback(holder, monkeypatch, capsys):
    from ui.cli import main

    path, release, _ = holder
    monkeypatch.setenv("SCRIPTORIUM_BUSY_TIMEOUT", "0.5")
    code = main(["--workspace", str(path.parent), "book", "new", "--title", "Blocked"])
    err = capsys.readouterr().err
    assert code == 2 and "is busy" in err and "held by studio" in err and "Traceback" not in err
    release()
    assert main(["--workspace", str(path.parent), "book", "new", "--title", "Unblocked"]) == 0
    assert [b["title"] for b in Record.open(path, readonly=True).books()] == ["Unblocked"]


def test_a_killed_holder_is_not_named(tmp_path):
    path = tmp_path / "record.sqlite"
    code = (f"import os, sys; sys.path.insert(0, {str(ROOT)!r}); from record.store import Record; "
            f"r = Record.open({str(path)!r}); os.kill(os.getpid(), 9)")
    subprocess.run([sys.executable, "-c", code])
    rec = Record.open(path)
    assert rec._processes.others() == []  # its registration is left behind, but its pid is gone


# ---- read-only ------------------------------------------------------------------------------------


def _make_workspace(ws: Path) -> None:
    from ui.cli import main

    md = ws.parent / "novel.md"
    md.write_text("# The Keep\n\n## One\n\nThe keeper climbed the stairs.\n\n## Two\n\nThe lamp was lit.\n")
    assert main(["--workspace", str(ws), "book", "import", str(md)]) == 0


def run_read_only(ws: Path, *argv: str) -> subprocess.CompletedProcess:
    """Run `scriptorium --workspace ws ARGV` with ``ws`` read-only: by permissions for an ordinary
    user, by a read-only bind mount in a private mount namespace for root (who ignores permissions)."""
    cmd = [sys.executable, "-m", "ui.cli", "--workspace", str(ws), *argv]
    if os.geteuid() != 0:
        for p in [ws, *ws.rglob("*")]:
            p.chmod(p.stat().st_mode & ~0o222)
        try:
            return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
        finally:
            for p in [ws, *ws.rglob("*")]:
                p.chmod(p.stat().st_mode | 0o200)
    if not shutil.which("unshare"):
        pytest.skip("running as root without `unshare`: cannot make a read-only folder")
    script = f'mount --bind "{ws}" "{ws}" && mount -o remount,ro,bind "{ws}" && exec "$@"'
    proc = subprocess.run(["unshare", "-m", "sh", "-c", script, "sh", *cmd], capture_output=True, text=True, cwd=ROOT)
    if "mount:" in proc.stderr or "unshare:" in proc.stderr:
        pytest.skip(f"running as root, and a read-only bind mount is not permitted here: {proc.stderr.strip()[:200]}")
    return proc


def test_a_read_only_workspace_is_listed_and_exported(tmp_path):
    ws = tmp_path / "ws"
    _make_workspace(ws)
    listed = run_read_only(ws, "book", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert '"title": "The Keep"' in listed.stdout and '"chapters": 2' in listed.stdout
    out = tmp_path / "out" / "keep.md"
    exported = run_read_only(ws, "export", "The Keep", "--format", "md", "--out", str(out))
    assert exported.returncode == 0, exported.stderr
    assert "The lamp was lit." in out.read_text()
    rounds = run_read_only(ws, "rounds", "--json")
    assert rounds.returncode == 0 and rounds.stdout == ""
    refused = run_read_only(ws, "book", "new", "--title", "More")
    assert refused.returncode == 2 and "read-only" in refused.stderr and "Traceback" not in refused.stderr
    assert "move it aside" not in refused.stderr


def test_a_read_only_workspace_left_by_a_killed_writer_shows_its_last_changes(tmp_path):
    ws = tmp_path / "ws"
    _make_workspace(ws)
    code = (f"import os, sys; sys.path.insert(0, {str(ROOT)!r}); from record.store import Record; "
            f"r = Record.open({str(ws / 'record.sqlite')!r}); r.add_book('Written Last'); os.kill(os.getpid(), 9)")
    subprocess.run([sys.executable, "-c", code])
    assert (ws / "record.sqlite-wal").stat().st_size > 0  # not yet folded into the file
    listed = run_read_only(ws, "book", "list")
    assert listed.returncode == 0, listed.stderr
    assert "Written Last" in listed.stdout and "The Keep" in listed.stdout


def test_a_read_only_record_refuses_writes_with_a_message(tmp_path):
    path = tmp_path / "record.sqlite"
    Record.open(path).add_book("Kept")
    rec = Record.open(path, readonly=True)
    assert [b["title"] for b in rec.books()] == ["Kept"]
    with pytest.raises(RecordError, match="cannot be written"):
        rec.add_book("Nope")


# ---- damaged and full ------------------------------------------------------------------------------


def test_a_record_missing_a_table_is_refused_with_a_message(tmp_path):
    path = tmp_path / "record.sqlite"
    Record.open(path).close()
    conn = sqlite3.connect(path)
    conn.execute("DROP TABLE picks")
    conn.close()
    with pytest.raises(RecordError, match=r"missing table\(s\) picks: it was damaged"):
        Record.open(path)
    with pytest.raises(RecordError, match="missing table"):
        Record.open(path, readonly=True)


def _fill(rec: Record) -> None:
    """Make the record's disk 'full' for real: SQLite refuses to grow past its current size."""
    pages = rec.one("PRAGMA page_count")["page_count"]
    rec.conn.execute(f"PRAGMA max_page_count = {pages}")


def test_a_full_disk_while_writing_the_record_is_a_message_and_loses_nothing(tmp_path):
    rec = Record.open(tmp_path / "record.sqlite")
    kept = rec.add_book("Kept")
    _fill(rec)
    with pytest.raises(DiskFullError) as e:
        with rec.transaction():
            book = rec.add_book("Big")
            rec.add_chapter(book["id"], "One", "word " * 200_000)
    assert "is full" in str(e.value) and str(tmp_path) in str(e.value) and "rolled back" in str(e.value)
    assert [b["id"] for b in rec.books()] == [kept["id"]]
    rec.add_book("Small")  # what fits still goes in afterwards


def test_book_import_on_a_full_disk_exits_2_and_records_nothing(tmp_path, monkeypatch, capsys):
    from record import store
    from ui.cli import main

    ws = tmp_path / "ws"
    Record.open(ws / "record.sqlite").close()
    opened = store.Record.open.__func__

    def open_full(cls, *a, **k):
        rec = opened(cls, *a, **k)
        _fill(rec)
        return rec

    monkeypatch.setattr(store.Record, "open", classmethod(open_full))
    md = tmp_path / "big.md"
    md.write_text("# Big\n\n" + "\n\n".join(f"## Chapter {i}\n\n" + "word " * 5000 for i in range(20)))
    code = main(["--workspace", str(ws), "book", "import", str(md)])
    err = capsys.readouterr().err
    assert code == 2 and "is full" in err and "Traceback" not in err
    monkeypatch.undo()
    assert Record.open(ws / "record.sqlite").books() == []


@pytest.mark.parametrize("make", [
    lambda: OSError(28, "No space left on device"),
    lambda: sqlite3.OperationalError("database or disk is full"),
    lambda: RuntimeError('Error while serializing: IoError(Os { code: 28, kind: StorageFull, message: "No space left on device" })'),
])
def test_every_kind_of_full_disk_error_is_recognised(make):
    assert is_disk_full(make())
    try:
        try:
            raise make()
        except Exception as inner:
            raise ValueError("wrapped") from inner
    except ValueError as outer:
        assert is_disk_full(outer)
    assert not is_disk_full(OSError(2, "No such file or directory"))
    assert not is_disk_full(RuntimeError("header too large"))
