"""`python -m dataset_builder dialogues`: write generated dialogues to a CSV file with a diversity report.

    python -m dataset_builder dialogues --per-label 100 --split train --out train.csv
    python -m dataset_builder dialogues --backend corpus --corpus meld/ --label-map meld.json \
        --corpus-licence GPL-3.0 --per-label 100 --split train --out train.csv
"""

import json
import sys

from emotifusion_hf.labels import EMOTIONS

from .corpus import add_corpus_arguments, corpus_source_from_args
from .csv_io import write_dialogues_csv
from .dialogue import SPLITS
from .diversity import diversity_report
from .generator import BACKENDS, DialogueGenerator


def add_dialogue_arguments(parser) -> None:
    """Arguments of the `dialogues` subcommand."""
    parser.add_argument("--per-label", type=int, required=True, help="Dialogues to write per emotion.")
    parser.add_argument("--seed", type=int, default=0, help="Base seed (same seed, same file).")
    parser.add_argument("--split", choices=SPLITS, default="train", help="Whose templates to use.")
    parser.add_argument("--out", required=True, help="Output CSV file.")
    parser.add_argument("--backend", choices=BACKENDS, default="grammar",
                        help="Grammar (default), real utterances of a labelled corpus (--corpus), or a language model.")
    parser.add_argument("--llm-model", default=None, help="With --backend llm: a local model folder or a Hub id.")
    parser.add_argument("--max-new-tokens", type=int, default=96, help="With --backend llm: tokens per dialogue.")
    parser.add_argument("--report", default=None, help="Also write the diversity report (JSON) to this file.")
    parser.add_argument("--no-progress", action="store_true", help="Hide the progress bar.")
    add_corpus_arguments(parser)


def run_dialogues(args) -> dict:
    """Run the `dialogues` subcommand: write the CSV, print (and optionally save) the diversity report."""
    from tqdm.auto import tqdm

    if args.per_label < 1:
        raise ValueError(f"--per-label must be >= 1, got {args.per_label}.")
    if args.backend == "llm" and not args.llm_model:
        raise ValueError("--backend llm needs --llm-model (a local model folder or a Hub model id).")
    corpus = corpus_source_from_args(args)
    if args.backend == "corpus" and corpus is None:
        raise ValueError("--backend corpus needs --corpus (a labelled CSV/TSV/JSONL/Parquet file, folder or Hub id).")
    if args.backend != "corpus" and corpus is not None:
        raise ValueError(f"--corpus is only used with --backend corpus, not --backend {args.backend}.")
    llm_kwargs = {"max_new_tokens": args.max_new_tokens} if args.backend == "llm" else {}
    generator = DialogueGenerator(
        split=args.split, seed=args.seed, backend=args.backend, llm_model=args.llm_model, corpus=corpus, **llm_kwargs
    )
    total = args.per_label * len(EMOTIONS)
    stream = tqdm(
        generator.generate_many(args.per_label), total=total, desc=f"Dialogues ({args.split})", unit=" dialogues",
        disable=args.no_progress,
    )
    report = diversity_report(write_dialogues_csv(stream, args.out))
    report.update(generator.report())
    report["out"] = args.out
    if args.report:
        with open(args.report, "w", encoding="utf-8") as handle:
            json.dump(report, handle, indent=2)
    print(json.dumps(report, indent=2), file=sys.stderr)
    return report




__all__ = ["add_dialogue_arguments", "run_dialogues"]
