"""`EmotiFusionTrainer`: per-stream optimizer groups from the model's parameter groups, and the final save."""

import os

import pytest
from transformers import TrainingArguments

from emotifusion_hf import EmotiFusionForEmotionClassification
from training.trainer import EmotiFusionTrainer, trainer_files_set_aside, unwrapped_parameter_name

from conftest import make_tiny_config


def test_optimizer_groups_follow_the_model_parameter_groups(tmp_path):
    model = EmotiFusionForEmotionClassification(make_tiny_config(image_size=32))
    model.lock_backbones(True)
    args = TrainingArguments(output_dir=str(tmp_path), learning_rate=1e-3, weight_decay=0.01, use_cpu=True,
                             report_to="none")
    trainer = EmotiFusionTrainer(model=model, args=args, backbone_learning_rate=2e-5,
                                 vision_backbone_learning_rate=1e-4)
    optimizer = trainer.create_optimizer()
    rates = {id(parameter): group["lr"] for group in optimizer.param_groups for parameter in group["params"]}
    expected = {"text": 2e-5, "vision": 1e-4, "fusion": 1e-3}
    for group, parameters in model.parameter_groups().items():
        assert parameters and all(rates[id(parameter)] == expected[group] for _, parameter in parameters), group
    assert len(rates) == sum(1 for _ in model.parameters())  # frozen or not, everything is in the optimizer
    decays = {id(parameter): group["weight_decay"] for group in optimizer.param_groups for parameter in group["params"]}
    assert decays[id(model.classifier.weight)] == 0.01 and decays[id(model.classifier.bias)] == 0.0


def test_backbone_learning_rate_defaults():
    args = TrainingArguments(output_dir="unused", learning_rate=1e-3, use_cpu=True, report_to="none")
    model = EmotiFusionForEmotionClassification(make_tiny_config(image_size=32))
    assert EmotiFusionTrainer(model=model, args=args).group_learning_rates() == {
        "text": 1e-3, "vision": 1e-3, "fusion": 1e-3}
    trainer = EmotiFusionTrainer(model=model, args=args, backbone_learning_rate=2e-5)
    assert trainer.group_learning_rates() == {"text": 2e-5, "vision": 2e-5, "fusion": 1e-3}


@pytest.mark.parametrize("wrapped, bare", [
    ("module.emotifusion.fusion.gate.weight", "emotifusion.fusion.gate.weight"),
    ("_orig_mod.classifier.weight", "classifier.weight"),
    ("emotifusion._fsdp_wrapped_module.text_model._checkpoint_wrapped_module.x", "emotifusion.text_model.x"),
])
def test_unwrapped_parameter_name(wrapped, bare):
    assert unwrapped_parameter_name(wrapped) == bare


def test_trainer_files_survive_a_folder_swap(tmp_path):
    output_dir = tmp_path / "run"
    (output_dir / "checkpoint-2").mkdir(parents=True)
    (output_dir / "trainer_state.json").write_text("{}")
    (output_dir / "old_weights.bin").write_text("stale")
    with trainer_files_set_aside(str(output_dir)):
        assert sorted(os.listdir(output_dir)) == ["old_weights.bin"]
        (output_dir / "old_weights.bin").unlink()
    assert sorted(os.listdir(output_dir)) == ["checkpoint-2", "trainer_state.json"]
