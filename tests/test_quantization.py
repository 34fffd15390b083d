"""The fast inference path: fused attention projections are exact, in fp32 and under int8."""

import copy

import pytest
import torch
from transformers.models.bert.modeling_bert import BertSelfAttention

from emotifusion_hf import EmotiFusionForEmotionClassification, quantization_emotifusion
from emotifusion_hf.quantization_emotifusion import (
    EmotiFusionFusedSelfAttention,
    fuse_attention_projections,
    quantize_for_inference,
)

from conftest import make_tiny_config, tiny_text_config


def two_layer_model(attn_implementation: str) -> EmotiFusionForEmotionClassification:
    torch.manual_seed(0)
    text_config = dict(tiny_text_config(), num_hidden_layers=2, attn_implementation=attn_implementation)
    model = EmotiFusionForEmotionClassification(make_tiny_config(text_config=text_config)).eval()
    for parameter in model.parameters():  # non-zero biases, so a wrong split of the fused bias would show
        parameter.data.add_(0.02 * torch.randn_like(parameter))
    return model


@pytest.mark.parametrize("attn_implementation", ["sdpa", "eager"])
@pytest.mark.parametrize("inference", [True, False], ids=["bucketed_inference", "plain_forward"])
def test_fused_attention_projections_give_the_same_logits(tiny_batch, attn_implementation, inference):
    model = two_layer_model(attn_implementation)
    fused = copy.deepcopy(model)
    assert fuse_attention_projections(fused) == 2
    assert not any(isinstance(module, BertSelfAttention) for module in fused.modules())
    assert sum(isinstance(module, EmotiFusionFusedSelfAttention) for module in fused.modules()) == 2
    with torch.inference_mode(inference), torch.no_grad():
        expected, actual = model(**tiny_batch).logits, fused(**tiny_batch).logits
    torch.testing.assert_close(actual, expected, rtol=1e-5, atol=1e-6)


def test_quantized_copy_fuses_attention_and_matches_the_unfused_int8_model(tiny_batch, monkeypatch):
    model = two_layer_model("sdpa")
    fused_int8 = quantize_for_inference(model, torch.device("cpu"))
    assert sum(isinstance(module, EmotiFusionFusedSelfAttention) for module in fused_int8.modules()) == 2
    # The fp32 model handed in is left as it was.
    assert sum(isinstance(module, BertSelfAttention) for module in model.modules()) == 2
    monkeypatch.setattr(quantization_emotifusion, "fuse_attention_projections", lambda model: 0)
    unfused_int8 = quantize_for_inference(model, torch.device("cpu"))
    assert sum(isinstance(module, BertSelfAttention) for module in unfused_int8.modules()) == 2
    with torch.inference_mode():
        # Per-tensor activation scales: the fused layer quantises the same input with the same scale, once.
        torch.testing.assert_close(fused_int8(**tiny_batch).logits, unfused_int8(**tiny_batch).logits)


def test_fused_attention_refuses_decoders_and_caches():
    model = two_layer_model("sdpa")
    attention = model.base_model.text_model.bert.encoder.layer[0].attention.self
    fused = EmotiFusionFusedSelfAttention(attention)
    with pytest.raises(ValueError, match="past_key_values"):
        fused(torch.zeros(1, 3, 32), past_key_values=object())
    attention.is_decoder = True
    with pytest.raises(ValueError, match="decoder"):
        EmotiFusionFusedSelfAttention(attention)
    assert fuse_attention_projections(model) == 1  # the decoder-configured layer is left as it is
