"""The one-script GPU training run: where the time of a training step goes, with and without `torch.compile`.

    python -m bench.gpu_train --out gpu_train.json [--steps 40] [--batch-size 256] [--workers 16] [--no-compile]

On one CUDA device, with the default-size model in bf16 autocast and channels-last, fed by the real training
DataLoader over JPEG files (`bench.data.training_loader`, decoding and augmenting in worker processes), it measures:

- `loader_samples_per_s`: the DataLoader alone, the ceiling data loading puts on training;
- per variant (`eager`, `compiled`): training samples/s, the share of the step spent waiting for data
  (`data_wait_share`; near 0 means data loading is not the bottleneck), the mean step time, the achieved TFLOP/s and
  its share of the bf16 matmul rate measured in the same run (`share_of_bf16_peak`), and the AffectNet-8 epoch time.

Goal: >= 3000 training samples/s on one H200 (an AffectNet-8 epoch of 287k faces in <= 100 s) with
`data_wait_share` near 0. The whole run takes a few minutes (compilation included); it writes its JSON to `--out`
as each part finishes, so a run cut short still leaves what it measured.
"""

import argparse
import json
import os
import sys
import tempfile
import time

import torch

from .data import training_loader
from .gpu import bf16_matmul_flops_per_second, jpeg_face_split
from .inference import count_forward_flops, default_size_model

AFFECTNET_TRAIN_FACES = 287_651


def loader_samples_per_s(loader, batches: int) -> float:
    """Samples/s of iterating `loader` alone (after its workers have started)."""
    iterator = iter(loader)
    next(iterator)
    start, samples = time.perf_counter(), 0
    for _ in range(batches):
        samples += len(next(iterator)["labels"])
    return samples / (time.perf_counter() - start)


def timed_training(model, loader, steps: int, warmup: int, compile_model: bool, device=None) -> dict:
    """Train `steps` batches after `warmup` ones; time waiting for the next batch apart from the step itself."""
    device = torch.device(device or "cuda")
    synchronize = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    model = model.to(device).to(memory_format=torch.channels_last).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=device.type == "cuda")
    forward = torch.compile(model) if compile_model else model
    iterator = iter(loader)
    data_seconds = step_seconds = 0.0
    samples = 0
    compile_start = time.perf_counter()
    for step in range(warmup + steps):
        synchronize()
        fetched = time.perf_counter()
        batch = next(iterator)
        batch = {key: value.to(device, non_blocking=True) for key, value in batch.items()}
        batch["pixel_values"] = batch["pixel_values"].contiguous(memory_format=torch.channels_last)
        ready = time.perf_counter()
        with torch.autocast(device.type, dtype=torch.bfloat16):
            loss = forward(**batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        synchronize()
        done = time.perf_counter()
        if step == warmup - 1:
            warmup_seconds = done - compile_start
        if step >= warmup:
            data_seconds += ready - fetched
            step_seconds += done - ready
            samples += len(batch["labels"])
    total = data_seconds + step_seconds
    return {
        "samples_per_s": samples / total,
        "data_wait_share": data_seconds / total,
        "mean_step_ms": 1000 * step_seconds / steps,
        "mean_data_wait_ms": 1000 * data_seconds / steps,
        "warmup_seconds": warmup_seconds,
        "last_batch": batch,
    }


def run(steps: int, warmup: int, batch_size: int, workers: int, compile_variants, out: str | None) -> dict:
    if not torch.cuda.is_available():
        raise SystemExit("No CUDA device: this script measures a GPU run (see BENCHMARKS.md for the CPU figures).")
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.benchmark = True
    results = {"device": torch.cuda.get_device_name(0), "torch": torch.__version__, "batch_size": batch_size,
               "dtype": "bfloat16", "channels_last": True, "dataloader_workers": workers, "steps": steps}

    def save():
        if out:
            with open(out, "w", encoding="utf-8") as handle:
                json.dump(results, handle, indent=2)
        print(json.dumps(results, indent=2), file=sys.stderr)

    peak = bf16_matmul_flops_per_second()
    results["bf16_matmul_tflops_per_s"] = peak / 1e12
    with tempfile.TemporaryDirectory() as folder:
        split = jpeg_face_split(folder, batch_size * (steps + warmup + 1))
        loader = training_loader(
            split, batch_size, workers, pin_memory=True, persistent_workers=True, prefetch_factor=4, drop_last=True
        )
        results["loader_samples_per_s"] = loader_samples_per_s(loader, min(steps, 20))
        save()
        flops_per_sample = None
        for compile_model in compile_variants:
            name = "compiled" if compile_model else "eager"
            torch.manual_seed(0)
            model = default_size_model()
            try:
                measured = timed_training(model, loader, steps, warmup, compile_model)
            except (RuntimeError, TypeError, ValueError, AssertionError) as error:  # a compile failure is a result
                results[name] = {"error": f"{type(error).__name__}: {error}"}
                save()
                continue
            batch = measured.pop("last_batch")
            if flops_per_sample is None:
                model.eval()
                inputs = {key: value for key, value in batch.items() if key != "labels"}
                with torch.autocast("cuda", dtype=torch.bfloat16):
                    flops_per_sample = count_forward_flops(model, inputs) / batch_size
            # Training costs about three forwards (the forward, and backward's two matmuls per forward matmul).
            tflops = 3 * flops_per_sample * measured["samples_per_s"] / 1e12
            measured.update(
                train_tflops_per_s=tflops,
                share_of_bf16_peak=tflops * 1e12 / peak,
                affectnet_epoch_seconds=AFFECTNET_TRAIN_FACES / measured["samples_per_s"],
            )
            results[name] = measured
            del model
            torch.cuda.empty_cache()
            save()
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.gpu_train", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=None, help="JSON file for the results (also printed)")
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--workers", type=int, default=min(16, os.cpu_count() or 1))
    parser.add_argument("--no-compile", action="store_true", help="measure the eager model only")
    args = parser.parse_args(argv)
    if args.steps < 1 or args.warmup < 1 or args.batch_size < 1 or args.workers < 0:
        parser.error("--steps, --warmup and --batch-size must be positive, --workers not negative")
    variants = (False,) if args.no_compile else (False, True)
    run(args.steps, args.warmup, args.batch_size, args.workers, variants, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
