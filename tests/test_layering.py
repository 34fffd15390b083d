"""The parts import downward only, and the light entry points stay light.

Layers, bottom up: the remote-code files of `emotifusion_hf` (siblings only) <- the library floor of
`emotifusion_hf` <- `dataset_builder` (torch-free parts of the library only) and `training` <- the `emotifusion`
command (`emotifusion_hf/cli.py`) and `bench/` on top. Nothing imports the command.
"""

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest


ROOT = Path(__file__).resolve().parent.parent
REMOTE_CODE = {"labels", "inputs", "configuration_emotifusion", "modeling_emotifusion", "image_processing_emotifusion",
               "processing_emotifusion", "pipeline_emotifusion", "quantization_emotifusion", "explanation_emotifusion"}
# The parts of the library that import neither torch nor transformers: all that dataset_builder may use.
TORCH_FREE_LIBRARY = {"emotifusion_hf", "emotifusion_hf.labels", "emotifusion_hf.inputs", "emotifusion_hf.image_files",
                      "emotifusion_hf.staging"}
HEAVY = {"torch", "timm", "transformers"}


def _imports(path: Path) -> set[str]:
    """Absolute module names a file imports (relative imports resolved against its package)."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def _files(part: str):
    return sorted((ROOT / part).rglob("*.py"))


def _project_imports(path: Path) -> set[str]:
    return {name for name in _imports(path) if name.split(".")[0] in {"emotifusion_hf", "dataset_builder", "training",
                                                                        "bench"}}


def test_nothing_imports_the_command():
    for part in ("emotifusion_hf", "dataset_builder", "training", "bench"):
        for path in _files(part):
            if path.name == "cli.py" and path.parent.name == "emotifusion_hf":
                continue
            assert "emotifusion_hf.cli" not in _imports(path), path


def test_remote_code_imports_only_remote_code_siblings():
    for name in REMOTE_CODE:
        for imported in _project_imports(ROOT / "emotifusion_hf" / f"{name}.py"):
            assert imported.split(".")[1] in REMOTE_CODE, (name, imported)


def test_library_never_imports_the_parts_above_it():
    for path in _files("emotifusion_hf"):
        if path.name == "cli.py":
            continue  # the command is the top floor: it reaches training and dataset_builder on purpose
        for imported in _project_imports(path):
            assert imported.split(".")[0] == "emotifusion_hf", (path, imported)


def test_dataset_builder_uses_only_the_torch_free_library():
    for path in _files("dataset_builder"):
        for imported in _project_imports(path):
            top = imported.split(".")[0]
            assert top in {"dataset_builder", "emotifusion_hf"}, (path, imported)
            if top == "emotifusion_hf":
                assert imported in TORCH_FREE_LIBRARY or imported.rpartition(".")[0] in TORCH_FREE_LIBRARY, (
                    path, imported)


def test_training_never_imports_bench():
    for path in _files("training"):
        assert not any(name.split(".")[0] == "bench" for name in _project_imports(path)), path


def _loaded_after(code: str) -> set[str]:
    probe = f"{code}\nimport sys\nprint(' '.join(sorted({{m.split('.')[0] for m in sys.modules}})))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300, cwd=ROOT,
                            env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert result.returncode == 0, result.stderr[-2000:]
    return set(result.stdout.split())


@pytest.mark.parametrize("code", [
    "import emotifusion_hf",
    "import emotifusion_hf.labels, emotifusion_hf.staging, emotifusion_hf.image_files",
    "import dataset_builder",
    "import dataset_builder.__main__ as m\ntry:\n    m.main(['--help'])\nexcept SystemExit:\n    pass",
    "from emotifusion_hf.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass",
])
def test_light_entry_points_load_no_torch(code):
    loaded = _loaded_after(code)
    assert "torch" not in loaded
    if "dataset_builder" in code or "labels" in code:
        assert not HEAVY & loaded


def test_auto_classes_and_pipeline_find_the_model_after_a_lazy_import(tmp_path, processor):
    """`import emotifusion_hf` registers nothing eagerly, yet `AutoModel` and `pipeline("emotion-fusion")` work."""
    from conftest import make_tiny_config, tiny_text_config
    from emotifusion_hf import EmotiFusionForEmotionClassification

    model = EmotiFusionForEmotionClassification(make_tiny_config(text_config=tiny_text_config(
        processor.tokenizer.vocab_size)))
    model.save_pretrained(tmp_path)
    processor.save_pretrained(tmp_path)
    code = (
        "import emotifusion_hf, sys\n"
        "assert 'torch' not in sys.modules\n"
        "from transformers import AutoConfig, AutoModel, pipeline\n"
        f"model = AutoModel.from_pretrained({str(tmp_path)!r})\n"
        "assert type(model).__module__ == 'emotifusion_hf.modeling_emotifusion', type(model).__module__\n"
        f"pipe = pipeline('emotion-fusion', model={str(tmp_path)!r}, trust_remote_code=True)\n"
        "assert type(pipe).__name__ == 'EmotionFusionPipeline', type(pipe)\n"
        "print(pipe({'image': None, 'text': 'What a lovely surprise!'})[0]['label'])\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=ROOT,
                            env=dict(os.environ, PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1"))
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] in {"anger", "contempt", "disgust", "fear", "happy", "neutral",
                                                      "sad", "surprise"}


def test_importing_a_submodule_first_still_registers():
    code = ("import emotifusion_hf.modeling_emotifusion\n"
            "from transformers import AutoConfig\n"
            "from transformers.pipelines import PIPELINE_REGISTRY\n"
            "assert AutoConfig.for_model('emotifusion').__class__.__name__ == 'EmotiFusionConfig'\n"
            "assert 'emotion-fusion' in PIPELINE_REGISTRY.supported_tasks\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=ROOT,
                            env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert result.returncode == 0, result.stderr[-3000:]
