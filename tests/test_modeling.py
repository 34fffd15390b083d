import socket

import pytest
import timm
import torch
from safetensors.torch import save_file
from transformers import AutoModel, BertConfig, BertModel

from emotifusion_hf import (
    EmotiFusionClassifierOutput,
    EmotiFusionForEmotionClassification,
    EmotiFusionModel,
)

from conftest import TINY_IMAGE_SIZE, make_tiny_config, tiny_text_config


LABELS = torch.tensor([0, 3, 7])


@pytest.mark.parametrize("fusion", ["attention", "concat"])
def test_shapes_loss_and_backward(fusion, tiny_batch):
    torch.manual_seed(0)
    model = EmotiFusionForEmotionClassification(make_tiny_config(fusion=fusion)).train()
    outputs = model(**tiny_batch, labels=LABELS)
    assert isinstance(outputs, EmotiFusionClassifierOutput)
    for name in ("logits", "image_logits", "text_logits"):
        assert getattr(outputs, name).shape == (3, 8)
    for name in ("fused_embeds", "image_embeds", "text_embeds"):
        assert getattr(outputs, name).shape == (3, 32)
    assert outputs.loss.ndim == 0 and torch.isfinite(outputs.loss)
    outputs.loss.backward()
    # Every stream receives gradient: both trunks, BERT, the attention blocks, the fusion and the heads.
    for prefix in (
        "emotifusion.vision_model.trunks.0",
        "emotifusion.vision_model.trunks.1",
        "emotifusion.vision_model.channel_attention",
        "emotifusion.vision_model.spatial_attention",
        "emotifusion.text_model.bert",
        "emotifusion.fusion",
        "classifier",
    ):
        grads = [p.grad for name, p in model.named_parameters() if name.startswith(prefix)]
        assert grads and any(g is not None and g.abs().sum() > 0 for g in grads), prefix


def test_base_model_outputs_tokens(tiny_batch):
    model = EmotiFusionModel(make_tiny_config()).eval()
    outputs = model(**tiny_batch)
    cells = (TINY_IMAGE_SIZE // 32) ** 2
    assert outputs.image_token_embeds.shape == (3, cells, 32)
    assert outputs.text_token_embeds.shape == (3, 9, 32)
    assert outputs.fused_embeds.shape == (3, 32)


def test_vision_stream_sizes_come_from_feature_info():
    model = EmotiFusionModel(make_tiny_config())
    assert model.vision_model.num_features == 512 + 576
    assert model.vision_model.projection.in_features == 1088


@pytest.mark.parametrize("fusion", ["attention", "concat"])
def test_missing_modalities(fusion, tiny_batch):
    model = EmotiFusionForEmotionClassification(make_tiny_config(fusion=fusion)).eval()
    image_only = model(pixel_values=tiny_batch["pixel_values"], labels=LABELS)
    assert image_only.logits.shape == (3, 8) and image_only.text_logits is None and torch.isfinite(image_only.loss)
    text_only = model(input_ids=tiny_batch["input_ids"], attention_mask=tiny_batch["attention_mask"], labels=LABELS)
    assert text_only.logits.shape == (3, 8) and text_only.image_logits is None and torch.isfinite(text_only.loss)
    with pytest.raises(ValueError, match="at least one modality"):
        model(labels=LABELS)


def test_per_sample_presence_matches_whole_batch_absence(tiny_batch):
    model = EmotiFusionForEmotionClassification(make_tiny_config()).eval()
    with torch.no_grad():
        image_only = model(pixel_values=tiny_batch["pixel_values"]).logits
        masked = model(**tiny_batch, text_present=torch.tensor([False, True, False])).logits
        full = model(**tiny_batch).logits
    # Sample 0 and 2 have their text hidden: the text tokens become the learned missing embedding, and the gate
    # takes the image side alone, exactly as when no text was given at all.
    torch.testing.assert_close(masked[0], image_only[0], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(masked[1], full[1], atol=1e-5, rtol=1e-5)


def test_modality_dropout_hides_modalities_in_training_only(tiny_batch):
    model = EmotiFusionModel(make_tiny_config(modality_dropout=0.9)).train()
    torch.manual_seed(0)
    outputs = model(**tiny_batch)
    assert not (outputs.image_present & outputs.text_present).all()
    model.eval()
    outputs = model(**tiny_batch)
    assert (outputs.image_present & outputs.text_present).all()


def test_bad_shapes_are_clear_errors(tiny_model, tiny_batch):
    with pytest.raises(ValueError, match="pixel_values"):
        tiny_model(pixel_values=torch.randn(3, TINY_IMAGE_SIZE, TINY_IMAGE_SIZE))
    with pytest.raises(ValueError, match="holds 2 images"):
        tiny_model(pixel_values=tiny_batch["pixel_values"][:2], input_ids=tiny_batch["input_ids"])
    with pytest.raises(ValueError, match="labels"):
        tiny_model(**tiny_batch, labels=torch.tensor([0, 1, 9]))


def test_class_weights_and_label_smoothing_change_the_loss(tiny_batch):
    torch.manual_seed(0)
    plain = EmotiFusionForEmotionClassification(make_tiny_config(modality_loss_weight=0.0)).eval()
    state = plain.state_dict()
    losses = {}
    for name, overrides in {
        "weighted": {"class_weights": [5.0, 1, 1, 0.1, 1, 1, 1, 1]},
        "smoothed": {"label_smoothing": 0.2},
    }.items():
        variant = EmotiFusionForEmotionClassification(make_tiny_config(modality_loss_weight=0.0, **overrides)).eval()
        variant.load_state_dict(state)
        losses[name] = variant(**tiny_batch, labels=LABELS).loss
    with torch.no_grad():
        logits = plain(**tiny_batch).logits
    expected_weighted = torch.nn.functional.cross_entropy(
        logits, LABELS, weight=torch.tensor([5.0, 1, 1, 0.1, 1, 1, 1, 1])
    )
    expected_smoothed = torch.nn.functional.cross_entropy(logits, LABELS, label_smoothing=0.2)
    torch.testing.assert_close(losses["weighted"].detach(), expected_weighted)
    torch.testing.assert_close(losses["smoothed"].detach(), expected_smoothed)


def test_auxiliary_loss_adds_the_modality_heads(tiny_batch):
    torch.manual_seed(0)
    model = EmotiFusionForEmotionClassification(make_tiny_config(modality_loss_weight=0.5)).eval()
    outputs = model(**tiny_batch, labels=LABELS)
    ce = torch.nn.functional.cross_entropy
    expected = ce(outputs.logits, LABELS) + 0.5 * (ce(outputs.image_logits, LABELS) + ce(outputs.text_logits, LABELS)) / 2
    torch.testing.assert_close(outputs.loss, expected)


def test_text_labels_supervise_the_text_head_only(tiny_batch):
    torch.manual_seed(0)
    model = EmotiFusionForEmotionClassification(make_tiny_config(modality_loss_weight=0.5)).eval()
    text_labels = (LABELS + 1) % 8
    outputs = model(**tiny_batch, labels=LABELS, text_labels=text_labels)
    ce = torch.nn.functional.cross_entropy
    expected = ce(outputs.logits, LABELS) + 0.5 * (
        ce(outputs.image_logits, LABELS) + ce(outputs.text_logits, text_labels)) / 2
    torch.testing.assert_close(outputs.loss, expected)
    with pytest.raises(ValueError, match="`text_labels` must have shape"):
        model(**tiny_batch, labels=LABELS, text_labels=text_labels[:2])
    with pytest.raises(ValueError, match="`text_labels` must be class ids"):
        model(**tiny_batch, labels=LABELS, text_labels=text_labels + 8)


@pytest.mark.parametrize("fusion", ["attention", "concat"])
def test_save_and_load_are_equal(fusion, tmp_path, tiny_batch):
    torch.manual_seed(0)
    model = EmotiFusionForEmotionClassification(make_tiny_config(fusion=fusion)).eval()
    model.save_pretrained(tmp_path)
    assert (tmp_path / "model.safetensors").exists()
    assert not list(tmp_path.glob("*.bin")) and not list(tmp_path.glob("*.pt"))
    for loader in (EmotiFusionForEmotionClassification, AutoModel):
        loaded = loader.from_pretrained(tmp_path).eval()
        assert isinstance(loaded, EmotiFusionForEmotionClassification)
        with torch.no_grad():
            torch.testing.assert_close(loaded(**tiny_batch).logits, model(**tiny_batch).logits, atol=1e-5, rtol=1e-5)


def test_gradient_checkpointing_gives_the_same_gradients(tiny_batch):
    torch.manual_seed(0)
    config = make_tiny_config(fusion_dropout=0.0, classifier_dropout=0.0, text_config={
        **tiny_text_config(), "hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0})
    model = EmotiFusionForEmotionClassification(config).train()
    # BatchNorm in train mode is deterministic for a fixed batch; dropout is off, so both passes match.
    reference = model(**tiny_batch, labels=LABELS).loss
    reference.backward()
    expected = {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}
    model.zero_grad()
    model.activation_checkpointing_enable()
    assert model.emotifusion.vision_model.gradient_checkpointing
    checkpointed = model(**tiny_batch, labels=LABELS).loss
    checkpointed.backward()
    torch.testing.assert_close(checkpointed, reference)
    for name, grad in expected.items():
        torch.testing.assert_close(dict(model.named_parameters())[name].grad, grad, atol=1e-5, rtol=1e-4)


def test_lock_backbones_freezes_trunks_and_bert_only():
    model = EmotiFusionForEmotionClassification(make_tiny_config()).lock_backbones()
    frozen = {id(p) for p in model.backbone_parameters()}
    trainable = [name for name, p in model.named_parameters() if p.requires_grad]
    assert trainable and all(id(dict(model.named_parameters())[n]) not in frozen for n in trainable)
    assert any(n.startswith("emotifusion.vision_model.channel_attention") for n in trainable)
    model.train()
    assert not model.emotifusion.vision_model.trunks.training and model.classifier.training
    model.lock_backbones(False)
    assert all(p.requires_grad for p in model.parameters())


def test_building_from_config_never_touches_the_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("network access while building from a config")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    model = EmotiFusionForEmotionClassification(make_tiny_config())
    assert model.config.text_backbone is None and model.config.vision_weights is None


def test_from_backbones_with_local_files(tmp_path, tiny_batch):
    torch.manual_seed(1)
    bert = BertModel(BertConfig(**tiny_text_config()), add_pooling_layer=False)
    bert.save_pretrained(tmp_path / "bert")
    resnet = timm.create_model("resnet18", pretrained=False)
    mobilenet = timm.create_model("mobilenetv3_small_100", pretrained=False)
    save_file(resnet.state_dict(), tmp_path / "resnet18.safetensors")
    torch.save(mobilenet.state_dict(), tmp_path / "mobilenetv3_small_100.pth")

    model = EmotiFusionForEmotionClassification.from_backbones(
        text=tmp_path / "bert",
        vision=(tmp_path / "resnet18.safetensors", tmp_path / "mobilenetv3_small_100.pth"),
        embed_dim=32,
        fusion_num_heads=4,
    )
    assert model.config.text_backbone == str(tmp_path / "bert")
    assert model.config.vision_weights == [str(tmp_path / "resnet18.safetensors"), str(tmp_path / "mobilenetv3_small_100.pth")]
    # The weights survived post_init(): they equal the source models', tensor for tensor.
    for name, tensor in bert.state_dict().items():
        torch.testing.assert_close(model.emotifusion.text_model.bert.state_dict()[name], tensor, msg=name)
    for trunk, source in zip(model.emotifusion.vision_model.trunks, (resnet, mobilenet)):
        source_state = source.state_dict()
        trunk_state = trunk.state_dict()
        assert trunk_state
        for name, tensor in trunk_state.items():
            torch.testing.assert_close(tensor, source_state[name], msg=name)

    # ... and they persist through save_pretrained / from_pretrained.
    model.save_pretrained(tmp_path / "fused")
    loaded = EmotiFusionForEmotionClassification.from_pretrained(tmp_path / "fused")
    for name, tensor in model.state_dict().items():
        torch.testing.assert_close(loaded.state_dict()[name], tensor, msg=name)


def test_from_backbones_errors_name_the_input(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.safetensors"):
        EmotiFusionForEmotionClassification.from_backbones(
            text=None, vision=(str(tmp_path / "missing.safetensors"), "mobilenetv3_small_100"),
            text_config=tiny_text_config(),
        )
    with pytest.raises(ValueError, match="names 1 trunk"):
        EmotiFusionForEmotionClassification.from_backbones(text=None, vision=["resnet18"], text_config=tiny_text_config())


def test_bucketed_text_inference_matches_one_padded_pass():
    torch.manual_seed(0)
    model = EmotiFusionForEmotionClassification(make_tiny_config(text_inference_bucket_size=2)).eval()
    lengths = torch.tensor([3, 9, 5, 2, 7])
    input_ids = torch.randint(1000, 2000, (5, 9))
    attention_mask = (torch.arange(9)[None] < lengths[:, None]).long()
    pixel_values = torch.randn(5, 3, TINY_IMAGE_SIZE, TINY_IMAGE_SIZE)
    for pooling in ("cls", "mean"):
        model.config.text_pooling = model.emotifusion.text_model.pooling = pooling
        model.emotifusion.fusion.text_pooling = pooling
        with torch.no_grad():
            bucketed = model(pixel_values=pixel_values, input_ids=input_ids, attention_mask=attention_mask).logits
            model.emotifusion.text_model.inference_bucket_size = 0
            padded = model(pixel_values=pixel_values, input_ids=input_ids, attention_mask=attention_mask).logits
            model.emotifusion.text_model.inference_bucket_size = 2
        torch.testing.assert_close(bucketed, padded, atol=1e-5, rtol=1e-5)


def test_channels_last_model_gives_the_same_logits(tiny_batch):
    torch.manual_seed(0)
    model = EmotiFusionForEmotionClassification(make_tiny_config()).eval()
    with torch.no_grad():
        reference = model(**tiny_batch).logits
        model.to(memory_format=torch.channels_last)
        torch.testing.assert_close(model(**tiny_batch).logits, reference, atol=1e-4, rtol=1e-4)


def test_evidence_weights_are_neutral_until_fitted_and_then_let_the_fused_head_fall_back(tiny_model, tiny_batch):
    torch.manual_seed(0)
    with torch.no_grad():
        plain = tiny_model(**tiny_batch)
    assert tiny_model.evidence_weights.tolist() == [1.0, 0.0, 0.0]
    # Held-out logits where the text head knows the answer and the fused head does not.
    labels = torch.arange(8).repeat(25)
    text_logits = torch.nn.functional.one_hot(labels, 8).float() * 4 + torch.randn(200, 8)
    fused_logits = torch.randn(200, 8)
    image_logits = torch.randn(200, 8)
    fitted = tiny_model.fit_evidence_weights(fused_logits, image_logits, text_logits, labels)
    assert fitted["choice"] in {"fitted", "text_fallback"} and fitted["macro_f1"] > fitted["macro_f1_before"] + 0.5
    assert fitted["text_weight"] > 0.5 > abs(fitted["image_weight"])
    assert fitted["nll_after"] < fitted["nll_before"]
    assert tiny_model.evidence_weights.tolist() == pytest.approx(
        [fitted["fused_scale"], fitted["image_weight"], fitted["text_weight"]])
    with torch.no_grad():
        after = tiny_model(**tiny_batch)
    expected = (fitted["fused_scale"] * plain.logits + fitted["image_weight"] * plain.image_logits.log_softmax(-1)
                + fitted["text_weight"] * plain.text_logits.log_softmax(-1))
    assert torch.allclose(after.logits, expected, atol=1e-5)
    with pytest.raises(ValueError, match="already fitted"):
        tiny_model.fit_evidence_weights(fused_logits, image_logits, text_logits, labels)


def test_with_a_modality_missing_the_fused_head_is_as_trained(tiny_model, tiny_batch):
    with torch.no_grad():
        reference_image = tiny_model(pixel_values=tiny_batch["pixel_values"])
        reference_hidden = tiny_model(**tiny_batch, text_present=torch.tensor([True, False, True]))
    tiny_model.evidence_weights.copy_(torch.tensor([0.0, 0.5, 1.0]))
    with torch.no_grad():
        image_only = tiny_model(pixel_values=tiny_batch["pixel_values"])
        hidden_text = tiny_model(**tiny_batch, text_present=torch.tensor([True, False, True]))
    assert torch.allclose(image_only.logits, reference_image.logits, atol=1e-6)
    assert torch.allclose(hidden_text.logits[1], reference_hidden.logits[1], atol=1e-6)
    assert not torch.allclose(hidden_text.logits[0], reference_hidden.logits[0], atol=1e-3)


def test_missing_evidence_weights_weigh_in_the_present_head_only_where_one_modality_is_given(tiny_model, tiny_batch):
    hidden_text = torch.tensor([True, False, True])
    with torch.no_grad():
        plain_image = tiny_model(pixel_values=tiny_batch["pixel_values"])
        plain_text = tiny_model(input_ids=tiny_batch["input_ids"], attention_mask=tiny_batch["attention_mask"])
        plain_mixed = tiny_model(**tiny_batch, text_present=hidden_text)
    assert tiny_model.missing_evidence_weights.tolist() == [[1.0, 0.0], [1.0, 0.0]]
    # Held-out logits where the fused head given only the image is noise and the image head knows the answer; given
    # only the text, the fused head knows it and the text head is noise.
    torch.manual_seed(0)
    labels = torch.arange(8).repeat(25)
    knows = torch.nn.functional.one_hot(labels, 8).float() * 4 + torch.randn(200, 8)
    noise = torch.randn(200, 8)
    fitted = tiny_model.fit_missing_evidence_weights(labels, text_missing_logits=noise, image_logits=knows,
                                                     image_missing_logits=knows, text_logits=noise)
    assert fitted["text_missing_choice"] in {"fitted", "fallback"} and fitted["text_missing_weight"] > 0.5
    assert fitted["text_missing_macro_f1"] > fitted["text_missing_macro_f1_before"] + 0.5
    assert fitted["image_missing_macro_f1"] >= fitted["image_missing_macro_f1_before"]
    assert fitted["image_missing_fused_scale"] > 0.5
    (image_scale, image_weight), (text_scale, text_weight) = tiny_model.missing_evidence_weights.tolist()
    with torch.no_grad():
        image_only = tiny_model(pixel_values=tiny_batch["pixel_values"])
        text_only = tiny_model(input_ids=tiny_batch["input_ids"], attention_mask=tiny_batch["attention_mask"])
        mixed = tiny_model(**tiny_batch, text_present=hidden_text)
    expected = image_scale * plain_image.logits + image_weight * plain_image.image_logits.log_softmax(-1)
    assert torch.allclose(image_only.logits, expected, atol=1e-5)
    expected = text_scale * plain_text.logits + text_weight * plain_text.text_logits.log_softmax(-1)
    assert torch.allclose(text_only.logits, expected, atol=1e-5)
    # Rows with both modalities keep the both-present weighing (unfitted here): only row 1 changes.
    assert torch.allclose(mixed.logits[[0, 2]], plain_mixed.logits[[0, 2]], atol=1e-6)
    expected = image_scale * plain_mixed.logits[1] + image_weight * plain_mixed.image_logits[1].log_softmax(-1)
    assert torch.allclose(mixed.logits[1], expected, atol=1e-5)
    with pytest.raises(ValueError, match="already fitted"):
        tiny_model.fit_missing_evidence_weights(labels, text_missing_logits=noise, image_logits=knows)


def test_fitted_evidence_weights_survive_save_and_load(tiny_model, tmp_path):
    tiny_model.evidence_weights.copy_(torch.tensor([0.5, 0.25, -0.5]))
    tiny_model.missing_evidence_weights.copy_(torch.tensor([[0.5, 1.5], [0.75, 0.25]]))
    tiny_model.save_pretrained(tmp_path)
    loaded = EmotiFusionForEmotionClassification.from_pretrained(tmp_path)
    assert loaded.evidence_weights.tolist() == [0.5, 0.25, -0.5]
    assert loaded.missing_evidence_weights.tolist() == [[0.5, 1.5], [0.75, 0.25]]
    assert EmotiFusionForEmotionClassification(make_tiny_config(evidence_fusion=False)).evidence_weights is None
