"""Image processor for EmotiFusion: any common image input -> face crop -> 224 px RGB -> normalised tensor."""

import io
import os
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError
from transformers.image_processing_utils import BaseImageProcessor, BatchFeature
from transformers.image_utils import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD, PILImageResampling


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


class EmotiFusionImageProcessor(BaseImageProcessor):
    r"""
    Turns face images into the `pixel_values` EmotiFusion reads.

    Each image is loaded (path, bytes, PIL, numpy or torch; EXIF orientation honoured; any mode to RGB),
    optionally cropped to a face box, resized to `size` and normalised with ImageNet statistics. The batch is
    normalised in one vectorised step.

    Args:
        do_resize (`bool`, *optional*, defaults to `True`): Resize to `size`.
        size (`dict[str, int]`, *optional*, defaults to `{"height": 224, "width": 224}`): Output size.
        resample (`PILImageResampling`, *optional*, defaults to `BILINEAR`): Resampling filter.
        do_rescale (`bool`, *optional*, defaults to `True`): Scale 8-bit values by `rescale_factor`.
        rescale_factor (`float`, *optional*, defaults to `1/255`): The rescale factor.
        do_normalize (`bool`, *optional*, defaults to `True`): Normalise with `image_mean` / `image_std`.
        image_mean (`list[float]`, *optional*, defaults to ImageNet's mean): Per-channel mean.
        image_std (`list[float]`, *optional*, defaults to ImageNet's std): Per-channel standard deviation.
        face_margin (`float`, *optional*, defaults to 0.1): Fraction of a face box's size added on each side
            before cropping.
    """

    model_input_names = ["pixel_values"]

    def __init__(
        self,
        do_resize: bool = True,
        size: dict[str, int] | None = None,
        resample: int = PILImageResampling.BILINEAR,
        do_rescale: bool = True,
        rescale_factor: float = 1 / 255,
        do_normalize: bool = True,
        image_mean: Sequence[float] | None = None,
        image_std: Sequence[float] | None = None,
        face_margin: float = 0.1,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.do_resize = do_resize
        self.size = _size_dict(size if size is not None else 224)
        self.resample = int(resample)
        self.do_rescale = do_rescale
        self.rescale_factor = rescale_factor
        self.do_normalize = do_normalize
        self.image_mean = list(image_mean if image_mean is not None else IMAGENET_DEFAULT_MEAN)
        self.image_std = list(image_std if image_std is not None else IMAGENET_DEFAULT_STD)
        self.face_margin = face_margin

    def prepare_image(self, image, face_box=None, size: dict[str, int] | None = None) -> np.ndarray:
        """One input -> a `(height, width, 3)` uint8 array: loaded, face-cropped, resized."""
        size = _size_dict(size) if size is not None else self.size
        target = (size["width"], size["height"])
        # Without a face box, a JPEG may be decoded at 1/2..1/8 scale straight away: large photos load faster.
        image = load_image(image, draft_size=max(target) if face_box is None and self.do_resize else None)
        if face_box is not None:
            image = crop_face(image, face_box, self.face_margin)
        if self.do_resize and image.size != target:
            image = image.resize(target, resample=self.resample, reducing_gap=3.0)
        return np.asarray(image)

    def preprocess(
        self,
        images,
        face_boxes: Sequence | None = None,
        return_tensors: str | None = "pt",
        do_resize: bool | None = None,
        size: dict[str, int] | None = None,
        do_rescale: bool | None = None,
        rescale_factor: float | None = None,
        do_normalize: bool | None = None,
        image_mean: Sequence[float] | None = None,
        image_std: Sequence[float] | None = None,
        **kwargs,
    ) -> BatchFeature:
        """
        Args:
            images: one image or a list of images (paths, bytes, PIL, numpy arrays, torch tensors). A 4-D array or
                tensor is a batch.
            face_boxes: `None`, or one `(x, y, width, height)` box (or `None`) per image.
            return_tensors: `"pt"` (default) or `"np"`.

        Returns:
            `BatchFeature` with `pixel_values` of shape `(batch_size, 3, height, width)`.
        """
        images = make_image_list(images)
        if face_boxes is None:
            face_boxes = [None] * len(images)
        elif len(images) == 1 and len(face_boxes) == 4 and all(
            isinstance(value, (int, float, np.number)) for value in face_boxes
        ):
            face_boxes = [face_boxes]
        if len(face_boxes) != len(images):
            raise ValueError(f"Got {len(images)} images but {len(face_boxes)} face boxes.")
        do_resize = self.do_resize if do_resize is None else do_resize
        size = _size_dict(size) if size is not None else self.size
        if not do_resize:
            size = None
        arrays = [self.prepare_image(image, face_box, size) for image, face_box in zip(images, face_boxes)]
        shapes = {array.shape for array in arrays}
        if len(shapes) > 1:
            raise ValueError(f"Images have different sizes {sorted(shapes)}; keep `do_resize=True` to batch them.")
        pixel_values = self.normalize_batch(
            np.stack(arrays),
            do_rescale=self.do_rescale if do_rescale is None else do_rescale,
            rescale_factor=self.rescale_factor if rescale_factor is None else rescale_factor,
            do_normalize=self.do_normalize if do_normalize is None else do_normalize,
            image_mean=self.image_mean if image_mean is None else image_mean,
            image_std=self.image_std if image_std is None else image_std,
        )
        return BatchFeature(data={"pixel_values": pixel_values}, tensor_type=return_tensors)

    @staticmethod
    def normalize_batch(batch, do_rescale, rescale_factor, do_normalize, image_mean, image_std) -> np.ndarray:
        """`(batch, height, width, 3)` uint8 -> `(batch, 3, height, width)` float32, rescale and normalise fused."""
        scale = np.full(3, rescale_factor if do_rescale else 1.0, dtype=np.float32)
        shift = np.zeros(3, dtype=np.float32)
        if do_normalize:
            std = np.asarray(image_std, dtype=np.float32)
            scale = scale / std
            shift = -np.asarray(image_mean, dtype=np.float32) / std
        pixel_values = batch.astype(np.float32) * scale + shift
        return np.ascontiguousarray(pixel_values.transpose(0, 3, 1, 2))


def make_image_list(images) -> list:
    """One image or a batch -> a list of single images. A 4-D array/tensor is a batch; so is any sequence other than
    bytes (a list, a tuple, a `datasets` column)."""
    if isinstance(images, Sequence) and not isinstance(images, (str, bytes, bytearray, memoryview)):
        if not images:
            raise ValueError("Got an empty list of images.")
        return list(images)
    if getattr(images, "ndim", None) == 4:
        if len(images) == 0:
            raise ValueError(f"Got an empty batch of images (shape {tuple(images.shape)}).")
        return list(images)
    return [images]


def _size_dict(size) -> dict[str, int]:
    if isinstance(size, int):
        size = {"height": size, "width": size}
    elif isinstance(size, (list, tuple)) and len(size) == 2:
        size = {"height": size[0], "width": size[1]}
    if not isinstance(size, dict) or set(size) != {"height", "width"}:
        raise ValueError(f"`size` must be an int or {{'height': H, 'width': W}}, got {size!r}.")
    if any(not isinstance(value, int) or value < 1 for value in size.values()):
        raise ValueError(f"`size` values must be positive integers, got {size!r}.")
    return {"height": size["height"], "width": size["width"]}


__all__ = ["EmotiFusionImageProcessor"]
