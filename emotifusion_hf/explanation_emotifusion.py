"""Why the model answered as it did: a heat map over the face and a weight per word of the dialogue.

Three methods, all batched, all working with either modality missing:

- `"attention"` reads what the model computes anyway (one forward with `output_attentions=True`): the face map is the
  spatial-attention weight of each cell of the last feature map, times how much the dialogue's tokens attend to that
  cell; a word's weight is how much the face cells attend to its tokens.
- `"gradient"` is gradient x input of the predicted emotion's fused logit, on the pixels and on the word embeddings
  (one forward and one backward).
- `"integrated_gradients"` averages that gradient along the straight path from a baseline to the input, `steps`
  forwards and backwards, so the attributions add up to the logit's change. The face's baseline is the face itself
  blurred (a box of 1/16 of the side, twice): it keeps the colours and the layout but loses the fine shapes an
  expression is made of, so the attributions fall on those shapes (brows, eyes, mouth) and not on whatever is far
  from the mean colour (dark hair, a bright background), as they do from a mean-colour baseline. The words' baseline
  is the zero embedding.

Remote code: travels with every checkpoint (imported by the pipeline only when an explanation is asked for).
"""

import threading

import torch
import torch.nn.functional as F


EXPLANATION_METHODS = ("attention", "gradient", "integrated_gradients")
INTEGRATED_GRADIENT_STEPS = 16


def resolve_method(model, method: str | None) -> str:
    """`method` checked; `None` picks `"attention"` where the model has cross-attention, else `"gradient"`."""
    has_cross_attention = getattr(model.config, "fusion", "attention") == "attention"
    if method is None:
        return "attention" if has_cross_attention else "gradient"
    if method not in EXPLANATION_METHODS:
        raise ValueError(f"`explanation_method` must be one of {list(EXPLANATION_METHODS)}, got {method!r}.")
    if method == "attention" and not has_cross_attention:
        raise ValueError(
            "`explanation_method='attention'` reads the cross-attention between words and face cells, which a model "
            "with `fusion='concat'` does not have; use 'gradient' or 'integrated_gradients'."
        )
    return method


def explain_batch(model, model_inputs: dict, method: str, steps: int = INTEGRATED_GRADIENT_STEPS):
    """Run `model` on one batch of `model_inputs` and explain each row's prediction.

    Returns `(outputs, explanations)`: the model's output for the batch (its logits as a plain forward gives them)
    and one dict per row, `{"face": (height, width) tensor or None, "token_weights": (sequence_length,) tensor or
    None}`, both non-negative and unnormalised. The face map is at the model's cell grid (`"attention"`) or pixel
    resolution (gradient methods); token weights cover every position of `input_ids` (special tokens included).
    """
    if method == "attention":
        outputs = model(**model_inputs, output_attentions=True)
        face_maps, token_maps = _attention_maps(outputs, model_inputs)
    else:
        outputs = model(**model_inputs)
        targets = outputs.logits.argmax(dim=-1)
        face_maps, token_maps = _gradient_maps(model, model_inputs, targets, method, steps)
    rows = outputs.logits.shape[0]
    image_present = _present(model_inputs, "image_present", "pixel_values", rows)
    text_present = _present(model_inputs, "text_present", "input_ids", rows)
    explanations = []
    for row in range(rows):
        face = face_maps[row].detach().float().cpu() if face_maps is not None and image_present[row] else None
        tokens = token_maps[row].detach().float().cpu() if token_maps is not None and text_present[row] else None
        explanations.append({"face": face, "token_weights": tokens})
    return outputs, explanations


def _present(model_inputs, flag: str, tensor: str, rows: int) -> list[bool]:
    if model_inputs.get(tensor) is None:
        return [False] * rows
    given = model_inputs.get(flag)
    return [True] * rows if given is None else [bool(value) for value in given]


def _attention_maps(outputs, model_inputs):
    face_maps = token_maps = None
    text_mask = model_inputs.get("attention_mask")
    if outputs.spatial_attention is not None:
        face_maps = outputs.spatial_attention.float()
        if outputs.text_to_image_attentions is not None and model_inputs.get("input_ids") is not None:
            # (batch, heads, tokens, cells) -> the share of attention each cell gets from the real tokens.
            received = outputs.text_to_image_attentions.float().mean(dim=1)
            mask = text_mask.to(received.dtype)[:, :, None] if text_mask is not None else torch.ones_like(received[..., :1])
            received = (received * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
            num_cells = received.shape[-1]
            # Uniform attention leaves the spatial map as it is; a cell the words look at twice as much doubles.
            text_present = model_inputs.get("text_present")
            scale = received.view_as(face_maps) * num_cells
            if text_present is not None:
                scale = torch.where(text_present.bool()[:, None, None], scale, torch.ones_like(scale))
            face_maps = face_maps * scale
    if outputs.image_to_text_attentions is not None and model_inputs.get("input_ids") is not None:
        # (batch, heads, cells, tokens) -> the mean attention each token gets from the face cells.
        token_maps = outputs.image_to_text_attentions.float().mean(dim=(1, 2))
    return face_maps, token_maps


def _gradient_maps(model, model_inputs, targets, method: str, steps: int):
    pixel_values = model_inputs.get("pixel_values")
    has_text = model_inputs.get("input_ids") is not None
    alphas = [1.0] if method == "gradient" else [(step + 0.5) / steps for step in range(steps)]
    pixel_total = pixel_baseline = None
    if pixel_values is not None:
        pixel_total = torch.zeros_like(pixel_values, dtype=torch.float32)
        # Gradient x input is the one-step path from zero (in normalised space: the training data's mean colour).
        if method == "gradient":
            pixel_baseline = torch.zeros_like(pixel_total)
        else:
            pixel_baseline = blurred_baseline(pixel_values.float())
    embedding_total, word_embeddings = None, None
    embedding_layer = model.get_input_embeddings()

    for alpha in alphas:
        captured = {}

        def scale_embeddings(module, args, output, alpha=alpha, owner=threading.get_ident()):
            if threading.get_ident() != owner:
                return None  # another thread's forward through the same model (a server answering requests)
            # The baseline is the zero embedding: the path runs from "no words" to the words given.
            scaled = output * alpha
            captured["embeddings"] = scaled
            captured["original"] = output.detach()
            return scaled

        handle = embedding_layer.register_forward_hook(scale_embeddings) if has_text else None
        try:
            with torch.enable_grad():
                inputs = dict(model_inputs)
                scaled_pixels = None
                if pixel_values is not None:
                    scaled_pixels = pixel_baseline + alpha * (pixel_values.detach().float() - pixel_baseline)
                    scaled_pixels.requires_grad_(True)
                    inputs["pixel_values"] = scaled_pixels.to(pixel_values.dtype)
                logits = model(**inputs).logits
                chosen = logits.gather(1, targets[:, None]).sum()
                wrt = [tensor for tensor in (scaled_pixels, captured.get("embeddings")) if tensor is not None]
                if not chosen.requires_grad:
                    raise ValueError("Gradient explanations need a model with float weights (not `quantize=True`).")
                gradients = torch.autograd.grad(chosen, wrt, allow_unused=True)
        finally:
            if handle is not None:
                handle.remove()
        gradients = list(gradients)
        if scaled_pixels is not None:
            pixel_gradient = gradients.pop(0)
            if pixel_gradient is not None:
                pixel_total += pixel_gradient.float()
        if has_text:
            embedding_gradient = gradients.pop(0)
            word_embeddings = captured["original"].float()
            if embedding_gradient is not None:
                embedding_total = embedding_gradient.float() if embedding_total is None else embedding_total + embedding_gradient.float()

    face_maps = token_maps = None
    if pixel_values is not None:
        attribution = (pixel_total / len(alphas) * (pixel_values.float() - pixel_baseline)).sum(dim=1).abs()
        face_maps = _smooth(attribution)
    if has_text:
        if embedding_total is None:
            token_maps = torch.zeros(word_embeddings.shape[:2])
        else:
            token_maps = (embedding_total / len(alphas) * word_embeddings).sum(dim=-1).abs()
    return face_maps, token_maps


def _box_mean(tensor: torch.Tensor) -> torch.Tensor:
    """`(batch, channels, height, width)` averaged over a square window of 1/16 of the side (odd, at least 3)."""
    kernel = max(3, (min(tensor.shape[-2:]) // 16) | 1)
    return F.avg_pool2d(tensor, kernel, stride=1, padding=kernel // 2, count_include_pad=False)


def _smooth(maps: torch.Tensor) -> torch.Tensor:
    """Pixel attributions averaged over a window of 1/16 of the side: single pixels' gradients are noisy."""
    return _box_mean(maps[:, None])[:, 0]


def blurred_baseline(pixel_values: torch.Tensor) -> torch.Tensor:
    """The integrated-gradients baseline of a face: the box mean twice (close to a Gaussian blur). On the demo model
    it takes about as much of the predicted emotion's logit away as a blank face (`bench.explanations`)."""
    return _box_mean(_box_mean(pixel_values))


def face_heat_map(face_map: torch.Tensor, height: int, width: int) -> list[list[float]]:
    """A face map resized (bilinear) to `height x width` and scaled to [0, 1] (min to max; a flat map is all 0)."""
    resized = F.interpolate(face_map[None, None].float(), size=(height, width), mode="bilinear", align_corners=False)[0, 0]
    low, high = resized.min(), resized.max()
    if not torch.isfinite(high - low) or float(high - low) <= 1e-12:
        return torch.zeros_like(resized).tolist()
    return ((resized - low) / (high - low)).clamp(0.0, 1.0).tolist()


def word_weights(tokenizer, text: str, input_ids, token_weights: torch.Tensor) -> list[list]:
    """`[[word, weight], ...]` over the words of `text` (as the tokenizer saw it): word pieces and punctuation
    written without a space between them are one word, special tokens are dropped, and a word's weight is the sum of
    its tokens' weights, scaled so the largest is 1.

    `input_ids` are the ids the model read for this row; `text` must tokenize to them (it is re-tokenized with
    character offsets, which a fast tokenizer gives; a slow one falls back to merging `##` pieces).
    """
    ids = [int(token) for token in input_ids]
    special = set(getattr(tokenizer, "all_special_ids", []) or [])
    words: list[list] = []
    offsets = None
    if getattr(tokenizer, "is_fast", False):
        encoded = tokenizer(text, truncation=True, max_length=len(ids), return_offsets_mapping=True)
        if encoded["input_ids"] == ids[: len(encoded["input_ids"])]:
            offsets = encoded["offset_mapping"]
    previous_end = None
    for position, token in enumerate(ids):
        if token in special or position >= len(token_weights):
            previous_end = None
            continue
        weight = float(token_weights[position])
        if offsets is not None and position < len(offsets):
            start, end = offsets[position]
            piece = text[start:end]
            joins = previous_end is not None and start == previous_end
            previous_end = end
        else:
            piece = tokenizer.convert_ids_to_tokens(token)
            joins = piece.startswith("##") and bool(words)
            piece = piece[2:] if piece.startswith("##") else piece
        if joins and words:
            words[-1][0] += piece
            words[-1][1] += weight
        else:
            words.append([piece, weight])
    largest = max((weight for _, weight in words), default=0.0)
    for word in words:
        word[1] = word[1] / largest if largest > 0 else 0.0
    return words


__all__ = [
    "EXPLANATION_METHODS",
    "blurred_baseline",
    "explain_batch",
    "face_heat_map",
    "resolve_method",
    "word_weights",
]
