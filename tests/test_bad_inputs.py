"""Bad input, kind by kind: each gets a correct answer or a short ValueError / TypeError / OSError that names the input
and the problem; never a torch internal error, a NaN score, a network access or a hang.

Covers the image processor, the processor, the pipeline, `emotifusion predict`, the AffectNet readers and
`python -m dataset_builder build`. Everything runs on one tiny checkpoint (64 px images, a 1-layer 32-wide BERT)."""

import csv
import io
import json
import os
import re
import socket
import zipfile
from collections import Counter

import datasets
import numpy as np
import pytest
import torch
from PIL import EpsImagePlugin, Image

from dataset_builder.__main__ import main as dataset_builder_main
from dataset_builder.affectnet import OFFICIAL_COLUMNS, read_affectnet
from dataset_builder.face_images import load_face
from dataset_builder.records import BadRowError
from emotifusion_hf import EmotiFusionForEmotionClassification, EmotiFusionImageProcessor, EmotionFusionPipeline
from emotifusion_hf.cli import main as emotifusion_main
from emotifusion_hf.image_processing_emotifusion import MAX_IMAGE_PIXELS, load_image
from emotifusion_hf.predict import load_pipeline

from conftest import TINY_IMAGE_SIZE, make_tiny_config, tiny_text_config


# ---------------------------------------------------------------------------------------------------------------
# Shared fixtures: one checkpoint, one pipeline, one folder of bad files
# ---------------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory, processor):
    torch.manual_seed(0)
    directory = tmp_path_factory.mktemp("bad_inputs_checkpoint")
    config = make_tiny_config(text_config=tiny_text_config(processor.tokenizer.vocab_size))
    EmotiFusionForEmotionClassification(config).eval().save_pretrained(directory)
    processor.save_pretrained(directory)
    return str(directory)


@pytest.fixture(scope="module")
def pipe(checkpoint):
    return load_pipeline(checkpoint, device="cpu")


@pytest.fixture(scope="module")
def image_processor():
    return EmotiFusionImageProcessor(size=TINY_IMAGE_SIZE)


def _noise(height=40, width=30, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def _encoded(image: Image.Image, format: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=format, **options)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Files that carry image names but are not (readable) images, next to a few odd but valid ones."""
    folder = tmp_path_factory.mktemp("bad_files")
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "text.jpg").write_text("This is a text file with an image name.\n")
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("face.jpg", b"\xff\xd8\xff not inside")
    (folder / "archive.png").write_bytes(archive.getvalue())
    good_jpeg = _encoded(Image.fromarray(_noise()), "JPEG")
    (folder / "truncated.jpg").write_bytes(good_jpeg[: len(good_jpeg) // 3])
    png = _encoded(Image.fromarray(_noise()), "PNG")
    (folder / "corrupt_chunk.png").write_bytes(png[:40] + b"\x00" * 64 + png[104:])
    (folder / "page.eps").write_text("%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n")
    # A 9000 x 9000 one-bit PNG: ~20 kB on disk, 243 MB as RGB.
    (folder / "bomb.png").write_bytes(_encoded(Image.new("1", (9000, 9000)), "PNG", optimize=True))
    (folder / "face.jpg").write_bytes(good_jpeg)
    os.mkfifo(folder / "pipe.jpg")
    (folder / "a_folder.jpg").mkdir()
    return folder


@pytest.fixture
def no_network(monkeypatch):
    """Fails the test on any attempt to resolve a name or open a connection."""
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    yield attempts
    assert attempts == []


def _pixels(image_processor, image) -> np.ndarray:
    """The uint8 (H, W, 3) array the processor resizes and normalises."""
    return image_processor.prepare_image(image)


def assert_distribution(scores):
    assert len(scores) == 8
    values = [item["score"] for item in scores]
    assert all(np.isfinite(values)) and sum(values) == pytest.approx(1.0, abs=1e-5)


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
def test_broken_image_files_are_clear_errors_naming_the_file(files, image_processor, name, error, message):
    with pytest.raises(error, match=message) as raised:
        image_processor(str(files / name))
    assert name in str(raised.value)


@pytest.mark.timeout(60)
def test_a_fifo_with_an_image_name_is_refused_without_blocking(files, image_processor):
    with pytest.raises(OSError, match="not a regular file"):
        image_processor(str(files / "pipe.jpg"))


def test_postscript_never_reaches_ghostscript(files, image_processor, monkeypatch):
    def ghostscript(*args, **kwargs):
        raise AssertionError("Ghostscript was invoked on an input file")

    monkeypatch.setattr(EpsImagePlugin, "Ghostscript", ghostscript)
    with pytest.raises(OSError, match="supported format") as raised:
        image_processor(str(files / "page.eps"))
    assert "page.eps" in str(raised.value)
    with pytest.raises(OSError, match="supported format"):
        image_processor((files / "page.eps").read_bytes())


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
def test_url_inputs_are_refused_without_network_access(url, image_processor, pipe, no_network):
    with pytest.raises(ValueError, match="URL inputs are not fetched"):
        image_processor(url)
    with pytest.raises(ValueError, match="Input 0 image: .*URL"):
        pipe({"image": url, "text": "hello"})


def test_decompression_bomb_file_is_refused_before_decoding(files, image_processor, pipe):
    with pytest.raises(OSError, match="too large") as raised:
        image_processor(str(files / "bomb.png"))
    assert "bomb.png" in str(raised.value)
    with pytest.raises(OSError, match="Input 0 image: .*too large"):
        pipe({"image": str(files / "bomb.png")})
    assert 9000 * 9000 > MAX_IMAGE_PIXELS


# ---------------------------------------------------------------------------------------------------------------
# Odd but valid images: correct answers
# ---------------------------------------------------------------------------------------------------------------


ODD_SIZES = [(1, 4000), (4000, 1), (1, 1), (2, 3)]


@pytest.mark.parametrize("size", ODD_SIZES, ids=["1x4000", "4000x1", "1x1", "2x3"])
def test_extreme_aspect_ratios_and_tiny_images_give_valid_pixels(image_processor, size):
    image = Image.new("RGB", size, (10, 200, 30))
    pixel_values = image_processor(image)["pixel_values"]
    assert pixel_values.shape == (1, 3, TINY_IMAGE_SIZE, TINY_IMAGE_SIZE) and torch.isfinite(pixel_values).all()
    assert (_pixels(image_processor, image) == (10, 200, 30)).all()


def test_extreme_aspect_ratios_and_tiny_images_give_finite_scores(pipe):
    inputs = [{"image": Image.new("RGB", size, (10, 200, 30))} for size in ODD_SIZES]
    for scores in pipe(inputs, batch_size=len(inputs)):
        assert_distribution(scores)


def test_cmyk_jpeg_file_gives_the_right_colour(tmp_path, image_processor):
    path = tmp_path / "cmyk.jpg"
    Image.new("CMYK", (20, 20), (0, 255, 255, 0)).save(path, quality=100)  # pure red in CMYK
    red, green, blue = _pixels(image_processor, str(path)).reshape(-1, 3).mean(axis=0)
    assert red > 240 and green < 15 and blue < 15


def test_16_bit_png_is_scaled_by_its_bit_depth(tmp_path, image_processor):
    path = tmp_path / "deep.png"
    levels = np.array([[0, 32768], [65535, 65535]], dtype=np.uint16).repeat(8, axis=0).repeat(8, axis=1)
    Image.fromarray(levels).save(path)
    loaded = np.asarray(load_image(str(path)))
    assert loaded.shape == (16, 16, 3)
    assert loaded[0, 0].tolist() == [0, 0, 0] and loaded[0, 15].tolist() == [128, 128, 128]
    assert loaded[15, 0].tolist() == [255, 255, 255]


def test_palette_and_rgba_pngs_are_composited_on_white(tmp_path, image_processor):
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


def test_float_arrays_in_either_range_equal_the_uint8_image(image_processor):
    base = _noise()
    expected = _pixels(image_processor, base)
    np.testing.assert_array_equal(_pixels(image_processor, base / 255.0), expected)
    np.testing.assert_array_equal(_pixels(image_processor, base.astype(np.float32)), expected)
    half = _pixels(image_processor, (base / 255.0).astype(np.float16))
    assert np.abs(half.astype(int) - expected).max() <= 1  # float16 keeps 11 bits: within one 8-bit level


def test_grayscale_and_bool_arrays_become_rgb(image_processor):
    gray = _noise()[..., 0]
    as_rgb = np.repeat(gray[..., None], 3, axis=-1)
    expected = _pixels(image_processor, as_rgb)
    np.testing.assert_array_equal(_pixels(image_processor, gray), expected)
    np.testing.assert_array_equal(_pixels(image_processor, gray[..., None]), expected)
    mask = np.zeros((8, 8), dtype=bool)
    mask[:, 4:] = True
    loaded = np.asarray(load_image(mask))
    assert loaded[0, 0].tolist() == [0, 0, 0] and loaded[0, 7].tolist() == [255, 255, 255]


def test_tensor_layouts_agree_with_the_numpy_image(image_processor):
    base = _noise()
    expected = _pixels(image_processor, base)
    hwc = torch.from_numpy(base)
    chw = hwc.permute(2, 0, 1)
    for layout in (chw, hwc, chw.unsqueeze(0), chw.float() / 255, chw.to(torch.bfloat16) / 255):
        processed = _pixels(image_processor, layout)
        assert np.abs(processed.astype(int) - expected).max() <= (2 if layout.dtype == torch.bfloat16 else 0)
    np.testing.assert_array_equal(
        _pixels(image_processor, hwc[..., 0]), _pixels(image_processor, np.repeat(base[..., :1], 3, axis=-1))
    )
    # As a whole 4-D batch, a 1xCxHxW tensor is one image too.
    batched = image_processor(chw.unsqueeze(0))["pixel_values"]
    torch.testing.assert_close(batched, image_processor(base)["pixel_values"])


def test_sparse_and_half_precision_tensors_are_accepted(image_processor, pipe):
    chw = torch.from_numpy(_noise()).permute(2, 0, 1).float() / 255
    expected = _pixels(image_processor, chw)
    np.testing.assert_array_equal(_pixels(image_processor, chw.to_sparse()), expected)
    assert np.abs(_pixels(image_processor, chw.half()).astype(int) - expected).max() <= 1
    assert_distribution(pipe({"image": chw.unsqueeze(0).to(torch.bfloat16), "text": "hi"}))


def test_float_values_beyond_float32_are_clipped_without_overflow(image_processor, recwarn):
    huge = np.full((6, 6, 3), 1e300)
    assert (_pixels(image_processor, huge) == 255).all()
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
        ([[_noise()]], TypeError, "list"),
        ([], ValueError, "empty list"),
    ],
    ids=[
        "nan", "inf", "nan-tensor", "normalised-floats", "negative-int", "int-above-255", "two-channels",
        "two-channel-tensor", "5d-array", "5d-tensor", "1d", "0d", "object-dtype", "complex-dtype", "empty-array",
        "empty-batch", "zero-size-pil", "nan-pil-float", "none", "dict", "float-scalar", "memoryview", "nested-list",
        "empty-list",
    ],
)
def test_invalid_arrays_and_objects_are_clear_errors(image_processor, array, error, message):
    with pytest.raises(error, match=message) as raised:
        image_processor(array)
    assert not isinstance(raised.value, RuntimeError)


# ---------------------------------------------------------------------------------------------------------------
# Texts
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["", "   ", "\t\n\r\x0b\x0c", "\u00a0\u2003\u3000"],
    ids=["empty", "spaces", "ascii-whitespace", "unicode-spaces"],
)
def test_empty_and_whitespace_only_texts_are_errors(processor, pipe, text):
    with pytest.raises(ValueError, match="empty or blank"):
        processor(text=text)
    with pytest.raises(ValueError, match="input 0 text.*empty or blank"):
        pipe({"text": text})


def test_huge_texts_and_dialogues_are_truncated(processor, pipe):
    # One 100k-character "word" is a single unknown token; 100k characters of words are cut at 128 tokens.
    unknown_word = processor(text="a" * 100_000)["input_ids"]
    assert unknown_word.tolist() == [[processor.tokenizer.cls_token_id, processor.tokenizer.unk_token_id,
                                      processor.tokenizer.sep_token_id]]
    assert processor(text="word " * 20_000)["input_ids"].shape == (1, 128)
    assert processor(text=[["turn"] * 20_000])["input_ids"].shape == (1, 128)
    assert_distribution(pipe({"text": "x " * 50_000}))


@pytest.mark.parametrize(
    "text",
    [
        "bell\x07 escape\x1b[31m red", "nul\x00byte", "\x00\x00", "I'm so happy 😀🎉", "مرحبا، كيف حالك؟",
        "\u202eevil\u202c", "zero\u200bwidth", "\u200b", "e\u0301\u0301\u0301",
    ],
    ids=["control", "nul", "only-nul", "emoji", "rtl", "bidi-override", "zero-width", "only-zero-width", "combining"],
)
def test_unusual_characters_give_finite_scores(processor, pipe, text):
    batch = processor(text=text)
    assert batch["input_ids"].shape[0] == 1 and batch["attention_mask"].sum() >= 2
    assert_distribution(pipe({"text": text}))
    assert_distribution(pipe({"text": [text, "ok."]}))


@pytest.mark.parametrize(
    "text, error, message",
    [
        (42, TypeError, "got int"),
        (float("nan"), TypeError, "got float"),
        (True, TypeError, "got bool"),
        (["fine", None], TypeError, r"text\[1\].*NoneType"),
        ({"text": "hi"}, TypeError, "got dict"),
        ({"hi"}, TypeError, "got set"),
        (np.array(["a", "b"]), TypeError, "got ndarray"),
        ([["a", 3]], TypeError, r"text\[0\]\[1\].*int"),
        ([[["too", "deep"]]], TypeError, r"text\[0\]\[0\].*list"),
        (b"\xff\xfe caf\xe9", TypeError, "not valid UTF-8"),
        ([[b"ok", b"\xc3"]], TypeError, r"text\[0\]\[1\].*not valid UTF-8"),
        ("lone \ud800 surrogate", ValueError, "not valid Unicode"),
        ([], ValueError, "empty list"),
        ([["", "  ", "\n"]], ValueError, "no non-blank turn"),
        ([[]], ValueError, "no non-blank turn"),
    ],
    ids=[
        "int", "nan-float", "bool", "none-in-list", "dict", "set", "numpy-strings", "int-turn", "nested-too-deep",
        "non-utf8-bytes", "non-utf8-bytes-turn", "lone-surrogate", "empty-batch", "all-turns-blank", "no-turns",
    ],
)
def test_invalid_texts_are_clear_errors(processor, text, error, message):
    with pytest.raises(error, match=message):
        processor(text=text)


def test_utf8_bytes_are_decoded_like_strings(processor, pipe):
    as_text = processor(text=["café au lait", ["You're late.", "Sorry."]])["input_ids"]
    as_bytes = processor(text=["café au lait".encode(), [b"You're late.", bytearray(b"Sorry.")]])["input_ids"]
    assert torch.equal(as_text, as_bytes)
    assert pipe({"text": "café"}) == pipe({"text": "café".encode()})
    with pytest.raises(TypeError, match="input 0 text.*not valid UTF-8"):
        pipe({"text": b"\xe9t\xe9"})


def test_empty_turns_are_dropped_from_dialogues(processor, pipe):
    with_blanks = processor(text=[["", "You're late.", "  ", "Sorry, the bus.", "\n"]])["input_ids"]
    without = processor(text=[["You're late.", "Sorry, the bus."]])["input_ids"]
    assert torch.equal(with_blanks, without)
    dialogue = ["You're late.", "Sorry, the bus."]
    assert pipe({"text": ["", dialogue[0], " ", dialogue[1]]}) == pipe({"text": dialogue})


# ---------------------------------------------------------------------------------------------------------------
# Modalities, batches and the pipeline's own arguments
# ---------------------------------------------------------------------------------------------------------------


def test_both_modalities_missing_is_an_error(processor, pipe):
    with pytest.raises(ValueError, match="neither"):
        processor()
    with pytest.raises(ValueError, match="neither"):
        processor(images=None, text=None)
    for empty in ({}, {"image": None, "text": None}, None):
        with pytest.raises(ValueError, match="neither an image nor a text"):
            pipe(empty)
    with pytest.raises(ValueError, match="Input 1 has neither"):
        pipe([{"text": "hi"}, {"image": None}])


def test_image_and_text_counts_must_match(processor):
    with pytest.raises(ValueError, match="2 images but 1 texts"):
        processor(images=[_noise(), _noise()], text="hi")
    with pytest.raises(ValueError, match="1 images but 2 texts"):
        processor(images=_noise(), text=["You're late.", "Sorry."])  # a dialogue must sit inside the batch list


def test_a_bad_image_inside_a_batch_names_its_input(files, pipe):
    inputs = [{"image": str(files / "face.jpg"), "text": "hi"}, {"text": "fine"}, {"image": str(files / "text.jpg")}]
    with pytest.raises(OSError, match=r"Input 2 image: .*text\.jpg"):
        pipe(inputs, batch_size=3)
    with pytest.raises(TypeError, match="Input 1 image: .*int"):
        pipe([{"image": _noise()}, {"image": 7}], batch_size=2)


@pytest.mark.parametrize(
    "arguments, error, message",
    [
        ({"batch_size": 0}, ValueError, "batch_size"),
        ({"batch_size": True}, ValueError, "batch_size"),
        ({"batch_size": -2}, ValueError, "batch_size"),
        ({"top_k": 0}, ValueError, "top_k"),
        ({"top_k": 2.0}, ValueError, "top_k"),
        ({"face_margin": float("nan")}, ValueError, "face_margin"),
        ({"face_margin": -0.5}, ValueError, "face_margin"),
        ({"face_margin": "wide"}, TypeError, "face_margin"),
        ({"threshold": 0.5}, TypeError, "threshold"),
    ],
)
def test_bad_pipeline_arguments_are_clear_errors(pipe, arguments, error, message):
    with pytest.raises(error, match=message):
        pipe([{"text": "hi"}], **arguments)


@pytest.mark.parametrize(
    "inputs, error, message",
    [
        ("just a string", TypeError, "dict"),
        (["hi"], TypeError, "Input 0 must be a dict"),
        ({"picture": "face.jpg"}, ValueError, "unknown key"),
        ((item for item in [{"text": "hi"}]), TypeError, "generator"),
    ],
    ids=["string", "list-of-strings", "unknown-key", "generator"],
)
def test_malformed_pipeline_inputs_are_clear_errors(pipe, inputs, error, message):
    with pytest.raises(error, match=message):
        pipe(inputs)


def test_non_finite_model_output_is_an_error_not_nan_scores(checkpoint, processor):
    broken = EmotiFusionForEmotionClassification.from_pretrained(checkpoint).eval()
    with torch.no_grad():
        broken.classifier.weight.fill_(float("nan"))
    pipe = EmotionFusionPipeline(model=broken, processor=processor, device="cpu")
    with pytest.raises(ValueError, match="non-finite logits"):
        pipe({"text": "hello"})


# ---------------------------------------------------------------------------------------------------------------
# `emotifusion predict`
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "image, message",
    [
        ("http://127.0.0.1:9/x.jpg", "URL"),
        ("a_folder.jpg", "directory"),
        ("empty.jpg", "empty.jpg"),
        ("text.jpg", "text.jpg"),
        ("pipe.jpg", "not a regular file"),
        ("bomb.png", "too large"),
        ("missing.jpg", "missing.jpg"),
    ],
    ids=["url", "directory", "zero-byte", "text-named-jpg", "fifo", "decompression-bomb", "missing"],
)
@pytest.mark.timeout(60)
def test_predict_reports_bad_images_in_one_line(checkpoint, files, capsys, no_network, image, message):
    path = image if "://" in image else str(files / image)
    assert emotifusion_main(["predict", "--model", checkpoint, "--image", path, "--text", "hi"]) == 1
    error = capsys.readouterr().err
    error_lines = [line for line in error.splitlines() if "error:" in line]
    assert len(error_lines) == 1 and message in error_lines[0] and "Traceback" not in error


def test_predict_refuses_an_unusable_device_before_loading(checkpoint, capsys):
    assert emotifusion_main(["predict", "--model", checkpoint, "--text", "hi", "--device", "bogus"]) == 1
    assert "Device 'bogus'" in capsys.readouterr().err
    if not torch.cuda.is_available():
        assert emotifusion_main(["predict", "--model", checkpoint, "--text", "hi", "--device", "cuda:3"]) == 1
        assert "Device 'cuda:3'" in capsys.readouterr().err


@pytest.mark.parametrize("option", ["--batch-size", "--top-k"])
@pytest.mark.parametrize("value", ["0", "-1", "many"])
def test_predict_refuses_non_positive_counts(checkpoint, capsys, option, value):
    with pytest.raises(SystemExit) as exit_info:
        emotifusion_main(["predict", "--model", checkpoint, "--text", "hi", option, value])
    assert exit_info.value.code == 2 and "positive integer" in capsys.readouterr().err


def test_predict_reads_csv_with_bom_crlf_and_quoted_commas(checkpoint, files, tmp_path):
    inputs = tmp_path / "rows.csv"
    lines = ["id,image,text", f'1,{files / "face.jpg"},"Well, well, well."', '2,,"You\'re late. || Sorry, the bus."']
    inputs.write_bytes(("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8"))
    output = tmp_path / "out.jsonl"
    assert emotifusion_main(["predict", "--model", checkpoint, "--inputs", str(inputs), "--output", str(output)]) == 0
    results = [json.loads(line) for line in output.read_text().splitlines()]
    assert [result["id"] for result in results] == ["1", "2"]
    for result in results:
        assert_distribution(result["scores"])


def test_predict_names_an_inputs_file_that_is_not_utf8(checkpoint, tmp_path, capsys):
    inputs = tmp_path / "latin1.csv"
    inputs.write_bytes("image,text\n,café crème\n".encode("latin-1"))
    assert emotifusion_main(["predict", "--model", checkpoint, "--inputs", str(inputs)]) == 1
    error = capsys.readouterr().err
    assert "latin1.csv" in error and "not UTF-8" in error


def test_predict_answers_good_rows_and_names_each_bad_row(checkpoint, files, tmp_path, no_network):
    rows = [
        {"id": "ok", "image": "face.jpg", "text": "hello"},
        {"id": "number-text", "text": 12},
        {"id": "number-turn", "text": ["fine", 3]},
        {"id": "deep", "text": [["too", "deep"]]},
        {"id": "blank", "text": "   "},
        {"id": "url", "image": "http://127.0.0.1:9/x.jpg"},
        {"id": "image-number", "image": 5},
        {"id": "zip", "image": "archive.png"},
        {"id": "extra", "text": "hi", "mood": "?"},
        {"id": "ok-too", "text": "\u202eevil\u202c 😀"},
    ]
    inputs = files / "rows.jsonl"
    inputs.write_text("\n".join(json.dumps(row) for row in rows) + "\n[1, 2]\n")
    output = tmp_path / "out.jsonl"
    assert emotifusion_main(["predict", "--model", checkpoint, "--inputs", str(inputs), "--output", str(output)]) == 0
    results = {result.get("id", "array"): result for result in map(json.loads, output.read_text().splitlines())}
    assert_distribution(results["ok"]["scores"])
    assert_distribution(results["ok-too"]["scores"])
    expected_errors = {
        "number-text": "int", "number-turn": r"text\[1\]", "deep": "list", "blank": "blank", "url": "URL",
        "image-number": "int", "zip": "archive.png", "extra": "mood", "array": "JSON object",
    }
    for identity, message in expected_errors.items():
        assert "error" in results[identity], results[identity]
        assert re.search(message, results[identity]["error"]), results[identity]


# ---------------------------------------------------------------------------------------------------------------
# AffectNet readers: official CSV
# ---------------------------------------------------------------------------------------------------------------


def _write_jpeg(path, colour=(120, 80, 60), size=(64, 48)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path, "JPEG")


def _official_tree(root, rows, header=OFFICIAL_COLUMNS, raw: bytes | None = None):
    """`Manually_Annotated_Images/<code>/face.jpg` for codes 0-7, and `training.csv` from `rows` (or `raw` bytes)."""
    for code in range(8):
        _write_jpeg(root / "Manually_Annotated_Images" / f"{code}/face.jpg", colour=(code * 30, 90, 90))
    lists = root / "Manually_Annotated_file_lists"
    lists.mkdir(parents=True)
    if raw is None:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(header)
        writer.writerows(rows)
        raw = buffer.getvalue().encode("utf-8")
    (lists / "training.csv").write_bytes(raw)
    return root


def _row(code, path=None, box=("4", "2", "40", "32"), valence="0.5", arousal="-0.25"):
    return [path or f"{code % 8}/face.jpg", *box, "1.0;2.0", str(code), valence, arousal]


GOOD_ROWS = [_row(code) for code in range(8)] * 2


def _read(data_dir, **kwargs):
    skipped = Counter()
    return list(read_affectnet(data_dir, skipped=skipped, **kwargs)), skipped


def test_official_csv_bad_rows_are_counted_by_reason(tmp_path):
    bad_rows = [
        _row(1, box=("abc", "2", "40", "32")),  # non-numeric box
        _row(1, box=("4", "2", "inf", "32")),  # infinite box
        _row(1, box=("4", "2", "-40", "32")),  # negative width
        _row(2, valence="nan"),  # NaN valence
        _row(2, arousal="1.5"),  # arousal out of range
        _row(3, valence="-2", arousal="-2"),  # "not annotated": fine
        ["0/face.jpg", "4", "2", "40", "32", "1;2", "-1", "0", "0"],  # negative expression code
        ["0/face.jpg", "4", "2", "40", "32", "1;2", "12", "0", "0"],  # unknown expression code
        ["0/face.jpg", "4", "2", "40", "32", "1;2", "3.5", "0", "0"],  # fractional expression code
        ["0/face.jpg", "4", "2", "40", "32", "1;2", "", "0", "0"],  # missing expression code
        ["0/face.jpg", "4", "2"],  # short row
        _row(0) + ["surplus"],  # extra field
        _row(4, path="../../outside.jpg"),  # a file that is not there
    ]
    records, skipped = _read(_official_tree(tmp_path / "tree", GOOD_ROWS + bad_rows))
    assert skipped == {"bad_number": 8, "empty_box": 1, "unknown_label": 2, "missing_file": 1}
    assert len(records) == len(GOOD_ROWS) + 1
    unannotated = [record for record in records if record.location.endswith(f":{len(GOOD_ROWS) + 7}")]
    assert unannotated and unannotated[0].valence is None and unannotated[0].arousal is None


def test_official_csv_with_bom_crlf_and_quoted_commas_is_read_whole(tmp_path):
    header = ",".join(OFFICIAL_COLUMNS)
    lines = [f'{code}/face.jpg,4,2,40,32,"12.5,7.25,30.0",{code},0.5,-0.5' for code in range(8)]
    raw = ("\ufeff" + header + "\r\n" + "\r\n".join(lines) + "\r\n").encode("utf-8")
    records, skipped = _read(_official_tree(tmp_path / "tree", None, raw=raw))
    assert not skipped and len(records) == 8


@pytest.mark.parametrize(
    "raw, message",
    [
        (
            (",".join(OFFICIAL_COLUMNS[:-2]) + "\n0/face.jpg,4,2,40,32,1;2,1\n").encode(),
            r"missing the column\(s\) \['valence', 'arousal'\]",
        ),
        (b"", "missing the column"),
        ((",".join(OFFICIAL_COLUMNS) + "\n0/caf\xe9.jpg,4,2,40,32,1;2,1,0,0\n").encode("latin-1"), "not UTF-8"),
        (
            (",".join(OFFICIAL_COLUMNS) + "\n0/face.jpg,4,2,40,32," + "1;" * 80_000 + ",1,0,0\n").encode(),
            r"training\.csv:2: malformed CSV",
        ),
    ],
    ids=["missing-columns", "zero-byte", "latin1", "field-too-large"],
)
def test_unreadable_official_csv_is_an_error_naming_the_file(tmp_path, raw, message):
    tree = _official_tree(tmp_path / "tree", None, raw=raw)
    with pytest.raises(ValueError, match=message) as raised:
        _read(tree)
    assert "training.csv" in str(raised.value)


# ---------------------------------------------------------------------------------------------------------------
# AffectNet readers: YOLO
# ---------------------------------------------------------------------------------------------------------------

YOLO_NAMES = "names: [anger, contempt, disgust, fear, happy, neutral, sad, surprise]\n"


def _yolo_tree(root, labels: dict[str, bytes], data_yaml: str = YOLO_NAMES):
    """`images/<stem>.jpg` + `labels/<stem>.txt` for each entry of `labels`, and a data.yaml."""
    (root / "labels").mkdir(parents=True)
    (root / "data.yaml").write_text(data_yaml)
    for stem, content in labels.items():
        _write_jpeg(root / "images" / f"{stem}.jpg", size=(100, 80))
        (root / "labels" / f"{stem}.txt").write_bytes(content)
    return root


def test_yolo_bad_label_lines_are_counted_by_reason(tmp_path):
    labels = {f"good_{label}": f"{label} 0.5 0.5 0.4 0.5\n".encode() for label in range(8)}
    labels.update({
        "too_few_fields": b"3 0.5 0.5 0.2\n",
        "odd_value_count": b"3 0.5 0.5 0.2 0.2 0.1\n",
        "class_out_of_range": b"8 0.5 0.5 0.2 0.2\n",
        "negative_class": b"-1 0.5 0.5 0.2 0.2\n",
        "far_negative_coordinate": b"1 -0.7 0.5 0.2 0.2\n",
        "nan_coordinate": b"1 nan 0.5 0.2 0.2\n",
        "zero_area": b"1 0.5 0.5 0 0.2\n",
        "empty": b"",
        "blank_lines": b"\n \n\r\n",
        "latin1": "1 0.5 0.5 0.2 0.2 # caf\xe9\n".encode("latin-1"),
    })
    records, skipped = _read(_yolo_tree(tmp_path / "yolo", labels))
    assert skipped == {"bad_number": 4, "unknown_label": 2, "empty_box": 1, "no_face": 2, "unsupported_file": 1}
    assert len(records) == 8


def test_yolo_box_outside_the_image_is_a_bad_row_when_decoded(tmp_path):
    tree = _yolo_tree(tmp_path / "yolo", {"left": b"1 -0.3 0.5 0.2 0.2\n"})
    records, skipped = _read(tree, validation_fraction=0.0, test_fraction=0.0)
    assert not skipped and len(records) == 1
    with pytest.raises(BadRowError, match="outside") as raised:
        load_face(records[0])
    assert raised.value.reason == "box_outside_image" and "left.txt:1" in str(raised.value)


@pytest.mark.parametrize(
    "data_yaml, message",
    [
        ("nc: 8\n", "no `names:`"),
        ("names: [anger, b\n  - : :\n", "not a readable YAML"),
        ("names: 7\n", "must be a list or a dict"),
        ("nc: 3\nnames: [anger, sad]\n", "nc=3"),
        ("names: [anger, joyous-ish]\n", "Unknown class name 'joyous-ish'"),
    ],
    ids=["no-names", "invalid-yaml", "names-not-a-list", "nc-mismatch", "unknown-class"],
)
def test_bad_data_yaml_is_an_error_naming_it(tmp_path, data_yaml, message):
    tree = _yolo_tree(tmp_path / "yolo", {"a": b"0 0.5 0.5 0.2 0.2\n"}, data_yaml)
    with pytest.raises(ValueError, match=message) as raised:
        _read(tree)
    assert "data.yaml" in str(raised.value)


# ---------------------------------------------------------------------------------------------------------------
# `python -m dataset_builder build`
# ---------------------------------------------------------------------------------------------------------------


def _build(data_dir, output, *extra):
    return dataset_builder_main(
        ["build", "--source", "affectnet", "--data-dir", str(data_dir), "--output", str(output), *extra]
    )


@pytest.mark.timeout(60)
def test_build_reports_bad_trees_in_one_line(tmp_path, capsys):
    header_only = _official_tree(tmp_path / "header_only", [])
    assert _build(header_only, tmp_path / "out1") == 2
    assert "No usable face" in capsys.readouterr().err

    latin1 = _official_tree(tmp_path / "latin1", None, raw="subDirectory_filePath\ncafé\n".encode("latin-1"))
    assert _build(latin1, tmp_path / "out2") == 2
    assert "training.csv is not UTF-8" in capsys.readouterr().err

    bad_yaml = _yolo_tree(tmp_path / "bad_yaml", {"a": b"0 0.5 0.5 0.2 0.2\n"}, "names: [a, b\n  - : :\n")
    assert _build(bad_yaml, tmp_path / "out3") == 2
    assert "not a readable YAML" in capsys.readouterr().err

    folders = tmp_path / "folders"
    for name in ("happy", "grumpy"):
        _write_jpeg(folders / "train" / name / "face.jpg")
    assert _build(folders, tmp_path / "out4") == 2
    error = capsys.readouterr().err
    assert "Unknown class name 'grumpy'" in error and "Traceback" not in error


@pytest.mark.timeout(60)
def test_build_skips_broken_images_and_odd_file_names(tmp_path, files):
    root = tmp_path / "folders"
    for split, count in (("train", 6), ("test", 2)):
        for label, name in enumerate(("happy", "sad")):
            for index in range(count):
                _write_jpeg(root / split / name / f"face_{index}.jpg", colour=(label * 90, index * 30, 60))
    train_happy = root / "train" / "happy"
    (train_happy / "empty.jpg").write_bytes(b"")
    (train_happy / "text.jpg").write_text("not a picture")
    (train_happy / "archive.png").write_bytes((files / "archive.png").read_bytes())
    # A name that is not UTF-8 (a Latin-1 archive unpacked on Linux).
    with open(os.path.join(os.fsencode(train_happy), b"caf\xe9.jpg"), "wb") as handle:
        Image.new("RGB", (64, 48), (200, 10, 10)).save(handle, "JPEG")
    output = tmp_path / "built"
    assert _build(root, output, "--validation-fraction", "0.25") == 0
    report = json.loads((output / "build_report.json").read_text())
    assert report["skipped"] == {"unreadable_image": 3}
    dataset = datasets.load_from_disk(str(output))
    image_ids = [image_id for split in dataset.values() for image_id in split["image_id"]]
    assert "train/happy/caf\\xe9.jpg" in image_ids
    assert sum(report["kept_total"].values()) == 6 * 2 + 1 + 2 * 2
