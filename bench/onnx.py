"""ONNX deployment: the exported graph on onnxruntime against the torch pipeline, on the default-size model
(BERT-base + ResNet18 + MobileNetV3-S, random weights), measured side by side in one run.

- `onnx_fp32_over_torch_fp32`, `onnx_int8_over_torch_fp32`: throughput of `OnnxEmotionFusionPipeline` (fp32 graph,
  int8 graph) over the torch fp32 pipeline on the same 32 raw inputs (JPEG files + dialogues), batch 32; the
  `_batch1` keys one input at a time.
- `onnx_fp32_max_score_difference`: the largest score difference between the fp32 graph and torch on those inputs.
- `onnx_int8_prediction_agreement`: share of the inputs where the int8 graph predicts what fp32 does. On a random
  model the scores are nearly flat, so this is a harsh test; with a demo run (`EMOTIFUSION_BENCH_DEMO_DIR`, as the
  quality section) its checkpoint is exported too and `demo_*` keys give agreement and macro-F1 on its test split.
- `int8_variants`: the int8 recipes tried (dynamic MatMul/Gemm + embedding tables, the export's; dynamic
  MatMul/Gemm alone; dynamic including convolutions; static QDQ convolutions calibrated on 32 other faces + dynamic
  MatMul/Gemm): size, speed and agreement with the fp32 graph of each (see BENCHMARKS.md for the choice).
- `cold_predict_seconds_*`, `cold_predict_peak_rss_mb_*`: a fresh `emotifusion predict --image face.jpg` process,
  as a user runs it: the torch checkpoint, the ONNX folder with its int8 graph (`--quantize`) and its fp32 graph.
- `runtime_installed_mb`: installed size of onnxruntime, numpy, Pillow, tokenizers and everything they require;
  `torch_path_installed_mb` the same for the package's own dependencies (the torch path).
- `cpu_flags`: the instruction-set extensions int8 kernels depend on.
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

from .inference import default_size_model, make_raw_inputs, offline_tokenizer
from .timing import interleaved_medians


RUNTIME_DISTRIBUTIONS = ("onnxruntime", "numpy", "pillow", "tokenizers")
CPU_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_tile", "amx_int8")


def cpu_flags() -> list[str]:
    try:
        with open("/proc/cpuinfo") as handle:
            line = next(line for line in handle if line.startswith("flags"))
    except (OSError, StopIteration):
        return []
    present = set(line.split(":", 1)[1].split())
    return [flag for flag in CPU_FLAGS if flag in present]


def installed_megabytes(roots) -> tuple[float, list[str]]:
    """Installed size of the distributions `roots` and all they require (markers evaluated for this machine)."""
    from importlib import metadata

    from packaging.requirements import Requirement

    seen, pending, total = set(), list(roots), 0
    while pending:
        name = pending.pop().lower().replace("_", "-")
        if name in seen:
            continue
        try:
            distribution = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        seen.add(name)
        for file in distribution.files or []:
            path = file.locate()
            if os.path.isfile(path):
                total += os.path.getsize(path)
        for requirement in distribution.requires or []:
            parsed = Requirement(requirement)
            if parsed.marker is None or parsed.marker.evaluate({"extra": ""}):
                pending.append(parsed.name)
    return total / 1e6, sorted(seen)


# Runs one command and reports its seconds and peak RSS. A small fresh process starts it: a child forked straight
# from the benchmark would count the benchmark's own memory (copied at fork) in its peak RSS.
_MEASURE = """
import resource, subprocess, sys, time
start = time.perf_counter()
code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
seconds = time.perf_counter() - start
if code.returncode:
    sys.exit(code.stderr.decode()[-2000:])
print(seconds, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
"""


def _cold_predict(args: list[str]) -> tuple[float, float]:
    """Seconds and peak RSS (MB) of one fresh `emotifusion predict` process."""
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    command = [sys.executable, "-m", "emotifusion_hf.cli", "predict", *args]
    result = subprocess.run([sys.executable, "-c", _MEASURE, *command], capture_output=True, text=True, env=env)
    if result.returncode != 0:
        raise RuntimeError(f"emotifusion predict {' '.join(args)} failed: {result.stderr[-2000:]}")
    seconds, megabytes = result.stdout.split()
    return float(seconds), float(megabytes)


def _top_labels(outputs) -> np.ndarray:
    return np.array([output[0]["label"] for output in outputs])


def _int8_variants(fp32_path, folder, calibration_inputs, pipes, raw_inputs, repeats) -> dict:
    """Speed and agreement with fp32 of the int8 recipes, each written beside the export and run by the runtime."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_dynamic,
        quantize_static,
    )

    from emotifusion_hf.inputs import pipeline_samples
    from emotifusion_hf.onnx_runtime import OnnxEmotionFusionPipeline

    fp32 = pipes["onnx_fp32"]

    class Faces(CalibrationDataReader):
        def __init__(self):
            samples, _ = pipeline_samples(calibration_inputs)
            feeds = [fp32.preprocess([sample])[0] for sample in samples]
            self._feeds = iter(feeds)

        def get_next(self):
            return next(self._feeds, None)

    variants = {}
    recipes = {
        "dynamic_matmul_gather": lambda path: quantize_dynamic(fp32_path, path, weight_type=QuantType.QInt8,
                                                               per_channel=True,
                                                               op_types_to_quantize=["MatMul", "Gemm", "Gather"]),
        "dynamic_matmul": lambda path: quantize_dynamic(fp32_path, path, weight_type=QuantType.QInt8, per_channel=True,
                                                        op_types_to_quantize=["MatMul", "Gemm"]),
        "dynamic_matmul_conv": lambda path: quantize_dynamic(fp32_path, path, weight_type=QuantType.QInt8,
                                                             per_channel=True,
                                                             op_types_to_quantize=["MatMul", "Gemm", "Conv"]),
    }

    def static_conv_then_dynamic(path):
        static_path = path + ".conv.onnx"
        quantize_static(fp32_path, static_path, Faces(), quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, op_types_to_quantize=["Conv"])
        quantize_dynamic(static_path, path, weight_type=QuantType.QInt8, per_channel=True,
                         op_types_to_quantize=["MatMul", "Gemm"])

    recipes["static_conv_dynamic_matmul"] = static_conv_then_dynamic
    reference = _top_labels(fp32(raw_inputs, batch_size=32))
    reference_scores = [output[0]["score"] for output in fp32(raw_inputs, batch_size=32)]
    variant_pipes = {}
    for name, quantize in recipes.items():
        path = os.path.join(folder, f"variant-{name}.onnx")
        try:
            quantize(path)
            config = json.load(open(os.path.join(folder, "config.json")))
            config["graphs"]["int8"] = os.path.basename(path)
            json.dump(config, open(os.path.join(folder, "config.json"), "w"))
            pipe = OnnxEmotionFusionPipeline(folder, quantized=True)
            outputs = pipe(raw_inputs, batch_size=32)
            variant_pipes[name] = pipe
            variants[name] = {
                "prediction_agreement": float(np.mean(_top_labels(outputs) == reference)),
                "max_top_score_difference": float(max(abs(output[0]["score"] - score)
                                                      for output, score in zip(outputs, reference_scores))),
                "megabytes": os.path.getsize(path) / 1e6,
            }
        except Exception as error:  # a recipe onnxruntime cannot build or run here is reported, not fatal
            variants[name] = {"error": f"{type(error).__name__}: {error}"[:300]}
    # Timed side by side with the fp32 graph, interleaved, so load changes hit every recipe alike.
    timed = {"fp32": fp32, **variant_pipes}
    seconds = interleaved_medians(*(lambda pipe=pipe: pipe(raw_inputs, batch_size=32) for pipe in timed.values()),
                                  repeats=repeats)
    for name, value in zip(timed, seconds):
        if name != "fp32":
            variants[name]["seconds_batch32"] = value
            variants[name]["fp32_graph_over_this"] = seconds[0] / value
    config = json.load(open(os.path.join(folder, "config.json")))
    config["graphs"]["int8"] = "model.int8.onnx"
    json.dump(config, open(os.path.join(folder, "config.json"), "w"))
    return variants


def _demo_quality(demo_dir: str, workdir: str) -> dict:
    """Export the demo run's checkpoint (int8 too) and compare torch fp32, ONNX fp32 and ONNX int8 on its test split."""
    import datasets

    from emotifusion_hf.onnx_export import export_onnx
    from emotifusion_hf.onnx_runtime import OnnxEmotionFusionPipeline
    from emotifusion_hf.predict import load_pipeline
    from training.metrics import classification_report

    model_dir, data_dir = os.path.join(demo_dir, "model"), os.path.join(demo_dir, "data")
    if not (os.path.isfile(os.path.join(model_dir, "config.json")) and os.path.isdir(data_dir)):
        return {"demo_skipped": f"no demo run in {demo_dir!r}"}
    folder = os.path.join(workdir, "demo-onnx")
    export_onnx(model_dir, folder, quantize="int8")
    test = datasets.load_from_disk(data_dir)["test"]
    inputs = [{"image": row["image"], "text": row["dialogue"] or row["text"]} for row in test]
    labels = np.array(list(test["label"]))
    labels_in_order = json.load(open(os.path.join(folder, "config.json")))["labels"]
    label_ids = {label: index for index, label in enumerate(labels_in_order)}
    results, predictions, scores = {"demo_test_samples": len(test)}, {}, {}
    for name, pipe in (("torch_fp32", load_pipeline(model_dir, device="cpu")),
                       ("onnx_fp32", OnnxEmotionFusionPipeline(folder)),
                       ("onnx_int8", OnnxEmotionFusionPipeline(folder, quantized=True))):
        outputs = pipe(inputs, batch_size=32)
        predictions[name] = np.array([label_ids[output[0]["label"]] for output in outputs])
        scores[name] = np.array([[item["score"] for item in sorted(output, key=lambda item: label_ids[item["label"]])]
                                 for output in outputs])
        results[f"demo_{name}_macro_f1"] = classification_report(labels, predictions[name])["macro_f1"]
    results["demo_onnx_fp32_max_score_difference"] = float(np.abs(scores["onnx_fp32"] - scores["torch_fp32"]).max())
    results["demo_onnx_int8_prediction_agreement"] = float(
        np.mean(predictions["onnx_int8"] == predictions["onnx_fp32"]))
    results["demo_onnx_int8_macro_f1_drop"] = results["demo_onnx_fp32_macro_f1"] - results["demo_onnx_int8_macro_f1"]
    return results


def run(quick: bool = False) -> dict:
    import torch

    from emotifusion_hf import EmotiFusionImageProcessor, EmotiFusionProcessor
    from emotifusion_hf.onnx_export import export_onnx
    from emotifusion_hf.onnx_runtime import OnnxEmotionFusionPipeline
    from emotifusion_hf.predict import load_pipeline

    repeats = 1 if quick else 3
    results = {"cpu_flags": cpu_flags(), "torch_threads": torch.get_num_threads(), "gpu": None,
               "gpu_note": "no GPU on this machine: the CUDA execution provider (fp16) against torch bf16 at batch 256 "
                           "was not measured"}
    results["runtime_installed_mb"], results["runtime_distributions"] = installed_megabytes(RUNTIME_DISTRIBUTIONS)
    results["torch_path_installed_mb"], _ = installed_megabytes(["emotifusion-hf"])

    with tempfile.TemporaryDirectory() as workdir:
        checkpoint, folder = os.path.join(workdir, "checkpoint"), os.path.join(workdir, "onnx")
        processor = EmotiFusionProcessor(image_processor=EmotiFusionImageProcessor(), tokenizer=offline_tokenizer())
        default_size_model().save_pretrained(checkpoint)
        processor.save_pretrained(checkpoint)
        start = time.perf_counter()
        config = export_onnx(checkpoint, folder, quantize="int8")
        results["export_seconds"] = time.perf_counter() - start
        results["export_max_abs_logit_difference"] = config["export_max_abs_logit_difference"]
        results["fp32_graph_mb"] = os.path.getsize(os.path.join(folder, "model.onnx")) / 1e6
        results["int8_graph_mb"] = os.path.getsize(os.path.join(folder, "model.int8.onnx")) / 1e6

        raw_inputs = make_raw_inputs(workdir, 32)
        calibration_inputs = make_raw_inputs(workdir, 32, seed=1, prefix="calibration", dialogue_split="validation")
        pipes = {"torch_fp32": load_pipeline(checkpoint, device="cpu"),
                 "onnx_fp32": OnnxEmotionFusionPipeline(folder),
                 "onnx_int8": OnnxEmotionFusionPipeline(folder, quantized=True)}
        outputs = {name: pipe(raw_inputs, batch_size=32) for name, pipe in pipes.items()}
        results["onnx_fp32_max_score_difference"] = max(
            abs(ours["score"] - theirs["score"])
            for ours_list, theirs_list in zip(outputs["onnx_fp32"], outputs["torch_fp32"])
            for ours, theirs in zip(sorted(ours_list, key=lambda item: item["label"]),
                                    sorted(theirs_list, key=lambda item: item["label"])))
        results["onnx_int8_prediction_agreement"] = float(np.mean(
            _top_labels(outputs["onnx_int8"]) == _top_labels(outputs["onnx_fp32"])))

        for batch_size, inputs, suffix in ((32, raw_inputs, ""), (1, raw_inputs[:1], "_batch1")):
            seconds = interleaved_medians(*(lambda pipe=pipe: pipe(inputs, batch_size=batch_size)
                                            for pipe in pipes.values()), repeats=repeats * (1 if batch_size > 1 else 3))
            timed = dict(zip(pipes, seconds))
            for name, value in timed.items():
                results[f"seconds_{name}{suffix}"] = value
            results[f"onnx_fp32_over_torch_fp32{suffix}"] = timed["torch_fp32"] / timed["onnx_fp32"]
            results[f"onnx_int8_over_torch_fp32{suffix}"] = timed["torch_fp32"] / timed["onnx_int8"]

        results["int8_variants"] = _int8_variants(os.path.join(folder, "model.onnx"), folder, calibration_inputs,
                                                  pipes, raw_inputs, repeats)
        del pipes

        face = raw_inputs[0]["image"]
        cold = {"torch": [], "onnx": [], "onnx_fp32": []}
        for _ in range(1 if quick else 2):
            for name, args in (("torch", ["--model", checkpoint, "--device", "cpu"]),
                               ("onnx", ["--model", folder, "--quantize"]),
                               ("onnx_fp32", ["--model", folder])):
                cold[name].append(_cold_predict([*args, "--image", face]))
        for name, runs in cold.items():
            results[f"cold_predict_seconds_{name}"] = statistics.median(seconds for seconds, _ in runs)
            results[f"cold_predict_peak_rss_mb_{name}"] = statistics.median(rss for _, rss in runs)
        results["cold_predict_torch_over_onnx"] = (results["cold_predict_seconds_torch"]
                                                   / results["cold_predict_seconds_onnx"])

        demo_dir = os.environ.get("EMOTIFUSION_BENCH_DEMO_DIR", "runs/demo")
        results.update(_demo_quality(demo_dir, workdir))
    return results


__all__ = ["cpu_flags", "installed_megabytes", "run"]
