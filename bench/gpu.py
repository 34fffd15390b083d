"""GPU training throughput: the default-size model in bf16, fed by the training DataLoader (`bench.data.
training_loader`: JPEG files decoded and augmented by the training transform in worker processes, dynamic text padding
by the training collator).

Reports training samples/s and the model's share of the GPU's bf16 matmul rate measured in the same run. Goal:
>= 3000 samples/s on one H200 (an AffectNet-8 epoch of 287k images in <= 100 s).
"""

import os
import tempfile
import time

import torch

from .data import training_loader
from .inference import count_forward_flops, default_size_model, make_raw_inputs


def bf16_matmul_flops_per_second(size: int = 8192, repeats: int = 10) -> float:
    a = torch.randn(size, size, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(size, size, device="cuda", dtype=torch.bfloat16)
    for _ in range(3):
        a @ b
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    torch.cuda.synchronize()
    return 2 * size**3 * repeats / (time.perf_counter() - start)


def jpeg_face_split(folder: str, rows: int, distinct: int = 512, image_size: int = 256, seed: int = 0):
    """A `datasets` split of `rows` (JPEG file path, dialogue, label) rows, read from disk the way training reads
    AffectNet images: `distinct` rendered faces written once and cycled (decoding and augmentation cost the same
    per row either way)."""
    import datasets

    from emotifusion_hf import EMOTIONS

    faces = make_raw_inputs(folder, min(rows, distinct), image_size=image_size, seed=seed, dialogue_split="train")
    cycled = [index % len(faces) for index in range(rows)]
    return datasets.Dataset.from_dict({
        "image": [faces[index]["image"] for index in cycled],
        "text": [faces[index]["text"] for index in cycled],
        "label": [index % len(EMOTIONS) for index in cycled],  # what `make_raw_inputs` drew for face `index`
    })


def training_samples_per_s(model, loader, device: torch.device, steps: int, warmup: int, dtype=torch.bfloat16):
    """Samples/s of forward + backward + AdamW step of `model` on `device` under `dtype` autocast, over `steps`
    batches of `loader` after `warmup` ones; returns it with the last batch (on `device`)."""
    if steps < 1:
        raise ValueError(f"`steps` must be at least 1, got {steps}.")
    model = model.to(device).to(memory_format=torch.channels_last).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=True)
    synchronize = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    iterator = iter(loader)
    samples, start = 0, None
    for step in range(warmup + steps):
        if step == warmup:
            synchronize()
            start = time.perf_counter()
        batch = {key: value.to(device, non_blocking=True) for key, value in next(iterator).items()}
        with torch.autocast(device.type, dtype=dtype):
            loss = model(**batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if step >= warmup:
            samples += len(batch["labels"])
    synchronize()
    return samples / (time.perf_counter() - start), batch


def run(quick: bool = False) -> dict:
    if not torch.cuda.is_available():
        return {"skipped": "no CUDA device on this machine; run `python -m bench --gpu` on a GPU machine"}
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.benchmark = True
    batch_size = 256
    steps, warmup = (20, 5) if quick else (60, 10)
    workers = min(16, os.cpu_count() or 1)
    results = {"device": torch.cuda.get_device_name(0), "batch_size": batch_size, "dtype": "bfloat16"}
    with tempfile.TemporaryDirectory() as folder:
        split = jpeg_face_split(folder, batch_size * (steps + warmup))
        loader = training_loader(
            split, batch_size, workers, pin_memory=True, persistent_workers=True, prefetch_factor=4, drop_last=True
        )
        model = default_size_model()
        samples_per_s, batch = training_samples_per_s(model, loader, torch.device("cuda"), steps, warmup)
        results["dataloader_workers"] = workers
        results["gpu_train_samples_per_s"] = samples_per_s

        model.eval()
        with torch.autocast("cuda", dtype=torch.bfloat16):
            flops = count_forward_flops(model, {key: value for key, value in batch.items() if key != "labels"})
        peak = bf16_matmul_flops_per_second()
        # Training costs about three forwards (forward, and backward's two matmuls per forward matmul).
        results["train_tflops_per_s"] = 3 * flops / batch_size * samples_per_s / 1e12
        results["bf16_matmul_tflops_per_s"] = peak / 1e12
        results["share_of_bf16_peak"] = results["train_tflops_per_s"] * 1e12 / peak
        results["affectnet_epoch_seconds"] = 287_651 / samples_per_s
    return results


__all__ = ["jpeg_face_split", "run", "training_samples_per_s"]
