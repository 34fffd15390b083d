"""`EmotiFusionTrainer`, the `Trainer` of this recipe: per-stream learning rates (optimizer groups from the model's
own parameter groups), the class-balanced sampler, predictions without the embeddings, temperature calibration, and
the final save through `emotifusion_hf.checkpoint.save_checkpoint`."""

import logging
import os
import shutil
import tempfile
from contextlib import contextmanager
from fnmatch import fnmatch

import numpy as np
import torch
from transformers import Trainer

from emotifusion_hf.checkpoint import save_checkpoint
from emotifusion_hf.modeling_emotifusion import MISSING_CASES

from .augment import ROW_INDEX
from .metrics import expected_calibration_error, fit_temperature, negative_log_likelihood, softmax
from .sampler import EpochSeededWeightedSampler
from .text_cache import text_feature_cache_set_aside


logger = logging.getLogger(__name__)

# Outputs that are not predictions: left out of evaluation gathering.
EMBEDDING_OUTPUTS = ["fused_embeds", "image_embeds", "text_embeds"]
# What the Trainer itself writes into `output_dir` (kept when the final checkpoint is saved there).
TRAINER_FILES = ("checkpoint-*", "runs", "*_results.json", "trainer_state.json")
# Wrapper prefixes that DDP, FSDP and activation checkpointing add to parameter names.
WRAPPER_NAME_PARTS = ("_fsdp_wrapped_module.", "_checkpoint_wrapped_module.", "_orig_mod.")


def unwrapped_parameter_name(name: str) -> str:
    """A parameter name of a wrapped model as the bare model's `named_parameters()` spells it."""
    for part in WRAPPER_NAME_PARTS:
        name = name.replace(part, "")
    return name[len("module."):] if name.startswith("module.") else name


class EmotiFusionTrainer(Trainer):
    """`Trainer` with per-stream learning rates, an optional class-balanced sampler and predictions without the
    embeddings.

    Args:
        backbone_learning_rate (`float`, *optional*): learning rate of the text and vision parameter groups
            (default: `learning_rate`).
        vision_backbone_learning_rate (`float`, *optional*): learning rate of the vision group alone (default:
            `backbone_learning_rate`).
        balanced_sampling_weights (`array`, *optional*): one sampling weight per training sample; draws the
            training samples with replacement by these weights (`EpochSeededWeightedSampler`).
        row_audit (`RowAuditCallback`, *optional*): records the rows of every training batch (the training
            samples must carry their `ROW_INDEX`); added to the callbacks.
    """

    def __init__(self, *args, backbone_learning_rate=None, vision_backbone_learning_rate=None,
                 balanced_sampling_weights=None, row_audit=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.row_audit = row_audit
        if row_audit is not None:
            self.add_callback(row_audit)
        if self.args.label_names is None:
            # The emotion is the label; `text_labels` (optional, training only) is an input of the text head's loss.
            # Valence/arousal (NaN where not annotated) are labels too where the model predicts them, so evaluation
            # hands them to `compute_metrics`.
            self.label_names = ["labels"]
            if getattr(self.accelerator.unwrap_model(self.model).config, "affect_head", False):
                self.label_names.append("valence_arousal_labels")
        self.backbone_learning_rate = backbone_learning_rate
        self.vision_backbone_learning_rate = vision_backbone_learning_rate
        self.balanced_sampling_weights = balanced_sampling_weights

    def group_learning_rates(self) -> dict[str, float]:
        """Learning rate per model parameter group (`text`, `vision`, `fusion`)."""
        base = self.args.learning_rate
        text = self.backbone_learning_rate if self.backbone_learning_rate is not None else base
        vision = self.vision_backbone_learning_rate if self.vision_backbone_learning_rate is not None else text
        return {"text": text, "vision": vision, "fusion": base}

    def create_optimizer(self, model=None):
        if self.optimizer is not None:
            return self.optimizer
        opt_model = self.model if model is None else model
        group_of = self.accelerator.unwrap_model(self.model).parameter_group_of
        decay_names = {unwrapped_parameter_name(name) for name in self.get_decay_parameter_names(opt_model)}
        learning_rates = self.group_learning_rates()
        groups = {}
        for name, parameter in opt_model.named_parameters():
            name = unwrapped_parameter_name(name)
            # Frozen parameters are kept: the backbones are unfrozen after `freeze_backbones_steps` and must already
            # be in the optimizer then (AdamW skips parameters without a gradient).
            key = (group_of(name), name in decay_names)
            if key not in groups:
                weight_decay = self.args.weight_decay if key[1] else 0.0
                groups[key] = {"params": [], "lr": learning_rates[key[0]], "weight_decay": weight_decay}
            groups[key]["params"].append(parameter)
        optimizer_cls, optimizer_kwargs = self.get_optimizer_cls_and_kwargs(self.args, opt_model)
        optimizer_kwargs.pop("lr", None)
        self.optimizer = optimizer_cls(list(groups.values()), lr=self.args.learning_rate, **optimizer_kwargs)
        for (stream, decay), group in sorted(groups.items()):
            logger.info(f"optimizer group {stream}{'' if decay else ' (no decay)'}: {len(group['params'])} tensors, "
                        f"lr {group['lr']:g}")
        return self.optimizer

    def _get_train_sampler(self, train_dataset=None):
        if self.balanced_sampling_weights is None:
            return super()._get_train_sampler(train_dataset)
        weights = torch.as_tensor(self.balanced_sampling_weights, dtype=torch.double)
        return EpochSeededWeightedSampler(weights, num_samples=len(weights), seed=self.args.seed)

    def training_step(self, model, inputs, num_items_in_batch=None):
        rows = inputs.pop(ROW_INDEX, None)  # not an input of the model
        if rows is not None and self.row_audit is not None:
            self.row_audit.record(rows.tolist(), self.state.global_step)
        return super().training_step(model, inputs, num_items_in_batch)

    def prediction_step(self, model, inputs, prediction_loss_only, ignore_keys=None):
        ignore_keys = EMBEDDING_OUTPUTS + list(ignore_keys or [])
        return super().prediction_step(model, inputs, prediction_loss_only, ignore_keys=ignore_keys)

    def calibrate(self, eval_dataset) -> dict:
        """Fit, on held-out `eval_dataset`, how the fused head weighs each modality's own verdict
        (`fit_evidence_weights`, where the model has unfitted evidence weights), then the fused head's temperature
        (stored in the model's config). Returns the fitted values and the fused ECE and NLL before and after."""
        model = self.accelerator.unwrap_model(self.model)
        prediction = self.predict(eval_dataset, metric_key_prefix="calibration")
        predictions = prediction.predictions if isinstance(prediction.predictions, tuple) else (prediction.predictions,)
        label_ids = prediction.label_ids[0] if isinstance(prediction.label_ids, tuple) else prediction.label_ids
        logits, labels = np.asarray(predictions[0]), np.asarray(label_ids)
        evidence = {}
        if len(predictions) >= 3 and getattr(model, "evidence_weights", None) is not None \
                and not model.evidence_weights_fitted:
            # The evidence heads' weights are fitted here, on data the heads never trained on: on the training set a
            # head that memorised its inputs would look more reliable than it is.
            heads = [torch.as_tensor(np.asarray(head), dtype=torch.float32) for head in predictions[:3]]
            fitted = model.fit_evidence_weights(*heads, torch.as_tensor(labels))
            logger.info(f"fused head on validation: {fitted['choice']} (scale {fitted['fused_scale']:.3g}, image "
                        f"{fitted['image_weight']:.3g}, text {fitted['text_weight']:.3g}); macro-F1 "
                        f"{fitted['macro_f1_before']:.3f} -> {fitted['macro_f1']:.3f}")
            evidence = {f"evidence_{name}": value for name, value in fitted.items() if name != "choice"}
            with torch.no_grad():
                logits = model.weigh_evidence(*(head.to(model.evidence_weights.device) for head in heads)).cpu().numpy()
        if len(predictions) >= 3 and getattr(model, "missing_evidence_weights", None) is not None \
                and not model.missing_evidence_weights_fitted:
            # With one modality left out the fused head sees only the learned missing-modality embedding in its
            # place; weighing in the present modality's head keeps it from losing to that head.
            without = {modality: self._predict_without(eval_dataset, modality) for modality in ("text", "image")}
            fitted = model.fit_missing_evidence_weights(
                torch.as_tensor(labels), text_missing_logits=without["text"][0], image_logits=without["text"][1],
                image_missing_logits=without["image"][0], text_logits=without["image"][2],
            )
            for case in MISSING_CASES:
                if f"{case}_choice" in fitted:
                    logger.info(f"fused head with the {case.replace('_', ' ')}: {fitted[f'{case}_choice']} (scale "
                                f"{fitted[f'{case}_fused_scale']:.3g}, weight {fitted[f'{case}_weight']:.3g}); "
                                f"macro-F1 {fitted[f'{case}_macro_f1_before']:.3f} -> {fitted[f'{case}_macro_f1']:.3f}")
            evidence.update({f"evidence_{name}": value for name, value in fitted.items()
                             if not name.endswith("_choice")})
        temperature = fit_temperature(logits, labels)
        model.config.temperature = temperature
        return {
            **evidence,
            "temperature": temperature,
            "ece_before": expected_calibration_error(softmax(logits), labels),
            "ece_after": expected_calibration_error(softmax(logits, temperature), labels),
            "nll_before": negative_log_likelihood(logits, labels),
            "nll_after": negative_log_likelihood(logits, labels, temperature),
        }

    def _predict_without(self, eval_dataset, modality: str) -> list[torch.Tensor]:
        """The model's head logits (fused, image-only, text-only) on `eval_dataset` with `modality` ("text" or
        "image") marked absent in every batch."""
        collate = self.data_collator
        self.data_collator = _WithoutModality(collate, modality)
        try:
            prediction = self.predict(eval_dataset, metric_key_prefix=f"calibration_without_{modality}")
        finally:
            self.data_collator = collate
        return [torch.as_tensor(np.asarray(head), dtype=torch.float32) for head in prediction.predictions[:3]]

    def save_final_checkpoint(self, processor, output_dir: str, summary: dict | None = None,
                              eval_report: dict | None = None) -> None:
        """Write the final model through `save_checkpoint` (the single save path) on the main process only, with the
        run's own `eval_report` when it evaluated (its card then carries the figures)."""
        state_dict = None
        if self.is_fsdp_enabled:
            # Sharded parameters are gathered collectively, so every process takes part in this call.
            state_dict = self.accelerator.get_state_dict(self.model_wrapped)
        self.accelerator.wait_for_everyone()
        if self.is_world_process_zero():
            model = self.accelerator.unwrap_model(self.model)
            kwargs = {"state_dict": state_dict} if state_dict is not None else {}
            # The cache is a training device only; `save_checkpoint` swaps in a fresh folder, in which the
            # Trainer's checkpoints and logs must survive.
            with text_feature_cache_set_aside(model), trainer_files_set_aside(output_dir):
                save_checkpoint(model, processor, output_dir, eval_report=eval_report, training_summary=summary,
                                **kwargs)
            logger.info(f"model, processor and pipeline saved to {output_dir}")
        self.accelerator.wait_for_everyone()


class _WithoutModality:
    """A data collator that marks one modality absent in every batch it makes (the model then uses its learned
    missing-modality embedding there)."""

    def __init__(self, collate, modality: str):
        self.collate = collate
        self.flag = f"{modality}_present"

    def __call__(self, features):
        batch = self.collate(features)
        size = len(batch["pixel_values"] if "pixel_values" in batch else batch["input_ids"])
        batch[self.flag] = torch.zeros(size, dtype=torch.bool)
        return batch


@contextmanager
def trainer_files_set_aside(output_dir: str):
    """Move the Trainer's own files (`checkpoint-*`, `runs/`, `*_results.json`, `trainer_state.json`) out of
    `output_dir` for the duration of the block, then back in (renames within one filesystem)."""
    names = []
    if os.path.isdir(output_dir):
        names = [name for name in os.listdir(output_dir) if any(fnmatch(name, pattern) for pattern in TRAINER_FILES)]
    if not names:
        yield
        return
    parking = tempfile.mkdtemp(prefix=f".{os.path.basename(os.path.normpath(output_dir))}.trainer-",
                               dir=os.path.dirname(os.path.abspath(output_dir)))
    for name in names:
        os.replace(os.path.join(output_dir, name), os.path.join(parking, name))
    try:
        yield
    finally:
        os.makedirs(output_dir, exist_ok=True)
        for name in names:
            target = os.path.join(output_dir, name)
            if not os.path.exists(target):
                os.replace(os.path.join(parking, name), target)
        shutil.rmtree(parking, ignore_errors=True)


__all__ = ["EMBEDDING_OUTPUTS", "EmotiFusionTrainer", "trainer_files_set_aside", "unwrapped_parameter_name"]
