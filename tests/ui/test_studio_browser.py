"""The studio in a real browser: Debian's chromium driven by Playwright against
``scriptorium studio`` on the built-in model (tiny max_new_tokens). Create a book, add a bible
entry (with markup that must stay text), draft 2 candidates, pick one, export an EPUB and check
the file. Screenshots of each step go to test-artifacts/studio/.

Never runs ``playwright install``: it uses /usr/bin/chromium and skips when it is absent.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest

from record import Record
from ui.studio.drafting import snap_selection, splice

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts" / "studio"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run"]
XSS = '<img src=x onerror="window.__xss=1">'

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def studio(tmp_path, builtin_dir):
    """``scriptorium studio`` in a subprocess on a free port; yields (url, workspace)."""
    port = free_port()
    ws = tmp_path / "ws"
    log = open(tmp_path / "studio.log", "w")
    cmd = [str(Path(sys.executable).parent / "scriptorium"), "--workspace", str(ws), "studio", "--port", str(port),
           "--max-new-tokens", "8"]
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"})
    url = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(240):  # bounded wait for the server
            if proc.poll() is not None:
                raise AssertionError(f"the studio exited: {(tmp_path / 'studio.log').read_text()[-2000:]}")
            try:
                urllib.request.urlopen(url, timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        else:
            raise AssertionError("the studio did not answer within 120 s")
        yield url, ws
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def field(page, elem_id: str):
    return page.locator(f"#{elem_id}").locator("textarea, input").first


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium is not installed (./run setup installs it)")
def test_create_book_bible_draft_pick_export_in_a_browser(studio):
    from playwright.sync_api import expect, sync_playwright

    url, ws = studio
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            page.goto(url)
            expect(page.get_by_text("Scriptorium studio").first).to_be_visible(timeout=60_000)
            # the page's load event has run (it fills "Signed in as"): typing before that can be lost
            expect(field(page, "whoami")).to_have_value(re.compile("local studio"), timeout=120_000)

            field(page, "book-title").fill("The Lighthouse")
            field(page, "book-author").fill("A. Keeper")
            page.locator("#create-book").click()
            expect(field(page, "books-status")).to_have_value(re.compile("Created"), timeout=60_000)
            page.screenshot(path=str(ARTIFACTS / "1-book-created.png"), full_page=True)

            page.get_by_role("tab", name="Story bible").click()
            field(page, "bible-name").fill("Mara")
            field(page, "bible-text").fill("The keeper. " + XSS)
            page.locator("#add-entry").click()
            expect(field(page, "bible-status")).to_have_value(re.compile("Added character"), timeout=60_000)
            table = page.locator("#bible-table")
            expect(table).to_contain_text("Mara", timeout=30_000)
            expect(table).to_contain_text('onerror="window.__xss=1"')  # shown as text ...
            assert page.evaluate("window.__xss") is None  # ... never run
            expect(field(page, "bible-budget")).to_have_value(re.compile(r"Active entries use \d+ tokens"))
            page.screenshot(path=str(ARTIFACTS / "2-bible-entry.png"), full_page=True)

            page.get_by_role("tab", name="Draft").click()
            status = field(page, "draft-status")
            page.locator("#draft").click()
            expect(status).to_have_value(re.compile("2 candidates ready"), timeout=240_000)
            first, second = field(page, "cand-0"), field(page, "cand-1")
            assert first.input_value().strip() and second.input_value().strip()
            page.screenshot(path=str(ARTIFACTS / "3-two-candidates.png"), full_page=True)

            picked = first.input_value()
            page.locator("#pick-0").click()
            expect(status).to_have_value(re.compile("Kept candidate 1"), timeout=60_000)
            expect(field(page, "chapter-text")).to_have_value(picked)
            page.screenshot(path=str(ARTIFACTS / "4-picked.png"), full_page=True)

            # select the first words of the chapter and rewrite just them
            chapter = field(page, "chapter-text")
            cut = min(10, len(picked))
            chapter.evaluate(f"el => {{ el.focus(); el.setSelectionRange(0, {cut}); "
                             "el.dispatchEvent(new Event('select', {bubbles: true})); }")
            expect(field(page, "selection-info")).to_have_value(re.compile("words selected"), timeout=30_000)
            page.locator("#rewrite").click()
            expect(status).to_have_value(re.compile("2 candidates ready"), timeout=240_000)
            rewritten = field(page, "cand-1").input_value()
            page.locator("#pick-1").click()  # offered as a change to accept or reject, not pasted in
            expect(page.locator("#proposal-diff")).to_contain_text("with the change", timeout=60_000)
            expect(chapter).to_have_value(picked)
            page.locator("#accept-change").click()
            expect(status).to_have_value(re.compile("Accepted candidate 2"), timeout=60_000)
            start, end = snap_selection(picked, 0, cut)
            expect(chapter).to_have_value(splice(picked, start, end, rewritten))
            page.screenshot(path=str(ARTIFACTS / "5-passage-rewritten.png"), full_page=True)
            final_text = chapter.input_value()

            # a long draft, stopped by the Stop button once text is streaming in
            page.get_by_text("Sampling and critic weights").click()
            field(page, "max-new").fill("1500")
            page.locator("#draft").click()
            expect(field(page, "cand-0")).not_to_have_value("", timeout=240_000)
            page.locator("#stop").click()
            expect(status).to_have_value(re.compile("Stopped: 2 partial candidates kept"), timeout=120_000)
            page.screenshot(path=str(ARTIFACTS / "6-stopped.png"), full_page=True)

            page.get_by_role("tab", name="Export").click()
            page.locator("#export").click()
            expect(field(page, "export-status")).to_have_value(re.compile(r"Exported .*\.epub"), timeout=120_000)
            link = page.locator("#export-file a").first
            expect(link).to_be_visible(timeout=30_000)
            href = link.get_attribute("href")
            page.screenshot(path=str(ARTIFACTS / "7-exported.png"), full_page=True)
            assert page.evaluate("window.__xss") is None
        finally:
            browser.close()

    downloaded = ARTIFACTS / "book.epub"
    with urllib.request.urlopen(href if href.startswith("http") else url.rstrip("/") + href, timeout=30) as r:
        downloaded.write_bytes(r.read())
    with zipfile.ZipFile(downloaded) as z:
        assert z.read("mimetype") == b"application/epub+zip"
        body = "".join(z.read(n).decode("utf-8", "ignore") for n in z.namelist() if n.endswith(".xhtml"))
    import html

    words = html.unescape(body)
    assert all(w in words for w in final_text.split()[:5])  # the chapter as the author left it
    stopped = Record.open(ws / "record.sqlite").query("SELECT finish_reason, tokens FROM drafts ORDER BY id DESC LIMIT 2")
    assert {r["finish_reason"] for r in stopped} <= {"stopped", "stop"} and all(r["tokens"] < 1500 for r in stopped)
    if shutil.which("java") and Path("/usr/share/java/epubcheck.jar").exists():
        check = subprocess.run(["java", "-jar", "/usr/share/java/epubcheck.jar", str(downloaded)], capture_output=True,
                               text=True, timeout=180)
        assert check.returncode == 0, check.stdout[-2000:] + check.stderr[-2000:]
