"""Resume bookkeeping: an item is recorded wholly or not at all, and never twice."""

import pytest

from batch import resume


def test_run_key_is_stable_and_sees_what_changes_the_output():
    base = {"items": [["a", "x"]], "draft": {"seed": 0, "k": 2}, "model": "m"}
    assert resume.run_key(base) == resume.run_key(dict(reversed(list(base.items()))))
    assert resume.run_key(base) != resume.run_key({**base, "draft": {"seed": 1, "k": 2}})
    assert resume.run_key(base) != resume.run_key({**base, "items": [["a", "y"]]})


def test_commit_item_is_all_or_nothing(record):
    key = "k1"

    def broken():
        record.add_prompt("half written")
        raise RuntimeError("killed mid-write")

    with pytest.raises(RuntimeError):
        resume.commit_item(record, key, "item1", broken)
    assert resume.finished_items(record, key) == {}
    assert record.query("SELECT * FROM prompts") == []  # the half-written row went with it

    calls = []

    def good():
        calls.append(1)
        return {"prompt_id": record.add_prompt("whole")}

    first = resume.commit_item(record, key, "item1", good)
    again = resume.commit_item(record, key, "item1", good)
    assert first == again and len(calls) == 1
    assert len(record.query("SELECT * FROM prompts")) == 1
    assert resume.finished_items(record, key) == {"item1": first}
    assert resume.finished_items(record, "k") == {}  # another run's prefix never matches


def test_start_run_creates_books_once(record):
    made = []

    def make_books():
        made.append(1)
        return [{"id": record.add_book("Anthology")["id"], "outline_ids": []}]

    a = resume.start_run(record, "k2", {"mode": "prompts"}, make_books)
    b = resume.start_run(record, "k2", {"mode": "prompts"}, make_books)
    assert a == b and len(made) == 1 and len(record.books()) == 1
