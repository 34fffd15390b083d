import io

import numpy as np
import pytest
import torch
from PIL import Image

from emotifusion_hf import EmotiFusionImageProcessor, load_image


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
