"""What a run trains: the processor and the model, either a checkpoint to continue or a new model built from
`ModelArguments.config_overrides` (passed to `EmotiFusionConfig` as given, so the defaults are the config's) and
the pretrained backbones named by the arguments; plus the class weights of its loss."""

import difflib
import logging
import os

import numpy as np
import yaml
from transformers import AutoProcessor, AutoTokenizer

from emotifusion_hf import (
    EMOTIONS,
    EmotiFusionConfig,
    EmotiFusionForEmotionClassification,
    EmotiFusionImageProcessor,
    EmotiFusionProcessor,
)

from emotifusion_hf.model_source import fetch_hint, hub_offline, in_hub_cache, looks_like_hub_id

from .arguments import CLASS_WEIGHTINGS, ConfigurationError, ModelArguments, SetupError
from .text_backbone import OFFLINE_MINILM, train_wordpiece_tokenizer


logger = logging.getLogger(__name__)

# Config fields a checkpoint being fine-tuned takes from this run: they change how it trains, not its shape.
TRAINING_ONLY_CONFIG_FIELDS = (
    "fusion_dropout", "classifier_dropout", "modality_dropout", "modality_loss_weight", "label_smoothing",
    "class_weights", "temperature", "text_inference_bucket_size",
)


class BackboneUnavailableError(SetupError, FileNotFoundError):
    """A pretrained source the run needs is neither a local file or folder nor available from the Hub."""


def check_pretrained_sources(model_args: ModelArguments) -> None:
    """Find a misspelled timm architecture or a pretrained source that cannot be loaded before any data is read:
    timm names in `vision_backbones` / `vision_weights` must exist, and offline (HF_HUB_OFFLINE=1) every Hub source
    (`text_backbone`, `tokenizer_name`, `model_name_or_path`, timm tags) must be in the local cache. Each failure is
    one line naming the source and the two ways to supply it."""
    import timm

    overrides = model_args.config_overrides
    architectures = overrides.get("vision_backbones") or EmotiFusionConfig.__dataclass_fields__["vision_backbones"].default
    if isinstance(architectures, str):
        architectures = [architectures]
    if not model_args.model_name_or_path:
        for architecture in architectures:
            _check_timm_architecture(timm, str(architecture), "vision_backbones")
    for source in model_args.vision_weights or []:
        source = str(source)
        if os.path.isfile(source):
            continue
        if os.path.sep in source or source.endswith((".safetensors", ".pth", ".pt", ".bin")):
            raise BackboneUnavailableError(f"vision_weights: weight file not found: {source}")
        _check_timm_architecture(timm, source.split(".")[0], "vision_weights")
        try:
            hub_id = timm.models.get_pretrained_cfg(source).hf_hub_id
        except RuntimeError as error:  # an unknown pretrained tag
            raise ConfigurationError(f"vision_weights: {error}") from None
        if hub_id and hub_offline() and not any(in_hub_cache(hub_id, name) for name in _TIMM_WEIGHT_FILES):
            raise BackboneUnavailableError(
                f"vision_weights {source!r} (Hub repository {hub_id}) is not in the local Hugging Face cache and the "
                f"Hub is offline (HF_HUB_OFFLINE=1): set `vision_weights` in the config to local weight files "
                f"(.safetensors or .pth, one per trunk), or {fetch_hint(hub_id)}."
            )
    sources = {"text_backbone": model_args.text_backbone, "tokenizer_name": model_args.tokenizer_name,
               "model_name_or_path": model_args.model_name_or_path}
    for key, source in sources.items():
        if source is None or source == OFFLINE_MINILM or os.path.isdir(str(source)):
            continue
        if not looks_like_hub_id(str(source), namespaced=False):
            raise BackboneUnavailableError(f"{key}: folder not found: {source} (nor is it a Hub id).")
        if hub_offline() and not in_hub_cache(str(source)):
            raise BackboneUnavailableError(
                f"{key} {source!r} is not a local folder nor in the local Hugging Face cache, and the Hub is offline "
                f"(HF_HUB_OFFLINE=1): set `{key}` in the config to a local folder, or {fetch_hint(source)}."
            )


# What timm fetches from a pretrained tag's Hub repository (safetensors first).
_TIMM_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin", "open_clip_pytorch_model.bin")


def _check_timm_architecture(timm, name: str, key: str) -> None:
    if not timm.is_model(name):
        close = difflib.get_close_matches(name, timm.list_models(), n=1)
        hint = f"; did you mean `{close[0]}`?" if close else ""
        raise ConfigurationError(f"{key}: `{name}` is not a timm architecture{hint}")


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


def class_weights_for(labels, scheme: str) -> list[float] | None:
    """`class_weights_from_counts` of a training split's labels, logging the counts and the weights."""
    counts = np.bincount(np.asarray(labels), minlength=len(EMOTIONS))
    logger.info("training label counts: " + ", ".join(f"{name} {count}" for name, count in zip(EMOTIONS, counts)))
    weights = class_weights_from_counts(counts, scheme)
    if weights is not None:
        logger.info(f"class weights ({scheme}): {weights}")
    return weights


def build_tokenizer(model_args: ModelArguments, text_backbone: str | None, train_texts):
    """`tokenizer_name`'s or the text backbone's tokenizer, or else a WordPiece vocabulary learned from
    `train_texts()` (called only then)."""
    source = model_args.tokenizer_name or text_backbone
    if source is not None:
        return AutoTokenizer.from_pretrained(source)
    logger.info(f"learning a {model_args.tokenizer_vocab_size}-token WordPiece vocabulary from the training texts")
    return train_wordpiece_tokenizer(train_texts(), vocab_size=model_args.tokenizer_vocab_size)


def random_text_config(tokenizer, text_config=None) -> dict:
    """The `text_config` override of a randomly initialised encoder, sized to `tokenizer`'s vocabulary."""
    if isinstance(text_config, str):
        # A JSON or YAML mapping given as a string (as older configs did).
        text_config = yaml.safe_load(text_config)
    if text_config is not None and not isinstance(text_config, dict):
        raise ValueError(f"`text_config` must be a mapping of BertConfig fields, got {text_config!r}.")
    text_config = dict(text_config or {})
    text_config["vocab_size"] = len(tokenizer)
    if tokenizer.pad_token_id is not None:
        text_config["pad_token_id"] = tokenizer.pad_token_id
    return text_config


def build_new_model(model_args: ModelArguments, text_backbone: str | None, text_backbone_name: str | None,
                    tokenizer, overrides: dict) -> EmotiFusionForEmotionClassification:
    """A new model from `EmotiFusionConfig(**overrides)`: random, or with pretrained streams (`from_backbones`)."""
    overrides = dict(overrides)
    if text_backbone is None:
        overrides["text_config"] = random_text_config(tokenizer, overrides.get("text_config"))
    if text_backbone is None and not model_args.vision_weights:
        return EmotiFusionForEmotionClassification(EmotiFusionConfig(**overrides))
    model = EmotiFusionForEmotionClassification.from_backbones(
        text=text_backbone, vision=model_args.vision_weights or None, **overrides
    )
    if text_backbone is not None:
        model.config.text_backbone = text_backbone_name
        if model.config.text_config.vocab_size < len(tokenizer):
            raise ValueError(
                f"The tokenizer has {len(tokenizer)} tokens but the text backbone {text_backbone_name!r} "
                f"only {model.config.text_config.vocab_size} embeddings; use the backbone's own tokenizer."
            )
    return model


def continued_checkpoint(model_args: ModelArguments, overrides: dict) -> EmotiFusionForEmotionClassification:
    """`model_name_or_path` with this run's training settings; the overrides that would reshape it are ignored."""
    ignored = sorted(set(overrides) - set(TRAINING_ONLY_CONFIG_FIELDS))
    if ignored:
        logger.warning(f"{model_args.model_name_or_path} keeps its architecture; ignoring {ignored}")
    kept = {name: value for name, value in overrides.items() if name in TRAINING_ONLY_CONFIG_FIELDS}
    return EmotiFusionForEmotionClassification.from_pretrained(model_args.model_name_or_path, **kept)


def build_model_and_processor(model_args: ModelArguments, text_backbone: str | None, text_backbone_name: str | None,
                              train_texts, class_weights=None):
    """`(model, processor)` of the run: `model_name_or_path`'s, or new ones (see `build_new_model`); the image
    processor works at the model's `image_size`.

    Args:
        train_texts (`Callable[[], Iterable[str]]`): the training texts, read only to learn a vocabulary.
        class_weights (`list[float]`, *optional*): the loss's class weights (`None`: unweighted).
    """
    overrides = {**model_args.config_overrides, "class_weights": class_weights}
    if model_args.model_name_or_path:
        processor = AutoProcessor.from_pretrained(model_args.model_name_or_path, trust_remote_code=True)
        return continued_checkpoint(model_args, overrides), processor
    tokenizer = build_tokenizer(model_args, text_backbone, train_texts)
    model = build_new_model(model_args, text_backbone, text_backbone_name, tokenizer, overrides)
    image_processor = EmotiFusionImageProcessor(size=model.config.image_size)
    processor = EmotiFusionProcessor(image_processor=image_processor, tokenizer=tokenizer,
                                     max_length=model_args.max_text_length)
    return model, processor


def log_parameter_counts(model) -> None:
    trainable = sum(parameter.numel() for parameter in model.parameters() if parameter.requires_grad)
    total = sum(parameter.numel() for parameter in model.parameters())
    logger.info(f"model: {total / 1e6:.1f}M parameters, {trainable / 1e6:.1f}M trainable")


__all__ = [
    "BackboneUnavailableError",
    "TRAINING_ONLY_CONFIG_FIELDS",
    "build_model_and_processor",
    "build_new_model",
    "build_tokenizer",
    "check_pretrained_sources",
    "class_weights_for",
    "class_weights_from_counts",
    "continued_checkpoint",
    "log_parameter_counts",
    "random_text_config",
]
