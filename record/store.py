"""The record: every book, draft, score, pick, pair and training round, with its lineage.

One SQLite file per workspace (WAL mode, foreign keys on). This module owns the schema: the
tables are created and upgraded by ``MIGRATIONS`` (the schema version is SQLite's
``user_version``), and every other package reads and writes through ``Record``.

    rec = Record.open(workspace / "record.sqlite")
    book = rec.add_book(title="The Lighthouse", author="A. Keeper")
    with rec.transaction():          # all or nothing
        ...

Lineage: a draft names the model and adapter (training round) that wrote it; a score names
its draft; a pair names its two drafts and its origin (an author pick or a critic margin); a
round names its parent round and the pairs it was taught with. ``draft_lineage`` and
``round_lineage`` walk those links.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import re
import shutil
import socket
import sqlite3
import sys
import tempfile
import threading
import time
import weakref
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import quote

from record.disk import DiskFullError, disk_full_message
from record.errors import UserError

SQLITE_MAGIC = b"SQLite format 3\x00"

MIGRATIONS: list[str] = [
    # v1: the whole first schema.
    """
    CREATE TABLE books (
        id INTEGER PRIMARY KEY,
        title TEXT NOT NULL,
        author TEXT NOT NULL DEFAULT '',
        language TEXT NOT NULL DEFAULT 'en',
        genre TEXT NOT NULL DEFAULT '',
        description TEXT NOT NULL DEFAULT '',
        style_targets TEXT NOT NULL DEFAULT '{}',
        settings TEXT NOT NULL DEFAULT '{}',
        owner TEXT,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    );
    CREATE TABLE bible_entries (
        id INTEGER PRIMARY KEY,
        book_id INTEGER NOT NULL REFERENCES books(id) ON DELETE CASCADE,
        kind TEXT NOT NULL CHECK (kind IN ('character', 'place', 'rule', 'note')),
        name TEXT NOT NULL,
        text TEXT NOT NULL DEFAULT '',
        active INTEGER NOT NULL DEFAULT 1,
        position INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE outline_items (
        id INTEGER PRIMARY KEY,
        book_id INTEGER NOT NULL REFERENCES books(id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        title TEXT NOT NULL,
        summary TEXT NOT NULL DEFAULT ''
    );
    CREATE TABLE chapters (
        id INTEGER PRIMARY KEY,
        book_id INTEGER NOT NULL REFERENCES books(id) ON DELETE CASCADE,
        outline_item_id INTEGER REFERENCES outline_items(id) ON DELETE SET NULL,
        position INTEGER NOT NULL,
        title TEXT NOT NULL,
        text TEXT NOT NULL DEFAULT '',
        updated_at REAL NOT NULL
    );
    CREATE TABLE prompts (
        id INTEGER PRIMARY KEY,
        text TEXT NOT NULL,
        source TEXT NOT NULL DEFAULT '',
        origin TEXT NOT NULL DEFAULT 'file',
        split TEXT,
        meta TEXT NOT NULL DEFAULT '{}',
        created_at REAL NOT NULL
    );
    CREATE TABLE rounds (
        id INTEGER PRIMARY KEY,
        parent_id INTEGER REFERENCES rounds(id),
        lineage TEXT NOT NULL,
        base_model TEXT NOT NULL,
        adapter_path TEXT,
        config TEXT NOT NULL DEFAULT '{}',
        metrics TEXT NOT NULL DEFAULT '{}',
        status TEXT NOT NULL DEFAULT 'running',
        replayed_from TEXT,
        created_at REAL NOT NULL,
        finished_at REAL
    );
    CREATE TABLE drafts (
        id INTEGER PRIMARY KEY,
        request TEXT NOT NULL,
        prompt TEXT NOT NULL,
        instructions TEXT NOT NULL DEFAULT '',
        text TEXT NOT NULL,
        model TEXT NOT NULL,
        adapter TEXT,
        round_id INTEGER REFERENCES rounds(id),
        config TEXT NOT NULL DEFAULT '{}',
        seed INTEGER,
        candidate INTEGER NOT NULL DEFAULT 0,
        tokens INTEGER,
        finish_reason TEXT,
        book_id INTEGER REFERENCES books(id) ON DELETE SET NULL,
        chapter_id INTEGER REFERENCES chapters(id) ON DELETE SET NULL,
        prompt_id INTEGER REFERENCES prompts(id),
        created_at REAL NOT NULL
    );
    CREATE INDEX drafts_request ON drafts(request);
    CREATE INDEX drafts_prompt ON drafts(prompt_id);
    CREATE TABLE scores (
        id INTEGER PRIMARY KEY,
        draft_id INTEGER NOT NULL REFERENCES drafts(id) ON DELETE CASCADE,
        critic TEXT NOT NULL,
        score REAL NOT NULL,
        reason TEXT NOT NULL DEFAULT '',
        panel_version INTEGER,
        created_at REAL NOT NULL
    );
    CREATE INDEX scores_draft ON scores(draft_id);
    CREATE TABLE picks (
        id INTEGER PRIMARY KEY,
        draft_id INTEGER REFERENCES drafts(id),
        other_id INTEGER REFERENCES drafts(id),
        kind TEXT NOT NULL DEFAULT 'pick' CHECK (kind IN ('pick', 'tie', 'both_bad')),
        author TEXT NOT NULL DEFAULT '',
        session TEXT,
        created_at REAL NOT NULL
    );
    CREATE TABLE pairs (
        id INTEGER PRIMARY KEY,
        prompt TEXT NOT NULL,
        chosen_id INTEGER NOT NULL REFERENCES drafts(id),
        rejected_id INTEGER NOT NULL REFERENCES drafts(id),
        origin TEXT NOT NULL CHECK (origin IN ('pick', 'critic')),
        margin REAL,
        pick_id INTEGER REFERENCES picks(id),
        vetoed INTEGER NOT NULL DEFAULT 0,
        veto_reason TEXT,
        created_at REAL NOT NULL,
        UNIQUE (chosen_id, rejected_id)
    );
    CREATE TABLE round_pairs (
        round_id INTEGER NOT NULL REFERENCES rounds(id) ON DELETE CASCADE,
        pair_id INTEGER NOT NULL REFERENCES pairs(id),
        PRIMARY KEY (round_id, pair_id)
    );
    CREATE TABLE panel_versions (
        id INTEGER PRIMARY KEY,
        weights TEXT NOT NULL,
        source TEXT NOT NULL DEFAULT 'hand',
        metrics TEXT NOT NULL DEFAULT '{}',
        created_at REAL NOT NULL
    );
    CREATE TABLE learned_critics (
        id INTEGER PRIMARY KEY,
        path TEXT NOT NULL,
        metrics TEXT NOT NULL DEFAULT '{}',
        pairs_used INTEGER NOT NULL DEFAULT 0,
        created_at REAL NOT NULL
    );
    CREATE TABLE state (
        key TEXT PRIMARY KEY,
        value TEXT
    );
    """,
    # v2: trained critic models (``scriptorium critics train``): one row per trained version,
    # with the data it saw and its validation metrics; the current one is named in ``state``.
    """
    CREATE TABLE critic_models (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        path TEXT,
        sha256 TEXT,
        status TEXT NOT NULL DEFAULT 'training' CHECK (status IN ('training', 'ready', 'failed')),
        config TEXT NOT NULL DEFAULT '{}',
        meta TEXT NOT NULL DEFAULT '{}',
        metrics TEXT NOT NULL DEFAULT '{}',
        created_at REAL NOT NULL,
        finished_at REAL
    );
    """,
    # v3: the studio for several authors. Drafts name the author who asked for them (``owner``)
    # and what a reader may be told they are (``brief``: the chapter's summary or the author's own
    # prompt, never the internal prompt); every accepted pick, edit, rewrite and save of a chapter
    # is a version (kept when the chapter is deleted, gone with its book); feedback sessions hold
    # their pairs (items) and each rater's judgment of each item.
    """
    ALTER TABLE drafts ADD COLUMN owner TEXT;
    ALTER TABLE drafts ADD COLUMN brief TEXT;
    CREATE TABLE chapter_versions (
        id INTEGER PRIMARY KEY,
        book_id INTEGER NOT NULL REFERENCES books(id) ON DELETE CASCADE,
        chapter_id INTEGER REFERENCES chapters(id) ON DELETE SET NULL,
        chapter_title TEXT NOT NULL DEFAULT '',
        parent_id INTEGER REFERENCES chapter_versions(id) ON DELETE SET NULL,
        kind TEXT NOT NULL CHECK (kind IN ('initial', 'pick', 'edit', 'save', 'rewrite', 'expand', 'restore')),
        text TEXT NOT NULL,
        author TEXT NOT NULL DEFAULT '',
        session TEXT,
        draft_id INTEGER REFERENCES drafts(id) ON DELETE SET NULL,
        restored_from INTEGER,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    );
    CREATE INDEX chapter_versions_chapter ON chapter_versions(chapter_id, id);
    INSERT INTO chapter_versions (book_id, chapter_id, chapter_title, kind, text, created_at, updated_at)
        SELECT book_id, id, title, 'initial', text, updated_at, updated_at FROM chapters WHERE TRIM(text) != '';
    CREATE TABLE feedback_sessions (
        id INTEGER PRIMARY KEY,
        owner TEXT,
        name TEXT NOT NULL DEFAULT '',
        config TEXT NOT NULL DEFAULT '{}',
        created_at REAL NOT NULL
    );
    CREATE TABLE feedback_items (
        id INTEGER PRIMARY KEY,
        session_id INTEGER NOT NULL REFERENCES feedback_sessions(id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        a_id INTEGER NOT NULL REFERENCES drafts(id),
        b_id INTEGER NOT NULL REFERENCES drafts(id),
        shown TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX feedback_items_session ON feedback_items(session_id, position);
    CREATE TABLE feedback_judgments (
        id INTEGER PRIMARY KEY,
        item_id INTEGER NOT NULL REFERENCES feedback_items(id) ON DELETE CASCADE,
        author TEXT NOT NULL,
        choice TEXT NOT NULL CHECK (choice IN ('a', 'b', 'tie', 'both_bad', 'skip')),
        left_id INTEGER NOT NULL,
        pick_id INTEGER REFERENCES picks(id),
        created_at REAL NOT NULL,
        UNIQUE (item_id, author)
    );
    """,
]

SCHEMA_VERSION = len(MIGRATIONS)
JSON_COLUMNS = {"style_targets", "settings", "config", "metrics", "weights", "meta"}


# How long a writer waits for another process to let go of the record before it gives up with a
# message naming who holds it (seconds; SCRIPTORIUM_BUSY_TIMEOUT overrides it).
BUSY_WAIT = 60.0
_PROCESS = {"kind": None}  # what this process is ("studio", "batch", ...), shown to the processes it blocks


class RecordError(UserError):
    """The record cannot be opened or a write was refused; the message says what to do."""


class RecordBusyError(RecordError):
    """Another process held the record's write lock for longer than this one would wait."""


def set_process_kind(kind: str) -> None:
    """Name this process (a CLI command, the studio) for the messages of the processes it blocks."""
    _PROCESS["kind"] = kind


def _busy_wait() -> float:
    try:
        return max(0.0, float(os.environ.get("SCRIPTORIUM_BUSY_TIMEOUT", BUSY_WAIT)))
    except ValueError:
        return BUSY_WAIT


def _schema_tables(version: int) -> set[str]:
    """The tables the migrations up to ``version`` create (and do not drop)."""
    tables: set[str] = set()
    for script in MIGRATIONS[:version]:
        tables |= set(re.findall(r"CREATE TABLE (?:IF NOT EXISTS )?(\w+)", script, re.I))
        tables -= set(re.findall(r"DROP TABLE (?:IF EXISTS )?(\w+)", script, re.I))
        for old, new in re.findall(r"ALTER TABLE (\w+) RENAME TO (\w+)", script, re.I):
            tables.discard(old)
            tables.add(new)
    return tables


def _writable(path: Path) -> bool:
    return os.access(path, os.W_OK)


class _Processes:
    """Which Scriptorium processes have a record open for writing: one small JSON file each in
    ``<record>.processes/``, removed on close or exit (a killed process's file is ignored once its
    pid is gone). SQLite cannot say who holds its lock; this lets a blocked writer name them."""

    def __init__(self, record: Path):
        self.folder = record.with_name(record.name + ".processes")
        self.file: Path | None = None

    def register(self) -> None:
        info = {"pid": os.getpid(), "host": socket.gethostname(), "kind": _PROCESS["kind"] or Path(sys.argv[0]).name,
                "command": " ".join(["scriptorium", *sys.argv[1:]])[:160], "since": time.time()}
        try:
            self.folder.mkdir(exist_ok=True)
            self.file = self.folder / f"{os.getpid()}-{id(self):x}.json"
            self.file.write_text(json.dumps(info))
            atexit.register(self.unregister)
        except OSError:  # best effort: a full or read-only disk only costs the name in a message
            self.file = None

    def unregister(self) -> None:
        if self.file is not None:
            with contextlib.suppress(OSError):
                self.file.unlink()
            self.file = None

    def others(self) -> list[dict[str, Any]]:
        """The other live processes that have the record open."""
        found = []
        host = socket.gethostname()
        for f in sorted(self.folder.glob("*.json")) if self.folder.is_dir() else []:
            if f == self.file:
                continue
            try:
                info = json.loads(f.read_text())
                pid = int(info["pid"])
            except (OSError, ValueError, KeyError, TypeError):
                continue
            if info.get("host") == host:
                if pid == os.getpid():
                    continue
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:  # gone (killed): forget it
                    with contextlib.suppress(OSError):
                        f.unlink()
                    continue
                except PermissionError:
                    pass
            found.append(info)
        return found

    def describe(self) -> str:
        others = self.others()
        if not others:
            return ("no other Scriptorium process has it open, so another program holds it (an sqlite3 shell, "
                    "a backup or sync tool?)")
        parts = []
        for info in others:
            since = time.strftime("%H:%M:%S", time.localtime(info.get("since", 0)))
            where = f" on {info['host']}" if info.get("host") != socket.gethostname() else ""
            parts.append(f"{info.get('kind') or 'a Scriptorium process'} (`{info.get('command', '')}`, "
                         f"pid {info['pid']}{where}, open since {since})")
        return ("held by " if len(parts) == 1 else "held by one of: ") + "; ".join(parts)


def _row(cursor: sqlite3.Cursor, row: tuple) -> dict[str, Any]:
    out = {}
    for (name, *_), value in zip(cursor.description, row):
        if name in JSON_COLUMNS and isinstance(value, str):
            value = json.loads(value)
        out[name] = value
    return out


def _dump(value: Any) -> Any:
    return json.dumps(value, sort_keys=True) if isinstance(value, (dict, list)) else value


class Record:
    """A connection to one workspace's record. Safe to share between threads."""

    def __init__(self, conn: sqlite3.Connection, path: Path, readonly: bool = False, busy_wait: float | None = None):
        self.conn = conn
        self.path = path
        self.readonly = readonly
        self.busy_wait = _busy_wait() if busy_wait is None else busy_wait
        self._lock = threading.RLock()
        self._depth = 0
        self._processes = _Processes(path)
        self._copy: weakref.finalize | None = None  # removes a read-only record's private copy

    # ---- opening and migrating ------------------------------------------------------------

    @classmethod
    def open(cls, path: str | Path, readonly: bool = False, busy_wait: float | None = None) -> "Record":
        """Open (creating and migrating if needed) the record at ``path``.

        ``readonly``: for commands that only read (list, show, export): nothing is created or
        migrated, and a record in a read-only folder opens too. ``busy_wait``: seconds a write
        waits for another process's lock (default ``BUSY_WAIT`` or $SCRIPTORIUM_BUSY_TIMEOUT).
        """
        path = Path(path)
        if path.exists():
            if path.is_dir():
                raise RecordError(f"record {path} is a folder; expected an SQLite file")
            try:
                with open(path, "rb") as f:
                    head = f.read(16)
            except OSError as e:
                raise RecordError(f"cannot read record {path} ({e.strerror}); check its permissions") from e
            if head and head != SQLITE_MAGIC:
                raise RecordError(
                    f"{path} is not an SQLite database (it starts with {head[:8]!r}); "
                    "move it aside or choose another --workspace"
                )
            if readonly:
                return cls._open_readonly(path, busy_wait)
            if not _writable(path.parent) or not _writable(path):
                raise RecordError(
                    f"record {path} is read-only (its folder or file cannot be written) and this command writes "
                    "to it; commands that only read (book list, export, rounds, pairs list) still work on it. "
                    "Fix the permissions, or copy the workspace somewhere writable and pass --workspace"
                )
        else:
            if readonly and not _writable(path.parent):
                raise RecordError(f"there is no record at {path} and its folder is read-only; pass --workspace "
                                  "with the workspace folder that holds record.sqlite")
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise RecordError(f"cannot create the workspace folder {path.parent} ({e.strerror}); "
                                  "pass --workspace with a writable folder") from e
            if not _writable(path.parent):
                raise RecordError(f"cannot create the record {path}: its folder is read-only; pass --workspace "
                                  "with a writable folder")
        rec = None
        try:
            conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
            conn.row_factory = _row
            rec = cls(conn, path, busy_wait=busy_wait)
            conn.execute(f"PRAGMA busy_timeout={int(min(rec.busy_wait, 2.0) * 1000)}")
            rec._retry(lambda: conn.execute("PRAGMA journal_mode=WAL"), "opening")
            conn.execute("PRAGMA foreign_keys=ON")
            version = conn.execute("PRAGMA user_version").fetchone()["user_version"]
        except sqlite3.DatabaseError as e:
            if rec is not None:
                rec.conn.close()
                translated = rec._translate(e, "opening the record")
                if translated is not e:
                    raise translated from e
            raise RecordError(f"cannot open record {path}: {e}; move it aside or choose another --workspace") from e
        if version > SCHEMA_VERSION:
            conn.close()
            raise RecordError(
                f"record {path} has schema version {version}, newer than this Scriptorium "
                f"understands ({SCHEMA_VERSION}); upgrade Scriptorium to open it"
            )
        try:
            rec._migrate(version)
        except BaseException:
            conn.close()
            raise
        rec._check_tables(SCHEMA_VERSION)
        rec._processes.register()
        return rec

    @classmethod
    def _open_readonly(cls, path: Path, busy_wait: float | None) -> "Record":
        """A read-only connection. In a writable folder SQLite keeps its usual WAL files beside the
        record (``mode=ro``); in a read-only folder it cannot, so the file is opened as immutable,
        or, when a write-ahead log with changes not yet folded into the file lies beside it (a
        writer was killed), a private copy of both is read instead, so no committed change is missed."""
        copy = None
        if _writable(path.parent):
            target, extra = path, "mode=ro"
        else:
            wal = path.with_name(path.name + "-wal")
            if wal.is_file() and wal.stat().st_size > 0:
                try:
                    copy = Path(tempfile.mkdtemp(prefix="scriptorium-readonly-"))
                    shutil.copy2(path, copy / path.name)
                    shutil.copy2(wal, copy / wal.name)
                except OSError as e:
                    if copy is not None:
                        shutil.rmtree(copy, ignore_errors=True)
                    raise RecordError(f"record {path} is in a read-only folder with unsaved changes in {wal.name}, "
                                      f"and copying them to read failed ({e.strerror}); free some space in the "
                                      "temporary folder or open the workspace where it can be written") from e
                target, extra = copy / path.name, "mode=ro"
            else:
                target, extra = path, "mode=ro&immutable=1"
        try:
            conn = sqlite3.connect(f"file:{quote(str(target.absolute()))}?{extra}", uri=True, isolation_level=None,
                                   check_same_thread=False, timeout=30)
            conn.row_factory = _row
            rec = cls(conn, path, readonly=True, busy_wait=busy_wait)
            if copy is not None:  # removed on close, or at exit by a command that never closes
                rec._copy = weakref.finalize(rec, shutil.rmtree, str(copy), True)
            conn.execute(f"PRAGMA busy_timeout={int(min(rec.busy_wait, 2.0) * 1000)}")
            version = conn.execute("PRAGMA user_version").fetchone()["user_version"]
        except sqlite3.DatabaseError as e:
            if copy is not None:
                shutil.rmtree(copy, ignore_errors=True)
            raise RecordError(f"cannot read record {path}: {e}; check that it is a Scriptorium record "
                              "(pass --workspace with the workspace folder)") from e
        if version > SCHEMA_VERSION:
            rec.close()
            raise RecordError(
                f"record {path} has schema version {version}, newer than this Scriptorium "
                f"understands ({SCHEMA_VERSION}); upgrade Scriptorium to open it"
            )
        rec._check_tables(version)
        return rec

    def _check_tables(self, version: int) -> None:
        have = {r["name"] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()}
        missing = sorted(_schema_tables(version) - have)
        if missing:
            self.close()
            raise RecordError(
                f"record {self.path} is missing table(s) {', '.join(missing)}: it was damaged or changed by another "
                "program. Restore it from a backup, or move it aside (keep it: its other tables are intact) and "
                "choose another --workspace"
            )

    def _migrate(self, version: int) -> None:
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            # executescript commits on its own, so the version bump rides inside the script.
            sql = f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version={number};\nCOMMIT;"
            try:
                self._retry(lambda: self.conn.executescript(sql), "upgrading the record")
            except BaseException:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise

    def close(self) -> None:
        self._processes.unregister()
        self.conn.close()
        if self._copy is not None:
            self._copy()

    # ---- errors, locks and retries --------------------------------------------------------

    def _translate(self, e: BaseException, what: str) -> BaseException:
        """A user-facing error for what SQLite said, or ``e`` itself when it is a bug."""
        if not isinstance(e, sqlite3.Error):
            return e
        text = str(e).lower()
        if "database is locked" in text or "database is busy" in text or getattr(e, "sqlite_errorcode", 0) in (5, 6):
            return RecordBusyError(
                f"the record {self.path} is busy: another process has been writing to it for over "
                f"{self.busy_wait:.0f} s while this one was {what}; it is {self._processes.describe()}. Wait for it "
                "to finish (or stop it), then run the same command again; nothing was written by this one "
                "(SCRIPTORIUM_BUSY_TIMEOUT=SECONDS waits longer)"
            )
        if "disk is full" in text or getattr(e, "sqlite_errorcode", 0) == 13:
            return DiskFullError(disk_full_message(self.path.parent, f"{what} the record",
                                                   after="the change was rolled back and everything recorded before "
                                                         "it is intact"))
        if "readonly database" in text or "read-only" in text:
            return RecordError(
                f"the record {self.path} cannot be written (opened read-only, or its folder or file is read-only) "
                f"while {what}; fix the permissions, or copy the workspace somewhere writable and pass --workspace"
            )
        if "no such table" in text or "no such column" in text:
            return RecordError(
                f"the record {self.path} lacks part of its schema ({e}): it was damaged, or written by an older "
                "Scriptorium and opened read-only; open it once with a command that writes (which upgrades it), "
                "or restore it from a backup"
            )
        return e

    def _retry(self, step, what: str):
        """Run ``step`` (one SQLite call that takes the write lock), retrying while another process
        holds the lock, up to ``busy_wait`` seconds in all."""
        deadline = time.monotonic() + self.busy_wait
        delay = 0.05
        while True:
            try:
                return step()
            except sqlite3.OperationalError as e:
                busy = "locked" in str(e).lower() or "busy" in str(e).lower()
                if not busy or time.monotonic() >= deadline:
                    translated = self._translate(e, what)
                    if translated is e:
                        raise
                    raise translated from e
                time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
                delay = min(delay * 2, 1.0)

    @contextlib.contextmanager
    def transaction(self) -> Iterator["Record"]:
        """All writes inside commit together or not at all. Nested use joins the outer one.

        Waits up to ``busy_wait`` seconds for another process's write lock; a full disk, a lock
        held too long or a read-only record end in a ``UserError`` with the change rolled back."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self
                finally:
                    self._depth -= 1
                return
            if self.readonly:
                raise self._translate(sqlite3.OperationalError("attempt to write a readonly database"), "writing")
            self._retry(lambda: self.conn.execute("BEGIN IMMEDIATE"), "waiting to write")
            self._depth = 1
            try:
                yield self
                self.conn.execute("COMMIT")
            except BaseException as e:
                if self.conn.in_transaction:  # SQLite rolls back by itself after some errors (a full disk)
                    with contextlib.suppress(sqlite3.Error):
                        self.conn.execute("ROLLBACK")
                translated = self._translate(e, "writing")
                if translated is not e:
                    raise translated from e
                raise
            finally:
                self._depth = 0

    # ---- small generic helpers ------------------------------------------------------------

    def query(self, sql: str, params: tuple | dict = ()) -> list[dict[str, Any]]:
        with self._lock, self._reading():
            return self.conn.execute(sql, params).fetchall()

    def one(self, sql: str, params: tuple | dict = ()) -> dict[str, Any] | None:
        with self._lock, self._reading():
            return self.conn.execute(sql, params).fetchone()

    @contextlib.contextmanager
    def _reading(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as e:
            translated = self._translate(e, "reading")
            if translated is e:
                raise
            raise translated from e

    def insert(self, table: str, **values: Any) -> int:
        cols = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        with self.transaction():
            cur = self.conn.execute(
                f"INSERT INTO {table} ({cols}) VALUES ({marks})", [_dump(v) for v in values.values()]
            )
            return cur.lastrowid

    def update(self, table: str, row_id: int, **values: Any) -> None:
        sets = ", ".join(f"{k} = ?" for k in values)
        with self.transaction():
            cur = self.conn.execute(
                f"UPDATE {table} SET {sets} WHERE id = ?", [*(_dump(v) for v in values.values()), row_id]
            )
            if cur.rowcount == 0:
                raise RecordError(f"no {table[:-1]} with id {row_id}")

    def get(self, table: str, row_id: int) -> dict[str, Any]:
        row = self.one(f"SELECT * FROM {table} WHERE id = ?", (row_id,))
        if row is None:
            raise RecordError(f"no {table.rstrip('s')} with id {row_id}")
        return row

    def get_state(self, key: str, default: Any = None) -> Any:
        row = self.one("SELECT value FROM state WHERE key = ?", (key,))
        return default if row is None else json.loads(row["value"])

    def set_state(self, key: str, value: Any) -> None:
        with self.transaction():
            self.conn.execute(
                "INSERT INTO state (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, json.dumps(value)),
            )

    # ---- books ----------------------------------------------------------------------------

    def add_book(self, title: str, author: str = "", **fields: Any) -> dict[str, Any]:
        if not title or not title.strip():
            raise RecordError("a book needs a title")
        now = time.time()
        book_id = self.insert("books", title=title.strip(), author=author.strip(), created_at=now, updated_at=now, **fields)
        return self.get("books", book_id)

    def books(self, owner: str | None = None) -> list[dict[str, Any]]:
        if owner is None:
            return self.query("SELECT * FROM books ORDER BY id")
        return self.query("SELECT * FROM books WHERE owner = ? ORDER BY id", (owner,))

    def update_book(self, book_id: int, **fields: Any) -> dict[str, Any]:
        self.update("books", book_id, updated_at=time.time(), **fields)
        return self.get("books", book_id)

    def delete_book(self, book_id: int) -> None:
        with self.transaction():
            self.conn.execute("DELETE FROM books WHERE id = ?", (book_id,))

    def find_book(self, key: str | int) -> dict[str, Any]:
        """A book by exact title, else by id (so a book titled "1984" is found by its title); the
        error lists what exists."""
        row = None
        if not isinstance(key, int):
            row = self.one("SELECT * FROM books WHERE title = ? ORDER BY id LIMIT 1", (str(key),))
        if row is None and (isinstance(key, int) or str(key).isdigit()):
            row = self.one("SELECT * FROM books WHERE id = ?", (int(key),))
        if row is None:
            known = ", ".join(f"{b['id']}: {b['title']}" for b in self.books()[:20]) or "none yet"
            raise RecordError(f"no book {key!r} in {self.path}; books: {known}")
        return row

    # ---- story bible, outline, chapters ---------------------------------------------------

    def add_bible_entry(self, book_id: int, kind: str, name: str, text: str = "", active: bool = True) -> int:
        if kind not in ("character", "place", "rule", "note"):
            raise RecordError(f"bible entry kind {kind!r} unknown; use character, place, rule or note")
        pos = self.one("SELECT COALESCE(MAX(position), -1) + 1 AS p FROM bible_entries WHERE book_id = ?", (book_id,))["p"]
        return self.insert("bible_entries", book_id=book_id, kind=kind, name=name, text=text, active=int(active), position=pos)

    def bible(self, book_id: int, active_only: bool = False) -> list[dict[str, Any]]:
        extra = " AND active = 1" if active_only else ""
        return self.query(f"SELECT * FROM bible_entries WHERE book_id = ?{extra} ORDER BY position, id", (book_id,))

    def add_outline_item(self, book_id: int, title: str, summary: str = "", position: int | None = None) -> int:
        if position is None:
            position = self.one("SELECT COALESCE(MAX(position), -1) + 1 AS p FROM outline_items WHERE book_id = ?", (book_id,))["p"]
        return self.insert("outline_items", book_id=book_id, title=title, summary=summary, position=position)

    def outline(self, book_id: int) -> list[dict[str, Any]]:
        return self.query("SELECT * FROM outline_items WHERE book_id = ? ORDER BY position, id", (book_id,))

    def reorder(self, table: str, ids: list[int]) -> None:
        """Give rows of ``table`` (outline_items, chapters, bible_entries) positions in list order."""
        with self.transaction():
            for pos, row_id in enumerate(ids):
                self.conn.execute(f"UPDATE {table} SET position = ? WHERE id = ?", (pos, row_id))

    def add_chapter(self, book_id: int, title: str, text: str = "", outline_item_id: int | None = None,
                    position: int | None = None) -> int:
        if position is None:
            position = self.one("SELECT COALESCE(MAX(position), -1) + 1 AS p FROM chapters WHERE book_id = ?", (book_id,))["p"]
        return self.insert("chapters", book_id=book_id, title=title, text=text, outline_item_id=outline_item_id,
                           position=position, updated_at=time.time())

    def chapters(self, book_id: int) -> list[dict[str, Any]]:
        return self.query("SELECT * FROM chapters WHERE book_id = ? ORDER BY position, id", (book_id,))

    def set_chapter_text(self, chapter_id: int, text: str) -> None:
        self.update("chapters", chapter_id, text=text, updated_at=time.time())

    def add_chapter_version(self, chapter_id: int, text: str, kind: str, author: str = "", session: str | None = None,
                            draft_id: int | None = None, parent_id: int | None = None,
                            restored_from: int | None = None, coalesce: bool = False) -> int:
        """Make ``text`` the chapter's text and record it as a new version, atomically; returns the
        version id. ``parent_id`` is the version the change was made from (None: the latest). Text
        the chapter got outside the versions (a batch run, ``book import``) is first kept as an
        'initial' version, so nothing is overwritten unrecorded. With ``coalesce``, an 'edit' by the
        same session on top of its own latest edit updates that version instead (typing, saved as
        it happens, is one version per stretch of edits, not one per keystroke)."""
        now = time.time()
        with self.transaction():
            chapter = self.get("chapters", chapter_id)
            head = self.one("SELECT * FROM chapter_versions WHERE chapter_id = ? ORDER BY id DESC LIMIT 1", (chapter_id,))
            if chapter["text"].strip() and (head is None or head["text"] != chapter["text"]):
                head = self.get("chapter_versions", self.insert(
                    "chapter_versions", book_id=chapter["book_id"], chapter_id=chapter_id, chapter_title=chapter["title"],
                    parent_id=head["id"] if head else None, kind="initial", text=chapter["text"], created_at=now,
                    updated_at=now))
            base = head["id"] if head and parent_id is None else parent_id
            if (coalesce and kind == "edit" and head is not None and head["id"] == base and head["kind"] == "edit"
                    and session and head["session"] == session):
                self.update("chapter_versions", head["id"], text=text, updated_at=now)
                version = head["id"]
            else:
                version = self.insert("chapter_versions", book_id=chapter["book_id"], chapter_id=chapter_id,
                                      chapter_title=chapter["title"], parent_id=base, kind=kind, text=text,
                                      author=author or "", session=session, draft_id=draft_id,
                                      restored_from=restored_from, created_at=now, updated_at=now)
            self.set_chapter_text(chapter_id, text)
        return version

    def chapter_versions(self, chapter_id: int) -> list[dict[str, Any]]:
        """A chapter's versions, oldest first."""
        return self.query("SELECT * FROM chapter_versions WHERE chapter_id = ? ORDER BY id", (chapter_id,))

    # ---- prompts --------------------------------------------------------------------------

    def add_prompt(self, text: str, source: str = "", origin: str = "file", split: str | None = None,
                   meta: dict | None = None) -> int:
        return self.insert("prompts", text=text, source=source, origin=origin, split=split,
                           meta=meta or {}, created_at=time.time())

    # ---- drafts and scores ----------------------------------------------------------------

    def add_drafts(self, drafts: list[dict[str, Any]]) -> list[int]:
        """Record drafts in one transaction. Each dict holds ``drafts`` columns."""
        now = time.time()
        ids = []
        with self.transaction():
            for d in drafts:
                ids.append(self.insert("drafts", created_at=now, **d))
        return ids

    def drafts_for_request(self, request: str) -> list[dict[str, Any]]:
        return self.query("SELECT * FROM drafts WHERE request = ? ORDER BY candidate, id", (request,))

    def add_scores(self, draft_id: int, scores: dict[str, tuple[float, str]], panel_version: int | None = None) -> None:
        """Record one draft's scores: ``{critic: (score, reason)}``."""
        now = time.time()
        with self.transaction():
            for critic, (score, reason) in scores.items():
                self.insert("scores", draft_id=draft_id, critic=critic, score=float(score), reason=reason,
                            panel_version=panel_version, created_at=now)

    def scores(self, draft_id: int) -> dict[str, dict[str, Any]]:
        """The latest score per critic for a draft."""
        rows = self.query("SELECT * FROM scores WHERE draft_id = ? ORDER BY id", (draft_id,))
        return {r["critic"]: r for r in rows}

    # ---- picks and pairs ------------------------------------------------------------------

    def add_pick(self, draft_id: int | None, other_id: int | None, author: str = "", kind: str = "pick",
                 session: str | None = None) -> int:
        return self.insert("picks", draft_id=draft_id, other_id=other_id, author=author, kind=kind,
                           session=session, created_at=time.time())

    def add_pair(self, prompt: str, chosen_id: int, rejected_id: int, origin: str, margin: float | None = None,
                 pick_id: int | None = None) -> int | None:
        """Record a preference pair; returns None when the same pair is already recorded."""
        with self.transaction():
            cur = self.conn.execute(
                "INSERT OR IGNORE INTO pairs (prompt, chosen_id, rejected_id, origin, margin, pick_id, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (prompt, chosen_id, rejected_id, origin, margin, pick_id, time.time()),
            )
            return cur.lastrowid if cur.rowcount else None

    def veto_pair(self, pair_id: int, reason: str = "", vetoed: bool = True) -> None:
        self.update("pairs", pair_id, vetoed=int(vetoed), veto_reason=reason if vetoed else None)

    def pairs(self, include_vetoed: bool = False, untrained_only: bool = False) -> list[dict[str, Any]]:
        """Pairs with their drafts' text, author picks first, then by id."""
        where = ["1=1"]
        if not include_vetoed:
            where.append("p.vetoed = 0")
        if untrained_only:
            where.append("p.id NOT IN (SELECT pair_id FROM round_pairs rp JOIN rounds r ON r.id = rp.round_id WHERE r.status = 'done')")
        return self.query(
            "SELECT p.*, c.text AS chosen, r.text AS rejected, c.instructions AS instructions FROM pairs p "
            "JOIN drafts c ON c.id = p.chosen_id JOIN drafts r ON r.id = p.rejected_id "
            f"WHERE {' AND '.join(where)} ORDER BY (p.origin = 'pick') DESC, p.id"
        )

    # ---- training rounds ------------------------------------------------------------------

    def add_round(self, lineage: str, base_model: str, parent_id: int | None, config: dict,
                  replayed_from: str | None = None) -> int:
        return self.insert("rounds", lineage=lineage, base_model=base_model, parent_id=parent_id, config=config,
                           replayed_from=replayed_from, status="running", created_at=time.time())

    def finish_round(self, round_id: int, adapter_path: str, metrics: dict, pair_ids: list[int],
                     make_current: bool = True) -> None:
        """Mark a round done with its adapter and pairs, and (by default) make it current, atomically."""
        with self.transaction():
            self.update("rounds", round_id, adapter_path=adapter_path, metrics=metrics, status="done",
                        finished_at=time.time())
            self.conn.executemany("INSERT OR IGNORE INTO round_pairs (round_id, pair_id) VALUES (?, ?)",
                                  [(round_id, p) for p in pair_ids])
            if make_current:
                self.set_current_round(self.get("rounds", round_id)["lineage"], round_id)

    def rounds(self, lineage: str | None = None) -> list[dict[str, Any]]:
        if lineage is None:
            return self.query("SELECT * FROM rounds ORDER BY id")
        return self.query("SELECT * FROM rounds WHERE lineage = ? ORDER BY id", (lineage,))

    def current_round(self, lineage: str) -> dict[str, Any] | None:
        round_id = self.get_state(f"current_round:{lineage}")
        return None if round_id is None else self.get("rounds", round_id)

    def set_current_round(self, lineage: str, round_id: int | None) -> None:
        """Make a finished round current for its lineage (None = the base model). This is rollback."""
        if round_id is not None:
            r = self.get("rounds", round_id)
            if r["status"] != "done":
                raise RecordError(f"round {round_id} is {r['status']}, only a finished round can be made current")
            if r["lineage"] != lineage:
                raise RecordError(f"round {round_id} belongs to lineage {r['lineage']!r}, not {lineage!r}")
        self.set_state(f"current_round:{lineage}", round_id)

    def round_pairs(self, round_id: int) -> list[dict[str, Any]]:
        return self.query(
            "SELECT p.* FROM pairs p JOIN round_pairs rp ON rp.pair_id = p.id WHERE rp.round_id = ? ORDER BY p.id",
            (round_id,),
        )

    # ---- lineage --------------------------------------------------------------------------

    def round_lineage(self, round_id: int) -> list[dict[str, Any]]:
        """The round and its ancestors, newest first."""
        chain, seen = [], set()
        current: int | None = round_id
        while current is not None and current not in seen:
            seen.add(current)
            row = self.get("rounds", current)
            chain.append(row)
            current = row["parent_id"]
        return chain

    def draft_lineage(self, draft_id: int) -> dict[str, Any]:
        """A draft with its scores, the rounds behind its adapter, the pairs it is in and the
        rounds that were taught with those pairs."""
        draft = self.get("drafts", draft_id)
        pairs = self.query("SELECT * FROM pairs WHERE chosen_id = ? OR rejected_id = ? ORDER BY id", (draft_id, draft_id))
        taught = self.query(
            "SELECT DISTINCT rp.round_id FROM round_pairs rp JOIN pairs p ON p.id = rp.pair_id "
            "WHERE p.chosen_id = ? OR p.rejected_id = ?", (draft_id, draft_id))
        return {
            "draft": draft,
            "scores": self.scores(draft_id),
            "written_by": self.round_lineage(draft["round_id"]) if draft["round_id"] else [],
            "pairs": pairs,
            "taught_in_rounds": [r["round_id"] for r in taught],
        }
