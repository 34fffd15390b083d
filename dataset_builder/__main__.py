"""
Build the EmotiFusion face + dialogue dataset, or write synthetic dialogues.

    python -m dataset_builder build --source demo --output data/demo --per-class 64
    python -m dataset_builder build --source affectnet --data-dir /data/AffectNet --output data/affectnet
    python -m dataset_builder dialogues --per-label 100 --seed 0 --split train --out dialogues.csv
"""

import argparse
import logging
import sys

from .build_command import add_build_arguments, run_build
from .dialogues import add_dialogue_arguments, run_dialogues
from .records import BadRowError, UnknownClassError


# Errors caused by the user's input: reported as one line, without a traceback.
_USER_ERRORS = (BadRowError, UnknownClassError, ValueError, FileNotFoundError, FileExistsError, NotADirectoryError)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m dataset_builder", description=__doc__.strip().splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="Log progress details.")
    subcommands = parser.add_subparsers(dest="command", required=True, metavar="{build,dialogues}")
    build = subcommands.add_parser("build", help="Build the face + dialogue DatasetDict and save it to disk.")
    add_build_arguments(build)
    build.set_defaults(run=run_build)
    dialogues = subcommands.add_parser("dialogues", help="Write synthetic dialogues to a CSV file.")
    add_dialogue_arguments(dialogues)
    dialogues.set_defaults(run=run_dialogues)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        args.run(args)
    except _USER_ERRORS as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
