"""``scriptorium score`` and ``scriptorium critics``."""

import json
import subprocess
import sys

import pytest

from tests.critics.stories import BAKERY, BAKERY_PROMPT, LIGHTHOUSE, LIGHTHOUSE_PROMPT, LOOPING
from ui.cli import main
from critics.registry import DEFAULT_CRITICS


def write(path, lines):
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def stories_file(tmp_path):
    return write(tmp_path / "in.jsonl", [
        json.dumps({"prompt": LIGHTHOUSE_PROMPT, "story": LIGHTHOUSE, "id": "a"}),
        "{not json",
        json.dumps({"prompt": BAKERY_PROMPT, "story": LOOPING}),
        json.dumps({"prompt": BAKERY_PROMPT}),
        "",
        json.dumps({"prompt": BAKERY_PROMPT, "story": BAKERY}),
        "[1, 2]",
    ])


def test_score_json_one_object_per_line_in_order(stories_file, workspace, capsys):
    assert main(["score", str(stories_file), "--json"]) == 0
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [o["line"] for o in out] == [1, 2, 3, 4, 6, 7]
    assert "line 7: expected a JSON object" in out[5]["error"]
    assert "line 2: not valid JSON" in out[1]["error"] and "line 4: needs a \"story\"" in out[3]["error"]
    good = [o for o in out if "panel" in o]
    assert all(0 <= o["panel"] <= 1 and set(o["critics"]) == set(DEFAULT_CRITICS) for o in good)
    assert good[0]["id"] == "a" and good[0]["panel"] > good[1]["panel"]  # the looping story is capped
    assert all(set(v) == {"score", "reason"} for o in good for v in o["critics"].values())


def test_score_text_and_warnings(stories_file, workspace, capsys):
    assert main(["score", str(stories_file), "--critics", "style,lexical"]) == 0
    cap = capsys.readouterr()
    assert "line 1 (id a): panel" in cap.out and "  lexical" in cap.out and "coherence" not in cap.out
    assert "warning: line 2: not valid JSON" in cap.err and "skipped" in cap.err


def test_score_strict_refuses_the_file(stories_file, workspace, capsys):
    assert main(["score", str(stories_file), "--strict"]) == 2
    cap = capsys.readouterr()
    assert "3 malformed line(s)" in cap.err and "line 2" in cap.err and cap.out == ""


def test_score_missing_file_and_unknown_critic(tmp_path, workspace, capsys):
    assert main(["score", str(tmp_path / "nope.jsonl")]) == 2
    assert "no such file" in capsys.readouterr().err
    f = write(tmp_path / "ok.jsonl", [json.dumps({"story": LIGHTHOUSE})])
    assert main(["score", str(f), "--critics", "tone"]) == 2
    assert "no critic named 'tone'" in capsys.readouterr().err


def test_critics_group(workspace, capsys):
    assert main(["critics", "list"]) == 0
    out = capsys.readouterr().out
    assert "* style" in out and "  fluency" in out
    assert main(["critics", "learn"]) == 2
    assert "needs at least" in capsys.readouterr().err
    assert main(["critics"]) == 2


def test_cli_module_is_light():
    code = "import sys, critics.cli; print(any(m in sys.modules for m in ('torch', 'transformers', 'sentence_transformers')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_score_uses_the_current_panel_version_and_says_which(stories_file, workspace, capsys):
    from critics.panel import Panel
    from critics.panel_versions import add_version, panel_config, use_version
    from record import open_record

    assert main(["score", str(stories_file), "--json"]) == 0
    cap = capsys.readouterr()
    hand = [json.loads(line) for line in cap.out.splitlines()]
    assert "note: scoring with the hand-set weights (no panel version is current)" in cap.err
    rec = open_record(workspace)
    vid = add_version(rec, {"style": 0.1, "lexical": 0.1, "coherence": 0.1, "relevance": 0.7}, source="fit")
    use_version(rec, vid)
    expected = Panel(panel_config(rec)).score([LIGHTHOUSE_PROMPT, BAKERY_PROMPT, BAKERY_PROMPT], [LIGHTHOUSE, LOOPING, BAKERY])
    rec.close()
    assert main(["score", str(stories_file), "--json"]) == 0
    cap = capsys.readouterr()
    assert f"note: scoring with panel version {vid} (fit: style 0.10, lexical 0.10, coherence 0.10, relevance 0.70)" in cap.err
    versioned = [json.loads(line)["panel"] for line in cap.out.splitlines() if "panel" in json.loads(line)]
    assert versioned == pytest.approx([r.total for r in expected])
    assert versioned != pytest.approx([o["panel"] for o in hand if "panel" in o])
    # naming the critics (or a config file) is explicit: the version is not used
    assert main(["score", str(stories_file), "--critics", "style,lexical,coherence,relevance", "--json"]) == 0
    assert "hand-set weights" in capsys.readouterr().err
