"""The AffectNet layout readers: bad rows are counted by reason, unreadable files are errors naming them."""

from collections import Counter

import pytest
from affectnet_trees import folder_tree, official_tree, write_jpeg, yolo_tree

from dataset_builder.affectnet import OFFICIAL_COLUMNS, read_affectnet
from dataset_builder.builder import build_dataset
from dataset_builder.face_images import load_face
from dataset_builder.records import BadRowError

# ---------------------------------------------------------------------------------------------------------------
# AffectNet readers: official CSV
# ---------------------------------------------------------------------------------------------------------------


def _row(code, path=None, box=("4", "2", "40", "32"), valence="0.5", arousal="-0.25"):
    return [path or f"{code % 8}/face.jpg", *box, "1.0;2.0", str(code), valence, arousal]


GOOD_ROWS = [_row(code) for code in range(8)] * 2


def _read(data_dir, **kwargs):
    skipped = Counter()
    return list(read_affectnet(data_dir, skipped=skipped, **kwargs)), skipped


def test_official_csv_bad_rows_are_counted_by_reason(tmp_path):
    bad_rows = [
        _row(1, box=("abc", "2", "40", "32")),  # non-numeric box
        _row(1, box=("4", "2", "inf", "32")),  # infinite box
        _row(1, box=("4", "2", "-40", "32")),  # negative width
        _row(2, valence="nan"),  # NaN valence
        _row(2, arousal="1.5"),  # arousal out of range
        _row(3, valence="-2", arousal="-2"),  # "not annotated": fine
        ["0/face.jpg", "4", "2", "40", "32", "1;2", "-1", "0", "0"],  # negative expression code
        ["0/face.jpg", "4", "2", "40", "32", "1;2", "12", "0", "0"],  # unknown expression code
        ["0/face.jpg", "4", "2", "40", "32", "1;2", "3.5", "0", "0"],  # fractional expression code
        ["0/face.jpg", "4", "2", "40", "32", "1;2", "", "0", "0"],  # missing expression code
        ["0/face.jpg", "4", "2"],  # short row
        _row(0) + ["surplus"],  # extra field
        _row(4, path="4/absent.jpg"),  # a file that is not there
    ]
    records, skipped = _read(official_tree(tmp_path / "tree", GOOD_ROWS + bad_rows))
    assert skipped == {"bad_number": 8, "empty_box": 1, "unknown_label": 2, "missing_file": 1}
    assert len(records) == len(GOOD_ROWS) + 1
    unannotated = [record for record in records if record.location.endswith(f":{len(GOOD_ROWS) + 7}")]
    assert unannotated and unannotated[0].valence is None and unannotated[0].arousal is None


def test_official_csv_with_bom_crlf_and_quoted_commas_is_read_whole(tmp_path):
    header = ",".join(OFFICIAL_COLUMNS)
    lines = [f'{code}/face.jpg,4,2,40,32,"12.5,7.25,30.0",{code},0.5,-0.5' for code in range(8)]
    raw = ("\ufeff" + header + "\r\n" + "\r\n".join(lines) + "\r\n").encode("utf-8")
    records, skipped = _read(official_tree(tmp_path / "tree", None, raw=raw))
    assert not skipped and len(records) == 8


@pytest.mark.parametrize(
    "raw, message",
    [
        (
            (",".join(OFFICIAL_COLUMNS[:-2]) + "\n0/face.jpg,4,2,40,32,1;2,1\n").encode(),
            r"missing the column\(s\) \['valence', 'arousal'\]",
        ),
        (b"", "missing the column"),
        ((",".join(OFFICIAL_COLUMNS) + "\n0/caf\xe9.jpg,4,2,40,32,1;2,1,0,0\n").encode("latin-1"), "not UTF-8"),
        (
            (",".join(OFFICIAL_COLUMNS) + "\n0/face.jpg,4,2,40,32," + "1;" * 80_000 + ",1,0,0\n").encode(),
            r"training\.csv:2: malformed CSV",
        ),
    ],
    ids=["missing-columns", "zero-byte", "latin1", "field-too-large"],
)
def test_unreadable_official_csv_is_an_error_naming_the_file(tmp_path, raw, message):
    tree = official_tree(tmp_path / "tree", None, raw=raw)
    with pytest.raises(ValueError, match=message) as raised:
        _read(tree)
    assert "training.csv" in str(raised.value)


# ---------------------------------------------------------------------------------------------------------------
# AffectNet readers: YOLO
# ---------------------------------------------------------------------------------------------------------------



def test_yolo_bad_label_lines_are_counted_by_reason(tmp_path):
    labels = {f"good_{label}": f"{label} 0.5 0.5 0.4 0.5\n".encode() for label in range(8)}
    labels.update({
        "too_few_fields": b"3 0.5 0.5 0.2\n",
        "odd_value_count": b"3 0.5 0.5 0.2 0.2 0.1\n",
        "class_out_of_range": b"8 0.5 0.5 0.2 0.2\n",
        "negative_class": b"-1 0.5 0.5 0.2 0.2\n",
        "far_negative_coordinate": b"1 -0.7 0.5 0.2 0.2\n",
        "nan_coordinate": b"1 nan 0.5 0.2 0.2\n",
        "zero_area": b"1 0.5 0.5 0 0.2\n",
        "empty": b"",
        "blank_lines": b"\n \n\r\n",
        "latin1": "1 0.5 0.5 0.2 0.2 # caf\xe9\n".encode("latin-1"),
    })
    records, skipped = _read(yolo_tree(tmp_path / "yolo", labels))
    assert skipped == {"bad_number": 4, "unknown_label": 2, "empty_box": 1, "no_face": 2, "unsupported_file": 1}
    assert len(records) == 8


def test_yolo_box_outside_the_image_is_a_bad_row_when_decoded(tmp_path):
    tree = yolo_tree(tmp_path / "yolo", {"left": b"1 -0.3 0.5 0.2 0.2\n"})
    records, skipped = _read(tree, validation_fraction=0.0, test_fraction=0.0)
    assert not skipped and len(records) == 1
    with pytest.raises(BadRowError, match="outside") as raised:
        load_face(records[0])
    assert raised.value.reason == "box_outside_image" and "left.txt:1" in str(raised.value)


@pytest.mark.parametrize(
    "data_yaml, message",
    [
        ("nc: 8\n", "no `names:`"),
        ("names: [anger, b\n  - : :\n", "not a readable YAML"),
        ("names: 7\n", "must be a list or a dict"),
        ("nc: 3\nnames: [anger, sad]\n", "nc=3"),
        ("names: [anger, joyous-ish]\n", "Unknown class name 'joyous-ish'"),
    ],
    ids=["no-names", "invalid-yaml", "names-not-a-list", "nc-mismatch", "unknown-class"],
)
def test_bad_data_yaml_is_an_error_naming_it(tmp_path, data_yaml, message):
    tree = yolo_tree(tmp_path / "yolo", {"a": b"0 0.5 0.5 0.2 0.2\n"}, data_yaml)
    with pytest.raises(ValueError, match=message) as raised:
        _read(tree)
    assert "data.yaml" in str(raised.value)


# ---------------------------------------------------------------------------------------------------------------
# Paths leaving the data folder: refused in every layout, counted as outside_data_dir
# ---------------------------------------------------------------------------------------------------------------


def _outside(tmp_path):
    """A real, decodable image and a folder of them outside the data tree: reading either would leak it."""
    secret = write_jpeg(tmp_path / "private" / "secret.jpg")
    write_jpeg(tmp_path / "private" / "faces" / "face.jpg")
    return secret, tmp_path / "private" / "faces"


def _official_with_escapes(tmp_path):
    secret, secret_folder = _outside(tmp_path)
    images = tmp_path / "tree" / "Manually_Annotated_Images"
    escaping_rows = [
        _row(1, path="../../private/secret.jpg"),  # steps out with ..
        _row(1, path="0/../1/face.jpg"),  # a .. step, even one that lands inside, is refused
        _row(1, path=str(secret)),  # absolute
        _row(1, path="C:/private/secret.jpg"),  # a Windows drive path
        _row(1, path="1/link.jpg"),  # a file symlink pointing outside
        _row(1, path="linked/face.jpg"),  # a folder symlink pointing outside
    ]
    tree = official_tree(tmp_path / "tree", GOOD_ROWS + escaping_rows + [_row(2, path="2/alias.jpg")])
    (images / "1" / "link.jpg").symlink_to(secret)
    (images / "linked").symlink_to(secret_folder, target_is_directory=True)
    (images / "2" / "alias.jpg").symlink_to(images / "2" / "face.jpg")  # a link that stays inside is fine
    return tree, len(escaping_rows)


def test_official_rows_leaving_the_data_folder_are_counted_not_read(tmp_path):
    tree, escaping = _official_with_escapes(tmp_path)
    records, skipped = _read(tree)
    assert skipped == {"outside_data_dir": escaping}
    assert len(records) == len(GOOD_ROWS) + 1
    assert not any("private" in str(record.image) or ".." in record.source_id for record in records)


def test_strict_stops_at_the_first_path_leaving_the_data_folder_naming_file_and_line(tmp_path):
    tree, _ = _official_with_escapes(tmp_path)
    with pytest.raises(BadRowError, match=r"training\.csv:18: .*steps out") as raised:
        _read(tree, strict=True)
    assert raised.value.reason == "outside_data_dir"


def test_folder_and_yolo_links_leaving_the_data_folder_are_counted_not_read(tmp_path):
    secret, secret_folder = _outside(tmp_path)
    folders = folder_tree(tmp_path / "folders", classes=("anger", "happy"))
    (folders / "happy" / "link.jpg").symlink_to(secret)
    (folders / "sad").symlink_to(secret_folder, target_is_directory=True)  # a whole class folder outside
    records, skipped = _read(folders, validation_fraction=0.0, test_fraction=0.0)
    assert skipped == {"outside_data_dir": 2}
    assert {record.label_name for record in records} == {"anger", "happy"}

    yolo = yolo_tree(tmp_path / "yolo", {"kept": b"1 0.5 0.5 0.4 0.5\n", "leaked": b"1 0.5 0.5 0.4 0.5\n"})
    (yolo / "images" / "leaked.jpg").unlink()
    (yolo / "images" / "leaked.jpg").symlink_to(secret)
    (yolo / "labels" / "stolen.txt").symlink_to(tmp_path / "private" / "labels.txt")
    (tmp_path / "private" / "labels.txt").write_text("1 0.5 0.5 0.4 0.5\n")
    write_jpeg(yolo / "images" / "stolen.jpg")
    records, skipped = _read(yolo, validation_fraction=0.0, test_fraction=0.0)
    # The refused image is counted once (its label file is not counted again as missing its image).
    assert skipped == {"outside_data_dir": 2}
    assert [record.source_id for record in records] == ["images/kept.jpg#0"]


def test_build_report_counts_paths_leaving_the_data_folder_and_strict_build_names_the_row(tmp_path):
    tree, escaping = _official_with_escapes(tmp_path)
    common = {"data_dir": str(tree), "cache_dir": str(tmp_path / "cache"), "test_fraction": 0.2}
    _, report = build_dataset("affectnet", return_report=True, **common)
    assert report["skipped"] == {"outside_data_dir": escaping}
    with pytest.raises(BadRowError, match=r"training\.csv:18"):
        build_dataset("affectnet", strict=True, **common)
