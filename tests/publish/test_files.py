"""File names from titles and all-or-nothing writes."""

import os

import pytest
from hypothesis import given, strategies as st

from publish.book import ExportError
from publish.files import MAX_NAME_BYTES, atomic_output, output_path, safe_filename


@pytest.mark.parametrize("title, expected", [
    ("The Lighthouse", "The_Lighthouse"),
    ("../../etc/passwd", "etc_passwd"),
    ('She said "no" / again?', "She_said_no_again"),
    ("..", "book"),
    ("🚀🚀", "book"),
    ("灯台守の夜", "灯台守の夜"),
    ("Café", "Café"),
    ("nul", "nul_"),
])
def test_safe_filename(title, expected):
    assert safe_filename(title) == expected


@given(st.text())
def test_safe_filename_is_always_a_plain_name(title):
    name = safe_filename(title)
    assert name and not name.startswith(".") and "/" not in name and "\\" not in name and "\x00" not in name
    assert len(name.encode("utf-8")) <= MAX_NAME_BYTES
    assert not set(name) & set('<>:"|?*')


def test_output_path_folder_or_file(tmp_path):
    assert output_path(tmp_path, "A/B", ".epub") == tmp_path / "A_B.epub"
    assert output_path(tmp_path / "x.epub", "A", ".epub") == tmp_path / "x.epub"


def test_success_moves_the_file_into_place(tmp_path):
    target = tmp_path / "sub" / "book.md"
    with atomic_output(target) as tmp:
        assert tmp.parent == target.parent and tmp != target
        tmp.write_text("done")
    assert target.read_text() == "done"
    assert os.listdir(target.parent) == ["book.md"]


def test_failure_leaves_nothing_behind(tmp_path):
    target = tmp_path / "book.md"
    with pytest.raises(ZeroDivisionError):
        with atomic_output(target) as tmp:
            tmp.write_text("half")
            1 / 0
    assert os.listdir(tmp_path) == []


def test_existing_file_kept_without_force(tmp_path):
    target = tmp_path / "book.md"
    target.write_text("old")
    with pytest.raises(ExportError, match="--force"):
        with atomic_output(target) as tmp:
            tmp.write_text("new")
    assert target.read_text() == "old"
    with atomic_output(target, force=True) as tmp:
        tmp.write_text("new")
    assert target.read_text() == "new" and os.listdir(tmp_path) == ["book.md"]


def test_a_file_that_appears_meanwhile_is_not_replaced(tmp_path):
    target = tmp_path / "book.md"
    with pytest.raises(ExportError, match="appeared"):
        with atomic_output(target) as tmp:
            tmp.write_text("new")
            target.write_text("someone else's")
    assert target.read_text() == "someone else's" and os.listdir(tmp_path) == ["book.md"]


def test_a_folder_as_target_is_refused(tmp_path):
    with pytest.raises(ExportError, match="folder"):
        with atomic_output(tmp_path):
            pass


def test_trailing_slash_names_a_new_folder(tmp_path):
    assert output_path(f"{tmp_path}/new/", "T", ".md") == tmp_path / "new" / "T.md"
