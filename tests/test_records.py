"""Face records and row errors: what every source yields and how a bad row is named."""

import dataclasses

import pytest

from dataset_builder import SKIP_REASONS, BadRowError, FaceRecord, UnknownClassError, resolve_class_name
from emotifusion_hf.labels import UnknownLabelError


def test_bad_row_error_names_the_row_and_the_reason():
    error = BadRowError("empty_box", "training.csv:12", "face box (0, 0, 0, 4) has no area")
    assert str(error) == "training.csv:12: face box (0, 0, 0, 4) has no area (skip reason: empty_box)"
    assert isinstance(error, ValueError) and error.reason in SKIP_REASONS


def test_unknown_class_error_is_the_labels_error():
    assert UnknownClassError is UnknownLabelError and issubclass(UnknownClassError, ValueError)
    with pytest.raises(UnknownClassError, match="'bored' in train/bored"):
        resolve_class_name("bored", where="train/bored")


def test_face_record_is_frozen_and_names_its_label():
    record = FaceRecord(image=b"...", label=4, split="train", source_id="x", location="x")
    assert record.label_name == "happy" and record.face_box is None and record.source == "affectnet"
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.label = 0
