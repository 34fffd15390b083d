"""Data pipeline speed: the dataset builder, the training DataLoader and a training step of the default-size model.

- `builder_rows_per_s`: kept rows per second of `EmotiFusionBuilder(config_name="affectnet").download_and_prepare()`
  (CSV parsing, face checking/cropping, dialogue pairing, Arrow writing) on an official-layout AffectNet fixture of
  224-px JPEG faces written to a temporary folder; `builder_rows_per_s_num_proc` is the same build with
  `download_and_prepare(num_proc=builder_num_proc)` (faces decoded in worker processes).
- `builder_rss_growth`: peak RSS of a build of 10x rows over the peak of a build of 1x rows, each in a fresh
  process: close to 1 when generation streams. Both peaks include the interpreter and its imports.
- `sharded_build_peak_rss_mib` at `sharded_build_rows`: peak RSS of `python -m dataset_builder build --source
  affectnet --num-shards N` (build, then the save to `--output` in N Arrow shards, which grow with the rows), each in
  a fresh process; `sharded_build_peak_anonymous_rss_mib`: the peak of its anonymous memory, what the build holds.
  The RSS also counts the pages of the memory-mapped Arrow files read while saving, which the kernel drops under
  pressure. `sharded_build_anonymous_rss_growth` and `sharded_build_rss_growth` are the peaks at the most rows over
  those at the fewest: a flat anonymous peak means no split is ever held in memory.
- Peaks are the child process's own `VmHWM` (Linux /proc), and its `RssAnon` sampled every 10 ms from here:
  `ru_maxrss` would report the benchmark process's peak, carried over by the fork + exec that starts the child. The
  child imports the dataset builder, not torch.
- `dataloader_samples_per_s_{0,2}_workers`: a torch DataLoader over the demo dataset (224 px) with the training
  augmentation and collator (real MiniLM tokenizer), batch 32.
- `train_samples_per_s`: forward + backward + AdamW step of the default-size model on CPU, on batches from that
  DataLoader (224 px, dialogues from the generator).
"""

import csv
import io
import itertools
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from .timing import interleaved_medians
from .video import cpu_flags

# How often the anonymous memory of a build in a child process is sampled.
RSS_SAMPLE_SECONDS = 0.01
# Every AffectNet `expression` code of an emotion (0-7) plus the three codes the builder skips (8-10).
EMOTION_CODES = tuple(range(8))
SKIPPED_CODES = (8, 9, 10)
OFFICIAL_HEADER = (
    "subDirectory_filePath", "face_x", "face_y", "face_width", "face_height", "facial_landmarks", "expression",
    "valence", "arousal",
)
# AffectNet spreads its images over numbered sub-folders of a few hundred files each.
FILES_PER_FOLDER = 500


def _face_jpegs(count: int, image_size: int, seed: int) -> list[tuple[int, bytes]]:
    """`count` distinct rendered faces as (expression code, JPEG bytes), classes interleaved."""
    from dataset_builder import render_face
    from dataset_builder.affectnet import EXPRESSION_CODES

    faces = []
    for index in range(count):
        code = EMOTION_CODES[index % len(EMOTION_CODES)]
        buffer = io.BytesIO()
        face = render_face(EXPRESSION_CODES[code], seed * 1_000_003 + index, size=image_size)
        face.save(buffer, format="JPEG", quality=90)
        faces.append((code, buffer.getvalue()))
    return faces


def _landmarks(rng: random.Random, image_size: int) -> str:
    # 68 (x, y) points, as the official lists carry them; the builder does not use them but still parses the row.
    return ";".join(f"{rng.uniform(0, image_size):.2f}" for _ in range(136))


def write_affectnet_fixture(
    folder: str,
    train_rows: int,
    test_rows: int,
    image_size: int = 224,
    distinct_faces: int = 256,
    subregion_every: int = 8,
    skipped_every: int = 25,
    seed: int = 0,
) -> dict:
    """
    Write an official-layout AffectNet copy: `Manually_Annotated_file_lists/{training,validation}.csv` and one JPEG
    per row under `Manually_Annotated_Images/<n>/`.

    Manually annotated AffectNet images are face crops already, so most rows' box covers the whole image; every
    `subregion_every`-th row boxes a sub-region, and every `skipped_every`-th row carries a non-emotion code (8-10)
    that the builder skips, as in the real lists. Faces are rendered once (`distinct_faces` of them) and their
    bytes reused across files, so writing a large fixture costs file writes, not rendering.

    Returns the number of rows written and the number the builder should keep.
    """
    rng = random.Random(seed)
    faces = _face_jpegs(min(distinct_faces, max(train_rows, test_rows, 1)), image_size, seed)
    images_root = os.path.join(folder, "Manually_Annotated_Images")
    lists_root = os.path.join(folder, "Manually_Annotated_file_lists")
    os.makedirs(lists_root, exist_ok=True)
    written = kept = 0
    for csv_name, rows in (("training.csv", train_rows), ("validation.csv", test_rows)):
        with open(os.path.join(lists_root, csv_name), "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(OFFICIAL_HEADER)
            for _ in range(rows):
                code, data = faces[written % len(faces)]
                relative = f"{written // FILES_PER_FOLDER}/{rng.getrandbits(160):040x}.jpg"
                path = os.path.join(images_root, relative)
                if written % FILES_PER_FOLDER == 0:
                    os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "wb") as image_file:
                    image_file.write(data)
                if written % subregion_every == subregion_every - 1:
                    width = height = rng.randint(image_size * 2 // 3, image_size * 7 // 8)
                    x, y = rng.randint(0, image_size - width), rng.randint(0, image_size - height)
                else:
                    x = y = 0
                    width = height = image_size
                if written % skipped_every == skipped_every - 1:
                    code = SKIPPED_CODES[(written // skipped_every) % len(SKIPPED_CODES)]
                else:
                    kept += 1
                writer.writerow([
                    relative, x, y, width, height, _landmarks(rng, image_size), code,
                    f"{rng.uniform(-1, 1):.6f}", f"{rng.uniform(-1, 1):.6f}",
                ])
                written += 1
    return {"rows": written, "kept": kept}


# ---------------------------------------------------------------------------------------------------------------
# Dataset builder
# ---------------------------------------------------------------------------------------------------------------


def build_affectnet(data_dir: str, cache_dir: str, num_proc: int | None = None) -> int:
    """The full `download_and_prepare` of the AffectNet config into `cache_dir`; returns the rows kept."""
    from dataset_builder import EmotiFusionBuilder

    builder = EmotiFusionBuilder(config_name="affectnet", data_dir=data_dir, cache_dir=cache_dir)
    builder.download_and_prepare(num_proc=num_proc)
    return sum(builder.build_report["kept_total"].values())


def builder_throughput(data_dir: str, workspace: str, num_proc: int, repeats: int) -> dict:
    """
    Rows/s of whole builds of `data_dir`: the default (one process) and with `num_proc` face-decoding processes,
    interleaved so that the machine's load hits both; medians of `repeats` builds each.
    """
    builds = itertools.count()

    def build(processes):
        # A fresh cache folder per build, so nothing is reused.
        return build_affectnet(data_dir, os.path.join(workspace, f"cache-{next(builds)}"), processes)

    rows = build(None)  # also the warm-up: first imports, first file reads
    default_seconds, parallel_seconds = interleaved_medians(
        lambda: build(None), lambda: build(num_proc), repeats=repeats, warmup=0
    )
    return {
        "builder_rows": rows,
        "builder_seconds": default_seconds,
        "builder_rows_per_s": rows / default_seconds,
        "builder_num_proc": num_proc,
        "builder_rows_per_s_num_proc": rows / parallel_seconds,
    }


def _peak_rss_of_build(data_dir: str, cache_dir: str, output: str | None = None, num_shards: int | None = None) -> dict:
    """Build in a fresh interpreter (with `output` and `num_shards`: the `python -m dataset_builder build` command);
    its rows kept, its peak and final RSS (KiB, as the child reads them) and its peak anonymous RSS (KiB, sampled
    here from /proc every `RSS_SAMPLE_SECONDS` while it runs)."""
    command = [sys.executable, "-m", "bench.data", data_dir, cache_dir]
    if output is not None:
        command += [output, str(num_shards)]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    environment = dict(os.environ, HF_DATASETS_DISABLE_PROGRESS_BARS="1")
    peak_anonymous = 0
    with tempfile.TemporaryFile("w+") as stdout, tempfile.TemporaryFile("w+") as stderr:
        child = subprocess.Popen(command, cwd=root, env=environment, stdout=stdout, stderr=stderr, text=True)
        while child.poll() is None:
            peak_anonymous = max(peak_anonymous, _status_kib("RssAnon", child.pid))
            time.sleep(RSS_SAMPLE_SECONDS)
        stdout.seek(0), stderr.seek(0)
        if child.returncode != 0:
            raise RuntimeError(f"The build in a child process failed:\n{stderr.read()[-3000:]}")
        return {**json.loads(stdout.read().strip().splitlines()[-1]), "peak_anonymous_kib": peak_anonymous}


def builder_memory_growth(workspace: str, rows: int) -> dict:
    """Peak RSS of a build of 10x `rows` over one of `rows`, each in a fresh process; nothing subtracted."""
    peaks = {}
    for scale in (1, 10):
        data_dir = os.path.join(workspace, f"affectnet-{scale}x")
        write_affectnet_fixture(data_dir, train_rows=rows * scale, test_rows=rows * scale // 8)
        peaks[scale] = _peak_rss_of_build(data_dir, os.path.join(workspace, f"cache-rss-{scale}x"))
    return {
        "builder_rss_rows": [peaks[1]["rows"], peaks[10]["rows"]],
        "builder_peak_rss_mib": [round(peaks[1]["peak_kib"] / 1024, 1), round(peaks[10]["peak_kib"] / 1024, 1)],
        # The peaks include the interpreter and its imports (datasets, pyarrow); the RSS once the build is done
        # shows what the build itself holds on to.
        "builder_final_rss_mib": [round(peaks[1]["final_kib"] / 1024, 1), round(peaks[10]["final_kib"] / 1024, 1)],
        "builder_rss_growth": peaks[10]["peak_kib"] / peaks[1]["peak_kib"],
    }


def sharded_build_memory(workspace: str, rows: list[int], num_shards: int) -> dict:
    """Peak RSS of `python -m dataset_builder build --num-shards` at each of `rows` training rows, in fresh
    processes."""
    peaks = []
    for count in rows:
        data_dir = os.path.join(workspace, f"affectnet-sharded-{count}")
        write_affectnet_fixture(data_dir, train_rows=count, test_rows=count // 8)
        peaks.append(_peak_rss_of_build(data_dir, os.path.join(workspace, f"cache-sharded-{count}"),
                                        os.path.join(workspace, f"sharded-{count}"), num_shards))
        shutil.rmtree(data_dir)
    return {
        "sharded_build_num_shards": num_shards,
        "sharded_build_rows": [peak["rows"] for peak in peaks],
        "sharded_build_peak_rss_mib": [round(peak["peak_kib"] / 1024, 1) for peak in peaks],
        "sharded_build_peak_anonymous_rss_mib": [round(peak["peak_anonymous_kib"] / 1024, 1) for peak in peaks],
        "sharded_build_final_rss_mib": [round(peak["final_kib"] / 1024, 1) for peak in peaks],
        "sharded_build_rss_growth": peaks[-1]["peak_kib"] / peaks[0]["peak_kib"],
        "sharded_build_anonymous_rss_growth": peaks[-1]["peak_anonymous_kib"] / peaks[0]["peak_anonymous_kib"],
    }


def _status_kib(key: str, pid: int | str = "self") -> int:
    """A memory figure of a process from /proc/<pid>/status (`VmHWM`: peak resident set; `VmRSS`: current;
    `RssAnon`: current anonymous memory, what the process holds as opposed to file pages it maps); 0 once the
    process is gone."""
    try:
        with open(f"/proc/{pid}/status") as handle:
            return next((int(line.split()[1]) for line in handle if line.startswith(f"{key}:")), 0)
    except (FileNotFoundError, ProcessLookupError):
        return 0


def _build_and_report_peak_rss(argv: list[str]) -> None:
    """Child side of `builder_memory_growth` and `sharded_build_memory`: build (given an output folder and a shard
    count, through the `python -m dataset_builder build` command), then print the rows kept and this process's peak
    and final RSS."""
    data_dir, cache_dir, *sharded = argv
    if sharded:
        from dataset_builder.__main__ import main as dataset_builder_main

        output, num_shards = sharded
        status = dataset_builder_main(["build", "--source", "affectnet", "--data-dir", data_dir, "--cache-dir",
                                       cache_dir, "--output", output, "--num-shards", num_shards])
        if status != 0:
            raise SystemExit(status)
        with open(os.path.join(output, "build_report.json")) as handle:
            rows = sum(json.load(handle)["kept_total"].values())
    else:
        rows = build_affectnet(data_dir, cache_dir)
    print(json.dumps({"rows": rows, "peak_kib": _status_kib("VmHWM"), "final_kib": _status_kib("VmRSS")}))


# ---------------------------------------------------------------------------------------------------------------
# Training input pipeline and training step
# ---------------------------------------------------------------------------------------------------------------


def demo_train_split(cache_dir: str, per_class: int, image_size: int = 224):
    """The demo dataset's train split, built by the dataset builder at the default model's image size."""
    from dataset_builder.builder import build_dataset

    return build_dataset("demo", per_class=per_class, image_size=image_size, seed=0, cache_dir=cache_dir)["train"]


def training_loader(
    train_split, batch_size: int, num_workers: int, image_size: int = 224, max_text_length: int = 128, **loader_options
):
    """A DataLoader as the training script feeds the Trainer: train augmentation per sample, dynamic text padding.
    `loader_options` go to `torch.utils.data.DataLoader` (pinned memory, persistent workers, ...)."""
    import torch

    from emotifusion_hf import EmotiFusionImageProcessor, EmotiFusionProcessor
    from training.augment import FaceDialogueCollator, FaceDialogueTransform, build_train_augmentation

    from .inference import offline_tokenizer

    image_processor = EmotiFusionImageProcessor(size=image_size)
    processor = EmotiFusionProcessor(
        image_processor=image_processor, tokenizer=offline_tokenizer(), max_length=max_text_length
    )
    transform = FaceDialogueTransform(
        image_processor, build_train_augmentation(image_processor), join_turns=processor.join_turns
    )
    return torch.utils.data.DataLoader(
        train_split.with_transform(transform),
        batch_size=batch_size,
        shuffle=True,
        num_workers=num_workers,
        collate_fn=FaceDialogueCollator(processor, max_length=max_text_length),
        generator=torch.Generator().manual_seed(0),
        **loader_options,
    )


def loader_samples_per_s(loader, batches: int) -> float:
    """Samples/s over `batches` batches after the first (which pays for starting the workers)."""
    iterator = iter(loader)
    next(iterator)
    start = time.perf_counter()
    samples = sum(len(next(iterator)["labels"]) for _ in range(batches))
    return samples / (time.perf_counter() - start)


def train_step_seconds(model, batches: list[dict], warmup: int = 1) -> float:
    """Median seconds of a forward + backward + AdamW step of `model`, one step per batch, after `warmup` steps."""
    import torch

    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    times = []
    for index, batch in enumerate(batches):
        start = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        model(**batch).loss.backward()
        optimizer.step()
        if index >= warmup:
            times.append(time.perf_counter() - start)
    return statistics.median(times)


# ---------------------------------------------------------------------------------------------------------------
# The section
# ---------------------------------------------------------------------------------------------------------------


def run(quick: bool = False) -> dict:
    import datasets
    import torch

    from .inference import default_size_model

    decoding_processes = max(2, os.cpu_count() or 1)
    builder_rows = 2000 if quick else 4000
    rss_rows = 300 if quick else 1000
    # Two shards: at least 1000 rows each (datasets' writer batch), growing with the rows.
    sharded_rows = [2000, 8000] if quick else [2000, 8000, 32000]
    loader_batches = 4 if quick else 10
    train_batch_size, train_steps = 8, (1 if quick else 3)  # timed steps, after one warm-up step
    progress_bars = datasets.is_progress_bar_enabled()
    datasets.disable_progress_bars()
    # Shared machines: the load around the run says how much of it the figures got.
    results = {"threads": torch.get_num_threads(), "cpu_flags": cpu_flags(),
               "load_average_at_start": round(os.getloadavg()[0], 2)}
    try:
        with tempfile.TemporaryDirectory() as workspace:
            data_dir = os.path.join(workspace, "affectnet")
            fixture = write_affectnet_fixture(data_dir, train_rows=builder_rows, test_rows=builder_rows // 8)
            results["builder_csv_rows"] = fixture["rows"]
            repeats = 2 if quick else 3
            results.update(builder_throughput(data_dir, workspace, num_proc=decoding_processes, repeats=repeats))
            results.update(builder_memory_growth(workspace, rss_rows))
            results.update(sharded_build_memory(workspace, sharded_rows, num_shards=2))

            batch_size = 32
            # Enough training rows for the untimed first batch, every timed one and one spare.
            per_class = -(-(loader_batches + 2) * batch_size // 8)
            train_split = demo_train_split(os.path.join(workspace, "cache-demo"), per_class)
            for workers in (0, 2):
                loader = training_loader(train_split, batch_size, workers)
                results[f"dataloader_samples_per_s_{workers}_workers"] = loader_samples_per_s(loader, loader_batches)
            results["dataloader_batch_size"] = batch_size

            batches = list(itertools.islice(training_loader(train_split, train_batch_size, 0), train_steps + 1))
            results["train_batch_size"] = train_batch_size
            results["train_mean_text_tokens"] = float(
                statistics.mean(float(batch["attention_mask"].sum(1).float().mean()) for batch in batches)
            )
            seconds = train_step_seconds(default_size_model(), batches)
            results["train_seconds_per_step"] = seconds
            results["train_samples_per_s"] = train_batch_size / seconds
            results["load_average_at_end"] = round(os.getloadavg()[0], 2)
    finally:
        if progress_bars:
            datasets.enable_progress_bars()
    return results


__all__ = [
    "build_affectnet",
    "builder_memory_growth",
    "builder_throughput",
    "demo_train_split",
    "loader_samples_per_s",
    "run",
    "sharded_build_memory",
    "train_step_seconds",
    "training_loader",
    "write_affectnet_fixture",
]


if __name__ == "__main__":
    _build_and_report_peak_rss(sys.argv[1:])
