"""The `emotifusion` command. Each subcommand lives with the code it drives and registers itself here."""

import argparse
import sys

from . import __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="emotifusion", description="Emotion recognition from a face image and a dialogue."
    )
    parser.add_argument("--version", action="version", version=f"emotifusion-hf {__version__}")
    parser.add_subparsers(dest="command", metavar="COMMAND")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "handler", None) is None:
        parser.print_help()
        return 2
    return args.handler(args) or 0


if __name__ == "__main__":
    sys.exit(main())
