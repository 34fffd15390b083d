"""The data of a training run: loading the merged face + dialogue dataset (or building the demo one on the fly),
choosing and truncating its splits, and giving them the training and evaluation transforms."""

import logging
import os
from dataclasses import dataclass

import datasets
from datasets import DatasetDict

from dataset_builder import DEMO_DEFAULTS
from emotifusion_hf import EMOTIONS

from .augment import FaceDialogueTransform, SeededAugmentedDataset, build_eval_augmentation, build_train_augmentation


logger = logging.getLogger(__name__)

REQUIRED_COLUMNS = ("image", "text", "label")


def check_dataset(dataset: DatasetDict, columns=REQUIRED_COLUMNS, where: str = "the dataset") -> DatasetDict:
    """Every split has `columns`, and `label` (when a `ClassLabel`) names the emotions in `EMOTIONS` order."""
    if not isinstance(dataset, DatasetDict) or not len(dataset):
        raise ValueError(f"{where} must be a DatasetDict with splits such as train/validation/test.")
    for name, split in dataset.items():
        missing = [column for column in columns if column not in split.column_names]
        if missing:
            raise ValueError(f"{where}: split `{name}` lacks column(s) {missing} (it has {split.column_names}).")
        for column in ("label", "text_label"):
            feature = split.features.get(column)
            if isinstance(feature, datasets.ClassLabel) and tuple(feature.names) != EMOTIONS:
                raise ValueError(
                    f"{where}: split `{name}` column `{column}` has classes {feature.names}; expected {list(EMOTIONS)}."
                )
    return dataset


def load_dataset_dir(path) -> DatasetDict:
    """A `DatasetDict` saved with `save_to_disk` (as `python -m dataset_builder build` writes it)."""
    path = os.fspath(path)
    if not os.path.isdir(path):
        raise FileNotFoundError(f"Dataset folder not found: {path}")
    try:
        dataset = datasets.load_from_disk(path)
    except FileNotFoundError as error:
        raise FileNotFoundError(f"{path} is not a dataset saved with `save_to_disk` ({error}).") from None
    if isinstance(dataset, datasets.Dataset):
        raise ValueError(f"{path} holds a single Dataset; expected a DatasetDict with train/validation/test splits.")
    return check_dataset(dataset, where=path)


def build_demo_dataset(per_class: int, agreement: float, seed: int, image_size: int, eval_per_class: int | None = None,
                       output_dir=None, face_variation: float = DEMO_DEFAULTS["face_variation"]) -> DatasetDict:
    """The demo dataset (procedural faces + synthetic dialogues) from the dataset builder, saved to `output_dir`
    when given (otherwise kept in the datasets cache, keyed by the settings)."""
    from dataset_builder.builder import build_dataset

    dataset = build_dataset(
        source="demo", per_class=per_class, eval_per_class=eval_per_class, agreement=agreement, seed=seed,
        image_size=image_size, face_variation=face_variation, output_dir=output_dir,
    )
    return check_dataset(dataset, where="the demo dataset")


def load_training_data(data_args, seed: int = 0) -> DatasetDict:
    """`data_args.dataset_dir` when set, else the demo dataset built with the `demo_*` settings."""
    if data_args.dataset_dir:
        dataset = load_dataset_dir(data_args.dataset_dir)
    else:
        logger.info(
            f"no dataset_dir: building the demo dataset ({data_args.demo_per_class} faces per class, text agreement "
            f"{data_args.demo_agreement})"
        )
        dataset = build_demo_dataset(
            data_args.demo_per_class, data_args.demo_agreement, seed, data_args.demo_image_size,
            eval_per_class=data_args.demo_eval_per_class, face_variation=data_args.demo_face_variation,
        )
    columns = (data_args.image_column, data_args.text_column, data_args.label_column)
    return check_dataset(dataset, columns, where=data_args.dataset_dir or "the demo dataset")


@dataclass
class RunSplits:
    """The splits a run uses: `train` (with `--do_train`), `eval` (evaluation and calibration) and `test`
    (`--do_predict`); `None` where the run has none."""

    train: datasets.Dataset | None
    eval: datasets.Dataset | None
    test: datasets.Dataset | None


def _first(split, count: int | None):
    return split.select(range(min(count, len(split)))) if split is not None and count is not None else split


def select_splits(dataset: DatasetDict, data_args, training_args) -> RunSplits:
    """The run's splits, truncated to `max_train_samples` / `max_eval_samples`; a split the run needs but the
    dataset lacks is an error naming it."""
    needs_eval = training_args.do_eval or training_args.eval_strategy != "no"
    if needs_eval and data_args.eval_split not in dataset:
        raise ValueError(f"Evaluation needs a `{data_args.eval_split}` split; the dataset has {list(dataset)}.")
    if training_args.do_predict and data_args.test_split not in dataset:
        raise ValueError(f"--do_predict needs a `{data_args.test_split}` split; the dataset has {list(dataset)}.")
    train = dataset[data_args.train_split] if training_args.do_train else None
    return RunSplits(
        train=_first(train, data_args.max_train_samples),
        eval=_first(dataset.get(data_args.eval_split), data_args.max_eval_samples),
        test=_first(dataset.get(data_args.test_split), data_args.max_eval_samples),
    )


def text_label_column_of(data_args, train_split) -> str | None:
    """The column the text-only head learns from: `text_label_column` when the training split has it."""
    column = data_args.text_label_column
    if column and train_split is not None and column not in train_split.column_names:
        return None
    if column:
        logger.info(f"the text-only head learns `{column}`, the emotion each text expresses")
    return column


def with_transforms(splits: RunSplits, processor, data_args, seed: int) -> RunSplits:
    """The splits as the Trainer reads them: training rows augmented from `(seed, epoch, row)` alone (carrying their
    row's position with `row_audit_dir`), evaluation rows as inference sees them."""
    image_processor = processor.image_processor
    columns = {
        "join_turns": processor.join_turns, "image_column": data_args.image_column,
        "text_column": data_args.text_column, "label_column": data_args.label_column,
    }
    train_augmentation = build_train_augmentation(image_processor, data_args.augmentation_strength)
    text_label_column = text_label_column_of(data_args, splits.train)
    train_transform = FaceDialogueTransform(image_processor, train_augmentation,
                                            text_label_column=text_label_column, **columns)
    eval_transform = FaceDialogueTransform(image_processor, build_eval_augmentation(image_processor), **columns)
    train = None
    if splits.train is not None:
        train = SeededAugmentedDataset(splits.train, train_transform, seed=seed,
                                       with_row_index=bool(data_args.row_audit_dir))
    return RunSplits(
        train=train,
        eval=splits.eval.with_transform(eval_transform) if splits.eval is not None else None,
        test=splits.test.with_transform(eval_transform) if splits.test is not None else None,
    )


__all__ = [
    "RunSplits",
    "build_demo_dataset",
    "check_dataset",
    "load_dataset_dir",
    "load_training_data",
    "select_splits",
    "text_label_column_of",
    "with_transforms",
]
