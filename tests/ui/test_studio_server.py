"""The studio served on 127.0.0.1 and driven over HTTP with gradio_client: ten sessions drafting
at once through the model queue, and sign-in separating authors' books."""

from __future__ import annotations

import threading

import pytest

from tests.ui.conftest import WEIGHTS


def test_binds_to_localhost_by_default(serve):
    url, app, _ = serve()
    assert app.server_name == "127.0.0.1" and url.startswith("http://127.0.0.1:")


@pytest.mark.slow
def test_ten_sessions_drafting_at_once_all_complete(serve):
    from gradio_client import Client

    url, _, engine = serve()
    sessions, drafts_each = 10, 2
    results: dict[int, list] = {}
    errors: list[BaseException] = []

    def author(n: int) -> None:
        try:
            client = Client(url, verbose=False)
            made = client.predict(f"Book {n}", f"Author {n}", "en", "", "general", "", api_name="/create_book")
            book_id = made[0]["value"]
            for round_no in range(drafts_each):  # bounded: exactly drafts_each drafts per session
                out = client.predict(book_id, None, 2, 0.8, 0.95, 1.1, round_no, 8, WEIGHTS, api_name="/draft")
                results.setdefault(n, []).append(out)
        except BaseException as e:  # collected and reported by the main thread
            errors.append(e)

    threads = [threading.Thread(target=author, args=(n,), daemon=True) for n in range(sessions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors[:3]
    assert all(not t.is_alive() for t in threads)
    assert sorted(results) == list(range(sessions)) and all(len(v) == drafts_each for v in results.values())
    for outs in results.values():
        for out in outs:
            assert "2 candidates ready" in out[-2]
    rows = engine.rec.query("SELECT book_id, COUNT(*) AS n FROM drafts GROUP BY book_id")
    assert len(rows) == sessions and all(r["n"] == 2 * drafts_each for r in rows)


def test_signed_in_authors_see_only_their_own_books(serve):
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    url, _, engine = serve(auth=[("ann", "pw-a"), ("bob", "pw-b")])
    ann = Client(url, auth=("ann", "pw-a"), verbose=False)
    bob = Client(url, auth=("bob", "pw-b"), verbose=False)
    made = ann.predict("Ann's secret novel", "Ann", "en", "", "general", "", api_name="/create_book")
    ann_book = made[0]["value"]
    bob_made = bob.predict("Bob's book", "Bob", "en", "", "general", "", api_name="/create_book")
    assert [c[1] for c in bob_made[0]["choices"]] == [bob_made[0]["value"]]  # Bob's list lacks Ann's book
    assert engine.rec.get("books", ann_book)["owner"] == "ann"
    with pytest.raises(AppError, match="among your books"):
        bob.predict(ann_book, None, 2, 0.8, 0.95, 1.1, 0, 8, WEIGHTS, api_name="/draft")
    with pytest.raises(AppError, match="among your books"):
        bob.predict(ann_book, "epub", api_name="/export")
    assert engine.rec.query("SELECT COUNT(*) AS n FROM drafts")[0]["n"] == 0

    import urllib.error
    import urllib.request

    with pytest.raises(urllib.error.HTTPError) as denied:  # no sign-in, no API
        urllib.request.urlopen(url + "gradio_api/info", timeout=10)
    assert denied.value.code in (401, 403)
    with pytest.raises(Exception):
        Client(url, auth=("bob", "wrong"), verbose=False)


def test_uploads_over_the_limit_are_refused(serve):
    import httpx

    url, _, _ = serve()
    small = httpx.post(url + "gradio_api/upload", files={"files": ("ok.md", b"# Title\n\ntext\n")}, timeout=30)
    assert small.status_code == 200
    big = httpx.post(url + "gradio_api/upload", files={"files": ("big.md", b"x" * (5 * 1024 * 1024 + 10))}, timeout=60)
    assert big.status_code == 413


def test_the_stop_button_stops_the_sessions_draft(serve):
    """Stop from the same browser session (gradio_client keeps one session hash) ends generation."""
    import time

    from gradio_client import Client

    url, _, engine = serve()
    client = Client(url, verbose=False)
    book_id = client.predict("Stoppable", "", "en", "", "general", "", api_name="/create_book")[0]["value"]
    job = client.submit(book_id, None, 2, 0.8, 0.95, 1.1, 0, 200, WEIGHTS, api_name="/draft")
    for _ in range(600):  # bounded: until generation is under way
        if engine.streams:
            break
        time.sleep(0.05)
    assert engine.streams, "the draft never started"
    assert client.predict(api_name="/stop").startswith("Stopping")
    out = job.result(timeout=120)
    assert out[-2].startswith("Stopped")
    rows = engine.rec.query("SELECT finish_reason, tokens FROM drafts")
    assert any(r["finish_reason"] == "stopped" for r in rows) and all(r["tokens"] < 200 for r in rows)
