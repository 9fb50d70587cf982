"""The manuscript model every exporter shares: paragraphs, scene breaks, words, metadata."""

import pytest
from hypothesis import given, strategies as st

from publish.book import (SCENE_BREAK, ExportError, check_language, clean_text, count_words, is_scene_break,
                          load_manuscript, manuscript_from_rows, round_to_hundred, split_blocks)
from tests.publish.books import make_book


def test_blank_lines_separate_paragraphs_and_join_wrapped_lines():
    text = "The keeper climbed\nthe stairs.\n\n  \nShe lit the lamp.\n\n* * *\n\nMorning."
    assert split_blocks(text) == ["The keeper climbed the stairs.", "She lit the lamp.", SCENE_BREAK, "Morning."]


def test_one_paragraph_per_line_without_blank_lines():
    assert split_blocks("One.\nTwo.\n#\nThree.") == ["One.", "Two.", SCENE_BREAK, "Three."]


@pytest.mark.parametrize("mark", ["#", "*", "***", "* * *", "~", "---", "- - -", "  #  "])
def test_scene_break_markers(mark):
    assert split_blocks(f"a\n\n{mark}\n\nb") == ["a", SCENE_BREAK, "b"]


def test_markup_is_kept_as_text_and_stray_breaks_dropped():
    assert split_blocks("#\n\n<b>x</b> & *y*\n\n#\n\n#") == ["<b>x</b> & *y*"]
    assert split_blocks("# Heading words") == ["# Heading words"]  # not a scene break: it has words


def test_control_characters_are_dropped_not_the_rest():
    assert clean_text("a\x00b\x0bc\r\nd\ud800e") == "abc\nde"
    assert clean_text("é\u0301 中 שלום 🚀") == "é\u0301 中 שלום 🚀"


def test_word_counts():
    assert count_words("The cat sat on the mat.") == 6
    assert count_words("灯台守") == 3
    assert count_words("") == 0
    assert round_to_hundred(80_049) == 80_000 and round_to_hundred(80_050) == 80_100
    assert round_to_hundred(0) == 0 and round_to_hundred(3) == 100


def test_language_tags():
    assert check_language("en-GB") == "en-GB" and check_language("") == "en"
    with pytest.raises(ExportError, match="BCP 47"):
        check_language("english please")


def test_empty_book_is_refused_with_a_message(record):
    book = record.add_book(title="Nothing Yet")
    with pytest.raises(ExportError, match="no chapters"):
        load_manuscript(record, book["id"])


def test_manuscript_from_the_record(record):
    book_id = make_book(record, language="he", settings={"surname": "Keeper"})
    ms = load_manuscript(record, "The Lighthouse")
    assert ms.book_id == book_id and ms.author == "Ann Keeper" and len(ms.chapters) == 3
    assert ms.direction == "rtl" and ms.identifier.startswith("urn:uuid:")
    assert ms.identifier == load_manuscript(record, book_id).identifier  # stable across exports
    assert ms.chapters[0].blocks[2] is SCENE_BREAK
    assert ms.words == sum(count_words(p) for c in ms.chapters for p in c.paragraphs) > 30


def test_untitled_chapters_are_numbered():
    ms = manuscript_from_rows({"id": 1, "title": "T", "created_at": 0}, [{"title": "", "text": "x"}, {"title": "  "}])
    assert [c.title for c in ms.chapters] == ["Chapter 1", "Chapter 2"] and ms.chapters[1].blocks == []


@given(st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1), max_size=6))
def test_no_word_is_lost(lines):
    text = "\n\n".join(lines)
    blocks = split_blocks(text)
    kept = " ".join(b for b in blocks if b is not SCENE_BREAK).split()
    expected = [w for line in lines if not is_scene_break(line) for w in line.split()]
    assert kept == expected
