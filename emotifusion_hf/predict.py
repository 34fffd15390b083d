"""`emotifusion predict`: scores for one face/text pair, or a JSONL/CSV file of them."""

import csv
import json
import os
import sys

from transformers import AutoModel, AutoProcessor

from .image_files import IMAGE_EXTENSIONS
from .image_processing_emotifusion import is_url
from .pipeline_emotifusion import EmotionFusionPipeline


# On the command line (and in batch files), " || " separates the turns of one dialogue.
CLI_TURN_SEPARATOR = "||"


def load_pipeline(model: str, device=None, quantize: bool = False, calibration_images=None) -> EmotionFusionPipeline:
    """The emotion-fusion pipeline of a checkpoint folder or Hub id, on `device` (default: CUDA when available),
    optionally on the quantised fast path (with int8 convolutions calibrated on `calibration_images`)."""
    if not os.path.isdir(model) and (os.path.sep in model or model.startswith(".")):
        raise FileNotFoundError(f"Model folder not found: {model!r}")
    if os.path.isdir(model) and not os.path.isfile(os.path.join(model, "config.json")):
        raise FileNotFoundError(f"{model!r} is not a checkpoint folder: it has no config.json.")
    device = check_device(device)
    loaded_model = AutoModel.from_pretrained(model)
    processor = AutoProcessor.from_pretrained(model)
    return EmotionFusionPipeline(
        model=loaded_model,
        processor=processor,
        device=device,
        quantize=quantize,
        calibration_images=calibration_images,
    )


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
    """CLI text: a plain string, or dialogue turns separated by `||` (`"You're late. || Sorry, the bus."`)."""
    if not isinstance(text, str):
        return text  # None, a list of turns from a JSONL row, or a wrong type the pipeline names
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
            for line_number, row in enumerate(csv.DictReader(handle), start=2):
                rows.append({"line": line_number, **{key: (value or None) for key, value in row.items() if key}})
    return rows


def _row_input(row: dict) -> dict:
    unknown = set(row) - {"line", "image", "text", "id"}
    if unknown:
        raise ValueError(f"unknown column(s) {sorted(unknown)}; expected image, text and optionally id")
    return {"image": row.get("image"), "text": parse_text(row.get("text"))}


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
                results[offset] = {"error": str(error)}
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
                    results[offset] = {"error": str(error)}
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


def run_predict(args) -> int:
    if args.calibration_images and not args.quantize:
        raise ValueError("--calibration-images calibrates the int8 fast path: add --quantize.")
    calibration_images = calibration_image_paths(args.calibration_images)
    pipe_kwargs = {"top_k": args.top_k, "detect_face": args.detect_face or None}
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
        if args.image or args.text:
            raise ValueError("Use either --inputs (batch mode) or --image/--text, not both.")
        rows = read_inputs(args.inputs)
        pipe = load_pipeline(args.model, args.device, args.quantize, calibration_images)
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
        return 0
    if args.image is None and args.text is None:
        raise ValueError("Give --image, --text (or both), or --inputs FILE.")
    if args.image is not None:
        _check_image_path(args.image)
    pipe = load_pipeline(args.model, args.device, args.quantize, calibration_images)
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
    return 0


__all__ = ["check_device", "load_pipeline", "parse_text", "predict_rows", "read_inputs", "run_predict"]
