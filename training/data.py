"""Loading the merged face + dialogue dataset for training and evaluation, and building the demo one on the fly."""

import logging
import os

import datasets
from datasets import DatasetDict

from emotifusion_hf import EMOTIONS


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
                       output_dir=None, face_variation: float = 1.0) -> DatasetDict:
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


__all__ = ["build_demo_dataset", "check_dataset", "load_dataset_dir", "load_training_data"]
