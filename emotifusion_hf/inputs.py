"""Loading and checking what users pass in: images, texts and pipeline inputs. numpy and Pillow only.

Shared by the image processor, the processor and the pipeline (remote code: this file travels with every
checkpoint) and by the torch-free ONNX runtime, so both paths read the same pixels and raise the same errors.
"""

import io
import os
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError


# Larger images are refused before decoding: 64 megapixels covers any camera photo, and a decompression bomb (a
# tiny file declaring a huge canvas) fails here instead of exhausting memory.
MAX_IMAGE_PIXELS = 64_000_000

# Float arrays may dip this far below 0 through rounding (colour conversions, resampling) and are still accepted.
_FLOAT_ROUNDING_TOLERANCE = 1e-3

# Modes that PIL converts to RGB directly and correctly.
_DIRECT_RGB_MODES = {"RGB", "L", "CMYK", "YCbCr", "LAB", "HSV", "1"}
_ALPHA_MODES = {"RGBA", "LA", "RGBa", "La", "PA"}

# The only decoders an input file or buffer may reach: the common photo formats (JPEG covers multi-picture MPO;
# AVIF and HEIF when their plugins are installed). Exotic PIL plugins (EPS, which runs Ghostscript, and rarely used
# formats with a history of decoder bugs) never see untrusted input.
IMAGE_FORMATS = ("JPEG", "PNG", "WEBP", "BMP", "DIB", "GIF", "TIFF", "PPM", "TGA", "ICO", "AVIF", "HEIF")


def is_url(source) -> bool:
    """Whether a path-like input is a URL (`scheme://...`: http, https, ftp, file, s3, ...; or an inline `data:`
    URI). URLs are never fetched. A one-letter scheme is a Windows drive letter, not a URL."""
    if not isinstance(source, str):
        return False
    source = source.strip()
    scheme, separator, _ = source.partition("://")
    is_scheme = len(scheme) > 1 and scheme[0].isalpha() and all(char.isalnum() or char in "+.-" for char in scheme)
    return bool(separator) and is_scheme or source[:5].lower() == "data:"


def _describe(image) -> str:
    """A short name for an input, for error messages."""
    if isinstance(image, (str, os.PathLike)):
        return f"image file {os.fspath(image)!r}"
    if isinstance(image, (bytes, bytearray)):
        return f"image bytes ({len(image)} bytes)"
    shape = getattr(image, "shape", None)
    if shape is not None:
        return f"{type(image).__name__} of shape {tuple(shape)} and dtype {getattr(image, 'dtype', '?')}"
    return f"input of type {type(image).__name__}"


def _installed_formats() -> tuple[str, ...]:
    """The allowed formats whose PIL plugin is installed (`Image.open` rejects a name it does not know)."""
    Image.init()  # registers every plugin once; later calls return at once
    return tuple(name for name in IMAGE_FORMATS if name in Image.OPEN)


def _open_image(source, description: str, draft_size: int | None = None) -> Image.Image:
    """Open a path or bytes with PIL and decode it now, so a broken file fails here with its name."""
    formats = _installed_formats()
    try:
        image = Image.open(source, formats=formats)
        if image.width * image.height > MAX_IMAGE_PIXELS:
            raise Image.DecompressionBombError(
                f"{image.width}x{image.height} pixels exceeds the limit of {MAX_IMAGE_PIXELS:,}"
            )
        if draft_size is not None and image.format == "JPEG":
            # Square request: the decoder keeps both sides >= draft_size whatever the EXIF rotation.
            image.draft("RGB", (draft_size, draft_size))
        image.load()
    except Image.DecompressionBombError as error:
        raise OSError(f"Refusing {description}: it is too large to decode safely ({error}).") from None
    except UnidentifiedImageError:
        raise OSError(
            f"Cannot read {description}: it is not an image in a supported format ({', '.join(formats)})."
        ) from None
    except (OSError, SyntaxError, ValueError) as error:
        raise OSError(f"Cannot read {description}: {error}") from None
    return image


def _array_to_pil(array: np.ndarray, description: str) -> Image.Image:
    """A (H, W), (H, W, C) or (C, H, W) array of uint8, uint16, bool or float in [0, 1] / [0, 255] -> PIL.

    A leading batch axis of size 1 ((1, C, H, W) or (1, H, W, C)) is one image."""
    if array.ndim == 4 and array.shape[0] == 1:
        array = array[0]
    if array.ndim == 3 and array.shape[0] in (1, 3, 4) and array.shape[-1] not in (1, 3, 4):
        array = np.moveaxis(array, 0, -1)
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[-1] not in (3, 4)):
        raise ValueError(
            f"Cannot use {description} as an image: expected (height, width), (height, width, 1|3|4) "
            "or (1|3|4, height, width)."
        )
    if min(array.shape[:2]) < 1:
        raise ValueError(f"Cannot use {description} as an image: it is empty.")
    if array.dtype == np.bool_:
        array = array.astype(np.uint8) * 255
    elif array.dtype == np.uint16:
        array = (array >> 8).astype(np.uint8)
    elif np.issubdtype(array.dtype, np.floating):
        if not np.isfinite(array).all():
            raise ValueError(f"Cannot use {description} as an image: it contains NaN or infinite values.")
        if array.min(initial=0.0) < -_FLOAT_ROUNDING_TOLERANCE:
            # Negative pixels are usually already-normalised `pixel_values`; clipping them would give a black image.
            raise ValueError(
                f"Cannot use {description} as an image: float values must be in [0, 1] or [0, 255] "
                f"(got a minimum of {array.min():.3g}); pass raw pixels, not normalised ones."
            )
        scale = 255.0 if array.max(initial=0.0) <= 1.0 else 1.0
        # Clip before narrowing, so values above the float32 range do not overflow to inf.
        array = np.rint(np.clip(array * scale, 0, 255)).astype(np.uint8)
    elif np.issubdtype(array.dtype, np.integer):
        if array.min(initial=0) < 0 or array.max(initial=0) > 255:
            raise ValueError(
                f"Cannot use {description} as an image: integer values must be in [0, 255] "
                f"(got [{array.min()}, {array.max()}])."
            )
        array = array.astype(np.uint8)
    else:
        raise ValueError(f"Cannot use {description} as an image: unsupported dtype {array.dtype}.")
    return Image.fromarray(np.ascontiguousarray(array))


def _tensor_to_numpy(tensor, description: str) -> np.ndarray:
    """A torch tensor of any layout (sparse too) and dtype numpy can hold (bfloat16 is widened) -> a numpy array."""
    import torch

    if not isinstance(tensor, torch.Tensor):
        raise TypeError(
            f"Unsupported {description}: pass a file path, bytes, a PIL image, a numpy array or a torch tensor."
        )
    tensor = tensor.detach()
    if tensor.layout != torch.strided:
        tensor = tensor.to_dense()
    if tensor.dtype == torch.bfloat16:
        tensor = tensor.float()
    try:
        return tensor.cpu().numpy()
    except TypeError as error:
        raise ValueError(f"Cannot use {description} as an image: {error}.") from None


def _to_rgb(image: Image.Image) -> Image.Image:
    """Any PIL mode -> RGB: alpha is composited on white, 16/32-bit and float images are rescaled to 8 bits."""
    if image.mode == "RGB":
        return image
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    if image.mode in _ALPHA_MODES:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if image.mode in _DIRECT_RGB_MODES:
        return image.convert("RGB")
    # I;16*, I and F: high bit depth grayscale. Scale by the mode's range, not by the image's own maximum.
    array = np.asarray(image)
    if image.mode == "F":
        high = 1.0 if array.max(initial=0.0) <= 1.0 else 255.0
        if not np.isfinite(array).all():
            raise ValueError("Cannot use a float image that contains NaN or infinite values.")
    else:
        high = 65535.0 if array.max(initial=0) > 255 else 255.0
    gray = np.clip(np.rint(array.astype(np.float64) * (255.0 / high)), 0, 255).astype(np.uint8)
    return Image.fromarray(gray).convert("RGB")


def load_image(image, draft_size: int | None = None) -> Image.Image:
    """Any supported image input -> an upright RGB PIL image.

    Accepts a file path, raw encoded bytes, a PIL image, a numpy array or a torch tensor. EXIF orientation is
    honoured; grayscale, RGBA, palette, CMYK and 16-bit images become 8-bit RGB. Errors name the input.
    `draft_size` lets a JPEG file be decoded at a reduced scale that still covers that many pixels per side.
    """
    description = _describe(image)
    if isinstance(image, (str, os.PathLike)):
        path = os.fspath(image)
        if is_url(path):
            raise ValueError(
                f"Cannot use {description}: URL inputs are not fetched by EmotiFusion; download the file and pass "
                "its path, bytes or a PIL image."
            )
        if not os.path.exists(path):
            raise FileNotFoundError(f"Image file not found: {path!r}")
        if os.path.isdir(path):
            raise IsADirectoryError(f"Expected an image file but got a directory: {path!r}")
        if not os.path.isfile(path):
            # A FIFO would block forever and a device never ends.
            raise OSError(f"Cannot read {description}: it is not a regular file (a pipe, socket or device).")
        if os.path.getsize(path) == 0:
            raise OSError(f"Cannot read {description}: the file is empty (0 bytes).")
        image = _open_image(path, description, draft_size)
    elif isinstance(image, (bytes, bytearray)):
        if not image:
            raise ValueError("Cannot read image bytes: the buffer is empty.")
        image = _open_image(io.BytesIO(image), description, draft_size)
    elif isinstance(image, Image.Image):
        pass
    elif isinstance(image, np.ndarray):
        image = _array_to_pil(image, description)
    elif type(image).__module__.startswith("torch"):
        image = _array_to_pil(_tensor_to_numpy(image, description), description)
    else:
        raise TypeError(
            f"Unsupported {description}: pass a file path, bytes, a PIL image, a numpy array or a torch tensor."
        )
    if image.width < 1 or image.height < 1:
        raise ValueError(f"Cannot use {description}: it has no pixels ({image.width}x{image.height}).")
    if image.width * image.height > MAX_IMAGE_PIXELS:
        raise ValueError(
            f"Cannot use {description}: {image.width}x{image.height} pixels exceeds the limit of {MAX_IMAGE_PIXELS:,}."
        )
    image = ImageOps.exif_transpose(image)
    return _to_rgb(image)


def crop_face(image: Image.Image, face_box: Sequence[float], margin: float = 0.0) -> Image.Image:
    """Crop `face_box = (x, y, width, height)` in pixels, grown by `margin` of its size per side, clamped."""
    return image.crop(face_crop_box(image, face_box, margin))


def face_crop_box(image: Image.Image, face_box: Sequence[float], margin: float = 0.0) -> tuple[int, int, int, int]:
    """The `(left, top, right, bottom)` pixels `crop_face` cuts out of `image` for `face_box` and `margin`."""
    if len(face_box) != 4:
        raise ValueError(f"`face_box` must be (x, y, width, height), got {face_box!r}.")
    x, y, width, height = (float(value) for value in face_box)
    if not all(np.isfinite([x, y, width, height])) or width <= 0 or height <= 0:
        raise ValueError(f"`face_box` {face_box!r} is empty or not finite.")
    left = max(0.0, x - margin * width)
    top = max(0.0, y - margin * height)
    right = min(float(image.width), x + width + margin * width)
    bottom = min(float(image.height), y + height + margin * height)
    if right - left < 1 or bottom - top < 1:
        raise ValueError(f"`face_box` {face_box!r} lies outside the {image.width}x{image.height} image.")
    return (round(left), round(top), round(right), round(bottom))


def prepare_image_array(image, face_box, target: tuple[int, int], resample: int, face_margin: float,
                        do_resize: bool = True) -> np.ndarray:
    """One input -> a `(height, width, 3)` uint8 array: loaded, cropped to `face_box` (grown by `face_margin`),
    resized to `target = (width, height)` with PIL's `resample` filter."""
    # Without a face box, a JPEG may be decoded at 1/2..1/8 scale straight away: large photos load faster.
    image = load_image(image, draft_size=max(target) if face_box is None and do_resize else None)
    if face_box is not None:
        image = crop_face(image, face_box, face_margin)
    if do_resize and image.size != target:
        image = image.resize(target, resample=resample, reducing_gap=3.0)
    return np.asarray(image)


def normalize_pixel_batch(batch, do_rescale, rescale_factor, do_normalize, image_mean, image_std) -> np.ndarray:
    """`(batch, height, width, 3)` uint8 -> `(batch, 3, height, width)` float32, rescale and normalise fused."""
    scale = np.full(3, rescale_factor if do_rescale else 1.0, dtype=np.float32)
    shift = np.zeros(3, dtype=np.float32)
    if do_normalize:
        std = np.asarray(image_std, dtype=np.float32)
        scale = scale / std
        shift = -np.asarray(image_mean, dtype=np.float32) / std
    pixel_values = batch.astype(np.float32) * scale + shift
    return np.ascontiguousarray(pixel_values.transpose(0, 3, 1, 2))


def normalize_texts(text) -> tuple[list[str], bool]:
    """A sample or a batch of samples -> `(flat list of samples, was_batched)`.

    A sample is a string (UTF-8 bytes are decoded) or a dialogue given as a list of turns (strings). A batch is a
    list of samples, so a flat list of strings is a batch of single-turn samples and
    `["Hi.", ["You're late.", "Sorry."]]` is a batch of two. Blank turns inside a dialogue are dropped; a sample
    with no words left is an error.
    """
    if isinstance(text, (str, bytes, bytearray)):
        return [check_text_sample(text, "text")], False
    if not isinstance(text, Sequence) or isinstance(text, memoryview):  # a list, a tuple, a `datasets` column
        raise TypeError(f"`text` must be a string, a list of turns, or a list of those; got {type(text).__name__}.")
    if not text:
        raise ValueError("`text` is an empty list: pass at least one sample.")
    return [check_text_sample(sample, f"text[{index}]") for index, sample in enumerate(text)], True


def _as_text(value, where: str) -> str:
    """A string as it is, or UTF-8 bytes decoded; text that is not valid Unicode is an error naming `where`."""
    if isinstance(value, (bytes, bytearray)):
        try:
            value = bytes(value).decode("utf-8")
        except UnicodeDecodeError as error:
            raise TypeError(
                f"`{where}` is bytes that are not valid UTF-8 ({error.reason} at byte {error.start}); decode it to a "
                "string first."
            ) from None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as error:
        # Lone surrogates (from a lossy decode) cannot be tokenized.
        raise ValueError(
            f"`{where}` is not valid Unicode: {error.reason} at character {error.start} "
            f"({value[error.start:error.end]!r})."
        ) from None
    return value


def check_text_sample(sample, where: str):
    """One sample (a string or a list of string turns; UTF-8 bytes are decoded), checked; `where` names it in error
    messages."""
    if isinstance(sample, (str, bytes, bytearray)):
        sample = _as_text(sample, where)
        if not sample.strip():
            raise ValueError(f"`{where}` is empty or blank: give some words, or pass `text=None` for no text.")
        return sample
    if isinstance(sample, (list, tuple)):
        checked = []
        for turn_index, turn in enumerate(sample):
            if not isinstance(turn, (str, bytes, bytearray)):
                raise TypeError(f"`{where}[{turn_index}]` must be a string turn, got {type(turn).__name__}.")
            checked.append(_as_text(turn, f"{where}[{turn_index}]"))
        turns = [turn.strip() for turn in checked if turn.strip()]
        if not turns:
            raise ValueError(f"`{where}` is a dialogue with no non-blank turn.")
        return turns
    raise TypeError(f"`{where}` must be a string or a list of string turns, got {type(sample).__name__}.")


def join_turns(sample, separator: str | None) -> str:
    """A dialogue's turns joined with the tokenizer's separator token (`[SEP]`), so BERT sees the turn boundaries;
    a string as it is."""
    if isinstance(sample, str):
        return sample
    separator = separator or "\n"
    return f" {separator} ".join(sample)


_PIPELINE_INPUT_KEYS = {"image", "text"}


def pipeline_samples(inputs=None, image=None, text=None) -> tuple[list[dict], bool]:
    """What an emotion-fusion pipeline was called with -> `(checked samples, single)`: a dict, a bare text string
    (text only), a bare image (image only), a list of those, or `image=`/`text=` keywords; `single` says whether one
    result (not a list) is returned."""
    if inputs is None:
        inputs, single = [{"image": image, "text": text}], True
    elif image is not None or text is not None:
        raise ValueError("Pass either `inputs` or `image=`/`text=`, not both.")
    elif isinstance(inputs, (dict, str, bytes, bytearray)) or is_bare_image(inputs):
        inputs, single = [inputs], True
    elif isinstance(inputs, (list, tuple)):
        inputs, single = list(inputs), False
    else:
        raise TypeError(
            "emotion-fusion inputs are a dict {'image': ..., 'text': ...}, a text string, a PIL image / array / "
            f"tensor, a list of those, or `image=`/`text=` keywords; got {type(inputs).__name__}."
        )
    return [check_pipeline_input(item, index) for index, item in enumerate(inputs)], single


def is_bare_image(value) -> bool:
    """A PIL image, numpy array or torch tensor given without a dict: an image-only input. (Tensors are recognised by
    their class, so this module never imports torch.)"""
    if isinstance(value, (Image.Image, np.ndarray)):
        return True
    return any(cls.__name__ == "Tensor" and cls.__module__.startswith("torch") for cls in type(value).__mro__)


def check_pipeline_input(item, index: int) -> dict:
    """One pipeline input checked (its text too): a dict with `image` and/or `text`, a bare string (text only) or a
    bare image (image only); `index` names it."""
    if isinstance(item, str):
        item = {"text": item}
    elif is_bare_image(item):
        item = {"image": item}
    elif isinstance(item, (bytes, bytearray)):
        raise TypeError(f"Input {index} is bare bytes, which may be an encoded image or UTF-8 text: pass "
                        "{'image': ...} or {'text': ...}.")
    if not isinstance(item, dict):
        raise TypeError(f"Input {index} must be a dict with 'image' and/or 'text', a text string or an image "
                        f"(PIL, numpy, tensor), got {type(item).__name__}.")
    unknown = set(item) - _PIPELINE_INPUT_KEYS
    if unknown:
        raise ValueError(f"Input {index} has unknown key(s) {sorted(unknown)}; expected 'image' and/or 'text'.")
    image, text = item.get("image"), item.get("text")
    if image is None and text is None:
        raise ValueError(f"Input {index} has neither an image nor a text: give at least one.")
    if text is not None:
        text = check_text_sample(text, f"input {index} text")
    return {"image": image, "text": text}


def check_positive_int(value, name: str):
    """`value` when it is a positive integer (not a bool); otherwise a `ValueError` naming `name`."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"`{name}` must be a positive integer, got {value!r}.")
    return value


def first_unloadable(samples):
    """`(offset, error)` of the first sample whose image cannot be loaded, to name it when a batch fails."""
    for offset, sample in enumerate(samples):
        if sample["image"] is None:
            continue
        try:
            load_image(sample["image"])
        except (OSError, ValueError, TypeError) as error:
            return offset, error
    return None


def detect_faces(image, margin: float = 0.25) -> list[tuple[int, int, int, int]]:
    """`(x, y, width, height)` of every frontal face OpenCV's bundled Haar cascade finds, each grown by `margin` per
    side and clamped to the image, largest first. Needs `opencv-python-headless` (no download)."""
    try:
        import cv2
    except ImportError as error:
        raise ImportError(
            "Face detection needs OpenCV: `pip install opencv-python-headless` (or `emotifusion-hf[face]`)."
        ) from error

    cascade = _face_cascade(cv2)
    gray = cv2.cvtColor(np.asarray(image), cv2.COLOR_RGB2GRAY)
    min_side = max(24, min(gray.shape) // 10)
    faces = cascade.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5, minSize=(min_side, min_side))
    boxes = []
    for x, y, width, height in sorted((tuple(int(v) for v in box) for box in faces), key=lambda b: -b[2] * b[3]):
        left, top = max(0, x - int(margin * width)), max(0, y - int(margin * height))
        right = min(gray.shape[1], x + width + int(margin * width))
        bottom = min(gray.shape[0], y + height + int(margin * height))
        boxes.append((left, top, right - left, bottom - top))
    return boxes


def detect_largest_face(image, margin: float = 0.25):
    """`(x, y, width, height)` of the largest frontal face OpenCV's bundled Haar cascade finds, grown by `margin`
    per side and clamped to the image; `None` when there is none. Needs `opencv-python-headless` (no download)."""
    faces = detect_faces(image, margin)
    return faces[0] if faces else None


_CASCADE = None


def _face_cascade(cv2):
    global _CASCADE
    if _CASCADE is None:
        if not hasattr(cv2, "CascadeClassifier") or not hasattr(getattr(cv2, "data", None), "haarcascades"):
            raise ImportError(
                f"OpenCV {cv2.__version__} does not ship the Haar face cascades; install "
                "`opencv-python-headless>=4.8,<5` (the `emotifusion-hf[face]` extra)."
            )
        _CASCADE = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
        if _CASCADE.empty():
            raise OSError("OpenCV's bundled face cascade could not be loaded.")
    return _CASCADE


__all__ = [
    "IMAGE_FORMATS",
    "MAX_IMAGE_PIXELS",
    "check_pipeline_input",
    "check_positive_int",
    "check_text_sample",
    "crop_face",
    "detect_faces",
    "face_crop_box",
    "detect_largest_face",
    "first_unloadable",
    "is_bare_image",
    "is_url",
    "join_turns",
    "load_image",
    "normalize_pixel_batch",
    "normalize_texts",
    "pipeline_samples",
    "prepare_image_array",
]
