"""The `emotifusion` command: the top floor of the project.

Each subcommand's arguments are declared here; its work lives with the code it drives (`training`, the library's
`predict` and `hub`) and is imported only when that subcommand runs, so `emotifusion --help` and argument errors load
no torch. Exit status: 0 on success, 1 when the work fails (one `emotifusion COMMAND: error: ...` line), 2 for bad
arguments or an invalid combination of them (argparse's usage line and error).

A subcommand is declared with `_add_command` (what it does, examples, its handler and an optional check of argument
combinations run before anything heavy is imported); every option carries help text.
Nothing imports this module.
"""

import argparse
import os
import sys

from . import __version__


def _run_demo(args):
    from training.demo import run_demo

    return run_demo(args)


def _run_evaluate(args):
    from training.evaluate import run_evaluate

    return run_evaluate(args)


def _run_predict(args):
    from .predict import run_predict

    return run_predict(args)


def _run_export(args):
    from .onnx_export import run_export

    return run_export(args)


def _run_push(args):
    from .hub import run_push

    if not (args.space or args.space_id):
        return run_push(args)
    import tempfile

    from dataset_builder.demo_examples import write_demo_examples

    with tempfile.TemporaryDirectory(prefix="emotifusion-space-examples-") as folder:
        return run_push(args, space_examples=write_demo_examples(folder))


def _run_app(args):
    import tempfile

    from dataset_builder.demo_examples import write_demo_examples

    from .app import run_app

    examples = write_demo_examples(tempfile.mkdtemp(prefix="emotifusion-app-examples-"))
    return run_app(args, examples=examples)


def _run_video(args):
    from .video import run_video

    return run_video(args)


def _positive_float(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {value!r}") from None
    if not 0 < number < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {value!r}")
    return number


class UsageError(Exception):
    """An invalid combination of arguments, reported like argparse's own errors (usage line, exit status 2)."""


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value!r}")
    return number


def _share(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {value!r}") from None
    if not 0.0 <= number <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {value!r}")
    return number


def _add_command(commands, name: str, summary: str, description: str, examples: list[str], handler, check=None):
    """A subcommand whose `--help` says what it does (`description`) and shows `examples`, with `--verbose`.

    `check(args)` may raise `UsageError` for an invalid combination of arguments; it runs before `handler` imports
    anything heavy."""
    epilog = "examples:\n" + "\n".join(f"  {example}" for example in examples)
    parser = commands.add_parser(name, help=summary, description=description, epilog=epilog,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--verbose", action="store_true",
                        help="show library logs and progress bars (model loading, training steps)")
    parser.set_defaults(handler=handler, check_arguments=check, command_parser=parser)
    return parser


def _check_evaluate(args) -> None:
    if args.output_dir is None and not os.path.isdir(args.model):
        raise UsageError("--model is not a local folder (a Hub id?): give --output-dir for the report and plots")


def _check_predict(args) -> None:
    if args.inputs is not None and (args.image is not None or args.text is not None):
        raise UsageError("use either --inputs (batch mode) or --image/--text, not both")
    if args.inputs is None and args.image is None and args.text is None:
        raise UsageError("give --image, --text (or both), or --inputs FILE")
    if args.output is not None and args.inputs is None:
        raise UsageError("--output writes the results of --inputs (batch mode); without --inputs it has no use")
    if args.calibration_images is not None and not args.quantize:
        raise UsageError("--calibration-images calibrates the int8 fast path: add --quantize")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="emotifusion",
        description="Emotion recognition from a face image and a dialogue.",
        epilog="Run `emotifusion COMMAND --help` for what a command does, its options and examples.\n"
               "Exit status: 0 success, 1 the command failed, 2 bad arguments.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"emotifusion-hf {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = _add_command(
        commands, "demo", "build demo data, train, evaluate, save a checkpoint and predict (offline)",
        "The whole product on the embedded default, offline: build the procedural demo dataset, train (the packaged\n"
        "demo.yaml), fit the temperature, evaluate, save a checkpoint with its model card, and print predictions for\n"
        "a few test samples. One progress bar per stage; --verbose shows the training logs.",
        ["emotifusion demo --output-dir runs/demo", "emotifusion demo --output-dir runs/demo-1 --seed 1 --verbose"],
        _run_demo,
    )
    demo.add_argument("--output-dir", required=True, help="where the dataset, checkpoint and report go")
    demo.add_argument("--seed", type=int, default=0, help="seed of the data, the training and the re-pairing (default: 0)")
    demo.add_argument("--config", default=None, help="training YAML (default: the packaged demo.yaml)")

    evaluate = _add_command(
        commands, "evaluate", "metrics JSON, confusion matrix and reliability diagram",
        "Evaluate a checkpoint on a dataset split: eval_report.json (accuracy, macro-F1, ECE of the fused, image-only\n"
        "and text-only heads, results with a modality missing and at several text/face agreement levels), the\n"
        "confusion matrix and the reliability diagrams.",
        ["emotifusion evaluate --model runs/demo/model --data runs/demo/data",
         "emotifusion evaluate --model you/emotifusion-base --data data/affectnet --output-dir reports/ --device cuda"],
        _run_evaluate, check=_check_evaluate,
    )
    evaluate.add_argument("--model", required=True,
                          help="checkpoint folder, or Hub id owner/name (offline: from the local Hugging Face cache)")
    evaluate.add_argument("--data", required=True, help="a dataset saved by `python -m dataset_builder build`")
    evaluate.add_argument("--split", default="test", help="split to evaluate (default: test)")
    evaluate.add_argument("--output-dir", default=None,
                          help="where eval_report.json and the plots go (default: --model, when it is a folder)")
    evaluate.add_argument("--batch-size", type=_positive_int, default=32, help="samples per forward (default: 32)")
    evaluate.add_argument("--agreement-levels", type=_share, nargs="+", default=None, metavar="LEVEL",
                          help="text/face agreement levels to re-pair the test faces at (default: 1 0.75 0.5 0.25 0)")
    evaluate.add_argument("--seed", type=int, default=0, help="seed of the re-pairing (default: 0)")
    evaluate.add_argument("--device", default=None, help="cpu, cuda, cuda:1, ... (default: cuda if available)")

    predict = _add_command(
        commands, "predict", "emotion scores for a face image and/or a text",
        "Score a face image and/or a dialogue, or every row of a .jsonl/.csv file (--inputs).\n\n"
        "Dialogue turns: on the command line (--text) and in CSV cells, ' || ' separates the turns of one dialogue;\n"
        "in .jsonl files a dialogue is a JSON list of turns and a string is always one text.\n"
        "Batch mode writes one JSON line per row (its scores, or the error it caused) and a summary line on stderr;\n"
        "the exit status is 1 when any row failed (the other rows are still answered and written).",
        ['emotifusion predict --model runs/demo/model --image face.jpg --text "I can\'t believe you did that"',
         'emotifusion predict --model you/emotifusion-base --text "You\'re late. || Sorry, the bus." --top-k 3 --json',
         "emotifusion predict --model runs/demo/model --inputs rows.jsonl --output scores.jsonl"],
        _run_predict, check=_check_predict,
    )
    predict.add_argument("--model", required=True,
                         help="checkpoint folder, or Hub id owner/name (offline: from the local Hugging Face cache)")
    predict.add_argument("--image", default=None, help="face image file")
    predict.add_argument("--text", default=None, help="the utterance, or dialogue turns separated by ' || '")
    predict.add_argument("--inputs", default=None, help="batch mode: a .jsonl/.csv file with image and/or text columns "
                         "(and optionally id); with --output OUT_DIR also .parquet, a folder of them or a saved datasets "
                         "folder")
    predict.add_argument("--output", default=None, help="batch mode: the .jsonl file to write (default: stdout), or "
                         "a folder of parts (part-<rank>-*.jsonl + manifest.json; resumable; shared by the processes "
                         "of `accelerate launch`)")
    predict.add_argument("--part-size", type=_positive_int, default=None,
                         help="with --output OUT_DIR: rows per part file, the unit of sharing and resuming (10000)")
    predict.add_argument("--top-k", type=_positive_int, default=None, help="keep the k best emotions (default: all 8)")
    predict.add_argument("--detect-face", action="store_true", help="crop the largest face found by OpenCV")
    predict.add_argument("--batch-size", type=_positive_int, default=16, help="batch mode: rows per forward (default: 16)")
    predict.add_argument("--json", action="store_true", help="print JSON instead of a table")
    predict.add_argument("--affect", action="store_true", help="add valence and arousal (in [-1, 1]) to each result")
    predict.add_argument("--device", default=None, help="cpu, cuda, cuda:1, ... (default: cuda if available)")
    predict.add_argument("--quantize", action="store_true", help="int8 linear layers on CPU (bfloat16 on GPU): faster")
    predict.add_argument(
        "--calibration-images",
        nargs="+",
        default=None,
        metavar="PATH",
        help="with --quantize on CPU: image files or folders of them (a few dozen faces like the ones to score) to "
        "calibrate the ResNet trunk's int8 convolutions on: faster still",
    )
    predict.add_argument("--explain", default=None, metavar="OUT.png",
                         help="also draw why: the face under its heat map and the dialogue's words shaded by weight")
    predict.add_argument("--explanation-method", default=None,
                         choices=("attention", "gradient", "integrated_gradients"),
                         help="with --explain (default: attention where the model has cross-attention)")

    app = _add_command(
        commands, "app", "serve the interactive demo in the browser (Gradio) with a /predict API",
        "Serve a Gradio page: a face (upload or webcam) and a dialogue (one turn per line) in; the 8-emotion\n"
        "distribution, the image-only and text-only evidence, the face heat map and the highlighted words out.\n"
        "The same function answers gradio_client at the API endpoint /predict. Needs: pip install \"emotifusion-hf[app]\".",
        ["emotifusion app --model runs/demo/model",
         "emotifusion app --model runs/demo/model --host 0.0.0.0 --port 8080 --explanation-method gradient"],
        _run_app,
    )
    app.add_argument("--model", required=True,
                     help="checkpoint folder, or Hub id owner/name (offline: from the local Hugging Face cache)")
    app.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0: every interface)")
    app.add_argument("--port", type=_positive_int, default=7860, help="port to listen on (default: 7860)")
    app.add_argument("--device", default=None, help="cpu, cuda, cuda:1, ... (default: cuda if available)")
    app.add_argument("--explanation-method", default=None, choices=("attention", "gradient", "integrated_gradients"),
                     help="how the heat map and word weights are made (default: integrated_gradients, whose face "
                     "map lands on the brows, eyes and mouth of the demo faces)")

    video = _add_command(
        commands, "video", "an emotion timeline from a video and its transcript",
        "Sample a video's frames at --fps, score each frame's face with the current line of the transcript (and the\n"
        "line before it, when it was said just before), smooth the scores over time, and write timeline.json,\n"
        "timeline.csv and timeline.png to --output (and annotated.mp4 with --annotate). Decoding streams: memory\n"
        "stays flat however long the video. Needs PyAV: pip install \"emotifusion-hf[video]\".",
        ["emotifusion video --model runs/demo/model --video clip.mp4 --transcript clip.srt --output timeline/",
         "emotifusion video --model runs/demo/model --video clip.mp4 --fps 2 --detect-face --smoothing none "
         "--annotate --output timeline/"],
        _run_video,
    )
    video.add_argument("--model", required=True,
                       help="checkpoint folder, or Hub id owner/name (offline: from the local Hugging Face cache)")
    video.add_argument("--video", required=True, help="the video file (mp4, mov, mkv, webm, ...)")
    video.add_argument("--transcript", default=None, help="what is said when: a .srt, .vtt or .json file")
    video.add_argument("--output", required=True, help="folder for timeline.json, timeline.csv and timeline.png")
    video.add_argument("--fps", type=_positive_float, default=5.0, help="frames sampled per second (default: 5)")
    video.add_argument("--detect-face", action="store_true", help="crop the face OpenCV finds, following one person")
    video.add_argument("--smoothing", choices=["ema", "none"], default="ema",
                       help="exponential moving average over time, or none (default: ema)")
    video.add_argument("--half-life", type=_positive_float, default=1.0, help="EMA half-life in seconds (default: 1)")
    video.add_argument("--hysteresis", type=float, default=0.0,
                       help="the top label changes only when another emotion leads by more than this (default: 0)")
    video.add_argument("--batch-size", type=_positive_int, default=8, help="frames per forward (default: 8)")
    video.add_argument("--context-turns", type=_positive_int, default=2,
                       help="dialogue turns per frame, the current line included (default: 2)")
    video.add_argument("--context-seconds", type=float, default=4.0,
                       help="earlier lines count if they ended at most this long before the current one (default: 4)")
    video.add_argument("--annotate", action="store_true", help="also write annotated.mp4 (face box, top emotion)")
    video.add_argument("--device", default=None, help="cpu, cuda, cuda:1, ... (default: cuda if available)")
    video.add_argument("--no-progress", action="store_true", help="no progress bar")

    export = _add_command(
        commands, "export", "an ONNX folder that predicts with onnxruntime alone (optionally int8)",
        "Export a checkpoint to a deployment folder: model.onnx (fused, image-only and text-only logits, plus\n"
        "valence/arousal when the checkpoint has those heads; either modality may be missing per sample),\n"
        "model.int8.onnx with --quantize int8, config.json with everything the\n"
        "preprocessing needs, tokenizer.json and the model card. `emotifusion predict --model OUT` and\n"
        "emotifusion_hf.onnx_runtime.OnnxEmotionFusionPipeline run it with onnxruntime, numpy, Pillow and tokenizers.",
        ["emotifusion export --model runs/demo/model --output runs/demo/onnx --quantize int8",
         "emotifusion predict --model runs/demo/onnx --image face.jpg --text \"Seriously?\" --quantize"],
        _run_export,
    )
    export.add_argument("--model", required=True, help="checkpoint folder")
    export.add_argument("--output", required=True, help="the folder to write (new, empty or an earlier export)")
    export.add_argument("--quantize", choices=["int8"], default=None, help="also write model.int8.onnx")
    export.add_argument("--opset", type=_positive_int, default=18, help="ONNX opset (17-23, default 18)")

    push = _add_command(
        commands, "push", "upload a checkpoint folder to the Hugging Face Hub",
        "Upload a checkpoint folder to a model repository on the Hub, exactly as it loads as remote code, with its\n"
        "model card. The network, the token and write access are checked before anything is uploaded.\n"
        "HF_ENDPOINT and the token (HF_TOKEN or `hf auth login`) are honoured the usual huggingface_hub way.",
        ["emotifusion push --model runs/demo/model --repo-id you/emotifusion-demo",
         'emotifusion push --model runs/demo/model --repo-id you/emotifusion-demo --private --revision v2 '
         '--commit-message "retrained"'],
        _run_push,
    )
    push.add_argument("--model", required=True, help="checkpoint folder")
    push.add_argument("--repo-id", required=True, help="model repository on the Hub: namespace/name")
    push.add_argument("--private", action="store_true", help="create the repository as private (when it is new)")
    push.add_argument("--revision", default=None, help="branch to upload to (created when missing; default: main)")
    push.add_argument("--commit-message", default=None, help="commit message (default: 'Upload EmotiFusion checkpoint')")
    push.add_argument("--space", action="store_true",
                      help="also push a Gradio Space serving the demo, as REPO_ID-demo (or --space-id)")
    push.add_argument("--space-id", default=None, help="namespace/name of the demo Space (implies --space)")
    push.add_argument("--space-package", default=None, metavar="REQUIREMENT",
                      help="the Space's requirement on this package (default: emotifusion-hf[app]==VERSION)")
    return parser


def _quiet_libraries(verbose: bool) -> None:
    """Without --verbose, transformers prints no progress bars ("Loading weights") and no info logs; its warnings
    (weights missing from a checkpoint, ...) still show."""
    try:
        from transformers.utils import logging as transformers_logging
    except ImportError:  # a torch-free install running an ONNX export: nothing of transformers to quiet
        return

    if verbose:
        transformers_logging.set_verbosity_info()
        transformers_logging.enable_progress_bar()
    else:
        transformers_logging.set_verbosity_warning()
        transformers_logging.disable_progress_bar()


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "handler", None) is None:
        parser.print_help()
        return 2
    try:
        if args.check_arguments is not None:
            args.check_arguments(args)
    except UsageError as error:
        args.command_parser.error(str(error))  # usage line + error, exit status 2
    try:
        _quiet_libraries(args.verbose)
        return args.handler(args) or 0
    except (OSError, ValueError, TypeError, RuntimeError) as error:
        print(f"emotifusion {args.command}: error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
