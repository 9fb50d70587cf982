"""The writing studio: a Gradio app where authors steer, pick, train and export.

    scriptorium studio                         # http://127.0.0.1:7860, built-in writer
    scriptorium studio --auth ann:secret --port 8000

    app = build_app(StudioEngine("./ws", model="./tiny"))   # for tests: app.launch(...)

Tabs: Books, Story bible, Outline, Draft, Classroom, Train, Export, Feedback. The handlers here
only translate between Gradio components and the plain functions in the tab modules of ``ui.studio`` (which
the tests call directly). Model work (drafting, outline generation, before/after) shares one
Gradio concurrency group sized like the engine's model queue. Story text is shown only in text
boxes; HTML pieces are built from escaped text (``ui.studio.render``).
"""

import functools
import inspect
import os
import random
import shutil
import tempfile
import uuid
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
from ui.studio import train as train_h
from ui.studio.engine import StudioEngine, StudioError
from ui.studio.render import CSS, progress_html, scores_html

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no network at run time

MODEL_QUEUE = "model"
MAX_K = books_h.MAX_UI_K


def _user(engine: StudioEngine, request) -> str | None:
    if not engine.auth:
        return None
    name = getattr(request, "username", None)
    if not name:
        raise StudioError("you are not signed in; reload the page and sign in")
    return name


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
        status = gr.Textbox(label="Status", interactive=False, elem_id="status")

        # ---- Books ------------------------------------------------------------------------
        with gr.Tab("Books", id="books"):
            with gr.Row():
                title = gr.Textbox(label="Title", elem_id="book-title")
                author = gr.Textbox(label="Author", elem_id="book-author")
            with gr.Row():
                language = gr.Dropdown(label="Language", choices=books_h.LANGUAGES, value="en", allow_custom_value=True)
                genre = gr.Textbox(label="Genre")
                preset = gr.Dropdown(label="Style preset", choices=books_h.style_presets(), value="general",
                                     allow_custom_value=True)
                custom = gr.Textbox(label="Custom style targets over the preset (JSON)", placeholder='{"grade": [5, 7]}')
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

        # ---- Story bible --------------------------------------------------------------------
        with gr.Tab("Story bible", id="bible"):
            bible_budget = gr.Textbox(label="Prompt budget", interactive=False, elem_id="bible-budget")
            bible_df = gr.Dataframe(headers=bible_h.HEADERS, datatype="str", interactive=False, label="Entries",
                                    elem_id="bible-table")
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

        # ---- Outline ------------------------------------------------------------------------
        with gr.Tab("Outline", id="outline"):
            outline_df = gr.Dataframe(headers=outline_h.HEADERS, datatype="str", interactive=False, label="Chapters")
            with gr.Row():
                item_id = gr.Number(label="Item (click a row)", precision=0, value=None)
                item_title = gr.Textbox(label="Title")
                item_summary = gr.Textbox(label="Summary")
            with gr.Row():
                add_item_btn = gr.Button("Add item", variant="primary")
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

        # ---- Draft --------------------------------------------------------------------------
        with gr.Tab("Draft", id="draft") as draft_tab:
            with gr.Row():
                chapter_dd = gr.Dropdown(label="Chapter", choices=[], value=None, scale=3, elem_id="chapter-picker",
                                         allow_custom_value=True)
                draft_btn = gr.Button("Draft candidates", variant="primary", elem_id="draft")
                regen_btn = gr.Button("Regenerate (new seed)")
                stop_btn = gr.Button("Stop", variant="stop", elem_id="stop")
            with gr.Accordion("Sampling and critic weights (remembered for this book)", open=False, elem_id="sampling"):
                with gr.Row():
                    k = gr.Slider(1, MAX_K, value=2, step=1, label="Candidates (K)", elem_id="k")
                    temperature = gr.Slider(0, 2, value=0.8, step=0.05, label="Temperature")
                    top_p = gr.Slider(0.05, 1, value=0.95, step=0.05, label="Top-p")
                    rep = gr.Slider(1, 2, value=1.1, step=0.05, label="Repetition penalty")
                    seed = gr.Number(label="Seed", value=0, precision=0)
                    max_new = gr.Number(label="New tokens", value=engine.max_new_tokens, precision=0, elem_id="max-new")
                weights_df = gr.Dataframe(headers=["critic", "weight"], datatype=["str", "number"], interactive=True,
                                          label="Critic weights (0 = off; empty = the panel's defaults)", row_count=1)
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
            chapter_box = gr.Textbox(label="Chapter text (edit freely; select a passage to rewrite or expand it)",
                                     lines=14, max_lines=60, interactive=True, elem_id="chapter-text")
            with gr.Row():
                save_text_btn = gr.Button("Save text")
                rewrite_btn = gr.Button("Rewrite selection", elem_id="rewrite")
                expand_btn = gr.Button("Expand selection", elem_id="expand")
                selection_info = gr.Textbox(label="Selection", interactive=False, elem_id="selection-info")
            draft_state = gr.State({})
            selection = gr.State(None)

        # ---- Classroom ----------------------------------------------------------------------
        with gr.Tab("Classroom", id="classroom") as classroom_tab:
            class_refresh = gr.Button("Refresh")
            rounds_df = gr.Dataframe(headers=class_h.ROUND_HEADERS, datatype="str", interactive=False, label="Rounds")
            metrics_plot = gr.LinePlot(x="round", y="value", color="metric", label="Round metrics", height=340)
            with gr.Row():
                round_dd = gr.Dropdown(label="Round", choices=[], value=None)
                make_current_btn = gr.Button("Make this round current (rollback)")
            round_pairs_df = gr.Dataframe(headers=class_h.PAIR_HEADERS, datatype="str", interactive=False,
                                          label="Pairs this round was taught with")
            samples_df = gr.Dataframe(headers=class_h.SAMPLE_HEADERS, datatype="str", interactive=False, wrap=True,
                                      label="Before and after this round, on the same prompt and seed (from the record)")
            with gr.Accordion("Before and after: draft a new prompt", open=False):
                with gr.Row():
                    ba_prompt = gr.Textbox(label="Prompt", scale=3)
                    ba_seed = gr.Number(label="Seed", value=0, precision=0)
                    ba_btn = gr.Button("Draft before and after")
                ba_label = gr.Textbox(label="Compared", interactive=False)
                with gr.Row():
                    before_box = gr.Textbox(label="Before", lines=8, interactive=False)
                    after_box = gr.Textbox(label="After", lines=8, interactive=False)
            pending_df = gr.Dataframe(headers=class_h.PAIR_HEADERS, datatype="str", interactive=False,
                                      label="Pending pairs (not yet taught)")
            with gr.Row():
                veto_id = gr.Number(label="Pair", precision=0, value=None)
                veto_reason = gr.Textbox(label="Why (optional)")
                veto_btn = gr.Button("Veto", variant="stop")
                unveto_btn = gr.Button("Lift veto")

        # ---- Train --------------------------------------------------------------------------
        with gr.Tab("Train", id="train"):
            gr.Markdown("Teach the writer from this book's picks: one DPO round on a LoRA adapter. "
                        "The studio stays usable while it trains.")
            with gr.Row():
                use_critic = gr.Checkbox(label="Also use critic pairs", value=False)
                max_steps = gr.Number(label="Max steps (0 = one epoch)", value=0, precision=0)
                defaults = train_h.round_defaults()
                lr = gr.Number(label="Learning rate", value=defaults["learning_rate"])
                beta = gr.Number(label="Beta", value=defaults["beta"])
                train_btn = gr.Button("Start a round", variant="primary")
            train_progress = gr.HTML(progress_html(0, 0, "no round running"))
            train_plot = gr.LinePlot(x="step", y="value", color="metric", label="Loss and reward", height=340)
            train_msg = gr.Textbox(label="Training", interactive=False, lines=3)
            timer = gr.Timer(1.0, active=False)

        # ---- Export -------------------------------------------------------------------------
        with gr.Tab("Export", id="export"):
            fmt = gr.Radio(list(export_h.FORMATS), value="epub", label="Format", elem_id="export-format")
            export_btn = gr.Button("Export", variant="primary", elem_id="export")
            export_file = gr.File(label="Download", interactive=False, elem_id="export-file")

        # ---- Feedback -----------------------------------------------------------------------
        with gr.Tab("Feedback", id="feedback"):
            gr.Markdown("Two drafts for the same prompt, blind and in random order. Say which is better.")
            with gr.Row():
                fb_author = gr.Textbox(label="Author (your name)", interactive=not engine.auth)
                fb_count = gr.Textbox(label="Choices this session", interactive=False)
                fb_next = gr.Button("Next pair", variant="primary")
            fb_prompt = gr.Textbox(label="Prompt", interactive=False, lines=3)
            with gr.Row():
                fb_a = gr.Textbox(label="A", lines=10, interactive=False)
                fb_b = gr.Textbox(label="B", lines=10, interactive=False)
            with gr.Row():
                fb_btns = {c: gr.Button(label) for c, label in
                           (("A", "A is better"), ("B", "B is better"), ("tie", "Tie"), ("both_bad", "Both bad"))}
            fb_shown = gr.State(None)
            fb_session = gr.State(None)

        # ================= handlers ===========================================================

        def book_outputs(book_id, user) -> dict:
            """Everything shown for the open book."""
            if book_id in (None, ""):
                return {bible_df: [], outline_df: [], chapter_dd: gr.update(choices=[], value=None),
                        chapter_box: "", bible_budget: ""}
            book = books_h.owned_book(rec, book_id, user)
            outline_h.adopt_chapters(rec, book["id"])
            form = books_h.book_form(book)
            settings = books_h.book_settings(rec, book_id, user)
            s = settings["sampling"]
            chapters = outline_h.chapter_choices(rec, user, book_id)
            first = chapters[0][1] if chapters else None
            weights = [[c, w] for c, w in settings["weights"].items()] or default_weights()
            return {
                title: form["title"], author: form["author"], language: form["language"], genre: form["genre"],
                preset: form["preset"], custom: form["custom"],
                bible_df: bible_h.bible_rows(rec, user, book_id), outline_df: outline_h.outline_rows(rec, user, book_id),
                chapter_dd: gr.update(choices=chapters, value=first),
                chapter_box: draft_h.chapter_text(engine, user, book_id, first),
                k: s["k"], temperature: s["temperature"], top_p: s["top_p"], rep: s["repetition_penalty"],
                seed: s["seed"], max_new: s.get("max_new_tokens") or engine.max_new_tokens, weights_df: weights,
                bible_budget: budget_text(book_id, user),
                **{col: gr.update(visible=i < int(s["k"])) for i, col in enumerate(cand_cols)},
                timer: gr.Timer(active=book["id"] in engine.jobs),
            }

        book_view = [title, author, language, genre, preset, custom, bible_df, outline_df, chapter_dd, chapter_box,
                     k, temperature, top_p, rep, seed, max_new, weights_df, bible_budget, *cand_cols, timer]

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
            value = choices[-1][1] if choices else None
            return {book_dd: gr.update(choices=choices, value=value), whoami: user or "(no sign-in: local studio)",
                    fb_author: user or "", **book_outputs(value, user)}

        app.load(on_load, None, [book_dd, whoami, fb_author, *book_view], api_name="load")

        @friendly
        def on_book(book_id, request: gr.Request):
            return book_outputs(book_id, _user(engine, request))

        book_dd.input(on_book, book_dd, book_view, api_name="open_book")

        def refreshed(user, book_id, message) -> dict:
            return {book_dd: gr.update(choices=books_h.book_choices(rec, user), value=book_id), status: message,
                    **book_outputs(book_id, user)}

        @friendly
        def on_create(t, a, lang, g, p, c, request: gr.Request):
            user = _user(engine, request)
            book = books_h.create_book(rec, user, t, a, lang, g, p, c)
            return refreshed(user, book["id"], f"Created \"{book['title']}\".")

        create_btn.click(on_create, [title, author, language, genre, preset, custom], [book_dd, status, *book_view],
                         api_name="create_book")

        @friendly
        def on_save_book(book_id, t, a, lang, g, p, c, request: gr.Request):
            user = _user(engine, request)
            book = books_h.update_book(rec, user, book_id, t, a, lang, g, p, c)
            return refreshed(user, book["id"], f"Saved \"{book['title']}\".")

        save_book_btn.click(on_save_book, [book_dd, title, author, language, genre, preset, custom],
                            [book_dd, status, *book_view], api_name="save_book")

        @friendly
        def on_delete(book_id, typed, request: gr.Request):
            user = _user(engine, request)
            gone = books_h.delete_book(rec, user, book_id, typed)
            choices = books_h.book_choices(rec, user)
            value = choices[-1][1] if choices else None
            return {**refreshed(user, value, f"Deleted \"{gone}\"."), confirm: ""}

        delete_btn.click(on_delete, [book_dd, confirm], [book_dd, status, confirm, *book_view], api_name="delete_book")

        @friendly
        def on_import(path, request: gr.Request):
            user = _user(engine, request)
            book_id = export_h.import_upload(engine, user, path)
            return refreshed(user, book_id, f"Imported as book {book_id}.")

        import_btn.click(on_import, upload, [book_dd, status, *book_view])

        # bible
        def bible_view(book_id, user, message):
            return {bible_df: bible_h.bible_rows(rec, user, book_id), bible_budget: budget_text(book_id, user),
                    status: message}

        @friendly
        def on_add_entry(book_id, kd, nm, tx, act, request: gr.Request):
            user = _user(engine, request)
            bible_h.add_entry(rec, user, book_id, kd, nm, tx, act)
            return {**bible_view(book_id, user, f"Added {kd} \"{nm.strip()}\"."), name: "", entry_text: ""}

        add_entry_btn.click(on_add_entry, [book_dd, kind, name, entry_text, active],
                            [bible_df, bible_budget, status, name, entry_text], api_name="add_entry")

        @friendly
        def on_update_entry(book_id, eid, kd, nm, tx, act, request: gr.Request):
            user = _user(engine, request)
            bible_h.update_entry(rec, user, book_id, eid, kd, nm, tx, act)
            return bible_view(book_id, user, f"Saved entry {int(eid)}.")

        update_entry_btn.click(on_update_entry, [book_dd, entry_id, kind, name, entry_text, active],
                               [bible_df, bible_budget, status])

        @friendly
        def on_delete_entry(book_id, eid, request: gr.Request):
            user = _user(engine, request)
            bible_h.delete_entry(rec, user, book_id, eid)
            return bible_view(book_id, user, f"Deleted entry {int(eid)}.")

        delete_entry_btn.click(on_delete_entry, [book_dd, entry_id], [bible_df, bible_budget, status])

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
            return {outline_df: outline_h.outline_rows(rec, user, book_id), status: message,
                    chapter_dd: gr.update(choices=chapters, value=keep_item if keep_item in ids else (ids[0] if ids else None))}

        outline_view_out = [outline_df, status, chapter_dd]

        @friendly
        def on_add_item(book_id, t, s, request: gr.Request):
            user = _user(engine, request)
            new = outline_h.add_item(rec, user, book_id, t, s)
            return outline_view(book_id, user, f"Added chapter \"{t.strip()}\".", new)

        add_item_btn.click(on_add_item, [book_dd, item_title, item_summary], outline_view_out, api_name="add_item")

        @friendly
        def on_update_item(book_id, iid, t, s, request: gr.Request):
            user = _user(engine, request)
            outline_h.update_item(rec, user, book_id, iid, t, s)
            return outline_view(book_id, user, "Saved the outline item.", int(iid))

        update_item_btn.click(on_update_item, [book_dd, item_id, item_title, item_summary], outline_view_out)

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
            return outline_view(book_id, user, "Deleted the outline item and its chapter.")

        delete_item_btn.click(on_delete_item, [book_dd, item_id], outline_view_out)

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
            return outline_view(book_id, user, f"The writer proposed {len(items)} chapters; edit them freely.")

        gen_outline_btn.click(on_gen_outline, [book_dd, premise, n_chapters, replace, seed], outline_view_out,
                              concurrency_id=MODEL_QUEUE, concurrency_limit=engine.concurrency, api_name="generate_outline")

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

        draft_outputs = [*cand_boxes, *cand_scores, *cand_cols, status, draft_state, chapter_dd]

        def run_drafting(book_id, item, kv, tv, pv, rv, sv, mv, frame, mode, passage, sel, text, request):
            user = _user(engine, request)
            sampling = sampling_of(kv, tv, pv, rv, sv, mv)
            books_h.save_settings(rec, book_id, user, sampling=sampling, weights=weights_of(frame))
            n = sampling["k"]
            for upd in draft_h.stream_candidates(engine, request.session_hash, user, book_id, item, sampling, mode,
                                                 passage or "", text or ""):
                texts = upd["texts"] + [""] * (MAX_K - len(upd["texts"]))
                out = {**{box: texts[i] for i, box in enumerate(cand_boxes)},
                       **{col: gr.update(visible=i < n) for i, col in enumerate(cand_cols)}, status: upd["message"]}
                if "draft_ids" in upd:
                    for i, sc in enumerate(cand_scores):
                        out[sc] = scores_html(upd["scores"][i], upd["guards"][i]) if i < len(upd["scores"]) else ""
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
        # whenever the Draft tab is opened
        draft_tab.select(lambda: panel_h.dropdown(rec), None, panel_dd, show_progress="hidden")

        @friendly
        def on_draft(book_id, item, kv, tv, pv, rv, sv, mv, frame, request: gr.Request):
            yield from run_drafting(book_id, item, kv, tv, pv, rv, sv, mv, frame, "chapter", "", None, "", request)

        draft_btn.click(on_draft, draft_inputs, draft_outputs, concurrency_id=MODEL_QUEUE,
                        concurrency_limit=engine.concurrency, api_name="draft")
        regen_btn.click(lambda s: int(s or 0) + 1, seed, seed).then(
            on_draft, draft_inputs, draft_outputs, concurrency_id=MODEL_QUEUE, concurrency_limit=engine.concurrency)

        def passage_drafter(mode):
            @friendly
            def on_passage(book_id, item, kv, tv, pv, rv, sv, mv, frame, sel, text, request: gr.Request):
                if not sel:
                    raise StudioError("select a passage in the chapter text first (drag over it)")
                yield from run_drafting(book_id, item, kv, tv, pv, rv, sv, mv, frame, mode, sel[2], sel, text, request)
            return on_passage

        for btn, mode in ((rewrite_btn, "rewrite"), (expand_btn, "expand")):
            btn.click(passage_drafter(mode), [*draft_inputs, selection, chapter_box], draft_outputs,
                      concurrency_id=MODEL_QUEUE, concurrency_limit=engine.concurrency, api_name=mode)

        def on_stop(request: gr.Request):
            stopped = engine.stop(request.session_hash)
            return "Stopping: the candidates so far are kept." if stopped else "Nothing is drafting."

        stop_btn.click(on_stop, None, status, queue=False, api_name="stop")

        def on_select_text(text, evt: gr.SelectData):
            idx = evt.index if isinstance(evt.index, (list, tuple)) else None
            if not idx or len(idx) != 2 or idx[0] == idx[1]:
                return None, ""
            start, end = int(idx[0]), int(idx[1])
            piece = (text or "")[start:end]
            return [start, end, piece], f"{len(piece.split())} words selected"

        chapter_box.select(on_select_text, chapter_box, [selection, selection_info])

        def picker(i):
            @friendly
            def on_pick(book_id, state, text, request: gr.Request):
                user = _user(engine, request)
                state = state or {}
                if not state.get("draft_ids"):
                    raise StudioError("there are no candidates to pick from; draft first")
                out = draft_h.pick(engine, user, book_id, state["item"], state["draft_ids"], i, text,
                                   state.get("mode", "chapter"), state.get("selection"))
                return {chapter_box: out["text"], status: out["message"], selection: None, selection_info: ""}
            return on_pick

        for i, pb in enumerate(pick_btns):
            pb.click(picker(i), [book_dd, draft_state, chapter_box], [chapter_box, status, selection, selection_info],
                     api_name=f"pick_{i + 1}")

        @friendly
        def on_save_text(book_id, item, text, request: gr.Request):
            return draft_h.save_text(engine, _user(engine, request), book_id, item, text)

        save_text_btn.click(on_save_text, [book_dd, chapter_dd, chapter_box], status, api_name="save_text")

        def on_autosave(book_id, item, text, request: gr.Request):
            """Typing is saved as it happens: a closed tab loses nothing."""
            if book_id in (None, "") or item in (None, ""):
                return
            try:
                draft_h.save_text(engine, _user(engine, request), book_id, item, text)
            except UserError:
                pass  # the book or chapter is gone; the Save button reports why

        chapter_box.input(on_autosave, [book_dd, chapter_dd, chapter_box], None, trigger_mode="always_last",
                          show_progress="hidden", api_name="autosave")

        @friendly
        def on_chapter(book_id, item, request: gr.Request):
            return draft_h.chapter_text(engine, _user(engine, request), book_id, item)

        chapter_dd.input(on_chapter, [book_dd, chapter_dd], chapter_box)
        k.release(lambda kv: [gr.update(visible=i < int(kv)) for i in range(MAX_K)], k, cand_cols)

        # classroom
        @friendly
        def on_class_refresh(request: gr.Request):
            user = _user(engine, request)
            lineage = engine.lineage
            choices = class_h.round_choices(rec, lineage)
            metrics = class_h.metrics_frame(rec, lineage)
            return {rounds_df: class_h.rounds_rows(rec, lineage), metrics_plot: None if metrics.empty else metrics,
                    round_dd: gr.update(choices=choices), pending_df: class_h.pending_rows(rec, user)}

        class_out = [rounds_df, metrics_plot, round_dd, pending_df]
        class_refresh.click(on_class_refresh, None, class_out, api_name="classroom")
        classroom_tab.select(on_class_refresh, None, class_out)

        @friendly
        def on_round(rid):
            rid = None if rid in (None, "base") else rid
            return class_h.round_pair_rows(rec, rid), class_h.recorded_samples(rec, rid)

        round_dd.input(on_round, round_dd, [round_pairs_df, samples_df], api_name="round_pairs")

        @friendly
        def on_make_current(rid, request: gr.Request):
            message = class_h.make_current(engine, rid)
            return {**on_class_refresh(request), status: message}

        make_current_btn.click(on_make_current, round_dd, [*class_out, status], api_name="make_current")

        @friendly
        def on_before_after(rid, pr, sd):
            return class_h.before_after(engine, rid, pr, int(sd or 0))

        ba_btn.click(on_before_after, [round_dd, ba_prompt, ba_seed], [before_box, after_box, ba_label],
                     concurrency_id=MODEL_QUEUE, concurrency_limit=engine.concurrency, api_name="before_after")

        def vetoer(flag):
            @friendly
            def on_veto(pid, why, request: gr.Request):
                user = _user(engine, request)
                message = class_h.veto(rec, user, pid, why, vetoed=flag)
                return class_h.pending_rows(rec, user), message
            return on_veto

        veto_btn.click(vetoer(True), [veto_id, veto_reason], [pending_df, status], api_name="veto")
        unveto_btn.click(vetoer(False), [veto_id, veto_reason], [pending_df, status], api_name="lift_veto")

        # training
        @friendly
        def on_train(book_id, critic_pairs, steps, rate, b, request: gr.Request):
            job = train_h.start_round(engine, _user(engine, request), book_id, bool(critic_pairs), int(steps or 0),
                                      learning_rate=rate, beta=b)  # an emptied field: the default
            return (f"Training a round on {len(job.pair_ids)} pairs in the background...", gr.Timer(active=True),
                    progress_html(0, 1, "starting"))

        train_btn.click(on_train, [book_dd, use_critic, max_steps, lr, beta], [train_msg, timer, train_progress],
                        api_name="train")

        def on_tick(book_id):
            job = engine.jobs.get(int(book_id)) if book_id not in (None, "") else None
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
            return (progress_html(snap["step"], snap["total"], "training: step"), plot,
                    f"Training on {snap['pairs']} pairs: step {snap['step']} of {snap['total'] or '?'}", gr.skip())

        timer.tick(on_tick, book_dd, [train_progress, train_plot, train_msg, timer], api_name="train_progress")

        # export
        @friendly
        def on_export(book_id, f, request: gr.Request):
            path = export_h.export(engine, _user(engine, request), book_id, f)
            # Gradio serves only files under the temp folder or the working directory; a private
            # copy there (under a fresh random folder) also keeps the workspace's paths unexposed.
            served = Path(tempfile.mkdtemp(prefix="scriptorium-export-")) / path.name
            shutil.copyfile(path, served)
            return str(served), f"Exported {path.name} (kept in {path.parent})."

        export_btn.click(on_export, [book_dd, fmt], [export_file, status], api_name="export")

        # feedback
        @friendly
        def on_next(author_name, sess, request: gr.Request):
            user = _user(engine, request)
            who = user or (author_name or "").strip()
            if not who:
                raise StudioError("type your name in 'Author' so your choices are attributed to you")
            sess = sess or uuid.uuid4().hex[:12]
            shown = feedback_h.next_pair(rec, user, random.Random(), who)
            return shown, sess, shown["prompt"], shown["a_text"], shown["b_text"], \
                str(feedback_h.session_count(rec, sess))

        fb_next.click(on_next, [fb_author, fb_session], [fb_shown, fb_session, fb_prompt, fb_a, fb_b, fb_count],
                      api_name="feedback_next")

        def chooser(choice):
            @friendly
            def on_choice(author_name, sess, shown, request: gr.Request):
                user = _user(engine, request)
                who = user or (author_name or "").strip()
                message = feedback_h.record_choice(rec, who, sess or "", shown, choice)
                nxt = feedback_h.next_pair(rec, user, random.Random(), who)
                return nxt, nxt["prompt"], nxt["a_text"], nxt["b_text"], str(feedback_h.session_count(rec, sess)), message
            return on_choice

        for c, btn in fb_btns.items():
            btn.click(chooser(c), [fb_author, fb_session, fb_shown], [fb_shown, fb_prompt, fb_a, fb_b, fb_count, status],
                      api_name=f"feedback_{c}")

    return app


def launch(app, host: str = "127.0.0.1", port: int = 7860, auth=None,
           prevent_thread_lock: bool = False, max_threads: int = 40):
    """Serve the app: one queue, bound to ``host`` (localhost unless told otherwise)."""
    app.queue(default_concurrency_limit=8, max_size=256)
    upload_limit = f"{app.engine.config.max_upload_mb}mb"
    return app.launch(server_name=host, server_port=port, auth=auth, max_file_size=upload_limit,
                      prevent_thread_lock=prevent_thread_lock, max_threads=max_threads, share=False,
                      show_error=True, css=CSS, quiet=True, ssr_mode=False)
