import csv
import json
import re

import numpy as np
import pytest
import torch
from conftest import assert_distribution, make_tiny_config, tiny_text_config
from PIL import Image

from emotifusion_hf import EmotiFusionForEmotionClassification
from emotifusion_hf.cli import main
from emotifusion_hf.cli import main as emotifusion_main


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
    with pytest.raises(SystemExit) as exit_info:
        main(["predict", "--model", checkpoint])
    assert exit_info.value.code == 2 and "--image" in capsys.readouterr().err


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
                 "--batch-size", "4"]) == 1  # some rows failed; every row still has its line
    results = [json.loads(line) for line in output.read_text().splitlines()]
    assert len(results) == 7
    by_id = {result.get("id", f"line{result['line']}"): result for result in results}
    for good in ("ok-1", "ok-2", "ok-3"):
        assert len(by_id[good]["scores"]) == 8, by_id[good]
    assert "broken.jpg" in by_id["broken"]["error"]
    # Errors are named by the file's line, not by the row's place in a pipeline call.
    assert by_id["broken"]["error"].startswith("line 2: image: ") and "Input " not in by_id["broken"]["error"]
    assert by_id["missing"]["error"].startswith("line 5: ")
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
    assert [result["line"] for result in results] == [2, 3]  # every row answered: exit status 0
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
    ],
)
def test_bad_calibration_images_flag(checkpoint, tmp_path, monkeypatch, capsys, extra, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "EMPTY").mkdir()
    assert main(["predict", "--model", checkpoint, "--text", "hi"] + extra) == 1
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--calibration-images", "EMPTY"], "add --quantize"),
        (["--output", "out.jsonl"], "--output writes the results of --inputs"),
        (["--inputs", "rows.jsonl"], "not both"),
    ],
    ids=["calibration-without-quantize", "output-without-inputs", "inputs-and-text"],
)
def test_invalid_argument_combinations_exit_2_before_loading_anything(capsys, extra, message):
    with pytest.raises(SystemExit) as exit_info:
        main(["predict", "--model", "never/loaded", "--text", "hi"] + extra)
    error = capsys.readouterr().err
    assert exit_info.value.code == 2 and message in error and error.startswith("usage: emotifusion predict")


def test_calibration_images_on_a_checkpoint_without_resnet_trunk_are_reported(processor, tmp_path, capsys):
    directory = tmp_path / "mobilenet_only"
    config = make_tiny_config(text_config=tiny_text_config(processor.tokenizer.vocab_size),
                              vision_backbones=["mobilenetv3_small_050"])
    EmotiFusionForEmotionClassification(config).save_pretrained(directory)
    processor.save_pretrained(directory)
    face = tmp_path / "face.png"
    Image.fromarray(np.full((48, 40, 3), 90, dtype=np.uint8)).save(face)
    assert main(["predict", "--model", str(directory), "--image", str(face), "--quantize", "--json",
                 "--calibration-images", str(face)]) == 0
    captured = capsys.readouterr()
    assert len(json.loads(captured.out)["scores"]) == 8
    assert "--calibration-images had no effect" in captured.err and "mobilenetv3_small_050" in captured.err


# ---------------------------------------------------------------------------------------------------------------
# `emotifusion predict`
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "image, message",
    [
        ("http://127.0.0.1:9/x.jpg", "URL"),
        ("a_folder.jpg", "directory"),
        ("empty.jpg", "empty.jpg"),
        ("text.jpg", "text.jpg"),
        ("pipe.jpg", "not a regular file"),
        ("bomb.png", "too large"),
        ("missing.jpg", "missing.jpg"),
    ],
    ids=["url", "directory", "zero-byte", "text-named-jpg", "fifo", "decompression-bomb", "missing"],
)
@pytest.mark.timeout(60)
def test_predict_reports_bad_images_in_one_line(tiny_checkpoint, bad_files, capsys, no_network, image, message):
    path = image if "://" in image else str(bad_files / image)
    assert emotifusion_main(["predict", "--model", tiny_checkpoint, "--image", path, "--text", "hi"]) == 1
    error = capsys.readouterr().err
    error_lines = [line for line in error.splitlines() if "error:" in line]
    assert len(error_lines) == 1 and message in error_lines[0] and "Traceback" not in error


def test_predict_refuses_an_unusable_device_before_loading(tiny_checkpoint, capsys):
    assert emotifusion_main(["predict", "--model", tiny_checkpoint, "--text", "hi", "--device", "bogus"]) == 1
    assert "Device 'bogus'" in capsys.readouterr().err
    if not torch.cuda.is_available():
        assert emotifusion_main(["predict", "--model", tiny_checkpoint, "--text", "hi", "--device", "cuda:3"]) == 1
        assert "Device 'cuda:3'" in capsys.readouterr().err


@pytest.mark.parametrize("option", ["--batch-size", "--top-k"])
@pytest.mark.parametrize("value", ["0", "-1", "many"])
def test_predict_refuses_non_positive_counts(tiny_checkpoint, capsys, option, value):
    with pytest.raises(SystemExit) as exit_info:
        emotifusion_main(["predict", "--model", tiny_checkpoint, "--text", "hi", option, value])
    assert exit_info.value.code == 2 and "positive integer" in capsys.readouterr().err


def test_predict_reads_csv_with_bom_crlf_and_quoted_commas(tiny_checkpoint, bad_files, tmp_path):
    inputs = tmp_path / "rows.csv"
    lines = ["id,image,text", f'1,{bad_files / "face.jpg"},"Well, well, well."', '2,,"You\'re late. || Sorry, the bus."']
    inputs.write_bytes(("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8"))
    output = tmp_path / "out.jsonl"
    assert emotifusion_main(["predict", "--model", tiny_checkpoint, "--inputs", str(inputs), "--output", str(output)]) == 0
    results = [json.loads(line) for line in output.read_text().splitlines()]
    assert [result["id"] for result in results] == ["1", "2"]
    for result in results:
        assert_distribution(result["scores"])


def test_predict_names_an_inputs_file_that_is_not_utf8(tiny_checkpoint, tmp_path, capsys):
    inputs = tmp_path / "latin1.csv"
    inputs.write_bytes("image,text\n,café crème\n".encode("latin-1"))
    assert emotifusion_main(["predict", "--model", tiny_checkpoint, "--inputs", str(inputs)]) == 1
    error = capsys.readouterr().err
    assert "latin1.csv" in error and "not UTF-8" in error


def test_predict_answers_good_rows_and_names_each_bad_row(tiny_checkpoint, bad_files, tmp_path, no_network):
    rows = [
        {"id": "ok", "image": "face.jpg", "text": "hello"},
        {"id": "number-text", "text": 12},
        {"id": "number-turn", "text": ["fine", 3]},
        {"id": "deep", "text": [["too", "deep"]]},
        {"id": "blank", "text": "   "},
        {"id": "url", "image": "http://127.0.0.1:9/x.jpg"},
        {"id": "image-number", "image": 5},
        {"id": "zip", "image": "archive.png"},
        {"id": "extra", "text": "hi", "mood": "?"},
        {"id": "ok-too", "text": "\u202eevil\u202c 😀"},
    ]
    inputs = bad_files / "rows.jsonl"
    inputs.write_text("\n".join(json.dumps(row) for row in rows) + "\n[1, 2]\n")
    output = tmp_path / "out.jsonl"
    assert emotifusion_main(["predict", "--model", tiny_checkpoint, "--inputs", str(inputs), "--output", str(output)]) == 1
    results = {result.get("id", "array"): result for result in map(json.loads, output.read_text().splitlines())}
    assert_distribution(results["ok"]["scores"])
    assert_distribution(results["ok-too"]["scores"])
    expected_errors = {
        "number-text": "int", "number-turn": r"text\[1\]", "deep": "list", "blank": "blank", "url": "URL",
        "image-number": "int", "zip": "archive.png", "extra": "mood", "array": "JSON object",
    }
    for identity, message in expected_errors.items():
        assert "error" in results[identity], results[identity]
        assert re.search(message, results[identity]["error"]), results[identity]


def test_a_csv_whose_columns_are_all_wrong_fails_before_the_model_loads(tmp_path, capsys):
    inputs = tmp_path / "rows.csv"
    inputs.write_text("picture,words\nface.jpg,hello\n")
    assert emotifusion_main(["predict", "--model", "never/loaded", "--inputs", str(inputs)]) == 1
    error = capsys.readouterr().err
    assert "['picture', 'words']" in error and "expected image and/or text" in error
    empty = tmp_path / "rows.jsonl"
    empty.write_text("\n")
    assert emotifusion_main(["predict", "--model", "never/loaded", "--inputs", str(empty)]) == 1
    assert "has no rows" in capsys.readouterr().err


def test_one_dialogue_rule_for_every_route(tiny_checkpoint, tiny_pipe, tmp_path):
    """' || ' separates turns in `--text` and CSV cells only; in JSONL (as in Python) a string is one text and a
    dialogue is a JSON list of turns."""
    separated, turns = "You're late. || Sorry, the bus.", ["You're late.", "Sorry, the bus."]
    as_one_text, as_turns = tiny_pipe({"text": separated}), tiny_pipe({"text": turns})
    assert as_one_text != as_turns

    jsonl = tmp_path / "rows.jsonl"
    jsonl.write_text(json.dumps({"id": "string", "text": separated}) + "\n" + json.dumps({"id": "list", "text": turns}))
    csv_file = tmp_path / "rows.csv"
    csv_file.write_text(f'id,text\ncell,"{separated}"\n')
    scored = {}
    for path in (jsonl, csv_file):
        output = tmp_path / f"{path.suffix[1:]}-scores.jsonl"
        assert emotifusion_main(["predict", "--model", tiny_checkpoint, "--inputs", str(path), "--output",
                                 str(output)]) == 0
        scored.update({row["id"]: row["scores"] for row in map(json.loads, output.read_text().splitlines())})

    def close(a, b):
        return [x["label"] for x in a] == [y["label"] for y in b] and all(
            abs(x["score"] - y["score"]) < 1e-5 for x, y in zip(a, b))

    assert close(scored["string"], as_one_text)
    assert close(scored["list"], as_turns) and close(scored["cell"], as_turns)
