"""`emotifusion predict`: scores for one face/text pair, or a JSONL/CSV file of them."""

import csv
import json
import os
import re
import sys

from .image_files import IMAGE_EXTENSIONS
from .inputs import is_url
from .model_source import hub_load_error, resolve_checkpoint
from .onnx_export import is_onnx_export


# A convenience of the command line (`--text`) and of CSV cells, which cannot hold a list: " || " separates the turns
# of one dialogue. Everywhere else (the Python pipeline, JSONL rows) a dialogue is a list of turns and a string is
# one text, so the same row scores the same by every route.
CLI_TURN_SEPARATOR = "||"
INPUT_COLUMNS = ("image", "text", "id")


def load_pipeline(model: str, device=None, quantize: bool = False, calibration_images=None):
    """The emotion-fusion pipeline of a checkpoint folder or Hub id, on `device` (default: CUDA when available),
    optionally on the quantised fast path (with int8 convolutions calibrated on `calibration_images`). A folder
    written by `emotifusion export` runs on onnxruntime without importing torch (`quantize`: its int8 graph)."""
    if is_onnx_export(model):
        return _load_onnx_pipeline(model, device, quantize, calibration_images)
    from transformers import AutoModel, AutoProcessor

    from .pipeline_emotifusion import EmotionFusionPipeline

    model = resolve_checkpoint(model)
    device = check_device(device)
    try:
        loaded_model = AutoModel.from_pretrained(model)
        processor = AutoProcessor.from_pretrained(model)
    except OSError as error:
        if os.path.isdir(model):
            raise
        raise hub_load_error(model, error) from None
    return EmotionFusionPipeline(
        model=loaded_model,
        processor=processor,
        device=device,
        quantize=quantize,
        calibration_images=calibration_images,
    )


def _load_onnx_pipeline(folder: str, device, quantize: bool, calibration_images):
    if device not in (None, "cpu"):
        raise ValueError(f"An ONNX folder runs on CPU with onnxruntime; --device {device!r} is not supported for it.")
    if calibration_images is not None:
        raise ValueError("--calibration-images applies to checkpoints; an ONNX folder's int8 graph is fixed at export.")
    from .onnx_runtime import OnnxEmotionFusionPipeline

    return OnnxEmotionFusionPipeline(folder, quantized=quantize)


def calibration_image_paths(paths):
    """`--calibration-images` as a list of image files: files as given, folders expanded to the image files they hold
    (sorted); `None` when not given. A missing path or a folder without images is a `FileNotFoundError`."""
    if paths is None:
        return None
    files = []
    for path in paths:
        if os.path.isdir(path):
            names = [name for name in os.listdir(path) if name.lower().endswith(IMAGE_EXTENSIONS)]
            found = sorted(os.path.join(path, name) for name in names)
            if not found:
                raise FileNotFoundError(f"--calibration-images folder {path!r} holds no image files.")
            files.extend(found)
        elif os.path.isfile(path):
            files.append(path)
        else:
            raise FileNotFoundError(f"--calibration-images path not found: {path!r}")
    return files


def check_device(device):
    """`device` as a `torch.device` (default: CUDA when available); an unknown or absent device is a `ValueError`
    naming it, checked before the model loads."""
    import torch

    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        parsed = torch.device(device)
        torch.empty(0, device=parsed)  # an unknown type, a missing driver or a bad index fails here
    except (RuntimeError, TypeError, AssertionError) as error:
        raise ValueError(f"Device {device!r} cannot be used on this machine: {error}") from None
    return parsed


def parse_text(text):
    """`--text` or a CSV cell: a plain string, or dialogue turns separated by `||` (`"You're late. || Sorry, the
    bus."`). JSONL rows do not go through this: their dialogues are JSON lists."""
    if not isinstance(text, str):
        return text  # None, or a wrong type the pipeline names
    if CLI_TURN_SEPARATOR in text:
        return [turn.strip() for turn in text.split(CLI_TURN_SEPARATOR)]
    return text


def read_inputs(path: str) -> list[dict]:
    """Rows of a `.jsonl` or `.csv` file with `image` and/or `text` columns. Relative image paths are resolved
    against the file's folder. A row that cannot be parsed becomes `{"error": ...}` and is reported, not dropped."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Inputs file not found: {path!r}")
    base = os.path.dirname(os.path.abspath(path))
    if not path.endswith((".jsonl", ".csv")):
        raise ValueError(f"Inputs file must end in .jsonl or .csv: {path!r}")
    try:
        rows = _read_rows(path)
    except UnicodeDecodeError as error:
        raise ValueError(f"Inputs file {path!r} is not UTF-8 text ({error.reason} at byte {error.start}).") from None
    except csv.Error as error:
        raise ValueError(f"Inputs file {path!r} is not valid CSV: {error}") from None
    if not rows:
        raise ValueError(f"Inputs file {path!r} has no rows.")
    for row in rows:
        image = row.get("image")
        if isinstance(image, str) and image and not os.path.isabs(image) and not is_url(image):
            row["image"] = os.path.join(base, image)
    return rows


def _read_rows(path: str) -> list[dict]:
    # utf-8-sig: spreadsheet exports often start with a byte-order mark, which would otherwise join the first header.
    rows = []
    if path.endswith(".jsonl"):
        with open(path, encoding="utf-8-sig") as handle:
            for line_number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                    if not isinstance(row, dict):
                        raise ValueError("a line must be a JSON object")
                except ValueError as error:
                    rows.append({"line": line_number, "error": f"line {line_number}: not a JSON object ({error})"})
                    continue
                rows.append({"line": line_number, **row})
    else:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            _check_csv_columns(path, reader.fieldnames)
            for line_number, row in enumerate(reader, start=2):
                cells = {key: (value or None) for key, value in row.items() if key}
                cells["text"] = parse_text(cells.get("text"))
                rows.append({"line": line_number, **cells})
    return rows


def _check_csv_columns(path: str, columns) -> None:
    """A CSV's columns are the same for every row: wrong ones fail the whole file, before the model loads."""
    columns = [column for column in columns or [] if column]
    unknown = [column for column in columns if column not in INPUT_COLUMNS]
    if unknown or not {"image", "text"} & set(columns):
        raise ValueError(
            f"Inputs file {path!r} has columns {columns}; expected image and/or text, and optionally id"
            + (f" (unknown: {unknown})." if unknown else ".")
        )


def _row_input(row: dict) -> dict:
    unknown = set(row) - {"line", *INPUT_COLUMNS}
    if unknown:
        raise ValueError(f"unknown column(s) {sorted(unknown)}; expected image, text and optionally id")
    return {"image": row.get("image"), "text": row.get("text")}


# The pipeline names a failing input by its place in the call ("Input 0 image: ..."); a row is named by its line.
_PIPELINE_INPUT_PREFIX = re.compile(r"^Input \d+ ")


def _row_error(row: dict, error: Exception) -> str:
    message = _PIPELINE_INPUT_PREFIX.sub("", str(error))
    return f"line {row['line']}: {message}" if "line" in row and not message.startswith("line ") else message


def predict_rows(pipe, rows: list[dict], batch_size: int, **pipe_kwargs):
    """Yield one result per row, in order. A batch that fails is retried row by row, so one bad row is reported in
    its own result and the others are still answered."""
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise ValueError(f"`batch_size` must be a positive integer, got {batch_size!r}.")
    for start in range(0, len(rows), batch_size):
        chunk = rows[start : start + batch_size]
        prepared, results = [], [None] * len(chunk)
        for offset, row in enumerate(chunk):
            if "error" in row:
                results[offset] = {"error": row["error"]}
                continue
            try:
                prepared.append((offset, _row_input(row)))
            except (ValueError, TypeError) as error:
                results[offset] = {"error": _row_error(row, error)}
        try:
            outputs = pipe([item for _, item in prepared], batch_size=batch_size, **pipe_kwargs) if prepared else []
            for (offset, _), output in zip(prepared, outputs):
                results[offset] = {"scores": output} if isinstance(output, list) else output
        except (OSError, ValueError, TypeError):
            for offset, item in prepared:
                try:
                    output = pipe(item, **pipe_kwargs)
                    results[offset] = {"scores": output} if isinstance(output, list) else output
                except (OSError, ValueError, TypeError) as error:
                    results[offset] = {"error": _row_error(chunk[offset], error)}
        for row, result in zip(chunk, results):
            identity = {key: row[key] for key in ("line", "id") if key in row}
            yield {**identity, **result}


def _format_table(scores: list[dict]) -> str:
    return "\n".join(f"{item['label']:>9}  {item['score']:6.3f}  {'#' * round(item['score'] * 40)}" for item in scores)


def _check_image_path(path: str) -> None:
    """Fail before the model loads when `--image` cannot be an image file; the message names it."""
    if is_url(path):
        raise ValueError(f"--image {path!r} is a URL; URLs are not fetched: download the file and pass its path.")
    if os.path.isdir(path):
        raise IsADirectoryError(f"--image expects an image file but got a directory: {path!r}")
    if not os.path.exists(path):
        raise FileNotFoundError(f"Image file not found: {path!r}")
    if not os.path.isfile(path):
        raise OSError(f"--image {path!r} is not a regular file (a pipe, socket or device).")


def _note_uncalibrated_trunks(pipe) -> None:
    """`--calibration-images` calibrates int8 convolutions of the trunks without depthwise convolutions (ResNet);
    say so when this checkpoint has none, instead of silently doing nothing."""
    from torch.fx import GraphModule

    trunks = pipe.model.base_model.vision_model.trunks
    if not any(isinstance(trunk, GraphModule) for trunk in trunks):
        names = ", ".join(pipe.model.config.vision_backbones)
        print(f"note: --calibration-images had no effect: this checkpoint's visual trunks ({names}) use depthwise "
              "convolutions, which stay fp32; only the linear layers run in int8.", file=sys.stderr)


def run_predict(args) -> int:
    """`emotifusion predict`. Invalid argument combinations are refused by the command line before this runs."""
    calibration_images = calibration_image_paths(args.calibration_images)
    pipe_kwargs = {"top_k": args.top_k, "detect_face": args.detect_face or None,
                   "return_affect": getattr(args, "affect", False) or None}
    pipe_kwargs = {key: value for key, value in pipe_kwargs.items() if value is not None}
    explain_path = getattr(args, "explain", None)
    if getattr(args, "explanation_method", None) and not explain_path:
        raise ValueError("--explanation-method chooses how --explain makes its picture: add --explain OUT.png.")
    if explain_path:
        if args.inputs:
            raise ValueError("--explain draws one prediction: use it with --image/--text, not --inputs.")
        if not explain_path.lower().endswith(".png"):
            raise ValueError(f"--explain writes a PNG picture: give a path ending in .png, got {explain_path!r}.")
        pipe_kwargs.update(return_explanation=True, explanation_method=args.explanation_method)
    if args.inputs:
        from .batch_inference import (
            check_single_file_request,
            run_batch_predict,
            wants_output_folder,
        )

        if wants_output_folder(args.output):
            return run_batch_predict(args, pipe_kwargs, calibration_images)
        check_single_file_request(args.inputs)
        rows = read_inputs(args.inputs)
        pipe = load_pipeline(args.model, args.device, args.quantize, calibration_images)
        if calibration_images:
            _note_uncalibrated_trunks(pipe)
        output = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout
        failed = 0
        try:
            for result in predict_rows(pipe, rows, args.batch_size, **pipe_kwargs):
                failed += "error" in result
                output.write(json.dumps(result) + "\n")
        finally:
            if args.output:
                output.close()
        print(f"{len(rows) - failed} rows answered, {failed} rows failed", file=sys.stderr)
        return 1 if failed else 0
    if args.image is not None:
        _check_image_path(args.image)
    pipe = load_pipeline(args.model, args.device, args.quantize, calibration_images)
    if calibration_images:
        _note_uncalibrated_trunks(pipe)
    result = pipe({"image": args.image, "text": parse_text(args.text)}, **pipe_kwargs)
    if explain_path:
        from .explanation import render_explanation

        render_explanation(result, image=args.image, path=explain_path)
        print(f"explanation ({result['explanation']['method']}) written to {explain_path}", file=sys.stderr)
    if args.json:
        print(json.dumps(result if isinstance(result, dict) else {"scores": result}))
    else:
        scores = result["scores"] if isinstance(result, dict) else result
        if isinstance(result, dict) and result.get("face_found") is False:
            print("no face found: the whole image was used")
        print(_format_table(scores))
        if isinstance(result, dict) and "valence" in result:
            print(f"{'valence':>9}  {result['valence']:+6.3f}\n{'arousal':>9}  {result['arousal']:+6.3f}")
    return 0


__all__ = ["check_device", "load_pipeline", "parse_text", "predict_rows", "read_inputs", "run_predict"]
