"""Showing an explanation: the face under its heat map and the dialogue with its words highlighted, in one PNG.

The explanation itself comes from the pipeline (`pipe(..., return_explanation=True)`, computed by
`explanation_emotifusion`); this module only draws it, with Pillow and a matplotlib colour map.
"""

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .image_processing_emotifusion import load_image


FACE_PANEL = 288
TEXT_PANEL = 420
MARGIN = 16
HEAT_OPACITY = 0.5


def explained_face(image, explanation: dict) -> Image.Image | None:
    """The face the explanation covers (the crop of `face_box`, or the whole image) under its heat map; `None` when
    the explanation has no face map."""
    heat = explanation.get("face")
    if heat is None or image is None:
        return None
    face = load_image(image)
    box = explanation.get("face_box")
    if box is not None:
        x, y, width, height = box
        face = face.crop((x, y, x + width, y + height))
    heat = np.asarray(heat, dtype=np.float32)
    if heat.shape != (face.height, face.width):
        raise ValueError(f"The face map is {heat.shape[0]}x{heat.shape[1]} but the face is {face.height}x{face.width}.")
    return overlay_heat_map(face, heat)


def overlay_heat_map(face: Image.Image, heat: np.ndarray, opacity: float = HEAT_OPACITY) -> Image.Image:
    """`face` blended with `heat` (values in [0, 1], the face's height x width) through the `inferno` colour map."""
    from matplotlib import colormaps

    colours = colormaps["inferno"](np.clip(heat, 0.0, 1.0))[..., :3]
    # Cold regions stay mostly visible; hot ones take the colour, so the face still reads under the map.
    alpha = opacity * (0.35 + 0.65 * np.clip(heat, 0.0, 1.0))[..., None]
    blended = (1.0 - alpha) * (np.asarray(face.convert("RGB"), dtype=np.float32) / 255.0) + alpha * colours
    return Image.fromarray((blended * 255.0).round().astype(np.uint8))


def highlighted_words(tokens: list) -> list[tuple[str, float | None]]:
    """`[[word, weight], ...]` as `gradio.HighlightedText` reads it: the words with their weights, spaces between."""
    spans = []
    for index, (word, weight) in enumerate(tokens):
        if index:
            spans.append((" ", None))
        spans.append((word, round(float(weight), 3)))
    return spans


def render_explanation(result: dict, image=None, path=None) -> Image.Image:
    """One picture of a pipeline result made with `return_explanation=True`: the face (`image`, as given to the
    pipeline) under its heat map beside the dialogue's words shaded by weight, headed by the top emotions.
    Saved to `path` (PNG) when given; returned either way."""
    if not isinstance(result, dict) or "explanation" not in result:
        raise ValueError("render_explanation needs a pipeline result made with `return_explanation=True`.")
    explanation = result["explanation"]
    font = _font(15)
    small = _font(12)
    text_lines = _layout_words(explanation.get("tokens") or [], font, TEXT_PANEL - 2 * MARGIN)
    line_height = 24
    height = max(FACE_PANEL + 3 * MARGIN + 20, 2 * MARGIN + 64 + line_height * max(len(text_lines), 1))
    canvas = Image.new("RGB", (FACE_PANEL + TEXT_PANEL + 2 * MARGIN, height), "white")
    draw = ImageDraw.Draw(canvas)

    face = explained_face(image, explanation)
    if face is not None:
        face.thumbnail((FACE_PANEL, FACE_PANEL), Image.Resampling.BILINEAR)
        if face.width < FACE_PANEL // 2:  # tiny faces are enlarged so the map can be seen
            scale = FACE_PANEL / max(face.size)
            face = face.resize((round(face.width * scale), round(face.height * scale)), Image.Resampling.BILINEAR)
        canvas.paste(face, (MARGIN, MARGIN + 20))
    else:
        draw.text((MARGIN, MARGIN + 20), "no face given", fill="gray", font=font)
    draw.text((MARGIN, MARGIN), "face", fill="black", font=small)

    left = FACE_PANEL + 2 * MARGIN
    scores = result.get("scores") or []
    headline = ", ".join(f"{item['label']} {item['score']:.2f}" for item in scores[:3])
    draw.text((left, MARGIN), headline, fill="black", font=font)
    draw.text((left, MARGIN + 22), f"method: {explanation.get('method')}", fill="gray", font=small)
    top = MARGIN + 48
    if not text_lines:
        draw.text((left, top), "no dialogue given", fill="gray", font=font)
    for line_index, line in enumerate(text_lines):
        y = top + line_index * line_height
        for x, word, weight, width in line:
            shade = _word_colour(weight)
            draw.rectangle((left + x - 2, y - 2, left + x + width + 2, y + line_height - 6), fill=shade)
            draw.text((left + x, y), word, fill="black", font=font)
    if path is not None:
        canvas.save(path, format="PNG")
    return canvas


def _font(size: int):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has one bitmap size
        return ImageFont.load_default()


def _word_colour(weight: float) -> tuple[int, int, int]:
    """White for weight 0 to a saturated orange for weight 1."""
    weight = float(np.clip(weight, 0.0, 1.0))
    return (255, round(255 - 115 * weight), round(255 - 215 * weight))


def _layout_words(tokens, font, width: int):
    """Words placed left to right and wrapped at `width`: lines of `(x, word, weight, word width)`."""
    lines, line, x = [], [], 0
    space = font.getlength(" ") + 6
    for word, weight in tokens:
        word_width = font.getlength(word)
        if line and x + word_width > width:
            lines.append(line)
            line, x = [], 0
        line.append((x, word, weight, word_width))
        x += word_width + space
    if line:
        lines.append(line)
    return lines


__all__ = ["explained_face", "highlighted_words", "overlay_heat_map", "render_explanation"]
