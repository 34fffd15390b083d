"""Saving a checkpoint that loads anywhere: weights, config, processor, the remote-code files and the model card."""

import json
import os
from pathlib import Path

from .card import write_model_card
from .eval_report import EVAL_REPORT_NAME, TRAINING_SUMMARY_NAME
from .staging import staged_directory


# What a folder must hold to load as remote code with its pipeline (plus the files these import: see
# `missing_checkpoint_files`); `push` refuses anything less.
REQUIRED_CHECKPOINT_FILES = (
    "config.json",
    "model.safetensors",
    "processor_config.json",
    "configuration_emotifusion.py",
    "modeling_emotifusion.py",
    "image_processing_emotifusion.py",
    "processing_emotifusion.py",
    "pipeline_emotifusion.py",
    "quantization_emotifusion.py",
)


def save_checkpoint(
    model,
    processor,
    output_dir,
    eval_report: dict | None = None,
    training_summary: dict | None = None,
    repo_id: str | None = None,
    **save_kwargs,
) -> str:
    """Write everything a user of the checkpoint needs: safetensors weights, config, processor and tokenizer, the
    remote-code files of the model, processors and pipeline, and the rendered model card (`README.md`).

    `eval_report` (the `eval_report.json` of `emotifusion evaluate`) fills the card's evaluation tables and
    `model-index`; `training_summary` (dataset, recipe) its training section. Both are also saved as JSON.
    """
    output_dir = Path(output_dir)
    if save_kwargs.get("safe_serialization") is False:
        raise ValueError("EmotiFusion checkpoints are saved as safetensors only; `safe_serialization=False` is refused.")
    with staged_directory(output_dir) as staging:
        model.save_pretrained(staging, **save_kwargs)
        processor.save_pretrained(staging)
        if eval_report is not None:
            (staging / EVAL_REPORT_NAME).write_text(json.dumps(eval_report, indent=2))
        if training_summary is not None:
            (staging / TRAINING_SUMMARY_NAME).write_text(json.dumps(training_summary, indent=2))
        write_model_card(staging, model=model, processor=processor, repo_id=repo_id, checkpoint_path=output_dir)
    return os.fspath(output_dir)


def missing_checkpoint_files(checkpoint_dir) -> list[str]:
    """The required files, and the sibling files the remote code imports, that `checkpoint_dir` lacks."""
    from transformers.dynamic_module_utils import get_relative_imports

    checkpoint_dir = Path(checkpoint_dir)
    missing = [name for name in REQUIRED_CHECKPOINT_FILES if not (checkpoint_dir / name).is_file()]
    for name in REQUIRED_CHECKPOINT_FILES:
        if name.endswith(".py") and (checkpoint_dir / name).is_file():
            for imported in get_relative_imports(checkpoint_dir / name):
                file_name = f"{imported}.py"
                if file_name not in missing and not (checkpoint_dir / file_name).is_file():
                    missing.append(file_name)
    return missing


__all__ = ["REQUIRED_CHECKPOINT_FILES", "missing_checkpoint_files", "save_checkpoint"]
