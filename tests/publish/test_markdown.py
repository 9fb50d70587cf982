"""Markdown export and import: front matter, escaping, and a round trip back into the record."""

import pytest
import yaml
from hypothesis import given, strategies as st

from publish import export_book, import_markdown
from publish.book import SCENE_BREAK, clean_text, load_manuscript
from publish.importer import ManuscriptImportError, parse_markdown, unescape_paragraph
from publish.markdown import escape_markdown
from tests.publish.books import BAD_CHAPTERS, BAD_TITLE, RTL_CHAPTERS, LIGHTHOUSE, make_book


def test_front_matter_and_headings(record, tmp_path):
    book_id = make_book(record, description="A tale: of keepers", language="en-GB")
    text = export_book(record, book_id, "md", tmp_path).read_text(encoding="utf-8")
    assert text.startswith("---\n")
    meta = yaml.safe_load(text.split("---\n")[1])
    assert meta["title"] == "The Lighthouse" and meta["author"] == "Ann Keeper" and meta["language"] == "en-GB"
    assert meta["description"] == "A tale: of keepers"
    assert [line for line in text.splitlines() if line.startswith("# ")] == ["# The Lamp", "# The Door",
                                                                            "# The Letter"]
    assert "\n* * *\n" in text


def test_markup_in_text_is_escaped():
    assert escape_markdown("<script>x</script> & y") == "&lt;script&gt;x&lt;/script&gt; &amp; y"
    assert escape_markdown("# not a heading") == "\\# not a heading"
    assert escape_markdown("- not a list") == "\\- not a list"
    assert escape_markdown("*emphasis* stays") == "*emphasis* stays"


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1))
def test_escape_then_unescape_is_identity(text):
    assert unescape_paragraph(escape_markdown(text)) == text


@pytest.mark.parametrize("chapters", [LIGHTHOUSE, BAD_CHAPTERS + RTL_CHAPTERS])
def test_round_trip_through_the_record(record, tmp_path, chapters):
    book_id = make_book(record, title=BAD_TITLE, author="Zoë & Co", chapters=chapters, language="ja")
    path = export_book(record, book_id, "md", tmp_path)
    new_id = import_markdown(record, path)
    a, b = load_manuscript(record, book_id), load_manuscript(record, new_id)
    assert (b.title, b.author, b.language) == (BAD_TITLE, "Zoë & Co", "ja")
    assert [c.title for c in b.chapters] == [clean_text(t) for t, _ in chapters]
    assert [c.blocks for c in b.chapters] == [c.blocks for c in a.chapters]


def test_import_splits_on_headings_and_keeps_opening_text():
    book = parse_markdown("Some opening words.\n\n# One\nFirst.\n\n## Two\nSecond & third.\n\n"
                          "```\n# not a chapter\n```\n", fallback_title="my_file")
    assert book.title == "my_file"
    assert [t for t, _ in book.chapters] == ["Opening", "One", "Two"]
    assert "# not a chapter" in book.chapters[2][1]


def test_single_top_heading_is_the_title():
    book = parse_markdown("# The Book\n\n## Chapter One\nA.\n\n## Chapter Two ##\nB.\n")
    assert book.title == "The Book" and [t for t, _ in book.chapters] == ["Chapter One", "Chapter Two"]


def test_front_matter_wins_and_bad_front_matter_is_explained():
    book = parse_markdown("---\ntitle: Real\nauthor: Me\nlanguage: fr\n---\n# Un\nTexte.\n")
    assert (book.title, book.author, book.language) == ("Real", "Me", "fr")
    with pytest.raises(ManuscriptImportError, match="not valid YAML"):
        parse_markdown("---\ntitle: [unclosed\n---\n# One\n")
    with pytest.raises(ManuscriptImportError, match="key: value"):
        parse_markdown("---\n- a list\n---\n# One\n")


def test_import_errors_say_what_to_do(record, tmp_path):
    with pytest.raises(ManuscriptImportError, match="not found"):
        import_markdown(record, tmp_path / "missing.md")
    latin1 = tmp_path / "latin1.md"
    latin1.write_bytes("# Caf\xe9\n".encode("latin-1"))
    with pytest.raises(ManuscriptImportError, match="UTF-8"):
        import_markdown(record, latin1)
    empty = tmp_path / "empty.md"
    empty.write_text("---\ntitle: X\n---\n\n")
    with pytest.raises(ManuscriptImportError, match="no text"):
        import_markdown(record, empty)
    assert record.books() == []  # nothing half-imported


def test_imported_book_can_be_continued(record, tmp_path):
    src = tmp_path / "novel.md"
    src.write_text("# One\nThe keeper woke.\n\n# Two\nThe sea was calm.\n", encoding="utf-8")
    book_id = import_markdown(record, src, author="A. Keeper")
    record.add_chapter(book_id, "Three", "A new chapter written here.")
    ms = load_manuscript(record, book_id)
    assert ms.title == "novel" and ms.author == "A. Keeper"
    assert [c.title for c in ms.chapters] == ["One", "Two", "Three"]
    assert ms.chapters[0].blocks == ["The keeper woke."] and SCENE_BREAK not in ms.chapters[1].blocks


_text = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=40)


@given(st.lists(st.tuples(_text, st.lists(_text, max_size=4)), min_size=1, max_size=4))
def test_any_book_survives_markdown(chapters):
    from publish.book import clean_line, manuscript_from_rows
    from publish.markdown import to_markdown

    rows = [{"title": t, "text": "\n\n".join(ps)} for t, ps in chapters]
    ms = manuscript_from_rows({"id": 1, "title": "T", "author": "A", "created_at": 0}, rows)
    parsed = parse_markdown(to_markdown(ms))
    from publish.book import split_blocks

    assert [clean_line(t) for t, _ in parsed.chapters] == [c.title for c in ms.chapters]
    assert [split_blocks(text) for _, text in parsed.chapters] == [c.blocks for c in ms.chapters]
