"""`emotifusion export`: a checkpoint -> a folder that predicts with onnxruntime, numpy, Pillow and tokenizers only.

The folder holds `model.onnx` (and `model.int8.onnx` when quantised), `config.json` (what preprocessing and
postprocessing need: labels, temperature, image size and normalisation, tokenizer settings), `tokenizer.json` and
a model card. `emotifusion_hf.onnx_runtime.OnnxEmotionFusionPipeline` reads it.

The graph is exported with the dynamo-based exporter (`torch.onnx.export(..., dynamo=True)`), which traces the
model's own forward as it is: the TorchScript exporter cannot trace the presence-flag handling (a tensor combined
with a Python bool, a fill whose size is the traced batch size) without rewriting the model.
"""

import json
import os
import shutil
from pathlib import Path

from .labels import EMOTIONS
from .staging import staged_directory


ONNX_FORMAT = "emotifusion-onnx"  # the marker in config.json that tells an exported folder from a checkpoint
ONNX_FORMAT_VERSION = 1
FP32_GRAPH = "model.onnx"
INT8_GRAPH = "model.int8.onnx"
DEFAULT_OPSET = 18
GRAPH_INPUTS = ("pixel_values", "input_ids", "attention_mask", "token_type_ids", "image_present", "text_present")
GRAPH_OUTPUTS = ("logits", "image_logits", "text_logits")
# The 4th output of a checkpoint with valence/arousal heads (`affect_head`): `(batch, 2)`, tanh-bounded.
AFFECT_OUTPUT = "valence_arousal"
QUANTIZATION_MODES = ("int8",)
# The exported graph must reproduce the torch logits this closely on the example batch, or the export is refused.
EXPORT_TOLERANCE = 1e-3


def is_onnx_export(folder) -> bool:
    """Whether `folder` is a folder written by `export_onnx` (its config.json carries the ONNX format marker)."""
    config_path = Path(folder) / "config.json"
    if not config_path.is_file():
        return False
    try:
        return json.loads(config_path.read_text(encoding="utf-8")).get("format") == ONNX_FORMAT
    except (ValueError, UnicodeDecodeError, AttributeError):
        return False


def _check_output_folder(output_dir: Path, model_dir: Path) -> None:
    if output_dir.exists() and not output_dir.is_dir():
        raise NotADirectoryError(f"--output {str(output_dir)!r} is a file, not a folder.")
    if output_dir.resolve() == model_dir.resolve():
        raise ValueError("--output must differ from --model: the export would replace the checkpoint.")
    if output_dir.is_dir() and any(output_dir.iterdir()) and not is_onnx_export(output_dir):
        # The export replaces the folder as a whole; never sweep away a folder of someone else's files.
        raise FileExistsError(
            f"--output {str(output_dir)!r} exists and is not an earlier ONNX export; give a new or empty folder."
        )


def _graph_outputs(model) -> tuple[str, ...]:
    """The graph's output names: the three heads, then `valence_arousal` when the model has the affect heads."""
    return GRAPH_OUTPUTS + ((AFFECT_OUTPUT,) if getattr(model.config, "affect_head", False) else ())


def _exported_forward(model):
    """The classification model as a module that takes every input as a tensor and returns the three heads (and
    valence/arousal when the model has those heads)."""
    import torch

    with_affect = AFFECT_OUTPUT in _graph_outputs(model)

    class ExportedForward(torch.nn.Module):
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, pixel_values, input_ids, attention_mask, token_type_ids, image_present, text_present):
            outputs = self.model(
                pixel_values=pixel_values,
                input_ids=input_ids,
                attention_mask=attention_mask,
                token_type_ids=token_type_ids,
                image_present=image_present,
                text_present=text_present,
            )
            heads = (outputs.logits, outputs.image_logits, outputs.text_logits)
            return heads + (outputs.valence_arousal,) if with_affect else heads

    return ExportedForward(model).eval()


def _example_inputs(processor, image_size: dict):
    """A batch of two with different text lengths and mixed presence, so no size or flag is baked in."""
    import numpy as np
    import torch
    from PIL import Image

    rng = np.random.default_rng(0)
    faces = [Image.fromarray(rng.integers(0, 256, (image_size["height"], image_size["width"], 3), dtype=np.uint8))
             for _ in range(2)]
    batch = processor(images=faces, text=["Seriously?", ["You're late again.", "The bus never came, sorry."]],
                      return_tensors="pt", padding=True)
    token_type_ids = batch.get("token_type_ids", torch.zeros_like(batch["input_ids"]))
    return (batch["pixel_values"], batch["input_ids"], batch["attention_mask"], token_type_ids,
            torch.tensor([True, False]), torch.tensor([True, True]))


def _export_graph(model, example, path: Path, opset: int) -> str:
    import torch

    batch = torch.export.Dim("batch", min=1)
    sequence = torch.export.Dim("sequence", min=1)
    text_axes = {0: batch, 1: sequence}
    dynamic_shapes = {"pixel_values": {0: batch}, "input_ids": text_axes, "attention_mask": text_axes,
                      "token_type_ids": text_axes, "image_present": {0: batch}, "text_present": {0: batch}}
    torch.onnx.export(
        _exported_forward(model), example, str(path), dynamo=True, input_names=list(GRAPH_INPUTS),
        output_names=list(_graph_outputs(model)), dynamic_shapes=dynamic_shapes, opset_version=opset, external_data=False,
        verbose=False,
    )
    return f"torch.onnx.export(dynamo=True), torch {torch.__version__}"


def _max_difference(model, example, path: Path) -> float:
    """Largest absolute difference between the torch and onnxruntime outputs on `example`: the logits of all three
    heads, and valence/arousal when the graph has them."""
    import numpy as np
    import onnxruntime
    import torch

    with torch.no_grad():
        expected = _exported_forward(model)(*example)
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, {name: tensor.numpy() for name, tensor in zip(GRAPH_INPUTS, example)})
    if len(got) != len(expected):
        raise RuntimeError(f"The exported graph has {len(got)} outputs, the model {len(expected)}; the export is "
                           "refused.")
    return max(float(np.abs(ours - theirs.numpy()).max()) for ours, theirs in zip(got, expected))


def quantize_graph(fp32_path, int8_path) -> dict:
    """Write the int8 graph: dynamic quantisation (int8 weights per output channel, activations quantised at run
    time) of every MatMul and Gemm (BERT, the projections, the fusion) and of the embedding tables (Gather), which
    brings the default-size graph from 510 to 167 MB. The convolutions stay fp32. Chosen by measurement against
    dynamic int8 convolutions (slower than fp32 ones) and static QDQ convolutions calibrated on faces: bench/onnx.py,
    `int8_variants`, and BENCHMARKS.md. Returns what was done, for config.json."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    op_types = ["MatMul", "Gemm", "Gather"]
    quantize_dynamic(str(fp32_path), str(int8_path), weight_type=QuantType.QInt8, per_channel=True,
                     op_types_to_quantize=op_types)
    return {"method": "dynamic", "weights": "int8 per channel", "op_types": op_types}


def _model_card(model_dir: Path, labels: list[str], quantized: bool, affect: bool) -> str:
    """The checkpoint's card (when it has one) with an ONNX usage section added."""
    source = model_dir / "README.md"
    card = source.read_text(encoding="utf-8").rstrip() + "\n\n" if source.is_file() else (
        "# EmotiFusion (ONNX)\n\nEmotion recognition from a face image and a dialogue, exported to ONNX.\n\n")
    int8_line = (
        "\n`OnnxEmotionFusionPipeline(folder, quantized=True)` (or `emotifusion predict --quantize`) runs "
        f"`{INT8_GRAPH}`: int8 weights, faster on CPU, scores differ slightly from the fp32 graph.\n"
        if quantized else "")
    return card + (
        "## ONNX\n\n"
        "This folder was exported from the checkpoint the sections above describe; it holds no torch weights.\n\n"
        f"This folder is an ONNX export (`{FP32_GRAPH}`{', ' + INT8_GRAPH if quantized else ''}, `config.json`, "
        "`tokenizer.json`). It predicts without torch or transformers:\n\n"
        "```bash\n"
        'pip install "emotifusion-hf[onnx]"   # onnxruntime, numpy, Pillow, tokenizers\n'
        'emotifusion predict --model this-folder --image face.jpg --text "You ate my cake?"\n'
        "```\n\n"
        "```python\n"
        "from emotifusion_hf.onnx_runtime import OnnxEmotionFusionPipeline\n"
        "pipe = OnnxEmotionFusionPipeline(\"this-folder\")\n"
        "pipe({\"image\": \"face.jpg\", \"text\": [\"You're late.\", \"Sorry, the bus.\"]}, top_k=3)\n"
        "```\n\n"
        "Inputs and outputs are those of the `emotion-fusion` pipeline (either modality may be missing; "
        "`return_modalities=True` adds the image-only and text-only heads"
        + ("; `return_affect=True`, or `--affect`, adds `valence` and `arousal` in [-1, 1]" if affect else "")
        + f"). Labels: {', '.join(labels)}.\n" + int8_line
    )


def export_onnx(model_dir, output_dir, quantize: str | None = None, opset: int = DEFAULT_OPSET) -> dict:
    """Export the checkpoint in `model_dir` to `output_dir` (see the module docstring). Returns the exported
    folder's `config.json` content."""
    model_dir, output_dir = Path(model_dir), Path(output_dir)
    if not model_dir.is_dir():
        raise FileNotFoundError(f"Model folder not found: {str(model_dir)!r}")
    if not (model_dir / "config.json").is_file():
        raise FileNotFoundError(f"{str(model_dir)!r} is not a checkpoint folder: it has no config.json.")
    if is_onnx_export(model_dir):
        raise ValueError(f"{str(model_dir)!r} is already an ONNX export; export from the checkpoint folder.")
    if quantize is not None and quantize not in QUANTIZATION_MODES:
        raise ValueError(f"--quantize must be one of {list(QUANTIZATION_MODES)}, got {quantize!r}.")
    if isinstance(opset, bool) or not isinstance(opset, int) or not 17 <= opset <= 23:
        raise ValueError(f"--opset must be an integer from 17 to 23, got {opset!r}.")
    _check_output_folder(output_dir, model_dir)

    import onnx
    from transformers import AutoModel, AutoProcessor

    model = AutoModel.from_pretrained(model_dir).eval()
    processor = AutoProcessor.from_pretrained(model_dir)
    # Length buckets are a Python-level loop over the batch's own lengths: one padded pass traces into the graph.
    model.emotifusion.text_model.inference_bucket_size = 0
    image_processor, tokenizer = processor.image_processor, processor.tokenizer
    example = _example_inputs(processor, image_processor.size)

    with staged_directory(output_dir) as staging:
        exporter = _export_graph(model, example, staging / FP32_GRAPH, opset)
        onnx.checker.check_model(str(staging / FP32_GRAPH), full_check=True)
        difference = _max_difference(model, example, staging / FP32_GRAPH)
        if not difference <= EXPORT_TOLERANCE:
            raise RuntimeError(
                f"The exported graph's outputs differ from the model's by {difference:.3g} (tolerance "
                f"{EXPORT_TOLERANCE}); the export is refused."
            )
        graphs = {"fp32": FP32_GRAPH}
        quantization = None
        if quantize == "int8":
            quantization = quantize_graph(staging / FP32_GRAPH, staging / INT8_GRAPH)
            onnx.checker.check_model(str(staging / INT8_GRAPH))
            graphs["int8"] = INT8_GRAPH
        tokenizer.backend_tokenizer.save(str(staging / "tokenizer.json"))

        id2label = {int(index): label for index, label in model.config.id2label.items()}
        config = {
            "format": ONNX_FORMAT,
            "format_version": ONNX_FORMAT_VERSION,
            "labels": [id2label[index] for index in range(len(id2label))],
            "temperature": float(getattr(model.config, "temperature", 1.0) or 1.0),
            "graphs": graphs,
            "inputs": list(GRAPH_INPUTS),
            "outputs": list(_graph_outputs(model)),
            "affect_head": AFFECT_OUTPUT in _graph_outputs(model),
            "opset": opset,
            "exporter": exporter,
            "export_max_abs_logit_difference": difference,
            "quantization": quantization,
            "image_processor": {
                "size": dict(image_processor.size),
                "resample": int(image_processor.resample),
                "do_resize": bool(image_processor.do_resize),
                "do_rescale": bool(image_processor.do_rescale),
                "rescale_factor": float(image_processor.rescale_factor),
                "do_normalize": bool(image_processor.do_normalize),
                "image_mean": [float(value) for value in image_processor.image_mean],
                "image_std": [float(value) for value in image_processor.image_std],
                "face_margin": float(image_processor.face_margin),
            },
            "tokenizer": {
                "file": "tokenizer.json",
                "max_length": int(processor.max_length),
                "sep_token": tokenizer.sep_token,
                "pad_token": tokenizer.pad_token,
                "pad_token_id": int(tokenizer.pad_token_id),
                "padding_side": tokenizer.padding_side,
                "truncation_side": tokenizer.truncation_side,
                "model_max_length": int(min(tokenizer.model_max_length, 1_000_000)),
            },
            "source": {"model_type": model.config.model_type, "fusion": model.config.fusion},
        }
        if config["labels"] != list(EMOTIONS):
            raise ValueError(f"The checkpoint's labels {config['labels']} are not the eight emotions {list(EMOTIONS)}.")
        (staging / "config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
        (staging / "README.md").write_text(_model_card(model_dir, config["labels"], quantize is not None,
                                                       config["affect_head"]),
                                           encoding="utf-8")
        for name in ("eval_report.json",):
            if (model_dir / name).is_file():
                shutil.copyfile(model_dir / name, staging / name)
    return config


def run_export(args) -> int:
    config = export_onnx(args.model, args.output, quantize=args.quantize, opset=args.opset)
    sizes = ", ".join(f"{name} {os.path.getsize(os.path.join(args.output, name)) / 1e6:.1f} MB"
                      for name in config["graphs"].values())
    print(f"exported {args.model} -> {args.output} ({sizes}; max logit difference "
          f"{config['export_max_abs_logit_difference']:.2g})")
    return 0


__all__ = ["AFFECT_OUTPUT", "FP32_GRAPH", "INT8_GRAPH", "ONNX_FORMAT", "export_onnx", "is_onnx_export", "quantize_graph", "run_export"]
