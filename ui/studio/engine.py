"""The studio's engine: one record, one writer model and one queue for model work.

Every browser session shares one ``StudioEngine``. The writer loads on first use and follows
the record's current round (train a round or roll back, and the next draft uses that adapter).
Model work takes a slot from a semaphore sized by ``concurrency`` (the studio's one queue for
model work; Gradio's queue puts the same limit in front of it). A session's running draft is
kept under its session id so its stop button can really stop generation.

    engine = StudioEngine("./ws", model=None, max_new_tokens=96)     # settings: StudioConfig
    with engine.writer_slot() as (writer, round_id):
        ...  # generate with writer; round_id is the adapter's round (None = base model)
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
        self._writer = writer
        self._round_id: Any = UNSET
        self._slots = threading.Semaphore(self.concurrency)
        self._load_lock = threading.Lock()
        self._switch_lock = threading.Lock()
        self._panels: dict[str, Any] = {}
        self._tokenizer = writer.tokenizer if writer is not None else None
        self.streams: dict[str, Any] = {}
        self.jobs: dict[int, Any] = {}  # book id -> training job

    # ---- the writer -----------------------------------------------------------------------

    def _load(self):
        with self._load_lock:
            if self._writer is None:
                from record.workspace import cache_dir
                from writer.models import load_writer

                self._writer = load_writer(self.model, precision=self.precision, cache=cache_dir(self.workspace),
                                           progress=True)
                self._tokenizer = self._writer.tokenizer
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

    def forget_round(self) -> None:
        """The current round changed in the record: the next ``writer_slot`` re-syncs."""
        self._round_id = UNSET

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

    def _sync_round(self, writer) -> None:
        """Put the record's current round's adapter on the writer, all model slots held."""
        current = self.rec.current_round(writer.model_id)
        wanted = None if current is None else current["id"]
        if wanted == self._round_id:
            return
        with self._every_slot():
            self._activate(writer, current)
            self._round_id = wanted

    @contextlib.contextmanager
    def _every_slot(self) -> Iterator[None]:
        """Hold the switch lock and every model slot: no draft runs while adapters change."""
        with self._switch_lock:
            taken = 0
            try:
                for _ in range(self.concurrency):
                    self._slots.acquire()
                    taken += 1
                yield
            finally:
                for _ in range(taken):
                    self._slots.release()

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
    def writer_slot(self) -> Iterator[tuple[Any, int | None]]:
        """The writer on the current round, with one model slot held for the block."""
        writer = self._load()
        self._sync_round(writer)
        with self._slots:
            yield writer, self._round_id

    @contextlib.contextmanager
    def adapter_slot(self, round_id: int | None) -> Iterator[Any]:
        """The writer on a given round's adapter (None = base), every slot held: used to compare
        rounds without disturbing the current one, which is restored afterwards."""
        writer = self._load()
        self._sync_round(writer)
        with self._every_slot():
            try:
                row = None
                if round_id is not None:
                    row = self.rec.get("rounds", round_id)
                    if not row["adapter_path"]:
                        raise StudioError(f"round {round_id} has no adapter (status {row['status']})")
                self._activate(writer, row)
                yield writer
            finally:
                self._round_id = UNSET  # the next writer_slot puts the current round back

    # ---- critics --------------------------------------------------------------------------

    def panel(self, book: dict, weights: dict[str, float] | None = None):
        """The critic panel judging against the book's style targets with the book's critic
        weights (critics with weight 0 are off), or None when the critics are not installed.
        Built before drafting, so a bad weight is reported before any generation."""
        try:
            from critics.panel import Panel, PanelConfig
        except ImportError:
            return None
        on = {c: float(w) for c, w in (weights or {}).items() if float(w) > 0}
        learned = self.rec.one("SELECT MAX(id) AS v FROM learned_critics")["v"]
        key = json.dumps([book.get("style_targets") or {}, on, learned], sort_keys=True)
        if key not in self._panels:
            overrides = {"critics": list(on), "weights": on} if on else {}
            if weights and not on:
                raise StudioError("every critic weight is 0; give at least one critic a positive weight")
            config = PanelConfig.for_book(book, **overrides)
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
