"""``scriptorium studio``: the writing studio in the browser (Gradio).

    scriptorium studio                          # http://127.0.0.1:7860 on the built-in writer
    scriptorium --workspace ./ws studio --port 8000 --auth ann:secret
    scriptorium studio --host 0.0.0.0 --auth-file authors.txt   # one user:password a line
    scriptorium studio --auth ann:a --auth ed:e --admin ed      # ed sees every author's work

Light on purpose: Gradio and torch load inside the command.
"""

from __future__ import annotations

import argparse
import threading
from pathlib import Path

from record.errors import UserError


class AuthError(UserError):
    """An --auth or --auth-file value that cannot be used."""


def parse_auth(values: list[str] | None, auth_file: str | None) -> list[tuple[str, str]] | None:
    """``user:pass`` pairs from the flags and the file (one a line, '#' comments)."""
    pairs: list[tuple[str, str]] = []
    lines = list(values or [])
    if auth_file:
        path = Path(auth_file).expanduser()
        if not path.is_file():
            raise AuthError(f"auth file {path} does not exist; give a text file with one user:password a line")
        lines += [ln.strip() for ln in path.read_text().splitlines() if ln.strip() and not ln.strip().startswith("#")]
    for item in lines:
        user, sep, password = item.partition(":")
        if not sep or not user.strip() or not password:
            raise AuthError(f"auth entry {item.split(':')[0]!r}... is not user:password; write it as user:password")
        pairs.append((user.strip(), password))
    users = [u for u, _ in pairs]
    dupes = sorted({u for u in users if users.count(u) > 1})
    if dupes:
        raise AuthError(f"user(s) {', '.join(dupes)} appear more than once in --auth/--auth-file; keep one password each")
    return pairs or None


def run_studio(args) -> int:
    auth = parse_auth(args.auth, args.auth_file)
    admins = tuple(args.admin or ())
    unknown = sorted(set(admins) - {u for u, _ in auth or []})
    if unknown:
        raise AuthError(f"--admin {', '.join(unknown)} is not among the signed-in authors (--auth/--auth-file); "
                        "name an author who signs in")
    if args.host not in ("127.0.0.1", "localhost", "::1") and not auth:
        print(f"warning: the studio listens on {args.host} without --auth; anyone who can reach it can read and "
              "change every book")
    from ui.studio.app import build_app, launch
    from ui.studio.engine import StudioEngine

    engine = StudioEngine(args.workspace, model=args.model, precision=args.precision,
                          max_new_tokens=args.max_new_tokens, concurrency=args.concurrency,
                          train_precision=args.train_precision, auth=auth is not None,
                          max_upload_mb=args.max_upload_mb, admins=admins)
    app = build_app(engine)
    # Load the writer while the browser opens, so the first draft does not wait for it.
    threading.Thread(target=engine.warm_up, daemon=True, name="load-writer").start()
    print(f"Scriptorium studio on http://{args.host}:{args.port} (workspace {engine.workspace}); Ctrl-C stops it")
    launch(app, host=args.host, port=args.port, auth=auth)
    return 0


def register(sub) -> None:
    p = sub.add_parser("studio", help="the writing studio in your browser",
                       description="Start the Gradio writing studio: books, story bible, outline, drafting with "
                                   "critics, picks, training rounds, export and feedback sessions.")
    p.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    # also accepted after the command; SUPPRESS keeps `scriptorium --workspace DIR studio` working
    p.add_argument("--workspace", metavar="DIR", default=argparse.SUPPRESS,
                   help="workspace folder (default: $SCRIPTORIUM_HOME or ~/.scriptorium)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--auth", action="append", metavar="USER:PASS",
                   help="require sign-in; repeat for several authors (each sees only their own books)")
    p.add_argument("--auth-file", metavar="FILE", help="file with one user:password a line")
    p.add_argument("--admin", action="append", metavar="USER",
                   help="a signed-in author who may see every author's books, rounds and feedback (repeatable)")
    p.add_argument("--model", help="local Hugging Face causal-LM folder (default: built-in SmolLM2-135M-Instruct)")
    p.add_argument("--precision", choices=["fp32", "bf16", "4bit"], default="fp32", help="drafting weights (default fp32)")
    p.add_argument("--train-precision", choices=["fp32", "bf16", "4bit"], default="4bit",
                   help="base weights while training a round (default 4bit)")
    p.add_argument("--max-new-tokens", type=int, default=96,
                   help="default tokens per candidate (default 96: quick on a CPU; each book can change it)")
    p.add_argument("--concurrency", type=int, default=1, help="model jobs at once; the rest wait in the queue (default 1)")
    p.add_argument("--max-upload-mb", type=int, default=5, help="largest file an author may upload, in MB (default 5)")
    p.set_defaults(run=run_studio)
