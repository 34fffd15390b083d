"""`python -m bench [--quick] [--gpu] [--only SECTION ...] [--text-real PATH] [--out FILE.json]`: run the benchmarks,
write the JSON results and the table in BENCHMARKS.md.

Where: `--out FILE.json` writes the results there and the table to BENCHMARKS.md in the same folder. Without `--out`,
run from the project's source tree, the tracked `bench/results.json` and `BENCHMARKS.md` of the project are updated
(wherever the command is started); from an installed package `--out` is required.

With `--only` (or `--gpu`) the sections run are merged into an existing results file: the other sections keep their
figures, and each section run apart records its own machine and command."""

import argparse
import importlib
import json
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

SECTIONS = {
    "inference": "bench.inference",
    "quality": "bench.quality",
    "data": "bench.data",
    "text": "bench.text",
    "fusion": "bench.fusion",
    "video": "bench.video",
    "onnx": "bench.onnx",
    "explanations": "bench.explanations",
}


def machine() -> dict:
    import torch

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cpu": platform.processor() or platform.machine(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }


# The project's source tree, when this package runs from one (not from site-packages): its tracked results and table.
PROJECT_ROOT = Path(__file__).resolve().parent.parent
TRACKED_RESULTS = PROJECT_ROOT / "bench" / "results.json"
TRACKED_MARKDOWN = PROJECT_ROOT / "BENCHMARKS.md"


def running_from_the_project() -> bool:
    return TRACKED_MARKDOWN.is_file() and (PROJECT_ROOT / "pyproject.toml").is_file()


def markdown_path_for(results_path: str) -> Path:
    """The table goes beside the results, except for the tracked results, whose table is the project's BENCHMARKS.md."""
    results_path = Path(results_path).resolve()
    if running_from_the_project() and results_path == TRACKED_RESULTS:
        return TRACKED_MARKDOWN
    return results_path.parent / "BENCHMARKS.md"


def read_results(path: str) -> dict:
    """The results already in `path`, or {} when there are none (or the file is not a results object)."""
    try:
        with open(path) as handle:
            results = json.load(handle)
    except (OSError, json.JSONDecodeError):
        return {}
    return results if isinstance(results, dict) else {}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=None, help="JSON file for the results; BENCHMARKS.md is written beside it "
                        "(default, from the project's source tree: its tracked bench/results.json and BENCHMARKS.md)")
    parser.add_argument("--quick", action="store_true", help="fewer repeats and rows (under 5 minutes on 2 cores)")
    parser.add_argument("--gpu", action="store_true", help="run the GPU training benchmark only")
    parser.add_argument("--only", nargs="*", choices=sorted(SECTIONS), help="run only these sections")
    parser.add_argument("--no-markdown", action="store_true", help="do not rewrite BENCHMARKS.md")
    parser.add_argument("--text-real", default=None, help="text section: a text,label CSV of real text to score on "
                        "(default: ../shared/data/goemotions_ekman_dev/utterances.csv from the project root)")
    args = parser.parse_args(argv)
    if args.out is None:
        if not running_from_the_project():
            parser.error("give --out FILE.json: the project's tracked results are only written from its source tree")
        args.out = str(TRACKED_RESULTS)

    started = time.time()
    command = " ".join(["python -m bench", *(argv if argv is not None else sys.argv[1:])])
    run_info = {"machine": machine(), "quick": args.quick, "command": command}
    # A partial run updates the sections it ran and keeps the others' figures.
    previous = read_results(args.out) if (args.only or args.gpu) else {}
    results = previous or dict(run_info)
    section_options = {"text": {"real_path": args.text_real}}
    sections = {"gpu": "bench.gpu"} if args.gpu else {name: SECTIONS[name] for name in (args.only or SECTIONS)}
    for name, module in sections.items():
        section_start = time.time()
        print(f"[bench] {name} ...", flush=True)
        section = importlib.import_module(module).run(quick=args.quick, **section_options.get(name, {}))
        section["seconds"] = round(time.time() - section_start, 1)
        if previous:
            section.update(run_info)
        results[name] = section
        print(json.dumps(section, indent=2), flush=True)
    if not previous:
        results["seconds"] = round(time.time() - started, 1)

    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as handle:
        json.dump(results, handle, indent=2)
    print(f"[bench] wrote {args.out} in {round(time.time() - started, 1)} s")
    if not args.no_markdown:
        from .report import write_benchmarks_markdown

        markdown = markdown_path_for(args.out)
        write_benchmarks_markdown(results, args.out, markdown)
        print(f"[bench] wrote {markdown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
