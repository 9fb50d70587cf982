"""Chapter versions (schema v3): every change is a version, outside changes are kept first,
typing coalesces per session, and versions outlive their chapter but not their book."""

from __future__ import annotations

from record import Record
from record import store


def test_v3_migration_keeps_existing_chapter_text_as_a_first_version(tmp_path, monkeypatch):
    path = tmp_path / "r.sqlite"
    monkeypatch.setattr(store, "MIGRATIONS", store.MIGRATIONS[:2])
    monkeypatch.setattr(store, "SCHEMA_VERSION", 2)
    rec = Record.open(path)
    book = rec.add_book("Old")
    written = rec.add_chapter(book["id"], "One", text="Written before versions.")
    rec.add_chapter(book["id"], "Two")
    rec.close()
    monkeypatch.undo()
    rec = Record.open(path)
    assert [(v["kind"], v["text"]) for v in rec.chapter_versions(written)] == [("initial", "Written before versions.")]
    assert rec.query("SELECT owner, brief FROM drafts") == []  # the new columns exist
    rec.close()


def test_versions_keep_every_change_and_outside_edits(record):
    book = record.add_book("B")
    ch = record.add_chapter(book["id"], "One")
    v1 = record.add_chapter_version(ch, "first", "pick", author="ann")
    record.set_chapter_text(ch, "changed by a batch run")  # outside the versions
    v2 = record.add_chapter_version(ch, "second", "save", author="ann")
    kinds = [(v["kind"], v["text"], v["parent_id"]) for v in record.chapter_versions(ch)]
    assert kinds[0] == ("pick", "first", None)
    assert kinds[1][:2] == ("initial", "changed by a batch run") and kinds[1][2] == v1
    assert kinds[2][:2] == ("save", "second") and record.get("chapters", ch)["text"] == "second"
    assert v2 == record.chapter_versions(ch)[-1]["id"]


def test_typing_coalesces_per_session_and_a_second_tab_gets_its_own_version(record):
    book = record.add_book("B")
    ch = record.add_chapter(book["id"], "One")
    base = record.add_chapter_version(ch, "start", "save")
    a = record.add_chapter_version(ch, "start, typed in tab A", "edit", session="A", parent_id=base, coalesce=True)
    assert record.add_chapter_version(ch, "start, typed more in A", "edit", session="A", parent_id=a, coalesce=True) == a
    b = record.add_chapter_version(ch, "start, typed in tab B", "edit", session="B", parent_id=base, coalesce=True)
    assert b != a  # the later save is a new version; the earlier is kept
    texts = {v["id"]: v["text"] for v in record.chapter_versions(ch)}
    assert texts[a] == "start, typed more in A" and texts[b] == "start, typed in tab B"
    assert record.get("chapters", ch)["text"] == "start, typed in tab B"


def test_versions_outlive_a_deleted_chapter_but_not_the_book(record):
    book = record.add_book("B")
    ch = record.add_chapter(book["id"], "One")
    v = record.add_chapter_version(ch, "text", "save")
    record.conn.execute("DELETE FROM chapters WHERE id = ?", (ch,))
    assert record.get("chapter_versions", v)["chapter_id"] is None
    record.delete_book(book["id"])
    assert record.query("SELECT * FROM chapter_versions") == []
