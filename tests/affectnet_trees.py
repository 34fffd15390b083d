"""JPEG stand-ins and small AffectNet-layout trees written inside the tests (official CSV, class folders and YOLO),
with images that decode."""

import csv
import io

from PIL import Image

from dataset_builder.affectnet import OFFICIAL_COLUMNS


YOLO_NAMES = "names: [anger, contempt, disgust, fear, happy, neutral, sad, surprise]\n"


def write_jpeg(path, colour=(120, 80, 60), size=(64, 48)):
    """A decodable JPEG face stand-in at `path`, with a gradient square so crops are not uniform."""
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.new("RGB", size, colour)
    for x in range(10, 30):
        for y in range(10, 30):
            image.putpixel((x, y), (x * 8, y * 8, 200))
    image.save(path, "JPEG", quality=90)
    return path


def official_tree(root, rows, header=OFFICIAL_COLUMNS, raw: bytes | None = None):
    """`Manually_Annotated_Images/<code>/face.jpg` for codes 0-7, and `training.csv` from `rows` (or `raw` bytes)."""
    for code in range(8):
        write_jpeg(root / "Manually_Annotated_Images" / f"{code}/face.jpg", colour=(code * 30, 90, 90))
    lists = root / "Manually_Annotated_file_lists"
    lists.mkdir(parents=True)
    if raw is None:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(header)
        writer.writerows(rows)
        raw = buffer.getvalue().encode("utf-8")
    (lists / "training.csv").write_bytes(raw)
    return root


def folder_tree(root, classes=("anger", "happy", "sad")):
    """`<class>/face.jpg` for each of `classes`: the class-folder layout without split folders."""
    for index, name in enumerate(classes):
        write_jpeg(root / name / "face.jpg", colour=(index * 60, 90, 90))
    return root


def yolo_tree(root, labels: dict[str, bytes], data_yaml: str = YOLO_NAMES):
    """`images/<stem>.jpg` + `labels/<stem>.txt` for each entry of `labels`, and a data.yaml."""
    (root / "labels").mkdir(parents=True)
    (root / "data.yaml").write_text(data_yaml)
    for stem, content in labels.items():
        write_jpeg(root / "images" / f"{stem}.jpg", size=(100, 80))
        (root / "labels" / f"{stem}.txt").write_bytes(content)
    return root


__all__ = ["YOLO_NAMES", "folder_tree", "official_tree", "write_jpeg", "yolo_tree"]
