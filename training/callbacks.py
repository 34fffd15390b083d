"""The `Trainer` callbacks of this recipe: the backbone-freezing schedule and the epoch hand-over to seeded datasets.

Freezing is decided here and nowhere else, through the model's own methods (`lock_backbones`, `lock_text_layers`),
never by naming its modules.
"""

import logging

from transformers import TrainerCallback


logger = logging.getLogger(__name__)


class FreezeBackbonesCallback(TrainerCallback):
    """What stays frozen, and when.

    - The text encoder's embeddings and all but its top `trainable_text_layers` layers, for the whole run:
      `freeze_for_whole_run(model)`, called before the `Trainer` wraps the model (so DDP never sees them as
      trainable).
    - Both pretrained streams (visual trunks, text encoder) for the first `freeze_steps` optimizer steps: the
      callback hooks; unlocking them re-applies the whole-run freezing.
    """

    def __init__(self, freeze_steps: int = 0, trainable_text_layers: int | None = None):
        self.freeze_steps = freeze_steps
        self.trainable_text_layers = trainable_text_layers
        self.locked = False

    def freeze_for_whole_run(self, model) -> None:
        model.lock_text_layers(self.trainable_text_layers)

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        # A run resumed past the freezing phase starts unlocked.
        if state.global_step < self.freeze_steps:
            model.lock_backbones(True)
            self.locked = True
            logger.info(f"backbones frozen until step {self.freeze_steps}")

    def on_step_begin(self, args, state, control, model=None, **kwargs):
        if self.locked and state.global_step >= self.freeze_steps:
            model.lock_backbones(False)
            self.freeze_for_whole_run(model)
            model.train()
            self.locked = False
            logger.info(f"backbones unfrozen at step {state.global_step}")


class EpochCallback(TrainerCallback):
    """Tells datasets with a `set_epoch` which epoch begins (accelerate does so only when the sampler has no
    `set_epoch` of its own), also on a run resumed mid-epoch."""

    def __init__(self, *targets):
        self.targets = targets

    def on_epoch_begin(self, args, state, control, **kwargs):
        epoch = beginning_epoch(state)
        for target in self.targets:
            target.set_epoch(epoch)


def beginning_epoch(state) -> int:
    """The number of the epoch that begins (or resumes), from 0."""
    # `state.epoch` is the fraction of epochs done: a whole number at an epoch's start, past it on a resume.
    return int(state.epoch + 1e-6) if state.epoch else 0


__all__ = ["EpochCallback", "FreezeBackbonesCallback", "beginning_epoch"]


class StepProgressCallback(TrainerCallback):
    """One progress bar over the optimizer steps, with an ETA, on the main process: what `emotifusion demo` shows in
    place of the Trainer's own output (see `training.train.main(progress_callback=...)`)."""

    def __init__(self, description: str = "train"):
        self.description = description
        self.bar = None

    def on_train_begin(self, args, state, control, **kwargs):
        if state.is_world_process_zero:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=state.max_steps, initial=state.global_step, desc=self.description, unit="step",
                            dynamic_ncols=True)

    def on_step_end(self, args, state, control, **kwargs):
        if self.bar is not None:
            self.bar.update(state.global_step - self.bar.n)

    def on_train_end(self, args, state, control, **kwargs):
        if self.bar is not None:
            self.bar.close()
            self.bar = None
