"""Processor for EmotiFusion: the image processor and a BERT tokenizer behind one call."""

from collections.abc import Sequence

from transformers.image_processing_utils import BatchFeature
from transformers.processing_utils import ProcessorMixin

# Checking texts needs no transformers: it lives in `inputs`, shared with the ONNX runtime.
from .inputs import check_text_sample, join_turns, normalize_texts


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
        return join_turns(sample, self.tokenizer.sep_token)

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
