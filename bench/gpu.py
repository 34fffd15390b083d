"""GPU training throughput: the default-size model in bf16, fed by the real DataLoader (JPEG decode + training
augmentation in worker processes, dynamic text padding in the collator).

Reports training samples/s and the model's share of the GPU's bf16 matmul rate measured in the same run. Goal:
>= 3000 samples/s on one H200 (an AffectNet-8 epoch of 287k images in <= 100 s).
"""

import os
import random
import tempfile
import time

import torch

from .inference import count_forward_flops, default_size_model, offline_tokenizer


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


class JpegFaceDataset(torch.utils.data.Dataset):
    """Rows of (JPEG path, dialogue, label) read and augmented per item, as training reads AffectNet."""

    def __init__(self, rows, transform):
        self.rows, self.transform = rows, transform

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, index):
        path, text, label = self.rows[index]
        return self.transform(path, text, label)


def _write_faces(folder: str, count: int, seed: int = 0) -> list:
    from dataset_builder import DialogueGenerator, render_face
    from emotifusion_hf import EMOTIONS

    rng = random.Random(seed)
    generator = DialogueGenerator(split="train", seed=seed)
    rows = []
    # A few hundred distinct files, cycled: decode and augmentation work is per item either way.
    distinct = min(count, 512)
    for index in range(distinct):
        label = index % len(EMOTIONS)
        path = os.path.join(folder, f"face_{index:05d}.jpg")
        render_face(label, rng, size=256).save(path, quality=90)
        rows.append((path, generator.generate(label, index).turns, label))
    return [rows[index % distinct] for index in range(count)]


def run(quick: bool = False) -> dict:
    if not torch.cuda.is_available():
        return {"skipped": "no CUDA device on this machine; run `python -m bench --gpu` on a GPU machine"}
    import numpy as np

    from emotifusion_hf import EmotiFusionImageProcessor, EmotiFusionProcessor
    from training.augment import build_train_augmentation

    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.benchmark = True
    batch_size = 256
    steps, warmup = (20, 5) if quick else (60, 10)
    image_processor = EmotiFusionImageProcessor()
    processor = EmotiFusionProcessor(image_processor=image_processor, tokenizer=offline_tokenizer())
    augmentation = build_train_augmentation(image_processor)

    def transform(path, turns, label):
        image = image_processor.prepare_image(path)
        pixels = augmentation(image=image)["image"]
        return torch.from_numpy(np.ascontiguousarray(pixels.transpose(2, 0, 1))), turns, label

    def collate(items):
        pixels, texts, labels = zip(*items)
        encoded = processor.tokenizer([processor.join_turns(turns) for turns in texts], padding=True,
                                      truncation=True, max_length=128, return_tensors="pt")
        return {"pixel_values": torch.stack(pixels), **encoded, "labels": torch.tensor(labels)}

    results = {"device": torch.cuda.get_device_name(0), "batch_size": batch_size, "dtype": "bfloat16"}
    with tempfile.TemporaryDirectory() as folder:
        rows = _write_faces(folder, batch_size * (steps + warmup))
        workers = min(16, os.cpu_count() or 1)
        loader = torch.utils.data.DataLoader(
            JpegFaceDataset(rows, transform), batch_size=batch_size, shuffle=True, num_workers=workers,
            collate_fn=collate, pin_memory=True, persistent_workers=True, prefetch_factor=4, drop_last=True,
        )
        model = default_size_model().cuda().to(memory_format=torch.channels_last).train()
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=True)
        iterator = iter(loader)
        start = None
        for step in range(steps + warmup):
            if step == warmup:
                torch.cuda.synchronize()
                start = time.perf_counter()
            batch = {key: value.cuda(non_blocking=True) for key, value in next(iterator).items()}
            with torch.autocast("cuda", dtype=torch.bfloat16):
                loss = model(**batch).loss
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
        torch.cuda.synchronize()
        seconds = time.perf_counter() - start
        results["dataloader_workers"] = workers
        results["gpu_train_samples_per_s"] = steps * batch_size / seconds

        model.eval()
        with torch.autocast("cuda", dtype=torch.bfloat16):
            flops = count_forward_flops(model, {k: v for k, v in batch.items() if k != "labels"})
        peak = bf16_matmul_flops_per_second()
        # Training costs about three forwards (forward, and backward's two matmuls per forward matmul).
        results["train_tflops_per_s"] = 3 * flops / batch_size * results["gpu_train_samples_per_s"] / 1e12
        results["bf16_matmul_tflops_per_s"] = peak / 1e12
        results["share_of_bf16_peak"] = results["train_tflops_per_s"] * 1e12 / peak
        results["affectnet_epoch_seconds"] = 287_651 / results["gpu_train_samples_per_s"]
    return results


__all__ = ["run"]
