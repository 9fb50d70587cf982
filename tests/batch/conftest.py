"""Helpers for the batch tests: a tiny model with room for a chapter's context, the CLI run
in-process, and snapshots of a record and an output folder to compare runs by content."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

# Critics that need no model: the batch tests are about the batch, not about judging.
FAST_CRITICS = "style,lexical"


@pytest.fixture(scope="session")
def batch_model(tmp_path_factory):
    """A tiny random Llama with a 2048-token window, so a chapter's bible and outline fit."""
    from tests.tiny import make_tiny_model

    return make_tiny_model(tmp_path_factory.mktemp("batch-model") / "llama", max_positions=2048)


def cli(workspace: Path, *args: str) -> int:
    from ui.cli import main

    return main(["--workspace", str(workspace), "batch", *map(str, args)])


def write_prompts(path: Path, prompts: list[str | None]) -> Path:
    path.write_text("".join(json.dumps({"prompt": p}) + "\n" for p in prompts), encoding="utf-8")
    return path


def snapshot(workspace: Path) -> dict:
    """The record's batch content, without ids or times (which legitimately differ)."""
    db = sqlite3.connect(Path(workspace) / "record.sqlite")
    try:
        q = lambda sql: [tuple(r) for r in db.execute(sql).fetchall()]  # noqa: E731
        items = {}
        for key, value in q("SELECT key, value FROM state WHERE key LIKE 'batch:%:item:%'"):
            v = json.loads(value)
            items[key] = (v["best"], round(v["total"], 9), v["tokens"])
        return {
            "drafts": q("SELECT d.request, d.candidate, d.prompt, d.instructions, d.text, d.model, d.seed, d.tokens, "
                        "d.finish_reason, c.position, c.title, b.title, p.text FROM drafts d "
                        "LEFT JOIN chapters c ON c.id = d.chapter_id LEFT JOIN books b ON b.id = d.book_id "
                        "LEFT JOIN prompts p ON p.id = d.prompt_id ORDER BY d.request, d.candidate"),
            "scores": q("SELECT d.request, d.candidate, s.critic, round(s.score, 9), s.reason FROM scores s "
                        "JOIN drafts d ON d.id = s.draft_id ORDER BY d.request, d.candidate, s.critic"),
            "chapters": q("SELECT b.title, c.position, c.title, c.text FROM chapters c JOIN books b ON b.id = c.book_id "
                          "ORDER BY b.title, c.position"),
            "books": q("SELECT title, author, description FROM books ORDER BY title"),
            "outline": q("SELECT b.title, o.position, o.title, o.summary FROM outline_items o JOIN books b "
                         "ON b.id = o.book_id ORDER BY b.title, o.position"),
            "items": items,
        }
    finally:
        db.close()


def out_files(out: Path) -> dict[str, bytes]:
    """Every output file but the run summary (which holds timings)."""
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(Path(out).rglob("*"))
            if p.is_file() and p.name != "batch.json"}
