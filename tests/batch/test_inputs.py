"""Bad input is refused before any work, with a message that names the place and the fix."""

from pathlib import Path

import pytest

from batch.config import BatchConfig
from batch.inputs import BatchInputError, book_items, check_out_dir, load_outline, load_prompts
from record.errors import UserError

ROOT = Path(__file__).resolve().parents[2]


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_prompts_keep_ids_order_and_metadata(tmp_path):
    f = write(tmp_path / "p.jsonl", '{"id": 7, "prompt": " A cat. ", "source": "x"}\n\n{"prompt": "A dog."}\n')
    items = load_prompts(f)
    assert [(i.key, i.position, i.prompt) for i in items] == [("7", 0, "A cat."), ("line3", 1, "A dog.")]
    assert items[0].meta == {"source": "x"} and items[1].source.endswith("p.jsonl:3")
    assert [i.key for i in load_prompts(f, limit=1)] == ["7"]


def test_malformed_jsonl_names_the_line(tmp_path):
    f = write(tmp_path / "p.jsonl", '{"prompt": "one"}\n{"prompt": "two"}\n{"prompt": "three"\n')
    with pytest.raises(BatchInputError, match=r"p\.jsonl:3: not valid JSON"):
        load_prompts(f)


@pytest.mark.parametrize("line, message", [
    ('["a list"]', "expected a JSON object"),
    ('{"text": "no prompt key"}', 'no "prompt" field'),
    ('{"prompt": 5}', '"prompt" must be a string'),
])
def test_bad_lines_are_refused(tmp_path, line, message):
    f = write(tmp_path / "p.jsonl", '{"prompt": "fine"}\n' + line + "\n")
    with pytest.raises(BatchInputError, match=message) as e:
        load_prompts(f)
    assert "p.jsonl:2" in str(e.value)


def test_repeated_id_and_empty_file(tmp_path):
    f = write(tmp_path / "p.jsonl", '{"id": 1, "prompt": "a"}\n{"id": 1, "prompt": "b"}\n')
    with pytest.raises(BatchInputError, match="already used on line 1"):
        load_prompts(f)
    with pytest.raises(BatchInputError, match="holds no prompts"):
        load_prompts(write(tmp_path / "e.jsonl", "\n\n"))
    with pytest.raises(BatchInputError, match="does not exist"):
        load_prompts(tmp_path / "missing.jsonl")


def test_an_empty_prompt_mid_file_is_an_item_not_a_stop(tmp_path):
    # it fails when its turn comes (see test_runner), the others are still written
    f = write(tmp_path / "p.jsonl", '{"prompt": "a"}\n{"prompt": "  "}\n{"prompt": null}\n{"prompt": "b"}\n')
    assert [i.prompt for i in load_prompts(f)] == ["a", "", "", "b"]


OUTLINE = """\
title: T
premise: P
bible:
  - {kind: character, name: Ada, text: keeper}
outline:
  - {title: One, summary: first}
  - {title: Two, summary: second}
"""


def test_outline_reads_and_makes_one_item_per_chapter(tmp_path):
    book = load_outline(write(tmp_path / "o.yaml", OUTLINE))
    assert (book.title, book.premise, book.bible[0]["name"]) == ("T", "P", "Ada")
    items = book_items([book, book])
    assert [i.key for i in items] == ["book1/ch001", "book1/ch002", "book2/ch001", "book2/ch002"]
    assert [(i.book, i.chapter, i.position) for i in items][2] == (1, 0, 2)
    assert items[1].prompt == "Two: second"


@pytest.mark.parametrize("text, message", [
    (OUTLINE.replace("premise: P\n", ""), "missing 'premise'"),
    (OUTLINE.replace("title: T\n", "title: T\nchapters: 3\n"), "unknown key 'chapters'"),
    (OUTLINE.replace("{title: Two, summary: second}", "{title: Two, sumary: second}"), "outline item 2: unknown key 'sumary'"),
    (OUTLINE.replace("{title: Two, summary: second}", "{summary: second}"), "outline item 2: missing 'title'"),
    (OUTLINE.replace("kind: character", "kind: villain"), "bible entry 1: kind 'villain' unknown"),
    (OUTLINE.replace("  - {title: One, summary: first}\n  - {title: Two, summary: second}\n", " []\n"), "non-empty list"),
    ("title: [unclosed\n", "not valid YAML at line"),
    ("- just\n- a list\n", "expected a mapping"),
])
def test_bad_outlines_name_the_problem(tmp_path, text, message):
    with pytest.raises(BatchInputError, match=message):
        load_outline(write(tmp_path / "o.yaml", text))


def test_the_sample_outline_is_valid():
    book = load_outline(ROOT / "examples" / "outline.yaml")
    assert len(book.outline) >= 3 and book.premise and {e["kind"] for e in book.bible} >= {"character", "place"}


def test_output_folder_checks(tmp_path):
    assert check_out_dir(tmp_path / "new" / "out").is_dir()
    a_file = write(tmp_path / "file.txt", "x")
    with pytest.raises(BatchInputError, match="is a file, not a folder"):
        check_out_dir(a_file)
    with pytest.raises(BatchInputError, match="cannot write to output folder"):
        check_out_dir(a_file / "sub")


def test_output_folder_without_write_permission(tmp_path):
    import os

    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):  # root ignores permissions: use a folder no one can write
            if not Path("/proc/self").is_dir():
                pytest.skip("running as root without /proc: no unwritable folder to try")
            locked = Path("/proc/self/scriptorium-out")
        with pytest.raises(BatchInputError, match="cannot write"):
            check_out_dir(locked)
    finally:
        (tmp_path / "locked").chmod(0o700)


def test_export_formats_are_checked():
    assert BatchConfig(formats=["epub", "pdf"]).formats == ["epub", "pdf"]
    with pytest.raises(UserError, match="export format 'mobi' unknown"):
        BatchConfig(formats=["mobi"])
