"""`emotifusion predict`: scores for one face/text pair, or a JSONL/CSV file of them."""

import csv
import json
import os
import sys

from transformers import AutoModel, AutoProcessor

from .pipeline_emotifusion import EmotionFusionPipeline


TURN_SEPARATOR = "||"


def load_pipeline(model: str, device=None, quantize: bool = False) -> EmotionFusionPipeline:
    """The emotion-fusion pipeline of a checkpoint folder or Hub id, on `device` (default: CUDA when available),
    optionally on the quantised fast path."""
    if not os.path.isdir(model) and (os.path.sep in model or model.startswith(".")):
        raise FileNotFoundError(f"Model folder not found: {model!r}")
    if os.path.isdir(model) and not os.path.isfile(os.path.join(model, "config.json")):
        raise FileNotFoundError(f"{model!r} is not a checkpoint folder: it has no config.json.")
    loaded_model = AutoModel.from_pretrained(model)
    processor = AutoProcessor.from_pretrained(model)
    if device is None:
        import torch

        device = "cuda" if torch.cuda.is_available() else "cpu"
    return EmotionFusionPipeline(model=loaded_model, processor=processor, device=device, quantize=quantize)


def parse_text(text):
    """CLI text: a plain string, or dialogue turns separated by `||` (`"You're late. || Sorry, the bus."`)."""
    if text is None:
        return None
    if isinstance(text, list):
        return text
    if TURN_SEPARATOR in text:
        return [turn.strip() for turn in text.split(TURN_SEPARATOR)]
    return text


def read_inputs(path: str) -> list[dict]:
    """Rows of a `.jsonl` or `.csv` file with `image` and/or `text` columns. Relative image paths are resolved
    against the file's folder. A row that cannot be parsed becomes `{"error": ...}` and is reported, not dropped."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Inputs file not found: {path!r}")
    base = os.path.dirname(os.path.abspath(path))
    rows = []
    if path.endswith(".jsonl"):
        with open(path, encoding="utf-8") as handle:
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
    elif path.endswith(".csv"):
        with open(path, encoding="utf-8", newline="") as handle:
            for line_number, row in enumerate(csv.DictReader(handle), start=2):
                rows.append({"line": line_number, **{key: (value or None) for key, value in row.items() if key}})
    else:
        raise ValueError(f"Inputs file must end in .jsonl or .csv: {path!r}")
    for row in rows:
        image = row.get("image")
        if isinstance(image, str) and image and not os.path.isabs(image) and not image.startswith(("http://", "https://")):
            row["image"] = os.path.join(base, image)
    return rows


def _row_input(row: dict) -> dict:
    unknown = set(row) - {"line", "image", "text", "id"}
    if unknown:
        raise ValueError(f"unknown column(s) {sorted(unknown)}; expected image, text and optionally id")
    return {"image": row.get("image"), "text": parse_text(row.get("text"))}


def predict_rows(pipe, rows: list[dict], batch_size: int, **pipe_kwargs):
    """Yield one result per row, in order. A batch that fails is retried row by row, so one bad row is reported in
    its own result and the others are still answered."""
    for start in range(0, len(rows), batch_size):
        chunk = rows[start : start + batch_size]
        prepared, results = [], [None] * len(chunk)
        for offset, row in enumerate(chunk):
            if "error" in row:
                results[offset] = {"error": row["error"]}
                continue
            try:
                prepared.append((offset, _row_input(row)))
            except ValueError as error:
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


def run_predict(args) -> int:
    pipe_kwargs = {"top_k": args.top_k, "detect_face": args.detect_face or None}
    pipe_kwargs = {key: value for key, value in pipe_kwargs.items() if value is not None}
    if args.inputs:
        if args.image or args.text:
            raise ValueError("Use either --inputs (batch mode) or --image/--text, not both.")
        rows = read_inputs(args.inputs)
        pipe = load_pipeline(args.model, args.device, args.quantize)
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
    if args.image is not None and not os.path.isfile(args.image):
        raise FileNotFoundError(f"Image file not found: {args.image!r}")
    pipe = load_pipeline(args.model, args.device, args.quantize)
    result = pipe({"image": args.image, "text": parse_text(args.text)}, **pipe_kwargs)
    if args.json:
        print(json.dumps(result if isinstance(result, dict) else {"scores": result}))
    else:
        scores = result["scores"] if isinstance(result, dict) else result
        if isinstance(result, dict) and result.get("face_found") is False:
            print("no face found: the whole image was used")
        print(_format_table(scores))
    return 0


__all__ = ["load_pipeline", "parse_text", "predict_rows", "read_inputs", "run_predict"]
