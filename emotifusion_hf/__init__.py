"""EmotiFusion-HF: emotion recognition from a face image and a dialogue, as Hugging Face models.

Importing the package registers the model with the Auto classes (locally, and as remote code in every
checkpoint it saves).
"""

from transformers import AutoConfig, AutoImageProcessor, AutoModel, AutoProcessor
from transformers.pipelines import PIPELINE_REGISTRY

from .configuration_emotifusion import EMOTIONS, EmotiFusionConfig
from .image_processing_emotifusion import EmotiFusionImageProcessor, load_image
from .modeling_emotifusion import (
    EmotiFusionClassifierOutput,
    EmotiFusionForEmotionClassification,
    EmotiFusionModel,
    EmotiFusionModelOutput,
    EmotiFusionPreTrainedModel,
)
from .pipeline_emotifusion import EMOTION_FUSION_TASK, EmotionFusionPipeline, detect_largest_face
from .processing_emotifusion import EmotiFusionProcessor


__version__ = "0.1.0"

# Saved checkpoints carry these classes as remote code, so they load where this package is not installed.
EmotiFusionConfig.register_for_auto_class()
EmotiFusionForEmotionClassification.register_for_auto_class("AutoModel")
EmotiFusionImageProcessor.register_for_auto_class("AutoImageProcessor")
EmotiFusionProcessor.register_for_auto_class("AutoProcessor")

AutoConfig.register(EmotiFusionConfig.model_type, EmotiFusionConfig, exist_ok=True)
AutoModel.register(EmotiFusionConfig, EmotiFusionForEmotionClassification, exist_ok=True)
# One class serves every backend request: it decodes with PIL and normalises whole batches in numpy.
AutoImageProcessor.register(
    EmotiFusionConfig,
    image_processor_classes={"pil": EmotiFusionImageProcessor, "torchvision": EmotiFusionImageProcessor},
    exist_ok=True,
)
AutoProcessor.register(EmotiFusionConfig, EmotiFusionProcessor, exist_ok=True)
if EMOTION_FUSION_TASK not in PIPELINE_REGISTRY.supported_tasks:
    PIPELINE_REGISTRY.register_pipeline(
        EMOTION_FUSION_TASK, pipeline_class=EmotionFusionPipeline, pt_model=AutoModel, type="multimodal"
    )


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
    "EMOTION_FUSION_TASK",
    "EmotionFusionPipeline",
    "detect_largest_face",
    "load_image",
]
