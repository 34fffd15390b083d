"""Do the model's own attention maps and gradient attributions tell the same story?

On the demo checkpoint's test split (`EMOTIFUSION_BENCH_DEMO_DIR`, default `runs/demo`, as `bench.quality`), each
sample that has a face and a dialogue is explained three ways (`attention`, `gradient` x input,
`integrated_gradients`) and the methods are compared pairwise:

- face: Spearman rank correlation between the maps over the cells of the model's last feature map (the pixel
  attributions summed per cell), and how often both put their maximum in the same cell (chance: 1 / cells);
- words: Spearman correlation between the word weights of dialogues with 3 or more words, and how often both
  methods pick the same top word (chance: the mean of 1 / words).

Reported as means over samples (NaN correlations of flat maps left out), with the number of samples.
"""

import os

import numpy as np

METHODS = ("attention", "gradient", "integrated_gradients")
PAIRS = (("attention", "gradient"), ("attention", "integrated_gradients"), ("gradient", "integrated_gradients"))
BATCH_SIZE = 16


def _spearman(first, second) -> float:
    from scipy.stats import spearmanr

    first, second = np.asarray(first, dtype=np.float64), np.asarray(second, dtype=np.float64)
    if first.std() == 0 or second.std() == 0:
        return float("nan")
    return float(spearmanr(first, second).statistic)


def _cell_map(face, grid) -> np.ndarray:
    """A face map (cell grid or pixels) summed onto the model's cell grid, flattened."""
    import torch
    import torch.nn.functional as F

    face = face.float()[None, None]
    if tuple(face.shape[-2:]) != tuple(grid):
        face = F.adaptive_avg_pool2d(face, grid)
    return face.flatten().numpy()


def explain_samples(pipe, samples, method: str):
    """Raw explanations (`explain_batch` rows, with the row's words) of `samples` by `method`."""
    from emotifusion_hf.explanation_emotifusion import explain_batch, word_weights

    rows = []
    for start in range(0, len(samples), BATCH_SIZE):
        chunk = samples[start : start + BATCH_SIZE]
        inputs = pipe.preprocess(chunk, first_index=start)
        inputs.pop("face_found")
        with pipe.device_placement():
            _, explanations = explain_batch(pipe.model, inputs, method)
        for offset, (sample, raw) in enumerate(zip(chunk, explanations)):
            text = pipe.processor.join_turns(sample["text"])
            words = word_weights(pipe.processor.tokenizer, text, inputs["input_ids"][offset], raw["token_weights"])
            rows.append({"face": raw["face"], "words": words})
    return rows


def run(quick: bool = False) -> dict:
    demo_dir = os.environ.get("EMOTIFUSION_BENCH_DEMO_DIR", "runs/demo")
    model_dir, data_dir = os.path.join(demo_dir, "model"), os.path.join(demo_dir, "data")
    if not (os.path.isfile(os.path.join(model_dir, "config.json")) and os.path.isdir(data_dir)):
        return {"skipped": f"no demo run in {demo_dir!r}: run `make demo` (or set EMOTIFUSION_BENCH_DEMO_DIR) first"}
    import datasets
    import torch

    from emotifusion_hf.predict import load_pipeline

    test = datasets.load_from_disk(data_dir)["test"]
    count = min(len(test), 48 if quick else 200)
    # Spread over the classes: the test split is ordered by nothing in particular, so a fixed stride suffices.
    rows = test.select(np.linspace(0, len(test) - 1, count).round().astype(int).tolist())
    samples = [{"image": row["image"], "text": row["dialogue"] or row["text"]} for row in rows]
    pipe = load_pipeline(model_dir, device="cpu")
    with torch.no_grad():
        grid_probe = pipe.model(**{key: value for key, value in pipe.preprocess(samples[:1]).items()
                                   if key != "face_found"}, output_attentions=True).spatial_attention
    grid = tuple(grid_probe.shape[-2:])
    explained = {method: explain_samples(pipe, samples, method) for method in METHODS}

    results = {"demo_dir": demo_dir, "samples": count, "cells": grid[0] * grid[1],
               "face_top_cell_chance": 1.0 / (grid[0] * grid[1])}
    word_chance = []
    for first, second in PAIRS:
        face_rho, face_top, word_rho, word_top = [], [], [], []
        for a, b in zip(explained[first], explained[second]):
            cells_a, cells_b = _cell_map(a["face"], grid), _cell_map(b["face"], grid)
            face_rho.append(_spearman(cells_a, cells_b))
            face_top.append(float(cells_a.argmax() == cells_b.argmax()))
            if len(a["words"]) >= 3:
                weights_a = [weight for _, weight in a["words"]]
                weights_b = [weight for _, weight in b["words"]]
                word_rho.append(_spearman(weights_a, weights_b))
                word_top.append(float(np.argmax(weights_a) == np.argmax(weights_b)))
                if first == PAIRS[0][0] and second == PAIRS[0][1]:
                    word_chance.append(1.0 / len(weights_a))
        key = f"{first}_vs_{second}"
        results[key] = {
            "face_spearman": float(np.nanmean(face_rho)),
            "face_same_top_cell": float(np.mean(face_top)),
            "word_spearman": float(np.nanmean(word_rho)) if word_rho else None,
            "word_same_top_word": float(np.mean(word_top)) if word_top else None,
            "dialogues_compared": len(word_rho),
        }
    results["word_top_chance"] = float(np.mean(word_chance)) if word_chance else None
    return results


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(run(quick="--quick" in sys.argv), indent=2))


__all__ = ["run"]
