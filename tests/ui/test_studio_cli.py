"""The ``studio`` command: flags, defaults, sign-in parsing; light to import."""

from __future__ import annotations

import subprocess
import sys

import pytest

from ui.cli import make_parser
from ui.studio.cli import AuthError, parse_auth


def test_defaults_bind_to_localhost():
    args = make_parser().parse_args(["studio"])
    assert (args.host, args.port, args.auth, args.concurrency, args.max_upload_mb) == ("127.0.0.1", 7860, None, 1, 5)
    args = make_parser().parse_args(["--workspace", "ws", "studio", "--port", "8001", "--auth", "ann:x", "--auth",
                                     "bob:y:z", "--max-new-tokens", "16", "--model", "m", "--precision", "bf16"])
    assert args.port == 8001 and args.max_new_tokens == 16 and args.workspace == "ws" and args.precision == "bf16"
    assert parse_auth(args.auth, None) == [("ann", "x"), ("bob", "y:z")]
    assert make_parser().parse_args(["studio", "--workspace", "w2"]).workspace == "w2"
    assert make_parser().parse_args(["--workspace", "w1", "studio"]).workspace == "w1"
    assert make_parser().parse_args(["studio"]).workspace is None


def test_auth_file(tmp_path):
    f = tmp_path / "authors.txt"
    f.write_text("# authors\nann:secret\n\nbob:pw\n")
    assert parse_auth(["cy:z"], str(f)) == [("cy", "z"), ("ann", "secret"), ("bob", "pw")]
    assert parse_auth(None, None) is None
    with pytest.raises(AuthError, match="does not exist"):
        parse_auth(None, str(tmp_path / "missing.txt"))
    with pytest.raises(AuthError, match="user:password"):
        parse_auth(["nocolon"], None)
    with pytest.raises(AuthError, match="more than once"):
        parse_auth(["ann:a", "ann:b"], None)


def test_help_is_instant_and_heavy_imports_stay_out():
    code = ("import sys, argparse, ui.studio.cli; ui.studio.cli.register(argparse.ArgumentParser().add_subparsers()); "
            "print(any(m in sys.modules for m in ('gradio', 'torch', 'transformers')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False", out.stderr
    helped = subprocess.run([sys.executable, "-m", "ui.cli", "studio", "--help"], capture_output=True, text=True,
                            timeout=60)
    assert helped.returncode == 0 and "--auth" in helped.stdout and "127.0.0.1" in helped.stdout


def test_studio_settings_are_checked():
    from ui.studio.engine import StudioConfig, StudioError

    assert StudioConfig().max_new_tokens == 96 and StudioConfig().concurrency == 1
    for bad, message in (({"concurrency": 0}, "concurrency"), ({"max_new_tokens": 0}, "max_new_tokens"),
                         ({"precision": "int3"}, "precision 'int3' unknown"),
                         ({"train_precision": "fp8"}, "train_precision 'fp8' unknown")):
        with pytest.raises(StudioError, match=message):
            StudioConfig(**bad)
