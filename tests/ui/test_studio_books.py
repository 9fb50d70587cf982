"""Books: create, open, rename, delete with confirmation; settings remembered; ownership."""

from __future__ import annotations

import pytest

from ui.studio import books as B
from record.errors import UserError
from ui.studio.engine import StudioEngine, StudioError


def test_create_rename_delete_with_confirmation(engine):
    book = B.create_book(engine.rec, None, "  Draft One ", "Ann", "fr", "noir", "literary")
    assert book["title"] == "Draft One" and book["language"] == "fr" and book["style_targets"]["preset"] == "literary"
    renamed = B.update_book(engine.rec, None, book["id"], "Second Title", "Ann", "fr", "noir", "ya",
                            '{"grade": [5, 7]}')
    assert renamed["title"] == "Second Title"
    assert renamed["style_targets"] == {"preset": "ya", "grade": [5, 7]}  # the critics' own format
    assert B.book_form(renamed)["preset"] == "ya" and B.book_form(renamed)["custom"] == '{"grade": [5, 7]}'
    with pytest.raises(StudioError, match="type the title exactly"):
        B.delete_book(engine.rec, None, book["id"], "Draft One")
    assert engine.rec.books()  # a wrong confirmation deletes nothing
    assert B.delete_book(engine.rec, None, book["id"], "Second Title") == "Second Title"
    assert engine.rec.books() == []


def test_bad_input_is_explained(engine):
    with pytest.raises(StudioError, match="needs a title"):
        B.create_book(engine.rec, None, "   ")
    with pytest.raises(StudioError, match="JSON"):
        B.create_book(engine.rec, None, "X", custom_targets="{grade: [5, 7]")
    with pytest.raises(UserError, match="unknown style target"):
        B.create_book(engine.rec, None, "X", custom_targets='{"sentence_lenght": 12}')
    with pytest.raises(StudioError, match="no book is open"):
        B.owned_book(engine.rec, None, None)


def test_settings_survive_a_restart(engine, book, tiny_model_dir, tiny_writer):
    B.save_settings(engine.rec, book["id"], None, sampling={"k": 4, "temperature": 0.5, "top_p": 0.9,
                                                            "repetition_penalty": 1.2, "seed": 7},
                    weights={"style": 2.0, "coherence": 0.5})
    workspace = engine.workspace
    engine.close()
    again = StudioEngine(workspace, model=str(tiny_model_dir), writer=tiny_writer)
    try:
        s = B.book_settings(again.rec, book["id"], None)
        assert s["sampling"]["k"] == 4 and s["sampling"]["seed"] == 7 and s["weights"] == {"style": 2.0, "coherence": 0.5}
    finally:
        again.close()


def test_settings_are_checked(engine, book):
    with pytest.raises(StudioError, match="1 to 6 candidates"):
        B.save_settings(engine.rec, book["id"], None, sampling={"k": 9})
    with pytest.raises(Exception, match="top_p"):
        B.save_settings(engine.rec, book["id"], None, sampling={"k": 2, "top_p": 0})
    with pytest.raises(StudioError, match="weights must be numbers >= 0"):
        B.save_settings(engine.rec, book["id"], None, weights={"style": -1})


def test_an_author_sees_only_their_books(engine):
    ann = B.create_book(engine.rec, "ann", "Ann's book")
    bob = B.create_book(engine.rec, "bob", "Bob's book")
    assert [b["title"] for b in B.list_books(engine.rec, "ann")] == ["Ann's book"]
    assert [c[1] for c in B.book_choices(engine.rec, "bob")] == [bob["id"]]
    for action in (lambda: B.owned_book(engine.rec, ann["id"], "bob"),
                   lambda: B.update_book(engine.rec, "bob", ann["id"], "Mine now", "", "en", "", "general", ""),
                   lambda: B.delete_book(engine.rec, "bob", ann["id"], "Ann's book"),
                   lambda: B.save_settings(engine.rec, ann["id"], "bob", weights={})):
        with pytest.raises(StudioError, match="among your books"):
            action()
    assert engine.rec.get("books", ann["id"])["title"] == "Ann's book"
    # without sign-in (a local studio) every book is visible
    assert len(B.list_books(engine.rec, None)) == 2


def test_the_sample_book_and_the_last_book_reopened(engine):
    from ui.studio.start import SAMPLE, loading_html, sample_book

    first = B.create_book(engine.rec, "ann", "First")
    sample = sample_book(engine.rec, "ann")
    assert sample["owner"] == "ann" and sample["description"] == SAMPLE["description"]
    assert [e["name"] for e in engine.rec.bible(sample["id"])] == ["Mara Quill", "Elias Quill", "Gull Rock"]
    assert [i["title"] for i in engine.rec.outline(sample["id"])] == [t for t, _ in SAMPLE["outline"]]
    assert all(i["summary"] for i in engine.rec.outline(sample["id"]))
    assert B.last_book(engine.rec, "ann") == sample["id"]
    B.remember_book(engine.rec, "ann", first["id"])
    assert B.last_book(engine.rec, "ann") == first["id"]  # the one worked on, not the newest
    assert B.last_book(engine.rec, "bob") is None
    B.remember_book(engine.rec, "bob", first["id"])  # a stale or forged note never opens another's book
    assert B.last_book(engine.rec, "bob") is None
    assert "ready" in loading_html(engine)
    engine.loading = {"phase": "converting", "started": 0.0, "error": ""}
    assert "Converting the built-in writer" in loading_html(engine)
