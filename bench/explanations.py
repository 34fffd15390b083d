"""Do the model's own attention maps and gradient attributions tell the same story, and do they point at the face's
expressive parts?

On the demo checkpoint's test split (`EMOTIFUSION_BENCH_DEMO_DIR`, default `runs/demo`, as `bench.quality`), each
sample that has a face and a dialogue is explained three ways (`attention`, `gradient` x input,
`integrated_gradients`) and the methods are compared pairwise:

- face: Spearman rank correlation between the maps over the cells of the model's last feature map (the pixel
  attributions summed per cell), and how often both put their maximum in the same cell (chance: 1 / cells);
- words: Spearman correlation between the word weights of dialogues with 3 or more words, and how often both
  methods pick the same top word (chance: the mean of 1 / words).

Reported as means over samples (NaN correlations of flat maps left out), with the number of samples.

And whether each method's face map lands where the expression is: the demo face generator knows where it drew the
brows, eyes and mouth (`dataset_builder.demo_faces.demo_face_regions`), so each test face is drawn again with its part
regions and the heat map the app shows (`face_heat_map`, [0, 1] over the face) is scored by its region lift, the share
of the map's mass inside the parts over the share of the face's area they cover: 1 is no better than a uniform map,
1 / area share (about 10 here) is every bit of heat on the parts. `region_lift_app_default` is the figure of the
method `emotifusion app` shows unless told otherwise. Beside it, how much of the predicted emotion's logit each
image baseline takes away (`baseline_logit_drop`): the blurred face of integrated gradients should take about as much
as the mean colour, or its attributions leave part of the decision out.
"""

import os

import numpy as np

from dataset_builder.demo_faces import EXPRESSIVE_PARTS

METHODS = ("attention", "gradient", "integrated_gradients")
PAIRS = (("attention", "gradient"), ("attention", "integrated_gradients"), ("gradient", "integrated_gradients"))
BATCH_SIZE = 16
# A face drawn again may differ from the stored one only by its JPEG compression: compared as 16 x 16 block means
# (which average that noise away), the same face differs by under 2 levels of 255, another pose or seed by 8 or more.
REDRAWN_FACE_BLOCKS = 16
REDRAWN_FACE_TOLERANCE = 3.0


def region_lift(heat, region) -> float:
    """`heat`'s share of mass inside `region` over the share of area `region` covers (NaN for an all-zero map).

    `heat`: a non-negative `(height, width)` map; `region`: a boolean mask of the same shape, neither empty nor full.
    """
    heat, region = np.asarray(heat, dtype=np.float64), np.asarray(region)
    if heat.shape != region.shape:
        raise ValueError(f"The heat map is {heat.shape} but the region mask is {region.shape}.")
    if region.dtype != bool:
        raise ValueError(f"The region must be a boolean mask, got {region.dtype}.")
    if not 0 < region.sum() < region.size:
        raise ValueError("The region mask must cover some of the map and not all of it.")
    if (heat < 0).any() or not np.isfinite(heat).all():
        raise ValueError("The heat map must be finite and non-negative.")
    total = heat.sum()
    if total == 0:
        return float("nan")
    return float(heat[region].sum() / total / region.mean())


def demo_face_parts(build_report: dict, source_id: str, stored_face) -> dict[str, np.ndarray]:
    """The part regions (`demo_face_regions`) of the stored demo face `source_id`, checked against it: the face drawn
    again from the build's seed, size and variation must be the stored one, or the regions would be someone else's."""
    from PIL import Image

    from dataset_builder.demo_faces import demo_face_regions

    def blocks(face):
        return np.asarray(face.convert("RGB").resize((REDRAWN_FACE_BLOCKS,) * 2, Image.Resampling.BOX), np.float32)

    size = build_report.get("image_size") or stored_face.height
    variation = build_report.get("face_variation")
    if variation is None:  # built before the report recorded it: the packaged demo recipe's setting
        variation = _demo_recipe_face_variation()
    redrawn, parts = demo_face_regions(source_id, build_report["seed"], size, variation)
    difference = np.abs(blocks(redrawn) - blocks(stored_face)).mean() if redrawn.size == stored_face.size else np.inf
    if difference > REDRAWN_FACE_TOLERANCE:
        raise ValueError(
            f"Demo face {source_id!r} drawn again (seed {build_report['seed']}, size {size}, variation {variation}) "
            "is not the stored face: the build report does not describe this dataset."
        )
    return parts


def _demo_recipe_face_variation() -> float:
    import yaml

    from training.demo import default_config_path

    with open(default_config_path()) as handle:
        return float(yaml.safe_load(handle)["demo_face_variation"])


def region_lifts(explained: dict, faces: list, parts: list[dict]) -> dict:
    """Per method: the mean region lift of the displayed heat maps over the samples, for all parts together and for
    each part, with the mean share of the map's mass on the parts. Flat maps (all 0 once scaled) are left out and
    counted; a method with none scored gets `None`."""
    from emotifusion_hf.explanation_emotifusion import face_heat_map

    def mean(values):
        return float(np.mean(values)) if values else None

    summary = {}
    for method, rows in explained.items():
        union, mass_share, by_part, flat = [], [], {name: [] for name in EXPRESSIVE_PARTS}, 0
        for row, face, regions in zip(rows, faces, parts):
            if row["face"] is None:
                continue
            heat = np.asarray(face_heat_map(row["face"], face.height, face.width))
            if not heat.any():
                flat += 1
                continue
            everything = np.logical_or.reduce([regions[name] for name in EXPRESSIVE_PARTS])
            union.append(region_lift(heat, everything))
            mass_share.append(union[-1] * everything.mean())
            for name in EXPRESSIVE_PARTS:
                by_part[name].append(region_lift(heat, regions[name]))
        summary[method] = {"lift": mean(union), "mass_share": mean(mass_share),
                           "by_part": {name: mean(values) for name, values in by_part.items()}, "flat_maps": flat}
    return summary


def _spearman(first, second) -> float:
    from scipy.stats import spearmanr

    first, second = np.asarray(first, dtype=np.float64), np.asarray(second, dtype=np.float64)
    if first.std() == 0 or second.std() == 0:
        return float("nan")
    return float(spearmanr(first, second).statistic)


def _cell_map(face, grid) -> np.ndarray:
    """A face map (cell grid or pixels) summed onto the model's cell grid, flattened."""
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


def baseline_logit_drops(pipe, samples) -> dict:
    """How much of the predicted emotion's fused logit each face baseline takes away, mean over `samples`: the blurred
    face that integrated gradients start from, and the mean colour (zero) that gradient x input measures from. A
    baseline that takes less away than a blank face leaves some of the expression in it, unexplained."""
    import torch

    from emotifusion_hf.explanation_emotifusion import blurred_baseline

    drops = {"blurred_face": [], "mean_colour": []}
    for start in range(0, len(samples), BATCH_SIZE):
        inputs = pipe.preprocess(samples[start : start + BATCH_SIZE], first_index=start)
        inputs.pop("face_found")
        pixels = inputs["pixel_values"].float()
        with torch.no_grad(), pipe.device_placement():
            logits = pipe.model(**inputs).logits
            target = logits.argmax(dim=-1, keepdim=True)
            for name, baseline in (("blurred_face", blurred_baseline(pixels)),
                                   ("mean_colour", torch.zeros_like(pixels))):
                changed = pipe.model(**{**inputs, "pixel_values": baseline.to(inputs["pixel_values"].dtype)}).logits
                drops[name].extend((logits.gather(1, target) - changed.gather(1, target))[:, 0].tolist())
    return {name: float(np.mean(values)) for name, values in drops.items()}


def run(quick: bool = False) -> dict:
    demo_dir = os.environ.get("EMOTIFUSION_BENCH_DEMO_DIR", "runs/demo")
    model_dir, data_dir = os.path.join(demo_dir, "model"), os.path.join(demo_dir, "data")
    if not (os.path.isfile(os.path.join(model_dir, "config.json")) and os.path.isdir(data_dir)):
        return {"skipped": f"no demo run in {demo_dir!r}: run `make demo` (or set EMOTIFUSION_BENCH_DEMO_DIR) first"}
    import json

    import datasets
    import torch

    from emotifusion_hf.app import DEFAULT_EXPLANATION_METHOD
    from emotifusion_hf.explanation_emotifusion import resolve_method
    from emotifusion_hf.predict import load_pipeline

    test = datasets.load_from_disk(data_dir)["test"]
    with open(os.path.join(data_dir, "build_report.json")) as handle:
        build_report = json.load(handle)
    count = min(len(test), 48 if quick else 200)
    # Spread over the classes: the test split is ordered by nothing in particular, so a fixed stride suffices.
    rows = test.select(np.linspace(0, len(test) - 1, count).round().astype(int).tolist())
    samples = [{"image": row["image"], "text": row["dialogue"] or row["text"]} for row in rows]
    pipe = load_pipeline(model_dir, device="cpu")
    with torch.no_grad():
        grid_probe = pipe.model(**{key: value for key, value in pipe.preprocess(samples[:1]).items()
                                   if key != "face_found"}, output_attentions=True).spatial_attention
    grid = tuple(grid_probe.shape[-2:])
    faces = [row["image"] for row in rows]
    parts = [demo_face_parts(build_report, row["image_id"], face) for row, face in zip(rows, faces)]
    explained = {method: explain_samples(pipe, samples, method) for method in METHODS}
    lifts = region_lifts(explained, faces, parts)
    area_share = float(np.mean([np.logical_or.reduce([regions[name] for name in EXPRESSIVE_PARTS]).mean()
                                for regions in parts]))

    results = {"demo_dir": demo_dir, "samples": count, "cells": grid[0] * grid[1],
               "face_top_cell_chance": 1.0 / (grid[0] * grid[1]),
               "pipeline_default_method": resolve_method(pipe.model, None),
               "app_default_method": DEFAULT_EXPLANATION_METHOD,
               "region_area_share": area_share, "region_lift": lifts,
               "baseline_logit_drop": baseline_logit_drops(pipe, samples)}
    for method in METHODS:  # flat figures for the table
        results[f"region_lift_{method}"] = lifts[method]["lift"]
    results["region_lift_app_default"] = lifts[DEFAULT_EXPLANATION_METHOD]["lift"]
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
    results["face_spearman_attention_vs_gradient"] = results["attention_vs_gradient"]["face_spearman"]
    return results


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(run(quick="--quick" in sys.argv), indent=2))


__all__ = ["baseline_logit_drops", "demo_face_parts", "region_lift", "region_lifts", "run"]
