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


def _no_model_load(monkeypatch):
    """Make any model load fail the test: what is checked must be checked before it."""
    import writer.models

    def load_base(*a, **k):
        raise AssertionError("the model was loaded before the input was checked")

    monkeypatch.setattr(writer.models, "load_base", load_base)


def _drafts(workspace):
    from record import Record, record_path

    path = record_path(workspace)
    return Record.open(path).query("SELECT * FROM drafts") if path.exists() else []


def test_prompts_from_a_file_or_stdin_are_drafted_with_one_model_load(tiny_model_dir, workspace, tmp_path, capsys,
                                                                      monkeypatch):
    import io

    import writer.models

    loads = []
    real = writer.models.load_base
    monkeypatch.setattr(writer.models, "load_base", lambda *a, **k: loads.append(1) or real(*a, **k))
    lines = tmp_path / "prompts.txt"
    lines.write_text("a cat finds a map\n\nthe ship sailed north\nthe lamp went out\n", encoding="utf-8")
    flags = ["-k", "2", "--max-new-tokens", "4", "--model", str(tiny_model_dir), "--json"]
    assert main(["draft", "--prompt-file", str(lines), *flags]) == 0
    out = [json.loads(l) for l in capsys.readouterr().out.splitlines()]
    assert [(o["prompt"], o["candidate"]) for o in out] == [
        (p, c) for p in ("a cat finds a map", "the ship sailed north", "the lamp went out") for c in (0, 1)]
    assert [o["prompt_index"] for o in out] == [0, 0, 1, 1, 2, 2] and len(loads) == 1
    jsonl = b'{"prompt": "one"}\n{"prompt": "two", "id": 7}\n'
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(jsonl), encoding="utf-8"))
    assert main(["draft", "--prompt-file", "-", *flags]) == 0
    assert [json.loads(l)["prompt"] for l in capsys.readouterr().out.splitlines()] == ["one", "one", "two", "two"]
    assert len(loads) == 2 and len(_drafts(workspace)) == 10


def test_bad_prompts_are_refused_before_any_model_loads(tiny_model_dir, workspace, tmp_path, capsys, monkeypatch):
    _no_model_load(monkeypatch)
    flags = ["--model", str(tiny_model_dir), "--max-new-tokens", "4"]
    invalid = b"caf\xff".decode("utf-8", "surrogateescape")  # what Python makes of bytes in argv that are not UTF-8
    assert main(["draft", invalid, *flags]) == 2
    assert "not valid UTF-8" in capsys.readouterr().err
    bad_file = tmp_path / "bad.txt"
    bad_file.write_bytes(b"a good prompt\nan \xff bad one\n")
    assert main(["draft", "--prompt-file", str(bad_file), *flags]) == 2
    err = capsys.readouterr().err
    assert "not UTF-8" in err and "line 2" in err and "0xff" in err
    assert main(["draft", "cat " * 700, *flags]) == 2
    assert "context window" in capsys.readouterr().err
    long_file = tmp_path / "long.txt"
    long_file.write_text("short\n" + "cat " * 700 + "\n")
    assert main(["draft", "--prompt-file", str(long_file), *flags]) == 2
    assert "prompt 2 is" in capsys.readouterr().err
    (tmp_path / "empty.txt").write_text("\n\n")
    assert main(["draft", "--prompt-file", str(tmp_path / "empty.txt"), *flags]) == 2
    assert "holds no prompts" in capsys.readouterr().err
    assert main(["draft", "--prompt-file", str(tmp_path), *flags]) == 2
    assert "is a folder" in capsys.readouterr().err
    assert main(["draft", "x", "--prompt-file", str(long_file), *flags]) == 2
    assert "not both" in capsys.readouterr().err
    assert main(["draft", *flags]) == 2
    assert "give a prompt" in capsys.readouterr().err
    assert _drafts(workspace) == []


def test_a_corrupt_adapter_is_refused_before_the_base_loads(tiny_model_dir, workspace, tmp_path, capsys, monkeypatch):
    import os

    _no_model_load(monkeypatch)
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text(json.dumps({"peft_type": "LORA", "r": 4, "target_modules": ["q_proj"]}))
    (adapter / "adapter_model.safetensors").write_bytes(os.urandom(4096))
    flags = ["--model", str(tiny_model_dir), "--max-new-tokens", "4"]
    assert main(["draft", "x", "--adapter", str(adapter), *flags]) == 2
    err = capsys.readouterr().err
    assert "is corrupt" in err and "adapter_model.safetensors" in err and "Traceback" not in err
    assert main(["draft", "x", "--adapter", str(adapter / "adapter_config.json"), *flags]) == 2
    assert "is a file; it expects an adapter folder" in capsys.readouterr().err
    assert main(["draft", "x", "--model", str(tiny_model_dir / "config.json")]) == 2
    assert "is a file; it expects a Hugging Face model folder" in capsys.readouterr().err


def test_a_truncated_adapter_is_named_as_corrupt(tiny_model_dir, tmp_path):
    import pytest

    from tests.writer.test_models import make_adapter
    from writer.models import ModelError, check_adapter_dir

    adapter = make_adapter(tiny_model_dir, tmp_path / "a", seed=1)
    assert check_adapter_dir(adapter)["peft_type"] == "LORA"
    weights = adapter / "adapter_model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-16])
    with pytest.raises(ModelError, match="is corrupt"):
        check_adapter_dir(adapter)
