"""`python -m bench [--quick] [--gpu] [--only SECTION ...] --out FILE.json`: run the benchmarks, write the JSON
results and the table in BENCHMARKS.md."""

import argparse
import importlib
import json
import os
import platform
import sys
import time

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

SECTIONS = {
    "inference": "bench.inference",
    "quality": "bench.quality",
    "data": "bench.data",
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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--out", default="bench/results.json", help="JSON file for the results")
    parser.add_argument("--quick", action="store_true", help="fewer repeats and rows (under 5 minutes on 2 cores)")
    parser.add_argument("--gpu", action="store_true", help="run the GPU training benchmark only")
    parser.add_argument("--only", nargs="*", choices=sorted(SECTIONS), help="run only these sections")
    parser.add_argument("--no-markdown", action="store_true", help="do not rewrite BENCHMARKS.md")
    args = parser.parse_args(argv)

    started = time.time()
    results = {"machine": machine(), "quick": args.quick, "command": " ".join(["python -m bench", *(argv or sys.argv[1:])])}
    sections = {"gpu": "bench.gpu"} if args.gpu else {name: SECTIONS[name] for name in (args.only or SECTIONS)}
    for name, module in sections.items():
        section_start = time.time()
        print(f"[bench] {name} ...", flush=True)
        results[name] = importlib.import_module(module).run(quick=args.quick)
        results[name]["seconds"] = round(time.time() - section_start, 1)
        print(json.dumps(results[name], indent=2), flush=True)
    results["seconds"] = round(time.time() - started, 1)

    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as handle:
        json.dump(results, handle, indent=2)
    print(f"[bench] wrote {args.out} in {results['seconds']} s")
    if not args.no_markdown:
        from .report import write_benchmarks_markdown

        write_benchmarks_markdown(results, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
