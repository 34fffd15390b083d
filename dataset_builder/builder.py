"""
`EmotiFusionBuilder`: the merged face + dialogue dataset as a `datasets.GeneratorBasedBuilder`.

Each example is one face (an AffectNet crop or a procedural demo face) paired with a synthetic dialogue. The
dialogue's own emotion (`text_label`) equals the face label with probability `agreement`, otherwise it is a
plausible confusion of it (fear<->surprise, anger<->disgust<->contempt, sad<->neutral, ...), so text is evidence
and not the answer; the training label (`label`) is always the face's. Dialogues of a split are built only from
that split's templates.

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

Config keyword arguments (`EmotiFusionBuilderConfig`): `data_dir`, `layout`, `seed`, `agreement`, `per_class`,
`eval_per_class`, `image_size`, `validation_fraction`, `test_fraction`, `strict`, `max_face_size`,
`jpeg_quality`, `dialogue_backend`, `llm_model`, `llm_max_new_tokens`.

Command line: `python -m dataset_builder build --source {affectnet,demo} --output OUT ...` (see `run_build`).
"""

import hashlib
import json
import math
import os
import random
import shutil
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import datasets

from emotifusion_hf.labels import CONFUSIONS, EMOTIONS
from emotifusion_hf.staging import staged_directory

from datasets.exceptions import DatasetGenerationError

from .affectnet import (
    LAYOUTS,
    BadRowError,
    check_layout,
    decoding_pool,
    detect_layout,
    encode_faces,
    read_affectnet,
)
from .demo_faces import generate_demo_faces
from .dialogues import BACKENDS, DialogueGenerator, DiversityMeter


SOURCES = ("demo", "affectnet")
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


# The demo dataset's size and difficulty, in one place: the builder's config and the training recipe's `demo_*`
# arguments both default to these.
DEMO_DEFAULTS = {"per_class": 64, "agreement": 0.8, "image_size": 112, "face_variation": 1.0}


@dataclass
class EmotiFusionBuilderConfig(datasets.BuilderConfig):
    """
    Configuration of `EmotiFusionBuilder`.

    Args:
        source (`str`): `"demo"` (procedural faces) or `"affectnet"` (faces from `data_dir`).
        data_dir (`str`): the AffectNet folder (required for `"affectnet"`).
        layout (`str`, defaults to `"auto"`): `"auto"` or one of `affectnet.LAYOUTS`.
        seed (`int`, defaults to 0): seeds the pairing, the dialogues, the demo faces and the stratified slices.
        agreement (`float`, defaults to 0.8): probability that a dialogue's emotion equals its face's.
        per_class (`int`, defaults to 64): demo faces per class in train.
        eval_per_class (`int`, *optional*): demo faces per class in validation and test
            (default: a quarter of `per_class`, at least one).
        image_size (`int`, defaults to 112): side of the demo faces in pixels.
        face_variation (`float`, defaults to 1.0): how far the demo faces' pose, lighting, clutter, blur and noise
            vary, 0 to 1 (see `demo_faces.render_face`).
        validation_fraction / test_fraction (`float`, default 0.1): stratified slices carved out of training when
            the source has no such split.
        strict (`bool`, defaults to False): raise on the first bad row instead of skipping and counting it.
        max_face_size (`int`, *optional*): shrink AffectNet crops so their longer side is at most this.
        jpeg_quality (`int`, defaults to 95): quality of re-encoded crops.
        dialogue_backend (`str`, defaults to `"grammar"`): `"grammar"` or `"llm"`.
        llm_model (`str`, *optional*): the model of the `"llm"` backend.
        llm_max_new_tokens (`int`, defaults to 96): generation budget per dialogue of the `"llm"` backend.
    """

    source: str = "demo"
    layout: str = "auto"
    seed: int = 0
    agreement: float = DEMO_DEFAULTS["agreement"]
    per_class: int = DEMO_DEFAULTS["per_class"]
    eval_per_class: int | None = None
    image_size: int = DEMO_DEFAULTS["image_size"]
    face_variation: float = DEMO_DEFAULTS["face_variation"]
    validation_fraction: float = 0.1
    test_fraction: float = 0.1
    strict: bool = False
    max_face_size: int | None = None
    jpeg_quality: int = 95
    dialogue_backend: str = "grammar"
    llm_model: str | None = None
    llm_max_new_tokens: int = 96


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
        self.layout = self._validate_config()
        self._report: dict | None = None
        self._decoding_pool = None
        self._decoding_processes: int | None = None

    def _validate_config(self) -> str | None:
        config = self.config
        if config.source not in SOURCES:
            raise ValueError(f"Unknown source {config.source!r}: expected one of {SOURCES}.")
        if config.name in self.builder_configs and config.name != config.source:
            raise ValueError(
                f"Config {config.name!r} cannot have source={config.source!r}; use config_name={config.source!r}."
            )
        if not 0.0 <= config.agreement <= 1.0:
            raise ValueError(f"agreement must be in [0, 1], got {config.agreement}.")
        if config.dialogue_backend not in BACKENDS:
            raise ValueError(f"Unknown dialogue_backend {config.dialogue_backend!r}: expected one of {BACKENDS}.")
        if config.dialogue_backend == "llm" and not config.llm_model:
            raise ValueError("dialogue_backend='llm' needs llm_model (a local model folder or a Hub id).")
        for name in ("validation_fraction", "test_fraction"):
            value = getattr(config, name)
            if not 0.0 <= value < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {value}.")
        if config.validation_fraction + config.test_fraction >= 1.0:
            raise ValueError("validation_fraction + test_fraction must leave some training rows (sum < 1).")
        if not 1 <= config.jpeg_quality <= 100:
            raise ValueError(f"jpeg_quality must be in [1, 100], got {config.jpeg_quality}.")
        if config.max_face_size is not None and config.max_face_size < 1:
            raise ValueError(f"max_face_size must be a positive number of pixels, got {config.max_face_size}.")
        layout = check_layout(config.layout)
        if config.source == "demo":
            if config.per_class < 1:
                raise ValueError(f"per_class must be >= 1, got {config.per_class}.")
            if config.eval_per_class is not None and config.eval_per_class < 1:
                raise ValueError(f"eval_per_class must be >= 1, got {config.eval_per_class}.")
            if not 0.0 <= config.face_variation <= 1.0:
                raise ValueError(f"face_variation must be in [0, 1], got {config.face_variation}.")
            return None
        if not config.data_dir:
            raise ValueError("The 'affectnet' config needs data_dir=<the AffectNet folder>.")
        if not os.path.isdir(config.data_dir):
            raise FileNotFoundError(f"AffectNet data_dir {config.data_dir!r} does not exist or is not a directory.")
        return detect_layout(config.data_dir) if layout == "auto" else layout

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
            datasets.SplitGenerator(name=datasets.Split.TRAIN, gen_kwargs={"split": "train"}),
            datasets.SplitGenerator(name=datasets.Split.VALIDATION, gen_kwargs={"split": "validation"}),
            datasets.SplitGenerator(name=datasets.Split.TEST, gen_kwargs={"split": "test"}),
        ]

    def _download_and_prepare(self, dl_manager, verification_mode, **prepare_split_kwargs):
        # A split is one ordered stream (dialogue ids, the stratified slices and the report follow its order), so
        # `download_and_prepare(num_proc=N)` decodes faces in N worker processes, shared by the splits, instead of
        # sharding the splits.
        num_proc = prepare_split_kwargs.pop("num_proc", None)
        uses_files = self.config.source != "demo"
        with decoding_pool(num_proc if uses_files else None) as pool:
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

    def _face_records(self, split: str, skipped: Counter):
        config = self.config
        if config.source == "demo":
            count = config.per_class
            if split != "train":
                count = config.eval_per_class or max(1, math.ceil(config.per_class / 4))
            return generate_demo_faces(
                count, seed=config.seed, split=split, size=config.image_size, variation=config.face_variation
            )
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

    def _generate_examples(self, split: str):
        for index, row in enumerate(self._generate_rows(split)):
            yield index, row

    def _generate_rows(self, split: str):
        """The rows of `split`, one dict per face, in the columns of `features()`."""
        config = self.config
        skipped: Counter = Counter()
        kept: Counter = Counter()
        agreeing = 0
        meter = DiversityMeter()
        llm_kwargs = {"max_new_tokens": config.llm_max_new_tokens} if config.dialogue_backend == "llm" else {}
        dialogues = DialogueGenerator(
            split=split, seed=config.seed, backend=config.dialogue_backend, llm_model=config.llm_model, **llm_kwargs
        )
        records = self._face_records(split, skipped)
        if config.source == "demo":
            faces = ((record, (record.image, None)) for record in records)  # demo faces are encoded already
        else:
            faces = encode_faces(
                records,
                max_size=config.max_face_size,
                quality=config.jpeg_quality,
                pool=self._decoding_pool,
                chunks_in_flight=2 * (self._decoding_processes or 1),
            )
        index = 0
        try:
            for record, face in faces:
                if isinstance(face, BadRowError):
                    if config.strict:
                        raise face
                    skipped[face.reason] += 1
                    continue
                image_bytes, box = face
                rng = random.Random(f"pair|{config.seed}|{split}|{record.source_id}")
                text_label = pair_text_label(record.label, config.agreement, rng)
                dialogue_id = f"{split}-{index:07d}"
                dialogue = dialogues.generate(text_label, key=record.source_id, dialogue_id=dialogue_id)
                kept[record.label] += 1
                agreeing += text_label == record.label
                meter.add(dialogue)
                yield {
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
                index += 1
        finally:
            self._record_split(split, kept, skipped, agreeing, meter)

    # -- report ------------------------------------------------------------------------------------------------------

    def _empty_report(self) -> dict:
        config = self.config
        return {
            "source": config.source,
            "config": config.name,
            "layout": self.layout,
            "data_dir": config.data_dir,
            "seed": config.seed,
            "agreement": config.agreement,
            "kept": {},
            "kept_total": {},
            "skipped": {},
            "skipped_by_split": {},
            "text_agreement": {},
            "dialogues": {},
        }

    def _record_split(self, split, kept: Counter, skipped: Counter, agreeing: int, meter: DiversityMeter) -> None:
        report = self._report if self._report is not None else self._empty_report()
        self._report = report
        total = sum(kept.values())
        report["kept"][split] = {emotion: kept.get(label, 0) for label, emotion in enumerate(EMOTIONS)}
        report["kept_total"][split] = total
        report["skipped_by_split"][split] = dict(sorted(skipped.items()))
        merged = Counter(report["skipped"])
        merged.update(skipped)
        report["skipped"] = dict(sorted(merged.items()))
        report["text_agreement"][split] = round(agreeing / total, 4) if total else None
        report["dialogues"][split] = meter.report()

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


def _check_output_dir(path: str, overwrite: bool | None) -> None:
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
    if source == "demo":
        config_kwargs.pop("data_dir", None)
    if output_dir is not None:
        output_dir = os.path.abspath(output_dir)
        _check_output_dir(output_dir, overwrite)
    builder = EmotiFusionBuilder(config_name=source, cache_dir=cache_dir, **config_kwargs)
    builder.download_and_prepare(num_proc=num_proc)
    report = builder.build_report
    empty = [split for split, total in report["kept_total"].items() if not total]
    if empty:
        # Otherwise `as_dataset` fails with datasets' own 'Instruction "train" corresponds to no data!'.
        raise ValueError(
            f"No usable face for the {', '.join(empty)} split(s) of {builder.config.data_dir!r}: "
            f"kept {report['kept_total']}, skipped rows by reason {report['skipped']}."
        )
    dataset = builder.as_dataset()
    if output_dir is not None:
        save_atomically(dataset, report, output_dir, num_proc=num_proc)
        dataset = datasets.load_from_disk(output_dir)
    return (dataset, report) if return_report else dataset


def save_atomically(dataset: datasets.DatasetDict, report: dict, output_dir: str, num_proc: int | None = None) -> None:
    """`save_to_disk` plus `build_report.json`, written beside `output_dir` and swapped in when complete: a save
    killed midway leaves the previous build (or nothing) at `output_dir`, never half a dataset."""
    with staged_directory(output_dir) as staging:
        dataset.save_to_disk(str(staging), num_proc=num_proc)
        with open(staging / BUILD_REPORT_FILE, "w", encoding="utf-8") as handle:
            json.dump(report, handle, indent=2)


# ---------------------------------------------------------------------------------------------------------------
# Command line: `python -m dataset_builder build`
# ---------------------------------------------------------------------------------------------------------------


def add_build_arguments(parser) -> None:
    """Arguments of the `build` subcommand."""
    parser.add_argument("--source", choices=SOURCES, required=True, help="Where the faces come from.")
    parser.add_argument("--data-dir", default=None, help="The AffectNet folder (required with --source affectnet).")
    parser.add_argument(
        "--layout", choices=("auto",) + LAYOUTS, default="auto", help="AffectNet layout (default: detect it)."
    )
    parser.add_argument("--output", required=True, help="Folder for DatasetDict.save_to_disk and build_report.json.")
    parser.add_argument("--seed", type=int, default=0, help="Seed of pairing, dialogues, demo faces and slices.")
    parser.add_argument("--agreement", type=float, default=0.8, help="P(dialogue emotion == face emotion).")
    parser.add_argument("--per-class", type=int, default=None, help="Demo: train faces per class (default 64).")
    parser.add_argument("--eval-per-class", type=int, default=None, help="Demo: validation/test faces per class.")
    parser.add_argument("--image-size", type=int, default=None, help="Demo: face size in pixels (default 112).")
    parser.add_argument(
        "--face-variation", type=float, default=None, help="Demo: pose/lighting/clutter variation, 0-1 (default 1)."
    )
    parser.add_argument("--validation-fraction", type=float, default=None, help="Training slice used for validation.")
    parser.add_argument("--test-fraction", type=float, default=None, help="Training slice used for test, if none.")
    parser.add_argument("--max-face-size", type=int, default=None, help="AffectNet: shrink crops to this longer side.")
    parser.add_argument("--strict", action="store_true", help="Fail on the first bad row instead of skipping it.")
    parser.add_argument("--cache-dir", default=None, help="Where to build (default: a temporary folder).")
    parser.add_argument("--overwrite", action="store_true", help="Replace --output if it exists.")
    parser.add_argument("--dialogue-backend", choices=BACKENDS, default=None, help="Dialogue generator (grammar).")
    parser.add_argument("--llm-model", default=None, help="With --dialogue-backend llm: model folder or Hub id.")
    parser.add_argument("--llm-max-new-tokens", type=int, default=None, help="With --dialogue-backend llm: budget.")
    parser.add_argument("--num-proc", type=int, default=None, help="Processes decoding faces, and for save_to_disk.")
    parser.add_argument("--push-to-hub", default=None, metavar="REPO", help="Also upload as parquet to this Hub repo.")
    parser.add_argument("--private", action="store_true", help="With --push-to-hub: create a private repo.")


def run_build(args) -> dict:
    """
    Run the `build` subcommand: build with `EmotiFusionBuilder`, `save_to_disk(--output)`, write
    `--output/build_report.json`, and optionally push to the Hub. Returns the report.
    """
    if args.source == "affectnet" and not args.data_dir:
        raise ValueError("--data-dir is required with --source affectnet (the folder holding AffectNet).")
    if args.source == "affectnet" and not os.path.isdir(args.data_dir):
        raise FileNotFoundError(f"--data-dir {args.data_dir!r} does not exist or is not a directory.")
    output = os.path.abspath(args.output)
    _check_output_dir(output, args.overwrite)
    config_kwargs = {
        "data_dir": args.data_dir if args.source == "affectnet" else None,
        "layout": args.layout,
        "seed": args.seed,
        "agreement": args.agreement,
        "per_class": args.per_class,
        "eval_per_class": args.eval_per_class,
        "image_size": args.image_size,
        "face_variation": args.face_variation,
        "validation_fraction": args.validation_fraction,
        "test_fraction": args.test_fraction,
        "max_face_size": args.max_face_size,
        "strict": args.strict or None,
        "dialogue_backend": args.dialogue_backend,
        "llm_model": args.llm_model,
        "llm_max_new_tokens": args.llm_max_new_tokens,
    }
    # Build in a throwaway cache unless asked otherwise: the saved copy in --output is the product.
    temporary = None if args.cache_dir else tempfile.mkdtemp(prefix="emotifusion-build-")
    try:
        dataset, report = build_dataset(
            args.source,
            output_dir=output,
            cache_dir=args.cache_dir or temporary,
            overwrite=True,
            num_proc=args.num_proc,
            return_report=True,
            **config_kwargs,
        )
        if args.push_to_hub:
            dataset.push_to_hub(args.push_to_hub, private=args.private)
            report["pushed_to"] = args.push_to_hub
        del dataset
    finally:
        if temporary is not None:
            shutil.rmtree(temporary, ignore_errors=True)
    summary = {"output": output, "kept_total": report["kept_total"], "skipped": report["skipped"]}
    print(json.dumps(summary, indent=2), file=sys.stderr)
    return report


__all__ = [
    "BUILD_REPORT_FILE",
    "SOURCES",
    "EmotiFusionBuilder",
    "EmotiFusionBuilderConfig",
    "add_build_arguments",
    "build_dataset",
    "features",
    "pair_text_label",
    "run_build",
]
