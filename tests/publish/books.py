"""Books for the export tests: an ordinary one, one full of bad input, and readers that pull
the words back out of each format."""

from __future__ import annotations

import re
import unicodedata

BAD_TITLE = '../Dawn / "Quotes" <b>& 🚀 Ünïcödé'
BAD_CHAPTERS = [
    ("Markup <script>alert('x')</script>", "Text with <script>alert(1)</script> & an ampersand, a stray < sign "
     "and a > too.\n\n*Markdown* **bold** [link](http://x) `code` and &amp; an entity.\n\n"
     "# a hash line inside the text\n\n> a quote marker"),
    ("空", ""),  # a chapter with no text
    ("東京の夜 / CJK", "灯台守は毎晩、海を見ていた。彼女は手紙を書いた。\n\n한국어 문장입니다. 日本語とEnglishの混在。"),
    ("Combining", "Cafe\u0301 nai\u0308ve Z\u0335a\u0336l\u0337g\u0338o and Ελληνικά, Русский текст."),
    ("Emoji 🚀 & quotes \"'", "Rocket 🚀 launch. \u201cCurly quotes,\u201d she said \u2014 and left."),
]
RTL_CHAPTERS = [("שלום", "שלום עולם, זה ספר בעברית.\n\n* * *\n\nالعربية نص قصير هنا."),
                ("Mixed", "English then עברית then English again.")]

LIGHTHOUSE = [
    ("The Lamp", "The keeper climbed the stairs at dusk.\n\nShe lit the lamp & watched the sea.\n\n#\n\n"
     "Morning came grey and slow."),
    ("The Door", "A door stood in the water, half open.\n\nShe rowed out to it."),
    ("The Letter", "Inside the door was a letter.\n\n* * *\n\nShe read it twice, then burned it."),
]


def make_book(rec, title="The Lighthouse", author="Ann Keeper", chapters=LIGHTHOUSE, **fields) -> int:
    book = rec.add_book(title=title, author=author, **fields)
    for ch_title, text in chapters:
        rec.add_chapter(book["id"], ch_title, text)
    return book["id"]


def words(text: str) -> list[str]:
    """Whitespace-separated words, NFC-normalised (readers may recompose combining marks)."""
    return unicodedata.normalize("NFC", text).split()


def chapter_words(rec, book_id) -> list[list[str]]:
    """The words each chapter should show: its paragraphs' words, scene-break markers left out."""
    from publish.book import load_manuscript

    ms = load_manuscript(rec, book_id)
    return [[w for p in ch.paragraphs for w in words(p)] for ch in ms.chapters]


def in_order(needle: list[str], haystack: list[str]) -> bool:
    """True when ``needle`` occurs in ``haystack`` in order (other words may come between)."""
    it = iter(haystack)
    return all(any(w == h for h in it) for w in needle)


SCENE_MARKS = {"#", "*", "***", "* * *"}


def strip_marks(ws: list[str]) -> list[str]:
    return [w for w in ws if w not in SCENE_MARKS and not re.fullmatch(r"\*+", w)]
