"""The `emotifusion` command: the top floor of the project.

Each subcommand's arguments are declared here; its work lives with the code it drives (`training`, the library's
`predict` and `hub`) and is imported only when that subcommand runs, so `emotifusion --help` loads no torch.
Nothing imports this module.
"""

import argparse
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


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value!r}")
    return number


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="emotifusion", description="Emotion recognition from a face image and a dialogue.")
    parser.add_argument("--version", action="version", version=f"emotifusion-hf {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = commands.add_parser("demo", help="build demo data, train, evaluate, save a checkpoint and predict (offline)")
    demo.add_argument("--output-dir", required=True, help="where the dataset, checkpoint and report go")
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--config", default=None, help="training YAML (default: the packaged demo.yaml)")
    demo.set_defaults(handler=_run_demo)

    evaluate = commands.add_parser("evaluate", help="metrics JSON, confusion matrix and reliability diagram")
    evaluate.add_argument("--model", required=True, help="checkpoint folder or Hub id")
    evaluate.add_argument("--data", required=True, help="a dataset saved by `python -m dataset_builder build`")
    evaluate.add_argument("--split", default="test")
    evaluate.add_argument("--output-dir", default=None, help="where eval_report.json and the plots go (default: --model)")
    evaluate.add_argument("--batch-size", type=int, default=32)
    evaluate.add_argument("--agreement-levels", type=float, nargs="+", default=None, metavar="LEVEL",
                          help="text/face agreement levels to re-pair the test faces at (default: 1 0.75 0.5 0.25 0)")
    evaluate.add_argument("--seed", type=int, default=0, help="seed of the re-pairing")
    evaluate.add_argument("--device", default=None, help="cpu, cuda, cuda:1, ... (default: cuda if available)")
    evaluate.set_defaults(handler=_run_evaluate)

    predict = commands.add_parser("predict", help="emotion scores for a face image and/or a text")
    predict.add_argument("--model", required=True, help="checkpoint folder or Hub id")
    predict.add_argument("--image", default=None, help="face image file")
    predict.add_argument("--text", default=None, help="the utterance or dialogue (turns separated by ' || ')")
    predict.add_argument("--inputs", default=None, help="batch mode: a .jsonl or .csv file with image/text columns")
    predict.add_argument("--output", default=None, help="batch mode: the .jsonl file to write (default: stdout)")
    predict.add_argument("--top-k", type=_positive_int, default=None)
    predict.add_argument("--detect-face", action="store_true", help="crop the largest face found by OpenCV")
    predict.add_argument("--batch-size", type=_positive_int, default=16)
    predict.add_argument("--json", action="store_true", help="print JSON instead of a table")
    predict.add_argument("--device", default=None, help="cpu, cuda, cuda:1, ... (default: cuda if available)")
    predict.add_argument("--quantize", action="store_true", help="int8 linear layers on CPU (bfloat16 on GPU): faster")
    predict.add_argument(
        "--calibration-images",
        nargs="+",
        default=None,
        metavar="PATH",
        help="with --quantize on CPU: image files or folders of them (a few dozen faces like the ones to score) to "
        "calibrate int8 convolutions on: faster still",
    )
    predict.add_argument("--explain", default=None, metavar="OUT.png",
                         help="also draw why: the face under its heat map and the dialogue's words shaded by weight")
    predict.add_argument("--explanation-method", default=None,
                         choices=("attention", "gradient", "integrated_gradients"),
                         help="with --explain (default: attention where the model has cross-attention)")
    predict.set_defaults(handler=_run_predict)

    app = commands.add_parser("app", help="serve the interactive demo in the browser (Gradio) with a /predict API")
    app.add_argument("--model", required=True, help="checkpoint folder or Hub id")
    app.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0: every interface)")
    app.add_argument("--port", type=int, default=7860)
    app.add_argument("--device", default=None, help="cpu, cuda, cuda:1, ... (default: cuda if available)")
    app.add_argument("--explanation-method", default=None, choices=("attention", "gradient", "integrated_gradients"),
                     help="how the heat map and word weights are made (default: attention where the model has it)")
    app.set_defaults(handler=_run_app)

    push = commands.add_parser("push", help="upload a checkpoint folder to the Hugging Face Hub")
    push.add_argument("--model", required=True, help="checkpoint folder")
    push.add_argument("--repo-id", required=True, help="namespace/name on the Hub")
    push.add_argument("--private", action="store_true")
    push.add_argument("--revision", default=None)
    push.add_argument("--commit-message", default=None)
    push.add_argument("--space", action="store_true",
                      help="also push a Gradio Space serving the demo, as REPO_ID-demo (or --space-id)")
    push.add_argument("--space-id", default=None, help="namespace/name of the demo Space (implies --space)")
    push.add_argument("--space-package", default=None, metavar="REQUIREMENT",
                      help="the Space's requirement on this package (default: emotifusion-hf[app]==VERSION)")
    push.set_defaults(handler=_run_push)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "handler", None) is None:
        parser.print_help()
        return 2
    try:
        return args.handler(args) or 0
    except (OSError, ValueError, TypeError, RuntimeError) as error:
        print(f"emotifusion {args.command}: error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
