"""Image processor for EmotiFusion: any common image input -> face crop -> 224 px RGB -> normalised tensor."""

from collections.abc import Sequence

import numpy as np
from transformers.image_processing_utils import BaseImageProcessor, BatchFeature
from transformers.image_utils import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD, PILImageResampling

# Loading and checking images needs no torch or transformers: it lives in `inputs`, shared with the ONNX runtime.
from .inputs import (  # noqa: F401  (re-exported: the long-standing home of these names)
    IMAGE_FORMATS,
    MAX_IMAGE_PIXELS,
    crop_face,
    face_crop_box,
    is_url,
    load_image,
    normalize_pixel_batch,
    prepare_image_array,
)


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
        return prepare_image_array(image, face_box, target, self.resample, self.face_margin, self.do_resize)

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
        return normalize_pixel_batch(batch, do_rescale, rescale_factor, do_normalize, image_mean, image_std)


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
