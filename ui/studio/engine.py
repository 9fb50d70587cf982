"""The studio's engine: one record, one writer model and one queue for model work.

Every browser session shares one ``StudioEngine``. The writer loads on first use and follows
the record's current round (train a round or roll back, and the next draft uses that adapter).
Model work takes a slot from a semaphore sized by ``concurrency`` (the studio's one queue for
model work; Gradio's queue puts the same limit in front of it). A session's running draft is
kept under its session id so its stop button can really stop generation.

    engine = StudioEngine("./ws", model=None, max_new_tokens=96)     # settings: StudioConfig
    with engine.writer_slot(user) as (writer, round_id):
        ...  # generate with writer; round_id is the adapter's round (None = base model)

Authors: without sign-in there is one local author (``user`` None) who sees everything, and
rounds follow the model's lineage as the CLI's do. With sign-in, ``user`` is an ``Author`` (the
signed-in name); each author's rounds form their own lineage (``lineage_for``) on the shared
base, and the writer puts on that author's current adapter for each piece of model work.
Admins (``StudioConfig.admins``) see every author's work.
"""

from __future__ import annotations

import contextlib
import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from record.errors import UserError

UNSET = object()


class StudioError(UserError):
    """Something the author asked for that the studio cannot do; the message says why."""


class Author(str):
    """A signed-in author's name; an ``admin`` author sees every author's books and rounds."""

    admin: bool

    def __new__(cls, name: str, admin: bool = False):
        self = super().__new__(cls, name)
        self.admin = bool(admin)
        return self


def scope(user: str | None) -> str | None:
    """The owner whose work ``user`` is limited to, or None for everything (the local author
    without sign-in, or an admin)."""
    if user is None or getattr(user, "admin", False):
        return None
    return str(user)


def may_see(user: str | None, owner: str | None) -> bool:
    """True when ``user`` may see and change work owned by ``owner``."""
    limit = scope(user)
    return limit is None or owner == limit


def not_available(part: str, issue: str) -> StudioError:
    return StudioError(f"{part} is not available yet (the {issue} has not landed in this installation)")


@dataclass
class StudioConfig:
    """How the studio runs its models. Defaults suit a 2-core CPU."""

    model: str | None = field(default=None, metadata={"help": "local Hugging Face model folder (None: the built-in writer)"})
    precision: str = field(default="fp32", metadata={"help": "drafting weights: fp32, bf16 or 4bit"})
    train_precision: str = field(default="4bit", metadata={"help": "base weights while a round trains"})
    max_new_tokens: int = field(default=96, metadata={"help": "default tokens per candidate (a book can change it)"})
    concurrency: int = field(default=1, metadata={"help": "model jobs at once; the rest wait in the queue"})
    auth: bool = field(default=False, metadata={"help": "authors sign in and see only their own books"})
    max_upload_mb: int = field(default=5, metadata={"help": "largest file an author may upload, in MB"})
    admins: tuple[str, ...] = field(default=(), metadata={"help": "signed-in authors who may see every author's work"})

    def __post_init__(self):
        from writer.models import PRECISIONS

        if self.concurrency < 1:
            raise StudioError(f"concurrency must be at least 1, got {self.concurrency}")
        if not 1 <= self.max_new_tokens <= 8192:
            raise StudioError(f"max_new_tokens must be between 1 and 8192, got {self.max_new_tokens}")
        if not 1 <= self.max_upload_mb <= 1024:
            raise StudioError(f"max_upload_mb must be between 1 and 1024, got {self.max_upload_mb}")
        for name in ("precision", "train_precision"):
            if getattr(self, name) not in PRECISIONS:
                raise StudioError(f"{name} {getattr(self, name)!r} unknown; use one of {', '.join(PRECISIONS)}")


class StudioEngine:
    """Shared state behind every session: record, writer, model queue, running drafts."""

    def __init__(self, workspace: str | Path | None = None, writer=None, **settings: Any):
        from record import Record, record_path, workspace_dir

        self.config = StudioConfig(**settings)
        self.workspace = workspace_dir(workspace)
        self.rec = Record.open(record_path(self.workspace))
        self.model = self.config.model
        self.precision = self.config.precision
        self.train_precision = self.config.train_precision
        self.max_new_tokens = self.config.max_new_tokens
        self.concurrency = self.config.concurrency
        self.auth = self.config.auth
        self.admins = frozenset(self.config.admins)
        self._writer = writer
        self._active: Any = UNSET  # the round whose adapter is on the writer (None = bare base)
        self._busy = 0  # model jobs running now
        self._cond = threading.Condition()
        self._load_lock = threading.Lock()
        self.loading = {"phase": "ready" if writer is not None else "waiting", "started": None, "error": ""}
        self._panels: dict[str, Any] = {}
        self._tokenizer = writer.tokenizer if writer is not None else None
        self.streams: dict[str, Any] = {}
        self.jobs: dict[int, Any] = {}  # book id -> training job

    # ---- the writer -----------------------------------------------------------------------

    def _load(self):
        with self._load_lock:
            if self._writer is None:
                import time

                from record.workspace import cache_dir
                from writer.models import BUILTIN_NAME, COMPLETE_MARK, load_writer, resolve_model

                cache = cache_dir(self.workspace)
                self.loading = {"phase": "loading", "started": time.time(), "error": ""}
                try:
                    if self.model in (None, "", "builtin", BUILTIN_NAME) and not (cache / BUILTIN_NAME / COMPLETE_MARK).is_file():
                        self.loading["phase"] = "converting"
                        resolve_model(self.model, cache, progress=True)  # the one-time conversion
                        self.loading["phase"] = "loading"
                    self._writer = load_writer(self.model, precision=self.precision, cache=cache, progress=True)
                except BaseException as e:
                    self.loading.update(phase="failed", error=str(e))
                    raise
                self._tokenizer = self._writer.tokenizer
                self.loading["phase"] = "ready"
            return self._writer

    def warm_up(self) -> None:
        """Load the writer now (a background thread at start-up); a failure is reported at the
        first draft, where the author sees it."""
        try:
            self._load()
        except Exception as e:  # noqa: BLE001 - shown again, as a message, when drafting
            print(f"note: the writer could not be loaded yet: {e}")

    @property
    def lineage(self) -> str:
        """The model id that rounds are recorded under (as ``scriptorium draft`` uses it)."""
        if self._writer is not None:
            return self._writer.model_id
        from record.workspace import cache_dir
        from writer.models import resolve_model

        return resolve_model(self.model, cache_dir(self.workspace), progress=True)[1]

    def lineage_for(self, user: str | None) -> str:
        """The lineage of rounds an author's drafts use and their training extends: the model's
        own without sign-in (shared with the CLI), else one per author on the same base."""
        return self.lineage if user is None else f"{self.lineage}@author:{user}"

    def author(self, name: str | None) -> Author | None:
        """The signed-in name as an ``Author`` (admin if named so); None without sign-in."""
        return None if name is None else Author(name, admin=name in self.admins)

    def tokenizer(self):
        """The writer's tokenizer, without loading the model weights."""
        if self._tokenizer is None:
            from record.workspace import cache_dir
            from writer.models import load_tokenizer, resolve_model

            folder, _ = resolve_model(self.model, cache_dir(self.workspace), progress=True)
            self._tokenizer = load_tokenizer(folder)
        return self._tokenizer

    def context_window(self) -> int:
        """The writer's context window, read from its config when the weights are not loaded."""
        if self._writer is not None:
            return self._writer.context_window
        from record.workspace import cache_dir
        from writer.models import resolve_model

        folder, _ = resolve_model(self.model, cache_dir(self.workspace), progress=True)
        cfg = json.loads((Path(folder) / "config.json").read_text())
        return int(cfg.get("max_position_embeddings") or cfg.get("n_positions") or 2048)

    @contextlib.contextmanager
    def _on_round(self, writer, round_row: dict | None) -> Iterator[None]:
        """Hold one model slot with ``round_row``'s adapter on the writer (None: the bare base).
        Jobs on the same adapter run side by side (up to ``concurrency``); switching the adapter
        waits until no job is running, so a draft never changes adapter halfway."""
        wanted = None if round_row is None else round_row["id"]
        with self._cond:
            while not (self._busy < self.concurrency and (self._busy == 0 or self._active == wanted)):
                self._cond.wait()
            if self._active != wanted:
                self._active = UNSET  # a failed switch leaves the writer in no known state
                self._activate(writer, round_row)
                self._active = wanted
            self._busy += 1
        try:
            yield
        finally:
            with self._cond:
                self._busy -= 1
                self._cond.notify_all()

    @staticmethod
    def _activate(writer, round_row: dict | None) -> None:
        """Put a round's adapter on the writer (loading it once), or the bare base for None."""
        if round_row is None:
            writer.use_adapter(None)
            return
        path = str(Path(round_row["adapter_path"]).resolve())
        loaded = {v: k for k, v in writer.adapters.items()}
        if path in loaded:
            writer.use_adapter(loaded[path])
        else:
            writer.load_adapter(path, name=f"round{round_row['id']}")

    @contextlib.contextmanager
    def writer_slot(self, user: str | None = None) -> Iterator[tuple[Any, int | None]]:
        """The writer on the current round of ``user``'s lineage, with one model slot held for
        the block; yields (writer, round id or None)."""
        writer = self._load()
        current = self.rec.current_round(self.lineage_for(user))
        with self._on_round(writer, current):
            yield writer, None if current is None else current["id"]

    @contextlib.contextmanager
    def adapter_slot(self, round_id: int | None) -> Iterator[Any]:
        """The writer on a given round's adapter (None = base), one slot held: used to compare
        rounds without changing any lineage's current round."""
        writer = self._load()
        row = None
        if round_id is not None:
            row = self.rec.get("rounds", round_id)
            if not row["adapter_path"]:
                raise StudioError(f"round {round_id} has no adapter (status {row['status']})")
        with self._on_round(writer, row):
            yield writer

    # ---- critics --------------------------------------------------------------------------

    def panel(self, book: dict, weights: dict[str, float] | None = None, max_new_tokens: int | None = None):
        """The critic panel judging against the book's style targets with the book's critic
        weights (critics with weight 0 are off), or None when the critics are not installed;
        told the length the drafts are asked for (``max_new_tokens``).
        Built before drafting, so a bad weight is reported before any generation."""
        try:
            from critics.panel import Panel, PanelConfig, words_for_tokens
        except ImportError:
            return None
        on = {c: float(w) for c, w in (weights or {}).items() if float(w) > 0}
        learned = self.rec.one("SELECT MAX(id) AS v FROM learned_critics")["v"]
        key = json.dumps([book.get("style_targets") or {}, on, learned, max_new_tokens], sort_keys=True)
        if key not in self._panels:
            overrides = {"critics": list(on), "weights": on} if on else {}
            if weights and not on:
                raise StudioError("every critic weight is 0; give at least one critic a positive weight")
            config = PanelConfig.for_book(book, asked_words=words_for_tokens(max_new_tokens), **overrides)
            self._panels[key] = Panel(config, reference=self._load(), record=self.rec)
        return self._panels[key]

    # ---- running drafts -------------------------------------------------------------------

    def stop(self, session: str | None) -> bool:
        """Stop the session's running draft; True if one was running."""
        stream = self.streams.get(session or "")
        if stream is None:
            return False
        stream.stop()
        return True

    def close(self) -> None:
        for stream in list(self.streams.values()):
            stream.stop()
        self.rec.close()
