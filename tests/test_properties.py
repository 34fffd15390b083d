"""Property-based tests: the processor on random images (sizes, modes, dtypes, layouts) and random unicode texts and
turn lists, and the dialogue generator on random seeds, labels and keys."""

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from transformers.image_utils import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD

from dataset_builder.dialogues import SPLITS, DialogueGenerator, template_bank
from emotifusion_hf.configuration_emotifusion import EMOTIONS

from conftest import TINY_IMAGE_SIZE


# Modest budgets: the suite must stay fast; the processor fixture is shared, not rebuilt per example.
PROPERTY_SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)

# ---------------------------------------------------------------------------------------------------------------
# Strategies: images
# ---------------------------------------------------------------------------------------------------------------

PIL_MODES = ("RGB", "L", "RGBA", "LA", "P", "PA", "CMYK", "YCbCr", "I;16", "I", "F", "1")
ARRAY_DTYPES = (np.uint8, np.uint16, np.int32, np.int64, np.bool_, np.float16, np.float32, np.float64)
sides = st.integers(min_value=1, max_value=48)
seeds = st.integers(min_value=0, max_value=2**32 - 1)


@st.composite
def pil_images(draw):
    mode = draw(st.sampled_from(PIL_MODES))
    width, height = draw(sides), draw(sides)
    rng = np.random.default_rng(draw(seeds))
    if mode == "I;16":
        return Image.fromarray(rng.integers(0, 65536, (height, width), dtype=np.uint16))
    if mode == "F":
        return Image.fromarray(rng.random((height, width), dtype=np.float32) * draw(st.sampled_from([1.0, 255.0])))
    rgb = Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))
    return rgb.convert(mode)


@st.composite
def valid_arrays(draw):
    """Arrays in a documented layout, dtype and value range."""
    dtype = np.dtype(draw(st.sampled_from(ARRAY_DTYPES)))
    height, width = draw(sides), draw(sides)
    layout = draw(st.sampled_from(["HW", "HWC", "CHW", "1CHW"]))
    channels = draw(st.sampled_from([1, 3, 4]))
    shape = {"HW": (height, width), "HWC": (height, width, channels), "CHW": (channels, height, width),
             "1CHW": (1, channels, height, width)}[layout]
    rng = np.random.default_rng(draw(seeds))
    if dtype == np.bool_:
        return rng.random(shape) < 0.5
    if dtype.kind == "f":
        top = draw(st.sampled_from([1.0, 255.0]))
        return (rng.random(shape) * top).astype(dtype)
    top = 65536 if dtype == np.uint16 else 256
    return rng.integers(0, top, shape).astype(dtype)


@st.composite
def invalid_arrays(draw):
    """Arrays every one of which must be refused with a ValueError."""
    height, width = draw(sides), draw(sides)
    kind = draw(st.sampled_from(["two-channels", "five-dims", "nan", "inf", "negative-int", "normalised", "empty"]))
    if kind == "two-channels":
        # At least 5 rows: (1|3|4, W, 2) is a valid channels-first image of width 2.
        return np.zeros((height + 4, width, 2), dtype=np.uint8)
    if kind == "five-dims":
        return np.zeros((1, 1, 3, height, width), dtype=np.uint8)
    if kind in ("nan", "inf"):
        array = np.random.default_rng(draw(seeds)).random((height, width, 3))
        array[draw(st.integers(0, height - 1)), draw(st.integers(0, width - 1))] = np.nan if kind == "nan" else np.inf
        return array
    if kind == "negative-int":
        return np.full((height, width), -draw(st.integers(1, 1000)), dtype=np.int32)
    if kind == "normalised":
        return np.full((height, width, 3), -draw(st.floats(0.01, 3.0)), dtype=np.float32)
    return np.zeros((0, width, 3), dtype=np.uint8)


def as_tensor(array: np.ndarray):
    return torch.from_numpy(np.ascontiguousarray(array))


# (image, whether the processor must refuse it)
images = st.one_of(
    pil_images().map(lambda image: (image, False)),
    valid_arrays().map(lambda array: (array, False)),
    valid_arrays().filter(lambda array: array.dtype != np.uint16).map(lambda array: (as_tensor(array), False)),
    invalid_arrays().map(lambda array: (array, True)),
)

# ---------------------------------------------------------------------------------------------------------------
# Strategies: texts
# ---------------------------------------------------------------------------------------------------------------

# Any unicode, control characters and unusual whitespace included; a few lone surrogates mixed in.
unicode_text = st.text(max_size=60)
text_with_surrogates = st.text(
    alphabet=st.characters(codec=None, categories=("Cs", "Ll", "Zs")), min_size=1, max_size=8
)
text_samples = st.one_of(
    unicode_text,
    st.sampled_from(["", " ", "\t\n", "\u00a0\u3000", "hello", "😀", "\x00"]),
    st.lists(unicode_text, max_size=6),
    st.binary(max_size=30),
    text_with_surrogates,
)


def expected_text_error(sample):
    """The error the processor documents for one sample, or None when the sample is valid."""
    if isinstance(sample, bytes):
        try:
            sample = sample.decode("utf-8")
        except UnicodeDecodeError:
            return TypeError
    turns = [sample] if isinstance(sample, str) else sample
    if any(not _is_valid_unicode(turn) for turn in turns):
        return ValueError
    return None if any(turn.strip() for turn in turns) else ValueError


def _is_valid_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# ---------------------------------------------------------------------------------------------------------------
# Processor properties
# ---------------------------------------------------------------------------------------------------------------

MEAN, STD = np.asarray(IMAGENET_DEFAULT_MEAN), np.asarray(IMAGENET_DEFAULT_STD)
PIXEL_LOW, PIXEL_HIGH = float((-MEAN / STD).min()), float(((1 - MEAN) / STD).max())


def assert_valid_text_batch(batch, batch_size: int, tokenizer):
    input_ids, attention_mask = batch["input_ids"], batch["attention_mask"]
    assert input_ids.shape == attention_mask.shape and input_ids.shape[0] == batch_size
    assert 2 <= input_ids.shape[1] <= 128
    assert set(attention_mask.unique().tolist()) <= {0, 1}
    # Padding is on the right: each mask row is ones then zeros, and padded positions hold the pad token.
    assert (attention_mask[:, 1:] <= attention_mask[:, :-1]).all()
    assert (input_ids[attention_mask == 0] == tokenizer.pad_token_id).all()
    lengths = attention_mask.sum(dim=1)
    assert (lengths >= 2).all() and lengths.max() == input_ids.shape[1]
    assert (input_ids[:, 0] == tokenizer.cls_token_id).all()
    assert (input_ids[torch.arange(batch_size), lengths - 1] == tokenizer.sep_token_id).all()
    assert (batch["token_type_ids"] == 0).all()


def assert_valid_pixels(pixel_values, batch_size: int):
    assert pixel_values.shape == (batch_size, 3, TINY_IMAGE_SIZE, TINY_IMAGE_SIZE)
    assert pixel_values.dtype == torch.float32 and torch.isfinite(pixel_values).all()
    assert pixel_values.min() >= PIXEL_LOW - 1e-4 and pixel_values.max() <= PIXEL_HIGH + 1e-4


@PROPERTY_SETTINGS
@given(st.lists(images, min_size=1, max_size=4))
def test_image_processor_gives_finite_pixels_or_a_documented_error(processor, drawn):
    samples = [image for image, _ in drawn]
    must_refuse = any(refused for _, refused in drawn)
    if must_refuse:
        with pytest.raises(ValueError):
            processor(images=samples)
        return
    assert_valid_pixels(processor(images=samples)["pixel_values"], len(samples))


@PROPERTY_SETTINGS
@given(st.lists(text_samples, min_size=1, max_size=5))
def test_processor_texts_give_consistent_batches_or_a_documented_error(processor, samples):
    expected = next((error for error in map(expected_text_error, samples) if error is not None), None)
    if expected is not None:
        with pytest.raises(expected):
            processor(text=samples)
        return
    assert_valid_text_batch(processor(text=samples), len(samples), processor.tokenizer)


@PROPERTY_SETTINGS
@given(st.lists(st.tuples(pil_images(), st.one_of(unicode_text, st.lists(unicode_text, max_size=4))), min_size=1,
                max_size=4))
def test_processor_pairs_keep_the_batch_size(processor, pairs):
    images_, texts = [image for image, _ in pairs], [text for _, text in pairs]
    if any(expected_text_error(text) is not None for text in texts):
        with pytest.raises(ValueError):
            processor(images=images_, text=texts)
        return
    batch = processor(images=images_, text=texts)
    assert_valid_pixels(batch["pixel_values"], len(pairs))
    assert_valid_text_batch(batch, len(pairs), processor.tokenizer)


# ---------------------------------------------------------------------------------------------------------------
# Dialogue generator properties
# ---------------------------------------------------------------------------------------------------------------

TEMPLATE_IDS_BY_SPLIT = template_bank().ids_by_split()
labels = st.one_of(st.integers(min_value=0, max_value=len(EMOTIONS) - 1), st.sampled_from(EMOTIONS))
keys = st.one_of(st.integers(), st.text(max_size=40))


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(min_value=-(2**63), max_value=2**63), label=labels, key=keys, split=st.sampled_from(SPLITS))
def test_dialogues_are_well_formed_deterministic_and_split_pure(seed, label, key, split):
    dialogue = DialogueGenerator(split=split, seed=seed).generate(label, key=key)
    again = DialogueGenerator(split=split, seed=seed).generate(label, key=key)
    assert dialogue == again

    assert 1 <= len(dialogue.turns) <= 6
    assert all(isinstance(turn, str) and turn.strip() for turn in dialogue.turns)
    assert len(dialogue.speakers) == len(dialogue.turns) and dialogue.focal_speaker in dialogue.speakers
    assert 0 <= dialogue.text_label < len(EMOTIONS)
    assert dialogue.text_label == (label if isinstance(label, int) else EMOTIONS.index(label))
    assert dialogue.template_ids and set(dialogue.template_ids) <= TEMPLATE_IDS_BY_SPLIT[split]
    assert dialogue.split == split and dialogue.text == "\n".join(dialogue.turns)


@settings(max_examples=25, deadline=None)
@given(label=st.one_of(st.integers().filter(lambda value: not 0 <= value < len(EMOTIONS)),
                       st.text(max_size=12).filter(lambda name: name not in EMOTIONS)))
def test_dialogue_labels_outside_the_eight_emotions_are_refused(label):
    with pytest.raises(ValueError, match="Unknown emotion|out of range"):
        DialogueGenerator(split="train", seed=0).generate(label, key=0)
