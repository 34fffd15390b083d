"""What a run trains: class weights, and the YAML's model section reaching `EmotiFusionConfig`."""

import numpy as np
import pytest

from emotifusion_hf import EmotiFusionConfig, EmotiFusionForEmotionClassification
from training.arguments import ModelArguments
from training.model_setup import (
    BackboneUnavailableError,
    build_model_and_processor,
    check_pretrained_sources,
    class_weights_from_counts,
    continued_checkpoint,
)

from conftest import make_tiny_config, tiny_text_config


def test_class_weights_from_counts():
    counts = [10, 30, 0, 20, 20, 20, 20, 20]
    weights = np.asarray(class_weights_from_counts(counts, "inverse"))
    assert weights[0] == pytest.approx(140 / (7 * 10)) and weights[1] == pytest.approx(140 / (7 * 30))
    assert weights[2] == 1.0  # absent class
    present = np.asarray(counts) > 0
    assert (weights[present] * np.asarray(counts)[present]).sum() / 140 == pytest.approx(1.0)
    soft = np.asarray(class_weights_from_counts(counts, "sqrt_inverse"))
    assert 1 < soft[0] < weights[0] and (soft[present] * np.asarray(counts)[present]).sum() / 140 == pytest.approx(1.0)
    assert class_weights_from_counts(counts, "none") is None
    with pytest.raises(ValueError, match="class_weighting"):
        class_weights_from_counts(counts, "balanced")


def _model_args(tokenizer_dir, **overrides) -> ModelArguments:
    model_args = ModelArguments(tokenizer_name=tokenizer_dir, max_text_length=24)
    model_args.config_overrides = {
        "text_config": {key: value for key, value in tiny_text_config().items() if key != "vocab_size"},
        "vision_backbones": ["test_resnet"], "image_size": 32, "embed_dim": 32, "fusion_num_heads": 4, **overrides,
    }
    return model_args


def test_config_overrides_reach_the_config(minilm_dir):
    model_args = _model_args(minilm_dir, fusion="concat", classifier_dropout=0.2)
    model, processor = build_model_and_processor(model_args, None, None, train_texts=None, class_weights=[1.0] * 8)
    config = model.config
    assert (config.fusion, config.classifier_dropout, config.embed_dim, config.image_size) == ("concat", 0.2, 32, 32)
    # A field the run leaves alone has the config class's default, the one place it is defined.
    assert config.fusion_dropout == EmotiFusionConfig().fusion_dropout
    assert config.class_weights == [1.0] * 8
    assert config.text_config.vocab_size == len(processor.tokenizer)
    assert processor.image_processor.size["height"] == 32 and processor.max_length == 24


def test_text_config_may_be_a_json_string(minilm_dir):
    model_args = _model_args(minilm_dir, text_config='{"hidden_size": 16, "num_hidden_layers": 1, '
                                                     '"num_attention_heads": 2, "intermediate_size": 20}')
    model, _ = build_model_and_processor(model_args, None, None, train_texts=None)
    assert model.config.text_config.hidden_size == 16


def test_a_continued_checkpoint_keeps_its_architecture(tmp_path, caplog):
    saved = EmotiFusionForEmotionClassification(make_tiny_config(image_size=32))
    saved.save_pretrained(tmp_path / "checkpoint")
    model_args = ModelArguments(model_name_or_path=str(tmp_path / "checkpoint"))
    with caplog.at_level("WARNING", logger="training.model_setup"):
        model = continued_checkpoint(model_args, {"embed_dim": 64, "modality_dropout": 0.3, "class_weights": None})
    assert model.config.embed_dim == 32 and model.config.modality_dropout == 0.3
    assert "embed_dim" in caplog.text


@pytest.fixture
def empty_offline_hub_cache(tmp_path, monkeypatch):
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)


@pytest.mark.parametrize(
    "arguments, overrides, error, message",
    [
        ({}, {"vision_backbones": ["resnet81"]}, ValueError, "`resnet81` is not a timm architecture; did you mean `resnet18`"),
        ({"vision_weights": ["resnet18.a1_in1k"]}, {"vision_backbones": ["resnet18"]}, BackboneUnavailableError,
         r"vision_weights 'resnet18.a1_in1k' \(Hub repository timm/resnet18.a1_in1k\) is not in the local .*local "
         r"weight files .*`hf download timm/resnet18.a1_in1k`"),
        ({"vision_weights": ["resnet18.no_such_tag"]}, {"vision_backbones": ["resnet18"]}, ValueError, "no_such_tag"),
        ({"vision_weights": ["weights/missing.safetensors"]}, {}, BackboneUnavailableError, "weight file not found"),
        ({"text_backbone": "bert-base-uncased"}, {}, BackboneUnavailableError,
         r"text_backbone 'bert-base-uncased' .*local folder, or fetch it once with `hf download bert-base-uncased`"),
        ({"tokenizer_name": "./no/such/folder"}, {}, BackboneUnavailableError, "tokenizer_name: folder not found"),
    ],
    ids=["misspelled-timm", "timm-tag-not-cached", "unknown-tag", "missing-file", "bert-not-cached", "missing-folder"],
)
def test_pretrained_sources_are_checked_before_anything_loads(empty_offline_hub_cache, arguments, overrides, error,
                                                             message):
    model_args = ModelArguments(**arguments)
    model_args.config_overrides = overrides
    with pytest.raises(error, match=message):
        check_pretrained_sources(model_args)


def test_local_and_cached_sources_pass(minilm_dir, tmp_path):
    weights = tmp_path / "trunk.safetensors"
    weights.write_bytes(b"")
    model_args = ModelArguments(text_backbone=minilm_dir, tokenizer_name=minilm_dir, vision_weights=[str(weights)])
    model_args.config_overrides = {"vision_backbones": ["test_resnet"]}
    check_pretrained_sources(model_args)
