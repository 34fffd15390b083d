"""Face sources: one class per source, chosen once from the config, each giving the builder its records, their
encoded faces and its part of the build report."""

from collections import Counter

import pytest
from PIL import Image

from dataset_builder import EmotiFusionBuilderConfig
from dataset_builder.records import BadRowError
from dataset_builder.sources import FACE_SOURCES, SOURCES, AffectNetFaceSource, DemoFaceSource, face_source


def test_one_source_class_per_source():
    assert SOURCES == ("demo", "affectnet")
    assert FACE_SOURCES == {"demo": DemoFaceSource, "affectnet": AffectNetFaceSource}
    assert not DemoFaceSource.reads_data_dir and AffectNetFaceSource.reads_data_dir
    assert not DemoFaceSource.decodes_files and AffectNetFaceSource.decodes_files


def test_demo_source_counts_and_report():
    source = face_source(EmotiFusionBuilderConfig(name="demo", per_class=6, image_size=32))
    assert isinstance(source, DemoFaceSource) and source.layout is None
    assert [source.faces_per_class(split) for split in ("train", "validation", "test")] == [6, 2, 2]
    records = list(source.records("validation", Counter()))
    assert len(records) == 16 and {record.split for record in records} == {"validation"}
    faces = list(source.encoded_faces(records))
    assert all(face == (record.image, None) for record, face in faces)
    assert source.report_fields() == {"layout": None, "data_dir": None, "image_size": 32, "face_variation": 1.0}


def test_affectnet_source_detects_the_layout_and_encodes(tmp_path):
    for name in ("happy", "sad"):
        for index in range(3):
            path = tmp_path / "train" / name / f"{index}.jpg"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.new("RGB", (32, 24), (index * 40, 90, 90)).save(path, "JPEG")
    (tmp_path / "train" / "sad" / "broken.jpg").write_bytes(b"not a jpeg")
    source = face_source(EmotiFusionBuilderConfig(name="affectnet", source="affectnet", data_dir=str(tmp_path)))
    assert isinstance(source, AffectNetFaceSource) and source.layout == "folders"
    assert source.report_fields() == {"layout": "folders", "data_dir": str(tmp_path)}
    skipped = Counter()
    faces = list(source.encoded_faces(source.records("train", skipped)))
    errors = [face for _, face in faces if isinstance(face, BadRowError)]
    assert [error.reason for error in errors] == ["unreadable_image"] and not skipped
    assert all(isinstance(face[0], bytes) for _, face in faces if not isinstance(face, BadRowError))


def test_affectnet_source_needs_a_folder(tmp_path):
    with pytest.raises(ValueError, match="data_dir"):
        face_source(EmotiFusionBuilderConfig(name="affectnet", source="affectnet"))
    with pytest.raises(FileNotFoundError, match="nowhere"):
        face_source(EmotiFusionBuilderConfig(name="affectnet", source="affectnet", data_dir=str(tmp_path / "nowhere")))
