"""
What every face source yields and how a bad input row is reported: `FaceRecord`, the output `SPLITS`, the reasons a
row may be skipped for (`SKIP_REASONS`) and the row errors (`BadRowError`, `UnknownClassError`).

Imports no reader and no image code, so the demo faces, the AffectNet readers and the image encoding share it.
"""

from dataclasses import dataclass

from emotifusion_hf.labels import EMOTIONS, UnknownLabelError


SPLITS = ("train", "validation", "test")

# Every reason a row can be skipped for, so reports can list them in a stable order.
SKIP_REASONS = (
    "missing_file",
    "unreadable_image",
    "bad_number",
    "unknown_label",
    "empty_box",
    "box_outside_image",
    "expression_none",
    "expression_uncertain",
    "expression_non_face",
    "missing_label_file",
    "no_face",
    "unsupported_file",
    "duplicate_image",
    "outside_data_dir",
)


class BadRowError(ValueError):
    """
    One input row that cannot become a face record.

    Attributes:
        reason (`str`): one of `SKIP_REASONS`, the key it is counted under.
        location (`str`): the file and line (`"training.csv:12"`) or file (`"train/sad/x.jpg"`) of the row.
        detail (`str`): what is wrong, in words.
    """

    def __init__(self, reason: str, location: str, detail: str):
        self.reason = reason
        self.location = location
        self.detail = detail
        super().__init__(f"{location}: {detail} (skip reason: {reason})")


# A class folder or YOLO class name that no alias maps to one of the eight emotions. The spellings live in
# `emotifusion_hf.labels` (shared with the text corpora), so the error is that module's.
UnknownClassError = UnknownLabelError


@dataclass(frozen=True)
class FaceRecord:
    """
    One face, as read from the annotations; pixels are not decoded yet.

    Attributes:
        image (`str` or `bytes`): path to the image file, or the encoded image itself.
        label (`int`): index into `EMOTIONS`.
        split (`str`): the output split, one of `SPLITS`.
        source_id (`str`): stable id of the face: the image path relative to `data_dir`, plus `#k` for the k-th box
            of a YOLO label file.
        location (`str`): where the row came from (`file:line`), quoted in errors.
        face_box (`tuple`, *optional*): `(x, y, width, height)` of the face, in pixels or, with
            `box_normalized=True`, as fractions of the image size. `None` means the whole image.
        box_normalized (`bool`): whether `face_box` is in fractions of the image size (YOLO).
        valence (`float`, *optional*): in [-1, 1], `None` when not annotated.
        arousal (`float`, *optional*): in [-1, 1], `None` when not annotated.
        source (`str`): which reader produced the record (`"affectnet-official"`, `"demo"`, ...).
    """

    image: str | bytes
    label: int
    split: str
    source_id: str
    location: str
    face_box: tuple[float, float, float, float] | None = None
    box_normalized: bool = False
    valence: float | None = None
    arousal: float | None = None
    source: str = "affectnet"

    @property
    def label_name(self) -> str:
        return EMOTIONS[self.label]


__all__ = ["SKIP_REASONS", "SPLITS", "BadRowError", "FaceRecord", "UnknownClassError"]
