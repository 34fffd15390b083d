"""EmotiFusion-HF: emotion recognition from a face image and a dialogue, as Hugging Face models.

The package root is lazy, as transformers' model folders are: `import emotifusion_hf` loads no torch; a class is
imported when it is first touched. The model registers itself with transformers' Auto classes and the
"emotion-fusion" pipeline task as soon as transformers' Auto classes are loaded (see `registration`), locally and
as remote code in every checkpoint it saves.
"""

import importlib

from .labels import EMOTIONS
from .registration import install as _install_registration


__version__ = "0.1.0"

# Public name -> the module that defines it.
_LAZY_EXPORTS = {
    "EmotiFusionConfig": "configuration_emotifusion",
    "EmotiFusionImageProcessor": "image_processing_emotifusion",
    "load_image": "image_processing_emotifusion",
    "EmotiFusionClassifierOutput": "modeling_emotifusion",
    "EmotiFusionForEmotionClassification": "modeling_emotifusion",
    "EmotiFusionModel": "modeling_emotifusion",
    "EmotiFusionModelOutput": "modeling_emotifusion",
    "EmotiFusionPreTrainedModel": "modeling_emotifusion",
    "EMOTION_FUSION_TASK": "pipeline_emotifusion",
    "EmotionFusionPipeline": "pipeline_emotifusion",
    "detect_largest_face": "pipeline_emotifusion",
    "EmotiFusionProcessor": "processing_emotifusion",
}


def __getattr__(name: str):
    module_name = _LAZY_EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module_name}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY_EXPORTS))


_install_registration()


__all__ = ["EMOTIONS", *_LAZY_EXPORTS]
