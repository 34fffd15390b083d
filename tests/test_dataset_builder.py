"""AffectNet readers (three layouts), the dataset builder and the `build` command line, all offline on fixture trees
generated in tmp_path. Demo faces, face images, sources and the builder config have their own test files."""

import csv
import inspect
import json
import random
from collections import Counter

import datasets
import pytest

from dataset_builder import affectnet
from dataset_builder.__main__ import main
from dataset_builder.affectnet import (
    EXPRESSION_CODES,
    StratifiedHoldout,
    check_layout,
    detect_layout,
    plan_splits,
    read_affectnet,
    resolve_class_name,
)
from dataset_builder.builder import EmotiFusionBuilder, build_dataset, pair_text_label
from dataset_builder.dialogues import template_bank
from dataset_builder.face_images import load_face
from dataset_builder.records import BadRowError, UnknownClassError
from emotifusion_hf.labels import CONFUSIONS
from emotifusion_hf.configuration_emotifusion import EMOTIONS

from affectnet_trees import write_jpeg


# ---------------------------------------------------------------------------------------------------------------
# Fixture trees
# ---------------------------------------------------------------------------------------------------------------

IMAGE_SIZE = (64, 48)  # width, height of every fixture image


def official_row(path, code, box=(4, 2, 40, 32), valence="0.5", arousal="-0.25"):
    return [path, *map(str, box), "1.0;2.0;3.0", str(code), valence, arousal]


OFFICIAL_HEADER = list(affectnet.OFFICIAL_COLUMNS)
# Bad rows of the official fixture, by the reason they are counted under.
OFFICIAL_READER_SKIPS = {
    "expression_none": 1,
    "expression_uncertain": 1,
    "expression_non_face": 1,
    "missing_file": 2,
    "bad_number": 2,
    "unknown_label": 1,
    "empty_box": 1,
}
# Rows that parse but fail when their pixels are decoded (counted by the builder).
OFFICIAL_DECODE_SKIPS = {"unreadable_image": 1, "box_outside_image": 1}


def make_official_tree(root, per_code=10, val_per_code=2):
    images = root / "Manually_Annotated_Images"
    train_rows, validation_rows = [], []
    for code in range(8):
        for index in range(per_code):
            relative = f"{code}/train_{code}_{index}.jpg"
            write_jpeg(images / relative, colour=(code * 30, index * 20, 90))
            train_rows.append(official_row(relative, code))
        for index in range(val_per_code):
            relative = f"{code}/val_{code}_{index}.jpg"
            write_jpeg(images / relative, colour=(code * 30, 200, index * 40))
            validation_rows.append(official_row(relative, code, valence="-2", arousal="-2"))
    write_jpeg(images / "extra/face.jpg")
    (images / "extra/garbage.jpg").write_bytes(b"this is not a jpeg at all")
    train_rows += [
        official_row("extra/face.jpg", 8),
        official_row("extra/face.jpg", 9),
        official_row("extra/face.jpg", 10),
        official_row("extra/missing.jpg", 1),
        official_row("extra/face.jpg", 3, box=("abc", 2, 40, 32)),
        official_row("extra/face.jpg", 3, valence="1.5"),
        official_row("extra/face.jpg", 12),
        official_row("extra/face.jpg", 6, box=(4, 2, 0, 32)),
        official_row("extra/garbage.jpg", 2),
        official_row("extra/face.jpg", 4, box=(500, 400, 20, 20)),
    ]
    validation_rows.append(official_row("extra/also_missing.jpg", 0))
    lists = root / "Manually_Annotated_file_lists"
    lists.mkdir(parents=True, exist_ok=True)
    for name, rows in (("training.csv", train_rows), ("validation.csv", validation_rows)):
        with open(lists / name, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(OFFICIAL_HEADER)
            writer.writerows(rows)
    return root


FOLDER_NAMES = ("Angry", "contempt", "Disgusted", "fearful", "Happiness", "neutral", "sadness", "Surprised")


def make_folder_tree(root, per_class=6, test_per_class=2):
    for label, name in enumerate(FOLDER_NAMES):
        for index in range(per_class):
            write_jpeg(root / "train" / name / f"img_{index}.jpg", colour=(label * 30, index * 30, 50))
        for index in range(test_per_class):
            write_jpeg(root / "test" / name / f"img_{index}.png", colour=(label * 30, 100, index * 60))
    (root / "train" / "Angry" / "notes.txt").write_text("not an image")
    (root / "train" / "sadness" / "broken.jpg").write_bytes(b"\xff\xd8\xff truncated")
    return root


YOLO_IMAGE_SIZE = (100, 80)


def make_yolo_tree(root, names_as_dict=True, per_class=6):
    names = ["Angry", "Contempt", "disgusted", "Fear", "happy", "Neutral", "Sad", "surprised"]
    for split in ("train", "val"):
        (root / "labels" / split).mkdir(parents=True, exist_ok=True)
    yaml_names = "\n".join(f"  {index}: {name}" for index, name in enumerate(names)) if names_as_dict else str(names)
    (root / "data.yaml").write_text(f"nc: 8\nnames:{chr(10) if names_as_dict else ' '}{yaml_names}\n")
    for split, count in (("train", per_class), ("val", 2)):
        for label in range(8):
            for index in range(count):
                stem = f"{split}_{label}_{index}"
                colour = (label * 30, index * 30, 70)
                write_jpeg(root / "images" / split / f"{stem}.jpg", colour=colour, size=YOLO_IMAGE_SIZE)
                (root / "labels" / split / f"{stem}.txt").write_text(f"{label} 0.5 0.5 0.4 0.5\n")
    train_images, train_labels = root / "images" / "train", root / "labels" / "train"
    # Two faces in one image, one of them given as a segmentation polygon.
    write_jpeg(train_images / "pair.jpg", size=YOLO_IMAGE_SIZE)
    (train_labels / "pair.txt").write_text("4 0.25 0.5 0.3 0.4\n2 0.6 0.2 0.9 0.2 0.9 0.7 0.6 0.7\n")
    write_jpeg(train_images / "bad_lines.jpg", size=YOLO_IMAGE_SIZE)
    (train_labels / "bad_lines.txt").write_text("3 0.5 abc 0.2 0.2\n9 0.5 0.5 0.2 0.2\n1 0.5 0.5 0 0.2\n")
    write_jpeg(train_images / "unlabelled.jpg", size=YOLO_IMAGE_SIZE)
    (train_labels / "orphan.txt").write_text("1 0.5 0.5 0.2 0.2\n")
    write_jpeg(train_images / "empty.jpg", size=YOLO_IMAGE_SIZE)
    (train_labels / "empty.txt").write_text("\n")
    return root


YOLO_SKIPS = {
    "bad_number": 1, "unknown_label": 1, "empty_box": 1, "missing_label_file": 1, "missing_file": 1, "no_face": 1,
}


@pytest.fixture(scope="module")
def official_dir(tmp_path_factory):
    return make_official_tree(tmp_path_factory.mktemp("affectnet_official"))


@pytest.fixture(scope="module")
def folder_dir(tmp_path_factory):
    return make_folder_tree(tmp_path_factory.mktemp("affectnet_folders"))


@pytest.fixture(scope="module")
def yolo_dir(tmp_path_factory):
    return make_yolo_tree(tmp_path_factory.mktemp("affectnet_yolo") / "yolo")


def read_all(data_dir, **kwargs):
    skipped = Counter()
    records = list(read_affectnet(data_dir, skipped=skipped, **kwargs))
    return records, skipped


# ---------------------------------------------------------------------------------------------------------------
# Labels and layouts
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "code, emotion",
    [
        (0, "neutral"), (1, "happy"), (2, "sad"), (3, "surprise"),
        (4, "fear"), (5, "disgust"), (6, "anger"), (7, "contempt"),
    ],
)
def test_expression_code_maps_to_our_label(official_dir, code, emotion):
    assert EMOTIONS[EXPRESSION_CODES[code]] == emotion
    records, _ = read_all(official_dir)
    prefix = f"Manually_Annotated_Images/{code}/"
    from_code = {record.label for record in records if record.source_id.startswith(prefix)}
    assert from_code == {EMOTIONS.index(emotion)}


@pytest.mark.parametrize(
    "name, emotion",
    [("angry", "anger"), ("ANGER", "anger"), ("Happiness", "happy"), ("sadness", "sad"), ("Surprised", "surprise"),
     ("neutrality", "neutral"), ("disgusted", "disgust"), ("fearful", "fear"), ("scared", "fear"),
     ("contemptuous", "contempt"), ("happy_face", "happy"), (" Sad ", "sad")],
)
def test_class_aliases(name, emotion):
    assert EMOTIONS[resolve_class_name(name)] == emotion


def test_unknown_class_name_is_an_error_naming_it():
    with pytest.raises(UnknownClassError, match="'bored'"):
        resolve_class_name("bored", where="train/bored")


def test_detect_layout(official_dir, folder_dir, yolo_dir, tmp_path):
    assert detect_layout(official_dir) == "official"
    assert detect_layout(folder_dir) == "folders"
    assert detect_layout(yolo_dir) == "yolo"
    (tmp_path / "stuff" / "misc").mkdir(parents=True)
    with pytest.raises(ValueError, match="Unrecognised AffectNet layout.*stuff"):
        detect_layout(tmp_path / "stuff")
    with pytest.raises(FileNotFoundError, match="does_not_exist"):
        detect_layout(tmp_path / "does_not_exist")
    with pytest.raises(ValueError, match="'pascal_voc'"):
        check_layout("pascal_voc")
    with pytest.raises(ValueError, match="'pascal_voc'"):
        read_affectnet(official_dir, layout="pascal_voc")


def test_plan_splits():
    identity = {"train": "train", "validation": "validation", "test": "test"}
    assert plan_splits({"train", "validation", "test"}) == (identity, ())
    assert plan_splits({"train", "test"}) == ({"train": "train", "test": "test"}, ("validation",))
    # AffectNet's convention: a lone validation split is what results are reported on.
    assert plan_splits({"train", "validation"}) == ({"train": "train", "validation": "test"}, ("validation",))
    assert plan_splits({"train"}) == ({"train": "train"}, ("validation", "test"))


def test_stratified_holdout_takes_the_fraction_of_every_class():
    holdout = StratifiedHoldout({"validation": 0.1, "test": 0.2}, seed=3)
    counts = Counter()
    for label in [0] * 100 + [1] * 50 + [2] * 7:
        counts[(label, holdout.assign(label))] += 1
    for label, size in ((0, 100), (1, 50), (2, 7)):
        assert abs(counts[(label, "validation")] - 0.1 * size) <= 1
        assert abs(counts[(label, "test")] - 0.2 * size) <= 1


# ---------------------------------------------------------------------------------------------------------------
# Official layout
# ---------------------------------------------------------------------------------------------------------------


def test_official_reader_streams_and_counts_every_bad_row_once(official_dir):
    stream = read_affectnet(official_dir, skipped=Counter())
    assert inspect.isgenerator(stream)
    records, skipped = read_all(official_dir)
    assert dict(skipped) == OFFICIAL_READER_SKIPS
    # 8 codes x 10 training rows + the two rows whose pixels are bad, and 8 x 2 validation.csv rows.
    splits = Counter(record.split for record in records)
    assert splits["train"] + splits["validation"] == 82 and splits["test"] == 16
    # Reading the splits one at a time counts each bad row once, in the pass of the file's own split.
    per_split = Counter()
    for split in ("train", "validation", "test"):
        skipped = Counter()
        list(read_affectnet(official_dir, splits=(split,), skipped=skipped))
        per_split.update(skipped)
    assert dict(per_split) == OFFICIAL_READER_SKIPS


def test_official_splits_validation_csv_is_test_and_validation_is_stratified(official_dir):
    records, _ = read_all(official_dir)
    test_ids = {record.source_id for record in records if record.split == "test"}
    assert all("/val_" in source_id for source_id in test_ids) and len(test_ids) == 16
    validation = Counter(record.label for record in records if record.split == "validation")
    assert set(validation) == set(range(8))  # every class has validation rows
    assert all(count <= 2 for count in validation.values())  # ~10% of 10-11 rows per class


def test_official_affect_and_boxes(official_dir):
    records, _ = read_all(official_dir)
    train = next(record for record in records if record.split == "train" and "/train_" in record.source_id)
    assert (train.valence, train.arousal) == (0.5, -0.25)
    assert train.face_box == (4.0, 2.0, 40.0, 32.0) and not train.box_normalized
    test = next(record for record in records if record.split == "test")
    assert test.valence is None and test.arousal is None  # -2 means not annotated
    image, box = load_face(train)
    assert box == (4, 2, 40, 32) and image.size == (40, 32)


def test_strict_mode_names_the_file_and_line(official_dir):
    with pytest.raises(BadRowError) as error:
        list(read_affectnet(official_dir, strict=True))
    # The first bad row of training.csv is the 81st data row, line 82 (after the header).
    assert "Manually_Annotated_file_lists/training.csv:82" in str(error.value)
    assert error.value.reason == "expression_none"


# ---------------------------------------------------------------------------------------------------------------
# Folder and YOLO layouts
# ---------------------------------------------------------------------------------------------------------------


def test_folder_reader(folder_dir):
    records, skipped = read_all(folder_dir)
    assert dict(skipped) == {"unsupported_file": 1}
    assert {record.label for record in records} == set(range(8))
    by_split = Counter(record.split for record in records)
    # train/ and test/ exist: test is used as is, validation is sliced from train.
    assert by_split["test"] == 16 and by_split["validation"] >= 1 and sum(by_split.values()) == 8 * 6 + 1 + 16
    assert all(record.face_box is None for record in records)
    angry = [record for record in records if record.source_id.startswith("train/Angry/")]
    assert angry and all(EMOTIONS[record.label] == "anger" for record in angry)


def test_folder_reader_without_split_folders_slices_validation_and_test(tmp_path):
    for label, name in enumerate(EMOTIONS):
        for index in range(10):
            write_jpeg(tmp_path / name / f"{index}.jpg")
    records, _ = read_all(tmp_path)
    counts = Counter((record.label, record.split) for record in records)
    for label in range(8):
        assert counts[(label, "validation")] == 1 and counts[(label, "test")] == 1 and counts[(label, "train")] == 8


def test_unknown_class_folder_is_an_error(tmp_path):
    write_jpeg(tmp_path / "train" / "happy" / "a.jpg")
    write_jpeg(tmp_path / "train" / "bored" / "b.jpg")
    with pytest.raises(UnknownClassError, match="'bored'.*train/bored"):
        read_affectnet(tmp_path, layout="folders")


@pytest.mark.parametrize("names_as_dict", [True, False])
def test_yolo_reader(tmp_path, names_as_dict):
    root = make_yolo_tree(tmp_path / "yolo", names_as_dict=names_as_dict)
    records, skipped = read_all(root)
    assert dict(skipped) == YOLO_SKIPS
    by_split = Counter(record.split for record in records)
    assert by_split["test"] == 16  # images/val becomes test, validation is sliced from train
    assert by_split["train"] + by_split["validation"] == 8 * 6 + 2
    pair = [record for record in records if record.source_id.startswith("images/train/pair.jpg")]
    pair.sort(key=lambda record: record.source_id)
    assert [record.source_id for record in pair] == ["images/train/pair.jpg#0", "images/train/pair.jpg#1"]
    assert [EMOTIONS[record.label] for record in pair] == ["happy", "disgust"]
    _, box = load_face(pair[0])  # cx 0.25, cy 0.5, w 0.3, h 0.4 of a 100 x 80 image
    assert box == (10, 24, 30, 32)
    _, box = load_face(pair[1])  # the polygon's bounding box: x 0.6-0.9, y 0.2-0.7
    assert box == (60, 16, 30, 40)


def test_yolo_roboflow_layout_and_strict_line_numbers(tmp_path):
    root = tmp_path / "roboflow"
    (root / "train" / "images").mkdir(parents=True)
    (root / "train" / "labels").mkdir(parents=True)
    (root / "valid" / "images").mkdir(parents=True)
    (root / "valid" / "labels").mkdir(parents=True)
    (root / "data.yaml").write_text("names: [anger, happy]\n")
    write_jpeg(root / "train" / "images" / "a.jpg")
    (root / "train" / "labels" / "a.txt").write_text("1 0.5 0.5 0.5 0.5\n0 0.5 0.5 0.5 nope\n")
    write_jpeg(root / "valid" / "images" / "b.jpg")
    (root / "valid" / "labels" / "b.txt").write_text("0 0.5 0.5 0.5 0.5\n")
    assert detect_layout(root) == "yolo"
    with pytest.raises(BadRowError, match="train/labels/a.txt:2"):
        list(read_affectnet(root, strict=True))
    write_jpeg(root / "train" / "images" / "a.png")  # same stem as a.jpg: which one a.txt means is unknowable
    (root / "train" / "labels" / "notes.md").write_text("not a label file")
    (root / "train" / "labels" / "labels.cache").write_bytes(b"ultralytics index")
    records, skipped = read_all(root)
    assert dict(skipped) == {"bad_number": 1, "duplicate_image": 1, "unsupported_file": 1}
    assert sorted(record.split for record in records) in (["test", "train"], ["test", "validation"])


def test_yolo_unknown_class_name(tmp_path):
    root = make_yolo_tree(tmp_path / "yolo", per_class=1)
    (root / "data.yaml").write_text("names: [anger, happy, bored]\n")
    with pytest.raises(UnknownClassError, match="'bored'"):
        read_affectnet(root)


# ---------------------------------------------------------------------------------------------------------------
# Pairing and the builder
# ---------------------------------------------------------------------------------------------------------------


def test_pairing_agreement_rate_and_confusions():
    rng = random.Random(0)
    draws = 20000
    for face_label in range(8):
        agreeing = 0
        for _ in range(draws // 8):
            text_label = pair_text_label(face_label, 0.7, rng)
            if text_label == face_label:
                agreeing += 1
            else:
                assert EMOTIONS[text_label] in CONFUSIONS[EMOTIONS[face_label]]
        assert abs(agreeing / (draws // 8) - 0.7) < 0.05
    assert all(pair_text_label(3, 1.0, rng) == 3 for _ in range(100))


def build_demo(cache_dir, **kwargs):
    builder = EmotiFusionBuilder(config_name="demo", cache_dir=str(cache_dir), **kwargs)
    builder.download_and_prepare()
    return builder, builder.as_dataset()


def test_demo_builder(tmp_path):
    builder, dataset = build_demo(tmp_path / "a", per_class=40, eval_per_class=3, seed=7, agreement=0.6, image_size=64)
    assert set(dataset) == {"train", "validation", "test"}
    assert [dataset[split].num_rows for split in ("train", "validation", "test")] == [320, 24, 24]
    train = dataset["train"]
    assert train.features["label"].names == list(EMOTIONS) and train.features["text_label"].names == list(EMOTIONS)
    assert Counter(train["label"]) == {label: 40 for label in range(8)}
    row = train[0]
    assert row["image"].size == (64, 64)
    assert row["text"] == "\n".join(row["dialogue"]) and 1 <= len(row["dialogue"]) <= 6
    assert row["face_box"] is None and row["source"] == "demo" and row["image_id"].startswith("demo/train/")
    # Agreement is the knob: 0.6 here, within binomial noise over 320 faces.
    agreement = sum(a == b for a, b in zip(train["label"], train["text_label"])) / train.num_rows
    assert abs(agreement - 0.6) < 0.1
    report = builder.build_report
    assert report["kept"]["train"] == {emotion: 40 for emotion in EMOTIONS}
    assert report["skipped"] == {} and report["text_agreement"]["train"] == round(agreement, 4)
    # Dialogues of a split come from that split's templates only.
    bank = template_bank()
    for split in dataset:
        used = {template_id for ids in dataset[split]["template_ids"] for template_id in ids}
        assert used and {bank.split_of(template_id) for template_id in used} == {split}

    # Same seed, another cache: identical rows; another seed: different dialogues.
    _, again = build_demo(tmp_path / "b", per_class=40, eval_per_class=3, seed=7, agreement=0.6, image_size=64)
    raw = datasets.Image(decode=False)
    assert again["train"]["text"] == train["text"]
    assert again["train"].cast_column("image", raw)["image"] == train.cast_column("image", raw)["image"]
    _, other = build_demo(tmp_path / "c", per_class=2, eval_per_class=1, seed=8, image_size=64)
    assert other["train"]["text"] != train["text"][:16]


def test_build_dataset_output_dir(tmp_path):
    output = tmp_path / "out"
    settings = {"eval_per_class": 1, "image_size": 32, "cache_dir": str(tmp_path / "c")}
    dataset = build_dataset("demo", per_class=1, output_dir=str(output), **settings)
    assert dataset["train"].num_rows == 8 and (output / "build_report.json").is_file()
    # A previous build is replaced; anything else is refused unless overwrite=True.
    build_dataset("demo", per_class=2, output_dir=str(output), **settings)
    assert datasets.load_from_disk(str(output))["train"].num_rows == 16
    (tmp_path / "precious").mkdir()
    (tmp_path / "precious" / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="precious"):
        build_dataset("demo", per_class=1, output_dir=str(tmp_path / "precious"), **settings)
    assert (tmp_path / "precious" / "notes.txt").read_text() == "keep me"


def test_affectnet_builder_official(official_dir, tmp_path):
    builder = EmotiFusionBuilder(config_name="affectnet", data_dir=str(official_dir), cache_dir=str(tmp_path), seed=1)
    assert builder.layout == "official"
    builder.download_and_prepare()
    dataset = builder.as_dataset()
    report = builder.build_report
    assert report["skipped"] == dict(sorted((OFFICIAL_READER_SKIPS | OFFICIAL_DECODE_SKIPS).items()))
    assert report["kept_total"]["test"] == 16 and dataset["test"].num_rows == 16
    assert report["kept_total"]["train"] + report["kept_total"]["validation"] == 80
    assert sum(report["kept"]["validation"].values()) == dataset["validation"].num_rows >= 8
    row = dataset["train"][0]
    assert row["face_box"] == [4, 2, 40, 32] and row["image"].size == (40, 32)
    assert row["source"] == "affectnet-official" and row["valence"] == 0.5 and row["arousal"] == -0.25
    assert dataset["test"][0]["valence"] is None
    # The report survives in the cache: a fresh builder on the same settings reads it back.
    again = EmotiFusionBuilder(config_name="affectnet", data_dir=str(official_dir), cache_dir=str(tmp_path), seed=1)
    again.download_and_prepare()
    assert again.build_report["skipped"] == report["skipped"]


def test_affectnet_builder_strict_names_the_row(official_dir, tmp_path):
    builder = EmotiFusionBuilder(
        config_name="affectnet", data_dir=str(official_dir), cache_dir=str(tmp_path), strict=True
    )
    with pytest.raises(BadRowError, match=r"training\.csv:82"):
        builder.download_and_prepare()


def test_affectnet_builder_yolo_and_folders(yolo_dir, folder_dir, tmp_path):
    dataset, report = build_dataset(
        "affectnet", data_dir=str(yolo_dir), cache_dir=str(tmp_path / "y"), return_report=True
    )
    assert report["layout"] == "yolo" and report["skipped"] == YOLO_SKIPS
    assert dataset["test"].num_rows == 16
    rows = {row["image_id"]: row for row in dataset["train"].remove_columns("image")}
    first = rows.get("images/train/train_0_0.jpg#0") or rows["images/train/train_0_1.jpg#0"]
    assert first["face_box"] == [30, 20, 40, 40]  # cx 0.5, cy 0.5, w 0.4, h 0.5 of a 100 x 80 image
    assert rows["images/train/pair.jpg#0"]["face_box"] == [10, 24, 30, 32]
    dataset, report = build_dataset(
        "affectnet", data_dir=str(folder_dir), cache_dir=str(tmp_path / "f"), return_report=True
    )
    assert report["layout"] == "folders"
    assert report["skipped"] == {"unreadable_image": 1, "unsupported_file": 1}
    assert sum(split.num_rows for split in dataset.values()) == 8 * 6 + 16
    assert dataset["test"][0]["face_box"] is None


# ---------------------------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------------------------


def test_cli_build_demo(tmp_path, capsys):
    output = tmp_path / "demo"
    arguments = ["--per-class", "3", "--seed", "2", "--image-size", "48"]
    assert main(["build", "--source", "demo", "--output", str(output), *arguments]) == 0
    dataset = datasets.load_from_disk(str(output))
    assert dataset["train"].num_rows == 24 and dataset["validation"].num_rows == 8 and dataset["test"].num_rows == 8
    report = json.loads((output / "build_report.json").read_text())
    assert report["kept"]["train"] == {emotion: 3 for emotion in EMOTIONS}
    assert report["kept_total"] == {"train": 24, "validation": 8, "test": 8} and report["skipped"] == {}
    # An existing output is not overwritten silently.
    assert main(["build", "--source", "demo", "--output", str(output), "--per-class", "3"]) == 2
    assert "--overwrite" in capsys.readouterr().err


def test_cli_build_affectnet(official_dir, tmp_path):
    output = tmp_path / "affectnet"
    affectnet = ["build", "--source", "affectnet", "--data-dir", str(official_dir)]
    assert main([*affectnet, "--output", str(output), "--agreement", "0.9"]) == 0
    report = json.loads((output / "build_report.json").read_text())
    assert report["skipped"] == dict(sorted((OFFICIAL_READER_SKIPS | OFFICIAL_DECODE_SKIPS).items()))
    assert set(report["kept"]) == {"train", "validation", "test"}
    assert all(set(counts) == set(EMOTIONS) for counts in report["kept"].values())
    assert sum(report["kept"]["test"].values()) == 16
    dataset = datasets.load_from_disk(str(output))
    assert dataset["test"].num_rows == 16


def test_cli_errors_name_the_input(tmp_path, official_dir, capsys):
    def build(*arguments):
        return main(["build", "--source", "affectnet", "--output", str(tmp_path / "out"), *arguments])

    assert build() == 2
    assert "--data-dir" in capsys.readouterr().err
    assert build("--data-dir", str(tmp_path / "missing")) == 2
    assert "missing" in capsys.readouterr().err
    (tmp_path / "unknown" / "misc").mkdir(parents=True)
    assert build("--data-dir", str(tmp_path / "unknown")) == 2
    assert "Unrecognised AffectNet layout" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        build("--data-dir", str(official_dir), "--layout", "voc")
    assert exit_info.value.code == 2 and "'voc'" in capsys.readouterr().err
    assert build("--data-dir", str(official_dir), "--strict") == 2
    assert "training.csv:82" in capsys.readouterr().err
