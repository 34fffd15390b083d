"""
Where the faces of a build come from: one thin class per source (`DemoFaceSource`, `AffectNetFaceSource`) over what
the builder needs of any of them (`FaceSource`: the face records of a split, those faces encoded, the report
fields), chosen once from the builder's config by `face_source(config)`, as datasets' folder builders pick theirs.

`DEMO_DEFAULTS` (the demo dataset's size and difficulty) lives here too: the builder's config and the training
recipe's `demo_*` arguments both default to it.
"""

import math
import os
from collections import Counter
from collections.abc import Iterable, Iterator

from .affectnet import check_layout, detect_layout, read_affectnet
from .demo_faces import generate_demo_faces
from .face_images import encode_faces
from .records import SPLITS, BadRowError, FaceRecord


DEMO_DEFAULTS = {"per_class": 64, "agreement": 0.8, "image_size": 112, "face_variation": 1.0}

# What `encoded_faces` yields per record: the face's JPEG bytes and pixel box, or the row's error.
EncodedFace = tuple[bytes, tuple[int, int, int, int] | None] | BadRowError


class FaceSource:
    """
    A source of faces for `EmotiFusionBuilder`, built from its config (`EmotiFusionBuilderConfig`).

    Class attributes:
        name (`str`): the config's `source` that selects this class.
        reads_data_dir (`bool`): whether the faces come from `config.data_dir`.
        decodes_files (`bool`): whether faces are decoded from files, so worker processes (`num_proc`) help.
        splits (`tuple[str]`): the output splits the source fills.
    """

    name: str = ""
    reads_data_dir: bool = False
    decodes_files: bool = False
    splits: tuple[str, ...] = SPLITS

    def __init__(self, config):
        self.config = config

    @classmethod
    def check_config(cls, config) -> None:
        """Checks of the settings only this source reads; `EmotiFusionBuilderConfig.__post_init__` calls it."""

    @property
    def layout(self) -> str | None:
        """The folder layout faces are read from (`None`: no files)."""
        return None

    def records(self, split: str, skipped: Counter) -> Iterator[FaceRecord]:
        """The face records of `split`, in a fixed order; rows skipped on the way are counted in `skipped`."""
        raise NotImplementedError

    def encoded_faces(self, records: Iterable[FaceRecord], pool=None, processes: int | None = None):
        """`(record, EncodedFace)` for each record, in order (`pool`: see `face_images.decoding_pool`)."""
        raise NotImplementedError

    def report_fields(self) -> dict:
        """What the build report says about the source, besides the config's name and seed."""
        return {"layout": self.layout, "data_dir": self.config.data_dir}


class DemoFaceSource(FaceSource):
    """Procedural faces (`demo_faces`): `per_class` per class in train, `eval_per_class` in validation and test."""

    name = "demo"

    @classmethod
    def check_config(cls, config) -> None:
        if config.per_class < 1:
            raise ValueError(f"per_class must be >= 1, got {config.per_class}.")
        if config.eval_per_class is not None and config.eval_per_class < 1:
            raise ValueError(f"eval_per_class must be >= 1, got {config.eval_per_class}.")
        if not 0.0 <= config.face_variation <= 1.0:
            raise ValueError(f"face_variation must be in [0, 1], got {config.face_variation}.")

    def faces_per_class(self, split: str) -> int:
        config = self.config
        if split == "train":
            return config.per_class
        return config.eval_per_class or max(1, math.ceil(config.per_class / 4))

    def records(self, split: str, skipped: Counter) -> Iterator[FaceRecord]:
        config = self.config
        return generate_demo_faces(
            self.faces_per_class(split),
            seed=config.seed,
            split=split,
            size=config.image_size,
            variation=config.face_variation,
        )

    def encoded_faces(self, records: Iterable[FaceRecord], pool=None, processes: int | None = None):
        return ((record, (record.image, None)) for record in records)  # demo faces are JPEG bytes already

    def report_fields(self) -> dict:
        # With the seed, enough to draw any face again (`demo_faces.demo_face_regions`), e.g. to know its parts.
        return {**super().report_fields(), "image_size": self.config.image_size,
                "face_variation": self.config.face_variation}


class AffectNetFaceSource(FaceSource):
    """An AffectNet copy in `config.data_dir`, in any of `affectnet.LAYOUTS` (detected when `layout="auto"`)."""

    name = "affectnet"
    reads_data_dir = True
    decodes_files = True

    def __init__(self, config):
        super().__init__(config)
        # Checked here rather than in the config: the named configs are declared without a folder.
        if not config.data_dir:
            raise ValueError("The 'affectnet' config needs data_dir=<the AffectNet folder>.")
        if not os.path.isdir(config.data_dir):
            raise FileNotFoundError(f"AffectNet data_dir {config.data_dir!r} does not exist or is not a directory.")
        layout = check_layout(config.layout)
        self._layout = detect_layout(config.data_dir) if layout == "auto" else layout

    @property
    def layout(self) -> str:
        return self._layout

    def records(self, split: str, skipped: Counter) -> Iterator[FaceRecord]:
        config = self.config
        return read_affectnet(
            config.data_dir,
            self.layout,
            splits=(split,),
            skipped=skipped,
            strict=config.strict,
            validation_fraction=config.validation_fraction,
            test_fraction=config.test_fraction,
            seed=config.seed,
        )

    def encoded_faces(self, records: Iterable[FaceRecord], pool=None, processes: int | None = None):
        config = self.config
        return encode_faces(
            records,
            max_size=config.max_face_size,
            quality=config.jpeg_quality,
            pool=pool,
            chunks_in_flight=2 * (processes or 1),
        )


FACE_SOURCES: dict[str, type[FaceSource]] = {source.name: source for source in (DemoFaceSource, AffectNetFaceSource)}
SOURCES = tuple(FACE_SOURCES)


def face_source(config) -> FaceSource:
    """The source `config.source` names, built from `config`."""
    return FACE_SOURCES[config.source](config)


__all__ = [
    "DEMO_DEFAULTS",
    "FACE_SOURCES",
    "SOURCES",
    "AffectNetFaceSource",
    "DemoFaceSource",
    "FaceSource",
    "face_source",
]
