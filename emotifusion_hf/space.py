"""A Hugging Face Space that serves the interactive demo of a pushed model (`emotifusion push --space`).

The Space holds an `app.py` that starts `emotifusion_hf.app` on the model repository, a `requirements.txt` pinned
to this package's `[app]` extra at this version, the example faces and dialogues, and a README whose metadata tells
the Hub it is a Gradio Space.
"""

import json
import os
import shutil
import tempfile
from pathlib import Path

from . import __version__


SPACE_APP = '''"""The EmotiFusion demo for {model_repo_id}: a face and a dialogue in, eight emotions and why out."""

import json
import os

from emotifusion_hf.app import launch_app

HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(HERE, "examples", "examples.json"), encoding="utf-8") as handle:
    EXAMPLES = [[os.path.join(HERE, "examples", item["image"]), item["text"]] for item in json.load(handle)]

if __name__ == "__main__":
    launch_app(
        {model_reference!r},
        host=os.environ.get("GRADIO_SERVER_NAME", "0.0.0.0"),
        port=int(os.environ.get("GRADIO_SERVER_PORT", "7860")),
        examples=EXAMPLES,
    )
'''

SPACE_README = """---
title: {title_yaml}
emoji: 🎭
colorFrom: indigo
colorTo: yellow
sdk: gradio
sdk_version: {gradio_version}
app_file: app.py
pinned: false
license: apache-2.0
models:
- {model_repo_id}
tags:
- emotion-recognition
- multimodal
---

# {title}

The interactive demo of [{model_repo_id}](https://huggingface.co/{model_repo_id}): upload a face (or use the
webcam), type a dialogue with one turn per line and press **Submit**. The page shows the eight-emotion distribution,
the image-only and text-only evidence, the face under a heat map and the dialogue's words shaded by how much they
mattered.

The same function is an API endpoint:

```python
from gradio_client import Client, handle_file
client = Client("{space_id}")
client.predict(handle_file("face.jpg"), "Seriously? You ate my cake?", api_name="/predict")
# -> {{"anger": 0.71, "disgust": 0.12, ...}}
```

Emotion labels describe facial expressions and wording, not what a person feels; the model is not suitable for
decisions about individuals.
"""

DEFAULT_GRADIO_VERSION = "6.0.0"


def app_package_requirement() -> str:
    """This package with its `[app]` extra, pinned to the running version."""
    return f"emotifusion-hf[app]=={__version__}"


def _gradio_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("gradio")
    except PackageNotFoundError:
        return DEFAULT_GRADIO_VERSION


def write_space(folder, model_repo_id: str, space_id: str, examples=None, package: str | None = None) -> Path:
    """Write the Space's files into `folder`: `app.py`, `requirements.txt`, `README.md` and `examples/` (the
    `[[image path, dialogue], ...]` given, copied in). `package` replaces the pinned requirement on this package
    (e.g. a wheel URL or a git reference)."""
    folder = Path(folder)
    (folder / "examples").mkdir(parents=True, exist_ok=True)
    listed = []
    for index, (image, text) in enumerate(examples or []):
        if not os.path.isfile(image):
            raise FileNotFoundError(f"Space example image not found: {image!r}")
        name = f"{index:02d}_{Path(image).name}"
        shutil.copyfile(image, folder / "examples" / name)
        listed.append({"image": name, "text": text})
    (folder / "examples" / "examples.json").write_text(json.dumps(listed, indent=2, ensure_ascii=False) + "\n")
    (folder / "app.py").write_text(SPACE_APP.format(model_repo_id=model_repo_id, model_reference=model_repo_id))
    (folder / "requirements.txt").write_text(f"{package or app_package_requirement()}\n")
    title = f"EmotiFusion demo: {model_repo_id.split('/')[-1]}"
    (folder / "README.md").write_text(SPACE_README.format(
        title=title, title_yaml=json.dumps(title), gradio_version=_gradio_version(), model_repo_id=model_repo_id, space_id=space_id))
    return folder


def push_space(space_id: str, model_repo_id: str, examples=None, private: bool = False, package: str | None = None,
               token: str | None = None, commit_message: str | None = None):
    """Create (or update) the Gradio Space `space_id` serving the demo of `model_repo_id` and upload its files."""
    from huggingface_hub import HfApi
    from huggingface_hub.errors import OfflineModeIsEnabled

    api = HfApi(token=token)
    with tempfile.TemporaryDirectory(prefix="emotifusion-space-") as staging:
        write_space(staging, model_repo_id, space_id, examples, package)
        try:
            api.create_repo(space_id, private=private, exist_ok=True, repo_type="space", space_sdk="gradio")
            return api.upload_folder(folder_path=staging, repo_id=space_id, repo_type="space",
                                     commit_message=commit_message or f"EmotiFusion demo for {model_repo_id}")
        except OfflineModeIsEnabled as error:
            raise RuntimeError(
                f"Cannot push the Space {space_id!r}: Hugging Face Hub offline mode is on (HF_HUB_OFFLINE=1)."
            ) from error


__all__ = ["app_package_requirement", "push_space", "write_space"]
