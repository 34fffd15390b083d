"""Processor for EmotiFusion: the image processor and a BERT tokenizer behind one call."""

from collections.abc import Sequence

from transformers.image_processing_utils import BatchFeature
from transformers.processing_utils import ProcessorMixin


def normalize_texts(text) -> tuple[list[str], bool]:
    """A sample or a batch of samples -> `(flat list of samples, was_batched)`.

    A sample is a string (UTF-8 bytes are decoded) or a dialogue given as a list of turns (strings). A batch is a
    list of samples, so a flat list of strings is a batch of single-turn samples and
    `["Hi.", ["You're late.", "Sorry."]]` is a batch of two. Blank turns inside a dialogue are dropped; a sample
    with no words left is an error.
    """
    if isinstance(text, (str, bytes, bytearray)):
        return [check_text_sample(text, "text")], False
    if not isinstance(text, Sequence) or isinstance(text, memoryview):  # a list, a tuple, a `datasets` column
        raise TypeError(f"`text` must be a string, a list of turns, or a list of those; got {type(text).__name__}.")
    if not text:
        raise ValueError("`text` is an empty list: pass at least one sample.")
    return [check_text_sample(sample, f"text[{index}]") for index, sample in enumerate(text)], True


def _as_text(value, where: str) -> str:
    """A string as it is, or UTF-8 bytes decoded; text that is not valid Unicode is an error naming `where`."""
    if isinstance(value, (bytes, bytearray)):
        try:
            value = bytes(value).decode("utf-8")
        except UnicodeDecodeError as error:
            raise TypeError(
                f"`{where}` is bytes that are not valid UTF-8 ({error.reason} at byte {error.start}); decode it to a "
                "string first."
            ) from None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as error:
        # Lone surrogates (from a lossy decode) cannot be tokenized.
        raise ValueError(
            f"`{where}` is not valid Unicode: {error.reason} at character {error.start} "
            f"({value[error.start:error.end]!r})."
        ) from None
    return value


def check_text_sample(sample, where: str):
    """One sample (a string or a list of string turns; UTF-8 bytes are decoded), checked; `where` names it in error
    messages."""
    if isinstance(sample, (str, bytes, bytearray)):
        sample = _as_text(sample, where)
        if not sample.strip():
            raise ValueError(f"`{where}` is empty or blank: give some words, or pass `text=None` for no text.")
        return sample
    if isinstance(sample, (list, tuple)):
        checked = []
        for turn_index, turn in enumerate(sample):
            if not isinstance(turn, (str, bytes, bytearray)):
                raise TypeError(f"`{where}[{turn_index}]` must be a string turn, got {type(turn).__name__}.")
            checked.append(_as_text(turn, f"{where}[{turn_index}]"))
        turns = [turn.strip() for turn in checked if turn.strip()]
        if not turns:
            raise ValueError(f"`{where}` is a dialogue with no non-blank turn.")
        return turns
    raise TypeError(f"`{where}` must be a string or a list of string turns, got {type(sample).__name__}.")


class EmotiFusionProcessor(ProcessorMixin):
    r"""
    Wraps an [`EmotiFusionImageProcessor`] and a BERT-family tokenizer.

    Args:
        image_processor ([`EmotiFusionImageProcessor`]): Prepares `pixel_values`.
        tokenizer ([`PreTrainedTokenizerBase`]): Prepares `input_ids`, `attention_mask`, `token_type_ids`.
        max_length (`int`, *optional*, defaults to 128): Default truncation length in tokens.
    """

    def __init__(self, image_processor=None, tokenizer=None, max_length: int = 128, **kwargs):
        super().__init__(image_processor, tokenizer, **kwargs)
        self.max_length = max_length

    def join_turns(self, sample) -> str:
        """A dialogue's turns joined with the tokenizer's separator token, so BERT sees the turn boundaries."""
        if isinstance(sample, str):
            return sample
        separator = self.tokenizer.sep_token or "\n"
        return f" {separator} ".join(sample)

    def __call__(
        self,
        images=None,
        text=None,
        face_boxes: Sequence | None = None,
        return_tensors: str | None = "pt",
        padding: bool | str = True,
        truncation: bool = True,
        max_length: int | None = None,
        **kwargs,
    ) -> BatchFeature:
        """
        Args:
            images: an image or a list of images (see [`EmotiFusionImageProcessor.preprocess`]), or `None`.
            text: a string, a dialogue (list of turns) inside a batch list, or a batch of those; or `None`.
            face_boxes: optional `(x, y, width, height)` per image.
            padding: tokenizer padding; `True` pads to the longest sample in the batch.
            truncation, max_length: tokenizer truncation (default `self.max_length` tokens).

        Returns:
            `BatchFeature` with `pixel_values` and/or `input_ids`, `attention_mask`, `token_type_ids`.
        """
        if images is None and text is None:
            raise ValueError("EmotiFusionProcessor needs `images`, `text`, or both; got neither.")
        data = {}
        if text is not None:
            samples, _ = normalize_texts(text)
            encoded = self.tokenizer(
                [self.join_turns(sample) for sample in samples],
                padding=padding,
                truncation=truncation,
                max_length=max_length or self.max_length,
                return_tensors=return_tensors,
                **kwargs,
            )
            data.update(encoded)
        if images is not None:
            image_features = self.image_processor(images, face_boxes=face_boxes, return_tensors=return_tensors)
            if text is not None and len(image_features["pixel_values"]) != len(data["input_ids"]):
                raise ValueError(
                    f"Got {len(image_features['pixel_values'])} images but {len(data['input_ids'])} texts; "
                    "pass one text per image (a dialogue is one list of turns inside the batch list)."
                )
            data.update(image_features)
        return BatchFeature(data=data, tensor_type=return_tensors)

    def batch_decode(self, *args, **kwargs):
        return self.tokenizer.batch_decode(*args, **kwargs)

    def decode(self, *args, **kwargs):
        return self.tokenizer.decode(*args, **kwargs)

    @property
    def model_input_names(self):
        return list(dict.fromkeys(self.tokenizer.model_input_names + self.image_processor.model_input_names))


__all__ = ["EmotiFusionProcessor", "check_text_sample", "normalize_texts"]
