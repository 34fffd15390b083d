"""EmotiFusion-HF: emotion recognition from a face image and a dialogue, as Hugging Face models.

Importing the package registers the model with the Auto classes (locally, and as remote code in every
checkpoint it saves).
"""

from transformers import AutoConfig, AutoImageProcessor, AutoModel, AutoProcessor

from .configuration_emotifusion import EMOTIONS, EmotiFusionConfig
from .image_processing_emotifusion import EmotiFusionImageProcessor, load_image
from .modeling_emotifusion import (
    EmotiFusionClassifierOutput,
    EmotiFusionForEmotionClassification,
    EmotiFusionModel,
    EmotiFusionModelOutput,
    EmotiFusionPreTrainedModel,
)
from .processing_emotifusion import EmotiFusionProcessor


__version__ = "0.1.0"

# Saved checkpoints carry these classes as remote code, so they load where this package is not installed.
EmotiFusionConfig.register_for_auto_class()
EmotiFusionForEmotionClassification.register_for_auto_class("AutoModel")
EmotiFusionImageProcessor.register_for_auto_class("AutoImageProcessor")
EmotiFusionProcessor.register_for_auto_class("AutoProcessor")

AutoConfig.register(EmotiFusionConfig.model_type, EmotiFusionConfig, exist_ok=True)
AutoModel.register(EmotiFusionConfig, EmotiFusionForEmotionClassification, exist_ok=True)
AutoImageProcessor.register(EmotiFusionConfig, image_processor_classes={"pil": EmotiFusionImageProcessor}, exist_ok=True)
AutoProcessor.register(EmotiFusionConfig, EmotiFusionProcessor, exist_ok=True)


__all__ = [
    "EMOTIONS",
    "EmotiFusionClassifierOutput",
    "EmotiFusionConfig",
    "EmotiFusionForEmotionClassification",
    "EmotiFusionImageProcessor",
    "EmotiFusionModel",
    "EmotiFusionModelOutput",
    "EmotiFusionPreTrainedModel",
    "EmotiFusionProcessor",
    "load_image",
]
