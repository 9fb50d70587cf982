"""The record: schema, migrations, transactions, lineage, and refusing files it cannot trust."""

import sqlite3

import pytest

from record import Record, RecordError, SCHEMA_VERSION
from record import store


def test_new_record_has_current_schema_and_wal(tmp_path):
    rec = Record.open(tmp_path / "r.sqlite")
    assert rec.one("PRAGMA user_version")["user_version"] == SCHEMA_VERSION
    assert rec.one("PRAGMA journal_mode")["journal_mode"] == "wal"
    assert rec.one("PRAGMA foreign_keys")["foreign_keys"] == 1


def test_not_sqlite_is_refused_and_left_alone(tmp_path):
    bad = tmp_path / "r.sqlite"
    bad.write_text("these are my notes, not a database")
    with pytest.raises(RecordError, match="not an SQLite database"):
        Record.open(bad)
    assert bad.read_text() == "these are my notes, not a database"


def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "r.sqlite"
    Record.open(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version={SCHEMA_VERSION + 5}")
    conn.close()
    with pytest.raises(RecordError, match="newer than this Scriptorium"):
        Record.open(path)


def test_migration_runs_on_old_record_and_keeps_data(tmp_path, monkeypatch):
    path = tmp_path / "r.sqlite"
    monkeypatch.setattr(store, "MIGRATIONS", store.MIGRATIONS[:1])
    monkeypatch.setattr(store, "SCHEMA_VERSION", 1)
    rec = Record.open(path)
    rec.add_book("Old Book")
    rec.close()
    extra = "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);"
    monkeypatch.setattr(store, "MIGRATIONS", store.MIGRATIONS[:1] + [extra])
    monkeypatch.setattr(store, "SCHEMA_VERSION", 2)
    rec = Record.open(path)
    assert rec.one("PRAGMA user_version")["user_version"] == 2
    assert rec.books()[0]["title"] == "Old Book"
    rec.insert("notes", body="hi")


def test_transaction_rolls_back_everything(record):
    with pytest.raises(RuntimeError):
        with record.transaction():
            record.add_book("Half")
            raise RuntimeError("crash mid-way")
    assert record.books() == []


def test_foreign_keys_are_enforced(record):
    with pytest.raises(sqlite3.IntegrityError):
        record.insert("scores", draft_id=999, critic="x", score=0.5, created_at=0)


def test_books_bible_outline_chapters(record):
    book = record.add_book("The Lighthouse", "A. Keeper", genre="literary", style_targets={"preset": "literary"})
    assert book["style_targets"] == {"preset": "literary"}
    record.add_bible_entry(book["id"], "character", "Mara", "the keeper")
    record.add_bible_entry(book["id"], "place", "Isle", "rocky", active=False)
    assert [e["name"] for e in record.bible(book["id"], active_only=True)] == ["Mara"]
    a = record.add_outline_item(book["id"], "Arrival")
    b = record.add_outline_item(book["id"], "Storm")
    record.reorder("outline_items", [b, a])
    assert [o["title"] for o in record.outline(book["id"])] == ["Storm", "Arrival"]
    ch = record.add_chapter(book["id"], "Storm", outline_item_id=b)
    record.set_chapter_text(ch, "Rain.")
    assert record.chapters(book["id"])[0]["text"] == "Rain."
    with pytest.raises(RecordError, match="kind"):
        record.add_bible_entry(book["id"], "monster", "X")
    with pytest.raises(RecordError, match="needs a title"):
        record.add_book("   ")
    assert record.find_book("The Lighthouse")["id"] == book["id"]
    titled = record.add_book(str(book["id"] + 1983))  # a book titled like another book's id
    assert record.find_book(str(book["id"] + 1983))["id"] == titled["id"]
    assert record.find_book(str(book["id"]))["id"] == book["id"]
    with pytest.raises(RecordError, match="books: 1: The Lighthouse, 2: 1984"):
        record.find_book("Nope")


def _drafts(record, n=2, round_id=None):
    return record.add_drafts([dict(request="r1", prompt="p", text=f"story {i}", model="m", candidate=i,
                                   round_id=round_id, config={"k": n}) for i in range(n)])


def test_lineage_from_draft_to_rounds(record):
    d1, d2 = _drafts(record)
    record.add_scores(d1, {"lexical": (0.9, "varied"), "panel": (0.8, "")})
    pair = record.add_pair("p", d1, d2, origin="critic", margin=0.3)
    assert record.add_pair("p", d1, d2, origin="critic", margin=0.3) is None  # no duplicates
    r1 = record.add_round("m", "m", None, {"beta": 0.1})
    record.finish_round(r1, "/a/r1", {"loss": 0.5}, [pair])
    r2 = record.add_round("m", "m", r1, {"beta": 0.1})
    record.finish_round(r2, "/a/r2", {"loss": 0.4}, [])
    assert [r["id"] for r in record.round_lineage(r2)] == [r2, r1]
    assert record.current_round("m")["id"] == r2
    (d3,) = _drafts(record, 1, round_id=r2)
    lineage = record.draft_lineage(d3)
    assert [r["id"] for r in lineage["written_by"]] == [r2, r1]
    assert record.draft_lineage(d1)["taught_in_rounds"] == [r1]
    assert record.draft_lineage(d1)["scores"]["lexical"]["reason"] == "varied"
    record.set_current_round("m", r1)  # rollback
    assert record.current_round("m")["id"] == r1
    record.set_current_round("m", None)
    assert record.current_round("m") is None


def test_vetoed_pairs_are_not_offered_and_running_rounds_cannot_be_current(record):
    d1, d2 = _drafts(record)
    pair = record.add_pair("p", d1, d2, origin="pick")
    record.veto_pair(pair, "chosen draft is off-topic")
    assert record.pairs() == []
    assert record.pairs(include_vetoed=True)[0]["veto_reason"] == "chosen draft is off-topic"
    r = record.add_round("m", "m", None, {})
    with pytest.raises(RecordError, match="only a finished round"):
        record.set_current_round("m", r)


def test_pairs_offer_author_picks_first_and_skip_trained(record):
    d = _drafts(record, 4)
    critic = record.add_pair("p", d[0], d[1], origin="critic", margin=0.2)
    pick = record.add_pair("p", d[2], d[3], origin="pick")
    assert [p["id"] for p in record.pairs()] == [pick, critic]
    r = record.add_round("m", "m", None, {})
    record.finish_round(r, "/a", {}, [pick])
    assert [p["id"] for p in record.pairs(untrained_only=True)] == [critic]
