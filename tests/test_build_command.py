"""`python -m dataset_builder build`: its arguments reach the builder config by name."""

import dataclasses
import json
import os

import datasets
import pytest
from affectnet_trees import official_tree, write_jpeg, yolo_tree
from PIL import Image

from dataset_builder import DEMO_DEFAULTS, EmotiFusionBuilderConfig
from dataset_builder.__main__ import build_parser
from dataset_builder.__main__ import main as dataset_builder_main
from dataset_builder.build_command import config_kwargs_from_args


def parse(*arguments):
    return build_parser().parse_args(["build", "--output", "out", *arguments])


def test_arguments_named_after_config_fields_reach_the_config():
    args = parse("--source", "demo", "--per-class", "3", "--face-variation", "0.5", "--strict")
    kwargs = config_kwargs_from_args(args)
    assert kwargs["per_class"] == 3 and kwargs["face_variation"] == 0.5 and kwargs["strict"] is True
    assert "source" not in kwargs and "output" not in kwargs and "overwrite" not in kwargs
    fields = {field.name for field in dataclasses.fields(EmotiFusionBuilderConfig)}
    assert set(kwargs) <= fields
    assert {"data_dir", "layout", "seed", "agreement", "dialogue_backend", "llm_model"} <= set(kwargs)


def test_unset_arguments_keep_the_config_defaults():
    kwargs = config_kwargs_from_args(parse("--source", "demo"))
    assert kwargs["per_class"] is None and kwargs["strict"] is None and kwargs["eval_per_class"] is None
    assert kwargs["agreement"] == DEMO_DEFAULTS["agreement"] and kwargs["layout"] == "auto"


def test_unknown_source_and_layout_are_refused_by_the_parser(capsys):
    with pytest.raises(SystemExit):
        parse("--source", "voc")
    with pytest.raises(SystemExit):
        parse("--source", "affectnet", "--layout", "voc")
    assert "'voc'" in capsys.readouterr().err


def _write_corpus(path):
    # Our own sentences: a few per emotion, contempt left out as most corpora do.
    lines = {
        "first": {
            "joy": ["We finally got the keys to the new flat!", "Best birthday I've had in years."],
            "anger": ["They cancelled on me again, unbelievable.", "Stop taking my stuff without asking."],
            "sadness": ["I still miss the old dog every morning.", "Nobody came to the leaving party."],
            "fear": ["What if the test comes back positive?", "I heard footsteps behind me all the way home."],
            "disgust": ["There was mould all over the bread.", "He spat on the floor right in front of us."],
            "surprise": ["Wait, you two are engaged?", "I had no idea she could sing like that."],
            "neutral": ["The bus leaves at ten past eight.", "I'll pick up milk on the way back."],
        },
        "second": {
            "joy": ["Our team won the final!"], "anger": ["You broke it and lied about it."],
            "sadness": ["The shop I grew up near closed down."], "fear": ["The brakes made a strange noise."],
            "disgust": ["The sink was full of old food."], "surprise": ["She quit? Since when?"],
            "neutral": ["The meeting moved to Thursday."],
        },
    }
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("text,emotion\n")  # one split: the backend carves it by a hash of each text
        for by_label in lines.values():
            for label, texts in by_label.items():
                for text in texts:
                    handle.write(f'"{text}",{label}\n')
    return {text for split in lines.values() for texts in split.values() for text in texts}


def test_corpus_backed_build_quotes_the_corpus_and_reports_it(tmp_path):
    import json

    from datasets import load_from_disk

    from dataset_builder.__main__ import main

    corpus = tmp_path / "talk.csv"
    _write_corpus(corpus)
    output = tmp_path / "built"
    code = main(["build", "--source", "demo", "--per-class", "2", "--eval-per-class", "1", "--image-size", "32",
                 "--output", str(output), "--dialogue-backend", "corpus", "--corpus", str(corpus),
                 "--corpus-label-column", "emotion", "--corpus-licence", "CC0-1.0", "--agreement", "1"])
    assert code == 0
    report = json.loads((output / "build_report.json").read_text())
    assert report["corpus"]["licence"] == "CC0-1.0"
    assert "contempt" in report["corpus"]["uncovered"]
    train_sources = report["dialogue_sources"]["train"]
    assert train_sources["from_corpus"] == 14 and train_sources["fallback_to_grammar"] == 2
    dataset = load_from_disk(str(output))
    quoted = [row for row in dataset["train"] if row["template_ids"][0].startswith("corpus.")]
    assert len(quoted) == 14


def test_corpus_backend_without_a_corpus_is_refused():
    with pytest.raises(ValueError, match="needs corpus"):
        EmotiFusionBuilderConfig(name="demo", source="demo", dialogue_backend="corpus")
    with pytest.raises(ValueError, match="only read by dialogue_backend='corpus'"):
        EmotiFusionBuilderConfig(name="demo", source="demo", corpus="talk.csv")


# ---------------------------------------------------------------------------------------------------------------
# `python -m dataset_builder build`
# ---------------------------------------------------------------------------------------------------------------


def _build(data_dir, output, *extra):
    return dataset_builder_main(
        ["build", "--source", "affectnet", "--data-dir", str(data_dir), "--output", str(output), *extra]
    )


@pytest.mark.timeout(60)
def test_build_reports_bad_trees_in_one_line(tmp_path, capsys):
    header_only = official_tree(tmp_path / "header_only", [])
    assert _build(header_only, tmp_path / "out1") == 2
    assert "No usable face" in capsys.readouterr().err

    latin1 = official_tree(tmp_path / "latin1", None, raw="subDirectory_filePath\ncafé\n".encode("latin-1"))
    assert _build(latin1, tmp_path / "out2") == 2
    assert "training.csv is not UTF-8" in capsys.readouterr().err

    bad_yaml = yolo_tree(tmp_path / "bad_yaml", {"a": b"0 0.5 0.5 0.2 0.2\n"}, "names: [a, b\n  - : :\n")
    assert _build(bad_yaml, tmp_path / "out3") == 2
    assert "not a readable YAML" in capsys.readouterr().err

    folders = tmp_path / "folders"
    for name in ("happy", "grumpy"):
        write_jpeg(folders / "train" / name / "face.jpg")
    assert _build(folders, tmp_path / "out4") == 2
    error = capsys.readouterr().err
    assert "Unknown class name 'grumpy'" in error and "Traceback" not in error


@pytest.mark.timeout(60)
def test_build_skips_broken_images_and_odd_file_names(tmp_path, bad_files):
    root = tmp_path / "folders"
    for split, count in (("train", 6), ("test", 2)):
        for label, name in enumerate(("happy", "sad")):
            for index in range(count):
                write_jpeg(root / split / name / f"face_{index}.jpg", colour=(label * 90, index * 30, 60))
    train_happy = root / "train" / "happy"
    (train_happy / "empty.jpg").write_bytes(b"")
    (train_happy / "text.jpg").write_text("not a picture")
    (train_happy / "archive.png").write_bytes((bad_files / "archive.png").read_bytes())
    # A name that is not UTF-8 (a Latin-1 archive unpacked on Linux).
    with open(os.path.join(os.fsencode(train_happy), b"caf\xe9.jpg"), "wb") as handle:
        Image.new("RGB", (64, 48), (200, 10, 10)).save(handle, "JPEG")
    output = tmp_path / "built"
    assert _build(root, output, "--validation-fraction", "0.25") == 0
    report = json.loads((output / "build_report.json").read_text())
    assert report["skipped"] == {"unreadable_image": 3}
    dataset = datasets.load_from_disk(str(output))
    image_ids = [image_id for split in dataset.values() for image_id in split["image_id"]]
    assert "train/happy/caf\\xe9.jpg" in image_ids
    assert sum(report["kept_total"].values()) == 6 * 2 + 1 + 2 * 2


def test_num_shards_writes_each_split_as_that_many_memory_mapped_shards(tmp_path):
    output = tmp_path / "sharded"
    arguments = ["build", "--source", "demo", "--per-class", "2", "--eval-per-class", "1", "--image-size", "32"]
    assert dataset_builder_main([*arguments, "--output", str(output), "--num-shards", "3"]) == 0
    # train has 16 rows: 3 shards; validation and test have 8 rows: 3 shards too.
    for split in ("train", "validation", "test"):
        assert len(list((output / split).glob("data-*-of-00003.arrow"))) == 3, split
    dataset = datasets.load_from_disk(str(output))
    assert dataset["train"].num_rows == 16 and len(dataset["train"].cache_files) == 3
    assert len(set(dataset["train"]["image_id"])) == 16  # every row once across the shards
    assert json.loads((output / "build_report.json").read_text())["kept_total"]["train"] == 16
    assert dataset_builder_main([*arguments, "--output", str(tmp_path / "bad"), "--num-shards", "0"]) != 0
