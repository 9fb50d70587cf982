"""Every command against the bad-input corpus (``tests/bad_inputs/``): each bad input exits 2
with a message on stderr, never a traceback, and leaves the record as it was.

A case is the command line, with ``{C}`` for the corpus folder, ``{M}`` for a tiny model folder
and ``{T}`` for a scratch folder; ``book`` cases start from a workspace holding one book ("B").
"""

from __future__ import annotations

import shlex
import sqlite3
import traceback
from pathlib import Path

import pytest

CORPUS = Path(__file__).resolve().parent / "bad_inputs"
NOT_UTF8_ARG = b"caf\xff".decode("utf-8", "surrogateescape")  # what Python makes of argv bytes that are not UTF-8

CASES = [
    # draft: every float flag, every range, the prompt from argv and from files, the model and adapter
    "draft x --temperature nan --model {M}",
    "draft x --temperature inf --model {M}",
    "draft x --repetition-penalty nan --model {M}",
    "draft x --top-p -inf --model {M}",
    "draft x --top-p 2 --model {M}",
    "draft x -k 0 --model {M}",
    "draft x --max-new-tokens 0 --model {M}",
    "draft x --precision int3",
    "draft {NOT_UTF8} --model {M}",
    "draft --prompt-file {C}/not_utf8.txt --model {M}",
    "draft --prompt-file {C}/blank.txt --model {M}",
    "draft --prompt-file {C}/bad_json.jsonl --model {M}",
    "draft --prompt-file {C}/missing.txt --model {M}",
    "draft --prompt-file {C} --model {M}",
    "draft --prompt-file {C}/long_prompt.txt --model {M}",
    "draft x --prompt-file {C}/blank.txt --model {M}",
    "draft --model {M}",
    "draft x --model {C}/blank.txt",
    "draft x --model {T}/no-such-model",
    "draft x --model {C}",
    "draft x --model {M} --adapter {C}/corrupt_adapter",
    "draft x --model {M} --adapter {C}/blank.txt",
    "draft x --model {M} --adapter {T}/no-such-adapter",
    # score
    "score {C}/missing.jsonl",
    "score {C}/stories_bad.jsonl --strict",
    "score {C}",
    "score {C}/empty.jsonl",
    "score {C}/blank.txt",
    # pairs
    "pairs veto abc",
    "pairs veto 99",
    "pairs export",
    "pairs build",
    "pairs build --min-margin nan",
    "pairs build --long-ratio inf",
    # train: YAML typing, flags, pairs
    "train --model {M} --config {C}/round_nan.yaml",
    "train --model {M} --config {C}/round_inf.yaml",
    "train --model {M} --config {C}/round_word.yaml",
    "train --model {M} --config {C}/round_fraction_batch.yaml",
    "train --model {M} --config {C}/round_unknown.yaml",
    "train --model {M} --config {C}/round_list.yaml",
    "train --model {M} --config {C}/round_broken.yaml",
    "train --model {M} --config {C}/missing.yaml",
    "train --model {M} --config {C}",
    "train --model {M} --config {C}/not_utf8.txt",
    "train --model {M} --learning-rate nan",
    "train --model {M} --beta -inf",
    "train --model {M} --pairs abc",
    "train --model {M}",
    # cotrain
    "cotrain --prompts {C}/not_utf8.txt --model {M}",
    "cotrain --prompts {C}/blank.txt --model {M}",
    "cotrain --prompts {C}/bad_json.jsonl --model {M}",
    "cotrain --prompts {C}/missing.txt --model {M}",
    "cotrain --prompts {T}/ok.txt --model {M} --rounds 0",
    "cotrain --prompts {T}/ok.txt --model {M} --heldout nan",
    "cotrain --prompts {T}/ok.txt --model {M} --config {C}/round_word.yaml",
    # rounds
    "rounds show abc",
    "rounds show 99",
    "rounds rollback 99",
    # prompts, replay
    "prompts invent --like {C}/missing.txt --model {M}",
    "prompts invent --temperature nan --model {M}",
    "replay --to {T}/no-such-model",
    "replay --to {C}/blank.txt",
    # books in
    "book import {C}/binary.md",
    "book import {C}/empty.md",
    "book import {C}",
    "book import {C}/missing.md",
    "book new --title '  '",
    "book new --title T --language 'not a tag'",
    "book set Nope --title X",
    "book: book set B --title ''",
    "book: book set B --language 'x y'",
    # books out
    "export Nope -f md",
    "export 1 -f rtf",
    "book: export B -f epub --cover {C}/cover.png --out {T}/out/",
    "book: export B -f pdf --cover {C} --out {T}/out/",
    "book: export B -f epub --cover {T}/no-such-cover.jpg --out {T}/out/",
    "book: export B -f md --out {T}/exists.md",
    # batch: prompts files, outlines, output, settings
    "batch --prompts {C}/bad_json.jsonl --out {T}/out --model {M}",
    "batch --prompts {C}/no_prompt.jsonl --out {T}/out --model {M}",
    "batch --prompts {C}/not_an_object.jsonl --out {T}/out --model {M}",
    "batch --prompts {C}/duplicate_id.jsonl --out {T}/out --model {M}",
    "batch --prompts {C}/prompt_not_text.jsonl --out {T}/out --model {M}",
    "batch --prompts {C}/not_utf8.txt --out {T}/out --model {M}",
    "batch --prompts {C}/empty.jsonl --out {T}/out --model {M}",
    "batch --prompts {C}/missing.jsonl --out {T}/out --model {M}",
    "batch --prompts {C} --out {T}/out --model {M}",
    "batch --book {C}/outline_missing_title.yaml --out {T}/out --model {M}",
    "batch --book {C}/outline_unknown_key.yaml --out {T}/out --model {M}",
    "batch --book {C}/outline_not_mapping.yaml --out {T}/out --model {M}",
    "batch --book {C}/outline_bad_bible.yaml --out {T}/out --model {M}",
    "batch --book {C}/outline_empty.yaml --out {T}/out --model {M}",
    "batch --book {C}/round_broken.yaml --out {T}/out --model {M}",
    "batch --prompts {T}/ok.jsonl --out {C}/blank.txt --model {M}",
    "batch --prompts {T}/ok.jsonl --out {T}/out --model {M} --format rtf",
    "batch --prompts {T}/ok.jsonl --out {T}/out --model {M} --limit 0",
    "batch --prompts {T}/ok.jsonl --out {T}/out --model {M} --threads 0",
    "batch --prompts {T}/ok.jsonl --out {T}/out --model {M} --temperature nan",
    "batch --prompts {T}/ok.jsonl --out {T}/out --model {M} --critics nobody",
    "batch --prompts {T}/ok.jsonl --out {T}/out --model {M} --adapter {C}/corrupt_adapter",
    "batch --prompts {T}/ok.jsonl --out {T}/out --model {M} --ray --workers 0",
    "batch --prompts {T}/ok.jsonl --out {T}/out --model {M} --ray --ray-timeout nan",
    # critics
    "critics calibrate {T}/no-such-folder",
    "critics use 99",
    "critics fit --heldout nan",
    "critics fit --heldout 2",
    "critics learn --critic-pair-weight inf",
]



def _counts(db: Path) -> dict[str, int]:
    """Rows per table (tables without rows left out: a new, empty record holds nothing)."""
    if not db.exists():
        return {}
    conn = sqlite3.connect(db)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        counts = {t: conn.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in tables}
        return {t: n for t, n in counts.items() if n}
    finally:
        conn.close()


def _run(argv: list[str]) -> int:
    from ui.cli import main

    try:
        return main(argv)
    except SystemExit as e:  # argparse refusing the line
        return int(e.code or 0)


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    from tests.tiny import make_tiny_model

    return make_tiny_model(tmp_path_factory.mktemp("bad-inputs") / "llama")


@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_refused_cleanly(case, model, tmp_path, capsys):
    ws = tmp_path / "ws"
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    (scratch / "ok.txt").write_text("one prompt\nanother prompt\na third\n")
    (scratch / "ok.jsonl").write_text('{"prompt": "one"}\n{"prompt": "two"}\n')
    (scratch / "exists.md").write_text("someone's file\n")
    line = case
    if line.startswith("book: "):
        line = line[len("book: "):]
        from record import Record

        rec = Record.open(ws / "record.sqlite")
        book = rec.add_book("B")
        rec.add_chapter(book["id"], "One", "The keeper climbed the stairs.")
        rec.close()
    argv = [a.replace("{C}", str(CORPUS)).replace("{M}", str(model)).replace("{T}", str(scratch))
            .replace("{NOT_UTF8}", NOT_UTF8_ARG) for a in shlex.split(line)]
    before = _counts(ws / "record.sqlite")
    try:
        code = _run(["--workspace", str(ws), *argv])
    except Exception:  # in a real run this is a traceback on the user's screen
        pytest.fail(f"{case}: crashed\n{traceback.format_exc()}")
    out, err = capsys.readouterr()
    assert code == 2, f"{case}: exit {code}\nstdout: {out[-500:]}\nstderr: {err[-500:]}"
    assert err.strip(), f"{case}: no message"
    assert "Traceback" not in err
    assert _counts(ws / "record.sqlite") == before, f"{case}: something was recorded"
    assert (scratch / "exists.md").read_text() == "someone's file\n"
