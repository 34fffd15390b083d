"""Replaying a frozen text encoder's states instead of recomputing them every epoch.

When the whole text encoder is frozen (`trainable_text_layers: 0`), its output for a given token sequence never
changes (it runs without dropout, as a frozen feature extractor should), so each distinct dialogue needs one forward
pass per run. On CPU, where the encoder's forward pass can cost more than the visual stream's forward and backward
together, this multiplies the optimizer steps a time budget allows. The states are kept in memory: use it for
datasets of thousands of dialogues (the demo), not hundreds of thousands.

The cache replaces the encoder's `forward` on that one instance, so parameter names, checkpoints and the saved
model are exactly those of the plain model.
"""

from contextlib import contextmanager

import torch
from transformers.modeling_outputs import BaseModelOutput


class FrozenTextFeatureCache:
    """Stands in for a frozen BERT-family encoder's `forward`: cached `last_hidden_state`s for sequences seen
    before, one eval-mode forward pass (for the unseen rows only) otherwise.

    Only real tokens are stored (the attention mask gives each row's length); padding positions come back as zeros,
    which every consumer of the states masks out.
    """

    def __init__(self, encoder, max_entries: int = 200_000):
        self.encoder = encoder
        self.encoder_forward = type(encoder).forward.__get__(encoder)
        self.max_entries = max_entries
        self.states: dict[bytes, torch.Tensor] = {}
        self.hits = 0
        self.misses = 0

    @staticmethod
    def _key(input_ids: torch.Tensor, token_type_ids: torch.Tensor | None, length: int) -> bytes:
        key = input_ids[:length].cpu().numpy().tobytes()
        if token_type_ids is not None:
            key += b"|" + token_type_ids[:length].cpu().numpy().tobytes()
        return key

    def _encode(self, input_ids, attention_mask, token_type_ids) -> torch.Tensor:
        was_training = self.encoder.training
        self.encoder.eval()
        try:
            with torch.no_grad():
                return self.encoder_forward(
                    input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
                ).last_hidden_state
        finally:
            self.encoder.train(was_training)

    def __call__(self, input_ids, attention_mask=None, token_type_ids=None, **kwargs) -> BaseModelOutput:
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        lengths = [int(length) for length in attention_mask.sum(dim=1).tolist()]
        keys = [
            self._key(input_ids[row], token_type_ids[row] if token_type_ids is not None else None, length)
            for row, length in enumerate(lengths)
        ]
        found = {key: self.states[key] for key in keys if key in self.states}
        missing = [row for row, key in enumerate(keys) if key not in found]
        self.hits += len(keys) - len(missing)
        self.misses += len(missing)
        if missing:
            index = torch.tensor(missing, device=input_ids.device)
            encoded = self._encode(
                input_ids[index], attention_mask[index], token_type_ids[index] if token_type_ids is not None else None
            )
            for position, row in enumerate(missing):
                found[keys[row]] = encoded[position, : lengths[row]]
                if len(self.states) < self.max_entries:
                    self.states[keys[row]] = found[keys[row]]
        first = next(iter(found.values()))
        hidden = first.new_zeros(input_ids.shape[0], input_ids.shape[1], first.shape[-1])
        for row, key in enumerate(keys):
            hidden[row, : lengths[row]] = found[key]
        return BaseModelOutput(last_hidden_state=hidden)


def attach_text_feature_cache(model, freeze: bool = True) -> FrozenTextFeatureCache:
    """Route the model's text encoder's forward pass through a `FrozenTextFeatureCache`, freezing the encoder
    (`freeze=False` for a model that only runs inference, whose encoder cannot change anyway)."""
    encoder = model.get_text_encoder()
    cache = encoder.__dict__.get("forward")
    if isinstance(cache, FrozenTextFeatureCache):
        return cache
    if freeze:
        for parameter in encoder.parameters():
            parameter.requires_grad_(False)
    cache = FrozenTextFeatureCache(encoder)
    encoder.forward = cache
    return cache


def detach_text_feature_cache(model) -> FrozenTextFeatureCache | None:
    """Give the text encoder its own forward pass back; returns the cache that was attached, if any."""
    encoder = model.get_text_encoder()
    cache = encoder.__dict__.get("forward")
    if isinstance(cache, FrozenTextFeatureCache):
        del encoder.forward
        return cache
    return None


@contextmanager
def text_feature_cache_set_aside(model):
    """The model with its encoder's own forward pass inside the block (to save it), the same cache again after."""
    cache = detach_text_feature_cache(model)
    try:
        yield cache
    finally:
        if cache is not None:
            model.get_text_encoder().forward = cache


__all__ = [
    "FrozenTextFeatureCache",
    "attach_text_feature_cache",
    "detach_text_feature_cache",
    "text_feature_cache_set_aside",
]
