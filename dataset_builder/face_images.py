"""
Face pixels: read a `FaceRecord`'s image, decode it, cut its face box out, shrink it, and encode it as JPEG, alone
(`load_face`, `encode_face`) or over a stream of records in worker processes (`decoding_pool`, `encode_faces`).

Every file is read and decoded at most once. An upright RGB JPEG whose box covers the whole image and that needs
no shrinking keeps its stored bytes: its header is parsed (by Pillow) and its end checked, but no pixel is
decoded and no second lossy encoding happens. AffectNet's manually annotated images are face crops already, so
most rows take this path. Damage is reported as a `BadRowError` naming the row, never left for training to find.
"""

import contextlib
import io
import itertools
import math
import multiprocessing
import multiprocessing.pool
from collections import deque
from collections.abc import Iterable, Iterator

from PIL import Image, ImageOps

from .records import BadRowError, FaceRecord


# A kept JPEG whose end-of-image marker is missing (a truncated copy, the usual damage) or followed by extra bytes
# is decoded to settle whether it is readable, at 1/8 scale: libjpeg still entropy-decodes every block, so damage
# is found, but skips most of the inverse DCT and the colour conversion.
_CHECK_SCALE = 8
_JPEG_END = b"\xff\xd9"
_EXIF_ORIENTATION = 0x0112
# As `Image.thumbnail`: a JPEG that is shrunk anyway is decoded at 1/2..1/8 scale while it keeps at least this many
# times the final size, and resampled from there.
_REDUCING_GAP = 2.0

Box = tuple[int, int, int, int]


def _read_image_bytes(record: FaceRecord) -> bytes:
    if isinstance(record.image, bytes):
        return record.image
    try:
        with open(record.image, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        raise BadRowError("missing_file", record.location, f"image {record.source_id!r} does not exist") from None
    except OSError as error:
        detail = f"cannot read image {record.source_id!r}: {error}"
        raise BadRowError("unreadable_image", record.location, detail) from None


def _pixel_box(record: FaceRecord, width: int, height: int) -> Box | None:
    """The record's face box in pixels of a `width` x `height` image, clamped to it (`None`: the whole image)."""
    if record.face_box is None:
        return None
    x, y, box_width, box_height = record.face_box
    if record.box_normalized:
        x, y, box_width, box_height = x * width, y * height, box_width * width, box_height * height
    left, top = max(0, round(x)), max(0, round(y))
    right, bottom = min(width, round(x + box_width)), min(height, round(y + box_height))
    if right <= left or bottom <= top:
        given = tuple(round(value, 3) for value in record.face_box)
        detail = f"face box {given} lies outside the {width}x{height} image"
        raise BadRowError("box_outside_image", record.location, detail)
    return left, top, right - left, bottom - top


def _thumbnail_size(width: int, height: int, max_size: int | None) -> tuple[int, int] | None:
    """The size `Image.thumbnail((max_size, max_size))` gives a `width` x `height` image; `None` when it fits."""
    if max_size is None or max(width, height) <= max_size:
        return None
    aspect = width / height

    def round_aspect(number, key):
        return max(min(math.floor(number), math.ceil(number), key=key), 1)

    if aspect <= 1:
        return round_aspect(max_size * aspect, key=lambda n: abs(aspect - n / max_size)), max_size
    return max_size, round_aspect(max_size / aspect, key=lambda n: 0 if n == 0 else abs(aspect - max_size / n))


def _draft_for_shrinking(opened: Image.Image, region: Box, target) -> float:
    """Ask libjpeg for a 1/2..1/8-scale decode when `region` is shrunk to `target` anyway; returns the scale."""
    if target is None or opened.format != "JPEG":
        return 1.0
    factor = min(region[2] / target[0], region[3] / target[1]) / _REDUCING_GAP
    if factor < 2:
        return 1.0
    width, height = opened.size
    drafted = opened.draft(None, (max(1, int(width / factor)), max(1, int(height / factor))))
    return 1.0 if drafted is None else width / drafted[1][2]


def _decode(
    record: FaceRecord, max_size: int | None, *, keep_stored_jpeg: bool = False
) -> tuple[Image.Image | None, Box | None, bytes | None]:
    """
    Read, decode, crop and shrink a record's face, reading and decoding its file once.

    Returns `(image, box, None)`, or with `keep_stored_jpeg` and an upright RGB JPEG whose box covers the whole
    image and needs no shrinking, `(None, box, the file's bytes)`: those pixels are exactly the stored JPEG's, so
    its bytes are kept (no second lossy encoding).
    """
    data = _read_image_bytes(record)
    try:
        with Image.open(io.BytesIO(data)) as opened:
            return _decode_opened(record, opened, data, max_size, keep_stored_jpeg)
    except BadRowError:
        raise
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        detail = f"cannot decode image {record.source_id!r}: {error}"
        raise BadRowError("unreadable_image", record.location, detail) from None


def _decode_opened(record: FaceRecord, opened: Image.Image, data: bytes, max_size: int | None, keep_stored_jpeg):
    """`_decode` once the header is parsed: turn upright, keep the stored bytes, or crop and shrink."""
    width, height = opened.size
    box = _pixel_box(record, width, height)
    upright = opened.getexif().get(_EXIF_ORIENTATION, 1) == 1
    if box is None and not upright:
        # Boxes refer to the stored pixels, so only whole images are turned upright.
        return _upright(opened, max_size), box, None
    region = box or (0, 0, width, height)
    whole = region == (0, 0, width, height)
    target = _thumbnail_size(region[2], region[3], max_size)
    stored_rgb_jpeg = opened.format == "JPEG" and opened.mode == "RGB"
    if keep_stored_jpeg and whole and target is None and upright and stored_rgb_jpeg:
        _check_complete(opened, data)
        return None, box, data
    return _crop_and_shrink(opened, region, whole, target), box, None


def _upright(opened: Image.Image, max_size: int | None) -> Image.Image:
    image = ImageOps.exif_transpose(opened)
    if image.mode != "RGB":
        image = image.convert("RGB")
    if _thumbnail_size(image.width, image.height, max_size) is not None:
        image.thumbnail((max_size, max_size), Image.Resampling.BICUBIC)
    return image


def _check_complete(opened: Image.Image, data: bytes) -> None:
    """A JPEG kept as stored must be readable: one that ends with its end-of-image marker is taken as complete,
    any other is decoded (at 1/8 scale), so a truncated copy fails here."""
    if not data.endswith(_JPEG_END):
        width, height = opened.size
        opened.draft("RGB", (max(1, width // _CHECK_SCALE), max(1, height // _CHECK_SCALE)))
        opened.load()


def _crop_and_shrink(opened: Image.Image, region: Box, whole: bool, target) -> Image.Image:
    scale = _draft_for_shrinking(opened, region, target)
    opened.load()  # decodes every pixel, so truncated files fail here and not in training
    image = opened if opened.mode == "RGB" else opened.convert("RGB")
    left, top, region_width, region_height = region
    if target is not None:
        scaled = (left / scale, top / scale, (left + region_width) / scale, (top + region_height) / scale)
        return image.resize(target, Image.Resampling.BICUBIC, box=scaled, reducing_gap=_REDUCING_GAP)
    if not whole:
        return image.crop((left, top, left + region_width, top + region_height))
    if image is opened:
        return opened.copy()  # closing the file releases the decoded pixels
    return image


def load_face(record: FaceRecord, *, max_size: int | None = None) -> tuple[Image.Image, Box | None]:
    """
    Decode a record's image and crop its face.

    The box is clamped to the image; a box with no pixel inside the image is a bad row. Whole-image records are
    turned upright by their EXIF orientation (boxes refer to the stored pixels, so cropped ones are not).

    Args:
        record (`FaceRecord`): the face to load.
        max_size (`int`, *optional*): shrink the face so its longer side is at most this many pixels.

    Returns:
        `(image, box)`: the RGB face and the pixel box `(x, y, width, height)` it was cut from (`None` for the whole
        image).

    Raises:
        BadRowError: `missing_file`, `unreadable_image` or `box_outside_image`, naming the record's row.
    """
    image, box, _ = _decode(record, max_size)
    return image, box


def encode_face(record: FaceRecord, *, max_size: int | None = None, quality: int = 95) -> tuple[bytes, Box | None]:
    """
    The JPEG bytes of a record's face (see `load_face`) and its pixel box.

    An upright RGB JPEG whose box covers the whole image (or that has no box) and needs no resize keeps its
    original bytes: no second lossy encoding and no decode. Its header is parsed and its end checked, so missing,
    non-JPEG and truncated files are still caught here (`unreadable_image`) and not in training.
    """
    image, box, stored = _decode(record, max_size, keep_stored_jpeg=True)
    if stored is not None:
        return stored, box
    return _jpeg_bytes(image, quality), box


def _jpeg_bytes(image: Image.Image, quality: int) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


# ---------------------------------------------------------------------------------------------------------------
# Many faces, in worker processes
# ---------------------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def decoding_pool(processes: int | None) -> Iterator[multiprocessing.pool.Pool | None]:
    """
    Worker processes for `encode_faces`, closed on exit; `None` (decode in the calling process) when fewer than two
    are asked for or the platform cannot fork. Forked workers start at once with everything imported.
    """
    if processes is None or processes < 2 or "fork" not in multiprocessing.get_all_start_methods():
        yield None
        return
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        yield pool


def encode_faces(
    records: Iterable[FaceRecord],
    *,
    max_size: int | None = None,
    quality: int = 95,
    pool: multiprocessing.pool.Pool | None = None,
    chunks_in_flight: int = 4,
    chunk_size: int = 64,
) -> Iterator[tuple[FaceRecord, tuple[bytes, Box | None] | BadRowError]]:
    """
    `encode_face` over a stream of records, in their order: yields `(record, (bytes, box))`, or `(record, error)`
    with the `BadRowError` the record raised (the caller decides whether to skip it or raise it).

    With a `pool` (see `decoding_pool`), faces are decoded by its workers while the caller works on the previous
    ones; at most `chunks_in_flight` chunks of `chunk_size` records are out at once, so memory stays flat however
    long the stream is.
    """
    if pool is None:
        for record in records:
            yield record, _encode_or_error(record, max_size, quality)
        return
    records = iter(records)
    pending: deque = deque()
    while True:
        chunk = list(itertools.islice(records, chunk_size))
        if chunk:
            pending.append((chunk, pool.apply_async(_encode_chunk, (chunk, max_size, quality))))
        if pending and (not chunk or len(pending) >= chunks_in_flight):
            yield from _collect_chunk(*pending.popleft())
        if not chunk and not pending:
            return


def _encode_or_error(record: FaceRecord, max_size: int | None, quality: int):
    try:
        return encode_face(record, max_size=max_size, quality=quality)
    except BadRowError as error:
        return error


def _encode_chunk(records: list[FaceRecord], max_size: int | None, quality: int) -> list[tuple[bool, tuple]]:
    """
    Worker side of `encode_faces`: per record `(True, (bytes, box))`, `(True, (None, box))` when the stored file is
    kept as it is (the caller reads it again rather than receive it through a pipe), or
    `(False, (reason, location, detail))`.
    """
    results = []
    for record in records:
        try:
            image, box, stored = _decode(record, max_size, keep_stored_jpeg=True)
            results.append((True, (None if stored is not None else _jpeg_bytes(image, quality), box)))
        except BadRowError as error:
            results.append((False, (error.reason, error.location, error.detail)))
    return results


def _collect_chunk(chunk: list[FaceRecord], result) -> Iterator[tuple[FaceRecord, tuple | BadRowError]]:
    for record, (ok, answer) in zip(chunk, result.get()):
        if not ok:
            yield record, BadRowError(*answer)
            continue
        data, box = answer
        yield record, (_read_image_bytes(record) if data is None else data, box)


__all__ = ["decoding_pool", "encode_face", "encode_faces", "load_face"]
