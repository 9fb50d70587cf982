"""The guided start: what a new author sees first, a sample book to try the whole flow in a
minute, and the writer's loading progress (the first start converts the built-in model).

    book = sample_book(rec, user)           # a premise, three bible entries, a three-chapter outline
    html = loading_html(engine)             # "Converting the built-in writer (first start only)... 12 s"
"""

from __future__ import annotations

import time
from typing import Any

from ui.studio.books import create_book, remember_book
from ui.studio.render import progress_html

FIRST_STEPS = """### Start here
1. **Create a book** below, or **try the sample book**: a premise, three story-bible entries and a
   three-chapter outline, ready to draft.
2. In **Draft**, press **Draft candidates**: the writer proposes a few versions of the chapter, each
   scored by the critics. **Pick** the one you like; edit it freely (every change is kept as a version).
3. Go on chapter by chapter, then **Export** the book (EPUB, Word, manuscript, PDF or Markdown).

Your picks teach the writer: when you have made a few, **Train** runs a lesson on them, and the
**Classroom** shows what it learned (and takes it back if you do not like it). **Feedback** lets
readers judge drafts blind."""

SAMPLE = {
    "title": "The Door at Low Tide",
    "genre": "fantasy",
    "description": "On a tidal island, a lighthouse keeper's daughter finds a wooden door standing upright in the "
                   "sea at the lowest tide of the year, and learns that it opens onto the island as it was a "
                   "hundred years ago.",
    "bible": [
        ("character", "Mara Quill", "The keeper's daughter, fifteen; stubborn and curious; counts waves when she is "
                                    "afraid; wants to leave the island one day."),
        ("character", "Elias Quill", "Mara's father, the lighthouse keeper; quiet and careful; writes every passing "
                                     "ship in his logbook."),
        ("place", "Gull Rock", "A small tidal island with a white lighthouse on its north point; at the lowest tides "
                               "a causeway of black stones rises out of the sea."),
    ],
    "outline": [
        ("The Lowest Tide", "At the lowest tide of the year Mara walks out along the causeway and finds a wooden "
                            "door standing upright in the sea."),
        ("The Other Side", "Mara opens the door and steps onto Gull Rock a hundred years earlier, where the "
                           "lighthouse is still being built."),
        ("Before the Water Rises", "Mara must get back through the door before the tide returns, and she brings "
                                   "her father proof of what she saw."),
    ],
}


def sample_book(rec, user: str | None, author: str = "") -> dict[str, Any]:
    """Create the sample book for ``user`` (theirs like any other) and remember it as open."""
    book = create_book(rec, user, SAMPLE["title"], author or (str(user) if user else "You"), genre=SAMPLE["genre"])
    with rec.transaction():
        rec.update_book(book["id"], description=SAMPLE["description"])
        for kind, name, text in SAMPLE["bible"]:
            rec.add_bible_entry(book["id"], kind, name, text)
        for title, summary in SAMPLE["outline"]:
            rec.add_outline_item(book["id"], title, summary)
    remember_book(rec, user, book["id"])
    return rec.get("books", book["id"])


PHASES = {"waiting": (0, "The writer loads when the studio starts..."),
          "converting": (1, "Converting the built-in writer into the model cache (first start only, about a minute)"),
          "loading": (2, "Loading the writer"),
          "ready": (3, "The writer is ready"),
          "failed": (3, "The writer could not be loaded")}


def loading_html(engine) -> str:
    """The writer's loading state as a small progress bar with the time it has taken so far."""
    state = dict(engine.loading)
    step, label = PHASES.get(state["phase"], (0, state["phase"]))
    if state["phase"] == "failed":
        return progress_html(step, 3, f"{label}: {state['error']}")
    if state["phase"] == "ready":
        return progress_html(3, 3, label + ".")
    took = f" ({time.time() - state['started']:.0f} s so far)" if state.get("started") else ""
    return progress_html(step, 3, f"{label}{took}... drafting starts once it is ready")


def is_loading(engine) -> bool:
    return engine.loading["phase"] not in ("ready", "failed")
