#!/usr/bin/env python
"""Fine-tune EmotiFusion (face image + dialogue -> 8 emotions) with the Hugging Face `Trainer`.

    python -m training.train training/configs/demo.yaml [--any_argument value ...]
    accelerate launch [--num_processes N] -m training.train training/configs/affectnet.yaml

The YAML file gives the defaults; command-line flags override them. Arguments are the fields of `ModelArguments`,
`DataArguments` (`training.arguments`) and transformers' `TrainingArguments`, plus any `EmotiFusionConfig` field
(`fusion`, `embed_dim`, ...), which goes to the model's configuration. The final model, processor and remote code
(pipeline included) are written to `output_dir` by `emotifusion_hf.checkpoint.save_checkpoint`, so the folder loads
anywhere with `AutoModel.from_pretrained(output_dir, trust_remote_code=True)`.
"""

import logging
import json
import os
import sys

import datasets
import torch
import transformers
from transformers import EarlyStoppingCallback, PrinterCallback, ProgressCallback, TrainingArguments, set_seed
from transformers.trainer_utils import get_last_checkpoint

from emotifusion_hf import EMOTIONS
from emotifusion_hf.eval_report import (
    AFFECT,
    AFFECT_DIMENSIONS,
    AFFECT_FIGURES,
    AFFECT_HEADS,
    NUM_SAMPLES,
    SOURCE,
    SPLIT,
    TRAINER_EVALUATION_SOURCE,
)
from emotifusion_hf.hub import push_checkpoint
from emotifusion_hf.launcher import exit_with_launcher

from .arguments import adjust_training_arguments, parse_arguments
from .augment import FaceDialogueCollator
from .callbacks import EpochCallback, FreezeBackbonesCallback
from .data import load_training_data, select_splits, with_transforms
from .metrics import compute_metrics
from .arguments import SetupError
from .model_setup import build_model_and_processor, check_pretrained_sources, class_weights_for, log_parameter_counts
from .row_audit import RowAuditCallback
from .sampler import inverse_frequency_weights
from .text_backbone import resolve_text_backbone
from .text_cache import attach_text_feature_cache
from .trainer import EmotiFusionTrainer


logger = logging.getLogger(__name__)


def main(argv: list[str] | None = None, callbacks: list | None = None, progress_callback=None) -> dict:
    """Train and/or evaluate; returns every metric logged (train, eval, test, calibration).

    Args:
        argv (`list[str]`, *optional*): the command line (default: `sys.argv[1:]`).
        callbacks (`list[TrainerCallback]`, *optional*): extra callbacks for the `Trainer`.
        progress_callback (`TrainerCallback`, *optional*): reports progress instead of the Trainer's own bar or
            printed logs and the metric tables; the recipe then logs warnings and errors only (a quiet run).
    """
    # ------------------------------------------------------------------------------------------------ setup
    use_cpu_when_launched_without_accelerators()
    exit_with_launcher()  # a killed launch leaves no process training on into the output folder
    model_args, data_args, training_args = parse_arguments(argv)
    quiet = progress_callback is not None
    setup_logging(training_args, quiet=quiet)
    push_to_hub = training_args.push_to_hub  # done here once the checkpoint is saved, not by the Trainer
    adjust_training_arguments(training_args, model_args)
    check_pretrained_sources(model_args)  # a missing backbone is found before the data is read
    set_seed(training_args.seed)

    # ------------------------------------------------------------------------------------------------ data
    with training_args.main_process_first(desc="dataset preparation"):
        dataset = load_training_data(data_args, seed=training_args.seed)
    splits = select_splits(dataset, data_args, training_args)
    class_weights = sampling_weights = None
    if training_args.do_train:
        labels = splits.train[data_args.label_column]
        class_weights = class_weights_for(labels, model_args.class_weighting)
        if data_args.balanced_sampling:
            sampling_weights = inverse_frequency_weights(labels, len(EMOTIONS))

    # ------------------------------------------------------------------------------------------------ model
    text_backbone, text_backbone_name = resolve_text_backbone(model_args.text_backbone)
    vocabulary_source = splits.train if splits.train is not None else dataset[data_args.train_split]
    model, processor = build_model_and_processor(
        model_args, text_backbone, text_backbone_name, lambda: iter(vocabulary_source[data_args.text_column]),
        class_weights,
    )
    freezing = FreezeBackbonesCallback(model_args.freeze_backbones_steps, model_args.trainable_text_layers)
    freezing.freeze_for_whole_run(model)
    text_cache = attach_text_feature_cache(model) if model_args.cache_text_features else None
    log_parameter_counts(model)
    splits = with_transforms(splits, processor, data_args, training_args.seed)
    trainer = EmotiFusionTrainer(
        model=model,
        args=training_args,
        train_dataset=splits.train,
        eval_dataset=splits.eval,
        processing_class=processor,
        data_collator=FaceDialogueCollator(processor, max_length=model_args.max_text_length),
        compute_metrics=compute_metrics,
        callbacks=build_callbacks(callbacks, splits.train, freezing, data_args, training_args),
        backbone_learning_rate=model_args.backbone_learning_rate,
        vision_backbone_learning_rate=model_args.vision_backbone_learning_rate,
        balanced_sampling_weights=sampling_weights,
        row_audit=RowAuditCallback(data_args.row_audit_dir) if data_args.row_audit_dir else None,
    )
    if quiet:
        trainer.remove_callback(PrinterCallback)
        trainer.remove_callback(ProgressCallback)
        trainer.add_callback(progress_callback)

    # ------------------------------------------------------------------------------------------------ train
    metrics = {}
    if training_args.do_train:
        train_result = trainer.train(resume_from_checkpoint=resume_checkpoint(training_args))
        metrics.update(record_metrics(trainer, "train", train_result.metrics, quiet))
        trainer.save_state()

    # ------------------------------------------------------------------------------------------------ calibrate
    # Before evaluating: the evidence weights fitted here change the fused head, and the figures must be those of
    # the model that is saved.
    if training_args.do_train and model_args.calibrate_temperature and splits.eval is not None:
        metrics.update(record_metrics(trainer, "calibration", trainer.calibrate(splits.eval), quiet))

    # ------------------------------------------------------------------------------------------------ evaluate
    evaluated = {}
    if training_args.do_eval:
        evaluated[data_args.eval_split] = (trainer.evaluate(splits.eval, metric_key_prefix="eval"), len(splits.eval))
        metrics.update(record_metrics(trainer, "eval", evaluated[data_args.eval_split][0], quiet))
    if training_args.do_predict:
        evaluated[data_args.test_split] = (trainer.evaluate(splits.test, metric_key_prefix="test"), len(splits.test))
        metrics.update(record_metrics(trainer, "test", evaluated[data_args.test_split][0], quiet))
    if not training_args.do_train:
        return metrics

    # ------------------------------------------------------------------------------------------------ save
    if text_cache is not None:
        logger.info(f"text feature cache: {len(text_cache.states)} dialogues encoded, {text_cache.hits} replays")
    summary = training_summary(model_args, data_args, training_args, dataset, trainer)
    # The card carries this run's own figures (the test split's when it has both), or says it was not evaluated.
    run_report = None
    if evaluated:
        split = data_args.test_split if data_args.test_split in evaluated else data_args.eval_split
        run_report = trainer_eval_report(*evaluated[split], split=split)
    trainer.save_final_checkpoint(processor, training_args.output_dir, summary, eval_report=run_report)
    if push_to_hub and trainer.is_world_process_zero():
        push_final_checkpoint(training_args)
    return metrics


def use_cpu_when_launched_without_accelerators() -> None:
    """A multi-process launch (`accelerate launch --multi_gpu --num_processes N`, torchrun) on a machine without
    GPUs trains data-parallel on the CPU over gloo: without this, each process would train alone."""
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not torch.cuda.is_available():
        os.environ["ACCELERATE_USE_CPU"] = "true"


def setup_logging(training_args: TrainingArguments, quiet: bool = False) -> None:
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
    # The recipe's own progress lines stay visible on the main process whatever the library verbosity: every
    # `training.*` logger, and this module's own (`__main__` under `python -m training.train`).
    for name in {__package__, __name__}:
        recipe_level = logging.INFO if training_args.should_log else log_level
        logging.getLogger(name).setLevel(max(recipe_level, logging.WARNING) if quiet else recipe_level)
    if quiet:
        transformers.utils.logging.set_verbosity(max(log_level, logging.WARNING))
        transformers.utils.logging.disable_progress_bar()
    logger.info(f"world size: {training_args.world_size}")
    # Each process says where it runs; one process alone need not warn about it.
    logger.log(
        logging.WARNING if training_args.world_size > 1 else logging.INFO,
        f"process rank: {training_args.process_index}, device: {training_args.device}, "
        f"distributed: {training_args.parallel_mode.value}, bf16: {training_args.bf16}, fp16: {training_args.fp16}"
    )


def build_callbacks(extra, train_dataset, freezing: FreezeBackbonesCallback, data_args, training_args) -> list:
    """The caller's callbacks, then the recipe's: epoch hand-over, backbone freezing, early stopping."""
    callbacks = list(extra or [])
    if train_dataset is not None:
        callbacks.append(EpochCallback(train_dataset))
    if freezing.freeze_steps > 0:
        callbacks.append(freezing)
    if data_args.early_stopping_patience is not None:
        if not training_args.load_best_model_at_end or not training_args.metric_for_best_model:
            raise ValueError("`early_stopping_patience` needs `load_best_model_at_end` and `metric_for_best_model`.")
        callbacks.append(EarlyStoppingCallback(early_stopping_patience=data_args.early_stopping_patience))
    return callbacks


def resume_checkpoint(training_args: TrainingArguments) -> str | None:
    """The checkpoint `--resume_from_checkpoint` names: a folder, or `true`/`last` for `output_dir`'s latest."""
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


def record_metrics(trainer: EmotiFusionTrainer, split: str, metrics: dict, quiet: bool = False) -> dict:
    """Log (unless `quiet`) and save one stage's metrics (`{split}_results.json`); returns them with `split`-prefixed
    keys."""
    if not quiet:
        trainer.log_metrics(split, metrics)
    trainer.save_metrics(split, metrics)
    return {key if key.startswith(split) else f"{split}_{key}": value for key, value in metrics.items()}


def trainer_eval_report(metrics: dict, num_samples: int, split: str) -> dict:
    """An `eval_report` (schema: `emotifusion_hf.eval_report`) of the `Trainer`'s evaluation of one split, for the
    card of the checkpoint this run saves: the summary figures `compute_metrics` gave, nothing else."""
    prefix = next((key.split("_", 1)[0] for key in metrics if key.endswith("_accuracy")), "eval")

    def figures(head_prefix: str, names) -> dict:
        return {name: float(metrics[f"{prefix}_{head_prefix}{name}"]) for name in names
                if isinstance(metrics.get(f"{prefix}_{head_prefix}{name}"), (int, float))}

    report = {SOURCE: TRAINER_EVALUATION_SOURCE, SPLIT: split, NUM_SAMPLES: int(num_samples)}
    for head, head_prefix in (("fused", ""), ("image_only", "image_"), ("text_only", "text_")):
        entry = figures(head_prefix, ("accuracy", "macro_f1", "weighted_f1", "ece"))
        if head in AFFECT_HEADS:
            affect = {dimension: figures(f"{head_prefix}{dimension}_", (*AFFECT_FIGURES, "num_samples"))
                      for dimension in AFFECT_DIMENSIONS}
            affect = {dimension: {**values, "num_samples": int(values.get("num_samples", 0))}
                      for dimension, values in affect.items() if values}
            if affect:
                entry[AFFECT] = affect
        if entry:
            report[head] = entry
    return report


def training_summary(model_args, data_args, training_args, dataset, trainer) -> dict:
    """What the model card says about this run."""
    name = data_args.dataset_name
    split = dataset[data_args.train_split]
    if name is None and "source" in split.column_names and len(split):
        sources = sorted(set(split.select(range(min(len(split), 1000)))["source"]))
        name = "+".join(sources)
    config = trainer.accelerator.unwrap_model(trainer.model).config
    summary = {
        "dataset": name or "unknown",
        "train_samples": len(trainer.train_dataset),
        "epochs": training_args.num_train_epochs,
        "optimizer_steps": trainer.state.global_step,
        "batch_size": training_args.per_device_train_batch_size * training_args.world_size
        * training_args.gradient_accumulation_steps,
        "learning_rate": training_args.learning_rate,
        "backbone_learning_rate": model_args.backbone_learning_rate,
        "label_smoothing": config.label_smoothing,
        "class_weighting": model_args.class_weighting,
        "balanced_sampling": data_args.balanced_sampling,
        "modality_dropout": config.modality_dropout,
        "modality_loss_weight": config.modality_loss_weight,
        "image_size": config.image_size,
        "seed": training_args.seed,
        "world_size": training_args.world_size,
        "temperature_fitted": bool(model_args.calibrate_temperature and data_args.eval_split in dataset),
    }
    if not data_args.dataset_dir:
        summary["demo_text_agreement"] = data_args.demo_agreement
    corpus = dialogue_corpus_summary(data_args.dataset_dir)
    if corpus:
        summary["dialogue_corpus"] = corpus
    return summary


def dialogue_corpus_summary(dataset_dir: str | None) -> dict | None:
    """The corpus a corpus-backed dataset's dialogues quote (name, licence, utterances used, share of the training
    dialogues), read from the dataset's `build_report.json`; None for grammar-only data."""
    from dataset_builder.builder import BUILD_REPORT_FILE

    path = os.path.join(dataset_dir, BUILD_REPORT_FILE) if dataset_dir else None
    if not path or not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as handle:
        report = json.load(handle)
    corpus = report.get("corpus")
    if not isinstance(corpus, dict):
        return None
    train_sources = report.get("dialogue_sources", {}).get("train", {})
    return {
        "name": corpus.get("name"),
        "licence": corpus.get("licence"),
        "rows_used": corpus.get("rows_used_total"),
        "corpus_share": train_sources.get("corpus_share"),
    }


def push_final_checkpoint(training_args: TrainingArguments) -> None:
    """Upload the saved checkpoint (`--push_to_hub`) to `hub_model_id`, or a repository named after `output_dir`."""
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


def command_line(argv: list[str] | None = None) -> int:
    """`python -m training.train`: a problem with the arguments, the config or a pretrained source is one line on
    stderr (exit status 2 for the arguments and config, 1 otherwise); errors during training keep their traceback."""
    try:
        main(argv)
    except SetupError as error:
        print(f"python -m training.train: error: {error}", file=sys.stderr)
        return error.exit_status
    return 0


__all__ = ["command_line", "main"]


if __name__ == "__main__":
    sys.exit(command_line())
