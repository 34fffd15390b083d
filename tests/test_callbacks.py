"""The recipe's `Trainer` callbacks: backbone freezing and the epoch hand-over."""

from types import SimpleNamespace

from emotifusion_hf import EmotiFusionForEmotionClassification
from training.callbacks import EpochCallback, FreezeBackbonesCallback

from conftest import make_tiny_config


def _trainable(parameters) -> list[bool]:
    return [parameter.requires_grad for parameter in parameters]


def test_freeze_callback_locks_then_unlocks_the_backbones():
    model = EmotiFusionForEmotionClassification(make_tiny_config(image_size=32))
    callback = FreezeBackbonesCallback(2)
    state = SimpleNamespace(global_step=0)
    callback.on_train_begin(None, state, None, model=model)
    assert not any(_trainable(model.backbone_parameters()))
    assert model.classifier.weight.requires_grad
    state.global_step = 2
    callback.on_step_begin(None, state, None, model=model)
    assert all(_trainable(model.backbone_parameters()))


def test_whole_run_text_freezing_outlasts_the_backbone_phase():
    model = EmotiFusionForEmotionClassification(make_tiny_config(image_size=32))
    callback = FreezeBackbonesCallback(1, trainable_text_layers=0)
    callback.freeze_for_whole_run(model)
    text = [parameter for _, parameter in model.parameter_groups()["text"]]
    assert not any(_trainable(text))
    state = SimpleNamespace(global_step=0)
    callback.on_train_begin(None, state, None, model=model)
    state.global_step = 1
    callback.on_step_begin(None, state, None, model=model)
    vision = [parameter for _, parameter in model.parameter_groups()["vision"]]
    assert all(_trainable(vision)) and not any(_trainable(text))


def test_a_run_resumed_past_the_freezing_phase_starts_unlocked():
    model = EmotiFusionForEmotionClassification(make_tiny_config(image_size=32))
    callback = FreezeBackbonesCallback(2)
    callback.on_train_begin(None, SimpleNamespace(global_step=5), None, model=model)
    assert all(_trainable(model.backbone_parameters())) and not callback.locked


def test_epoch_callback_hands_the_epoch_on():
    class Target:
        epoch = None

        def set_epoch(self, epoch):
            self.epoch = epoch

    target = Target()
    callback = EpochCallback(target)
    callback.on_epoch_begin(None, SimpleNamespace(epoch=None), None)
    assert target.epoch == 0
    callback.on_epoch_begin(None, SimpleNamespace(epoch=1.9999999), None)  # float noise at an epoch boundary
    assert target.epoch == 2
    callback.on_epoch_begin(None, SimpleNamespace(epoch=1.5), None)  # resumed mid-epoch
    assert target.epoch == 1
