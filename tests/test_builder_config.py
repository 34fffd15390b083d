"""`EmotiFusionBuilderConfig`: every setting is checked in `__post_init__`, with an error naming the field, also
when a named config gets keyword overrides through the builder."""

import pytest

from dataset_builder import DEMO_DEFAULTS, EmotiFusionBuilderConfig
from dataset_builder.builder import EmotiFusionBuilder


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"source": "voc"}, "Unknown source 'voc'"),
        ({"name": "demo", "source": "affectnet"}, "use config_name='affectnet'"),
        ({"agreement": 1.5}, "agreement"),
        ({"dialogue_backend": "poetry"}, "dialogue_backend 'poetry'"),
        ({"dialogue_backend": "llm"}, "llm_model"),
        ({"validation_fraction": 1.0}, "validation_fraction"),
        ({"test_fraction": -0.1}, "test_fraction"),
        ({"validation_fraction": 0.5, "test_fraction": 0.5}, "validation_fraction \\+ test_fraction"),
        ({"jpeg_quality": 0}, "jpeg_quality"),
        ({"max_face_size": 0}, "max_face_size"),
        ({"layout": "voc"}, "'voc'"),
        ({"per_class": 0}, "per_class"),
        ({"eval_per_class": 0}, "eval_per_class"),
        ({"face_variation": 2.0}, "face_variation"),
    ],
)
def test_config_checks_name_the_field(settings, message):
    with pytest.raises(ValueError, match=message):
        EmotiFusionBuilderConfig(**{"name": "custom", **settings})


def test_demo_settings_are_not_checked_for_affectnet():
    config = EmotiFusionBuilderConfig(name="affectnet", source="affectnet", per_class=0, face_variation=2.0)
    assert config.per_class == 0


def test_defaults_are_the_demo_defaults():
    config = EmotiFusionBuilderConfig(name="demo")
    assert {name: getattr(config, name) for name in DEMO_DEFAULTS} == DEMO_DEFAULTS


def test_named_config_overrides_are_checked(tmp_path):
    # datasets sets keyword overrides on a copy of the named config with setattr, past the dataclass.
    with pytest.raises(ValueError, match="jpeg_quality"):
        EmotiFusionBuilder(config_name="demo", cache_dir=str(tmp_path), jpeg_quality=101)
    with pytest.raises(ValueError, match="use config_name='affectnet'"):
        EmotiFusionBuilder(config_name="demo", cache_dir=str(tmp_path), source="affectnet")


def test_builder_config_errors(tmp_path):
    with pytest.raises(ValueError, match="data_dir"):
        EmotiFusionBuilder(config_name="affectnet", cache_dir=str(tmp_path))
    with pytest.raises(FileNotFoundError, match="nowhere"):
        EmotiFusionBuilder(config_name="affectnet", cache_dir=str(tmp_path), data_dir=str(tmp_path / "nowhere"))
    with pytest.raises(ValueError, match="agreement"):
        EmotiFusionBuilder(config_name="demo", cache_dir=str(tmp_path), agreement=1.5)
    with pytest.raises(ValueError, match="'voc'"):
        EmotiFusionBuilder(config_name="affectnet", cache_dir=str(tmp_path), data_dir=str(tmp_path), layout="voc")


def test_dialogue_generator_kwargs_follow_the_backend():
    assert EmotiFusionBuilderConfig(name="x").dialogue_generator_kwargs() == {"backend": "grammar", "llm_model": None}
    llm = EmotiFusionBuilderConfig(name="x", dialogue_backend="llm", llm_model="tiny", llm_max_new_tokens=12)
    assert llm.dialogue_generator_kwargs() == {"backend": "llm", "llm_model": "tiny", "max_new_tokens": 12}
