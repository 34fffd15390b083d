
import numpy as np
import pytest
import torch
from conftest import TINY_IMAGE_SIZE, assert_distribution
from PIL import Image

from emotifusion_hf import EmotiFusionProcessor
from emotifusion_hf.processing_emotifusion import normalize_texts


def _faces(count):
    rng = np.random.default_rng(0)
    return [Image.fromarray(rng.integers(0, 255, (40, 30, 3), dtype=np.uint8)) for _ in range(count)]


def test_contract_call(processor):
    batch = processor(images=_faces(2), text=["Hi.", ["You're late.", "Sorry, the bus."]], return_tensors="pt", padding=True)
    assert batch["pixel_values"].shape == (2, 3, TINY_IMAGE_SIZE, TINY_IMAGE_SIZE)
    assert batch["input_ids"].shape[0] == 2 and batch["attention_mask"].shape == batch["input_ids"].shape
    assert "token_type_ids" in batch


def test_flat_list_of_strings_is_a_batch_and_dialogues_join_with_sep(processor):
    samples, batched = normalize_texts(["a", "b", "c"])
    assert batched and samples == ["a", "b", "c"]
    samples, batched = normalize_texts(["Hi.", ["You're late.", "Sorry, the bus."]])
    assert samples == ["Hi.", ["You're late.", "Sorry, the bus."]]
    batch = processor(text=["Hi.", ["You're late.", "Sorry, the bus."]])
    decoded = processor.batch_decode(batch["input_ids"], skip_special_tokens=False)
    assert decoded[1].count("[SEP]") == 2  # the turn boundary and the end of the sequence
    assert decoded[0].count("[SEP]") == 1


def test_single_string_is_one_sample(processor):
    batch = processor(text="I can't believe you did that")
    assert batch["input_ids"].shape[0] == 1


def test_dynamic_padding_and_truncation(processor):
    short = processor(text=["hi", "hello there"])
    assert short["input_ids"].shape[1] == 4  # [CLS] hello there [SEP]: padded to the longest, not to 128
    assert short["attention_mask"][0].tolist() == [1, 1, 1, 0]
    long = processor(text=["word " * 500])
    assert long["input_ids"].shape[1] == 128
    assert processor(text=["word " * 500], max_length=16)["input_ids"].shape[1] == 16


@pytest.mark.parametrize(
    "text, error, message",
    [
        ("", ValueError, "empty or blank"),
        ("   \n", ValueError, "empty or blank"),
        (["ok", ""], ValueError, r"text\[1\]"),
        (["ok", ["", "  "]], ValueError, "no non-blank turn"),
        ([], ValueError, "empty list"),
        (42, TypeError, "int"),
        (["ok", 3], TypeError, r"text\[1\]"),
        ([["ok", None]], TypeError, r"text\[0\]\[1\]"),
    ],
)
def test_bad_text_is_a_clear_error(processor, text, error, message):
    with pytest.raises(error, match=message):
        processor(text=text)


def test_blank_turns_inside_a_dialogue_are_dropped(processor):
    with_blank = processor(text=[["You're late.", "", "Sorry."]])["input_ids"]
    without = processor(text=[["You're late.", "Sorry."]])["input_ids"]
    assert torch.equal(with_blank, without)


def test_count_mismatch_and_no_input(processor):
    with pytest.raises(ValueError, match="2 images but 3 texts"):
        processor(images=_faces(2), text=["a", "b", "c"])
    with pytest.raises(ValueError, match="neither"):
        processor()


def test_images_only_and_text_only(processor):
    assert set(processor(images=_faces(1))) == {"pixel_values"}
    assert "pixel_values" not in processor(text="hello")


def test_processor_feeds_the_model(processor, tiny_model):
    batch = processor(images=_faces(2), text=["I am so happy today!", ["Where were you?", "Stuck in traffic."]])
    logits = tiny_model(**batch).logits
    assert logits.shape == (2, 8) and torch.isfinite(logits).all()


def test_save_and_load(tmp_path, processor):
    processor.save_pretrained(tmp_path)
    loaded = EmotiFusionProcessor.from_pretrained(tmp_path)
    assert loaded.max_length == processor.max_length
    assert loaded.image_processor.size == processor.image_processor.size
    text = ["Hi.", ["You're late.", "Sorry, the bus."]]
    torch.testing.assert_close(loaded(text=text)["input_ids"], processor(text=text)["input_ids"])


def test_dataset_columns_are_batches(processor):
    import datasets

    faces = _faces(3)
    dialogues = [["You're late.", "Sorry."], ["Hi."], ["What a day!"]]
    dataset = datasets.Dataset.from_dict({"image": faces, "text": dialogues}).cast_column("image", datasets.Image())
    from_columns = processor(images=dataset["image"], text=dataset["text"], return_tensors="pt")
    from_lists = processor(images=list(dataset["image"]), text=list(dataset["text"]), return_tensors="pt")
    assert from_columns["pixel_values"].shape == (3, 3, TINY_IMAGE_SIZE, TINY_IMAGE_SIZE)
    for key in from_lists:
        assert torch.equal(from_columns[key], from_lists[key]), key


# ---------------------------------------------------------------------------------------------------------------
# Texts
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["", "   ", "\t\n\r\x0b\x0c", "\u00a0\u2003\u3000"],
    ids=["empty", "spaces", "ascii-whitespace", "unicode-spaces"],
)
def test_empty_and_whitespace_only_texts_are_errors(processor, tiny_pipe, text):
    with pytest.raises(ValueError, match="empty or blank"):
        processor(text=text)
    with pytest.raises(ValueError, match="input 0 text.*empty or blank"):
        tiny_pipe({"text": text})


def test_huge_texts_and_dialogues_are_truncated(processor, tiny_pipe):
    # One 100k-character "word" is a single unknown token; 100k characters of words are cut at 128 tokens.
    unknown_word = processor(text="a" * 100_000)["input_ids"]
    assert unknown_word.tolist() == [[processor.tokenizer.cls_token_id, processor.tokenizer.unk_token_id,
                                      processor.tokenizer.sep_token_id]]
    assert processor(text="word " * 20_000)["input_ids"].shape == (1, 128)
    assert processor(text=[["turn"] * 20_000])["input_ids"].shape == (1, 128)
    assert_distribution(tiny_pipe({"text": "x " * 50_000}))


@pytest.mark.parametrize(
    "text",
    [
        "bell\x07 escape\x1b[31m red", "nul\x00byte", "\x00\x00", "I'm so happy 😀🎉", "مرحبا، كيف حالك؟",
        "\u202eevil\u202c", "zero\u200bwidth", "\u200b", "e\u0301\u0301\u0301",
    ],
    ids=["control", "nul", "only-nul", "emoji", "rtl", "bidi-override", "zero-width", "only-zero-width", "combining"],
)
def test_unusual_characters_give_finite_scores(processor, tiny_pipe, text):
    batch = processor(text=text)
    assert batch["input_ids"].shape[0] == 1 and batch["attention_mask"].sum() >= 2
    assert_distribution(tiny_pipe({"text": text}))
    assert_distribution(tiny_pipe({"text": [text, "ok."]}))


@pytest.mark.parametrize(
    "text, error, message",
    [
        (42, TypeError, "got int"),
        (float("nan"), TypeError, "got float"),
        (True, TypeError, "got bool"),
        (["fine", None], TypeError, r"text\[1\].*NoneType"),
        ({"text": "hi"}, TypeError, "got dict"),
        ({"hi"}, TypeError, "got set"),
        (np.array(["a", "b"]), TypeError, "got ndarray"),
        ([["a", 3]], TypeError, r"text\[0\]\[1\].*int"),
        ([[["too", "deep"]]], TypeError, r"text\[0\]\[0\].*list"),
        (b"\xff\xfe caf\xe9", TypeError, "not valid UTF-8"),
        ([[b"ok", b"\xc3"]], TypeError, r"text\[0\]\[1\].*not valid UTF-8"),
        ("lone \ud800 surrogate", ValueError, "not valid Unicode"),
        ([], ValueError, "empty list"),
        ([["", "  ", "\n"]], ValueError, "no non-blank turn"),
        ([[]], ValueError, "no non-blank turn"),
    ],
    ids=[
        "int", "nan-float", "bool", "none-in-list", "dict", "set", "numpy-strings", "int-turn", "nested-too-deep",
        "non-utf8-bytes", "non-utf8-bytes-turn", "lone-surrogate", "empty-batch", "all-turns-blank", "no-turns",
    ],
)
def test_invalid_texts_are_clear_errors(processor, text, error, message):
    with pytest.raises(error, match=message):
        processor(text=text)


def test_utf8_bytes_are_decoded_like_strings(processor, tiny_pipe):
    as_text = processor(text=["café au lait", ["You're late.", "Sorry."]])["input_ids"]
    as_bytes = processor(text=["café au lait".encode(), [b"You're late.", bytearray(b"Sorry.")]])["input_ids"]
    assert torch.equal(as_text, as_bytes)
    assert tiny_pipe({"text": "café"}) == tiny_pipe({"text": "café".encode()})
    with pytest.raises(TypeError, match="input 0 text.*not valid UTF-8"):
        tiny_pipe({"text": b"\xe9t\xe9"})


def test_empty_turns_are_dropped_from_dialogues(processor, tiny_pipe):
    with_blanks = processor(text=[["", "You're late.", "  ", "Sorry, the bus.", "\n"]])["input_ids"]
    without = processor(text=[["You're late.", "Sorry, the bus."]])["input_ids"]
    assert torch.equal(with_blanks, without)
    dialogue = ["You're late.", "Sorry, the bus."]
    assert tiny_pipe({"text": ["", dialogue[0], " ", dialogue[1]]}) == tiny_pipe({"text": dialogue})
