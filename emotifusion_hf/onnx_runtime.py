"""The emotion-fusion pipeline on an exported ONNX folder, without torch or transformers.

Imports onnxruntime, numpy, Pillow and tokenizers only (plus the torch-free `inputs` and `onnx_export` modules of
this package), so a deployment needs `pip install "emotifusion-hf[onnx]"` and nothing else:

```python
from emotifusion_hf.onnx_runtime import OnnxEmotionFusionPipeline
pipe = OnnxEmotionFusionPipeline("onnx-folder")             # written by `emotifusion export`
pipe({"image": "face.jpg", "text": "Seriously? You ate my cake?"})
```

Inputs, outputs and errors are those of `EmotionFusionPipeline`; preprocessing reproduces the checkpoint's image
processor and tokenizer (the same pixel arrays and token ids).
"""

import json
from pathlib import Path

import numpy as np
import onnxruntime
from PIL import Image
from tokenizers import Tokenizer

from .inputs import (
    check_positive_int,
    detect_largest_face,
    join_turns,
    load_image,
    normalize_pixel_batch,
    pipeline_samples,
    prepare_image_array,
)
from .onnx_export import AFFECT_OUTPUT, GRAPH_INPUTS, ONNX_FORMAT, ONNX_FORMAT_VERSION


# The text fed for a sample without one: any text works, its row is masked out by `text_present`.
_PLACEHOLDER_TEXT = "."


class OnnxEmotionFusionPipeline:
    """The `emotion-fusion` pipeline over a folder written by `emotifusion export`.

    Args:
        folder: the exported folder (`model.onnx`, `config.json`, `tokenizer.json`).
        quantized: run `model.int8.onnx` (exported with `--quantize int8`) instead of the fp32 graph.
        batch_size: default number of samples per forward for list inputs (default 1, as the torch pipeline).
        providers: onnxruntime execution providers (default: CPU).
        session_options: an `onnxruntime.SessionOptions` (threads, graph optimisation level, ...).

    Call it as the torch pipeline: `pipe({"image": ..., "text": ...})`, `pipe(image=..., text=...)` or
    `pipe([...], batch_size=32)`, with `top_k`, `return_modalities`, `detect_face`, `face_margin` and, for a
    folder exported from a checkpoint with valence/arousal heads (`"affect_head": true` in its config.json),
    `return_affect`.
    """

    def __init__(self, folder, quantized: bool = False, batch_size: int | None = None, providers=None,
                 session_options=None):
        self.folder = Path(folder)
        config_path = self.folder / "config.json"
        if not self.folder.is_dir():
            raise FileNotFoundError(f"ONNX folder not found: {str(self.folder)!r}")
        if not config_path.is_file():
            raise FileNotFoundError(f"{str(self.folder)!r} is not an ONNX export: it has no config.json.")
        try:
            config = json.loads(config_path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as error:
            raise ValueError(f"{str(config_path)!r} is not valid JSON: {error}") from None
        if not isinstance(config, dict) or config.get("format") != ONNX_FORMAT:
            raise ValueError(
                f"{str(self.folder)!r} is not an ONNX export (its config.json lacks \"format\": \"{ONNX_FORMAT}\"); "
                "write one with `emotifusion export --model CHECKPOINT --output FOLDER`."
            )
        if config.get("format_version", 0) > ONNX_FORMAT_VERSION:
            raise ValueError(
                f"{str(self.folder)!r} was exported in format version {config['format_version']}; this runtime reads "
                f"up to {ONNX_FORMAT_VERSION}: upgrade emotifusion-hf."
            )
        self.config = config
        graph = config["graphs"].get("int8" if quantized else "fp32")
        if graph is None:
            raise ValueError(f"{str(self.folder)!r} has no int8 graph: export it with `--quantize int8`.")
        if batch_size is not None:
            check_positive_int(batch_size, "batch_size")
        self._batch_size = batch_size or 1
        self.quantized = quantized
        self.session = onnxruntime.InferenceSession(
            str(self.folder / graph), sess_options=session_options, providers=providers or ["CPUExecutionProvider"]
        )
        # The graph's own output names: exports of checkpoints with valence/arousal heads have a 4th output.
        self._output_names = [output.name for output in self.session.get_outputs()]
        self.has_affect = AFFECT_OUTPUT in self._output_names
        self.id2label = dict(enumerate(config["labels"]))
        self.temperature = float(config.get("temperature") or 1.0)

        image_config = config["image_processor"]
        self._image_target = (image_config["size"]["width"], image_config["size"]["height"])
        self._image_config = image_config

        text_config = config["tokenizer"]
        self.tokenizer = Tokenizer.from_file(str(self.folder / text_config["file"]))
        self.tokenizer.enable_truncation(
            max_length=text_config["max_length"], strategy="longest_first",
            direction=text_config.get("truncation_side", "right"),
        )
        self.tokenizer.enable_padding(
            direction=text_config.get("padding_side", "right"), pad_id=text_config["pad_token_id"],
            pad_token=text_config["pad_token"],
        )
        self._sep_token = text_config.get("sep_token")

    # -- inputs -> arrays, exactly as the checkpoint's processor makes them --------------------------------------

    def pixel_values(self, images, face_boxes=None) -> np.ndarray:
        """Images (paths, bytes, PIL, numpy) -> `(batch, 3, height, width)` float32, as the image processor."""
        face_boxes = face_boxes if face_boxes is not None else [None] * len(images)
        arrays = [
            prepare_image_array(image, box, self._image_target, self._image_config["resample"],
                                self._image_config["face_margin"], self._image_config["do_resize"])
            for image, box in zip(images, face_boxes)
        ]
        return self._normalize(arrays)

    def _normalize(self, arrays) -> np.ndarray:
        config = self._image_config
        return normalize_pixel_batch(np.stack(arrays), config["do_rescale"], config["rescale_factor"],
                                     config["do_normalize"], config["image_mean"], config["image_std"])

    def text_inputs(self, texts) -> dict[str, np.ndarray]:
        """Checked samples (strings or lists of turns) -> `input_ids`, `attention_mask`, `token_type_ids` (int64),
        padded to the longest and truncated to `max_length`, as the processor."""
        encodings = self.tokenizer.encode_batch([join_turns(sample, self._sep_token) for sample in texts])
        return {
            "input_ids": np.asarray([encoding.ids for encoding in encodings], dtype=np.int64),
            "attention_mask": np.asarray([encoding.attention_mask for encoding in encodings], dtype=np.int64),
            "token_type_ids": np.asarray([encoding.type_ids for encoding in encodings], dtype=np.int64),
        }

    # -- the pipeline -------------------------------------------------------------------------------------------

    def __call__(self, inputs=None, *, image=None, text=None, batch_size=None, top_k=None, return_modalities=None,
                 detect_face=None, face_margin=None, return_affect=None, **kwargs):
        samples, single = pipeline_samples(inputs, image=image, text=text)
        if not samples:
            return []
        if kwargs:
            raise TypeError(f"Unknown emotion-fusion pipeline argument(s): {sorted(kwargs)}.")
        if face_margin is not None:
            if isinstance(face_margin, bool) or not isinstance(face_margin, (int, float)):
                raise TypeError(f"`face_margin` must be a number, got {type(face_margin).__name__}.")
            if not 0 <= face_margin < float("inf"):  # NaN fails the comparison too
                raise ValueError(f"`face_margin` must be a finite number >= 0, got {face_margin!r}.")
        if top_k is not None:
            check_positive_int(top_k, "top_k")
        if return_affect and not self.has_affect:
            raise ValueError("`return_affect=True` needs a model with valence/arousal heads; this checkpoint has "
                             "none (`affect_head` is off in its config).")
        batch_size = check_positive_int(self._batch_size if batch_size is None else batch_size, "batch_size")
        detect_face = bool(detect_face)
        margin = 0.25 if face_margin is None else float(face_margin)

        results = []
        for start in range(0, len(samples), batch_size):
            chunk = samples[start : start + batch_size]
            feeds, face_found = self.preprocess(chunk, start, detect_face, margin)
            outputs = dict(zip(self._output_names, self.session.run(None, feeds)))
            results.extend(self.postprocess(outputs, feeds, face_found, top_k, bool(return_modalities), detect_face,
                                            bool(return_affect)))
        return results[0] if single else results

    def preprocess(self, samples, first_index: int = 0, detect_face: bool = False, face_margin: float = 0.25):
        """Checked samples -> `(graph feeds, face_found per sample)`."""
        count = len(samples)
        image_present = np.asarray([sample["image"] is not None for sample in samples])
        text_present = np.asarray([sample["text"] is not None for sample in samples])
        face_found = [None] * count
        width, height = self._image_target
        if image_present.any():
            arrays, placeholder = [], None
            for offset, sample in enumerate(samples):
                if sample["image"] is None:
                    if placeholder is None:  # the torch pipeline's stand-in; its row is masked out
                        placeholder = prepare_image_array(Image.new("RGB", (8, 8), (127, 127, 127)), None,
                                                          self._image_target, self._image_config["resample"], 0.0,
                                                          self._image_config["do_resize"])
                    arrays.append(placeholder)
                    continue
                try:
                    source, face_box = sample["image"], None
                    if detect_face:
                        source = load_image(source)
                        face_box = detect_largest_face(source, face_margin)
                        face_found[offset] = face_box is not None
                    arrays.append(prepare_image_array(
                        source, face_box, self._image_target, self._image_config["resample"],
                        self._image_config["face_margin"], self._image_config["do_resize"]))
                except (OSError, ValueError, TypeError) as error:
                    raise type(error)(f"Input {first_index + offset} image: {error}") from None
            shapes = {array.shape for array in arrays}
            if len(shapes) > 1:
                raise ValueError(
                    f"Input batch starting at {first_index}: Images have different sizes {sorted(shapes)}; keep "
                    "`do_resize=True` to batch them."
                )
            pixel_values = self._normalize(arrays)
        else:
            pixel_values = np.zeros((count, 3, height, width), dtype=np.float32)  # masked out by image_present
        texts = [sample["text"] if sample["text"] is not None else _PLACEHOLDER_TEXT for sample in samples]
        feeds = {"pixel_values": pixel_values, **self.text_inputs(texts), "image_present": image_present,
                 "text_present": text_present}
        return {name: feeds[name] for name in GRAPH_INPUTS}, face_found

    def postprocess(self, outputs, feeds, face_found, top_k=None, return_modalities=False, detect_face=False,
                    return_affect=False):
        logits = outputs["logits"]
        finite = np.isfinite(logits).all(axis=-1)
        if not finite.all():
            rows = [int(row) for row in np.flatnonzero(~finite)]
            raise ValueError(
                f"The model produced non-finite logits for batch row(s) {rows}; its weights may be corrupt."
            )
        fused = _softmax(logits / self.temperature)
        image_only, text_only = _softmax(outputs["image_logits"]), _softmax(outputs["text_logits"])
        results = []
        for row in range(fused.shape[0]):
            scores = self._ranked(fused[row], top_k)
            if not (return_modalities or detect_face or return_affect):
                results.append(scores)
                continue
            result = {"scores": scores}
            if return_modalities:
                result["image_only"] = self._ranked(image_only[row], top_k) if feeds["image_present"][row] else None
                result["text_only"] = self._ranked(text_only[row], top_k) if feeds["text_present"][row] else None
            if detect_face:
                result["face_found"] = face_found[row]
            if return_affect:
                # tanh-bounded in the graph; clamped as the torch pipeline does, for the same answers.
                valence, arousal = np.clip(outputs[AFFECT_OUTPUT][row].astype(np.float32), -1.0, 1.0).tolist()
                result["valence"], result["arousal"] = valence, arousal
            results.append(result)
        return results

    def _ranked(self, probabilities, top_k):
        order = np.argsort(-probabilities, kind="stable")[:top_k]
        return [{"label": self.id2label[int(index)], "score": float(probabilities[index])} for index in order]


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits.astype(np.float32) - logits.max(axis=-1, keepdims=True)
    exponentials = np.exp(shifted)
    return exponentials / exponentials.sum(axis=-1, keepdims=True)


__all__ = ["OnnxEmotionFusionPipeline"]
