import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from conftest import make_tiny_config, noise_pixels, tiny_text_config
from PIL import Image
from transformers import pipeline

from emotifusion_hf import (
    EMOTIONS,
    EmotiFusionForEmotionClassification,
    EmotionFusionPipeline,
)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory, processor):
    torch.manual_seed(0)
    directory = tmp_path_factory.mktemp("checkpoint")
    config = make_tiny_config(text_config=tiny_text_config(processor.tokenizer.vocab_size), temperature=1.5)
    EmotiFusionForEmotionClassification(config).eval().save_pretrained(directory)
    processor.save_pretrained(directory)
    return directory


@pytest.fixture(scope="module")
def pipe(checkpoint):
    return pipeline("emotion-fusion", model=str(checkpoint), trust_remote_code=True, device="cpu")


@pytest.fixture(scope="module")
def face_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("faces") / "face.jpg"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (90, 70, 3), dtype=np.uint8)).save(path)
    return str(path)


def _assert_distribution(scores, length=8):
    assert len(scores) == length
    assert [item["score"] for item in scores] == sorted((item["score"] for item in scores), reverse=True)
    assert {item["label"] for item in scores} <= set(EMOTIONS)
    if length == 8:
        assert sum(item["score"] for item in scores) == pytest.approx(1.0, abs=1e-5)
    assert all(np.isfinite(item["score"]) for item in scores)


def test_input_forms(pipe, face_path):
    as_dict = pipe({"image": face_path, "text": "Seriously? You ate my cake?"})
    as_keywords = pipe(image=face_path, text="Seriously? You ate my cake?")
    _assert_distribution(as_dict)
    assert as_dict == as_keywords
    for image in (Image.open(face_path), np.asarray(Image.open(face_path)),
                  torch.from_numpy(np.asarray(Image.open(face_path)).transpose(2, 0, 1).copy())):
        _assert_distribution(pipe({"image": image, "text": ["You're late.", "Sorry, the bus."]}))


def test_scores_are_the_temperature_scaled_softmax(pipe, checkpoint, processor, face_path):
    model = EmotiFusionForEmotionClassification.from_pretrained(checkpoint).eval()
    batch = processor(images=[face_path], text=["I am thrilled"])
    with torch.no_grad():
        expected = torch.softmax(model(**batch).logits[0] / 1.5, dim=-1)
    scores = {item["label"]: item["score"] for item in pipe({"image": face_path, "text": "I am thrilled"})}
    for index, label in enumerate(EMOTIONS):
        assert scores[label] == pytest.approx(float(expected[index]), abs=1e-5)


def test_top_k_and_modalities(pipe, face_path):
    _assert_distribution(pipe({"image": face_path, "text": "hi"}, top_k=3), length=3)
    result = pipe({"image": face_path, "text": "hi"}, return_modalities=True)
    _assert_distribution(result["scores"])
    _assert_distribution(result["image_only"])
    _assert_distribution(result["text_only"])
    image_only = pipe({"image": face_path}, return_modalities=True)
    assert image_only["text_only"] is None and image_only["image_only"] is not None
    text_only = pipe({"text": "I can't stop smiling"}, return_modalities=True)
    assert text_only["image_only"] is None and text_only["text_only"] is not None


def test_batched_results_equal_single_results_and_batches_are_one_call(pipe, face_path, monkeypatch):
    inputs = [
        {"image": face_path, "text": "You did WHAT?"},
        {"image": None, "text": ["Where were you?", "Stuck in traffic."]},
        {"image": face_path},
        {"image": face_path, "text": "fine, whatever"},
        {"text": "I miss her so much"},
    ]
    singles = [pipe(item) for item in inputs]
    calls = []
    original = type(pipe.processor.image_processor).preprocess

    def counting(self, images, *args, **kwargs):
        calls.append(len(images))
        return original(self, images, *args, **kwargs)

    monkeypatch.setattr(type(pipe.processor.image_processor), "preprocess", counting)
    batched = pipe(inputs, batch_size=4)
    assert calls == [4]  # one image-processor call for the first batch; the second batch has no image
    for single, combined in zip(singles, batched):
        for a, b in zip(single, combined):
            assert a["label"] == b["label"] and a["score"] == pytest.approx(b["score"], abs=1e-5)


@pytest.mark.parametrize(
    "bad, error, message",
    [
        ({"image": None, "text": None}, ValueError, "neither an image nor a text"),
        ({}, ValueError, "neither an image nor a text"),
        ({"text": ""}, ValueError, "empty or blank"),
        ({"text": 12}, TypeError, "input 0 text"),
        ({"text": ["ok", 3]}, TypeError, r"input 0 text\[1\]"),
        ({"image": "/no/such/face.png"}, FileNotFoundError, "face.png"),
        ({"image": b"garbage bytes"}, OSError, "Cannot read"),
        ({"image": np.full((8, 8, 3), np.nan)}, ValueError, "NaN"),
        ({"picture": "x.jpg"}, ValueError, "unknown key"),
        (7, TypeError, "dict"),
    ],
)
def test_bad_input_is_a_clear_error(pipe, bad, error, message):
    with pytest.raises(error, match=message):
        pipe(bad)


def test_bad_sample_in_a_list_names_its_index(pipe, face_path):
    with pytest.raises(ValueError, match="Input 1"):
        pipe([{"image": face_path}, {"image": None}], batch_size=2)
    with pytest.raises(ValueError, match="top_k"):
        pipe({"text": "hi"}, top_k=0)


def test_face_detection_crops_a_real_face_and_reports_misses(pipe):
    skimage_data = pytest.importorskip("skimage.data")
    pytest.importorskip("cv2")
    astronaut = Image.fromarray(skimage_data.astronaut())
    found = pipe({"image": astronaut, "text": "What a view!"}, detect_face=True)
    assert found["face_found"] is True
    _assert_distribution(found["scores"])
    blank = pipe({"image": Image.new("RGB", (200, 200), (90, 90, 90))}, detect_face=True)
    assert blank["face_found"] is False
    _assert_distribution(blank["scores"])


def test_detected_face_box_is_on_the_face():
    skimage_data = pytest.importorskip("skimage.data")
    pytest.importorskip("cv2")
    from emotifusion_hf import detect_largest_face

    x, y, width, height = detect_largest_face(Image.fromarray(skimage_data.astronaut()), margin=0.0)
    # The astronaut's face lies in the upper middle of the 512x512 photo.
    assert 120 < x + width / 2 < 320 and 50 < y + height / 2 < 220 and 60 < width < 250


BLOCKED_PIPELINE = """
import sys
sys.modules["emotifusion_hf"] = None
import numpy as np
from PIL import Image
from transformers import pipeline

checkpoint = sys.argv[1]
face = Image.fromarray(np.full((60, 50, 3), 120, dtype=np.uint8))
named = pipeline("emotion-fusion", model=checkpoint, trust_remote_code=True, device="cpu")
inferred = pipeline(model=checkpoint, trust_remote_code=True, device="cpu")
a = named({"image": face, "text": "Seriously? You ate my cake?"})
b = inferred([{"image": face, "text": "Seriously? You ate my cake?"}, {"text": "hello"}], batch_size=2)
assert [x["label"] for x in a] == [x["label"] for x in b[0]], (a, b[0])
assert max(abs(x["score"] - y["score"]) for x, y in zip(a, b[0])) < 1e-5, (a, b[0])
assert abs(sum(item["score"] for item in a) - 1) < 1e-5
print("PIPELINE", type(named).__name__, type(named).__module__, a[0]["label"])
"""


def test_remote_code_pipeline_with_the_package_blocked(checkpoint, tmp_path):
    assert (checkpoint / "pipeline_emotifusion.py").exists()
    result = subprocess.run(
        [sys.executable, "-c", BLOCKED_PIPELINE, str(checkpoint)],
        capture_output=True, text=True, cwd=tmp_path, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    assert "PIPELINE EmotionFusionPipeline transformers_modules" in result.stdout


def test_pipeline_class_is_registered_locally(checkpoint):
    from transformers.pipelines import PIPELINE_REGISTRY

    assert PIPELINE_REGISTRY.supported_tasks["emotion-fusion"]["impl"] is EmotionFusionPipeline


def test_quantized_pipeline_is_close_to_fp32(checkpoint, face_path):
    fp32 = pipeline("emotion-fusion", model=str(checkpoint), trust_remote_code=True, device="cpu")
    int8 = pipeline("emotion-fusion", model=str(checkpoint), trust_remote_code=True, device="cpu", quantize=True)
    from torch.ao.nn.quantized.dynamic import Linear as DynamicQuantizedLinear

    assert any(isinstance(module, DynamicQuantizedLinear) for module in int8.model.modules())
    assert not any(isinstance(module, torch.nn.Linear) for module in int8.model.modules())
    inputs = [{"image": face_path, "text": "You did WHAT?"}, {"text": ["Where were you?", "Stuck in traffic."]}]
    for a, b in zip(fp32(inputs, batch_size=2), int8(inputs, batch_size=2)):
        _assert_distribution(b)
        scores_a = {item["label"]: item["score"] for item in a}
        assert max(abs(scores_a[item["label"]] - item["score"]) for item in b) < 0.02


def test_calibrated_quantization_runs_resnet_convolutions_in_int8(checkpoint, face_path, tmp_path):
    from torch.ao.nn.quantized import Conv2d as QuantizedConv2d

    faces = []
    for index in range(4):
        path = tmp_path / f"calibration_{index}.jpg"
        Image.fromarray(np.random.default_rng(index + 1).integers(0, 255, (80, 64, 3), dtype=np.uint8)).save(path)
        faces.append(str(path))
    fp32 = pipeline("emotion-fusion", model=str(checkpoint), trust_remote_code=True, device="cpu")
    int8 = pipeline(
        "emotion-fusion", model=str(checkpoint), trust_remote_code=True, device="cpu", quantize=True,
        calibration_images=faces,
    )
    resnet, mobilenet = int8.model.base_model.vision_model.trunks
    assert any(isinstance(module, QuantizedConv2d) for module in resnet.modules())
    # Depthwise trunks stay fp32 (slower and less accurate in int8).
    assert not any(isinstance(module, QuantizedConv2d) for module in mobilenet.modules())
    assert any(isinstance(module, torch.nn.Conv2d) for module in mobilenet.modules())
    # The fp32 trunk still gets channels-last pixels although the int8 trunk before it has no parameters to ask.
    layouts = []
    mobilenet.register_forward_pre_hook(
        lambda module, args: layouts.append(args[0].is_contiguous(memory_format=torch.channels_last))
    )
    # The pipeline quantised a copy: the fp32 model it was given is untouched.
    assert not any("quantized" in type(module).__module__ for module in fp32.model.modules())
    assert all(type(module) is torch.nn.Linear for module in fp32.model.modules() if isinstance(module, torch.nn.Linear))
    inputs = [{"image": face_path, "text": "You did WHAT?"}, {"image": faces[0]}]
    for a, b in zip(fp32(inputs, batch_size=2), int8(inputs, batch_size=2)):
        _assert_distribution(b)
        scores_a = {item["label"]: item["score"] for item in a}
        assert max(abs(scores_a[item["label"]] - item["score"]) for item in b) < 0.05
    assert layouts == [True]


@pytest.mark.parametrize(
    "options, message",
    [
        ({"calibration_images": ["x.jpg"]}, "with `quantize=True`"),
        ({"quantize": True, "calibration_images": []}, "non-empty list"),
        ({"quantize": True, "calibration_images": "face.jpg"}, "non-empty list"),
    ],
)
def test_bad_calibration_images_are_named(checkpoint, options, message):
    with pytest.raises(ValueError, match=message):
        pipeline("emotion-fusion", model=str(checkpoint), trust_remote_code=True, device="cpu", **options)


def test_quantize_visual_trunks_checks_its_pixels():
    from emotifusion_hf.quantization_emotifusion import quantize_visual_trunks

    with pytest.raises(ValueError, match="calibration_pixel_values"):
        quantize_visual_trunks(None, torch.zeros(3, 8, 8))
    with pytest.raises(ValueError, match="empty"):
        quantize_visual_trunks(None, torch.zeros(0, 3, 8, 8))


# ---------------------------------------------------------------------------------------------------------------
# Modalities, batches and the pipeline's own arguments
# ---------------------------------------------------------------------------------------------------------------


def test_both_modalities_missing_is_an_error(processor, tiny_pipe):
    with pytest.raises(ValueError, match="neither"):
        processor()
    with pytest.raises(ValueError, match="neither"):
        processor(images=None, text=None)
    for empty in ({}, {"image": None, "text": None}, None):
        with pytest.raises(ValueError, match="neither an image nor a text"):
            tiny_pipe(empty)
    with pytest.raises(ValueError, match="Input 1 has neither"):
        tiny_pipe([{"text": "hi"}, {"image": None}])


def test_image_and_text_counts_must_match(processor):
    with pytest.raises(ValueError, match="2 images but 1 texts"):
        processor(images=[noise_pixels(), noise_pixels()], text="hi")
    with pytest.raises(ValueError, match="1 images but 2 texts"):
        processor(images=noise_pixels(), text=["You're late.", "Sorry."])  # a dialogue must sit inside the batch list


def test_a_bad_image_inside_a_batch_names_its_input(bad_files, tiny_pipe):
    inputs = [{"image": str(bad_files / "face.jpg"), "text": "hi"}, {"text": "fine"}, {"image": str(bad_files / "text.jpg")}]
    with pytest.raises(OSError, match=r"Input 2 image: .*text\.jpg"):
        tiny_pipe(inputs, batch_size=3)
    with pytest.raises(TypeError, match="Input 1 image: .*int"):
        tiny_pipe([{"image": noise_pixels()}, {"image": 7}], batch_size=2)


@pytest.mark.parametrize(
    "arguments, error, message",
    [
        ({"batch_size": 0}, ValueError, "batch_size"),
        ({"batch_size": True}, ValueError, "batch_size"),
        ({"batch_size": -2}, ValueError, "batch_size"),
        ({"top_k": 0}, ValueError, "top_k"),
        ({"top_k": 2.0}, ValueError, "top_k"),
        ({"face_margin": float("nan")}, ValueError, "face_margin"),
        ({"face_margin": -0.5}, ValueError, "face_margin"),
        ({"face_margin": "wide"}, TypeError, "face_margin"),
        ({"threshold": 0.5}, TypeError, "threshold"),
    ],
)
def test_bad_pipeline_arguments_are_clear_errors(tiny_pipe, arguments, error, message):
    with pytest.raises(error, match=message):
        tiny_pipe([{"text": "hi"}], **arguments)


@pytest.mark.parametrize(
    "inputs, error, message",
    [
        (b"face or text?", TypeError, "bare bytes"),
        ([{"text": "hi"}, 7], TypeError, "Input 1 must be a dict"),
        ({"picture": "face.jpg"}, ValueError, "unknown key"),
        ((item for item in [{"text": "hi"}]), TypeError, "generator"),
    ],
    ids=["bytes", "list-with-a-number", "unknown-key", "generator"],
)
def test_malformed_pipeline_inputs_are_clear_errors(tiny_pipe, inputs, error, message):
    with pytest.raises(error, match=message):
        tiny_pipe(inputs)


def test_bare_inputs_are_one_modality(tiny_pipe):
    """A bare string is a text alone, a bare PIL image / array / tensor an image alone; a list of them is a batch."""
    face = Image.fromarray(np.full((40, 30, 3), 120, dtype=np.uint8))
    assert tiny_pipe("I am so happy") == tiny_pipe({"text": "I am so happy"})
    assert tiny_pipe(face) == tiny_pipe({"image": face})
    assert tiny_pipe(np.asarray(face)) == tiny_pipe({"image": np.asarray(face)})
    assert tiny_pipe(["I am so happy", face]) == [tiny_pipe({"text": "I am so happy"}), tiny_pipe({"image": face})]


TRUSTED_INSTALLED_PIPELINE = """
import json, shutil, sys
import emotifusion_hf
from transformers import pipeline  # the first transformers import after ours: the registration must wait for it

checkpoint, other = sys.argv[1], sys.argv[2]
pipe = pipeline("emotion-fusion", model=checkpoint, device="cpu")  # no trust_remote_code: the installed code serves
assert type(pipe).__module__ == "emotifusion_hf.pipeline_emotifusion", type(pipe).__module__
assert type(pipe.model).__module__ == "emotifusion_hf.modeling_emotifusion", type(pipe.model).__module__
assert len(pipe("I am so happy")) == 8
# A checkpoint of another model type would run its own code: it still needs the flag.
shutil.copytree(checkpoint, other)
with open(other + "/config.json") as handle:
    config = json.load(handle)
config["model_type"] = "emotifusion-fork"
with open(other + "/config.json", "w") as handle:
    json.dump(config, handle)
try:
    pipeline("emotion-fusion", model=other, device="cpu")
except ValueError as error:
    assert "trust_remote_code" in str(error), error
    print("REFUSED")
"""


def test_installed_package_serves_its_task_without_trust_remote_code(tiny_checkpoint, tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", TRUSTED_INSTALLED_PIPELINE, tiny_checkpoint, str(tmp_path / "fork")],
        capture_output=True, text=True, cwd=tmp_path, timeout=300, stdin=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": os.path.dirname(os.path.dirname(os.path.abspath(__file__)))},
    )
    assert result.returncode == 0, result.stderr[-4000:]
    assert result.stdout.strip().endswith("REFUSED")  # after transformers' own question, answered no (no stdin)


def test_non_finite_model_output_is_an_error_not_nan_scores(tiny_checkpoint, processor):
    broken = EmotiFusionForEmotionClassification.from_pretrained(tiny_checkpoint).eval()
    with torch.no_grad():
        broken.classifier.weight.fill_(float("nan"))
    tiny_pipe = EmotionFusionPipeline(model=broken, processor=processor, device="cpu")
    with pytest.raises(ValueError, match="non-finite logits"):
        tiny_pipe({"text": "hello"})
