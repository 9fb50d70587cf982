"""The ``scriptorium`` command. Each package adds its own subcommands from its light ``cli``
module (argparse only; heavy imports happen inside the command), so ``scriptorium --help``
answers instantly.

    scriptorium draft "A lighthouse keeper finds a door in the sea." -k 4
    scriptorium --workspace ./ws score stories.jsonl --json
"""

from __future__ import annotations

import argparse
import importlib
import sys

# One registry: a module per stage, each with ``register(subparsers)``. Listed in flow order.
COMMAND_MODULES = [
    "writer.cli",
    "critics.cli",
    "training.cli",
    "training.self_cli",
    "publish.cli",
    "batch.cli",
    "ui.studio.cli",
]


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scriptorium",
        description="Co-train fiction writers, human and machine: draft, critique, teach, export. "
        "Everything is recorded in the workspace's record.",
    )
    parser.add_argument("--workspace", metavar="DIR",
                        help="workspace folder (default: $SCRIPTORIUM_HOME or ~/.scriptorium)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name and name.startswith(e.name):  # a stage not built yet
                continue
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    from record.errors import UserError

    parser = make_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return 0 if args.command is None else 2
    from record.settings import check_flags
    from record.store import set_process_kind

    set_process_kind(" ".join(str(v) for v in (args.command, getattr(args, f"{args.command}_command", None)) if v))
    try:
        check_flags(args)  # argparse's float takes "nan" and "inf"
        return int(args.run(args) or 0)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except Exception as e:
        from record.disk import is_disk_full

        if not is_disk_full(e):
            raise
        # A full disk where no caller named the folder: still a message, never a traceback.
        print(f"error: a disk is full: `{args.command}` could not write ({type(e).__name__}: {str(e)[:200]}); "
              "free some space on the workspace's disk (and --out's, if given) and run the same command again; "
              "nothing already saved was lost", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; finished work is in the record", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
