"""A saved checkpoint loads as remote code in a process where `emotifusion_hf` cannot be imported."""

import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from emotifusion_hf import EmotiFusionForEmotionClassification

from conftest import make_tiny_config, tiny_text_config


REMOTE_FILES = {
    "labels.py",
    "inputs.py",
    "configuration_emotifusion.py",
    "modeling_emotifusion.py",
    "image_processing_emotifusion.py",
    "processing_emotifusion.py",
    "pipeline_emotifusion.py",
    "quantization_emotifusion.py",
    "explanation_emotifusion.py",
}

BLOCKED_LOAD = """
import sys
sys.modules["emotifusion_hf"] = None  # the package cannot be imported here
import numpy as np, torch
from PIL import Image
from transformers import AutoConfig, AutoImageProcessor, AutoModel, AutoProcessor

checkpoint = sys.argv[1]
config = AutoConfig.from_pretrained(checkpoint, trust_remote_code=True)
model = AutoModel.from_pretrained(checkpoint, trust_remote_code=True).eval()
processor = AutoProcessor.from_pretrained(checkpoint, trust_remote_code=True)
image_processor = AutoImageProcessor.from_pretrained(checkpoint, trust_remote_code=True)
assert "emotifusion_hf" not in {m.split(".")[0] for m in sys.modules if sys.modules[m] is not None}
faces = [Image.fromarray(np.full((40, 30, 3), value, dtype=np.uint8)) for value in (30, 200)]
batch = processor(images=faces, text=["Seriously? You ate my cake?", ["You're late.", "Sorry, the bus."]])
with torch.no_grad():
    logits = model(**batch).logits
torch.save({"batch": dict(batch), "logits": logits}, checkpoint + "/remote_outputs.pt")
print("CLASSES", type(config).__name__, type(model).__name__, type(processor).__name__, type(image_processor).__name__)
print("MODULE", type(model).__module__)
from transformers import pipeline
pipe = pipeline(model=checkpoint, trust_remote_code=True, device="cpu")
explanation = pipe({"image": faces[0], "text": "You ate my cake?"}, return_explanation=True)["explanation"]
print("EXPLAINED", explanation["method"], [word for word, _ in explanation["tokens"]], np.shape(explanation["face"]))
"""


@pytest.mark.parametrize("fusion", ["attention", "concat"])
def test_remote_code_load_with_the_package_blocked(fusion, tmp_path, processor):
    torch.manual_seed(0)
    config = make_tiny_config(fusion=fusion, text_config=tiny_text_config(processor.tokenizer.vocab_size))
    model = EmotiFusionForEmotionClassification(config).eval()
    model.save_pretrained(tmp_path)
    processor.save_pretrained(tmp_path)

    saved = {path.name for path in tmp_path.iterdir()}
    assert REMOTE_FILES <= saved
    assert "model.safetensors" in saved and not any(name.endswith((".bin", ".pt", ".pth")) for name in saved)
    auto_map = json.loads((tmp_path / "config.json").read_text())["auto_map"]
    assert auto_map["AutoModel"] == "modeling_emotifusion.EmotiFusionForEmotionClassification"

    result = subprocess.run(
        [sys.executable, "-c", BLOCKED_LOAD, str(tmp_path)],
        capture_output=True, text=True, cwd=tmp_path, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    assert (
        "CLASSES EmotiFusionConfig EmotiFusionForEmotionClassification EmotiFusionProcessor EmotiFusionImageProcessor"
        in result.stdout
    )
    assert "transformers_modules" in result.stdout  # the classes came from the checkpoint's own code files
    method = "attention" if fusion == "attention" else "gradient"
    assert f"EXPLAINED {method} ['You', 'ate', 'my', 'cake?'] (40, 30)" in result.stdout

    remote = torch.load(tmp_path / "remote_outputs.pt")
    local_batch = processor(
        images=[Image.fromarray(np.full((40, 30, 3), value, dtype=np.uint8)) for value in (30, 200)],
        text=["Seriously? You ate my cake?", ["You're late.", "Sorry, the bus."]],
    )
    for name, tensor in local_batch.items():
        torch.testing.assert_close(remote["batch"][name], tensor, msg=name)
    with torch.no_grad():
        torch.testing.assert_close(remote["logits"], model(**local_batch).logits, atol=1e-5, rtol=1e-5)


def test_remote_code_files_import_only_siblings_and_declared_packages(tmp_path):
    import ast

    import emotifusion_hf

    package_dir = __import__("pathlib").Path(emotifusion_hf.__file__).parent
    # Module level: the standard library pieces used and the declared dependencies a Hub user has.
    standard_library = {"copy", "os", "io", "re", "math", "stat", "warnings", "collections", "dataclasses", "typing",
                        "threading"}
    allowed = standard_library | {"numpy", "torch", "timm", "transformers", "PIL"}
    # Inside functions only: optional extras, imported when the feature that needs them is used.
    optional = {"cv2"}
    for name in REMOTE_FILES:
        tree = ast.parse((package_dir / name).read_text())
        top_level = set(map(id, tree.body))
        for node in ast.walk(tree):
            permitted = allowed if id(node) in top_level else allowed | optional
            if isinstance(node, ast.ImportFrom):
                if node.level:  # relative: must be a sibling remote-code file
                    assert f"{node.module}.py" in REMOTE_FILES, (name, node.module)
                else:
                    assert node.module.split(".")[0] in permitted, (name, node.module)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    assert alias.name.split(".")[0] in permitted, (name, alias.name)
