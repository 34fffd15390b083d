"""Checkpoints survive upgrades: a checkpoint saved by an earlier release loads with today's code, in-process and
as its own remote code, and gives the logits it gave when it was saved. The state-dict layout of a default model
is pinned too, so a change to it is a deliberate one (re-run `tests/fixtures/make_fixtures.py` and say why)."""

import json
import os
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file

from emotifusion_hf import EmotiFusionConfig, EmotiFusionForEmotionClassification


FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
CHECKPOINT = os.path.join(FIXTURES, "checkpoint_v0_1")
TOLERANCE = 1e-5
# State added since the fixture was saved; each loads at its neutral value (the evidence weights unfitted).
ADDED_SINCE_FIXTURE = {"evidence_weights": [3], "missing_evidence_weights": [2, 2]}

REMOTE_LOAD = """
import sys
sys.modules["emotifusion_hf"] = None
import torch
from safetensors.torch import load_file
from transformers import AutoModel

checkpoint, inputs_file = sys.argv[1], sys.argv[2]
model = AutoModel.from_pretrained(checkpoint, trust_remote_code=True).eval()
tensors = load_file(inputs_file)
names = ("pixel_values", "input_ids", "attention_mask", "token_type_ids", "image_present", "text_present")
with torch.no_grad():
    output = model(**{name: tensors[name] for name in names})
error = (output.logits - tensors["logits"]).abs().max().item()
print("MAX_ERROR", error, type(model).__module__)
"""


def _fixture_tensors() -> dict:
    return load_file(os.path.join(CHECKPOINT, "inputs_and_logits.safetensors"))


def _manifest(model) -> dict:
    return {name: list(tensor.shape) for name, tensor in model.state_dict().items()}


def test_old_checkpoint_loads_in_process_with_the_same_logits():
    model = EmotiFusionForEmotionClassification.from_pretrained(CHECKPOINT).eval()
    tensors = _fixture_tensors()
    inputs = {name: tensors[name] for name in ("pixel_values", "input_ids", "attention_mask", "token_type_ids",
                                                "image_present", "text_present")}
    with torch.no_grad():
        output = model(**inputs)
    for name in ("logits", "image_logits", "text_logits"):
        assert torch.allclose(getattr(output, name), tensors[name], atol=TOLERANCE), name
    with open(os.path.join(CHECKPOINT, "state_dict_manifest.json")) as handle:
        assert _manifest(model) == {**json.load(handle), **ADDED_SINCE_FIXTURE}
    assert model.evidence_weights.tolist() == [1.0, 0.0, 0.0]
    assert model.missing_evidence_weights.tolist() == [[1.0, 0.0], [1.0, 0.0]]


@pytest.mark.slow
def test_old_checkpoint_loads_as_its_own_remote_code(tmp_path):
    inputs_file = os.path.join(CHECKPOINT, "inputs_and_logits.safetensors")
    result = subprocess.run([sys.executable, "-c", REMOTE_LOAD, CHECKPOINT, inputs_file],
                            capture_output=True, text=True, timeout=300, env=dict(os.environ, HF_HUB_OFFLINE="1"))
    assert result.returncode == 0, result.stderr[-3000:]
    line = next(line for line in result.stdout.splitlines() if line.startswith("MAX_ERROR"))
    _, error, module = line.split()
    assert float(error) <= TOLERANCE
    assert module.startswith("transformers_modules"), module


def test_default_model_state_dict_layout_is_unchanged():
    with open(os.path.join(FIXTURES, "default_model_manifest.json")) as handle:
        committed = json.load(handle)
    with torch.device("meta"):
        model = EmotiFusionForEmotionClassification(EmotiFusionConfig())
    assert _manifest(model) == committed
