"""Every tab's Gradio handlers, called through the served app with gradio_client (one browser
session): the wiring between components and the plain functions, not only the functions."""

from __future__ import annotations

import time

import pytest

from tests.ui.conftest import WEIGHTS


def rows(frame) -> list[list]:
    return frame["data"] if isinstance(frame, dict) else frame


@pytest.mark.slow
def test_every_tab_through_the_app(serve, tiny_model_dir):
    from gradio_client import Client
    from gradio_client.exceptions import AppError
    from writer.models import load_writer

    writer = load_writer(tiny_model_dir, device="cpu", progress=False)  # training puts an adapter on it
    url, app, engine = serve(writer=writer, train_precision="fp32")
    c = Client(url, verbose=False)

    # Books
    made = c.predict("The Lighthouse", "A. Keeper", "en", "mystery", "ya", "", api_name="/create_book")
    book = made[0]["value"]
    assert made[1] == 'Created "The Lighthouse".'
    renamed = c.predict(book, "The Lamp", "A. Keeper", "en", "mystery", "ya", '{"grade": [5, 7]}', api_name="/save_book")
    assert renamed[0]["choices"] == [["The Lamp (#1)", book]]
    assert engine.rec.get("books", book)["style_targets"] == {"preset": "ya", "grade": [5, 7]}

    # Story bible
    out = c.predict(book, "character", "Mara", "the keeper", True, api_name="/add_entry")
    assert rows(out[0])[0][2:4] == ["character", "Mara"] and "Active entries use" in out[1]

    # Outline
    c.predict(book, "Arrival", "Mara comes to the island", api_name="/add_item")
    out = c.predict(book, "The storm", "", api_name="/add_item")
    storm = out[2]["value"]
    assert out[3:5] == ("", "")  # the form clears for the next item
    out = c.predict(book, storm, api_name="/move_up")
    assert [r[2] for r in rows(out[0])] == ["The storm", "Arrival"]

    # Draft, pick, edit
    drafted = c.predict(book, storm, 3, 0.8, 0.95, 1.1, 0, 8, WEIGHTS, api_name="/draft")
    texts, scores, message = drafted[:6], drafted[6:12], drafted[-2]
    assert "3 candidates ready, written by the base model" in message and all(texts[:3]) and texts[3:] == ("", "", "")
    assert '"The storm" has no summary, so it was drafted from its title alone' in message
    picked_id = engine.rec.query("SELECT id FROM drafts ORDER BY id")[1]["id"]
    assert "panel total" in scores[0] and "sc-bar" in scores[0]
    picked = c.predict(book, "", api_name="/pick_2")
    assert picked[0] == texts[1] and "2 preference pair(s)" in picked[1] and "as version" in picked[1]
    c.predict(book, storm, "Typed, never saved by hand.", api_name="/autosave")
    assert engine.rec.one("SELECT text FROM chapters WHERE outline_item_id = ?", (storm,))["text"].startswith("Typed")
    saved = c.predict(book, storm, texts[1] + " Edited.", api_name="/save_text")
    assert saved[0].startswith("Saved") and "version" in saved[0]
    assert engine.rec.one("SELECT text FROM chapters WHERE outline_item_id = ?", (storm,))["text"].endswith("Edited.")
    versions = rows(saved[1])
    assert [v[2] for v in versions] == ["saved", "typed", "picked"]  # newest first: every change is kept
    diff = c.predict(versions[2][0], versions[0][0], api_name="/diff_versions")
    assert '<ins class="df-ins"> Edited.</ins>' in diff
    restored = c.predict(book, versions[2][0], api_name="/restore_version")
    assert restored[0] == texts[1] and restored[1].startswith(f"Restored version {versions[2][0]}")
    assert c.predict(book, versions[0][0], api_name="/restore_version")[0].endswith("Edited.")  # and back
    s = engine.rec.get("books", book)["settings"]
    assert s["sampling"]["k"] == 3 and s["weights"] == {}  # remembered for the book
    c.predict(book, 2, 0.5, 0.9, 1.2, 7, 16, {"headers": ["critic", "weight"], "data": [["style", 2.0]]},
              api_name="/on_settings")  # a slider moved: remembered without drafting
    s = engine.rec.get("books", book)["settings"]
    assert (s["sampling"]["temperature"], s["sampling"]["seed"], s["weights"]) == (0.5, 7, {"style": 2.0})

    # Classroom: pending pairs and a veto
    room = c.predict(api_name="/classroom")
    pending = rows(room[3])
    assert len(pending) == 2 and {r[1] for r in pending} == {"pick"}
    vetoed = c.predict(pending[1][0], "too short", api_name="/veto")
    assert "vetoed" in vetoed[1] and rows(vetoed[0])[1][3] == "yes"

    # Train: a real round on the tiny writer, polled like the page's timer does
    started = c.predict(book, False, 2, 5e-5, 0.1, api_name="/train")
    assert "1 pairs" in started[0]  # the vetoed pair stays out
    for _ in range(600):  # bounded
        progress = c.predict(book, api_name="/train_progress")
        if "now current" in (progress[2] or "") or "failed" in (progress[2] or ""):
            break
        time.sleep(0.2)
    assert "Round 1 is now current" in progress[2], progress[2]
    room = c.predict(api_name="/classroom")
    assert rows(room[0])[0][:4] == [1, "base", "shared (CLI, no sign-in)", "done"] and rows(room[0])[0][6] == "yes"
    assert room[4] == "round 1"
    taught, _ = c.predict(1, api_name="/round_pairs")
    assert [r[0] for r in rows(taught)] == [pending[0][0]]
    before, after, label = c.predict(1, "A cat finds a map.", 3, api_name="/before_after")
    assert before and after and "round 1" in label
    _, samples = c.predict(1, api_name="/round_pairs")
    assert [before, after] in [r[2:] for r in rows(samples)]  # with the samples drafted after training
    lineage = c.predict(picked_id, api_name="/lineage")
    assert lineage.startswith(f"Draft {picked_id}") and "taught in round 1" in lineage
    assert c.predict("base", api_name="/make_current")[-1] == "The base model is now current for your drafts."
    assert engine.rec.current_round(engine.lineage) is None

    # Feedback: a session on the book (the tiny writer's drafts are short: no minimum length)
    made = c.predict([book], "", 0, 5, 0, "ann", api_name="/feedback_session")
    prompt, left, right, agree, progress, message = made[:6]  # the shown pair's draft ids stay on the server
    assert message.startswith("Session 1: 3 pairs") and progress == "Pair 1 of 3" and left and right
    assert prompt.startswith('Chapter 1, "The storm"')  # what was asked for, never the internal prompt
    chose = c.predict("ann", 1, api_name="/feedback_left")
    assert chose[-1] == "Recorded: the left draft is better." and chose[-2] == "Pair 2 of 3"
    assert engine.rec.one("SELECT author, kind FROM picks ORDER BY id DESC LIMIT 1") == {"author": "ann", "kind": "pick"}
    assert c.predict("ann", 1, api_name="/feedback_skip")[-1] == "Skipped."
    files, message = c.predict("ann", 1, api_name="/feedback_export")
    assert message.startswith("Exported 1 preference rows") and len(files) == 2

    # Export: the unwritten chapter is listed first; the author chooses to go on
    _, message, warning = c.predict(book, "md", api_name="/export")[:3]
    assert message.startswith("Not exported yet") and "Arrival" in warning and "never drafted" in warning
    c.predict(book, "Ann Q. Keeper", "12 Harbour Road\nann@example.com", "Keeper", "Lamp", None, False,
              api_name="/save_details")
    settings = engine.rec.get("books", book)["settings"]
    assert settings["contact"] == ["12 Harbour Road", "ann@example.com"] and settings["legal_name"] == "Ann Q. Keeper"
    path, message = c.predict(book, "md", api_name="/export_anyway")[:2]
    assert message.startswith("Exported") and "Edited." in open(path, encoding="utf-8").read()

    # Delete, with confirmation
    with pytest.raises(AppError, match="type the title exactly"):
        c.predict(book, "The Lighthouse", api_name="/delete_book")
    gone = c.predict(book, "The Lamp", api_name="/delete_book")
    assert gone[1] == 'Deleted "The Lamp".' and engine.rec.books() == []
