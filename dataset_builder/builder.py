"""
`EmotiFusionBuilder`: the merged face + dialogue dataset as a `datasets.GeneratorBasedBuilder`, and
`build_dataset`, which builds it (and saves it) in one call.

Each example is one face (an AffectNet crop or a procedural demo face) paired with a synthetic dialogue. The
dialogue's own emotion (`text_label`) equals the face label with probability `agreement`, otherwise it is a
plausible confusion of it (fear<->surprise, anger<->disgust<->contempt, sad<->neutral, ...), so text is evidence
and not the answer; the training label (`label`) is always the face's. Dialogues of a split are built only from
that split's templates.

The builder is generic: the faces come from the source its config names (`sources.face_source`), which yields the
face records of a split, encodes them and fills the source's part of the build report.

Rows stream: faces are read, paired and collected into Arrow tables of `DEFAULT_WRITER_BATCH_SIZE` rows, written
as they fill, so memory stays flat however many rows there are.

Usage (datasets has no loading scripts: use the builder class directly):

```python
>>> from dataset_builder import EmotiFusionBuilder
>>> builder = EmotiFusionBuilder(config_name="demo", cache_dir="cache", per_class=64, seed=0)
>>> builder.download_and_prepare()
>>> dataset = builder.as_dataset()  # DatasetDict with train / validation / test
>>> builder.build_report["skipped"]

>>> builder = EmotiFusionBuilder(config_name="affectnet", data_dir="/data/AffectNet", cache_dir="cache")
>>> builder.download_and_prepare(num_proc=4)  # faces decoded in 4 worker processes; same rows, same order
```

Config keyword arguments: see `EmotiFusionBuilderConfig`. Command line: `python -m dataset_builder build --source
{affectnet,demo} --output OUT ...` (see `build_command`).
"""

import hashlib
import json
import os
import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import datasets
from datasets.exceptions import DatasetGenerationError

from emotifusion_hf.labels import CONFUSIONS, EMOTIONS
from emotifusion_hf.staging import staged_directory

from .builder_config import EmotiFusionBuilderConfig
from .dialogues import DialogueGenerator, DiversityMeter, load_corpus
from .face_images import decoding_pool
from .records import BadRowError, FaceRecord
from .sources import FACE_SOURCES, SOURCES, face_source


BUILD_REPORT_FILE = "build_report.json"

_DESCRIPTION = (
    "Faces labelled with eight emotions (anger, contempt, disgust, fear, happy, neutral, sad, surprise), each paired "
    "with a synthetic dialogue whose own emotion (text_label) agrees with the face label with probability "
    "`agreement`. Faces come from AffectNet (official CSV, class-folder or YOLO layout) or from procedural demo faces."
)
_CITATION = """\
@article{mollahosseini2017affectnet,
  title={AffectNet: A Database for Facial Expression, Valence, and Arousal Computing in the Wild},
  author={Mollahosseini, Ali and Hasani, Behzad and Mahoor, Mohammad H.},
  journal={IEEE Transactions on Affective Computing},
  year={2017}
}"""


def features() -> datasets.Features:
    """The features of every EmotiFusion dataset (labels are `ClassLabel`s over `EMOTIONS`)."""
    return datasets.Features(
        {
            "image": datasets.Image(),
            "image_id": datasets.Value("string"),
            "text": datasets.Value("string"),
            "dialogue": datasets.List(datasets.Value("string")),
            "label": datasets.ClassLabel(names=list(EMOTIONS)),
            "text_label": datasets.ClassLabel(names=list(EMOTIONS)),
            "valence": datasets.Value("float32"),
            "arousal": datasets.Value("float32"),
            "face_box": datasets.List(datasets.Value("int32"), length=4),
            "source": datasets.Value("string"),
            "dialogue_id": datasets.Value("string"),
            "template_ids": datasets.List(datasets.Value("string")),
        }
    )


def pair_text_label(face_label: int, agreement: float, rng: random.Random) -> int:
    """
    The emotion of the dialogue paired with a face: the face's own with probability `agreement`, else one of its
    plausible confusions (`emotifusion_hf.labels.CONFUSIONS`, weighted).
    """
    if rng.random() < agreement:
        return face_label
    neighbours = CONFUSIONS[EMOTIONS[face_label]]
    return EMOTIONS.index(rng.choices(list(neighbours), weights=list(neighbours.values()))[0])


def _code_hash() -> str:
    """Hash of this package's sources: a code change gives a fresh cache folder instead of stale data."""
    digest = hashlib.sha256()
    root = Path(__file__).parent
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]




@dataclass
class _SplitTally:
    """What one split's build counted: kept faces per label, skipped rows per reason, agreeing pairs, diversity."""

    kept: Counter = field(default_factory=Counter)
    skipped: Counter = field(default_factory=Counter)
    agreeing: int = 0
    meter: DiversityMeter = field(default_factory=DiversityMeter)


class EmotiFusionBuilder(datasets.GeneratorBasedBuilder):
    """
    Builds the EmotiFusion dataset: train / validation / test of faces paired with dialogues.

    Splits: for AffectNet's official layout, `validation.csv` is `test` and `validation` is a stratified slice of
    training; folder and YOLO trees use their own split folders (see `affectnet.plan_splits`). The demo config
    generates all three.

    After `download_and_prepare()`, `build_report` holds the kept rows per split and class and the skipped rows
    per reason; it is also saved as `build_report.json` next to the cached data.
    """

    VERSION = datasets.Version("1.0.0")
    BUILDER_CONFIG_CLASS = EmotiFusionBuilderConfig
    BUILDER_CONFIGS = [
        EmotiFusionBuilderConfig(
            name="demo", source="demo", description="Procedural demo faces + synthetic dialogues."
        ),
        EmotiFusionBuilderConfig(
            name="affectnet", source="affectnet", description="AffectNet faces + synthetic dialogues."
        ),
    ]
    DEFAULT_CONFIG_NAME = "demo"
    # Rows hold JPEG bytes: tables of modest size keep memory flat.
    DEFAULT_WRITER_BATCH_SIZE = 256

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("dataset_name", "emotifusion")
        kwargs.setdefault("hash", _code_hash())
        super().__init__(*args, **kwargs)
        self.face_source = face_source(self.config)
        self._report: dict | None = None
        self._decoding_pool = None
        self._decoding_processes: int | None = None

    def _create_builder_config(self, *args, **kwargs):
        config, config_id = super()._create_builder_config(*args, **kwargs)
        # A named config takes keyword overrides by `setattr`, past the dataclass's checks: check the result.
        config.__post_init__()
        # The corpus is read once and shared by the splits' dialogue generators; the cache folder follows its
        # content, not only its path (datasets builds the cache path from `hash` right after this).
        self.corpus = load_corpus(config.corpus_source()) if config.dialogue_backend == "corpus" else None
        if self.corpus is not None:
            self.hash = f"{self.hash}-{self.corpus.fingerprint[:16]}"
        return config, config_id

    @property
    def layout(self) -> str | None:
        """The AffectNet layout read (detected when the config says `"auto"`); `None` for the demo faces."""
        return self.face_source.layout

    # -- datasets hooks ----------------------------------------------------------------------------------------------

    def _info(self) -> datasets.DatasetInfo:
        return datasets.DatasetInfo(
            description=_DESCRIPTION,
            features=features(),
            homepage="http://mohammadmahoor.com/affectnet/",
            citation=_CITATION,
        )

    def _split_generators(self, dl_manager):
        self._report = self._empty_report()
        return [
            datasets.SplitGenerator(name=datasets.Split(split), gen_kwargs={"split": split})
            for split in self.face_source.splits
        ]

    def _download_and_prepare(self, dl_manager, verification_mode, **prepare_split_kwargs):
        # A split is one ordered stream (dialogue ids, the stratified slices and the report follow its order), so
        # `download_and_prepare(num_proc=N)` decodes faces in N worker processes, shared by the splits, instead of
        # sharding the splits.
        num_proc = prepare_split_kwargs.pop("num_proc", None)
        with decoding_pool(num_proc if self.face_source.decodes_files else None) as pool:
            self._decoding_pool, self._decoding_processes = pool, num_proc
            try:
                super()._download_and_prepare(dl_manager, verification_mode, **prepare_split_kwargs)
            finally:
                self._decoding_pool = self._decoding_processes = None
        # `_output_dir` is still the temporary folder here, so the report moves into the cache with the data.
        with open(os.path.join(self._output_dir, BUILD_REPORT_FILE), "w", encoding="utf-8") as handle:
            json.dump(self._report, handle, indent=2)

    def download_and_prepare(self, *args, **kwargs):
        try:
            super().download_and_prepare(*args, **kwargs)
        except DatasetGenerationError as error:
            # Surface a bad row (strict mode) or a bad tree as itself: its message names the file and line.
            if isinstance(error.__cause__, (BadRowError, ValueError, OSError)):
                raise error.__cause__ from None
            raise

    def _generate_examples(self, split: str):
        for index, row in enumerate(self._generate_rows(split)):
            yield index, row

    # -- rows --------------------------------------------------------------------------------------------------------

    def _generate_rows(self, split: str):
        """The rows of `split`, one dict per face, in the columns of `features()`."""
        tally = _SplitTally()
        dialogues = DialogueGenerator(split=split, seed=self.config.seed, **self._dialogue_generator_kwargs())
        records = self.face_source.records(split, tally.skipped)
        faces = self.face_source.encoded_faces(records, pool=self._decoding_pool, processes=self._decoding_processes)
        try:
            for index, (record, face) in enumerate(self._usable_faces(faces, tally.skipped)):
                yield self._paired_row(record, face, split, index, dialogues, tally)
        finally:
            self._record_split(split, tally, dialogues)

    def _dialogue_generator_kwargs(self) -> dict:
        kwargs = self.config.dialogue_generator_kwargs()
        if self.corpus is not None:
            kwargs["corpus"] = self.corpus
        return kwargs

    def _usable_faces(self, faces, skipped: Counter):
        """The faces that encoded; a bad row is raised (`strict`) or counted under its reason."""
        for record, face in faces:
            if isinstance(face, BadRowError):
                if self.config.strict:
                    raise face
                skipped[face.reason] += 1
                continue
            yield record, face

    def _paired_row(self, record: FaceRecord, face, split: str, index: int, dialogues, tally: _SplitTally) -> dict:
        """The row of one face: its dialogue, drawn for a text label paired with the face's (seeded by its id)."""
        image_bytes, box = face
        rng = random.Random(f"pair|{self.config.seed}|{split}|{record.source_id}")
        text_label = pair_text_label(record.label, self.config.agreement, rng)
        dialogue_id = f"{split}-{index:07d}"
        dialogue = dialogues.generate(text_label, key=record.source_id, dialogue_id=dialogue_id)
        tally.kept[record.label] += 1
        tally.agreeing += text_label == record.label
        tally.meter.add(dialogue)
        return {
            "image": {"bytes": image_bytes, "path": None},
            "image_id": record.source_id,
            "text": dialogue.text,
            "dialogue": dialogue.turns,
            "label": record.label,
            "text_label": text_label,
            "valence": record.valence,
            "arousal": record.arousal,
            "face_box": list(box) if box is not None else None,
            "source": record.source,
            "dialogue_id": dialogue_id,
            "template_ids": dialogue.template_ids,
        }

    # -- report ------------------------------------------------------------------------------------------------------

    def _empty_report(self) -> dict:
        config = self.config
        return {
            "source": config.source,
            "config": config.name,
            **self.face_source.report_fields(),
            "seed": config.seed,
            "agreement": config.agreement,
            "kept": {},
            "kept_total": {},
            "skipped": {},
            "skipped_by_split": {},
            "text_agreement": {},
            "dialogues": {},
            **({"corpus": self.corpus.report(), "dialogue_sources": {}} if self.corpus is not None else {}),
        }

    def _record_split(self, split: str, tally: _SplitTally, dialogues: DialogueGenerator) -> None:
        report = self._report if self._report is not None else self._empty_report()
        self._report = report
        total = sum(tally.kept.values())
        report["kept"][split] = {emotion: tally.kept.get(label, 0) for label, emotion in enumerate(EMOTIONS)}
        report["kept_total"][split] = total
        report["skipped_by_split"][split] = dict(sorted(tally.skipped.items()))
        merged = Counter(report["skipped"])
        merged.update(tally.skipped)
        report["skipped"] = dict(sorted(merged.items()))
        report["text_agreement"][split] = round(tally.agreeing / total, 4) if total else None
        report["dialogues"][split] = tally.meter.report()
        if self.corpus is not None:
            # How many of this split's dialogues quote the corpus, and which emotions fell back to the grammar.
            report["dialogue_sources"][split] = dialogues.report()["dialogues"]

    @property
    def build_report(self) -> dict:
        """
        Kept rows per split and class (`"kept"`), skipped rows per reason (`"skipped"`, also `"skipped_by_split"`),
        the realised text/face agreement and the dialogue diversity per split.
        """
        if self._report is not None and self._report["kept"]:
            return self._report
        path = os.path.join(self._output_dir, BUILD_REPORT_FILE)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"No build report yet: call download_and_prepare() first (looked for {path}).")
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)


# ---------------------------------------------------------------------------------------------------------------
# Building in one call
# ---------------------------------------------------------------------------------------------------------------


def check_output_dir(path: str, overwrite: bool | None) -> None:
    """Refuse a non-empty `path` unless `overwrite` is True, or it is None and `path` holds a previous build."""
    if not os.path.exists(path) or (os.path.isdir(path) and not os.listdir(path)) or overwrite:
        return
    previous_build = all(os.path.isfile(os.path.join(path, name)) for name in (BUILD_REPORT_FILE, "dataset_dict.json"))
    if overwrite is None and previous_build:
        return
    raise FileExistsError(
        f"Output folder {path!r} exists and is not empty; pass overwrite=True (--overwrite) to replace it."
    )


def build_dataset(
    source: str = "demo",
    *,
    output_dir: str | None = None,
    cache_dir: str | None = None,
    overwrite: bool | None = None,
    num_proc: int | None = None,
    num_shards: int | None = None,
    return_report: bool = False,
    **config_kwargs,
):
    """
    Build the EmotiFusion `DatasetDict` in one call.

    Args:
        source (`str`): `"demo"` or `"affectnet"` (the config name).
        output_dir (`str`, *optional*): also `save_to_disk` here, with `build_report.json` beside the splits, and
            return the saved copy. Without it the data stays in the datasets cache, keyed by the settings, and a
            second call with the same settings reuses it.
        cache_dir (`str`, *optional*): the datasets cache to build in (default: `HF_DATASETS_CACHE`).
        overwrite (`bool`, *optional*): what to do with a non-empty `output_dir`: `True` replaces it, `False`
            refuses, `None` (default) replaces a previous build (a folder with `build_report.json` and
            `dataset_dict.json`) and refuses anything else.
        num_proc (`int`, *optional*): processes decoding AffectNet faces while the rows are paired and written
            (`download_and_prepare(num_proc=...)`), and for `save_to_disk`.
        num_shards (`int`, *optional*): with `output_dir`, write each split as this many Arrow shards (fewer for a
            split with fewer rows), which training memory-maps and the processes of a launch read in parts.
        return_report (`bool`): return `(dataset, report)` instead of the dataset.
        config_kwargs: `EmotiFusionBuilderConfig` fields (`data_dir`, `layout`, `seed`, `agreement`, `per_class`,
            ...); `None` values keep the defaults.

    Example:

    ```python
    >>> dataset = build_dataset("demo", per_class=32, agreement=0.8, seed=0, image_size=112)
    >>> dataset["train"].features["label"].names[:3]
    ['anger', 'contempt', 'disgust']
    ```"""
    if source not in SOURCES:
        raise ValueError(f"Unknown source {source!r}: expected one of {SOURCES}.")
    config_kwargs = {key: value for key, value in config_kwargs.items() if value is not None}
    if not FACE_SOURCES[source].reads_data_dir:
        config_kwargs.pop("data_dir", None)
    if output_dir is not None:
        output_dir = os.path.abspath(output_dir)
        check_output_dir(output_dir, overwrite)
    builder = EmotiFusionBuilder(config_name=source, cache_dir=cache_dir, **config_kwargs)
    builder.download_and_prepare(num_proc=num_proc)
    report = builder.build_report
    _check_every_split_has_rows(report, builder.config.data_dir)
    dataset = builder.as_dataset()
    if output_dir is not None:
        save_atomically(dataset, report, output_dir, num_proc=num_proc, num_shards=num_shards)
        dataset = datasets.load_from_disk(output_dir)
    return (dataset, report) if return_report else dataset


def _check_every_split_has_rows(report: dict, data_dir: str | None) -> None:
    empty = [split for split, total in report["kept_total"].items() if not total]
    if empty:
        # Otherwise `as_dataset` fails with datasets' own 'Instruction "train" corresponds to no data!'.
        raise ValueError(
            f"No usable face for the {', '.join(empty)} split(s) of {data_dir!r}: "
            f"kept {report['kept_total']}, skipped rows by reason {report['skipped']}."
        )


def save_atomically(dataset: datasets.DatasetDict, report: dict, output_dir: str, num_proc: int | None = None,
                    num_shards: int | None = None) -> None:
    """`save_to_disk` plus `build_report.json`, written beside `output_dir` and swapped in when complete: a save
    killed midway leaves the previous build (or nothing) at `output_dir`, never half a dataset. With `num_shards`,
    each split is written as that many Arrow shards (at most one per row), copied from the memory-mapped build
    one shard at a time, so no split is ever held in memory."""
    if num_shards is not None and (not isinstance(num_shards, int) or num_shards < 1):
        raise ValueError(f"num_shards must be a positive integer, got {num_shards!r}.")
    shards = {name: min(num_shards, max(split.num_rows, 1)) for name, split in dataset.items()} if num_shards else None
    with staged_directory(output_dir) as staging:
        # datasets refuses num_proc and num_shards together unless num_shards >= num_proc: let the shards decide.
        processes = num_proc if shards is None or all(count >= (num_proc or 1) for count in shards.values()) else None
        dataset.save_to_disk(str(staging), num_proc=processes, num_shards=shards)
        with open(staging / BUILD_REPORT_FILE, "w", encoding="utf-8") as handle:
            json.dump(report, handle, indent=2)


__all__ = [
    "BUILD_REPORT_FILE",
    "SOURCES",
    "EmotiFusionBuilder",
    "EmotiFusionBuilderConfig",
    "build_dataset",
    "check_output_dir",
    "features",
    "pair_text_label",
    "save_atomically",
]
