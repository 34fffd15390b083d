"""The training script's arguments: YAML defaults, flag overrides, config-field routing, the recipe's changes to
`TrainingArguments`."""

import os
import subprocess
import sys

import pytest
import yaml

from dataset_builder import DEMO_DEFAULTS
from emotifusion_hf import EmotiFusionConfig
from training.arguments import (
    MODEL_CONFIG_FIELDS,
    DataArguments,
    ModelArguments,
    adjust_training_arguments,
    parse_arguments,
)


REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _write_config(path, **values) -> str:
    config = {
        "text_config": {"hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2},
        "image_size": 32,
        "embed_dim": 32,
        "max_text_length": 32,
        "dataset_dir": "data/somewhere",
        "learning_rate": 1.0e-3,
        "use_cpu": True,
        "report_to": "none",
        **values,
    }
    with open(path, "w") as handle:
        yaml.safe_dump(config, handle)
    return str(path)


def test_yaml_defaults_and_flag_overrides(tmp_path):
    config = _write_config(tmp_path / "c.yaml", learning_rate="3e-4")
    model_args, data_args, training_args = parse_arguments(
        [config, "--output_dir", str(tmp_path / "out"), "--max_steps", "7", "--fusion", "concat",
         "--modality_dropout", "0.25", "--vision_backbones", "[resnet18]"]
    )
    assert training_args.max_steps == 7 and training_args.learning_rate == pytest.approx(3e-4)
    overrides = model_args.config_overrides
    assert overrides["fusion"] == "concat" and overrides["image_size"] == 32
    assert overrides["modality_dropout"] == 0.25 and overrides["vision_backbones"] == ["resnet18"]
    assert overrides["text_config"]["hidden_size"] == 32  # a YAML mapping stays a mapping
    assert "classifier_dropout" not in overrides  # unset: the config's own default applies
    assert model_args.max_text_length == 32 and data_args.dataset_dir == "data/somewhere"


def test_config_flag_overrides_the_file(tmp_path):
    config = _write_config(tmp_path / "c.yaml", fusion="concat")
    model_args, _, _ = parse_arguments([config, "--output_dir", str(tmp_path), "--fusion", "attention"])
    assert model_args.config_overrides["fusion"] == "attention"


def test_unknown_yaml_key_is_named(tmp_path):
    config = _write_config(tmp_path / "c.yaml", learning_rat=0.1)
    with pytest.raises(ValueError, match="learning_rat.*did you mean `learning_rate`"):
        parse_arguments([config, "--output_dir", str(tmp_path)])
    config = _write_config(tmp_path / "c.yaml", embed_dims=64)
    with pytest.raises(ValueError, match="embed_dims.*did you mean `embed_dim`"):
        parse_arguments([config, "--output_dir", str(tmp_path)])


def test_unknown_flag_is_named(tmp_path):
    config = _write_config(tmp_path / "c.yaml")
    with pytest.raises(ValueError, match="fusoin.*did you mean `fusion`"):
        parse_arguments([config, "--output_dir", str(tmp_path), "--fusoin", "concat"])


def test_model_hyper_parameters_are_not_mirrored():
    """Every `EmotiFusionConfig` field is a config key, except the weight sources the recipe reads itself."""
    model_argument_names = {name for name in ModelArguments.__dataclass_fields__}
    mirrored = model_argument_names & set(EmotiFusionConfig.__annotations__)
    assert mirrored == {"text_backbone", "vision_weights"}
    assert {"fusion", "embed_dim", "text_config", "label_smoothing", "image_size"} <= set(MODEL_CONFIG_FIELDS)
    assert not mirrored & set(MODEL_CONFIG_FIELDS)


def test_demo_defaults_come_from_the_dataset_builder():
    data_args = DataArguments()
    assert (data_args.demo_per_class, data_args.demo_agreement, data_args.demo_image_size,
            data_args.demo_face_variation) == tuple(DEMO_DEFAULTS[key] for key in
                                                    ("per_class", "agreement", "image_size", "face_variation"))


@pytest.mark.parametrize("name", ["demo.yaml", "affectnet.yaml"])
def test_shipped_configs_parse(tmp_path, name):
    path = os.path.join(REPO_ROOT, "training", "configs", name)
    model_args, data_args, _ = parse_arguments([path, "--output_dir", str(tmp_path), "--bf16", "false"])
    assert model_args.config_overrides["vision_backbones"]
    if name == "demo.yaml":
        # The demo keeps its own data settings rather than the builder's defaults.
        assert (data_args.demo_per_class, data_args.demo_agreement, data_args.demo_image_size) == (200, 0.5, 64)
        assert model_args.text_backbone == "offline-minilm" and model_args.cache_text_features


def test_recipe_arguments_are_checked():
    with pytest.raises(ValueError, match="class_weighting"):
        ModelArguments(class_weighting="balanced")
    with pytest.raises(ValueError, match="trainable_text_layers: 0"):
        ModelArguments(cache_text_features=True)
    assert DataArguments(text_label_column="None").text_label_column is None


def test_adjust_training_arguments_reports_each_change(tmp_path, caplog):
    config = _write_config(tmp_path / "c.yaml", label_smoothing_factor=0.1, push_to_hub=False, do_train=True,
                           freeze_backbones_steps=5)
    model_args, _, training_args = parse_arguments([config, "--output_dir", str(tmp_path)])
    with caplog.at_level("INFO", logger="training.arguments"):
        changes = adjust_training_arguments(training_args, model_args)
    assert changes["label_smoothing_factor"] == (0.1, 0.0) and training_args.label_smoothing_factor == 0.0
    assert model_args.config_overrides["label_smoothing"] == 0.1
    assert changes["remove_unused_columns"] == (True, False)
    assert changes["ddp_find_unused_parameters"] == (None, True)
    assert "push_to_hub" not in changes  # not asked for: nothing to change
    assert all(f"TrainingArguments.{name}" in caplog.text for name in changes)


def _train_command(*argv):
    return subprocess.run([sys.executable, "-m", "training.train", *argv], capture_output=True, text=True, cwd=REPO_ROOT,
                          timeout=300, env={**os.environ, "PYTHONPATH": REPO_ROOT, "HF_HUB_OFFLINE": "1"})


def test_training_command_reports_a_misspelled_key_in_one_line(tmp_path):
    config = _write_config(tmp_path / "c.yaml", learning_rat=0.1)
    result = _train_command(config, "--output_dir", str(tmp_path / "out"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        f"python -m training.train: error: {config}: unknown argument `learning_rat`; did you mean `learning_rate`? "
        "(not a training argument nor an `EmotiFusionConfig` field)."]


def test_training_command_finds_a_missing_backbone_before_reading_data(tmp_path):
    # The dataset folder does not exist either: the backbone, checked first, is what the error names.
    config = _write_config(tmp_path / "c.yaml", text_backbone="someone/not-cached-bert", dataset_dir=str(tmp_path / "no"))
    result = _train_command(config, "--output_dir", str(tmp_path / "out"))
    error_lines = [line for line in result.stderr.splitlines() if "error:" in line]
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert len(error_lines) == 1 and "text_backbone 'someone/not-cached-bert'" in error_lines[0]
    assert "`hf download someone/not-cached-bert`" in error_lines[0]
