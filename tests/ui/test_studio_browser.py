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
ARTIFACTS_ROOT = ROOT / "test-artifacts" / "studio"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run"]
XSS = '<img src=x onerror="window.__xss=1">'

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def launch(tmp_path, builtin_dir):
    """Start ``scriptorium studio`` (with extra flags) in a subprocess on a free port; returns
    (url, workspace). Stopped when the test ends."""
    started = []

    def start(*extra: str) -> tuple[str, Path]:
        port = free_port()
        ws = tmp_path / "ws"
        log_path = tmp_path / f"studio-{port}.log"
        log = open(log_path, "w")
        cmd = [str(Path(sys.executable).parent / "scriptorium"), "--workspace", str(ws), "studio", "--port", str(port),
               "--max-new-tokens", "8", *extra]
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                env={**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"})
        started.append((proc, log))
        url = f"http://127.0.0.1:{port}/"
        for _ in range(240):  # bounded wait for the server
            if proc.poll() is not None:
                raise AssertionError(f"the studio exited: {log_path.read_text()[-2000:]}")
            try:
                urllib.request.urlopen(url, timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        else:
            raise AssertionError("the studio did not answer within 120 s")
        return url, ws

    yield start
    for proc, log in started:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture
def studio(launch):
    """The local studio (no sign-in); yields (url, workspace)."""
    return launch()


def field(page, elem_id: str):
    return page.locator(f"#{elem_id}").locator("textarea, input").first


def artifacts(name: str) -> Path:
    """A fresh folder for one test's screenshots and downloads."""
    folder = ARTIFACTS_ROOT / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def download(url: str, href: str, dest: Path) -> Path:
    with urllib.request.urlopen(href if href.startswith("http") else url.rstrip("/") + href, timeout=30) as r:
        dest.write_bytes(r.read())
    return dest


def epubcheck(path: Path) -> None:
    if shutil.which("java") and Path("/usr/share/java/epubcheck.jar").exists():
        check = subprocess.run(["java", "-jar", "/usr/share/java/epubcheck.jar", str(path)], capture_output=True,
                               text=True, timeout=180)
        assert check.returncode == 0, check.stdout[-2000:] + check.stderr[-2000:]


needs_chromium = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                    reason="Debian chromium is not installed (./run setup installs it)")


@needs_chromium
def test_create_book_bible_draft_pick_export_in_a_browser(studio):
    from playwright.sync_api import expect, sync_playwright

    url, ws = studio
    ARTIFACTS = artifacts("basics")
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

    downloaded = download(url, href, ARTIFACTS / "book.epub")
    with zipfile.ZipFile(downloaded) as z:
        assert z.read("mimetype") == b"application/epub+zip"
        body = "".join(z.read(n).decode("utf-8", "ignore") for n in z.namelist() if n.endswith(".xhtml"))
    import html

    words = html.unescape(body)
    assert all(w in words for w in final_text.split()[:5])  # the chapter as the author left it
    stopped = Record.open(ws / "record.sqlite").query("SELECT finish_reason, tokens FROM drafts ORDER BY id DESC LIMIT 2")
    assert {r["finish_reason"] for r in stopped} <= {"stopped", "stop"} and all(r["tokens"] < 1500 for r in stopped)
    epubcheck(downloaded)


@needs_chromium
def test_guided_start_sample_book_versions_and_an_exported_epub(studio):
    """A new author: the first-run panel, the writer's loading state, the sample book, a draft
    picked and edited, a rewrite rejected then accepted as a diff, versions compared and one
    restored, the book reopened on reload, and an EPUB exported after the export's warnings."""
    from playwright.sync_api import expect, sync_playwright

    url, ws = studio
    out = artifacts("start")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            page.goto(url)
            expect(field(page, "whoami")).to_have_value(re.compile("local studio"), timeout=120_000)
            expect(page.locator("#first-run").first).to_contain_text("Start here")
            expect(page.locator("#model-status")).to_contain_text("The writer is ready", timeout=240_000)
            page.screenshot(path=str(out / "1-first-run.png"), full_page=True)

            page.locator("#sample-book").click()
            status = field(page, "draft-status")
            expect(status).to_have_value(re.compile("Created the sample book"), timeout=60_000)
            expect(page.locator("#first-run").first).to_be_hidden()
            expect(field(page, "chapter-picker")).to_have_value("1. The Lowest Tide")
            page.locator("#draft").click()
            expect(status).to_have_value(re.compile("2 candidates ready, written by the base model"), timeout=240_000)
            picked = field(page, "cand-0").input_value()
            page.locator("#pick-0").click()
            expect(status).to_have_value(re.compile("Kept candidate 1 as version"), timeout=60_000)
            chapter = field(page, "chapter-text")
            edited = picked + " The door creaked."
            chapter.fill(edited)  # typing is saved as it happens ...
            page.locator("#save-text").click()  # ... and Save says so
            expect(status).to_have_value(re.compile("aved"), timeout=60_000)

            cut = min(10, len(edited))
            start, end = snap_selection(edited, 0, cut)
            chapter.evaluate(f"el => {{ el.focus(); el.setSelectionRange(0, {cut}); "
                             "el.dispatchEvent(new Event('select', {bubbles: true})); }")
            expect(field(page, "selection-info")).to_have_value(re.compile("words selected"), timeout=30_000)
            page.locator("#rewrite").click()
            expect(status).to_have_value(re.compile("2 candidates ready"), timeout=240_000)
            page.locator("#pick-0").click()
            expect(page.locator("#proposal-diff")).to_contain_text("with the change", timeout=60_000)
            page.locator("#reject-change").click()
            expect(status).to_have_value(re.compile("Rejected: the chapter is unchanged"), timeout=60_000)
            expect(page.locator("#proposal").first).to_be_hidden()
            expect(chapter).to_have_value(edited)
            rewritten = field(page, "cand-1").input_value()
            page.locator("#pick-1").click()
            expect(page.locator("#proposal-diff")).to_contain_text("with the change", timeout=60_000)
            page.screenshot(path=str(out / "2-rewrite-offered.png"), full_page=True)
            page.locator("#accept-change").click()
            expect(status).to_have_value(re.compile("Accepted candidate 2"), timeout=60_000)
            expect(chapter).to_have_value(splice(edited, start, end, rewritten))

            page.get_by_text("Versions of this chapter").click()
            expect(page.locator("#versions-table")).to_contain_text("rewrite", timeout=30_000)
            page.locator("#show-diff").click()  # the last two versions: the edit and the rewrite
            expect(page.locator("#version-diff .df-grid")).to_be_visible(timeout=30_000)
            page.screenshot(path=str(out / "3-versions-diff.png"), full_page=True)
            page.locator("#restore-version").click()  # back to the text before the rewrite
            expect(status).to_have_value(re.compile("Restored version"), timeout=60_000)
            expect(chapter).to_have_value(edited)

            page.reload()  # the book worked on opens again
            expect(field(page, "book-picker")).to_have_value(re.compile("The Door at Low Tide"), timeout=120_000)
            page.get_by_role("tab", name="Draft").click()
            expect(field(page, "chapter-text")).to_have_value(edited, timeout=60_000)

            page.get_by_role("tab", name="Export").click()
            page.locator("#export").click()
            warnings = page.locator("#export-warnings")
            expect(warnings).to_contain_text('chapter 2 "The Other Side" was never drafted', timeout=60_000)
            expect(field(page, "export-status")).to_have_value(re.compile("Not exported yet"))
            page.screenshot(path=str(out / "4-export-warnings.png"), full_page=True)
            page.locator("#export-anyway").click()
            expect(field(page, "export-status")).to_have_value(re.compile(r"Exported .*\.epub"), timeout=120_000)
            link = page.locator("#export-file a").first
            expect(link).to_be_visible(timeout=30_000)
            href = link.get_attribute("href")
        finally:
            browser.close()
    book = download(url, href, out / "sample.epub")
    with zipfile.ZipFile(book) as z:
        body = "".join(z.read(n).decode("utf-8", "ignore") for n in z.namelist() if n.endswith(".xhtml"))
    assert "The Lowest Tide" in body
    epubcheck(book)


def signed_in(browser, url: str, user: str, password: str):
    """A browser page signed in as ``user`` (the login form posts to /login)."""
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    assert context.request.post(url + "login", form={"username": user, "password": password}).ok
    page = context.new_page()
    page.goto(url)
    expect(field(page, "whoami")).to_have_value(user, timeout=120_000)
    return page


def make_builtin_adapter(builtin_dir, path: Path) -> Path:
    """A LoRA adapter for the built-in model as a round leaves it (zero-initialised: it writes
    as the base does, which is all this test needs from it)."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(builtin_dir)
    get_peft_model(base, LoraConfig(r=4, target_modules=["q_proj", "v_proj"])).save_pretrained(path)
    return path


def judge_as(page, rec, category: str) -> None:
    """Judge the shown pair so that it means ``category`` (a, b or tie) whatever side each draft
    was put on: the record says which draft is the item's 'a'."""
    from playwright.sync_api import expect

    left = field(page, "fb-left").input_value()
    progress = field(page, "fb-progress").input_value()
    item = next(i for i in rec.query("SELECT * FROM feedback_items ORDER BY id")
                if left in (rec.get("drafts", i["a_id"])["text"], rec.get("drafts", i["b_id"])["text"]))
    a_left = rec.get("drafts", item["a_id"])["text"] == left
    button = {"a": "left" if a_left else "right", "b": "right" if a_left else "left", "tie": "tie"}[category]
    page.locator(f"#fb-choose-{button}").click()
    expect(field(page, "fb-progress")).not_to_have_value(progress, timeout=60_000)


@needs_chromium
def test_two_signed_in_authors_are_kept_apart_and_judge_the_same_pairs(launch, builtin_dir, tmp_path):
    """Ann and Bob sign in. Bob sees none of Ann's book, pairs, round or exports, and a forged
    request for any of them is refused (his rollback moves only his own writer). Ann asks Bob to
    judge her drafts; both judge the same pairs and see their agreement (Cohen's kappa)."""
    from gradio_client import Client
    from gradio_client.exceptions import AppError
    from playwright.sync_api import expect, sync_playwright
    from writer.models import BUILTIN_NAME

    url, ws = launch("--auth", "ann:pw-a", "--auth", "bob:pw-b")
    out = artifacts("authors")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        try:
            ann = signed_in(browser, url, "ann", "pw-a")
            bob = signed_in(browser, url, "bob", "pw-b")
            ann.locator("#sample-book").click()
            status = field(ann, "draft-status")
            expect(status).to_have_value(re.compile("Created the sample book"), timeout=60_000)
            ann.locator("#draft").click()
            expect(status).to_have_value(re.compile("2 candidates ready"), timeout=240_000)
            ann.locator("#pick-0").click()
            expect(status).to_have_value(re.compile("Kept candidate 1"), timeout=60_000)

            # a finished round in Ann's own lineage, with her pairs, as a studio round records it
            rec = Record.open(ws / "record.sqlite")
            lineage = f"builtin:{BUILTIN_NAME}@author:ann"
            pairs = [r["id"] for r in rec.pairs()]
            rid = rec.add_round(lineage, f"builtin:{BUILTIN_NAME}", None, {})
            rec.finish_round(rid, str(make_builtin_adapter(builtin_dir, tmp_path / "ann-round")),
                             {"loss_last": 0.6, "pairs": len(pairs)}, pairs)
            ann.get_by_role("button", name="Regenerate (new seed)").click()
            expect(status).to_have_value(re.compile(f"2 candidates ready, written by round {rid}"), timeout=240_000)
            book_id = rec.books()[0]["id"]
            draft_id = rec.query("SELECT id FROM drafts ORDER BY id")[0]["id"]
            item_id = rec.outline(book_id)[0]["id"]

            # Bob: nothing of Ann's in his page
            expect(bob.locator("#first-run").first).to_be_visible()
            bob.locator("#book-picker").click()
            expect(bob.get_by_text("The Door at Low Tide")).to_have_count(0)
            bob.get_by_role("tab", name="Classroom").click()
            expect(field(bob, "current-round")).to_have_value(re.compile("base model"), timeout=60_000)
            expect(bob.locator("#rounds-table")).not_to_contain_text("done")
            expect(bob.locator("#pending-table")).not_to_contain_text("pick")
            bob.screenshot(path=str(out / "1-bob-sees-nothing-of-ann.png"), full_page=True)

            # ... and a forged id in any request is refused, with nothing changed
            before = {t: rec.query(f"SELECT * FROM {t}") for t in ("books", "chapters", "pairs", "state", "rounds")}
            client = Client(url, auth=("bob", "pw-b"), verbose=False)
            for api, args in (("/open_book", (book_id,)), ("/save_text", (book_id, item_id, "mine now")),
                              ("/make_current", (rid,)), ("/round_pairs", (rid,)), ("/lineage", (draft_id,)),
                              ("/veto", (pairs[0], "")), ("/export", (book_id, "epub")),
                              ("/export_anyway", (book_id, "epub")), ("/train", (book_id, False, 1, 1e-4, 0.1))):
                with pytest.raises(AppError, match="among your|no round|no draft|not among your"):
                    client.predict(*args, api_name=api)
            assert client.predict("base", api_name="/make_current")[-1].startswith("The base model is now current")
            after = {t: rec.query(f"SELECT * FROM {t}") for t in ("books", "chapters", "pairs", "state", "rounds")}
            assert after["books"] == before["books"] and after["chapters"] == before["chapters"]
            assert after["pairs"] == before["pairs"] and after["rounds"] == before["rounds"]
            assert rec.current_round(lineage)["id"] == rid  # Bob's rollback left Ann's writer alone

            # a feedback session on Ann's book, judged by both
            ann.get_by_role("tab", name="Feedback").click()
            ann.get_by_role("button", name=re.compile("^Start a session")).click()
            field(ann, "fb-raters").fill("bob")
            field(ann, "fb-min-words").fill("1")  # the test drafts only 8 tokens
            ann.locator("#fb-create").click()
            expect(field(ann, "fb-status")).to_have_value(re.compile(r"Session \d+: 2 pairs; readers: ann, bob"),
                                                          timeout=60_000)
            assert "Write chapter" not in field(ann, "fb-prompt").input_value()  # never the internal prompt
            judge_as(ann, rec, "a")
            judge_as(ann, rec, "tie")
            expect(field(ann, "fb-progress")).to_have_value(re.compile("All 2 pairs judged"), timeout=60_000)

            bob.reload()  # the session Ann asked him into is there
            expect(field(bob, "whoami")).to_have_value("bob", timeout=120_000)
            bob.get_by_role("tab", name="Feedback").click()
            bob.locator("#fb-next").click()
            expect(field(bob, "fb-progress")).to_have_value("Pair 1 of 2", timeout=60_000)
            judge_as(bob, rec, "a")
            judge_as(bob, rec, "b")
            # ann [a, tie], bob [a, b]: observed 1/2, by chance 1/4 -> kappa 1/3
            expect(field(bob, "fb-agreement")).to_have_value(re.compile("Cohen's kappa 0.33 over 2 pairs"),
                                                             timeout=60_000)
            bob.screenshot(path=str(out / "2-agreement.png"), full_page=True)
            with pytest.raises(AppError, match="no feedback session"):
                client.predict("bob", rec.query("SELECT id FROM feedback_sessions")[0]["id"], api_name="/feedback_export")
            ann.locator("#fb-next").click()
            ann.locator("#fb-export").click()
            expect(field(ann, "fb-status")).to_have_value(re.compile("Exported 3 preference rows"), timeout=60_000)
        finally:
            browser.close()
