"""The writing studio: a Gradio app where authors steer, pick, train and export.

    scriptorium studio                         # http://127.0.0.1:7860, built-in writer
    scriptorium studio --auth ann:secret --port 8000

    app = build_app(StudioEngine("./ws", model="./tiny"))   # for tests: app.launch(...)

Tabs: Books, Story bible, Outline, Draft, Classroom, Train, Export, Feedback, under a guided
start (shown until the author has a book) and the writer's loading progress. Each tab has its
own status line, so a message stays next to the action that made it. The handlers here only
translate between Gradio components and the plain functions in the tab modules of
``ui.studio`` (which the tests call directly) and check who is signed in; ownership is checked
in those functions, for every id that comes from the page. Model work (drafting, outline
generation, before/after) shares one Gradio concurrency group sized like the engine's model
queue. Story text is shown only in text boxes; HTML pieces are built from escaped text
(``ui.studio.render``, ``ui.studio.versions.diff_html``).
"""

import functools
import html
import inspect
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from record.errors import UserError
from ui.studio import bible as bible_h
from ui.studio import books as books_h
from ui.studio import classroom as class_h
from ui.studio import drafting as draft_h
from ui.studio import export as export_h
from ui.studio import feedback as feedback_h
from ui.studio import outline as outline_h
from ui.studio import panel as panel_h
from ui.studio import start as start_h
from ui.studio import train as train_h
from ui.studio import versions as versions_h
from ui.studio.engine import StudioEngine, StudioError
from ui.studio.render import CSS, progress_html, scores_html

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no network at run time

MODEL_QUEUE = "model"
MAX_K = books_h.MAX_UI_K
COVER_TYPES = [".jpg", ".jpeg", ".png"]


def _user(engine: StudioEngine, request):
    if not engine.auth:
        return None
    name = getattr(request, "username", None)
    if not name:
        raise StudioError("you are not signed in; reload the page and sign in")
    return engine.author(name)


def friendly(fn):
    """Turn a UserError into a Gradio error toast (the message is for the author)."""
    import gradio as gr

    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def gen(*args, **kwargs):
            try:
                yield from fn(*args, **kwargs)
            except UserError as e:
                raise gr.Error(str(e)) from e
        return gen

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except UserError as e:
            raise gr.Error(str(e)) from e
    return wrapper


def _served(path: Path) -> str:
    """A private copy of a file for download: Gradio serves only files under the temp folder or
    the working directory, and a fresh random folder keeps the workspace's paths unexposed."""
    served = Path(tempfile.mkdtemp(prefix="scriptorium-export-")) / path.name
    shutil.copyfile(path, served)
    return str(served)


def _warning_html(title: str, items: list[str]) -> str:
    lis = "".join(f"<li>{html.escape(i)}</li>" for i in items)
    return f'<div class="warn"><b>{html.escape(title)}</b><ul>{lis}</ul></div>'


def build_app(engine: StudioEngine | str | None = None, **engine_kwargs: Any):
    """The Gradio Blocks app over one engine (or a workspace path and engine settings)."""
    import gradio as gr

    if not isinstance(engine, StudioEngine):
        engine = StudioEngine(engine, **engine_kwargs)
    rec = engine.rec

    with gr.Blocks(title="Scriptorium studio") as app:
        app.engine = engine
        gr.Markdown("# Scriptorium studio")
        with gr.Row():
            book_dd = gr.Dropdown(label="Book", choices=[], value=None, interactive=True, scale=4, elem_id="book-picker",
                                  allow_custom_value=True)  # ownership is checked in every handler
            whoami = gr.Textbox(label="Signed in as", interactive=False, scale=1, elem_id="whoami")
        model_status = gr.HTML(start_h.loading_html(engine), elem_id="model-status")
        load_timer = gr.Timer(1.0, active=start_h.is_loading(engine))
        with gr.Group(visible=False, elem_id="first-run") as first_run:
            gr.Markdown(start_h.FIRST_STEPS)
            sample_btn = gr.Button("Try the sample book", variant="primary", elem_id="sample-book")

        with gr.Tabs(elem_id="tabs") as tabs:
            # ---- Books ----------------------------------------------------------------------
            with gr.Tab("Books", id="books"):
                books_status = gr.Textbox(label="Status", interactive=False, elem_id="books-status")
                with gr.Row():
                    title = gr.Textbox(label="Title", elem_id="book-title")
                    author = gr.Textbox(label="Author", elem_id="book-author")
                with gr.Row():
                    language = gr.Dropdown(label="Language", choices=books_h.LANGUAGES, value="en",
                                           allow_custom_value=True)
                    genre = gr.Textbox(label="Genre")
                    preset = gr.Dropdown(label="Style preset", choices=books_h.style_presets(), value="general",
                                         allow_custom_value=True)
                    custom = gr.Textbox(label="Custom style targets over the preset (JSON)",
                                        placeholder='{"grade": [5, 7]}')
                with gr.Row():
                    create_btn = gr.Button("Create book", variant="primary", elem_id="create-book")
                    save_book_btn = gr.Button("Save changes (rename)")
                with gr.Accordion("Delete this book", open=False):
                    confirm = gr.Textbox(label="Type the book's title to confirm")
                    delete_btn = gr.Button("Delete book forever", variant="stop")
                with gr.Accordion("Import a Markdown book", open=False):
                    upload = gr.File(label=f"Markdown file (up to {engine.config.max_upload_mb} MB)",
                                     file_types=export_h.UPLOAD_TYPES, type="filepath")
                    import_btn = gr.Button("Import as a new book")

            # ---- Story bible ----------------------------------------------------------------
            with gr.Tab("Story bible", id="bible"):
                bible_status = gr.Textbox(label="Status", interactive=False, elem_id="bible-status")
                bible_budget = gr.Textbox(label="Prompt budget", interactive=False, elem_id="bible-budget")
                bible_df = gr.Dataframe(headers=bible_h.HEADERS, datatype="str", interactive=False, label="Entries",
                                        elem_id="bible-table", wrap=True, column_widths=["6%", "8%", "12%", "18%", "56%"])
                with gr.Row():
                    entry_id = gr.Number(label="Entry (click a row)", precision=0, value=None)
                    kind = gr.Dropdown(label="Kind", choices=bible_h.KINDS, value="character")
                    name = gr.Textbox(label="Name", elem_id="bible-name")
                    active = gr.Checkbox(label="Active (goes into every prompt)", value=True)
                entry_text = gr.Textbox(label="Text", lines=3, elem_id="bible-text")
                with gr.Row():
                    add_entry_btn = gr.Button("Add entry", variant="primary", elem_id="add-entry")
                    update_entry_btn = gr.Button("Save entry")
                    delete_entry_btn = gr.Button("Delete entry", variant="stop")

            # ---- Outline --------------------------------------------------------------------
            with gr.Tab("Outline", id="outline"):
                outline_status = gr.Textbox(label="Status", interactive=False, elem_id="outline-status")
                outline_df = gr.Dataframe(headers=outline_h.HEADERS, datatype="str", interactive=False,
                                          label="Chapters", wrap=True, column_widths=["7%", "6%", "22%", "53%", "12%"])
                with gr.Row():
                    item_id = gr.Number(label="Item (click a row)", precision=0, value=None)
                    item_title = gr.Textbox(label="Title", elem_id="item-title")
                    item_summary = gr.Textbox(label="Summary (what happens; drafts follow it)", elem_id="item-summary")
                with gr.Row():
                    add_item_btn = gr.Button("Add item", variant="primary", elem_id="add-item")
                    update_item_btn = gr.Button("Save item")
                    up_btn = gr.Button("Move up")
                    down_btn = gr.Button("Move down")
                    delete_item_btn = gr.Button("Delete item", variant="stop")
                with gr.Accordion("Generate an outline from a premise", open=False):
                    premise = gr.Textbox(label="Premise", lines=2)
                    with gr.Row():
                        n_chapters = gr.Slider(1, 20, value=5, step=1, label="Chapters")
                        replace = gr.Checkbox(label="Replace the current outline", value=False)
                        gen_outline_btn = gr.Button("Generate outline")

            # ---- Draft ----------------------------------------------------------------------
            with gr.Tab("Draft", id="draft") as draft_tab:
                draft_status = gr.Textbox(label="Status", interactive=False, elem_id="draft-status")
                with gr.Row():
                    chapter_dd = gr.Dropdown(label="Chapter", choices=[], value=None, scale=3, elem_id="chapter-picker",
                                             allow_custom_value=True)
                    draft_btn = gr.Button("Draft candidates", variant="primary", elem_id="draft")
                    regen_btn = gr.Button("Regenerate (new seed)")
                    stop_btn = gr.Button("Stop", variant="stop", elem_id="stop")
                with gr.Accordion("Sampling and critic weights (remembered for this book)", open=False,
                                  elem_id="sampling"):
                    with gr.Row():
                        k = gr.Slider(1, MAX_K, value=2, step=1, label="Candidates (K)", elem_id="k")
                        temperature = gr.Slider(0, 2, value=0.8, step=0.05, label="Temperature")
                        top_p = gr.Slider(0.05, 1, value=0.95, step=0.05, label="Top-p")
                        rep = gr.Slider(1, 2, value=1.1, step=0.05, label="Repetition penalty")
                        seed = gr.Number(label="Seed", value=0, precision=0)
                        max_new = gr.Number(label="New tokens", value=engine.max_new_tokens, precision=0,
                                            elem_id="max-new")
                    weights_df = gr.Dataframe(headers=["critic", "weight"], datatype=["str", "number"],
                                              interactive=True, row_count=1,
                                              label="Critic weights (0 = off; empty = the panel's defaults)")
                    panel_dd = gr.Dropdown(label="Panel version (`scriptorium critics fit` tunes one to your picks)",
                                           elem_id="panel-version", **panel_h.dropdown(rec))
                cand_cols, cand_boxes, cand_scores, pick_btns = [], [], [], []
                with gr.Row():
                    for i in range(MAX_K):
                        with gr.Column(visible=i < 2, min_width=200) as col:
                            box = gr.Textbox(label=f"Candidate {i + 1}", lines=10, max_lines=30, interactive=False,
                                             elem_id=f"cand-{i}")
                            sc = gr.HTML(value="", elem_id=f"cand-scores-{i}")
                            pb = gr.Button(f"Pick {i + 1}", elem_id=f"pick-{i}")
                        cand_cols.append(col), cand_boxes.append(box), cand_scores.append(sc), pick_btns.append(pb)
                with gr.Group(visible=False, elem_id="proposal") as proposal_group:
                    proposal_html = gr.HTML("", elem_id="proposal-diff")
                    with gr.Row():
                        accept_btn = gr.Button("Accept the change", variant="primary", elem_id="accept-change")
                        reject_btn = gr.Button("Reject it", elem_id="reject-change")
                chapter_box = gr.Textbox(label="Chapter text (edit freely; select a passage to rewrite or expand it)",
                                         lines=14, max_lines=60, interactive=True, elem_id="chapter-text")
                with gr.Row():
                    save_text_btn = gr.Button("Save text", elem_id="save-text")
                    rewrite_btn = gr.Button("Rewrite selection", elem_id="rewrite")
                    expand_btn = gr.Button("Expand selection", elem_id="expand")
                    selection_info = gr.Textbox(label="Selection", interactive=False, elem_id="selection-info")
                with gr.Accordion("Versions of this chapter (compare, restore)", open=False, elem_id="versions"):
                    versions_df = gr.Dataframe(headers=versions_h.HEADERS, datatype="str", interactive=False,
                                               label="Versions, newest first", elem_id="versions-table",
                                               column_widths=versions_h.WIDTHS)
                    with gr.Row():
                        ver_a = gr.Dropdown(label="Version", choices=[], value=None, elem_id="version-a",
                                            allow_custom_value=True)  # checked by versions_h.owned_version
                        ver_b = gr.Dropdown(label="Compared with", choices=[], value=None, elem_id="version-b",
                                            allow_custom_value=True)
                        diff_btn = gr.Button("Show the changes", elem_id="show-diff")
                        restore_btn = gr.Button("Restore this version", elem_id="restore-version")
                    diff_view = gr.HTML("", elem_id="version-diff")
                draft_state = gr.State({})
                selection = gr.State(None)
                proposal = gr.State(None)
                version_state = gr.State(None)  # the version this tab is editing from

            # ---- Classroom ------------------------------------------------------------------
            with gr.Tab("Classroom", id="classroom") as classroom_tab:
                class_status = gr.Textbox(label="Status", interactive=False, elem_id="class-status")
                with gr.Row():
                    class_refresh = gr.Button("Refresh")
                    current_info = gr.Textbox(label="Your drafts are written by", interactive=False,
                                              elem_id="current-round")
                rounds_df = gr.Dataframe(headers=class_h.ROUND_HEADERS, datatype="str", interactive=False,
                                         label="Rounds", column_widths=class_h.ROUND_WIDTHS, elem_id="rounds-table")
                metrics_plot = gr.ScatterPlot(x="round", y="value", color="metric", label="Round metrics", height=340)
                with gr.Row():
                    round_dd = gr.Dropdown(label="Round", choices=[], value=None, elem_id="round-picker",
                                           allow_custom_value=True)  # checked by class_h.owned_round
                    make_current_btn = gr.Button("Make this round current for my drafts (rollback)",
                                                 elem_id="make-current")
                round_pairs_df = gr.Dataframe(headers=class_h.PAIR_HEADERS, datatype="str", interactive=False,
                                              wrap=True, column_widths=class_h.PAIR_WIDTHS,
                                              label="Pairs this round was taught with")
                samples_df = gr.Dataframe(headers=class_h.SAMPLE_HEADERS, datatype="str", interactive=False, wrap=True,
                                          column_widths=["16%", "6%", "39%", "39%"],
                                          label="Before and after this round, on the same prompt and seed")
                sample_round_btn = gr.Button("Draft before/after samples of this round's prompts")
                with gr.Accordion("Before and after: draft a new prompt", open=False):
                    with gr.Row():
                        ba_prompt = gr.Textbox(label="Prompt", scale=3)
                        ba_seed = gr.Number(label="Seed", value=0, precision=0)
                        ba_btn = gr.Button("Draft before and after")
                    ba_label = gr.Textbox(label="Compared", interactive=False)
                    with gr.Row():
                        before_box = gr.Textbox(label="Before", lines=8, interactive=False)
                        after_box = gr.Textbox(label="After", lines=8, interactive=False)
                pending_df = gr.Dataframe(headers=class_h.PAIR_HEADERS, datatype="str", interactive=False, wrap=True,
                                          column_widths=class_h.PAIR_WIDTHS, label="Pending pairs (not yet taught)",
                                          elem_id="pending-table")
                with gr.Row():
                    veto_id = gr.Number(label="Pair", precision=0, value=None)
                    veto_reason = gr.Textbox(label="Why (optional)")
                    veto_btn = gr.Button("Veto", variant="stop")
                    unveto_btn = gr.Button("Lift veto")
                with gr.Accordion("A draft's lineage (round, adapter, prompt, config, scores, pairs)", open=False):
                    with gr.Row():
                        lineage_id = gr.Number(label="Draft (its number is on each candidate)", precision=0,
                                               value=None)
                        lineage_btn = gr.Button("Show the lineage")
                    lineage_box = gr.Textbox(label="Lineage", lines=14, interactive=False, elem_id="lineage")

            # ---- Train ----------------------------------------------------------------------
            with gr.Tab("Train", id="train"):
                gr.Markdown("Teach the writer from this book's picks: one DPO round on a LoRA adapter "
                            "(your own lineage of rounds when you are signed in). The studio stays usable while "
                            "it trains.")
                with gr.Row():
                    use_critic = gr.Checkbox(label="Also use critic pairs", value=False)
                    max_steps = gr.Number(label="Max steps (0 = the recipe's cap; at most one epoch)",
                                          value=0, precision=0)
                    defaults = train_h.round_defaults()
                    lr = gr.Number(label="Learning rate", value=defaults["learning_rate"])
                    beta = gr.Number(label="Beta", value=defaults["beta"])
                    train_btn = gr.Button("Start a round", variant="primary")
                train_progress = gr.HTML(progress_html(0, 0, "no round running"))
                train_plot = gr.LinePlot(x="step", y="value", color="metric", label="Loss and reward", height=340)
                train_msg = gr.Textbox(label="Training", interactive=False, lines=3, elem_id="train-status")
                timer = gr.Timer(1.0, active=False)

            # ---- Export ---------------------------------------------------------------------
            with gr.Tab("Export", id="export"):
                export_status = gr.Textbox(label="Status", interactive=False, elem_id="export-status")
                fmt = gr.Radio(list(export_h.FORMATS), value="epub", label="Format", elem_id="export-format")
                with gr.Accordion("Manuscript details (title page, running header, cover)", open=False,
                                  elem_id="manuscript-details"):
                    with gr.Row():
                        legal_name = gr.Textbox(label="Legal name (title page; empty = the byline)",
                                                elem_id="legal-name")
                        ms_surname = gr.Textbox(label="Running-header surname (empty = from the name)")
                        ms_keyword = gr.Textbox(label="Running-header keyword (empty = from the title)")
                    contact = gr.Textbox(label="Contact block, one line each (address, phone, email)", lines=3,
                                         elem_id="contact")
                    with gr.Row():
                        cover = gr.File(label="Cover (JPEG or PNG, EPUB and PDF)", file_types=COVER_TYPES,
                                        type="filepath")
                        cover_now = gr.Textbox(label="Cover in use", interactive=False)
                        remove_cover = gr.Checkbox(label="Remove the cover", value=False)
                    details_btn = gr.Button("Save the manuscript details", elem_id="save-details")
                export_btn = gr.Button("Export", variant="primary", elem_id="export")
                export_warn = gr.HTML("", elem_id="export-warnings")
                export_anyway = gr.Button("Export anyway", visible=False, elem_id="export-anyway")
                export_file = gr.File(label="Download", interactive=False, elem_id="export-file")

            # ---- Feedback -------------------------------------------------------------------
            with gr.Tab("Feedback", id="feedback"):
                fb_status = gr.Textbox(label="Status", interactive=False, elem_id="fb-status")
                gr.Markdown("Readers judge two drafts of the same chapter, blind: the side each is on is decided "
                            "by a coin. Start a session on your books; ask other authors to judge the same pairs to "
                            "see how much readers agree.")
                with gr.Row():
                    fb_author = gr.Textbox(label="Reader (your name)", interactive=not engine.auth,
                                           elem_id="fb-reader")
                    fb_session_dd = gr.Dropdown(label="Session", choices=[], value=None, elem_id="fb-session",
                                                allow_custom_value=True)
                    fb_next = gr.Button("Next pair", variant="primary", elem_id="fb-next")
                with gr.Accordion("Start a session", open=False, elem_id="fb-new"):
                    with gr.Row():
                        fb_books = gr.Dropdown(label="Books", choices=[], value=[], multiselect=True,
                                               elem_id="fb-books")
                        fb_raters = gr.Textbox(label="Other readers (names, comma-separated; empty = just you)",
                                               elem_id="fb-raters")
                    with gr.Row():
                        fb_min_words = gr.Number(label="Minimum words per draft", value=feedback_h.MIN_WORDS,
                                                 precision=0, elem_id="fb-min-words")
                        fb_limit = gr.Number(label="Pairs", value=20, precision=0)
                        fb_seed = gr.Number(label="Seed (order and sides)", value=0, precision=0)
                        fb_create = gr.Button("Start the session", elem_id="fb-create")
                fb_progress = gr.Textbox(label="Progress", interactive=False, elem_id="fb-progress")
                fb_prompt = gr.Textbox(label="Written for", interactive=False, lines=3, elem_id="fb-prompt")
                with gr.Row():
                    fb_left = gr.Textbox(label="Left", lines=10, interactive=False, elem_id="fb-left")
                    fb_right = gr.Textbox(label="Right", lines=10, interactive=False, elem_id="fb-right")
                with gr.Row():
                    fb_btns = {c: gr.Button(label, elem_id=f"fb-choose-{c}") for c, label in
                               (("left", "Left is better"), ("right", "Right is better"), ("tie", "Tie"),
                                ("both_bad", "Both bad"), ("skip", "Skip"))}
                fb_agree = gr.Textbox(label="Agreement between readers", interactive=False, lines=3,
                                      elem_id="fb-agreement")
                with gr.Row():
                    fb_export = gr.Button("Export the session (TRL preference JSONL)", elem_id="fb-export")
                    fb_files = gr.File(label="Session files", interactive=False, file_count="multiple",
                                       elem_id="fb-files")
                fb_shown = gr.State(None)

        # ================= handlers ===========================================================

        def versions_view(book_id, item, user) -> dict:
            choices = versions_h.version_choices(rec, user, book_id, item) if book_id not in (None, "") else []
            ids = [c[1] for c in choices]
            return {versions_df: versions_h.version_rows(rec, user, book_id, item) if choices else [],
                    ver_a: gr.update(choices=choices, value=ids[1] if len(ids) > 1 else (ids[0] if ids else None)),
                    ver_b: gr.update(choices=choices, value=ids[0] if ids else None), diff_view: ""}

        versions_out = [versions_df, ver_a, ver_b, diff_view]

        def chapter_view(book_id, item, user) -> dict:
            """The chapter's text and versions, and the version this tab now edits from."""
            text = draft_h.chapter_text(engine, user, book_id, item)
            head = None
            if item not in (None, ""):
                chapter = outline_h.chapter_for_item(rec, user, book_id, item)
                head = versions_h.head_version(rec, chapter["id"])
            return {chapter_box: text, version_state: head, **versions_view(book_id, item, user)}

        def book_outputs(book_id, user) -> dict:
            """Everything shown for the open book."""
            sessions = feedback_h.session_choices(rec, user)
            fb = {fb_books: gr.update(choices=books_h.book_choices(rec, user),
                                      value=[int(book_id)] if book_id not in (None, "") else []),
                  fb_session_dd: gr.update(choices=sessions, value=sessions[-1][1] if sessions else None)}
            if book_id in (None, ""):
                return {bible_df: [], outline_df: [], chapter_dd: gr.update(choices=[], value=None),
                        chapter_box: "", bible_budget: "", version_state: None, first_run: gr.update(visible=True),
                        **versions_view(None, None, user), **fb, legal_name: "", contact: "", ms_surname: "",
                        ms_keyword: "", cover_now: ""}
            book = books_h.owned_book(rec, book_id, user)
            books_h.remember_book(rec, user, book["id"])
            outline_h.adopt_chapters(rec, book["id"])
            form = books_h.book_form(book)
            settings = books_h.book_settings(rec, book_id, user)
            s = settings["sampling"]
            chapters = outline_h.chapter_choices(rec, user, book_id)
            first = chapters[0][1] if chapters else None
            weights = [[c, w] for c, w in settings["weights"].items()] or default_weights()
            details = export_h.manuscript_details(rec, user, book_id)
            return {
                title: form["title"], author: form["author"], language: form["language"], genre: form["genre"],
                preset: form["preset"], custom: form["custom"],
                bible_df: bible_h.bible_rows(rec, user, book_id), outline_df: outline_h.outline_rows(rec, user, book_id),
                chapter_dd: gr.update(choices=chapters, value=first),
                **chapter_view(book_id, first, user),
                k: s["k"], temperature: s["temperature"], top_p: s["top_p"], rep: s["repetition_penalty"],
                seed: s["seed"], max_new: s.get("max_new_tokens") or engine.max_new_tokens, weights_df: weights,
                bible_budget: budget_text(book_id, user),
                **{col: gr.update(visible=i < int(s["k"])) for i, col in enumerate(cand_cols)},
                timer: gr.Timer(active=book["id"] in engine.jobs), first_run: gr.update(visible=False),
                legal_name: details["legal_name"], contact: details["contact"], ms_surname: details["surname"],
                ms_keyword: details["keyword"], cover_now: details["cover"], **fb,
            }

        book_view = [title, author, language, genre, preset, custom, bible_df, outline_df, chapter_dd, chapter_box,
                     version_state, *versions_out, k, temperature, top_p, rep, seed, max_new, weights_df, bible_budget,
                     *cand_cols, timer, first_run, legal_name, contact, ms_surname, ms_keyword, cover_now, fb_books,
                     fb_session_dd]

        def default_weights() -> list[list[Any]]:
            try:
                return panel_h.weight_rows(None)
            except ImportError:
                return [["", None]]

        def budget_text(book_id, user) -> str:
            try:
                tok = engine.tokenizer()
                from writer.draft import chat_text

                overhead = len(tok(chat_text(tok, "", books_h.instructions_for(books_h.owned_book(rec, book_id, user))),
                                   add_special_tokens=False)["input_ids"])
                window = int(engine.context_window())
                new = books_h.book_settings(rec, book_id, user)["sampling"].get("max_new_tokens") or engine.max_new_tokens
                budget = window - int(new) - overhead
                used, _ = bible_h.bible_budget(rec, user, book_id, tok, budget)
            except UserError as e:
                return f"token budget unavailable: {e}"
            return f"Active entries use {used} tokens of the {budget}-token prompt budget ({window}-token context)."

        @friendly
        def on_load(request: gr.Request):
            user = _user(engine, request)
            choices = books_h.book_choices(rec, user)
            value = books_h.last_book(rec, user)
            who = "(no sign-in: local studio)" if user is None else (user + (" (admin)" if user.admin else ""))
            return {book_dd: gr.update(choices=choices, value=value), whoami: who, fb_author: user or "",
                    model_status: start_h.loading_html(engine), load_timer: gr.Timer(active=start_h.is_loading(engine)),
                    **book_outputs(value, user)}

        app.load(on_load, None, [book_dd, whoami, fb_author, model_status, load_timer, *book_view], api_name="load")

        def on_load_tick():
            return start_h.loading_html(engine), gr.Timer(active=start_h.is_loading(engine))

        load_timer.tick(on_load_tick, None, [model_status, load_timer], show_progress="hidden",
                        api_name="model_status")

        @friendly
        def on_book(book_id, request: gr.Request):
            return book_outputs(book_id, _user(engine, request))

        book_dd.input(on_book, book_dd, book_view, api_name="open_book")

        def refreshed(user, book_id, message, box=books_status) -> dict:
            return {book_dd: gr.update(choices=books_h.book_choices(rec, user), value=book_id), box: message,
                    **book_outputs(book_id, user)}

        @friendly
        def on_sample(request: gr.Request):
            user = _user(engine, request)
            book = start_h.sample_book(rec, user)
            out = refreshed(user, book["id"], f"Created the sample book \"{book['title']}\": its bible and a "
                                              "three-chapter outline are ready. Press 'Draft candidates'.",
                            box=draft_status)
            return {**out, tabs: gr.Tabs(selected="draft")}

        sample_btn.click(on_sample, None, [book_dd, draft_status, tabs, *book_view], api_name="sample_book")

        @friendly
        def on_create(t, a, lang, g, p, c, request: gr.Request):
            user = _user(engine, request)
            book = books_h.create_book(rec, user, t, a, lang, g, p, c)
            return refreshed(user, book["id"], f"Created \"{book['title']}\".")

        create_btn.click(on_create, [title, author, language, genre, preset, custom],
                         [book_dd, books_status, *book_view], api_name="create_book")

        @friendly
        def on_save_book(book_id, t, a, lang, g, p, c, request: gr.Request):
            user = _user(engine, request)
            book = books_h.update_book(rec, user, book_id, t, a, lang, g, p, c)
            return refreshed(user, book["id"], f"Saved \"{book['title']}\".")

        save_book_btn.click(on_save_book, [book_dd, title, author, language, genre, preset, custom],
                            [book_dd, books_status, *book_view], api_name="save_book")

        @friendly
        def on_delete(book_id, typed, request: gr.Request):
            user = _user(engine, request)
            gone = books_h.delete_book(rec, user, book_id, typed)
            return {**refreshed(user, books_h.last_book(rec, user), f"Deleted \"{gone}\"."), confirm: ""}

        delete_btn.click(on_delete, [book_dd, confirm], [book_dd, books_status, confirm, *book_view],
                         api_name="delete_book")

        @friendly
        def on_import(path, request: gr.Request):
            user = _user(engine, request)
            book_id = export_h.import_upload(engine, user, path)
            return refreshed(user, book_id, f"Imported as book {book_id}.")

        import_btn.click(on_import, upload, [book_dd, books_status, *book_view])

        # bible
        def bible_view(book_id, user, message):
            return {bible_df: bible_h.bible_rows(rec, user, book_id), bible_budget: budget_text(book_id, user),
                    bible_status: message}

        @friendly
        def on_add_entry(book_id, kd, nm, tx, act, request: gr.Request):
            user = _user(engine, request)
            bible_h.add_entry(rec, user, book_id, kd, nm, tx, act)
            return {**bible_view(book_id, user, f"Added {kd} \"{nm.strip()}\"."), name: "", entry_text: ""}

        add_entry_btn.click(on_add_entry, [book_dd, kind, name, entry_text, active],
                            [bible_df, bible_budget, bible_status, name, entry_text], api_name="add_entry")

        @friendly
        def on_update_entry(book_id, eid, kd, nm, tx, act, request: gr.Request):
            user = _user(engine, request)
            bible_h.update_entry(rec, user, book_id, eid, kd, nm, tx, act)
            return bible_view(book_id, user, f"Saved entry {int(eid)}.")

        update_entry_btn.click(on_update_entry, [book_dd, entry_id, kind, name, entry_text, active],
                               [bible_df, bible_budget, bible_status], api_name="update_entry")

        @friendly
        def on_delete_entry(book_id, eid, request: gr.Request):
            user = _user(engine, request)
            bible_h.delete_entry(rec, user, book_id, eid)
            return bible_view(book_id, user, f"Deleted entry {int(eid)}.")

        delete_entry_btn.click(on_delete_entry, [book_dd, entry_id], [bible_df, bible_budget, bible_status],
                               api_name="delete_entry")

        def on_bible_select(evt: gr.SelectData):
            row = evt.row_value or []
            if len(row) < 5:
                return {}
            return {entry_id: int(row[0]), active: row[1] == "yes", kind: row[2], name: row[3], entry_text: row[4]}

        bible_df.select(on_bible_select, None, [entry_id, active, kind, name, entry_text])

        # outline
        def outline_view(book_id, user, message, keep_item=None):
            chapters = outline_h.chapter_choices(rec, user, book_id)
            ids = [c[1] for c in chapters]
            return {outline_df: outline_h.outline_rows(rec, user, book_id), outline_status: message,
                    chapter_dd: gr.update(choices=chapters, value=keep_item if keep_item in ids else (ids[0] if ids else None))}

        outline_view_out = [outline_df, outline_status, chapter_dd]

        @friendly
        def on_add_item(book_id, t, s, request: gr.Request):
            user = _user(engine, request)
            new = outline_h.add_item(rec, user, book_id, t, s)
            return {**outline_view(book_id, user, f"Added chapter \"{t.strip()}\".", new), item_title: "",
                    item_summary: "", item_id: None}

        add_item_btn.click(on_add_item, [book_dd, item_title, item_summary],
                           [*outline_view_out, item_title, item_summary, item_id], api_name="add_item")

        @friendly
        def on_update_item(book_id, iid, t, s, request: gr.Request):
            user = _user(engine, request)
            outline_h.update_item(rec, user, book_id, iid, t, s)
            return outline_view(book_id, user, "Saved the outline item.", int(iid))

        update_item_btn.click(on_update_item, [book_dd, item_id, item_title, item_summary], outline_view_out,
                              api_name="update_item")

        def mover(step):
            @friendly
            def on_move(book_id, iid, request: gr.Request):
                user = _user(engine, request)
                outline_h.move_item(rec, user, book_id, iid, step)
                return outline_view(book_id, user, "Moved.", int(iid))
            return on_move

        up_btn.click(mover(-1), [book_dd, item_id], outline_view_out, api_name="move_up")
        down_btn.click(mover(1), [book_dd, item_id], outline_view_out, api_name="move_down")

        @friendly
        def on_delete_item(book_id, iid, request: gr.Request):
            user = _user(engine, request)
            outline_h.delete_item(rec, user, book_id, iid)
            return outline_view(book_id, user, "Deleted the outline item and its chapter (its versions are kept).")

        delete_item_btn.click(on_delete_item, [book_dd, item_id], outline_view_out, api_name="delete_item")

        def on_outline_select(evt: gr.SelectData):
            row = evt.row_value or []
            if len(row) < 4:
                return {}
            return {item_id: int(row[0]), item_title: row[2], item_summary: row[3]}

        outline_df.select(on_outline_select, None, [item_id, item_title, item_summary])

        @friendly
        def on_gen_outline(book_id, pr, n, rp, sd, request: gr.Request):
            user = _user(engine, request)
            items = outline_h.generate_outline(engine, user, book_id, pr, int(n), int(sd or 0), bool(rp))
            fewer = f" (you asked for {int(n)}; add the rest yourself)" if len(items) < int(n) else ""
            return outline_view(book_id, user, f"The writer proposed {len(items)} chapters{fewer}; edit them freely.")

        gen_outline_btn.click(on_gen_outline, [book_dd, premise, n_chapters, replace, seed], outline_view_out,
                              concurrency_id=MODEL_QUEUE, concurrency_limit=engine.concurrency,
                              api_name="generate_outline")

        # drafting
        def sampling_of(kv, tv, pv, rv, sv, mv) -> dict:
            return {"k": int(kv), "temperature": float(tv), "top_p": float(pv), "repetition_penalty": float(rv),
                    "seed": int(sv or 0), "max_new_tokens": int(mv or engine.max_new_tokens)}

        def weights_of(frame) -> dict[str, float]:
            rows = frame.values.tolist() if hasattr(frame, "values") else (frame or [])
            out = {}
            for row in rows:
                if len(row) >= 2 and str(row[0] or "").strip() and row[1] not in (None, ""):
                    try:
                        out[str(row[0]).strip()] = float(row[1])
                    except (TypeError, ValueError):
                        raise StudioError(f"critic weight for {row[0]} must be a number") from None
            return out

        draft_outputs = [*cand_boxes, *cand_scores, *cand_cols, draft_status, draft_state, chapter_dd]

        def run_drafting(book_id, item, kv, tv, pv, rv, sv, mv, frame, mode, passage, sel, text, request):
            user = _user(engine, request)
            sampling = sampling_of(kv, tv, pv, rv, sv, mv)
            books_h.save_settings(rec, book_id, user, sampling=sampling, weights=weights_of(frame))
            n = sampling["k"]
            for upd in draft_h.stream_candidates(engine, request.session_hash, user, book_id, item, sampling, mode,
                                                 passage or "", text or ""):
                texts = upd["texts"] + [""] * (MAX_K - len(upd["texts"]))
                out = {**{box: texts[i] for i, box in enumerate(cand_boxes)},
                       **{col: gr.update(visible=i < n) for i, col in enumerate(cand_cols)},
                       draft_status: upd["message"]}
                if "draft_ids" in upd:
                    by = f"round {upd['round_id']}" if upd["round_id"] else "base model"
                    for i, sc in enumerate(cand_scores):
                        out[sc] = (f'<div class="sc-who">draft {upd["draft_ids"][i]}, written by {html.escape(by)}</div>'
                                   + scores_html(upd["scores"][i], upd["guards"][i])) if i < len(upd["scores"]) else ""
                    out[draft_state] = {"draft_ids": upd["draft_ids"], "mode": mode, "selection": sel,
                                        "item": upd["item_id"]}
                    if item in (None, ""):
                        out[chapter_dd] = gr.update(choices=outline_h.chapter_choices(rec, user, book_id),
                                                    value=upd["item_id"])
                else:
                    for sc in cand_scores:
                        out[sc] = ""
                yield out

        draft_inputs = [book_dd, chapter_dd, k, temperature, top_p, rep, seed, max_new, weights_df]

        def clear_candidates():
            """Drafting starts: the old candidates go at once (before the model queue is reached)."""
            return {**{box: "" for box in cand_boxes},
                    **{sc: "" for sc in cand_scores}, draft_state: {}, proposal: None,
                    proposal_group: gr.update(visible=False), draft_status: "Starting..."}

        clear_out = [*cand_boxes, *cand_scores, draft_state, proposal, proposal_group, draft_status]

        @friendly
        def on_settings(book_id, kv, tv, pv, rv, sv, mv, frame, request: gr.Request):
            """Sampling settings and critic weights are the book's as soon as the author changes them."""
            if book_id in (None, ""):
                return
            books_h.save_settings(rec, book_id, _user(engine, request), sampling=sampling_of(kv, tv, pv, rv, sv, mv),
                                  weights=weights_of(frame))

        settings_inputs = [book_dd, k, temperature, top_p, rep, seed, max_new, weights_df]
        for control in (k, temperature, top_p, rep, seed, max_new, weights_df):
            control.input(on_settings, settings_inputs, None, trigger_mode="always_last", show_progress="hidden")
        panel_dd.input(friendly(lambda choice: panel_h.switch(rec, choice)), panel_dd, weights_df, api_name="use_panel")
        # versions fitted since the page was built (`scriptorium critics fit` in another shell) appear
        # whenever the Draft tab is opened; an update (not a dict, which would be taken as the value)
        draft_tab.select(lambda: gr.update(**panel_h.dropdown(rec)), None, panel_dd, show_progress="hidden",
                         api_name="panel_versions")

        @friendly
        def on_draft(book_id, item, kv, tv, pv, rv, sv, mv, frame, request: gr.Request):
            yield from run_drafting(book_id, item, kv, tv, pv, rv, sv, mv, frame, "chapter", "", None, "", request)

        draft_btn.click(clear_candidates, None, clear_out, queue=False, api_visibility="private").then(
            on_draft, draft_inputs, draft_outputs, concurrency_id=MODEL_QUEUE, concurrency_limit=engine.concurrency,
            api_name="draft")
        regen_btn.click(lambda s: int(s or 0) + 1, seed, seed).then(
            clear_candidates, None, clear_out, queue=False).then(
            on_draft, draft_inputs, draft_outputs, concurrency_id=MODEL_QUEUE, concurrency_limit=engine.concurrency)

        def passage_drafter(mode):
            @friendly
            def on_passage(book_id, item, kv, tv, pv, rv, sv, mv, frame, sel, text, request: gr.Request):
                if not sel:
                    raise StudioError("select a passage in the chapter text first (drag over it)")
                yield from run_drafting(book_id, item, kv, tv, pv, rv, sv, mv, frame, mode, sel[2], sel, text, request)
            return on_passage

        for btn, mode in ((rewrite_btn, "rewrite"), (expand_btn, "expand")):
            btn.click(clear_candidates, None, clear_out, queue=False, api_visibility="private").then(
                passage_drafter(mode), [*draft_inputs, selection, chapter_box], draft_outputs,
                concurrency_id=MODEL_QUEUE, concurrency_limit=engine.concurrency, api_name=mode)

        def on_stop(request: gr.Request):
            stopped = engine.stop(request.session_hash)
            return "Stopping: the candidates so far are kept." if stopped else "Nothing is drafting."

        stop_btn.click(on_stop, None, draft_status, queue=False, api_name="stop")

        def on_select_text(text, evt: gr.SelectData):
            idx = evt.index if isinstance(evt.index, (list, tuple)) else None
            if not idx or len(idx) != 2 or idx[0] == idx[1]:
                return None, ""
            text = text or ""
            start, end = draft_h.snap_selection(text, int(idx[0]), int(idx[1]))
            if start == end:
                return None, ""
            piece = text[start:end]
            grown = " (grown to whole words or sentences)" if (start, end) != (int(idx[0]), int(idx[1])) else ""
            return [start, end, piece], f"{len(piece.split())} words selected{grown}"

        chapter_box.select(on_select_text, chapter_box, [selection, selection_info])

        pick_out = [chapter_box, draft_status, selection, selection_info, proposal, proposal_group, proposal_html,
                    version_state, *versions_out]

        def picker(i):
            @friendly
            def on_pick(book_id, state, text, base, request: gr.Request):
                user = _user(engine, request)
                state = state or {}
                if not state.get("draft_ids"):
                    raise StudioError("there are no candidates to pick from; draft first")
                mode = state.get("mode", "chapter")
                if mode != "chapter":  # a passage: shown as a change to accept or reject
                    out = draft_h.propose(engine, user, book_id, state["item"], state["draft_ids"], i, text, mode,
                                          state.get("selection"))
                    return {draft_status: out["message"], proposal: {**state, "index": i, "text": text},
                            proposal_group: gr.update(visible=True),
                            proposal_html: versions_h.diff_html(out["before"], out["text"], "now", "with the change")}
                out = draft_h.pick(engine, user, book_id, state["item"], state["draft_ids"], i, text, mode,
                                   session=request.session_hash, base_version=base)
                return {chapter_box: out["text"], draft_status: out["message"], selection: None, selection_info: "",
                        version_state: out["version"], **versions_view(book_id, state["item"], user)}
            return on_pick

        for i, pb in enumerate(pick_btns):
            pb.click(picker(i), [book_dd, draft_state, chapter_box, version_state], pick_out, api_name=f"pick_{i + 1}")

        @friendly
        def on_accept(book_id, prop, base, request: gr.Request):
            user = _user(engine, request)
            if not prop:
                raise StudioError("there is no change to accept; pick a candidate first")
            out = draft_h.pick(engine, user, book_id, prop["item"], prop["draft_ids"], prop["index"], prop["text"],
                               prop["mode"], prop.get("selection"), session=request.session_hash, base_version=base)
            return {chapter_box: out["text"], draft_status: out["message"].replace("Kept", "Accepted"),
                    selection: None, selection_info: "", proposal: None, proposal_group: gr.update(visible=False),
                    proposal_html: "", version_state: out["version"], **versions_view(book_id, prop["item"], user)}

        accept_btn.click(on_accept, [book_dd, proposal, version_state], pick_out, api_name="accept_change")

        def on_reject():
            return {draft_status: "Rejected: the chapter is unchanged (the candidates stay; pick another if you like).",
                    proposal: None, proposal_group: gr.update(visible=False), proposal_html: ""}

        reject_btn.click(on_reject, None, [draft_status, proposal, proposal_group, proposal_html],
                         api_name="reject_change")

        @friendly
        def on_save_text(book_id, item, text, base, request: gr.Request):
            user = _user(engine, request)
            out = versions_h.save(rec, user, book_id, item, text, session=request.session_hash, base=base)
            return {draft_status: out["message"], version_state: out["version"], **versions_view(book_id, item, user)}

        save_text_btn.click(on_save_text, [book_dd, chapter_dd, chapter_box, version_state],
                            [draft_status, version_state, *versions_out], api_name="save_text")

        def on_autosave(book_id, item, text, base, request: gr.Request):
            """Typing is saved as it happens: a closed tab loses nothing."""
            if book_id in (None, "") or item in (None, ""):
                return gr.skip(), gr.skip()
            try:
                out = versions_h.save(rec, _user(engine, request), book_id, item, text, session=request.session_hash,
                                      base=base, autosave=True)
            except UserError:
                return gr.skip(), gr.skip()  # the book or chapter is gone; the Save button reports why
            return out["version"], (out["message"] if out["conflict"] else gr.skip())

        chapter_box.input(on_autosave, [book_dd, chapter_dd, chapter_box, version_state],
                          [version_state, draft_status], trigger_mode="always_last", show_progress="hidden",
                          api_name="autosave")

        @friendly
        def on_chapter(book_id, item, request: gr.Request):
            user = _user(engine, request)
            return {**chapter_view(book_id, item, user), proposal: None, proposal_group: gr.update(visible=False)}

        chapter_dd.input(on_chapter, [book_dd, chapter_dd],
                         [chapter_box, version_state, *versions_out, proposal, proposal_group], api_name="open_chapter")
        k.release(lambda kv: [gr.update(visible=i < int(kv)) for i in range(MAX_K)], k, cand_cols)

        @friendly
        def on_diff(a, b, request: gr.Request):
            user = _user(engine, request)
            if a in (None, "") or b in (None, ""):
                raise StudioError("choose two versions to compare")
            old, new = versions_h.texts_of(rec, user, a, b)
            return versions_h.diff_html(old, new, f"version {a}", f"version {b}")

        diff_btn.click(on_diff, [ver_a, ver_b], diff_view, api_name="diff_versions")

        @friendly
        def on_restore(book_id, v, base, request: gr.Request):
            user = _user(engine, request)
            out = versions_h.restore(rec, user, v, session=request.session_hash, base=base)
            return {chapter_box: out["text"], draft_status: out["message"], version_state: out["version"],
                    chapter_dd: gr.update(value=out["item_id"]), **versions_view(book_id, out["item_id"], user)}

        restore_btn.click(on_restore, [book_dd, ver_a, version_state],
                          [chapter_box, draft_status, version_state, chapter_dd, *versions_out],
                          api_name="restore_version")

        # classroom
        @friendly
        def on_class_refresh(request: gr.Request):
            user = _user(engine, request)
            metrics = class_h.metrics_frame(engine, user)
            return {rounds_df: class_h.rounds_rows(engine, user), metrics_plot: None if metrics.empty else metrics,
                    round_dd: gr.update(choices=class_h.round_choices(engine, user)),
                    pending_df: class_h.pending_rows(rec, user), current_info: class_h.current_label(engine, user)}

        class_out = [rounds_df, metrics_plot, round_dd, pending_df, current_info]
        class_refresh.click(on_class_refresh, None, class_out, api_name="classroom")
        classroom_tab.select(on_class_refresh, None, class_out)

        @friendly
        def on_round(rid, request: gr.Request):
            user = _user(engine, request)
            rid = None if rid in (None, "base") else rid
            return class_h.round_pair_rows(engine, user, rid), class_h.recorded_samples(engine, user, rid)

        round_dd.input(on_round, round_dd, [round_pairs_df, samples_df], api_name="round_pairs")

        @friendly
        def on_make_current(rid, request: gr.Request):
            message = class_h.make_current(engine, _user(engine, request), rid)
            return {**on_class_refresh(request), class_status: message}

        make_current_btn.click(on_make_current, round_dd, [*class_out, class_status], api_name="make_current")

        @friendly
        def on_sample_round(rid, request: gr.Request):
            user = _user(engine, request)
            if rid in (None, "", "base"):
                raise StudioError("pick a trained round first")
            n = class_h.sample_round(engine, user, rid)
            return class_h.recorded_samples(engine, user, rid), f"Drafted {n} prompt(s) before and after round {rid}."

        sample_round_btn.click(on_sample_round, round_dd, [samples_df, class_status], concurrency_id=MODEL_QUEUE,
                               concurrency_limit=engine.concurrency, api_name="sample_round")

        @friendly
        def on_before_after(rid, pr, sd, request: gr.Request):
            return class_h.before_after(engine, _user(engine, request), rid, pr, int(sd or 0))

        ba_btn.click(on_before_after, [round_dd, ba_prompt, ba_seed], [before_box, after_box, ba_label],
                     concurrency_id=MODEL_QUEUE, concurrency_limit=engine.concurrency, api_name="before_after")

        def vetoer(flag):
            @friendly
            def on_veto(pid, why, request: gr.Request):
                user = _user(engine, request)
                message = class_h.veto(rec, user, pid, why, vetoed=flag)
                return class_h.pending_rows(rec, user), message
            return on_veto

        veto_btn.click(vetoer(True), [veto_id, veto_reason], [pending_df, class_status], api_name="veto")
        unveto_btn.click(vetoer(False), [veto_id, veto_reason], [pending_df, class_status], api_name="lift_veto")

        @friendly
        def on_lineage(did, request: gr.Request):
            return class_h.lineage_text(engine, _user(engine, request), did)

        lineage_btn.click(on_lineage, lineage_id, lineage_box, api_name="lineage")

        # training
        @friendly
        def on_train(book_id, critic_pairs, steps, rate, b, request: gr.Request):
            job = train_h.start_round(engine, _user(engine, request), book_id, bool(critic_pairs), int(steps or 0),
                                      learning_rate=rate, beta=b)  # an emptied field: the default
            return (f"Training a round on {len(job.pair_ids)} pairs in the background...", gr.Timer(active=True),
                    progress_html(0, 1, "starting"))

        train_btn.click(on_train, [book_dd, use_critic, max_steps, lr, beta], [train_msg, timer, train_progress],
                        api_name="train")

        def on_tick(book_id, request: gr.Request):
            try:
                job = train_h.job_for(engine, _user(engine, request), book_id)
            except UserError:
                job = None
            if job is None:
                return gr.skip(), gr.skip(), gr.skip(), gr.Timer(active=False)
            snap = job.snapshot()
            plot = train_h.history_frame(snap["history"])
            plot = gr.skip() if plot.empty else plot  # an empty first frame leaves the chart without colours
            if snap["state"] == "done":
                return (progress_html(snap["total"] or 1, snap["total"] or 1, "done"), plot, snap["summary"],
                        gr.Timer(active=False))
            if snap["state"] == "failed":
                return progress_html(snap["step"], snap["total"], "failed"), plot, f"The round failed: {snap['error']}", \
                    gr.Timer(active=False)
            if snap["state"] == "sampling":
                return (progress_html(snap["total"] or 1, snap["total"] or 1, "trained; drafting before/after samples"),
                        plot, f"Round {snap['round_id']} is trained; drafting before/after samples for the Classroom...",
                        gr.skip())
            return (progress_html(snap["step"], snap["total"], "training: step"), plot,
                    f"Training on {snap['pairs']} pairs: step {snap['step']} of {snap['total'] or '?'}", gr.skip())

        timer.tick(on_tick, book_dd, [train_progress, train_plot, train_msg, timer], api_name="train_progress")

        # export
        def do_export(book_id, f, user) -> dict:
            path = export_h.export(engine, user, book_id, f)
            return {export_file: _served(path), export_status: f"Exported {path.name} (kept in {path.parent}).",
                    export_warn: "", export_anyway: gr.update(visible=False)}

        export_out = [export_file, export_status, export_warn, export_anyway]

        @friendly
        def on_export(book_id, f, request: gr.Request):
            user = _user(engine, request)
            problems = export_h.export_problems(rec, user, book_id)
            if problems:
                return {export_file: None, export_warn: _warning_html("Before you export:", problems),
                        export_anyway: gr.update(visible=True),
                        export_status: f"Not exported yet: {len(problems)} thing(s) to check (listed below). "
                                       "Press 'Export anyway' to go on."}
            return do_export(book_id, f, user)

        export_btn.click(on_export, [book_dd, fmt], export_out, api_name="export")

        @friendly
        def on_export_anyway(book_id, f, request: gr.Request):
            return do_export(book_id, f, _user(engine, request))

        export_anyway.click(on_export_anyway, [book_dd, fmt], export_out, api_name="export_anyway")

        @friendly
        def on_details(book_id, ln, ct, sn, kw, cv, rm, request: gr.Request):
            user = _user(engine, request)
            message = export_h.save_details(engine, user, book_id, ln, ct, sn, kw, cv, bool(rm))
            details = export_h.manuscript_details(rec, user, book_id)
            return message, details["cover"], None, False

        details_btn.click(on_details, [book_dd, legal_name, contact, ms_surname, ms_keyword, cover, remove_cover],
                          [export_status, cover_now, cover, remove_cover], api_name="save_details")

        # feedback
        def fb_view(user, who, sid, message=None) -> dict:
            shown = feedback_h.next_item(rec, user, who, sid)
            ag = feedback_h.agreement_text(feedback_h.agreement(rec, int(sid)))
            if shown is None:
                done, total = feedback_h.progress(rec, int(sid), feedback_h._who(user, who))
                return {fb_shown: None, fb_prompt: "", fb_left: "", fb_right: "", fb_agree: ag,
                        fb_progress: f"All {total} pairs judged. Thank you!",
                        fb_status: message or "Nothing left to judge in this session."}
            return {fb_shown: shown, fb_prompt: shown["shown"], fb_left: shown["left_text"],
                    fb_right: shown["right_text"], fb_agree: ag,
                    fb_progress: f"Pair {shown['position']} of {shown['total']}", fb_status: message or ""}

        fb_out = [fb_shown, fb_prompt, fb_left, fb_right, fb_agree, fb_progress, fb_status]

        @friendly
        def on_fb_create(books, raters, mw, lim, sd, who, request: gr.Request):
            user = _user(engine, request)
            names = [r.strip() for r in (raters or "").replace(";", ",").split(",") if r.strip()]
            s = feedback_h.create_session(rec, user, books or [], raters=names, min_words=int(mw or 0),
                                          limit=int(lim or 20), seed=int(sd or 0))
            readers = ", ".join(s["config"]["raters"]) or "you"
            message = f"Session {s['id']}: {s['items']} pairs; readers: {readers}."
            out = fb_view(user, who, s["id"], message) if (user is not None or (who or "").strip()) else {
                fb_status: message + " Type your name in 'Reader' and press 'Next pair'."}
            return {**out, fb_session_dd: gr.update(choices=feedback_h.session_choices(rec, user), value=s["id"])}

        fb_create.click(on_fb_create, [fb_books, fb_raters, fb_min_words, fb_limit, fb_seed, fb_author],
                        [*fb_out, fb_session_dd], api_name="feedback_session")

        @friendly
        def on_fb_next(who, sid, request: gr.Request):
            return fb_view(_user(engine, request), who, sid)

        fb_next.click(on_fb_next, [fb_author, fb_session_dd], fb_out, api_name="feedback_next")
        fb_session_dd.input(on_fb_next, [fb_author, fb_session_dd], fb_out)

        def chooser(choice):
            @friendly
            def on_choice(who, sid, shown, request: gr.Request):
                user = _user(engine, request)
                if not shown:
                    raise StudioError("press 'Next pair' to be shown two drafts first")
                message = feedback_h.judge(rec, user, who, shown["session_id"], shown["item_id"], choice)
                return fb_view(user, who, shown["session_id"], message)
            return on_choice

        for c, btn in fb_btns.items():
            btn.click(chooser(c), [fb_author, fb_session_dd, fb_shown], fb_out, api_name=f"feedback_{c}")

        @friendly
        def on_fb_export(who, sid, request: gr.Request):
            user = _user(engine, request)
            jsonl, meta = feedback_h.export_session(engine, user, who, sid)
            n = sum(1 for _ in open(jsonl, encoding="utf-8"))
            return [_served(jsonl), _served(meta)], f"Exported {n} preference rows ({jsonl.name}) and the agreement."

        fb_export.click(on_fb_export, [fb_author, fb_session_dd], [fb_files, fb_status], api_name="feedback_export")

    return app


def launch(app, host: str = "127.0.0.1", port: int = 7860, auth=None,
           prevent_thread_lock: bool = False, max_threads: int = 40):
    """Serve the app: one queue, bound to ``host`` (localhost unless told otherwise)."""
    app.queue(default_concurrency_limit=8, max_size=256)
    upload_limit = f"{app.engine.config.max_upload_mb}mb"
    return app.launch(server_name=host, server_port=port, auth=auth, max_file_size=upload_limit,
                      prevent_thread_lock=prevent_thread_lock, max_threads=max_threads, share=False,
                      show_error=True, css=CSS, quiet=True, ssr_mode=False)
