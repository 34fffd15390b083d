"""Model card rendering and `emotifusion push` against a Hub stand-in on 127.0.0.1 (no network)."""

import json
import os
import subprocess
import sys

import pytest
import torch
from huggingface_hub import ModelCard

from emotifusion_hf import EMOTIONS, EmotiFusionForEmotionClassification
from emotifusion_hf.card import render_model_card
from emotifusion_hf.checkpoint import REQUIRED_CHECKPOINT_FILES, save_checkpoint

from conftest import make_tiny_config, tiny_text_config
from hub_server import HubStandIn


TOKEN = "hf_emotifusion_test_token"

EVAL_REPORT = {
    "split": "test",
    "num_samples": 64,
    "fused": {"accuracy": 0.8125, "macro_f1": 0.8012, "weighted_f1": 0.81, "ece": 0.041,
              "per_class": {label: {"precision": 0.8, "recall": 0.75, "f1": 0.77, "support": 8} for label in EMOTIONS}},
    "image_only": {"accuracy": 0.61, "macro_f1": 0.6, "weighted_f1": 0.6, "ece": 0.05},
    "text_only": {"accuracy": 0.7, "macro_f1": 0.69, "weighted_f1": 0.69, "ece": 0.07},
    "agreement_levels": {"1.00": {"accuracy": 0.95, "macro_f1": 0.95}, "0.00": {"accuracy": 0.5, "macro_f1": 0.48}},
    "text_missing": {"accuracy": 0.6, "macro_f1": 0.58},
    "calibration": {"temperature": 1.4, "ece_before": 0.09, "ece_after": 0.041},
}
PLACEHOLDER_MARKERS = ("{{", "}}", "{%", "TODO", "More Information Needed", "path/to", "[Your", "None |", "| None")


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory, processor):
    torch.manual_seed(0)
    directory = tmp_path_factory.mktemp("hub_checkpoint")
    config = make_tiny_config(text_config=tiny_text_config(processor.tokenizer.vocab_size), temperature=1.4)
    model = EmotiFusionForEmotionClassification(config)
    save_checkpoint(model, processor, directory, eval_report=EVAL_REPORT,
                    training_summary={"dataset": "demo", "epochs": 3, "train_samples": 512})
    return directory


def test_card_metadata_parses_and_model_index_comes_from_the_report(checkpoint):
    card = ModelCard.load(checkpoint / "README.md")
    assert card.data.license == "apache-2.0" and card.data.library_name == "transformers"
    assert "emotion-recognition" in card.data.tags and "multimodal" in card.data.tags
    results = {(r.metric_type, r.metric_name): r.metric_value for r in card.data.eval_results}
    assert results[("accuracy", "Accuracy (image + text (fused))")] == 0.8125
    assert results[("f1", "Macro F1 (image + text (fused))")] == 0.8012
    assert results[("accuracy", "Accuracy (image only)")] == 0.61
    assert results[("f1", "Macro F1 (text only)")] == 0.69


def test_card_body_has_every_section_and_no_placeholder(checkpoint):
    text = (checkpoint / "README.md").read_text()
    for heading in ("## Architecture", "## How to use", "## Training data and recipe", "## Evaluation",
                    "### Modality ablation", "### Per class (fused)", "### Text agreement", "### Calibration",
                    "## Intended use", "## Out-of-scope uses", "## Limitations and biases"):
        assert heading in text, heading
    assert 'pipeline("emotion-fusion"' in text and "trust_remote_code=True" in text and "emotifusion predict" in text
    assert "| image only | 0.6100 |" in text and "| contempt | 0.8000 |" in text
    assert str(checkpoint.resolve()) in text  # snippets name this folder until the checkpoint is pushed
    for marker in PLACEHOLDER_MARKERS:
        assert marker not in text, marker


def test_affectnet_card_carries_the_licence_caveat():
    config = make_tiny_config()
    card = render_model_card(config, EVAL_REPORT, {"dataset": "affectnet"}, repo_id="you/emotifusion-base",
                             num_parameters=10, vision_channels=[512, 576])
    assert card.data.license == "other" and card.data.license_name == "affectnet-research-only"
    assert "research use only" in card.text and "you/emotifusion-base" in card.text


def test_unevaluated_card_claims_no_figures():
    card = render_model_card(make_tiny_config(), None, None, repo_id="you/x", num_parameters=10, vision_channels=[1, 2])
    assert not card.data.eval_results
    assert "has not been evaluated" in card.text
    for marker in PLACEHOLDER_MARKERS:
        assert marker not in card.text, marker


def _push(checkpoint, endpoint, *extra, offline=False, token=TOKEN, hf_home=None):
    env = {**os.environ, "HF_ENDPOINT": endpoint, "HF_TOKEN": token, "HF_HUB_OFFLINE": "1" if offline else "0",
           "HF_HUB_DISABLE_TELEMETRY": "1", "HF_HUB_DISABLE_XET": "1"}
    if token is None:
        env.pop("HF_TOKEN")
    if hf_home is not None:
        env["HF_HOME"] = str(hf_home)  # where a cached login would be
    return subprocess.run(
        [sys.executable, "-m", "emotifusion_hf.cli", "push", "--model", str(checkpoint), *extra],
        capture_output=True, text=True, env=env, timeout=300,
    )


LOAD_PUSHED = """
import sys
sys.modules["emotifusion_hf"] = None
import numpy as np
from PIL import Image
from transformers import AutoModel, pipeline
folder = sys.argv[1]
model = AutoModel.from_pretrained(folder, trust_remote_code=True)
pipe = pipeline(model=folder, trust_remote_code=True, device="cpu")
scores = pipe({"image": Image.fromarray(np.full((40, 40, 3), 90, dtype=np.uint8)), "text": "what a day"})
assert len(scores) == 8
print("LOADED", type(model).__name__, model.config.temperature)
"""


def test_push_uploads_exactly_what_loads_as_remote_code(checkpoint, tmp_path):
    with HubStandIn(tmp_path / "hub", TOKEN) as hub:
        result = _push(checkpoint, hub.endpoint, "--repo-id", "you/emotifusion-tiny", "--private",
                       "--revision", "v1", "--commit-message", "first upload")
        assert result.returncode == 0, result.stderr[-4000:]
        assert "pushed" in result.stdout
        assert hub.repos["you/emotifusion-tiny"]["visibility"] == "private"
        assert hub.repos["you/emotifusion-tiny"]["commits"] == ["first upload"]
        arrived = hub.files("you/emotifusion-tiny", "v1")
        names = {path.name for path in arrived.iterdir()}
        assert set(REQUIRED_CHECKPOINT_FILES) <= names
        assert {"README.md", "tokenizer.json", "eval_report.json"} <= names
        assert not any(name.endswith((".bin", ".pt", ".pth")) for name in names)
        # The uploaded card names the repository it lives in.
        assert 'model="you/emotifusion-tiny"' in (arrived / "README.md").read_text()
        assert (arrived / "model.safetensors").read_bytes() == (checkpoint / "model.safetensors").read_bytes()

    loaded = subprocess.run([sys.executable, "-c", LOAD_PUSHED, str(arrived)], capture_output=True, text=True,
                            cwd=tmp_path, timeout=300)
    assert loaded.returncode == 0, loaded.stderr[-4000:]
    assert "LOADED EmotiFusionForEmotionClassification 1.4" in loaded.stdout


def test_push_errors_are_clear(checkpoint, tmp_path):
    offline = _push(checkpoint, "http://127.0.0.1:9", "--repo-id", "you/x", offline=True)
    assert offline.returncode == 1 and "offline mode" in offline.stderr
    incomplete = tmp_path / "incomplete"
    incomplete.mkdir()
    (incomplete / "config.json").write_text(json.dumps({}))
    result = _push(incomplete, "http://127.0.0.1:9", "--repo-id", "you/x")
    assert result.returncode == 1 and "model.safetensors" in result.stderr
    with HubStandIn(tmp_path / "hub", "another-token") as hub:
        denied = _push(checkpoint, hub.endpoint, "--repo-id", "you/x")
        assert denied.returncode == 1 and "401" in denied.stderr
        assert [method for method, _ in hub.requests] == ["GET"]  # the token check only: nothing was uploaded


def _one_error_line(result) -> str:
    assert result.returncode == 1, result.stderr[-3000:]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def test_push_without_network_says_so_in_one_line_and_touches_nothing(checkpoint):
    card_before = (checkpoint / "README.md").read_text()
    # Port 9 (discard) on the loopback: the connection is refused, as with no network, and nothing leaves the machine.
    line = _one_error_line(_push(checkpoint, "http://127.0.0.1:9", "--repo-id", "you/x"))
    assert "cannot be reached" in line and "127.0.0.1:9" in line and "network" in line
    assert (checkpoint / "README.md").read_text() == card_before  # the card is re-rendered only for a real push


@pytest.mark.parametrize(
    "repo_id, role, token, message",
    [
        ("you/x", "write", None, "no Hugging Face token"),
        ("you/x", "read", TOKEN, "read-only"),
        ("someone-else/x", "write", TOKEN, "no write access to the namespace 'someone-else'"),
        ("datasets/you/x", "write", TOKEN, "names a dataset repository"),
        ("you/not a name", "write", TOKEN, "not a Hub repository id"),
    ],
    ids=["no-token", "read-only-token", "other-namespace", "dataset-id", "malformed-id"],
)
def test_push_checks_token_and_access_before_uploading(checkpoint, tmp_path, repo_id, role, token, message):
    with HubStandIn(tmp_path / "hub", TOKEN, role=role) as hub:
        line = _one_error_line(_push(checkpoint, hub.endpoint, "--repo-id", repo_id, token=token,
                                     hf_home=tmp_path / "hf-home"))
        assert message in line, line
        assert all(method == "GET" for method, _ in hub.requests), hub.requests  # nothing created or uploaded


def test_push_with_space_uploads_a_ready_gradio_space_beside_the_model(checkpoint, tmp_path):
    import yaml

    from emotifusion_hf import __version__

    with HubStandIn(tmp_path / "hub", TOKEN) as hub:
        result = _push(checkpoint, hub.endpoint, "--repo-id", "you/emotifusion-tiny", "--space")
        assert result.returncode == 0, result.stderr[-4000:]
        assert "pushed the demo Space" in result.stdout
        space = hub.repos["you/emotifusion-tiny-demo"]
        assert space["type"] == "space" and space["sdk"] == "gradio"
        assert hub.repos["you/emotifusion-tiny"]["type"] == "model"
        files = hub.files("you/emotifusion-tiny-demo")
        readme = (files / "README.md").read_text()
        metadata = yaml.safe_load(readme.split("---")[1])
        assert metadata["sdk"] == "gradio" and metadata["app_file"] == "app.py"
        assert metadata["models"] == ["you/emotifusion-tiny"] and str(metadata["sdk_version"]).startswith("6.")
        assert (files / "requirements.txt").read_text().split() == [f"emotifusion-hf[app]=={__version__}"]
        app = (files / "app.py").read_text()
        compile(app, "app.py", "exec")
        assert "launch_app(\n        'you/emotifusion-tiny'" in app
        examples = json.loads((files / "examples" / "examples.json").read_text())
        assert len(examples) >= 3
        for example in examples:
            assert (files / "examples" / example["image"]).stat().st_size > 0 and example["text"].strip()

        named = _push(checkpoint, hub.endpoint, "--repo-id", "you/emotifusion-tiny", "--space-id", "you/other-space",
                      "--space-package", "emotifusion-hf[app] @ git+https://example.org/emotifusion-hf")
        assert named.returncode == 0, named.stderr[-4000:]
        requirement = (hub.files("you/other-space") / "requirements.txt").read_text().strip()
        assert requirement == "emotifusion-hf[app] @ git+https://example.org/emotifusion-hf"

    bad = _push(checkpoint, "http://127.0.0.1:9", "--repo-id", "you/x", "--space-id", "no-namespace")
    assert bad.returncode == 1 and "--space-id must be namespace/name" in bad.stderr
