"""The "emotion-fusion" pipeline: a face image and/or a dialogue in, a distribution over eight emotions out."""

import torch
from transformers import Pipeline

from .inputs import (
    check_pipeline_input,
    check_positive_int,
    detect_faces,
    detect_largest_face,
    face_crop_box,
    first_unloadable,
    load_image,
    pipeline_samples,
)


EMOTION_FUSION_TASK = "emotion-fusion"
# What `config.json` of every saved checkpoint declares, so `pipeline(model=dir, trust_remote_code=True)` finds us.
CUSTOM_PIPELINE_ENTRY = {
    "impl": "pipeline_emotifusion.EmotionFusionPipeline",
    "pt": ["AutoModel"],
    "tf": [],
    "type": "multimodal",
}


class EmotionFusionPipeline(Pipeline):
    r"""
    Emotion recognition from a face image and/or a dialogue.

    ```python
    >>> from transformers import pipeline
    >>> pipe = pipeline("emotion-fusion", model="you/emotifusion-base", trust_remote_code=True)
    >>> pipe({"image": "face.jpg", "text": "Seriously? You ate my cake?"})
    [{'label': 'anger', 'score': 0.71}, {'label': 'disgust', 'score': 0.12}, ...]
    ```

    Inputs: `pipe({"image": ..., "text": ...})`, `pipe(image=..., text=...)`, or a list of such dicts (processed
    `batch_size` at a time: one processor call and one forward per batch). An image is a file path, bytes, a PIL
    image, a numpy array or a tensor; a text is a string or a list of turns. Either may be `None`, not both.
    As in transformers' own pipelines, a bare input is one modality: a string (`pipe("I am so happy")`) is a text
    alone, a PIL image, numpy array or tensor an image alone (an image file path goes in a dict or `image=`, and a
    dialogue as `{"text": [turns]}`, since a list is a batch).

    Output per input: all eight emotions as `{"label", "score"}`, sorted by score, summing to 1, calibrated with the
    temperature stored in the config (`top_k` keeps the best k). With `return_modalities=True` or
    `detect_face=True` each result is a dict: `{"scores": [...], "image_only": [...] | None,
    "text_only": [...] | None, "face_found": bool | None}`. `return_affect=True` (a model with valence/arousal
    heads, `config.affect_head`) gives the dict form too, with `"valence"` and `"arousal"`: floats in [-1, 1] from the
    fused head.

    `return_explanation=True` adds `"explanation": {"face": height x width list of floats in [0, 1] over the face
    (after any crop) or None, "face_box": [x, y, width, height] of that crop or None, "tokens": [[word, weight], ...]
    (weights in [0, 1], the largest 1; [] without text), "method": str}`; `explanation_method` is `"attention"`
    (the model's own spatial and cross-attention: the default where it has them), `"gradient"` (gradient x input)
    or `"integrated_gradients"`. Without it nothing extra is computed.

    `quantize=True` (a constructor argument: `pipeline(..., quantize=True)`) runs the linear layers in int8 on CPU
    (bfloat16 on an accelerator): faster, and it changes some scores and predictions (see BENCHMARKS.md). Adding
    `calibration_images=[...]` (a few dozen images like the ones to be scored) quantises the convolutions too, which
    roughly halves the visual stream's time on CPU.
    """

    _load_processor = True
    _load_tokenizer = False
    _load_image_processor = False
    _load_feature_extractor = False

    def __init__(self, *args, quantize: bool = False, calibration_images=None, **kwargs):
        super().__init__(*args, **kwargs)
        if self.processor is None:
            raise ValueError("The emotion-fusion pipeline needs the checkpoint's processor (processor_config.json).")
        self.model.eval()
        # Convolutions run faster on channels-last tensors; weights convert once here, inputs per batch.
        self.model.to(memory_format=torch.channels_last)
        if calibration_images is not None and not (quantize and self.device.type == "cpu"):
            raise ValueError("`calibration_images` calibrates int8 convolutions: pass it with `quantize=True` on CPU.")
        if quantize:
            calibration_pixel_values = None
            if calibration_images is not None:
                calibration_pixel_values = self._calibration_pixel_values(calibration_images)
            from .quantization_emotifusion import quantize_for_inference  # only when asked: it loads BERT internals

            self.model = quantize_for_inference(self.model, self.device, calibration_pixel_values)

    def _calibration_pixel_values(self, images) -> torch.Tensor:
        if isinstance(images, (str, bytes)) or not hasattr(images, "__len__") or len(images) == 0:
            raise ValueError(
                "`calibration_images` must be a non-empty list of images (paths, PIL images, arrays), got "
                f"{images!r:.80}."
            )
        # The same preprocessing as the images that will be scored, so the observed activation ranges match theirs.
        pixel_values = self.processor.image_processor(images=list(images), return_tensors="pt")["pixel_values"]
        return pixel_values.contiguous(memory_format=torch.channels_last)

    def _sanitize_parameters(self, top_k=None, return_modalities=None, detect_face=None, face_margin=None,
                             return_affect=None, return_explanation=None, explanation_method=None, **kwargs):
        if kwargs:
            raise TypeError(f"Unknown emotion-fusion pipeline argument(s): {sorted(kwargs)}.")
        preprocess_params, forward_params, postprocess_params = {}, {}, {}
        if explanation_method is not None and not return_explanation:
            raise ValueError("`explanation_method` chooses how explanations are made: pass it with `return_explanation=True`.")
        if return_explanation:
            from .explanation_emotifusion import resolve_method  # only when asked for

            preprocess_params["return_explanation"] = True
            forward_params["explanation_method"] = resolve_method(self.model, explanation_method)
            postprocess_params["return_explanation"] = True
        if detect_face is not None:
            preprocess_params["detect_face"] = bool(detect_face)
            postprocess_params["detect_face"] = bool(detect_face)
        if face_margin is not None:
            if isinstance(face_margin, bool) or not isinstance(face_margin, (int, float)):
                raise TypeError(f"`face_margin` must be a number, got {type(face_margin).__name__}.")
            if not 0 <= face_margin < float("inf"):  # NaN fails the comparison too
                raise ValueError(f"`face_margin` must be a finite number >= 0, got {face_margin!r}.")
            preprocess_params["face_margin"] = float(face_margin)
        if top_k is not None:
            postprocess_params["top_k"] = check_positive_int(top_k, "top_k")
        if return_modalities is not None:
            postprocess_params["return_modalities"] = bool(return_modalities)
        if return_affect:
            if not getattr(self.model.config, "affect_head", False):
                raise ValueError("`return_affect=True` needs a model with valence/arousal heads; this checkpoint has "
                                 "none (`affect_head` is off in its config).")
            postprocess_params["return_affect"] = True
        return preprocess_params, forward_params, postprocess_params

    def __call__(self, inputs=None, *, image=None, text=None, batch_size=None, **kwargs):
        samples, single = pipeline_samples(inputs, image=image, text=text)
        if not samples:
            return []

        preprocess_params, forward_params, postprocess_params = self._sanitize_parameters(**kwargs)
        preprocess_params = {**self._preprocess_params, **preprocess_params}
        postprocess_params = {**self._postprocess_params, **postprocess_params}
        if batch_size is None:
            batch_size = self._batch_size or 1
        check_positive_int(batch_size, "batch_size")

        results = []
        for start in range(0, len(samples), batch_size):
            chunk = samples[start : start + batch_size]
            model_inputs = self.preprocess(chunk, first_index=start, **preprocess_params)
            model_outputs = self.forward(model_inputs, **forward_params)
            results.extend(self.postprocess(model_outputs, **postprocess_params))
        return results[0] if single else results

    @staticmethod
    def _check_input(item, index: int) -> dict:
        return check_pipeline_input(item, index)

    def preprocess(self, samples, first_index: int = 0, detect_face: bool = False, face_margin: float = 0.25,
                   return_explanation: bool = False):
        """A list of checked samples -> one batch of model inputs (one processor call for the whole batch)."""
        if isinstance(samples, dict):
            samples = [self._check_input(samples, first_index)]
        image_present = [sample["image"] is not None for sample in samples]
        text_present = [sample["text"] is not None for sample in samples]
        model_inputs = {}
        face_found = [None] * len(samples)
        # With explanations: which pixels of the input each face map covers, (x, y, width, height) per sample.
        face_regions = [None] * len(samples)

        if any(image_present):
            images, face_boxes = [], []
            placeholder = None
            for offset, sample in enumerate(samples):
                if sample["image"] is None:
                    placeholder = placeholder or _blank_image()
                    images.append(placeholder)
                    face_boxes.append(None)
                    continue
                try:
                    image = load_image(sample["image"]) if detect_face or return_explanation else sample["image"]
                    face_box = None
                    if detect_face:
                        face_box = detect_largest_face(image, face_margin)
                        face_found[offset] = face_box is not None
                    if return_explanation:
                        face_regions[offset] = _face_region(image, face_box, self.processor.image_processor)
                except (OSError, ValueError, TypeError) as error:
                    raise type(error)(f"Input {first_index + offset} image: {error}") from None
                images.append(image)
                face_boxes.append(face_box)
            try:
                features = self.processor.image_processor(images, face_boxes=face_boxes, return_tensors="pt")
            except (OSError, ValueError, TypeError) as error:
                culprit = first_unloadable(samples)
                if culprit is not None:
                    offset, culprit_error = culprit
                    raise type(culprit_error)(f"Input {first_index + offset} image: {culprit_error}") from None
                raise type(error)(f"Input batch starting at {first_index}: {error}") from None
            model_inputs.update(features)
            model_inputs["image_present"] = torch.tensor(image_present)

        if any(text_present):
            # A sample without text still needs a row in the batch; it is masked out by `text_present`.
            texts = [sample["text"] if sample["text"] is not None else "." for sample in samples]
            model_inputs.update(self.processor(text=texts, return_tensors="pt"))
            model_inputs["text_present"] = torch.tensor(text_present)

        model_inputs["face_found"] = face_found
        if return_explanation:
            joined = [self.processor.join_turns(sample["text"]) if sample["text"] is not None else None for sample in samples]
            model_inputs["explanation_context"] = {"face_regions": face_regions, "texts": joined}
        return model_inputs

    def _forward(self, model_inputs, explanation_method: str | None = None):
        face_found = model_inputs.pop("face_found")
        explanation_context = model_inputs.pop("explanation_context", None)
        explanations = None
        if explanation_method is not None:
            from .explanation_emotifusion import explain_batch

            outputs, explanations = explain_batch(self.model, model_inputs, explanation_method)
            for explanation, region, text in zip(
                explanations, explanation_context["face_regions"], explanation_context["texts"]
            ):
                explanation.update(method=explanation_method, face_region=region, text=text)
        else:
            outputs = self.model(**model_inputs)
        return {
            "logits": outputs.logits,
            "image_logits": outputs.image_logits,
            "text_logits": outputs.text_logits,
            "valence_arousal": getattr(outputs, "valence_arousal", None),
            "image_present": model_inputs.get("image_present"),
            "text_present": model_inputs.get("text_present"),
            "input_ids": model_inputs.get("input_ids") if explanations is not None else None,
            "face_found": face_found,
            "explanations": explanations,
        }

    def postprocess(self, model_outputs, top_k: int | None = None, return_modalities: bool = False, detect_face=False,
                    return_affect: bool = False, return_explanation: bool = False):
        id2label = self.model.config.id2label
        finite = torch.isfinite(model_outputs["logits"]).all(dim=-1)
        if not finite.all():
            # Only broken weights (or an overflow on the reduced-precision path) get here; never return NaN scores.
            rows = [int(row) for row in torch.nonzero(~finite).flatten()]
            raise ValueError(
                f"The model produced non-finite logits for batch row(s) {rows}; its weights may be corrupt "
                "(or, with `quantize=True` on an accelerator, out of bfloat16 range)."
            )
        temperature = float(getattr(self.model.config, "temperature", 1.0) or 1.0)
        fused = torch.softmax(model_outputs["logits"].float() / temperature, dim=-1).cpu()
        image_only = _softmax_or_none(model_outputs["image_logits"])
        text_only = _softmax_or_none(model_outputs["text_logits"])

        results = []
        for row in range(fused.shape[0]):
            scores = _ranked(fused[row], id2label, top_k)
            if not (return_modalities or detect_face or return_affect or return_explanation):
                results.append(scores)
                continue
            result = {"scores": scores}
            if return_modalities:
                result["image_only"] = _modality_scores(image_only, model_outputs["image_present"], row, id2label, top_k)
                result["text_only"] = _modality_scores(text_only, model_outputs["text_present"], row, id2label, top_k)
            if detect_face:
                result["face_found"] = model_outputs["face_found"][row]
            if return_affect:
                # tanh-bounded by the model; the clamp only guards the reduced-precision paths.
                valence, arousal = model_outputs["valence_arousal"][row].float().clamp(-1.0, 1.0).tolist()
                result["valence"], result["arousal"] = valence, arousal
            if return_explanation:
                result["explanation"] = self._explanation(model_outputs, row)
            results.append(result)
        return results

    def _explanation(self, model_outputs, row: int) -> dict:
        from .explanation_emotifusion import face_heat_map, word_weights

        raw = model_outputs["explanations"][row]
        face = face_box = None
        if raw["face"] is not None and raw["face_region"] is not None:
            x, y, width, height = raw["face_region"]["box"]
            face = face_heat_map(raw["face"], height, width)
            face_box = [x, y, width, height] if raw["face_region"]["cropped"] else None
        tokens = []
        if raw["token_weights"] is not None and raw["text"] is not None:
            tokens = word_weights(self.processor.tokenizer, raw["text"], model_outputs["input_ids"][row], raw["token_weights"])
        return {"face": face, "face_box": face_box, "tokens": tokens, "method": raw["method"]}


def _face_region(image, face_box, image_processor) -> dict:
    """The pixels of `image` the model sees: the face crop the image processor cuts, or the whole image."""
    if face_box is None:
        return {"box": (0, 0, image.width, image.height), "cropped": False}
    left, top, right, bottom = face_crop_box(image, face_box, image_processor.face_margin)
    return {"box": (left, top, right - left, bottom - top), "cropped": True}


def _blank_image():
    from PIL import Image

    return Image.new("RGB", (8, 8), (127, 127, 127))


def _softmax_or_none(logits):
    return torch.softmax(logits.float(), dim=-1).cpu() if logits is not None else None


def _ranked(probabilities, id2label, top_k):
    order = torch.argsort(probabilities, descending=True)[:top_k]
    return [{"label": id2label[int(index)], "score": float(probabilities[index])} for index in order]


def _modality_scores(probabilities, present, row, id2label, top_k):
    if probabilities is None or (present is not None and not bool(present[row])):
        return None
    return _ranked(probabilities[row], id2label, top_k)


__all__ = [
    "CUSTOM_PIPELINE_ENTRY",
    "EMOTION_FUSION_TASK",
    "EmotionFusionPipeline",
    "detect_faces",
    "detect_largest_face",
]
