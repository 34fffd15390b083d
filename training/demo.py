"""`emotifusion demo`: the whole product on the embedded default, offline, in a few minutes on a laptop CPU.

Stages, each timed: build the demo dataset with the dataset builder -> train with `training.train` (the packaged
`configs/demo.yaml`) -> evaluate the saved checkpoint (`eval_report.json`, plots; the model card is re-rendered
with the figures) -> load the checkpoint through `pipeline("emotion-fusion", trust_remote_code=True)` and print
predictions for a few test samples.

Quiet by default: one progress bar per stage (the training bar counts optimizer steps, with an ETA), then the
results; `--verbose` shows the stage headers, the training logs and the libraries' own progress bars instead.

Layout of `--output-dir`:

    data/               the DatasetDict (train / validation / test) and its build_report.json
    model/              the checkpoint (weights, config, processor, remote code, pipeline, README.md model card)
    eval_report.json    the evaluation report (also copied into model/), with the plots beside it
    timings.json        seconds per stage
"""

import json
import logging
import os
import time
from contextlib import contextmanager
from importlib import resources

from emotifusion_hf import EMOTIONS
from emotifusion_hf.eval_report import AFFECT, EVAL_REPORT_NAME, TEMPERATURE, TEXT_LABEL_HEAD


logger = logging.getLogger(__name__)

# Agreement levels the demo evaluates at (the full default sweep costs more text-encoder passes than it teaches).
DEMO_AGREEMENT_LEVELS = (1.0, 0.5, 0.0)
NUM_PREDICTIONS = 6


def default_config_path() -> str:
    """The packaged `training/configs/demo.yaml`."""
    return str(resources.files("training").joinpath("configs", "demo.yaml"))


class StageTimer:
    """Collects wall-clock seconds per stage. Verbose: prints a header and the time of each stage. Quiet: a progress
    bar per stage instead (a stage that reports its own progress, `own_bar=True`, gets none)."""

    def __init__(self, verbose: bool = True):
        self.seconds: dict[str, float] = {}
        self.verbose = verbose

    @contextmanager
    def stage(self, name: str, own_bar: bool = False):
        bar = None
        if self.verbose:
            print(f"\n=== {name} ===", flush=True)
        elif not own_bar:
            from tqdm.auto import tqdm

            bar = tqdm(total=1, desc=name, unit="stage", dynamic_ncols=True)
        started = time.perf_counter()
        try:
            yield
        finally:
            if bar is not None:
                bar.update(1)
                bar.close()
        self.seconds[name] = round(time.perf_counter() - started, 2)
        if self.verbose:
            print(f"--- {name}: {self.seconds[name]:.1f}s", flush=True)

    def table(self) -> str:
        total = sum(self.seconds.values())
        lines = [f"{name:<12}{seconds:>8.1f}s" for name, seconds in self.seconds.items()]
        return "\n".join(lines + [f"{'total':<12}{total:>8.1f}s"])


def _short(text: str, width: int = 60) -> str:
    text = " / ".join(line.strip() for line in text.splitlines() if line.strip())
    return text if len(text) <= width else text[: width - 3] + "..."


def print_predictions(model_dir: str, test_split, count: int = NUM_PREDICTIONS, verbose: bool = True) -> list[dict]:
    """Run the saved checkpoint's pipeline (as remote code) on the first `count` test samples; print them (when
    `verbose`) and return them."""
    from transformers import pipeline

    classifier = pipeline("emotion-fusion", model=model_dir, trust_remote_code=True, device="cpu")
    rows = test_split.select(range(min(count, len(test_split))))
    inputs = [{"image": row["image"], "text": row["text"]} for row in rows]
    results = classifier(inputs, return_modalities=True, top_k=1)
    predictions = [
        {
            "face_label": EMOTIONS[row["label"]],
            "text_label": EMOTIONS[row["text_label"]],
            "fused": result["scores"][0],
            "image_only": result["image_only"][0] if result.get("image_only") else None,
            "text_only": result["text_only"][0] if result.get("text_only") else None,
            "dialogue": _short(row["text"]),
        }
        for row, result in zip(rows, results)
    ]
    if verbose:
        print(predictions_table(predictions))
    return predictions


def predictions_table(predictions: list[dict]) -> str:
    def cell(prediction):
        return f"{prediction['label']} {prediction['score']:.2f}" if prediction else "-"

    lines = [f"{'face':<9}{'text says':<10}{'fused':<18}{'image only':<18}{'text only':<18}dialogue"]
    for entry in predictions:
        lines.append(f"{entry['face_label']:<9}{entry['text_label']:<10}{cell(entry['fused']):<18}"
                     f"{cell(entry['image_only']):<18}{cell(entry['text_only']):<18}{entry['dialogue']}")
    return "\n".join(lines)


def build_demo_data(data_args, data_dir: str, seed: int, verbose: bool = True):
    """The demo DatasetDict built from the training config's `demo_*` settings and saved to `data_dir`."""
    from dataset_builder.builder import build_dataset

    dataset = build_dataset(
        "demo",
        output_dir=data_dir,
        overwrite=True,
        per_class=data_args.demo_per_class,
        eval_per_class=data_args.demo_eval_per_class,
        agreement=data_args.demo_agreement,
        image_size=data_args.demo_image_size,
        face_variation=data_args.demo_face_variation,
        seed=seed,
    )
    if verbose:
        print(", ".join(f"{name}: {len(split)}" for name, split in dataset.items()),
              f"faces; text agrees with the face with probability {data_args.demo_agreement}")
    return dataset


def verdict(report: dict, train_loss: float) -> str:
    """Whether fusion beats both single-modality heads, in one line."""
    fused, image, text = (report[key]["accuracy"] for key in ("fused", "image_only", "text_only"))
    beats = "beats" if fused > max(image, text) else "does NOT beat"
    line = (f"fused accuracy {fused:.3f} {beats} image-only {image:.3f} and text-only {text:.3f} "
            f"(train loss {train_loss:.3f}, temperature {report[TEMPERATURE]:.2f})")
    if TEXT_LABEL_HEAD in report:
        line += f"; text-only against the dialogue's own emotion {report[TEXT_LABEL_HEAD]['accuracy']:.3f}"
    affect = report["fused"].get(AFFECT) or {}
    if affect:
        line += "; " + ", ".join(f"{dimension} CCC {figures['ccc']:.3f}" for dimension, figures in affect.items())
    return line


def run_demo(args) -> int:
    """Entry point of `emotifusion demo`."""
    from . import train
    from .arguments import parse_arguments
    from .callbacks import StepProgressCallback
    from .evaluate import attach_report, evaluate_checkpoint, format_summary

    verbose = bool(getattr(args, "verbose", False))
    if not verbose:
        import datasets

        datasets.utils.logging.disable_progress_bar()

    output_dir = os.path.abspath(args.output_dir)
    config_path = os.path.abspath(args.config) if args.config else default_config_path()
    if not os.path.isfile(config_path):
        raise FileNotFoundError(f"Demo training config not found: {config_path}")
    data_dir = os.path.join(output_dir, "data")
    model_dir = os.path.join(output_dir, "model")
    os.makedirs(output_dir, exist_ok=True)
    # The YAML's data settings drive the dataset build, so the demo and `python -m training.train` agree.
    _, data_args, _ = parse_arguments([config_path, "--output_dir", model_dir])
    timer = StageTimer(verbose)
    print(f"EmotiFusion demo: seed {args.seed}, config {config_path}, output {output_dir}", flush=True)

    with timer.stage("data"):
        dataset = build_demo_data(data_args, data_dir, args.seed, verbose)
    with timer.stage("train", own_bar=not verbose):
        metrics = train.main([config_path, "--output_dir", model_dir, "--dataset_dir", data_dir,
                              "--seed", str(args.seed)], progress_callback=None if verbose else StepProgressCallback())
    with timer.stage("evaluate"):
        report = evaluate_checkpoint(
            model_dir, data_dir, split="test", output_dir=output_dir, agreement_levels=DEMO_AGREEMENT_LEVELS,
            seed=args.seed,
        )
        attach_report(model_dir, report)
    with timer.stage("predict"):
        predictions = print_predictions(model_dir, dataset["test"], verbose=verbose)
    if not verbose:
        print("\n=== predictions ===")
        print(predictions_table(predictions))
    print("\n=== evaluation ===")
    print(format_summary(report))

    print("\n=== timings ===")
    print(timer.table())
    with open(os.path.join(output_dir, "timings.json"), "w", encoding="utf-8") as handle:
        json.dump({**timer.seconds, "total": round(sum(timer.seconds.values()), 2)}, handle, indent=2)
    print("\n" + verdict(report, metrics.get("train_loss", float("nan"))))
    print(f"checkpoint: {model_dir}\nreport: {os.path.join(output_dir, EVAL_REPORT_NAME)}")
    logger.debug("predictions: %s", predictions)
    return 0


__all__ = [
    "DEMO_AGREEMENT_LEVELS",
    "StageTimer",
    "build_demo_data",
    "default_config_path",
    "predictions_table",
    "print_predictions",
    "run_demo",
    "verdict",
]
