"""Explanations: the model's attention weights on request, the pipeline's `return_explanation`, the PNG."""

import numpy as np
import pytest
import torch
from PIL import Image

from emotifusion_hf import EmotiFusionForEmotionClassification
from emotifusion_hf.explanation import highlighted_words, render_explanation
from emotifusion_hf.explanation_emotifusion import blurred_baseline, explain_batch, word_weights
from emotifusion_hf.pipeline_emotifusion import EmotionFusionPipeline, _face_region

from conftest import make_tiny_config, noise_pixels, tiny_text_config


METHODS = ("attention", "gradient", "integrated_gradients")
FACE = noise_pixels(50, 40)


def test_attention_weights_come_only_when_asked_and_change_nothing(tiny_model, tiny_batch):
    with torch.no_grad():
        plain = tiny_model(**tiny_batch)
        explained = tiny_model(**tiny_batch, output_attentions=True)
    assert plain.spatial_attention is None and plain.text_to_image_attentions is None
    torch.testing.assert_close(explained.logits, plain.logits, atol=1e-5, rtol=1e-5)
    cells = explained.spatial_attention.shape[-2] * explained.spatial_attention.shape[-1]
    assert explained.spatial_attention.shape == (3, 2, 2) and bool((explained.spatial_attention >= 0).all())
    assert explained.text_to_image_attentions.shape == (3, 4, 9, cells)
    image_to_text = explained.image_to_text_attentions
    assert image_to_text.shape == (3, 4, cells, 9)
    torch.testing.assert_close(image_to_text.sum(-1), torch.ones(3, 4, cells))
    assert float(image_to_text[1, ..., 6:].abs().max()) == 0.0  # padding is never attended to


@pytest.fixture(scope="module")
def pipe(tiny_pipe):
    return tiny_pipe


@pytest.mark.parametrize("method", METHODS)
def test_explanation_contract_with_either_modality_missing_in_one_batch(pipe, method):
    inputs = [
        {"image": FACE, "text": ["Seriously? You ate my cake?", "I can't believe it."]},
        {"image": None, "text": "What a lovely surprise!"},
        {"image": FACE, "text": None},
    ]
    both, text_only, image_only = pipe(inputs, batch_size=3, return_explanation=True, explanation_method=method)
    for result in (both, text_only, image_only):
        assert result["explanation"]["method"] == method and result["explanation"]["face_box"] is None
        assert len(result["scores"]) == 8
    face = np.asarray(both["explanation"]["face"])
    assert face.shape == (50, 40) and face.min() >= 0.0 and face.max() <= 1.0 and face.max() == pytest.approx(1.0)
    words = both["explanation"]["tokens"]
    # Word pieces and the punctuation attached to a word are merged; [CLS] and the turns' [SEP] are dropped.
    assert [word for word, _ in words] == ["Seriously?", "You", "ate", "my", "cake?", "I", "can't", "believe", "it."]
    weights = [weight for _, weight in words]
    assert min(weights) >= 0.0 and max(weights) == pytest.approx(1.0)
    assert text_only["explanation"]["face"] is None
    assert [word for word, _ in text_only["explanation"]["tokens"]] == ["What", "a", "lovely", "surprise!"]
    assert image_only["explanation"]["tokens"] == [] and np.asarray(image_only["explanation"]["face"]).shape == (50, 40)


@pytest.mark.parametrize("method", ["attention", "gradient"])
def test_a_row_is_explained_the_same_alone_and_in_a_batch(pipe, method):
    rows = [{"image": noise_pixels(seed=seed), "text": text}
            for seed, text in enumerate(["You're late.", "Oh no, not again. I really hate Mondays."])]
    batched = pipe(rows, batch_size=2, return_explanation=True, explanation_method=method)
    for row, in_batch in zip(rows, batched):
        alone = pipe(row, return_explanation=True, explanation_method=method)["explanation"]
        np.testing.assert_allclose(alone["face"], in_batch["explanation"]["face"], atol=1e-3)
        assert [word for word, _ in alone["tokens"]] == [word for word, _ in in_batch["explanation"]["tokens"]]
        np.testing.assert_allclose([w for _, w in alone["tokens"]], [w for _, w in in_batch["explanation"]["tokens"]],
                                   atol=1e-3)


def test_explanations_cost_nothing_unless_asked_and_leave_no_hooks(pipe, monkeypatch):
    seen = []
    original = type(pipe.model).forward

    def recording(self, *args, **kwargs):
        seen.append(bool(kwargs.get("output_attentions")))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(type(pipe.model), "forward", recording)
    plain = pipe({"image": FACE, "text": "hello there"})
    assert isinstance(plain, list) and seen == [False]
    pipe({"image": FACE, "text": "hello there"}, return_explanation=True, explanation_method="integrated_gradients")
    assert not pipe.model.get_input_embeddings()._forward_hooks
    assert all(parameter.grad is None for parameter in pipe.model.parameters())


@pytest.mark.parametrize("method", ["gradient", "integrated_gradients"])
def test_gradient_map_follows_the_pixels_that_matter(tiny_checkpoint, method):
    """A model whose image evidence reads only the left half of the face: the gradient heat lies there."""
    pipe = EmotionFusionPipeline(model=EmotiFusionForEmotionClassification.from_pretrained(tiny_checkpoint),
                                 processor=__import__("transformers").AutoProcessor.from_pretrained(tiny_checkpoint),
                                 device="cpu")
    half = pipe.model.config.image_size // 2

    def left_half_only(module, args):
        pixels = args[0].clone()
        pixels[..., half:] = 0.0
        return (pixels,)

    pipe.model.emotifusion.vision_model.register_forward_pre_hook(left_half_only)
    face = np.asarray(pipe({"image": noise_pixels(64, 64), "text": None}, return_explanation=True,
                           explanation_method=method)["explanation"]["face"])
    assert face[:, :28].mean() > 5 * face[:, 36:].mean()


def test_integrated_gradients_start_from_the_blurred_face(tiny_model, tiny_batch):
    """The baseline keeps a face's colours and drops its fine shapes: a face of one flat colour is its own baseline,
    so integrated gradients find nothing in it to credit, while gradient x input (from the mean colour) do."""
    checker = torch.zeros(1, 3, 32, 32)
    checker[..., ::2, ::2] = checker[..., 1::2, 1::2] = 2.0
    assert blurred_baseline(checker).std() < 0.2 * checker.std()
    flat = torch.full((1, 3, 32, 32), 0.7)
    assert torch.allclose(blurred_baseline(flat), flat)

    inputs = {**tiny_batch, "pixel_values": torch.full_like(tiny_batch["pixel_values"], 0.7)}
    _, integrated = explain_batch(tiny_model, inputs, "integrated_gradients", steps=4)
    _, gradient = explain_batch(tiny_model, inputs, "gradient")
    assert all(float(row["face"].abs().max()) < 1e-6 for row in integrated)
    assert all(float(row["face"].max()) > 0 for row in gradient)


def test_bad_explanation_arguments_are_named(pipe, tiny_checkpoint):
    with pytest.raises(ValueError, match="explanation_method.*one of"):
        pipe({"text": "hi"}, return_explanation=True, explanation_method="saliency")
    with pytest.raises(ValueError, match="return_explanation=True"):
        pipe({"text": "hi"}, explanation_method="gradient")
    concat = EmotionFusionPipeline(
        model=EmotiFusionForEmotionClassification(make_tiny_config(
            fusion="concat", text_config=tiny_text_config(pipe.processor.tokenizer.vocab_size))),
        processor=pipe.processor, device="cpu")
    with pytest.raises(ValueError, match="concat"):
        concat({"text": "hi"}, return_explanation=True, explanation_method="attention")
    assert concat({"text": "hi there"}, return_explanation=True)["explanation"]["method"] == "gradient"


def test_face_region_is_the_crop_the_processor_cuts(pipe):
    image = Image.new("RGB", (200, 120))
    region = _face_region(image, (50, 20, 60, 40), pipe.processor.image_processor)
    margin = pipe.processor.image_processor.face_margin
    assert region["cropped"] and region["box"] == (round(50 - 60 * margin), round(20 - 40 * margin),
                                                   round(60 * (1 + 2 * margin)), round(40 * (1 + 2 * margin)))
    assert _face_region(image, None, pipe.processor.image_processor) == {"box": (0, 0, 200, 120), "cropped": False}


def test_word_weights_merge_pieces_and_sum_them(tokenizer):
    text = "Unbelievably rude [SEP] ok"
    ids = tokenizer(text)["input_ids"]
    tokens = tokenizer.convert_ids_to_tokens(ids)
    weights = torch.tensor([1.0 if token.startswith(("un", "##")) else 0.5 for token in tokens])
    words = word_weights(tokenizer, text, ids, weights)
    assert [word for word, _ in words] == ["Unbelievably", "rude", "ok"]
    pieces = sum(1 for token in tokens if token.startswith(("un", "##")))
    assert words[0][1] == pytest.approx(1.0) and words[1][1] == pytest.approx(0.5 / pieces)
    assert highlighted_words(words)[:3] == [("Unbelievably", 1.0), (" ", None), ("rude", round(0.5 / pieces, 3))]


def test_render_explanation_draws_face_and_words(pipe, tmp_path):
    result = pipe({"image": FACE, "text": "You ate my cake?"}, return_explanation=True)
    picture = render_explanation(result, image=FACE, path=tmp_path / "why.png")
    assert Image.open(tmp_path / "why.png").size == picture.size
    pixels = np.asarray(picture)
    assert (pixels[..., 0].astype(int) - pixels[..., 2]).max() > 100  # the highlighted words are orange
    with pytest.raises(ValueError, match="return_explanation"):
        render_explanation(result=pipe({"text": "hi"}))


def test_predict_command_writes_the_explanation_png(tiny_checkpoint, tmp_path, capsys):
    from emotifusion_hf.cli import main

    face = tmp_path / "face.png"
    Image.fromarray(noise_pixels(60, 50)).save(face)
    out = tmp_path / "why.png"
    code = main(["predict", "--model", tiny_checkpoint, "--image", str(face), "--text", "You're late. || Sorry.",
                 "--explain", str(out), "--explanation-method", "gradient"])
    assert code == 0 and Image.open(out).format == "PNG"
    assert "explanation (gradient) written to" in capsys.readouterr().err
    assert main(["predict", "--model", tiny_checkpoint, "--text", "hi", "--explain", str(tmp_path / "why.jpg")]) == 1
    assert "ending in .png" in capsys.readouterr().err
    assert main(["predict", "--model", tiny_checkpoint, "--text", "hi", "--explanation-method", "gradient"]) == 1
    assert "add --explain" in capsys.readouterr().err
