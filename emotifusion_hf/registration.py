"""Registers EmotiFusion with transformers' Auto classes and pipeline registry, as soon as they can be used.

The package root imports no torch, so registering cannot happen at `import emotifusion_hf` (it needs the model
class). Instead an import hook waits for `transformers.models.auto` (what `AutoModel`, `AutoConfig` and
`pipeline()` are built on) and registers right after it loads, so `import emotifusion_hf` followed by
`AutoModel.from_pretrained(folder)` or `pipeline("emotion-fusion", model=folder)` works as an eager registration
would. Registering imports our remote-code modules and transformers' Auto classes, so while one of them, or any
transformers module, is still being executed (`from transformers import pipeline` loads the Auto classes half-way
through `transformers.processing_utils`) the registration waits for it to finish.

The installed package is code the user already trusts, so `pipeline("emotion-fusion", model=folder)` builds the
installed `EmotionFusionPipeline` without `trust_remote_code=True` (transformers would otherwise insist on it because
every checkpoint also declares the pipeline as remote code): `pipeline()` is wrapped to pass the installed pipeline
class for this task when remote code is not trusted. The config and model come from the installed package too (the
task's model type is registered in-process), so nothing from the folder is executed; a checkpoint of another model
type still needs `trust_remote_code=True`, and with `trust_remote_code=True` transformers' own path is unchanged.
"""

import functools
import importlib.abc
import importlib.machinery
import sys


_AUTO_MODULE = "transformers.models.auto"
_PACKAGE = __name__.rpartition(".")[0]
# `loading`: how many watched modules are executing right now (nested imports); the registration is tried only when
# the outermost one finishes, so a long chain of transformers imports costs one check, not one per module.
_state = {"registered": False, "registering": False, "loading": 0}


def register() -> None:
    """Register the config, model, processors and the "emotion-fusion" task (idempotent)."""
    if _state["registered"] or _state["registering"]:
        return
    _state["registering"] = True
    try:
        from transformers import AutoConfig, AutoImageProcessor, AutoModel, AutoProcessor
        from transformers.pipelines import PIPELINE_REGISTRY

        from .configuration_emotifusion import EmotiFusionConfig
        from .image_processing_emotifusion import EmotiFusionImageProcessor
        from .modeling_emotifusion import EmotiFusionForEmotionClassification
        from .pipeline_emotifusion import EMOTION_FUSION_TASK, EmotionFusionPipeline
        from .processing_emotifusion import EmotiFusionProcessor

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
        _serve_the_task_with_installed_code(EMOTION_FUSION_TASK, EmotionFusionPipeline)
        _state["registered"] = True
    finally:
        _state["registering"] = False


def _serve_the_task_with_installed_code(task: str, pipeline_class) -> None:
    """Wrap `transformers.pipeline` so that `pipeline(task, ...)` without `trust_remote_code` uses `pipeline_class`
    (installed, trusted) instead of refusing the checkpoint's declared remote-code copy of it."""
    import transformers
    import transformers.pipelines as pipelines

    original = pipelines.pipeline
    if getattr(original, "_emotifusion_task", None) == task:
        return

    @functools.wraps(original)
    def pipeline(*args, **kwargs):
        requested = args[0] if args else kwargs.get("task")
        if requested == task and not kwargs.get("trust_remote_code") and kwargs.get("pipeline_class") is None:
            kwargs["pipeline_class"] = pipeline_class
        return original(*args, **kwargs)

    pipeline._emotifusion_task = task
    pipelines.pipeline = pipeline
    if "pipeline" in vars(transformers):  # the lazy package root caches what it handed out already
        transformers.pipeline = pipeline


def _initialising(name: str) -> bool:
    module = sys.modules.get(name)
    return bool(getattr(getattr(module, "__spec__", None), "_initializing", False))


def _register_when_ready(just_loaded: str) -> None:
    if _state["registered"] or _state["registering"] or _AUTO_MODULE not in sys.modules:
        return
    busy = [name for name in list(sys.modules) if name != just_loaded and _initialising(name)
            and (name.startswith("transformers.") or name.startswith(_PACKAGE + "."))]
    if not busy:
        register()


class _NotifyingLoader(importlib.abc.Loader):
    """Runs the real loader, then gives the registration a chance."""

    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        _state["loading"] += 1
        try:
            self._loader.exec_module(module)
        finally:
            _state["loading"] -= 1
        if _state["loading"] == 0:
            _register_when_ready(module.__name__)

    def __getattr__(self, name):
        return getattr(self._loader, name)


class _RegistrationHook(importlib.abc.MetaPathFinder):
    """Until the registration is done, watches the imports of transformers' modules and of our own submodules."""

    def find_spec(self, fullname, path, target=None):
        if _state["registered"]:
            return None
        if not fullname.startswith("transformers.") and not fullname.startswith(_PACKAGE + "."):
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _NotifyingLoader(spec.loader)
                return spec
        return None


def install() -> None:
    """Register now if transformers' Auto classes are already loaded, else as soon as they are."""
    if not any(isinstance(finder, _RegistrationHook) for finder in sys.meta_path):
        sys.meta_path.insert(0, _RegistrationHook())
    _register_when_ready(__name__)
