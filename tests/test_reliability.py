"""What the package promises under faults and hostile input: atomic checkpoint saves, safetensors-only loading,
bounded image decoding."""

import io

import pytest
import torch
from PIL import Image

from emotifusion_hf import EmotiFusionForEmotionClassification, EmotiFusionImageProcessor, load_image
from emotifusion_hf.hub import save_checkpoint

from conftest import make_tiny_config, tiny_text_config


@pytest.fixture
def tiny_classifier(processor):
    torch.manual_seed(0)
    return EmotiFusionForEmotionClassification(
        make_tiny_config(text_config=tiny_text_config(processor.tokenizer.vocab_size))
    )


def test_a_save_killed_midway_leaves_the_previous_checkpoint_loadable(tmp_path, tiny_classifier, processor, monkeypatch):
    target = tmp_path / "model"
    save_checkpoint(tiny_classifier, processor, target)
    before = (target / "model.safetensors").read_bytes()

    changed = EmotiFusionForEmotionClassification(tiny_classifier.config)

    def killed(*args, **kwargs):
        raise KeyboardInterrupt("killed while writing the processor")

    monkeypatch.setattr(type(processor), "save_pretrained", killed)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(changed, processor, target)
    monkeypatch.undo()

    assert (target / "model.safetensors").read_bytes() == before
    assert sorted(path.name for path in tmp_path.iterdir()) == ["model"]  # no half-written folder left behind
    reloaded = EmotiFusionForEmotionClassification.from_pretrained(target)
    for name, tensor in tiny_classifier.state_dict().items():
        torch.testing.assert_close(reloaded.state_dict()[name], tensor)


def test_a_completed_save_replaces_the_checkpoint(tmp_path, tiny_classifier, processor):
    target = tmp_path / "model"
    save_checkpoint(tiny_classifier, processor, target)
    torch.manual_seed(1)
    replacement = EmotiFusionForEmotionClassification(tiny_classifier.config)
    save_checkpoint(replacement, processor, target)
    reloaded = EmotiFusionForEmotionClassification.from_pretrained(target)
    name = "classifier.weight"
    torch.testing.assert_close(reloaded.state_dict()[name], replacement.state_dict()[name])
    assert sorted(path.name for path in tmp_path.iterdir()) == ["model"]


def test_weights_load_from_safetensors_only(tmp_path, tiny_classifier):
    with pytest.raises(ValueError, match="safetensors only"):
        EmotiFusionForEmotionClassification.from_pretrained(tmp_path, use_safetensors=False)
    pickled = tmp_path / "pickled"
    tiny_classifier.config.save_pretrained(pickled)
    torch.save(tiny_classifier.state_dict(), pickled / "pytorch_model.bin")
    with pytest.raises(OSError):
        EmotiFusionForEmotionClassification.from_pretrained(pickled)
    with pytest.raises(ValueError, match="safetensors only"):
        save_checkpoint(tiny_classifier, None, tmp_path / "x", safe_serialization=False)


def test_decompression_bomb_is_refused_before_decoding():
    # 9000 x 9000 one-bit pixels: a ~20 kB PNG that would decode to 243 MB of RGB.
    buffer = io.BytesIO()
    Image.new("1", (9000, 9000)).save(buffer, format="PNG", optimize=True)
    assert len(buffer.getvalue()) < 200_000
    with pytest.raises(OSError, match="too large"):
        load_image(buffer.getvalue())
    with pytest.raises(ValueError, match="exceeds the limit"):
        load_image(Image.new("1", (9000, 9000)))


@pytest.mark.parametrize("size", [(1, 1), (1, 3000), (3000, 2), (7, 5)])
def test_tiny_and_extreme_aspect_images_give_valid_pixels(size):
    pixel_values = EmotiFusionImageProcessor(size=32)(Image.new("RGB", size, (10, 200, 30)))["pixel_values"]
    assert pixel_values.shape == (1, 3, 32, 32) and torch.isfinite(pixel_values).all()
