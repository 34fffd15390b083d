import csv
import json

import numpy as np
import pytest
import torch
from PIL import Image

from emotifusion_hf import EmotiFusionForEmotionClassification
from emotifusion_hf.cli import main

from conftest import make_tiny_config, tiny_text_config


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory, processor):
    torch.manual_seed(0)
    directory = tmp_path_factory.mktemp("cli_checkpoint")
    config = make_tiny_config(text_config=tiny_text_config(processor.tokenizer.vocab_size))
    EmotiFusionForEmotionClassification(config).save_pretrained(directory)
    processor.save_pretrained(directory)
    return str(directory)


@pytest.fixture(scope="module")
def faces(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli_faces")
    rng = np.random.default_rng(0)
    for name in ("a.jpg", "b.png"):
        Image.fromarray(rng.integers(0, 255, (50, 40, 3), dtype=np.uint8)).save(folder / name)
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff not really a jpeg")
    return folder


def test_single_prediction_json(checkpoint, faces, capsys):
    assert main(["predict", "--model", checkpoint, "--image", str(faces / "a.jpg"),
                 "--text", "You're late. || Sorry, the bus.", "--json", "--top-k", "3"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert len(result["scores"]) == 3 and result["scores"][0]["score"] >= result["scores"][1]["score"]


def test_single_prediction_table(checkpoint, capsys):
    assert main(["predict", "--model", checkpoint, "--text", "I can't believe you did that"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 8 and "#" in "".join(lines)


def test_missing_image_names_the_file(checkpoint, capsys):
    assert main(["predict", "--model", checkpoint, "--image", "/nowhere/face.jpg"]) == 1
    assert "/nowhere/face.jpg" in capsys.readouterr().err


def test_missing_model_and_no_input_are_clear(checkpoint, tmp_path, capsys):
    assert main(["predict", "--model", str(tmp_path / "nope"), "--text", "hi"]) == 1
    assert "nope" in capsys.readouterr().err
    assert main(["predict", "--model", checkpoint]) == 1
    assert "--image" in capsys.readouterr().err


def test_batch_jsonl_reports_bad_rows_and_answers_the_rest(checkpoint, faces, tmp_path, capsys):
    inputs = faces / "inputs.jsonl"
    rows = [
        {"id": "ok-1", "image": "a.jpg", "text": "Seriously? You ate my cake?"},
        {"id": "broken", "image": "broken.jpg", "text": "hmm"},
        {"id": "ok-2", "image": "b.png", "text": ["Where were you?", "Stuck in traffic."]},
        {"id": "empty", "image": None, "text": None},
        {"id": "missing", "image": "gone.jpg"},
        {"id": "ok-3", "text": "I miss her"},
    ]
    inputs.write_text("\n".join(json.dumps(row) for row in rows) + "\nnot json at all\n")
    output = tmp_path / "out.jsonl"
    assert main(["predict", "--model", checkpoint, "--inputs", str(inputs), "--output", str(output),
                 "--batch-size", "4"]) == 0
    results = [json.loads(line) for line in output.read_text().splitlines()]
    assert len(results) == 7
    by_id = {result.get("id", f"line{result['line']}"): result for result in results}
    for good in ("ok-1", "ok-2", "ok-3"):
        assert len(by_id[good]["scores"]) == 8, by_id[good]
    assert "broken.jpg" in by_id["broken"]["error"]
    assert "gone.jpg" in by_id["missing"]["error"]
    assert "neither" in by_id["empty"]["error"]
    assert "line 7" in by_id["line7"]["error"]
    assert "4 rows failed" in capsys.readouterr().err


def test_batch_csv(checkpoint, faces, tmp_path):
    inputs = faces / "inputs.csv"
    with open(inputs, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["image", "text"])
        writer.writeheader()
        writer.writerow({"image": "a.jpg", "text": "wow!"})
        writer.writerow({"image": "", "text": "so sad today"})
    output = tmp_path / "out.jsonl"
    assert main(["predict", "--model", checkpoint, "--inputs", str(inputs), "--output", str(output)]) == 0
    results = [json.loads(line) for line in output.read_text().splitlines()]
    assert [result["line"] for result in results] == [2, 3]
    assert all(len(result["scores"]) == 8 for result in results)


def test_quantized_prediction(checkpoint, capsys):
    assert main(["predict", "--model", checkpoint, "--text", "I can't believe you did that", "--quantize", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["scores"]) == 8


def test_quantized_prediction_with_calibration_folder(checkpoint, tmp_path, capsys):
    folder = tmp_path / "calibration"
    folder.mkdir()
    for index in range(3):
        Image.fromarray(np.full((48, 40, 3), 60 * index, dtype=np.uint8)).save(folder / f"{index}.png")
    (folder / "notes.txt").write_text("not an image")
    argv = ["predict", "--model", checkpoint, "--image", str(folder / "0.png"), "--quantize", "--json"]
    assert main(argv + ["--calibration-images", str(folder)]) == 0
    assert len(json.loads(capsys.readouterr().out)["scores"]) == 8


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--quantize", "--calibration-images", "missing_folder"], "not found: 'missing_folder'"),
        (["--quantize", "--calibration-images", "EMPTY"], "folder 'EMPTY' holds no image files"),
        (["--calibration-images", "EMPTY"], "add --quantize"),
    ],
)
def test_bad_calibration_images_flag(checkpoint, tmp_path, monkeypatch, capsys, extra, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "EMPTY").mkdir()
    assert main(["predict", "--model", checkpoint, "--text", "hi"] + extra) == 1
    assert message in capsys.readouterr().err
