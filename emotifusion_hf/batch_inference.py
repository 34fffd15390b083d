"""
Batch inference over many rows, in one process or many: `emotifusion predict --inputs INPUTS --output OUT_DIR`,
alone or under `accelerate launch --num_processes P` (on one machine or several).

INPUTS is a `.jsonl`, `.csv` or `.parquet` file, a folder of them (subfolders included, read in sorted order), or a
folder written by `datasets`' `save_to_disk` (a `Dataset`, or a `DatasetDict` whose splits are read one after the
other). A row has an `image` (a path, relative ones taken from the file's folder; or encoded bytes, as datasets'
`Image` feature stores them) and/or a `text` (a string, turns joined by `||`, or a list of turns), and optionally an
`id`; other columns are ignored.

How the work is shared: the rows, numbered 0..N-1 across the files, are cut into parts of `part_size` consecutive
rows. Accelerate's `PartialState.split_between_processes` gives each process a contiguous run of the parts not yet
finished; each process streams its rows `batch_size` at a time through the pipeline (memory is bounded by a batch,
whatever the input size) and writes `OUT_DIR/part-<rank>-<part>.jsonl`, one line per row: `row` (its number), `id`
(the row's own, else its file and line or row), `source`, and `scores`, or `error`.

Resuming: a part is written under a temporary name and renamed once complete, so a part file present is a finished
part. The same command run again skips finished parts: after a kill only the unfinished parts are answered and no
row is answered twice, whatever the number of processes of either run. `manifest.json` records the inputs (files,
sizes, row counts) and the part size, and at the end of each run the finished parts with their row and error counts
(`complete: true` once every part is there); a re-run over changed inputs or another part size is refused. Under a
launcher, each process dies with it (`launcher.exit_with_launcher`): killing the launch stops every process.
"""

import csv
import json
import os
import re
import sys
from collections.abc import Iterator
from dataclasses import asdict, dataclass

from .inputs import is_url
from .launcher import exit_with_launcher
from .predict import load_pipeline, parse_text, predict_rows

MANIFEST_FILE = "manifest.json"
MANIFEST_FORMAT = 1
DEFAULT_PART_SIZE = 10_000
INPUT_EXTENSIONS = (".jsonl", ".csv", ".parquet")
# Files a saved `datasets` folder always holds (one of them).
SAVED_DATASET_MARKERS = ("dataset_dict.json", "state.json")
PART_FILE = re.compile(r"^part-(\d+)-(\d+)\.jsonl$")
# Rows read from a Parquet file or a saved dataset at a time (a batch of encoded images, at most).
READ_BATCH_ROWS = 256


def wants_output_folder(output: str | None) -> bool:
    """`--output` names a folder of parts (this module) rather than one `.jsonl` file (`predict.run_predict`)."""
    return output is not None and not output.lower().endswith((".jsonl", ".json"))


def check_single_file_request(inputs: str) -> None:
    """The one-file mode reads one `.jsonl`/`.csv` file in one process; anything else needs an output folder."""
    if os.path.isdir(inputs) or inputs.lower().endswith(".parquet"):
        raise ValueError(
            f"--inputs {inputs!r} is a folder or a Parquet file: write its scores to a folder of parts, "
            f"--output OUT_DIR (not a .jsonl file)."
        )
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        raise ValueError(
            "Several processes would all write the one --output file: give --output a folder (OUT_DIR) so each "
            "process writes its own parts."
        )


# ---------------------------------------------------------------------------------------------------------------
# Inputs: what files, how many rows, and the rows of a range
# ---------------------------------------------------------------------------------------------------------------


@dataclass
class InputSource:
    """One file (or one split of a saved dataset) of the inputs, with its row count and what identifies its
    content (size and modification time), so a resumed run can tell the inputs changed."""

    path: str  # relative to the inputs folder ("" for a single file or a saved dataset)
    kind: str  # "jsonl", "csv", "parquet" or "dataset"
    rows: int
    size: int
    mtime_ns: int
    split: str | None = None


@dataclass
class InputRow:
    index: int  # the row's number across all inputs
    id: object
    source: str
    fields: dict  # {"image": ..., "text": ...} for the pipeline, or {"error": ...}


def plan_inputs(inputs: str) -> list[InputSource]:
    """The sources of `inputs`, in reading order, with their row counts (text files are read once to count).

    Raises:
        FileNotFoundError / ValueError: naming the input when it is missing, of an unknown format, not UTF-8, or a
            folder holding no input file.
    """
    if not os.path.exists(inputs):
        raise FileNotFoundError(f"--inputs {inputs!r} does not exist.")
    if os.path.isdir(inputs) and any(os.path.isfile(os.path.join(inputs, m)) for m in SAVED_DATASET_MARKERS):
        return _plan_saved_dataset(inputs)
    if os.path.isdir(inputs):
        files = []
        for folder, dirs, names in os.walk(inputs):
            dirs[:] = sorted(name for name in dirs if not name.startswith("."))
            files.extend(
                os.path.join(folder, name) for name in sorted(names)
                if not name.startswith(".") and name.lower().endswith(INPUT_EXTENSIONS)
            )
        if not files:
            raise ValueError(f"--inputs folder {inputs!r} holds no {'/'.join(INPUT_EXTENSIONS)} file.")
        return [_plan_file(path, os.path.relpath(path, inputs)) for path in files]
    if not inputs.lower().endswith(INPUT_EXTENSIONS):
        raise ValueError(f"--inputs {inputs!r}: expected a {'/'.join(INPUT_EXTENSIONS)} file or a folder.")
    return [_plan_file(inputs, "")]


def _plan_file(path: str, relative: str) -> InputSource:
    kind = os.path.splitext(path)[1].lower().lstrip(".")
    stat = os.stat(path)
    try:
        if kind == "parquet":
            rows = _parquet_file(path).metadata.num_rows
        else:
            rows = sum(1 for _ in _text_records(path, kind))
    except UnicodeDecodeError as error:
        raise ValueError(f"Inputs file {path!r} is not UTF-8 text ({error.reason} at byte {error.start}).") from None
    except csv.Error as error:
        raise ValueError(f"Inputs file {path!r} is not valid CSV: {error}") from None
    return InputSource(relative, kind, rows, stat.st_size, stat.st_mtime_ns)


def _parquet_file(path: str):
    import pyarrow
    import pyarrow.parquet

    try:
        return pyarrow.parquet.ParquetFile(path)
    except (pyarrow.ArrowInvalid, OSError) as error:
        raise ValueError(f"Inputs file {path!r} is not a readable Parquet file: {error}") from None


def _plan_saved_dataset(folder: str) -> list[InputSource]:
    import datasets

    loaded = datasets.load_from_disk(folder)
    splits = loaded.items() if isinstance(loaded, datasets.DatasetDict) else [(None, loaded)]
    sources = []
    for split, dataset in splits:
        files = [entry["filename"] for entry in dataset.cache_files]
        size = sum(os.path.getsize(name) for name in files)
        mtime = max((os.stat(name).st_mtime_ns for name in files), default=0)
        sources.append(InputSource("", "dataset", dataset.num_rows, size, mtime, split=split))
    return sources


def _text_records(path: str, kind: str) -> Iterator[tuple[int, object]]:
    """(line number, raw record) of a `.jsonl` (each non-blank line, unparsed) or `.csv` (each row) file."""
    # utf-8-sig: spreadsheet exports often start with a byte-order mark, which would otherwise join the first header.
    with open(path, encoding="utf-8-sig", newline="" if kind == "csv" else None) as handle:
        if kind == "jsonl":
            for number, line in enumerate(handle, start=1):
                if line.strip():
                    yield number, line
        else:
            reader = csv.DictReader(handle)
            for row in reader:
                yield reader.line_num, row


def iter_rows(inputs: str, sources: list[InputSource], start: int, stop: int, wanted=None) -> Iterator[InputRow]:
    """The rows numbered `start` to `stop - 1`, in order; rows for which `wanted(index)` is false are passed over
    without being parsed."""
    offset = 0
    for source in sources:
        end = offset + source.rows
        if end > start and offset < stop:
            local_start, local_stop = max(start - offset, 0), min(stop, end) - offset
            for local, row_id, where, fields in _read_source(inputs, source, local_start, local_stop, offset, wanted):
                yield InputRow(offset + local, row_id, where, fields)
        offset = end
        if offset >= stop:
            break


def _read_source(inputs, source: InputSource, start: int, stop: int, offset: int, wanted):
    path = os.path.join(inputs, source.path) if source.path else inputs
    skip = (lambda local: False) if wanted is None else (lambda local: not wanted(offset + local))
    if source.kind in ("jsonl", "csv"):
        yield from _read_text_file(path, source, start, stop, skip)
    elif source.kind == "parquet":
        yield from _read_parquet(path, source, start, stop, skip)
    else:
        yield from _read_dataset_split(path, source, start, stop, skip)


def _label(source: InputSource, where) -> str:
    name = source.path or (source.split or "")
    return f"{name}:{where}" if name else str(where)


def _read_text_file(path, source, start, stop, skip):
    base = os.path.dirname(os.path.abspath(path))
    for local, (line, record) in enumerate(_text_records(path, source.kind)):
        if local >= stop:
            return
        if local < start or skip(local):
            continue
        where = _label(source, line)
        if source.kind == "jsonl":
            try:
                record = json.loads(record)
                if not isinstance(record, dict):
                    raise ValueError("a line must be a JSON object")
            except ValueError as error:
                yield local, where, where, {"error": f"line {line}: not a JSON object ({error})"}
                continue
        else:
            record = {key: (value or None) for key, value in record.items() if key}
        yield local, record.get("id", where), where, _pipeline_fields(record, base)


def _read_parquet(path, source, start, stop, skip):
    parquet = _parquet_file(path)
    columns = [name for name in ("image", "text", "id") if name in parquet.schema_arrow.names]
    base = os.path.dirname(os.path.abspath(path))
    # Jump to the first row group holding `start`; read from there in bounded batches.
    first_group, group_start = 0, 0
    metadata = parquet.metadata
    while first_group < metadata.num_row_groups and group_start + metadata.row_group(first_group).num_rows <= start:
        group_start += metadata.row_group(first_group).num_rows
        first_group += 1
    local = group_start
    groups = list(range(first_group, metadata.num_row_groups))
    for batch in parquet.iter_batches(batch_size=READ_BATCH_ROWS, row_groups=groups, columns=columns):
        for record in batch.to_pylist():
            if local >= stop:
                return
            if local >= start and not skip(local):
                where = _label(source, f"row {local}")
                yield local, record.get("id", where), where, _pipeline_fields(record, base, columns)
            local += 1


def _read_dataset_split(folder, source, start, stop, skip):
    import datasets

    loaded = datasets.load_from_disk(folder)
    dataset = loaded[source.split] if source.split is not None else loaded
    columns = [name for name in ("image", "text", "id") if name in dataset.column_names]
    dataset = dataset.select_columns(columns)
    if isinstance(dataset.features.get("image"), datasets.Image):
        dataset = dataset.cast_column("image", datasets.Image(decode=False))  # bytes go to the pipeline as they are
    for batch_start in range(start, stop, READ_BATCH_ROWS):
        batch = dataset[batch_start : min(batch_start + READ_BATCH_ROWS, stop)]
        for position in range(len(next(iter(batch.values()))) if batch else 0):
            local = batch_start + position
            if skip(local):
                continue
            record = {name: values[position] for name, values in batch.items()}
            where = _label(source, f"row {local}")
            yield local, record.get("id", where), where, _pipeline_fields(record, None, columns)


def _pipeline_fields(record: dict, base: str | None, columns=None) -> dict:
    """A row's `image` and `text` as the pipeline takes them; a row with neither is an error naming its columns."""
    image, text = record.get("image"), record.get("text")
    if isinstance(image, dict):  # datasets' Image feature: encoded bytes, or a path
        image = image.get("bytes") or image.get("path")
    if isinstance(image, str) and base and image and not os.path.isabs(image) and not is_url(image):
        image = os.path.join(base, image)
    if image is None and text is None:
        found = columns if columns is not None else sorted(record)
        return {"error": f"the row has neither an image nor a text (its columns: {found})"}
    return {"image": image, "text": parse_text(text)}


# ---------------------------------------------------------------------------------------------------------------
# The output folder: manifest, parts, resuming
# ---------------------------------------------------------------------------------------------------------------


def part_file_name(rank: int, part: int) -> str:
    return f"part-{rank:05d}-{part:06d}.jsonl"


def finished_parts(output: str) -> dict[int, list[str]]:
    """Part number -> the complete part files present for it (normally one)."""
    found: dict[int, list[str]] = {}
    for name in sorted(os.listdir(output)) if os.path.isdir(output) else ():
        match = PART_FILE.match(name)
        if match:
            found.setdefault(int(match.group(2)), []).append(name)
    return found


def _write_json_atomically(path: str, content: dict) -> None:
    temporary = f"{path}.tmp"
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump(content, handle, indent=2)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def _read_manifest(output: str) -> dict | None:
    path = os.path.join(output, MANIFEST_FILE)
    if not os.path.isfile(path):
        return None
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (ValueError, UnicodeDecodeError) as error:
        raise ValueError(f"{path} is not a readable manifest ({error}); remove the folder to start over.") from None


def prepare_output(output: str, inputs: str, model: str, part_size: int) -> dict:
    """Plan the inputs and check them against the manifest of a previous run in `output` (if any); write the
    manifest and clear what a killed run left half-written. Returns the manifest."""
    if not isinstance(part_size, int) or part_size < 1:
        raise ValueError(f"--part-size must be a positive integer, got {part_size!r}.")
    sources = plan_inputs(inputs)
    total = sum(source.rows for source in sources)
    planned = {
        "format": MANIFEST_FORMAT,
        "inputs": os.path.abspath(inputs),
        "model": model,
        "part_size": part_size,
        "total_rows": total,
        "total_parts": -(-total // part_size),
        "sources": [asdict(source) for source in sources],
    }
    previous = _read_manifest(output)
    if previous is None and os.path.isdir(output) and os.listdir(output):
        raise FileExistsError(
            f"--output {output!r} is not empty and holds no {MANIFEST_FILE}: give a new or empty folder."
        )
    if previous is not None:
        changed = [key for key in ("inputs", "model", "part_size", "total_rows", "sources") if previous.get(key) != planned[key]]
        if changed:
            raise ValueError(
                f"--output {output!r} holds the parts of a run over other inputs or settings (differs in: "
                f"{', '.join(changed)}); use a new --output folder, or remove this one to start over."
            )
    os.makedirs(output, exist_ok=True)
    for name in os.listdir(output):
        if name.startswith(".part-") and name.endswith(".tmp"):
            os.remove(os.path.join(output, name))  # a part a killed run was writing: it is answered again
    manifest = {**planned, "parts": (previous or {}).get("parts", {}), "complete": False}
    manifest["parts"] = {key: value for key, value in manifest["parts"].items() if int(key) in finished_parts(output)}
    _write_json_atomically(os.path.join(output, MANIFEST_FILE), manifest)
    return manifest


def _answer_part(pipe, rows: Iterator[InputRow], part: int, rank: int, output: str, batch_size: int,
                 pipe_kwargs: dict) -> dict:
    """Answer the rows of one part into a temporary file, renamed to its part name once complete."""
    name = part_file_name(rank, part)
    temporary = os.path.join(output, f".{name}.tmp")
    answered = failed = 0
    with open(temporary, "w", encoding="utf-8") as handle:
        batch: list[InputRow] = []

        def flush():
            nonlocal answered, failed
            results = predict_rows(pipe, [row.fields for row in batch], batch_size, **pipe_kwargs)
            for row, result in zip(batch, results):
                line = {"row": row.index, "id": row.id, "source": row.source, **result}
                handle.write(json.dumps(line, default=str) + "\n")
                answered += 1
                failed += "error" in result
            batch.clear()

        for row in rows:
            batch.append(row)
            if len(batch) == batch_size:
                flush()
        if batch:
            flush()
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, os.path.join(output, name))
    return {"file": name, "rows": answered, "errors": failed}


def _count_part(path: str) -> dict:
    rows = errors = 0
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            rows += 1
            errors += "error" in json.loads(line)
    return {"file": os.path.basename(path), "rows": rows, "errors": errors}


def finalize_manifest(output: str, manifest: dict, new_parts: dict) -> dict:
    """Record every finished part (this run's, earlier runs', counting those a killed run could not record) and
    whether all are there. Should two files answer one part, one is kept."""
    parts = {}
    for part, names in sorted(finished_parts(output).items()):
        known = new_parts.get(part) or manifest["parts"].get(str(part))
        keep = known["file"] if known and known["file"] in names else names[0]
        for extra in names:
            if extra != keep:
                os.remove(os.path.join(output, extra))
        parts[str(part)] = known if known and known["file"] == keep else _count_part(os.path.join(output, keep))
    manifest = {**manifest, "parts": parts}
    manifest["finished_parts"] = len(parts)
    manifest["rows_answered"] = sum(entry["rows"] for entry in parts.values())
    manifest["rows_failed"] = sum(entry["errors"] for entry in parts.values())
    manifest["complete"] = len(parts) == manifest["total_parts"]
    _write_json_atomically(os.path.join(output, MANIFEST_FILE), manifest)
    return manifest


# ---------------------------------------------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------------------------------------------


def _share(payload):
    """The main process's `payload` on every process (itself alone when not distributed)."""
    from accelerate.utils import broadcast_object_list

    return broadcast_object_list([payload])[0]


def run_batch_predict(args, pipe_kwargs: dict, calibration_images=None, pipe=None) -> int:
    """
    Answer every row of `args.inputs` into the folder `args.output`, sharing the unfinished parts between the
    processes of the launch (see the module docstring). `pipe` replaces loading `args.model` (tests).
    """
    import torch
    from accelerate import PartialState

    exit_with_launcher()  # a killed launch leaves no process answering parts that a re-run answers again
    # Without `cpu=True` a launch of several CPU processes would leave each one alone, believing itself process 0.
    on_cpu = str(args.device or "").startswith("cpu") or not torch.cuda.is_available()
    state = PartialState(cpu=on_cpu)
    output = os.path.abspath(args.output)
    part_size = getattr(args, "part_size", None) or DEFAULT_PART_SIZE
    payload = None
    if state.is_main_process:
        try:
            manifest = prepare_output(output, args.inputs, args.model, part_size)
            done = finished_parts(output)
            payload = {"manifest": manifest, "pending": [p for p in range(manifest["total_parts"]) if p not in done]}
        except (OSError, ValueError) as error:
            payload = {"error": f"{type(error).__name__}: {error}"}
    payload = _share(payload)
    if "error" in payload:
        raise ValueError(payload["error"])
    manifest = payload["manifest"]
    if pipe is None:
        # Loaded after the inputs are checked, by every process alike (a bad folder fails them all the same way).
        pipe = load_pipeline(args.model, args.device or state.device, args.quantize, calibration_images)
    with state.split_between_processes(payload["pending"]) as mine:
        mine = list(mine)
    new_parts = _answer_parts(pipe, manifest, mine, state.process_index, output, args.batch_size, pipe_kwargs)
    print(
        f"process {state.process_index}: {len(new_parts)} part(s), "
        f"{sum(entry['rows'] for entry in new_parts.values())} rows answered",
        file=sys.stderr,
    )
    from accelerate.utils import gather_object

    gathered = gather_object([new_parts])
    failed_rows = 0
    if state.is_main_process:
        merged = {part: entry for entry_map in gathered for part, entry in entry_map.items()}
        manifest = finalize_manifest(output, manifest, merged)
        print(
            f"{manifest['finished_parts']} of {manifest['total_parts']} parts finished: "
            f"{manifest['rows_answered'] - manifest['rows_failed']} rows answered, {manifest['rows_failed']} rows "
            f"failed ({os.path.join(output, MANIFEST_FILE)})",
            file=sys.stderr,
        )
        failed_rows = manifest["rows_failed"]
    state.wait_for_everyone()
    # One process: as with a single output file, any failed row makes the exit status 1 (the other rows are still
    # written). Under a launcher every process exits 0 and the failed rows are counted in the summary line and the
    # manifest: torch's launcher takes any non-zero status for a crash and stops the other processes.
    return 1 if failed_rows and state.num_processes == 1 else 0


def _answer_parts(pipe, manifest: dict, parts: list[int], rank: int, output: str, batch_size: int,
                  pipe_kwargs: dict) -> dict:
    """Answer `parts` (ascending) in one forward pass over the inputs, passing over the rows of other parts."""
    if not parts:
        return {}
    part_size, total = manifest["part_size"], manifest["total_rows"]
    sources = [InputSource(**source) for source in manifest["sources"]]
    mine = set(parts)
    rows = iter_rows(manifest["inputs"], sources, parts[0] * part_size, min((parts[-1] + 1) * part_size, total),
                     wanted=lambda index: index // part_size in mine)
    pending: InputRow | None = None
    new_parts = {}
    for part in parts:
        stop = min((part + 1) * part_size, total)

        def rows_of_part(stop=stop):
            nonlocal pending
            while True:
                row = pending if pending is not None else next(rows, None)
                pending = None
                if row is None:
                    return
                if row.index >= stop:
                    pending = row  # the first row of a later part
                    return
                yield row

        new_parts[part] = _answer_part(pipe, rows_of_part(), part, rank, output, batch_size, pipe_kwargs)
    return new_parts


__all__ = [
    "DEFAULT_PART_SIZE",
    "MANIFEST_FILE",
    "InputSource",
    "check_single_file_request",
    "finalize_manifest",
    "finished_parts",
    "iter_rows",
    "plan_inputs",
    "prepare_output",
    "run_batch_predict",
    "wants_output_folder",
]
