"""Resume bookkeeping: which items of a batch are finished, kept in the record itself.

A batch run is named by a key hashed from everything that decides its output (the items, the
drafting settings, the writer, the critics), so running the same command again finds the same
run, whichever backend or output folder it uses. An item counts as finished only once its
drafts, scores, chapter and a ``batch:<run>:<item>`` state row are committed in ONE transaction
(``commit_item``): a kill at any moment leaves an item either wholly recorded or not at all,
and a rerun drafts exactly the items that are not.

    key = run_key({...})
    done = finished_items(rec, key)          # {item key: its state}
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any


def run_key(identity: dict[str, Any]) -> str:
    """A short stable hash of what determines a batch's output."""
    blob = json.dumps(identity, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def run_state_key(key: str) -> str:
    return f"batch:{key}"


def item_state_key(key: str, item_key: str) -> str:
    return f"batch:{key}:item:{item_key}"


def request_id(key: str, item_key: str) -> str:
    """The drafts' ``request`` column: deterministic, so a rerun's drafts are easy to find."""
    return f"batch-{key}-{item_key}"


def get_run(rec, key: str) -> dict[str, Any] | None:
    return rec.get_state(run_state_key(key))


def start_run(rec, key: str, info: dict[str, Any], make_books) -> dict[str, Any]:
    """The run's state, creating it (and its books, via ``make_books() -> list[int]``) in one
    transaction the first time; later calls return what the first one stored."""
    with rec.transaction():
        state = get_run(rec, key)
        if state is None:
            state = dict(info, book_ids=make_books(), created_at=time.time())
            rec.set_state(run_state_key(key), state)
    return state


def finished_items(rec, key: str) -> dict[str, dict[str, Any]]:
    """{item key: state} for every item of the run that is committed."""
    prefix = item_state_key(key, "")
    rows = rec.query("SELECT key, value FROM state WHERE key >= ? AND key < ?", (prefix, prefix + "\uffff"))
    return {r["key"][len(prefix):]: json.loads(r["value"]) for r in rows}


def commit_item(rec, key: str, item_key: str, write) -> dict[str, Any]:
    """Run ``write() -> dict`` (the record writes for one item) and mark the item finished, all in
    one transaction. Returns the stored state. An item already finished is not written again."""
    with rec.transaction():
        state_key = item_state_key(key, item_key)
        existing = rec.get_state(state_key)
        if existing is not None:
            return existing
        state = write()
        rec.set_state(state_key, state)
    return state
