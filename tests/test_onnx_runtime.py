"""`emotifusion export` and the torch-free ONNX runtime: one tiny checkpoint exported once (fp32 + int8), then the
runtime checked against the torch pipeline: scores, preprocessing, bad-input errors, and a process without torch."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from emotifusion_hf import EmotiFusionForEmotionClassification
from emotifusion_hf.onnx_export import export_onnx, is_onnx_export

from conftest import encoded_image, make_tiny_config, noise_pixels, tiny_text_config


pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def exported(tmp_path_factory, processor):
    """A tiny checkpoint with a fitted-looking temperature and evidence weights (and, as every new config, the
    valence/arousal heads), and its ONNX export with int8."""
    torch.manual_seed(0)
    base = tmp_path_factory.mktemp("onnx")
    config = make_tiny_config(text_config=tiny_text_config(processor.tokenizer.vocab_size), temperature=1.7)
    model = EmotiFusionForEmotionClassification(config).eval()
    model.evidence_weights.copy_(torch.tensor([0.8, 0.4, 0.6]))  # evidence weighed in where both are present
    model.missing_evidence_weights.copy_(torch.tensor([[0.7, 0.5], [0.9, 0.3]]))  # and where one is missing
    checkpoint, folder = base / "checkpoint", base / "onnx"
    model.save_pretrained(checkpoint)
    processor.save_pretrained(checkpoint)
    export_onnx(checkpoint, folder, quantize="int8")
    return checkpoint, folder


@pytest.fixture(scope="module")
def pipes(exported):
    from emotifusion_hf.onnx_runtime import OnnxEmotionFusionPipeline
    from emotifusion_hf.predict import load_pipeline

    checkpoint, folder = exported
    return load_pipeline(str(checkpoint), device="cpu"), OnnxEmotionFusionPipeline(folder)


def _faces():
    rng = np.random.default_rng(1)
    return [rng.integers(0, 256, (48, 36, 3), dtype=np.uint8), noise_pixels(70, 50, seed=2)]


def _is_scores(value) -> bool:
    return isinstance(value, list) and (not value or (isinstance(value[0], dict) and "label" in value[0]))


def _assert_same_results(ours, theirs, tolerance=1e-4):
    """Same structure, same labels, scores within `tolerance`: a list of scores, a result dict, or a list of those."""
    if isinstance(theirs, dict):
        assert set(ours) == set(theirs)
        for key in theirs:
            _assert_same_results(ours[key], theirs[key], tolerance)
    elif theirs is None or isinstance(theirs, bool):
        assert ours == theirs
    elif isinstance(theirs, float):  # valence, arousal
        assert isinstance(ours, float) and abs(ours - theirs) <= tolerance
    elif _is_scores(theirs):
        mine = {item["label"]: item["score"] for item in ours}
        reference = {item["label"]: item["score"] for item in theirs}
        assert mine.keys() == reference.keys()
        assert max((abs(mine[label] - reference[label]) for label in reference), default=0.0) <= tolerance
    else:
        assert len(ours) == len(theirs)
        for mine, reference in zip(ours, theirs):
            _assert_same_results(mine, reference, tolerance)


def test_export_writes_a_checked_folder_with_dynamic_axes(exported):
    import onnx

    checkpoint, folder = exported
    assert is_onnx_export(folder) and not is_onnx_export(checkpoint)
    assert {"model.onnx", "model.int8.onnx", "config.json", "tokenizer.json", "README.md"} <= set(os.listdir(folder))
    config = json.loads((folder / "config.json").read_text())
    assert config["labels"][0] == "anger" and config["temperature"] == pytest.approx(1.7)
    assert config["image_processor"]["size"] == {"height": 64, "width": 64}
    assert config["tokenizer"]["max_length"] == 128 and config["tokenizer"]["sep_token"] == "[SEP]"
    assert config["export_max_abs_logit_difference"] < 1e-4
    graph = onnx.load(folder / "model.onnx", load_external_data=False).graph
    onnx.checker.check_model(str(folder / "model.onnx"))
    inputs = {value.name: [dim.dim_param or dim.dim_value for dim in value.type.tensor_type.shape.dim]
              for value in graph.input}
    assert list(inputs) == ["pixel_values", "input_ids", "attention_mask", "token_type_ids", "image_present",
                            "text_present"]
    assert isinstance(inputs["input_ids"][0], str) and isinstance(inputs["input_ids"][1], str)  # batch, sequence
    assert inputs["pixel_values"][1:] == [3, 64, 64]
    assert [value.name for value in graph.output] == ["logits", "image_logits", "text_logits", "valence_arousal"]
    assert config["affect_head"] is True and config["outputs"][-1] == "valence_arousal"
    assert [dim.dim_value for dim in graph.output[-1].type.tensor_type.shape.dim][1:] == [2]
    card = (folder / "README.md").read_text()
    assert "## ONNX" in card and "OnnxEmotionFusionPipeline" in card and "return_affect=True" in card


def test_scores_match_the_torch_pipeline(pipes, tmp_path):
    torch_pipe, onnx_pipe = pipes
    faces = _faces()
    path = tmp_path / "face.png"
    Image.fromarray(faces[1]).save(path)
    inputs = [
        {"image": faces[0], "text": "Seriously? You ate my cake?"},
        {"text": ["You're late.", "Sorry, the bus never came."]},
        {"image": str(path)},
        {"image": encoded_image(Image.fromarray(faces[0]), "JPEG"), "text": "What a lovely surprise!"},
        {"image": Image.fromarray(faces[1]).convert("L"), "text": ["Hi.", "   ", "Oh no."]},
    ]
    for options in ({}, {"return_modalities": True}, {"top_k": 3, "return_modalities": True}):
        _assert_same_results(onnx_pipe(inputs, batch_size=3, **options), torch_pipe(inputs, batch_size=3, **options))
    # Whole batches without one modality, single inputs and the keyword form.
    _assert_same_results(onnx_pipe([{"text": "hi"}, {"text": "bye"}], batch_size=2),
                         torch_pipe([{"text": "hi"}, {"text": "bye"}], batch_size=2))
    _assert_same_results(onnx_pipe({"image": faces[0]}, return_modalities=True),
                         torch_pipe({"image": faces[0]}, return_modalities=True))
    _assert_same_results(onnx_pipe(image=faces[1], text="ok", top_k=2), torch_pipe(image=faces[1], text="ok", top_k=2))
    assert onnx_pipe([]) == []


def test_valence_and_arousal_match_the_torch_pipeline(exported, pipes):
    from emotifusion_hf.onnx_runtime import OnnxEmotionFusionPipeline

    torch_pipe, onnx_pipe = pipes
    faces = _faces()
    inputs = [
        {"image": faces[0], "text": "Seriously? You ate my cake?"},
        {"text": ["You're late.", "Sorry, the bus never came."]},
        {"image": faces[1]},
    ]
    for options in ({"return_affect": True}, {"return_affect": True, "return_modalities": True, "top_k": 2}):
        ours, theirs = onnx_pipe(inputs, batch_size=2, **options), torch_pipe(inputs, batch_size=2, **options)
        _assert_same_results(ours, theirs)
        assert [list(result) for result in ours] == [list(result) for result in theirs]  # same keys, same order
        assert all(-1.0 <= result[key] <= 1.0 for result in ours for key in ("valence", "arousal"))
    # The values depend on the input: a graph that ignored it would give one pair for all.
    assert len({(result["valence"], result["arousal"]) for result in onnx_pipe(inputs, return_affect=True)}) == 3
    single = onnx_pipe({"text": "hello"}, return_affect=True)
    _assert_same_results(single, torch_pipe({"text": "hello"}, return_affect=True))
    # return_affect=False keeps the plain list of scores.
    assert _is_scores(onnx_pipe({"text": "hello"}, return_affect=False))
    int8 = OnnxEmotionFusionPipeline(exported[1], quantized=True)
    _assert_same_results(int8(inputs, return_affect=True), torch_pipe(inputs, return_affect=True), tolerance=0.05)


@pytest.fixture(scope="module")
def exported_without_affect(tmp_path_factory, processor):
    """A tiny checkpoint without valence/arousal heads (as one saved before they existed) and its fp32 export."""
    torch.manual_seed(1)
    base = tmp_path_factory.mktemp("onnx_no_affect")
    config = make_tiny_config(text_config=tiny_text_config(processor.tokenizer.vocab_size), affect_head=False)
    checkpoint, folder = base / "checkpoint", base / "onnx"
    EmotiFusionForEmotionClassification(config).eval().save_pretrained(checkpoint)
    processor.save_pretrained(checkpoint)
    export_onnx(checkpoint, folder)
    return checkpoint, folder


def test_an_export_without_affect_heads_refuses_return_affect(exported_without_affect, capsys):
    import onnx

    from emotifusion_hf.cli import main
    from emotifusion_hf.onnx_runtime import OnnxEmotionFusionPipeline
    from emotifusion_hf.predict import load_pipeline

    checkpoint, folder = exported_without_affect
    config = json.loads((folder / "config.json").read_text())
    assert config["affect_head"] is False and config["outputs"] == ["logits", "image_logits", "text_logits"]
    graph = onnx.load(folder / "model.onnx", load_external_data=False).graph
    assert [value.name for value in graph.output] == ["logits", "image_logits", "text_logits"]
    assert "return_affect" not in (folder / "README.md").read_text()
    torch_pipe, onnx_pipe = load_pipeline(str(checkpoint), device="cpu"), OnnxEmotionFusionPipeline(folder)
    with pytest.raises(ValueError) as expected:
        torch_pipe({"text": "hello"}, return_affect=True)
    with pytest.raises(ValueError) as got:
        onnx_pipe({"text": "hello"}, return_affect=True)
    assert str(got.value) == str(expected.value) and "valence/arousal heads" in str(got.value)
    _assert_same_results(onnx_pipe({"text": "hello"}), torch_pipe({"text": "hello"}))  # the rest still works
    assert main(["predict", "--model", str(folder), "--text", "hello", "--affect"]) == 1
    assert "valence/arousal heads" in capsys.readouterr().err


def test_int8_graph_stays_close_to_fp32(exported, pipes):
    from emotifusion_hf.onnx_runtime import OnnxEmotionFusionPipeline

    _, folder = exported
    _, fp32 = pipes
    int8 = OnnxEmotionFusionPipeline(folder, quantized=True)
    rng = np.random.default_rng(3)
    inputs = [{"image": rng.integers(0, 256, (40, 40, 3), dtype=np.uint8), "text": f"Sample number {index}."}
              for index in range(12)]
    # A random tiny model's scores are nearly flat (about 1/8 each): int8 moves them by far less than that spread.
    _assert_same_results(int8(inputs, batch_size=12), fp32(inputs, batch_size=12), tolerance=0.02)


def _odd_images(tmp_path):
    rng = np.random.default_rng(4)
    pixels = rng.integers(0, 256, (90, 60, 3), dtype=np.uint8)
    rotated = Image.fromarray(pixels)
    exif = rotated.getexif()
    exif[0x0112] = 6  # EXIF orientation: rotate 90 degrees on display
    rotated_path = tmp_path / "rotated.jpg"
    rotated.save(rotated_path, exif=exif.tobytes())
    palette = Image.fromarray(pixels).convert("P", palette=Image.Palette.ADAPTIVE)
    palette.info["transparency"] = 0
    large = tmp_path / "large.jpg"
    Image.fromarray(rng.integers(0, 256, (900, 700, 3), dtype=np.uint8)).save(large)
    return [
        str(rotated_path),
        str(large),  # decoded at reduced scale (JPEG draft), as the image processor does
        Image.fromarray(pixels).convert("L"),
        Image.fromarray(np.dstack([pixels, rng.integers(0, 256, (90, 60, 1), dtype=np.uint8)]), "RGBA"),
        palette,
        (rng.integers(0, 65536, (50, 50), dtype=np.uint16)),
        rng.random((3, 30, 40)).astype(np.float32),
        rng.random((30, 40)) > 0.5,
        encoded_image(Image.fromarray(pixels).convert("CMYK"), "TIFF"),
        encoded_image(Image.fromarray(pixels), "PNG"),
    ]


def test_preprocessing_matches_the_processor(pipes, processor, tmp_path):
    _, onnx_pipe = pipes
    images = _odd_images(tmp_path)
    expected = processor.image_processor(images, return_tensors="np")["pixel_values"]
    np.testing.assert_array_equal(onnx_pipe.pixel_values(images), expected)
    texts = [
        "Seriously? You ate my cake?",
        ["You're late.", "Sorry, the bus!", "Whatever."],
        "Ça alors… naïve café 😡 — WHY?!",
        ["  leading and trailing  ", "tabs\tand\nnewlines"],
        " ".join(["word"] * 300),  # truncated at max_length
        ["Ünïcödé", "中文也可以", "ok"],
    ]
    expected = processor(text=texts, return_tensors="np", padding=True)
    got = onnx_pipe.text_inputs(texts)
    for name in ("input_ids", "attention_mask", "token_type_ids"):
        np.testing.assert_array_equal(got[name], expected[name])
    assert got["input_ids"].shape[1] == 128


BAD_CALLS = [
    (42, {}),  # neither a dict, a text, an image nor a list
    ([{"image": None, "text": None}], {}),
    ([{"text": "hi", "audio": 1}], {}),
    ({"text": ""}, {}),
    ({"text": ["  ", ""]}, {}),
    ({"text": 5}, {}),
    ({"text": ["ok", 3]}, {}),
    ({"text": b"\xff\xfe"}, {}),
    ({"image": "/no/such/face.jpg"}, {}),
    ({"image": "https://example.com/face.jpg"}, {}),
    ({"image": b""}, {}),
    ({"image": b"not an image at all"}, {}),
    ({"image": np.zeros((0, 4, 3), dtype=np.uint8)}, {}),
    ({"image": np.full((8, 8, 3), -1.0)}, {}),
    ({"image": 3.5}, {}),
    ({"text": "hi"}, {"top_k": 0}),
    ({"text": "hi"}, {"top_k": True}),
    ([{"text": "hi"}], {"batch_size": 0}),
    ({"text": "hi"}, {"colour": "red"}),
    ({"text": "hi"}, {"face_margin": "wide"}),
    ({"text": "hi"}, {"face_margin": float("nan")}),
    ([{"text": "fine"}, {"image": b"broken"}], {"batch_size": 2}),
]


@pytest.mark.parametrize(("inputs", "options"), BAD_CALLS)
def test_bad_inputs_raise_the_torch_pipelines_errors(pipes, inputs, options):
    torch_pipe, onnx_pipe = pipes
    with pytest.raises((ValueError, TypeError, OSError)) as expected:
        torch_pipe(inputs, **options)
    with pytest.raises(type(expected.value)) as got:
        onnx_pipe(inputs, **options)
    assert str(got.value) == str(expected.value)


def test_not_an_export_and_export_refusals(exported, tmp_path):
    from emotifusion_hf.onnx_runtime import OnnxEmotionFusionPipeline

    checkpoint, folder = exported
    with pytest.raises(ValueError, match="is not an ONNX export"):
        OnnxEmotionFusionPipeline(checkpoint)
    with pytest.raises(FileNotFoundError, match="ONNX folder not found"):
        OnnxEmotionFusionPipeline(tmp_path / "nothing")
    with pytest.raises(FileNotFoundError, match="Model folder not found"):
        export_onnx(tmp_path / "nothing", tmp_path / "out")
    with pytest.raises(ValueError, match="already an ONNX export"):
        export_onnx(folder, tmp_path / "out")
    with pytest.raises(ValueError, match="--quantize"):
        export_onnx(checkpoint, tmp_path / "out", quantize="int4")
    with pytest.raises(ValueError, match="--opset"):
        export_onnx(checkpoint, tmp_path / "out", opset=9)
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="not an earlier ONNX export"):
        export_onnx(checkpoint, occupied)
    assert (occupied / "notes.txt").read_text() == "mine"


TORCH_BLOCKED = """
import json, sys
sys.modules["torch"] = None
sys.modules["transformers"] = None
from emotifusion_hf.onnx_runtime import OnnxEmotionFusionPipeline
from emotifusion_hf.cli import main

folder, face, rows, out = sys.argv[1:5]
pipe = OnnxEmotionFusionPipeline(folder)
python = pipe([{"image": face, "text": ["You're late.", "Sorry, the bus."]}, {"text": "I miss her"}], batch_size=2,
              return_modalities=True)
assert main(["predict", "--model", folder, "--image", face, "--text", "You're late. || Sorry, the bus.", "--json"]) == 0
# two rows fail on purpose (a missing image, a line that is not JSON): exit status 1, the others still answered
assert main(["predict", "--model", folder, "--inputs", rows, "--output", out, "--batch-size", "2"]) == 1
assert main(["predict", "--model", folder, "--quantize", "--text", "hello", "--top-k", "2", "--json"]) == 0
assert main(["predict", "--model", folder, "--image", face, "--text", "I miss her", "--affect", "--json"]) == 0
assert main(["predict", "--model", folder, "--text", "I miss her", "--affect"]) == 0
loaded = sorted(name.split(".")[0] for name, module in sys.modules.items() if module is not None)
heavy = [name for name in ("torch", "transformers", "timm") if name in loaded]
print("RESULT " + json.dumps({"python": python, "heavy": heavy}))
"""


def test_a_process_without_torch_predicts_from_python_and_the_command(exported, pipes, tmp_path):
    _, folder = exported
    torch_pipe, _ = pipes
    face = tmp_path / "face.png"
    Image.fromarray(_faces()[0]).save(face)
    rows = tmp_path / "rows.jsonl"
    rows.write_text("\n".join([json.dumps({"id": "a", "image": "face.png", "text": "hi || there"}),
                               json.dumps({"id": "b", "text": "I miss her"}),
                               json.dumps({"id": "c", "image": "missing.png"}),
                               "not json"]) + "\n")
    out = tmp_path / "scores.jsonl"
    result = subprocess.run(
        [sys.executable, "-c", TORCH_BLOCKED, str(folder), str(face), str(rows), str(out)],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    report = json.loads(next(line for line in lines if line.startswith("RESULT "))[len("RESULT "):])
    assert report["heavy"] == []
    expected = torch_pipe([{"image": str(face), "text": ["You're late.", "Sorry, the bus."]}, {"text": "I miss her"}],
                          batch_size=2, return_modalities=True)
    _assert_same_results(report["python"], expected)
    single = json.loads(lines[0])
    _assert_same_results(single["scores"], expected[0]["scores"])
    answered = [json.loads(line) for line in out.read_text().splitlines()]
    assert [row.get("id") for row in answered] == ["a", "b", "c", None]
    assert "scores" in answered[0] and "scores" in answered[1]
    assert "not found" in answered[2]["error"] and "not a JSON object" in answered[3]["error"]
    _assert_same_results(answered[1]["scores"], expected[1]["scores"])
    quantized = json.loads(lines[1])
    assert len(quantized["scores"]) == 2
    # --affect on the export: the torch pipeline's valence and arousal, in JSON and in the table.
    affect = json.loads(lines[2])
    _assert_same_results(affect, torch_pipe({"image": str(face), "text": "I miss her"}, return_affect=True))
    table = "\n".join(lines[3:])
    assert "valence" in table and "arousal" in table
