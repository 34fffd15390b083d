import io

import numpy as np
import pytest
import torch
from conftest import (
    TINY_IMAGE_SIZE,
    assert_distribution,
    noise_pixels,
    processed_pixels,
)
from PIL import EpsImagePlugin, Image

from emotifusion_hf import EmotiFusionImageProcessor, load_image
from emotifusion_hf.image_processing_emotifusion import MAX_IMAGE_PIXELS


@pytest.fixture(scope="module")
def image_processor():
    return EmotiFusionImageProcessor(size=32)


def _left_red_right_blue(width=40, height=20) -> Image.Image:
    array = np.zeros((height, width, 3), dtype=np.uint8)
    array[:, : width // 2, 0] = 255
    array[:, width // 2 :, 2] = 255
    return Image.fromarray(array)


def test_defaults():
    processor = EmotiFusionImageProcessor()
    assert processor.size == {"height": 224, "width": 224}
    assert processor.image_mean == [0.485, 0.456, 0.406] and processor.image_std == [0.229, 0.224, 0.225]


def test_output_shape_dtype_and_normalisation(image_processor):
    white = Image.new("RGB", (50, 70), (255, 255, 255))
    pixel_values = image_processor([white, white], return_tensors="pt")["pixel_values"]
    assert pixel_values.shape == (2, 3, 32, 32) and pixel_values.dtype == torch.float32
    expected = (1.0 - torch.tensor([0.485, 0.456, 0.406])) / torch.tensor([0.229, 0.224, 0.225])
    torch.testing.assert_close(pixel_values[0, :, 5, 5], expected)


def _assert_rgb(image, expected_rgb, tolerance=2):
    assert image.mode == "RGB"
    pixel = np.asarray(image)[image.height // 2, image.width // 2].astype(int)
    assert np.abs(pixel - np.array(expected_rgb)).max() <= tolerance, (pixel, expected_rgb)


def test_grayscale_becomes_rgb():
    _assert_rgb(load_image(Image.new("L", (8, 8), 100)), (100, 100, 100))


def test_rgba_is_composited_on_white():
    _assert_rgb(load_image(Image.new("RGBA", (8, 8), (255, 0, 0, 0))), (255, 255, 255))
    _assert_rgb(load_image(Image.new("RGBA", (8, 8), (255, 0, 0, 255))), (255, 0, 0))


def test_palette_with_and_without_transparency():
    palette = Image.new("P", (8, 8), 1)
    palette.putpalette([0, 0, 0, 0, 128, 255] + [0] * 762)
    _assert_rgb(load_image(palette), (0, 128, 255))
    transparent = Image.new("P", (8, 8), 0)
    transparent.putpalette([10, 20, 30] * 256)
    transparent.info["transparency"] = 0
    _assert_rgb(load_image(transparent), (255, 255, 255))


def test_cmyk_becomes_rgb():
    cmyk = Image.new("CMYK", (8, 8), (0, 255, 255, 0))  # pure red in CMYK
    _assert_rgb(load_image(cmyk), (255, 0, 0))


def test_16_bit_images_are_scaled_by_bit_depth(tmp_path):
    array = np.full((8, 8), 32896, dtype=np.uint16)  # 0x8080 -> 128 in 8 bits
    png = tmp_path / "sixteen.png"
    Image.fromarray(array).save(png)
    assert Image.open(png).mode.startswith("I")
    _assert_rgb(load_image(png), (128, 128, 128), tolerance=1)
    _assert_rgb(load_image(array), (128, 128, 128), tolerance=1)


def test_exif_orientation_is_honoured():
    image = _left_red_right_blue(40, 20)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise when displayed
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif, quality=95)
    loaded = load_image(buffer.getvalue())
    assert loaded.size == (20, 40)
    top, bottom = np.asarray(loaded)[5, 10], np.asarray(loaded)[35, 10]
    assert top[0] > 200 and bottom[2] > 200  # red on top after the clockwise turn


def test_numpy_and_torch_layouts_agree(image_processor):
    image = _left_red_right_blue(32, 32)
    array = np.asarray(image)
    reference = image_processor(image)["pixel_values"]
    for variant in (
        array,
        array.transpose(2, 0, 1),
        array.astype(np.float32) / 255.0,
        torch.from_numpy(array.transpose(2, 0, 1).copy()),
        torch.from_numpy(array.transpose(2, 0, 1).copy()).float() / 255.0,
    ):
        torch.testing.assert_close(image_processor(variant)["pixel_values"], reference, atol=0.02, rtol=0)


def test_batched_array_is_a_batch(image_processor):
    batch = np.random.default_rng(0).integers(0, 255, (5, 32, 32, 3), dtype=np.uint8)
    assert image_processor(batch)["pixel_values"].shape == (5, 3, 32, 32)


def test_file_path_and_bytes(tmp_path, image_processor):
    path = tmp_path / "face.jpg"
    _left_red_right_blue(64, 64).save(path, quality=95)
    from_path = image_processor(str(path))["pixel_values"]
    from_bytes = image_processor(path.read_bytes())["pixel_values"]
    torch.testing.assert_close(from_path, from_bytes)


def test_large_jpeg_is_decoded_at_reduced_scale_with_the_same_result(tmp_path):
    processor = EmotiFusionImageProcessor(size=32)
    path = tmp_path / "big.jpg"
    _left_red_right_blue(1024, 1024).save(path, quality=95)
    fast = processor(str(path))["pixel_values"]
    full = processor(Image.open(path))["pixel_values"]
    torch.testing.assert_close(fast, full, atol=0.15, rtol=0)


def test_face_box_crop(image_processor):
    image = _left_red_right_blue(40, 20)
    red = EmotiFusionImageProcessor(size=8, face_margin=0.0)(image, face_boxes=[(0, 0, 10, 10)])["pixel_values"]
    assert red[0, 0].mean() > 1.5 and red[0, 2].mean() < 0  # red channel high, blue low
    assert image_processor([image, image], face_boxes=[None, (20, 0, 20, 20)])["pixel_values"].shape == (2, 3, 32, 32)
    with pytest.raises(ValueError, match="outside"):
        image_processor(image, face_boxes=[(100, 100, 5, 5)])
    with pytest.raises(ValueError, match="empty"):
        image_processor(image, face_boxes=[(0, 0, 0, 5)])
    with pytest.raises(ValueError, match="2 face boxes"):
        image_processor(image, face_boxes=[None, None])


@pytest.mark.parametrize(
    "bad, error, message",
    [
        ("/no/such/face.jpg", FileNotFoundError, "face.jpg"),
        (b"", ValueError, "empty"),
        (b"not an image at all", OSError, "Cannot read"),
        (np.full((4, 4), np.nan, dtype=np.float32), ValueError, "NaN"),
        (np.zeros((5, 5, 7), dtype=np.uint8), ValueError, "expected"),
        (np.full((4, 4), -3, dtype=np.int32), ValueError, r"\[0, 255\]"),
        ("https://example.com/face.jpg", ValueError, "URL"),
        (12345, TypeError, "int"),
    ],
)
def test_bad_inputs_are_clear_errors(bad, error, message, image_processor):
    with pytest.raises(error, match=message):
        image_processor(bad)


def test_directory_and_corrupt_file_name_the_path(tmp_path, image_processor):
    with pytest.raises(IsADirectoryError, match=str(tmp_path)):
        image_processor(str(tmp_path))
    truncated = tmp_path / "truncated.jpg"
    buffer = io.BytesIO()
    _left_red_right_blue(64, 64).save(buffer, format="JPEG")
    truncated.write_bytes(buffer.getvalue()[:200])
    with pytest.raises(OSError, match="truncated.jpg"):
        image_processor(str(truncated))


def test_save_and_load(tmp_path):
    processor = EmotiFusionImageProcessor(size=48, face_margin=0.25)
    processor.save_pretrained(tmp_path)
    loaded = EmotiFusionImageProcessor.from_pretrained(tmp_path)
    assert loaded.size == {"height": 48, "width": 48} and loaded.face_margin == 0.25


# ---------------------------------------------------------------------------------------------------------------
# Files and paths
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, error, message",
    [
        ("empty.jpg", OSError, "empty"),
        ("text.jpg", OSError, "not an image"),
        ("archive.png", OSError, "not an image"),
        ("truncated.jpg", OSError, "Cannot read"),
        ("corrupt_chunk.png", OSError, "Cannot read"),
        ("a_folder.jpg", IsADirectoryError, "directory"),
        ("missing.jpg", FileNotFoundError, "not found"),
    ],
    ids=["zero-byte", "text-named-jpg", "zip-named-png", "truncated-jpeg", "corrupt-png-chunk", "directory", "missing"],
)
def test_broken_image_files_are_clear_errors_naming_the_file(bad_files, tiny_image_processor, name, error, message):
    with pytest.raises(error, match=message) as raised:
        tiny_image_processor(str(bad_files / name))
    assert name in str(raised.value)


@pytest.mark.timeout(60)
def test_a_fifo_with_an_image_name_is_refused_without_blocking(bad_files, tiny_image_processor):
    with pytest.raises(OSError, match="not a regular file"):
        tiny_image_processor(str(bad_files / "pipe.jpg"))


def test_postscript_never_reaches_ghostscript(bad_files, tiny_image_processor, monkeypatch):
    def ghostscript(*args, **kwargs):
        raise AssertionError("Ghostscript was invoked on an input file")

    monkeypatch.setattr(EpsImagePlugin, "Ghostscript", ghostscript)
    with pytest.raises(OSError, match="supported format") as raised:
        tiny_image_processor(str(bad_files / "page.eps"))
    assert "page.eps" in str(raised.value)
    with pytest.raises(OSError, match="supported format"):
        tiny_image_processor((bad_files / "page.eps").read_bytes())


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/x.jpg",
        "HTTPS://127.0.0.1:9/x.jpg",
        "  https://127.0.0.1:9/x.jpg",
        "ftp://127.0.0.1:9/x.jpg",
        "file:///etc/hostname",
        "s3://bucket/face.jpg",
        "data:image/png;base64,iVBORw0KGgo=",
    ],
)
def test_url_inputs_are_refused_without_network_access(url, tiny_image_processor, tiny_pipe, no_network):
    with pytest.raises(ValueError, match="URL inputs are not fetched"):
        tiny_image_processor(url)
    with pytest.raises(ValueError, match="Input 0 image: .*URL"):
        tiny_pipe({"image": url, "text": "hello"})


def test_decompression_bomb_file_is_refused_before_decoding(bad_files, tiny_image_processor, tiny_pipe):
    with pytest.raises(OSError, match="too large") as raised:
        tiny_image_processor(str(bad_files / "bomb.png"))
    assert "bomb.png" in str(raised.value)
    with pytest.raises(OSError, match="Input 0 image: .*too large"):
        tiny_pipe({"image": str(bad_files / "bomb.png")})
    assert 9000 * 9000 > MAX_IMAGE_PIXELS


# ---------------------------------------------------------------------------------------------------------------
# Odd but valid images: correct answers
# ---------------------------------------------------------------------------------------------------------------


ODD_SIZES = [(1, 4000), (4000, 1), (1, 1), (2, 3)]


@pytest.mark.parametrize("size", ODD_SIZES, ids=["1x4000", "4000x1", "1x1", "2x3"])
def test_extreme_aspect_ratios_and_tiny_images_give_valid_pixels(tiny_image_processor, size):
    image = Image.new("RGB", size, (10, 200, 30))
    pixel_values = tiny_image_processor(image)["pixel_values"]
    assert pixel_values.shape == (1, 3, TINY_IMAGE_SIZE, TINY_IMAGE_SIZE) and torch.isfinite(pixel_values).all()
    assert (processed_pixels(tiny_image_processor, image) == (10, 200, 30)).all()


def test_extreme_aspect_ratios_and_tiny_images_give_finite_scores(tiny_pipe):
    inputs = [{"image": Image.new("RGB", size, (10, 200, 30))} for size in ODD_SIZES]
    for scores in tiny_pipe(inputs, batch_size=len(inputs)):
        assert_distribution(scores)


def test_cmyk_jpeg_file_gives_the_right_colour(tmp_path, tiny_image_processor):
    path = tmp_path / "cmyk.jpg"
    Image.new("CMYK", (20, 20), (0, 255, 255, 0)).save(path, quality=100)  # pure red in CMYK
    red, green, blue = processed_pixels(tiny_image_processor, str(path)).reshape(-1, 3).mean(axis=0)
    assert red > 240 and green < 15 and blue < 15


def test_16_bit_png_is_scaled_by_its_bit_depth(tmp_path, tiny_image_processor):
    path = tmp_path / "deep.png"
    levels = np.array([[0, 32768], [65535, 65535]], dtype=np.uint16).repeat(8, axis=0).repeat(8, axis=1)
    Image.fromarray(levels).save(path)
    loaded = np.asarray(load_image(str(path)))
    assert loaded.shape == (16, 16, 3)
    assert loaded[0, 0].tolist() == [0, 0, 0] and loaded[0, 15].tolist() == [128, 128, 128]
    assert loaded[15, 0].tolist() == [255, 255, 255]


def test_palette_and_rgba_pngs_are_composited_on_white(tmp_path, tiny_image_processor):
    palette = Image.new("P", (8, 8), 0)
    palette.putpalette([255, 0, 0] + [0, 0, 255] * 255)
    palette.paste(1, (4, 0, 8, 8))
    palette.save(tmp_path / "palette.png", transparency=0)  # index 0 (red) is see-through
    loaded = np.asarray(load_image(str(tmp_path / "palette.png")))
    assert loaded[0, 0].tolist() == [255, 255, 255] and loaded[0, 7].tolist() == [0, 0, 255]

    rgba = np.zeros((8, 8, 4), dtype=np.uint8)
    rgba[:, 4:] = (255, 0, 0, 255)
    Image.fromarray(rgba).save(tmp_path / "rgba.png")
    loaded = np.asarray(load_image(str(tmp_path / "rgba.png")))
    assert loaded[0, 0].tolist() == [255, 255, 255] and loaded[0, 7].tolist() == [255, 0, 0]


def test_exif_rotated_jpeg_file_is_turned_upright(tmp_path):
    stored = np.zeros((20, 30, 3), dtype=np.uint8)
    stored[:, :15] = (255, 0, 0)
    stored[:, 15:] = (0, 0, 255)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    path = tmp_path / "rotated.jpg"
    Image.fromarray(stored).save(path, exif=exif.tobytes(), quality=100)
    upright = np.asarray(load_image(str(path)))
    assert upright.shape == (30, 20, 3)  # portrait after rotation
    assert upright[2, 10, 0] > 200 and upright[-3, 10, 2] > 200  # the stored left half is now on top


# ---------------------------------------------------------------------------------------------------------------
# Arrays and tensors
# ---------------------------------------------------------------------------------------------------------------


def test_float_arrays_in_either_range_equal_the_uint8_image(tiny_image_processor):
    base = noise_pixels()
    expected = processed_pixels(tiny_image_processor, base)
    np.testing.assert_array_equal(processed_pixels(tiny_image_processor, base / 255.0), expected)
    np.testing.assert_array_equal(processed_pixels(tiny_image_processor, base.astype(np.float32)), expected)
    half = processed_pixels(tiny_image_processor, (base / 255.0).astype(np.float16))
    assert np.abs(half.astype(int) - expected).max() <= 1  # float16 keeps 11 bits: within one 8-bit level


def test_grayscale_and_bool_arrays_become_rgb(tiny_image_processor):
    gray = noise_pixels()[..., 0]
    as_rgb = np.repeat(gray[..., None], 3, axis=-1)
    expected = processed_pixels(tiny_image_processor, as_rgb)
    np.testing.assert_array_equal(processed_pixels(tiny_image_processor, gray), expected)
    np.testing.assert_array_equal(processed_pixels(tiny_image_processor, gray[..., None]), expected)
    mask = np.zeros((8, 8), dtype=bool)
    mask[:, 4:] = True
    loaded = np.asarray(load_image(mask))
    assert loaded[0, 0].tolist() == [0, 0, 0] and loaded[0, 7].tolist() == [255, 255, 255]


def test_tensor_layouts_agree_with_the_numpy_image(tiny_image_processor):
    base = noise_pixels()
    expected = processed_pixels(tiny_image_processor, base)
    hwc = torch.from_numpy(base)
    chw = hwc.permute(2, 0, 1)
    for layout in (chw, hwc, chw.unsqueeze(0), chw.float() / 255, chw.to(torch.bfloat16) / 255):
        processed = processed_pixels(tiny_image_processor, layout)
        assert np.abs(processed.astype(int) - expected).max() <= (2 if layout.dtype == torch.bfloat16 else 0)
    np.testing.assert_array_equal(
        processed_pixels(tiny_image_processor, hwc[..., 0]), processed_pixels(tiny_image_processor, np.repeat(base[..., :1], 3, axis=-1))
    )
    # As a whole 4-D batch, a 1xCxHxW tensor is one image too.
    batched = tiny_image_processor(chw.unsqueeze(0))["pixel_values"]
    torch.testing.assert_close(batched, tiny_image_processor(base)["pixel_values"])


def test_sparse_and_half_precision_tensors_are_accepted(tiny_image_processor, tiny_pipe):
    chw = torch.from_numpy(noise_pixels()).permute(2, 0, 1).float() / 255
    expected = processed_pixels(tiny_image_processor, chw)
    np.testing.assert_array_equal(processed_pixels(tiny_image_processor, chw.to_sparse()), expected)
    assert np.abs(processed_pixels(tiny_image_processor, chw.half()).astype(int) - expected).max() <= 1
    assert_distribution(tiny_pipe({"image": chw.unsqueeze(0).to(torch.bfloat16), "text": "hi"}))


def test_float_values_beyond_float32_are_clipped_without_overflow(tiny_image_processor, recwarn):
    huge = np.full((6, 6, 3), 1e300)
    assert (processed_pixels(tiny_image_processor, huge) == 255).all()
    assert not [warning for warning in recwarn if issubclass(warning.category, RuntimeWarning)]


@pytest.mark.parametrize(
    "array, error, message",
    [
        (np.full((6, 6, 3), np.nan), ValueError, "NaN"),
        (np.full((6, 6, 3), np.inf, dtype=np.float32), ValueError, "infinite"),
        (torch.full((3, 6, 6), float("nan")), ValueError, "NaN"),
        (np.random.default_rng(0).normal(size=(6, 6, 3)), ValueError, "normalised"),
        (np.full((6, 6), -3, dtype=np.int32), ValueError, r"\[0, 255\]"),
        (np.full((6, 6), 300, dtype=np.int64), ValueError, r"\[0, 255\]"),
        (np.zeros((6, 6, 2), dtype=np.uint8), ValueError, "expected"),
        (torch.zeros(2, 6, 6), ValueError, "expected"),
        (np.zeros((1, 1, 3, 6, 6), dtype=np.uint8), ValueError, "expected"),
        (torch.zeros(1, 1, 3, 6, 6), ValueError, "expected"),
        (np.zeros(10, dtype=np.uint8), ValueError, "expected"),
        (np.array(3), ValueError, "expected"),
        (np.array([[object(), object()]], dtype=object), ValueError, "dtype object"),
        (np.zeros((3, 6, 6), dtype=np.complex64), ValueError, "dtype complex64"),
        (np.zeros((0, 0, 3), dtype=np.uint8), ValueError, "empty"),
        (np.zeros((0, 6, 6, 3), dtype=np.uint8), ValueError, "empty batch"),
        (Image.new("RGB", (0, 0)), ValueError, "no pixels"),
        (Image.fromarray(np.full((4, 4), np.nan, dtype=np.float32)), ValueError, "NaN"),
        (None, TypeError, "NoneType"),
        ({"image": "x.jpg"}, TypeError, "dict"),
        (3.5, TypeError, "float"),
        (memoryview(b"\xff\xd8"), TypeError, "memoryview"),
        ([[noise_pixels()]], TypeError, "list"),
        ([], ValueError, "empty list"),
    ],
    ids=[
        "nan", "inf", "nan-tensor", "normalised-floats", "negative-int", "int-above-255", "two-channels",
        "two-channel-tensor", "5d-array", "5d-tensor", "1d", "0d", "object-dtype", "complex-dtype", "empty-array",
        "empty-batch", "zero-size-pil", "nan-pil-float", "none", "dict", "float-scalar", "memoryview", "nested-list",
        "empty-list",
    ],
)
def test_invalid_arrays_and_objects_are_clear_errors(tiny_image_processor, array, error, message):
    with pytest.raises(error, match=message) as raised:
        tiny_image_processor(array)
    assert not isinstance(raised.value, RuntimeError)
