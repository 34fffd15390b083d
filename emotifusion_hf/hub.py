"""Saving checkpoints that load anywhere as remote code, and publishing them on the Hub."""

import os

from .modeling_emotifusion import EmotiFusionPreTrainedModel
from .processing_emotifusion import EmotiFusionProcessor


def save_checkpoint(model: EmotiFusionPreTrainedModel, processor: EmotiFusionProcessor, output_dir, **kwargs) -> str:
    """Write everything a user of the checkpoint needs: weights (safetensors), config, processor, tokenizer and the
    remote-code files of the model, processors and pipeline."""
    os.makedirs(output_dir, exist_ok=True)
    model.save_pretrained(output_dir, **kwargs)
    processor.save_pretrained(output_dir)
    return os.fspath(output_dir)


__all__ = ["save_checkpoint"]
