"""
The `build` subcommand of `python -m dataset_builder`: its arguments (`add_build_arguments`) and what it runs
(`run_build`: build, save to `--output` with `build_report.json`, optionally push to the Hub).

An argument whose name is an `EmotiFusionBuilderConfig` field (`--per-class` -> `per_class`) is handed to the
config as it is, `None` keeping the config's default: a new config field needs only its argument here.
"""

import argparse
import contextlib
import dataclasses
import json
import os
import shutil
import sys
import tempfile

from .affectnet import LAYOUTS
from .builder import build_dataset, check_output_dir
from .builder_config import EmotiFusionBuilderConfig
from .dialogues import BACKENDS, add_corpus_arguments
from .sources import DEMO_DEFAULTS, FACE_SOURCES, SOURCES


def add_build_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of the `build` subcommand."""
    parser.add_argument("--source", choices=SOURCES, required=True, help="Where the faces come from.")
    parser.add_argument("--data-dir", default=None, help="The AffectNet folder (required with --source affectnet).")
    parser.add_argument(
        "--layout", choices=("auto",) + LAYOUTS, default="auto", help="AffectNet layout (default: detect it)."
    )
    parser.add_argument("--output", required=True, help="Folder for DatasetDict.save_to_disk and build_report.json.")
    parser.add_argument("--seed", type=int, default=0, help="Seed of pairing, dialogues, demo faces and slices.")
    parser.add_argument(
        "--agreement", type=float, default=DEMO_DEFAULTS["agreement"], help="P(dialogue emotion == face emotion)."
    )
    _add_demo_arguments(parser)
    parser.add_argument("--validation-fraction", type=float, default=None, help="Training slice used for validation.")
    parser.add_argument("--test-fraction", type=float, default=None, help="Training slice used for test, if none.")
    parser.add_argument("--max-face-size", type=int, default=None, help="AffectNet: shrink crops to this longer side.")
    parser.add_argument(
        "--strict", action="store_true", default=None, help="Fail on the first bad row instead of skipping it."
    )
    parser.add_argument("--cache-dir", default=None, help="Where to build (default: a temporary folder).")
    parser.add_argument("--overwrite", action="store_true", help="Replace --output if it exists.")
    _add_dialogue_arguments(parser)
    parser.add_argument("--num-proc", type=int, default=None, help="Processes decoding faces, and for save_to_disk.")
    parser.add_argument(
        "--num-shards", type=int, default=None, help="Write each split as this many Arrow shards (big builds)."
    )
    parser.add_argument("--push-to-hub", default=None, metavar="REPO", help="Also upload as parquet to this Hub repo.")
    parser.add_argument("--private", action="store_true", help="With --push-to-hub: create a private repo.")


def _add_demo_arguments(parser: argparse.ArgumentParser) -> None:
    per_class, image_size = DEMO_DEFAULTS["per_class"], DEMO_DEFAULTS["image_size"]
    parser.add_argument(
        "--per-class", type=int, default=None, help=f"Demo: train faces per class (default {per_class})."
    )
    parser.add_argument("--eval-per-class", type=int, default=None, help="Demo: validation/test faces per class.")
    parser.add_argument(
        "--image-size", type=int, default=None, help=f"Demo: face size in pixels (default {image_size})."
    )
    parser.add_argument(
        "--face-variation",
        type=float,
        default=None,
        help=f"Demo: pose/lighting/clutter variation, 0-1 (default {DEMO_DEFAULTS['face_variation']:g}).",
    )


def _add_dialogue_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dialogue-backend", choices=BACKENDS, default=None, help="Dialogue generator (grammar).")
    parser.add_argument("--llm-model", default=None, help="With --dialogue-backend llm: model folder or Hub id.")
    parser.add_argument("--llm-max-new-tokens", type=int, default=None, help="With --dialogue-backend llm: budget.")
    add_corpus_arguments(parser, prefix="corpus-")


def config_kwargs_from_args(args: argparse.Namespace) -> dict:
    """The `EmotiFusionBuilderConfig` fields the arguments name (all but `source`, which names the config)."""
    names = [field.name for field in dataclasses.fields(EmotiFusionBuilderConfig) if field.name != "source"]
    return {name: getattr(args, name) for name in names if hasattr(args, name)}


def _check_data_dir_argument(args: argparse.Namespace) -> None:
    if not FACE_SOURCES[args.source].reads_data_dir:
        return
    if not args.data_dir:
        raise ValueError(f"--data-dir is required with --source {args.source} (the folder holding AffectNet).")
    if not os.path.isdir(args.data_dir):
        raise FileNotFoundError(f"--data-dir {args.data_dir!r} does not exist or is not a directory.")


@contextlib.contextmanager
def _build_cache(cache_dir: str | None):
    """`cache_dir`, or a throwaway folder removed afterwards: the saved copy in --output is the product."""
    if cache_dir:
        yield cache_dir
        return
    temporary = tempfile.mkdtemp(prefix="emotifusion-build-")
    try:
        yield temporary
    finally:
        shutil.rmtree(temporary, ignore_errors=True)


def run_build(args: argparse.Namespace) -> dict:
    """
    Run the `build` subcommand: build with `EmotiFusionBuilder`, `save_to_disk(--output)`, write
    `--output/build_report.json`, and optionally push to the Hub. Returns the report.
    """
    _check_data_dir_argument(args)
    output = os.path.abspath(args.output)
    check_output_dir(output, args.overwrite)
    with _build_cache(args.cache_dir) as cache_dir:
        dataset, report = build_dataset(
            args.source,
            output_dir=output,
            cache_dir=cache_dir,
            overwrite=True,
            num_proc=args.num_proc,
            num_shards=args.num_shards,
            return_report=True,
            **config_kwargs_from_args(args),
        )
        if args.push_to_hub:
            dataset.push_to_hub(args.push_to_hub, private=args.private)
            report["pushed_to"] = args.push_to_hub
        del dataset
    summary = {"output": output, "kept_total": report["kept_total"], "skipped": report["skipped"]}
    print(json.dumps(summary, indent=2), file=sys.stderr)
    return report


__all__ = ["add_build_arguments", "config_kwargs_from_args", "run_build"]
