"""BENCHMARKS.md: the latest results as a table, with the machine, the command and the goals."""

import json
import os
from pathlib import Path

# key: (section, what it measures, goal as text, predicate on the value)
GOALS = {
    "pipeline_over_forward": ("inference", "pipeline throughput on 32 raw inputs over model forward on the preprocessed batch", ">= 0.90", lambda v: v >= 0.90),
    "forward_over_ceiling": ("inference", "forward FLOP/s over this machine's fp32 matmul FLOP/s", ">= 0.70", lambda v: v >= 0.70),
    "speedup_vs_seed_style": ("inference", "fp32 pipeline over the seed-style loop (BERT at 128 tokens, per-sample transforms, fp32)", ">= 3", lambda v: v >= 3),
    "seed_style_flops_ratio": ("inference", "FLOPs of the seed-style forward over ours on the same batch: what fp32 alone can gain at equal kernel speed", "reported", None),
    "speedup_vs_seed_style_quantized": ("inference", "int8 fast path over the same seed-style loop", ">= 3", lambda v: v >= 3),
    "quantized_speedup": ("inference", "int8 fast path (linear layers + calibrated ResNet convolutions) over fp32, CPU pipeline", ">= 2", lambda v: v >= 2),
    "int8_linear_speedup": ("inference", "int8 dynamic linear over fp32 linear on one BERT layer's projections at 8 dialogues' tokens: the most int8 BERT can gain on this CPU", "reported", None),
    "quantized_linear_only_speedup": ("inference", "int8 linear layers only (`quantize=True` without calibration images) over fp32", "reported", None),
    "quantized_macro_f1_drop": ("quality", "macro-F1 lost by the int8 fast path on the demo test split (demo-trained model)", "<= 0.01", lambda v: v <= 0.01),
    "quantized_macro_f1_drop_standard_error": ("quality", "standard error of that drop (paired bootstrap over the test samples)", "reported", None),
    "int8_prediction_agreement": ("quality", "share of demo test samples where int8 and fp32 predict the same emotion", "reported", None),
    "onnx_fp32_over_torch_fp32": ("onnx", "ONNX fp32 graph (onnxruntime) over the torch fp32 pipeline, 32 raw inputs, batch 32", "reported", None),
    "onnx_int8_over_torch_fp32": ("onnx", "ONNX int8 graph over the torch fp32 pipeline, batch 32 (goal 3x with VNNI, 2x AVX2-only)", ">= 3", lambda v: v >= 3),
    "onnx_int8_over_torch_fp32_batch1": ("onnx", "the same, one input at a time", "reported", None),
    "onnx_fp32_max_score_difference": ("onnx", "largest score difference, ONNX fp32 vs torch, same inputs", "<= 1e-4", lambda v: v <= 1e-4),
    "onnx_int8_prediction_agreement": ("onnx", "int8 graph predicts what the fp32 graph does (random-weight model: flat scores, a harsh test)", "reported", None),
    "demo_onnx_int8_prediction_agreement": ("onnx", "the same on the demo test split (demo-trained model)", ">= 0.98", lambda v: v >= 0.98),
    "demo_onnx_int8_macro_f1_drop": ("onnx", "macro-F1 lost by the int8 graph on the demo test split", "<= 0.01", lambda v: v <= 0.01),
    "cold_predict_torch_over_onnx": ("onnx", "fresh `emotifusion predict --image`: torch checkpoint seconds over ONNX int8 folder seconds", ">= 4", lambda v: v >= 4),
    "cold_predict_peak_rss_mb_onnx": ("onnx", "peak RSS (MB) of that ONNX int8 process", "<= 300", lambda v: v <= 300),
    "cold_predict_peak_rss_mb_torch": ("onnx", "peak RSS (MB) of the torch process", "reported", None),
    "runtime_installed_mb": ("onnx", "installed MB of onnxruntime + numpy + Pillow + tokenizers and all they require", "<= 300", lambda v: v <= 300),
    "builder_rows_per_s": ("data", "dataset builder rows/s, official-layout AffectNet fixture of 224-px JPEGs", ">= 2000", lambda v: v >= 2000),
    "builder_rss_growth": ("data", "builder peak RSS at 10x rows over 1x", "<= 1.2", lambda v: v <= 1.2),
    "sharded_build_anonymous_rss_growth": ("data", "`python -m dataset_builder build --num-shards 2`: peak anonymous memory at 16x rows over 1x (fresh processes)", "<= 1.2", lambda v: v <= 1.2),
    "sharded_build_rss_growth": ("data", "the same for the peak RSS, which also counts the pages of the memory-mapped Arrow files read while saving (dropped by the kernel under pressure)", "reported", None),
    "dataloader_samples_per_s_0_workers": ("data", "DataLoader samples/s with the training augmentation, 0 workers", "reported", None),
    "dataloader_samples_per_s_2_workers": ("data", "DataLoader samples/s with the training augmentation, 2 workers", "reported", None),
    "train_samples_per_s": ("data", "training samples/s of the default-size model (forward + backward + step)", "reported", None),
    "gpu_train_samples_per_s": ("gpu", "GPU training samples/s, bf16, real DataLoader (H200)", ">= 3000", lambda v: v >= 3000),
    "text_transfer_macro_f1": ("text", "macro-F1 on real text (7 emotions) of a linear probe trained on 300 grammar dialogues per label (the original project's stock sentences: 0.26)", "reported", None),
    "text_transfer_accuracy": ("text", "accuracy of that probe on the same real text", "reported", None),
    "worst_fusion_margin": ("fusion", "fused macro-F1 minus the better single head's, worst over text agreement 0 / 0.5 / 1 on 40 demo faces per class", ">= -0.01", lambda v: v >= -0.01),
    "worst_missing_margin": ("fusion", "the fused head given one modality minus that modality's own head, worst over both modalities and the three agreements", ">= -0.01", lambda v: v >= -0.01),
    "realtime_demo_720p": ("video", "seconds of 720p video per wall second, `--fps 5 --detect-face`, demo-size model (120 s clip)", ">= 1", lambda v: v >= 1),
    "realtime_default_720p": ("video", "the same with the default-size model (10 s clip)", "reported", None),
    "video_per_cpu_second_demo": ("video", "seconds of video per CPU-second (all threads) of that run, demo-size model", "reported", None),
    "video_per_cpu_second_default": ("video", "the same, default-size model", "reported", None),
    "rss_growth": ("video", "peak RSS of `emotifusion video` on a 120 s clip over a 10 s clip (fresh processes)", "<= 1.2", lambda v: v <= 1.2),
    "analysis_rss_growth": ("video", "the same over the analysis alone (peak reset after the model loads)", "<= 1.2", lambda v: v <= 1.2),
    "decode_fps_pyav": ("video", "720p H.264 frames sampled per second at 5 fps, decoding only: PyAV", "reported", None),
    "decode_fps_opencv": ("video", "the same with OpenCV's FFmpeg build (grab every frame, retrieve the sampled ones)", "reported", None),
    "region_lift_attention": ("explanations", "face heat map's share of mass on the brows, eyes and mouth over the share of area they cover, demo test faces (1: uniform; about 10: all on them), `attention` method", "reported", None),
    "region_lift_gradient": ("explanations", "the same, `gradient` (x input) method", "reported", None),
    "region_lift_integrated_gradients": ("explanations", "the same, `integrated_gradients` method", "reported", None),
    "region_lift_app_default": ("explanations", "the same for the method `emotifusion app` shows by default", ">= 2", lambda v: v >= 2),
    "face_spearman_attention_vs_gradient": ("explanations", "rank correlation of the attention and gradient face maps over the model's feature-map cells", "reported", None),
}

START, END = "<!-- bench:start -->", "<!-- bench:end -->"


def results_table(results: dict) -> str:
    machine = results.get("machine", {})
    lines = [
        f"Machine: {machine.get('cores')} cores ({machine.get('cpu_capability')}), {machine.get('torch_threads')} torch "
        f"threads, torch {machine.get('torch')}, GPU: {machine.get('cuda') or 'none'}. "
        f"Command: `{results.get('command')}` ({results.get('seconds')} s).",
        "",
        "| measure | value | goal | met | what it is |",
        "|---|---|---|---|---|",
    ]
    for key, (section, description, goal, check) in GOALS.items():
        value = results.get(section, {}).get(key)
        if value is None:
            continue
        met = "" if check is None else ("yes" if check(value) else "**no**")
        lines.append(f"| `{key}` | {value:.3g} | {goal} | {met} | {description} |")
    text_table = text_transfer_table(results)
    fusion_table = fusion_runs_table(results)
    return "\n".join(lines + ([""] + text_table if text_table else []) + ([""] + fusion_table if fusion_table else []))


def fusion_runs_table(results: dict) -> list[str]:
    """The fusion section's runs (macro-F1 of each head per text agreement) as markdown lines; [] without runs."""
    runs = results.get("fusion", {}).get("runs")
    if not runs:
        return []
    lines = ["Fusion on small data (faces per class: " + str(runs[0]["per_class"]) + "; macro-F1 on the test split, "
             "every head against the face label):", "",
             "| text agreement | fused | image only | text only | fused, text missing | fused, image missing | margin | "
             "margin, text missing | margin, image missing |",
             "|---|---|---|---|---|---|---|---|---|"]

    def margin(run, name):
        return f"{run[name]:+.3f}" if name in run else "-"

    for run in runs:
        lines.append(f"| {run['agreement']:g} | {run['fused_macro_f1']:.3f} | {run['image_only_macro_f1']:.3f} | "
                     f"{run['text_only_macro_f1']:.3f} | {run['text_missing_macro_f1']:.3f} | "
                     f"{run['image_missing_macro_f1']:.3f} | {run['fusion_margin']:+.3f} | "
                     f"{margin(run, 'text_missing_margin')} | {margin(run, 'image_missing_margin')} |")
    return lines


def text_transfer_table(results: dict) -> list[str]:
    """The text section's per-class F1 as lines of markdown, or the reason it was skipped; [] when it did not run."""
    text = results.get("text")
    if not text:
        return []
    if "skipped" in text:
        return [f"Text transfer: skipped ({text['skipped']})."]
    labels = list(text["per_class_f1"])
    dialogues = text.get("dialogues", {})
    header = (
        f"Text transfer: linear probe trained on {text['train_rows']} {dialogues.get('backend', '')} dialogues "
        f"({dialogues.get('per_label')} per label, seed {dialogues.get('seed')}, split {dialogues.get('split')}), "
        f"scored on {text['real_rows']} real utterances (`{text['yardstick']}`)"
    )
    command = text.get("command")
    return [
        header + (f"; command `{command}`." if command else "."),
        "",
        "| | " + " | ".join(labels) + " | macro-F1 | accuracy |",
        "|---|" + "---|" * (len(labels) + 2),
        "| F1 | " + " | ".join(f"{text['per_class_f1'][label]:.2f}" for label in labels)
        + f" | {text['text_transfer_macro_f1']:.3f} | {text['text_transfer_accuracy']:.3f} |",
    ]


def write_benchmarks_markdown(results: dict, results_path: str, markdown_path: str = "BENCHMARKS.md") -> None:
    """Replace the generated block of BENCHMARKS.md with the table of `results`."""
    path = Path(markdown_path)
    # The results file named relative to the table, so the link holds wherever the command was started.
    raw = os.path.relpath(os.path.abspath(results_path), os.path.dirname(os.path.abspath(path)))
    block = f"{START}\n{results_table(results)}\n\nRaw results: `{raw}`.\n{END}"
    text = path.read_text() if path.exists() else f"# Benchmarks\n\n{START}\n{END}\n"
    if START in text and END in text:
        text = text[: text.index(START)] + block + text[text.index(END) + len(END):]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text)


__all__ = ["GOALS", "fusion_runs_table", "results_table", "text_transfer_table", "write_benchmarks_markdown"]


if __name__ == "__main__":
    import sys

    write_benchmarks_markdown(json.loads(Path(sys.argv[1]).read_text()), sys.argv[1])
