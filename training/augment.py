"""Image augmentation (albumentations) and the on-the-fly dataset transform + collator used for training.

This is the only module that imports albumentations. Faces are first loaded, face-cropped and resized by the
model's own `EmotiFusionImageProcessor.prepare_image`, so evaluation sees exactly the pixels inference sees; the
training pipeline then perturbs them. Text is tokenised per batch in the collator, padded to the longest sample.
"""

import os

# albumentations checks PyPI for a newer version on import unless told not to; training must stay offline.
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import albumentations as A  # noqa: E402
import cv2  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from emotifusion_hf import EmotiFusionImageProcessor, EmotiFusionProcessor  # noqa: E402


def _image_size(image_processor: EmotiFusionImageProcessor) -> tuple[int, int]:
    return image_processor.size["height"], image_processor.size["width"]


def _normalize(image_processor: EmotiFusionImageProcessor) -> A.Normalize:
    """The image processor's rescale + normalisation, as an albumentations step (same arithmetic, same result)."""
    max_pixel_value = 1.0 / image_processor.rescale_factor if image_processor.do_rescale else 1.0
    if not image_processor.do_normalize:
        return A.Normalize(mean=0.0, std=1.0, max_pixel_value=max_pixel_value)
    return A.Normalize(mean=image_processor.image_mean, std=image_processor.image_std, max_pixel_value=max_pixel_value)


def build_train_augmentation(image_processor: EmotiFusionImageProcessor, strength: float = 1.0) -> A.Compose:
    """Random resized crop, horizontal flip, small rotation, colour jitter and occlusion, then normalisation.

    `strength` in [0, 1] scales every perturbation (0 keeps only the normalisation): small images and short
    schedules learn faster from milder augmentation.
    """
    if not 0.0 <= strength <= 1.0:
        raise ValueError(f"Augmentation `strength` must be in [0, 1], got {strength!r}.")
    height, width = _image_size(image_processor)
    jitter = 0.3 * strength
    return A.Compose(
        [
            # Faces stay mostly in frame: crops keep 75-100% of the area (at full strength).
            A.RandomResizedCrop(size=(height, width), scale=(1.0 - 0.25 * strength, 1.0), ratio=(0.9, 1.1), p=strength),
            # A mirrored face shows the same emotion (contempt's one-sided lip corner is one-sided either way).
            A.HorizontalFlip(p=0.5),
            A.Rotate(limit=15 * strength, border_mode=cv2.BORDER_REFLECT_101, p=0.5 * strength),
            A.ColorJitter(brightness=jitter, contrast=jitter, saturation=jitter, hue=0.03 * strength, p=0.8 * strength),
            # Occlusion (hands, glasses, hair): the model must not hinge on a single facial region.
            A.CoarseDropout(
                num_holes_range=(1, 2), hole_height_range=(0.1, 0.25), hole_width_range=(0.1, 0.25), fill=0,
                p=0.5 * strength,
            ),
            _normalize(image_processor),
        ]
    )


def build_eval_augmentation(image_processor: EmotiFusionImageProcessor) -> A.Compose:
    """Evaluation: the processor's resize (applied in `prepare_image`, as at inference) and its normalisation."""
    height, width = _image_size(image_processor)
    return A.Compose([A.Resize(height, width, interpolation=cv2.INTER_LINEAR, p=1.0), _normalize(image_processor)])


# AffectNet's code for "valence/arousal not annotated".
AFFECT_NOT_ANNOTATED = -2.0
# The key under which a training sample carries its row's position in the split, when asked to
# (`SeededAugmentedDataset(with_row_index=True)`): the collator passes it on, the trainer takes it out of the batch.
ROW_INDEX = "row_index"


def affect_value(value, column: str) -> float:
    """A valence or arousal cell as a float in [-1, 1], or NaN where it is not annotated (None, NaN or -2)."""
    if value is None:
        return float("nan")
    value = float(value)
    if np.isnan(value) or value == AFFECT_NOT_ANNOTATED:
        return float("nan")
    if not -1.0 <= value <= 1.0:
        raise ValueError(f"Column `{column}` holds {value!r}; valence/arousal must be in [-1, 1] (-2: not annotated).")
    return value


class FaceDialogueTransform:
    """A `Dataset.set_transform` / `with_transform` callable: rows -> `pixel_values`, `text`, `labels` and
    `valence_arousal_labels` (NaN where the dataset has no valence/arousal for a face, or no such columns).

    Decoding and augmentation run lazily, per accessed batch, so every epoch sees fresh augmentations and nothing
    is cached. The text is passed through untouched (a string, or a dialogue's turns joined by the processor) and is
    tokenised by `FaceDialogueCollator`.
    """

    def __init__(
        self,
        image_processor: EmotiFusionImageProcessor,
        augmentation: A.Compose,
        join_turns=None,
        image_column: str = "image",
        text_column: str = "text",
        label_column: str = "label",
        face_box_column: str | None = None,
        text_label_column: str | None = None,
        valence_column: str = "valence",
        arousal_column: str = "arousal",
    ):
        self.image_processor = image_processor
        self.augmentation = augmentation
        self.join_turns = join_turns
        self.image_column = image_column
        self.text_column = text_column
        self.label_column = label_column
        # Datasets from `dataset_builder` store the face crop itself (their `face_box` says where it was cut from in
        # the source photo), so nothing is cropped by default; name a column only for uncropped images with boxes.
        self.face_box_column = face_box_column
        # The emotion each text expresses, when the dataset records it: it supervises the text-only head.
        self.text_label_column = text_label_column
        self.valence_column = valence_column
        self.arousal_column = arousal_column

    def _text(self, sample):
        if sample is None:
            return None
        if not isinstance(sample, str):
            if self.join_turns is None:
                raise TypeError(f"Column `{self.text_column}` holds dialogues (lists of turns); pass `join_turns`.")
            sample = self.join_turns([turn for turn in sample if turn and turn.strip()]) if sample else ""
        return sample if sample.strip() else None

    def __call__(self, batch: dict, seeds: list[int] | None = None) -> dict:
        """Transform a batch of rows (a dict of columns). With `seeds`, sample i is augmented from `seeds[i]` alone;
        without, from albumentations' own random state."""
        for column in (self.image_column, self.text_column, self.label_column):
            if column not in batch:
                raise KeyError(f"The dataset has no `{column}` column (it has {sorted(batch)}).")
        images = batch[self.image_column]
        face_boxes = batch.get(self.face_box_column) if self.face_box_column else None
        if face_boxes is None:
            face_boxes = [None] * len(images)
        pixel_values = []
        for position, (image, face_box) in enumerate(zip(images, face_boxes)):
            array = self.image_processor.prepare_image(image, face_box=face_box or None)
            if seeds is not None:
                self.augmentation.set_random_seed(seeds[position])
            augmented = self.augmentation(image=array)["image"]
            pixel_values.append(np.ascontiguousarray(augmented.transpose(2, 0, 1), dtype=np.float32))
        transformed = {
            "pixel_values": pixel_values,
            "text": [self._text(sample) for sample in batch[self.text_column]],
            "labels": [int(label) for label in batch[self.label_column]],
        }
        if self.text_label_column is not None:
            if self.text_label_column not in batch:
                raise KeyError(f"The dataset has no `{self.text_label_column}` column (it has {sorted(batch)}).")
            transformed["text_labels"] = [int(label) for label in batch[self.text_label_column]]
        transformed["valence_arousal_labels"] = self._affect(batch, len(images))
        return transformed

    def _affect(self, batch: dict, count: int) -> list[list[float]]:
        """Valence and arousal per row; a dataset without the columns (dialogue-only data, say) has none: NaN."""
        missing = [float("nan")] * count
        valence = batch.get(self.valence_column, missing)
        arousal = batch.get(self.arousal_column, missing)
        return [[affect_value(v, self.valence_column), affect_value(a, self.arousal_column)]
                for v, a in zip(valence, arousal)]


class SeededAugmentedDataset(torch.utils.data.Dataset):
    """A `datasets` split served to the DataLoader through a `FaceDialogueTransform`, each row augmented with
    randomness drawn from `(seed, epoch, row index)` alone.

    albumentations keeps a random state of its own, seeded from the OS, so a plain `with_transform` split augments
    differently on every run, and a run resumed from a checkpoint cannot replay the augmentations of the unbroken
    run. Seeding per row fixes both, whatever the number of DataLoader workers (persistent ones included: the epoch
    lives in shared memory) or processes. Call `set_epoch` at the start of every epoch (`training.train` does,
    from a callback).

    With `with_row_index`, each sample also carries its row's position in `split` under `ROW_INDEX` (for
    `training.row_audit`).
    """

    def __init__(self, split, transform: FaceDialogueTransform, seed: int = 0, with_row_index: bool = False):
        self.split = split
        self.transform = transform
        self.seed = seed
        self.with_row_index = with_row_index
        self._epoch = torch.zeros((), dtype=torch.int64).share_memory_()

    def set_epoch(self, epoch: int) -> None:
        self._epoch.fill_(int(epoch))

    @property
    def epoch(self) -> int:
        return int(self._epoch)

    def __len__(self) -> int:
        return len(self.split)

    def _seed(self, index: int) -> int:
        return int(np.random.SeedSequence((self.seed, self.epoch, index)).generate_state(1)[0])

    def __getitems__(self, indices: list[int]) -> list[dict]:
        indices = [int(index) for index in indices]
        batch = self.transform(self.split[indices], seeds=[self._seed(index) for index in indices])
        if self.with_row_index:
            batch[ROW_INDEX] = indices
        return [{column: values[position] for column, values in batch.items()} for position in range(len(indices))]

    def __getitem__(self, index: int) -> dict:
        return self.__getitems__([index])[0]


class FaceDialogueCollator:
    """Stacks `pixel_values` and labels and tokenises the texts of a batch, padding to its longest sample.

    A sample without text gets a placeholder token and `text_present=False`, so the model masks it out. Samples
    carrying their `ROW_INDEX` keep it in the batch, as a tensor.
    """

    def __init__(self, processor: EmotiFusionProcessor, max_length: int | None = None):
        self.processor = processor
        self.max_length = max_length

    def __call__(self, features: list[dict]) -> dict:
        if not features:
            raise ValueError("Cannot collate an empty batch.")
        texts = [feature.get("text") for feature in features]
        text_present = torch.tensor([text is not None for text in texts])
        placeholder = self.processor.tokenizer.unk_token or "."
        encoded = self.processor(
            text=[text if text is not None else placeholder for text in texts],
            return_tensors="pt",
            padding="longest",
            truncation=True,
            max_length=self.max_length,
        )
        batch = dict(encoded)
        batch["pixel_values"] = torch.stack(
            [torch.as_tensor(np.asarray(feature["pixel_values"])) for feature in features]
        )
        if not bool(text_present.all()):
            batch["text_present"] = text_present
        for key in ("labels", "text_labels", ROW_INDEX):
            if key in features[0]:
                batch[key] = torch.tensor([int(feature[key]) for feature in features], dtype=torch.long)
        if "valence_arousal_labels" in features[0]:
            # NaN marks a face without valence/arousal; the model leaves it out of that loss.
            batch["valence_arousal_labels"] = torch.tensor(
                [feature["valence_arousal_labels"] for feature in features], dtype=torch.float32
            ).reshape(len(features), 2)
        return batch


__all__ = [
    "ROW_INDEX",
    "FaceDialogueCollator",
    "FaceDialogueTransform",
    "SeededAugmentedDataset",
    "build_eval_augmentation",
    "build_train_augmentation",
]
