import pytest
from transformers import AutoConfig, BertConfig

from emotifusion_hf import EMOTIONS, EmotiFusionConfig

from conftest import tiny_text_config


def test_emotions_contract():
    assert EMOTIONS == ("anger", "contempt", "disgust", "fear", "happy", "neutral", "sad", "surprise")


def test_text_config_dict_with_everything_else_defaulted():
    config = EmotiFusionConfig(text_config=tiny_text_config())
    assert isinstance(config.text_config, BertConfig)
    assert config.text_config.hidden_size == 32
    assert config.model_type == "emotifusion"
    assert config.num_labels == 8
    assert config.id2label == dict(enumerate(EMOTIONS))
    assert config.label2id == {name: index for index, name in enumerate(EMOTIONS)}
    assert config.vision_backbones == ["resnet18", "mobilenetv3_small_100"]
    assert config.fusion == "attention" and config.embed_dim == 512


def test_default_text_config_is_bert_base_shaped():
    config = EmotiFusionConfig()
    assert (config.text_config.hidden_size, config.text_config.num_hidden_layers) == (768, 12)
    assert config.text_config.vocab_size == 30522


def test_round_trip(tmp_path):
    config = EmotiFusionConfig(text_config=tiny_text_config(), fusion="concat", class_weights=[1.0] * 8, temperature=1.7)
    config.save_pretrained(tmp_path)
    loaded = AutoConfig.from_pretrained(tmp_path)
    assert isinstance(loaded, EmotiFusionConfig)
    saved, reloaded = config.to_dict(), loaded.to_dict()
    reloaded.pop("_name_or_path"), saved.pop("_name_or_path")
    assert reloaded == saved
    assert loaded.id2label[3] == "fear"


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"fusion": "sum"}, "fusion"),
        ({"embed_dim": 100, "fusion_num_heads": 8}, "embed_dim"),
        ({"num_labels": 7}, "num_labels"),
        ({"id2label": {0: "happy", 1: "sad"}}, "id2label"),
        ({"label2id": {"happy": 0}}, "label2id"),
        ({"text_pooling": "max"}, "text_pooling"),
        ({"classifier_dropout": 1.5}, "classifier_dropout"),
        ({"modality_dropout": -0.1}, "modality_dropout"),
        ({"temperature": 0.0}, "temperature"),
        ({"class_weights": [1.0, 2.0]}, "class_weights"),
        ({"spatial_attention_kernel_size": 4}, "spatial_attention_kernel_size"),
        ({"vision_backbones": []}, "vision_backbones"),
        ({"image_size": 0}, "image_size"),
        ({"modality_loss_weight": -1}, "modality_loss_weight"),
    ],
)
def test_invalid_settings_name_the_field(overrides, field):
    with pytest.raises(ValueError, match=f"`{field}`"):
        EmotiFusionConfig(text_config=tiny_text_config(), **overrides)


def test_matching_labels_are_accepted():
    config = EmotiFusionConfig(num_labels=8, id2label={str(i): name for i, name in enumerate(EMOTIONS)})
    assert config.id2label[0] == "anger"
