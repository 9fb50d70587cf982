"""The `scriptorium draft` command and the CLI's promises: fast help, JSONL, clear errors."""

import json
import subprocess
import sys

from ui.cli import main


def test_help_does_not_import_torch():
    code = ("import sys, ui.cli; ui.cli.make_parser(); "
            "heavy = [m for m in ('torch', 'transformers', 'gradio', 'trl') if m in sys.modules]; "
            "print(heavy); sys.exit(1 if heavy else 0)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_draft_json_records_candidates(tiny_model_dir, workspace, capsys):
    rc = main(["draft", "a cat finds a map", "-k", "3", "--max-new-tokens", "6", "--model", str(tiny_model_dir), "--json"])
    assert rc == 0
    lines = [json.loads(l) for l in capsys.readouterr().out.splitlines()]
    assert len(lines) == 3
    assert all({"draft_id", "prompt", "text"} <= set(l) for l in lines)
    from record import open_record

    rec = open_record(workspace)
    rows = [rec.get("drafts", l["draft_id"]) for l in lines]
    assert {r["request"] for r in rows} == {rows[0]["request"]}
    assert rows[0]["config"]["k"] == 3 and rows[0]["model"] == str(tiny_model_dir)


def test_draft_errors_exit_2_with_a_message(tiny_model_dir, workspace, capsys, tmp_path):
    assert main(["draft", "  ", "--model", str(tiny_model_dir)]) == 2
    assert "prompt is empty" in capsys.readouterr().err
    assert main(["draft", "x", "-k", "10000", "--model", str(tiny_model_dir)]) == 2
    assert "k must be between 1 and 64" in capsys.readouterr().err
    assert main(["draft", "x", "--model", str(tmp_path)]) == 2
    assert "no config.json" in capsys.readouterr().err
    assert main(["draft", "x", "--model", str(tiny_model_dir), "--adapter", str(tmp_path / "gone")]) == 2
    assert "adapter folder" in capsys.readouterr().err
    assert main(["draft", "cat " * 700, "--model", str(tiny_model_dir), "--max-new-tokens", "4"]) == 2
    assert "context window" in capsys.readouterr().err


def test_draft_refuses_a_record_that_is_not_sqlite(tiny_model_dir, tmp_path, capsys):
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "record.sqlite").write_text("not a database")
    assert main(["--workspace", str(ws), "draft", "x", "--model", str(tiny_model_dir)]) == 2
    assert "not an SQLite database" in capsys.readouterr().err
    assert (ws / "record.sqlite").read_text() == "not a database"
