"""EmotiFusion: a face image and a dialogue, fused to classify eight emotions.

Reads top to bottom: outputs, attention blocks, the visual stream, the text stream, the two fusions, the
pretrained base, the models, and finally the pretrained-backbone constructor.
"""

import math
import os
import re
from dataclasses import dataclass

import timm
import torch
import torch.nn.functional as F
from torch import nn
from transformers import BertModel, PreTrainedModel
from transformers import initialization as init
from transformers.utils import ModelOutput

from .configuration_emotifusion import EmotiFusionConfig


@dataclass
class EmotiFusionModelOutput(ModelOutput):
    r"""
    fused_embeds (`torch.FloatTensor` of shape `(batch_size, embed_dim)`):
        The joint embedding the fused classifier reads.
    image_embeds (`torch.FloatTensor` of shape `(batch_size, embed_dim)`):
        The pooled visual embedding (the learned missing-image embedding where no image was given).
    text_embeds (`torch.FloatTensor` of shape `(batch_size, embed_dim)`):
        The pooled text embedding (the learned missing-text embedding where no text was given).
    image_token_embeds (`torch.FloatTensor` of shape `(batch_size, num_cells, embed_dim)`):
        One embedding per attended cell of the last feature map (7x7 = 49 cells at 224 px).
    text_token_embeds (`torch.FloatTensor` of shape `(batch_size, sequence_length, embed_dim)`):
        The projected token states of the text encoder.
    image_present (`torch.BoolTensor` of shape `(batch_size,)`):
        Which samples had an image (after modality dropout in training).
    text_present (`torch.BoolTensor` of shape `(batch_size,)`):
        Which samples had text (after modality dropout in training).
    spatial_attention (`torch.FloatTensor` of shape `(batch_size, grid_height, grid_width)`, *optional*):
        The spatial-attention weight (in [0, 1]) of each cell of the last feature map; returned with
        `output_attentions=True` when images were given.
    text_to_image_attentions (`torch.FloatTensor` of shape `(batch_size, num_heads, sequence_length, num_cells)`, *optional*):
        How each text token (query) attends over the face cells; returned with `output_attentions=True` by the
        attention fusion.
    image_to_text_attentions (`torch.FloatTensor` of shape `(batch_size, num_heads, num_cells, sequence_length)`, *optional*):
        How each face cell (query) attends over the text tokens (padding gets 0); returned with
        `output_attentions=True` by the attention fusion.
    """

    fused_embeds: torch.FloatTensor | None = None
    image_embeds: torch.FloatTensor | None = None
    text_embeds: torch.FloatTensor | None = None
    image_token_embeds: torch.FloatTensor | None = None
    text_token_embeds: torch.FloatTensor | None = None
    image_present: torch.BoolTensor | None = None
    text_present: torch.BoolTensor | None = None
    spatial_attention: torch.FloatTensor | None = None
    text_to_image_attentions: torch.FloatTensor | None = None
    image_to_text_attentions: torch.FloatTensor | None = None


@dataclass
class EmotiFusionClassifierOutput(ModelOutput):
    r"""
    loss (`torch.FloatTensor` of shape `()`, *optional*, returned when `labels` is provided):
        Cross-entropy of the fused logits, plus `config.modality_loss_weight` times the mean cross-entropy of the
        image-only and text-only heads over the samples that have that modality (the text-only head against
        `text_labels` when given), plus, where `valence_arousal_labels` are given, `config.affect_loss_weight` times
        the valence/arousal loss of the fused head (and `modality_loss_weight` times that of the image-only head).
    logits (`torch.FloatTensor` of shape `(batch_size, num_labels)`):
        Fused classification scores (before softmax and before temperature scaling).
    image_logits (`torch.FloatTensor` of shape `(batch_size, num_labels)`, *optional*):
        Scores of the image-only head; `None` when no image was given.
    text_logits (`torch.FloatTensor` of shape `(batch_size, num_labels)`, *optional*):
        Scores of the text-only head; `None` when no text was given.
    valence_arousal (`torch.FloatTensor` of shape `(batch_size, 2)`, *optional*):
        Valence and arousal (in this order) of the fused head, tanh-bounded to [-1, 1]; `None` without
        `config.affect_head`.
    image_valence_arousal (`torch.FloatTensor` of shape `(batch_size, 2)`, *optional*):
        Valence and arousal of the image-only head; `None` without `config.affect_head` or without an image.
    fused_embeds, image_embeds, text_embeds (`torch.FloatTensor` of shape `(batch_size, embed_dim)`):
        The embeddings of [`EmotiFusionModelOutput`].
    spatial_attention, text_to_image_attentions, image_to_text_attentions (*optional*):
        The attention weights of [`EmotiFusionModelOutput`], with `output_attentions=True`.
    """

    loss: torch.FloatTensor | None = None
    logits: torch.FloatTensor | None = None
    image_logits: torch.FloatTensor | None = None
    text_logits: torch.FloatTensor | None = None
    valence_arousal: torch.FloatTensor | None = None
    image_valence_arousal: torch.FloatTensor | None = None
    fused_embeds: torch.FloatTensor | None = None
    image_embeds: torch.FloatTensor | None = None
    text_embeds: torch.FloatTensor | None = None
    spatial_attention: torch.FloatTensor | None = None
    text_to_image_attentions: torch.FloatTensor | None = None
    image_to_text_attentions: torch.FloatTensor | None = None


class EmotiFusionChannelAttention(nn.Module):
    """Channel attention: avg- and max-pooled descriptors through one shared bottleneck MLP, summed, sigmoid."""

    def __init__(self, channels: int, reduction: int):
        super().__init__()
        hidden = max(channels // reduction, 8)
        self.fc1 = nn.Conv2d(channels, hidden, kernel_size=1)
        self.act = nn.ReLU(inplace=True)
        self.fc2 = nn.Conv2d(hidden, channels, kernel_size=1)

    def forward(self, feature_map: torch.Tensor) -> torch.Tensor:
        avg = self.fc2(self.act(self.fc1(feature_map.mean(dim=(2, 3), keepdim=True))))
        peak = self.fc2(self.act(self.fc1(feature_map.amax(dim=(2, 3), keepdim=True))))
        return feature_map * torch.sigmoid(avg + peak)


class EmotiFusionSpatialAttention(nn.Module):
    """Spatial attention: a conv over the channel-wise mean and max maps weighs each cell."""

    def __init__(self, kernel_size: int):
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel_size=kernel_size, padding=kernel_size // 2)

    def forward(self, feature_map: torch.Tensor, return_weights: bool = False):
        """The weighted map; with `return_weights=True`, `(weighted map, (batch, height, width) weights)`."""
        descriptors = torch.cat([feature_map.mean(dim=1, keepdim=True), feature_map.amax(dim=1, keepdim=True)], dim=1)
        weights = torch.sigmoid(self.conv(descriptors))
        return (feature_map * weights, weights[:, 0]) if return_weights else feature_map * weights


class EmotiFusionCrossAttention(nn.Module):
    """Multi-head attention of one modality's tokens (queries) over the other's (keys and values)."""

    def __init__(self, config: EmotiFusionConfig):
        super().__init__()
        self.num_heads = config.fusion_num_heads
        self.head_dim = config.embed_dim // config.fusion_num_heads
        self.dropout = config.fusion_dropout
        self.q_proj = nn.Linear(config.embed_dim, config.embed_dim)
        self.k_proj = nn.Linear(config.embed_dim, config.embed_dim)
        self.v_proj = nn.Linear(config.embed_dim, config.embed_dim)
        self.out_proj = nn.Linear(config.embed_dim, config.embed_dim)

    def _split_heads(self, states: torch.Tensor) -> torch.Tensor:
        batch_size, length, _ = states.shape
        return states.view(batch_size, length, self.num_heads, self.head_dim).transpose(1, 2)

    def forward(
        self, queries: torch.Tensor, context: torch.Tensor, context_mask: torch.Tensor | None = None,
        output_attentions: bool = False,
    ):
        """The attended queries; with `output_attentions=True`, `(attended, (batch, heads, queries, context) weights)`."""
        query_states = self._split_heads(self.q_proj(queries))
        key_states = self._split_heads(self.k_proj(context))
        value_states = self._split_heads(self.v_proj(context))
        # (batch, 1, 1, context_len) boolean mask: True where a context token may be attended to.
        attn_mask = context_mask[:, None, None, :].bool() if context_mask is not None else None
        weights = None
        if output_attentions:
            # The fused kernel does not return its weights: the same attention, spelled out, only when asked.
            scores = query_states @ key_states.transpose(-1, -2) / math.sqrt(self.head_dim)
            if attn_mask is not None:
                scores = scores.masked_fill(~attn_mask, torch.finfo(scores.dtype).min)
            weights = torch.softmax(scores.float(), dim=-1).to(value_states.dtype)
            attended = F.dropout(weights, self.dropout, self.training) @ value_states
        else:
            attended = F.scaled_dot_product_attention(
                query_states,
                key_states,
                value_states,
                attn_mask=attn_mask,
                dropout_p=self.dropout if self.training else 0.0,
            )
        attended = self.out_proj(attended.transpose(1, 2).reshape(queries.shape))
        return (attended, weights) if output_attentions else attended


class EmotiFusionCrossAttentionBlock(nn.Module):
    """Pre-norm cross-attention followed by a feed-forward layer, both residual."""

    def __init__(self, config: EmotiFusionConfig):
        super().__init__()
        self.query_norm = nn.LayerNorm(config.embed_dim)
        self.context_norm = nn.LayerNorm(config.embed_dim)
        self.attention = EmotiFusionCrossAttention(config)
        self.mlp_norm = nn.LayerNorm(config.embed_dim)
        self.mlp = nn.Sequential(
            nn.Linear(config.embed_dim, 2 * config.embed_dim),
            nn.GELU(),
            nn.Dropout(config.fusion_dropout),
            nn.Linear(2 * config.embed_dim, config.embed_dim),
        )

    def forward(
        self, queries: torch.Tensor, context: torch.Tensor, context_mask: torch.Tensor | None = None,
        output_attentions: bool = False,
    ):
        attended = self.attention(self.query_norm(queries), self.context_norm(context), context_mask, output_attentions)
        attended, weights = attended if output_attentions else (attended, None)
        hidden = queries + attended
        hidden = hidden + self.mlp(self.mlp_norm(hidden))
        return (hidden, weights) if output_attentions else hidden


def masked_mean(tokens: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Mean over the token axis of `(batch, length, dim)` states, counting only tokens where `mask` is 1."""
    if mask is None:
        return tokens.mean(dim=1)
    weights = mask.to(tokens.dtype).unsqueeze(-1)
    return (tokens * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)


class EmotiFusionVisionEncoder(nn.Module):
    """Two (or more) timm trunks -> concatenated last-stage maps -> channel + spatial attention -> `embed_dim`.

    The attended cells are projected one by one into visual tokens for the fusion; their mean is the pooled
    image embedding.
    """

    def __init__(self, config: EmotiFusionConfig):
        super().__init__()
        # pretrained=False: building from a config never downloads; `from_backbones` loads weights afterwards.
        self.trunks = nn.ModuleList(
            timm.create_model(
                name, pretrained=False, features_only=True, out_indices=(-1,), in_chans=config.num_channels
            )
            for name in config.vision_backbones
        )
        # timm has initialised the trunks for training from scratch (He init, the last BatchNorm of every residual
        # block at zero so blocks start as identities); `post_init` must keep that rather than apply the generic
        # init, which roughly halves how fast a trunk learns from scratch.
        for module in self.trunks.modules():
            module._is_hf_initialized = True
        self.num_features = sum(trunk.feature_info.channels()[-1] for trunk in self.trunks)
        self.channel_attention = EmotiFusionChannelAttention(self.num_features, config.channel_attention_reduction)
        self.spatial_attention = EmotiFusionSpatialAttention(config.spatial_attention_kernel_size)
        self.projection = nn.Linear(self.num_features, config.embed_dim)
        self.gradient_checkpointing = False

    def forward_features(self, pixel_values: torch.Tensor, output_attentions: bool = False):
        """`(batch, channels, height, width)` pixels -> attended `(batch, num_features, h/32, w/32)` map (with
        `output_attentions=True`, also the `(batch, h/32, w/32)` spatial-attention weights)."""
        # After `model.to(memory_format=torch.channels_last)` the input follows, so convolutions skip layout
        # conversions (about 1.4x faster on CPU). int8 trunks keep their weights packed, not as parameters: ask the
        # first trunk that has any.
        first_weight = next((weight for trunk in self.trunks for weight in trunk.parameters()), None)
        if first_weight is not None and first_weight.is_contiguous(memory_format=torch.channels_last):
            pixel_values = pixel_values.contiguous(memory_format=torch.channels_last)
        feature_maps = []
        for trunk in self.trunks:
            if self.gradient_checkpointing and self.training:
                feature_map = self._gradient_checkpointing_func(trunk.__call__, pixel_values)[-1]
            else:
                feature_map = trunk(pixel_values)[-1]
            # Trunks may round odd input sizes differently; align every map to the first trunk's grid.
            if feature_maps and feature_map.shape[-2:] != feature_maps[0].shape[-2:]:
                feature_map = F.adaptive_avg_pool2d(feature_map, feature_maps[0].shape[-2:])
            feature_maps.append(feature_map)
        feature_map = torch.cat(feature_maps, dim=1)
        return self.spatial_attention(self.channel_attention(feature_map), return_weights=output_attentions)

    def forward(self, pixel_values: torch.Tensor, output_attentions: bool = False):
        """Returns `(tokens, pooled)`: `(batch, cells, embed_dim)` and `(batch, embed_dim)`; with
        `output_attentions=True`, `(tokens, pooled, spatial-attention weights)`."""
        feature_map = self.forward_features(pixel_values, output_attentions)
        feature_map, spatial_weights = feature_map if output_attentions else (feature_map, None)
        tokens = self.projection(feature_map.flatten(2).transpose(1, 2))
        return (tokens, tokens.mean(dim=1), spatial_weights) if output_attentions else (tokens, tokens.mean(dim=1))


class EmotiFusionTextEncoder(nn.Module):
    """A BERT-family encoder whose token states are projected to `embed_dim` and pooled (CLS or mean)."""

    def __init__(self, config: EmotiFusionConfig):
        super().__init__()
        self.bert = BertModel._from_config(config.text_config, add_pooling_layer=False)
        self.projection = nn.Linear(config.text_config.hidden_size, config.embed_dim)
        self.pooling = config.text_pooling
        self.inference_bucket_size = config.text_inference_bucket_size

    def _bucketed_bert(self, input_ids, attention_mask, token_type_ids) -> torch.Tensor:
        """BERT over groups of similar length, each trimmed to its own longest sample.

        Padding a batch of dialogues to its longest one wastes most of BERT's work when lengths vary. The states
        at real tokens are the same as one padded pass (padding is masked out); those at padding positions are
        zero, and nothing downstream reads them (pooling, cross-attention and the gate all mask them).
        """
        lengths = attention_mask.sum(dim=1)
        order = torch.argsort(lengths)
        hidden_states = None
        for group in order.split(self.inference_bucket_size):
            length = max(int(lengths[group].max()), 1)
            group_states = self.bert(
                input_ids=input_ids[group, :length],
                attention_mask=attention_mask[group, :length],
                token_type_ids=token_type_ids[group, :length] if token_type_ids is not None else None,
            ).last_hidden_state
            if hidden_states is None:
                hidden_states = group_states.new_zeros(*input_ids.shape, group_states.shape[-1])
            hidden_states[group, :length] = group_states
        return hidden_states

    def forward(self, input_ids, attention_mask=None, token_type_ids=None) -> tuple[torch.Tensor, torch.Tensor]:
        """Returns `(tokens, pooled)`: `(batch, seq_len, embed_dim)` and `(batch, embed_dim)`."""
        if self.inference_bucket_size and not torch.is_grad_enabled() and attention_mask is not None:
            hidden_states = self._bucketed_bert(input_ids, attention_mask, token_type_ids)
        else:
            hidden_states = self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
        tokens = self.projection(hidden_states)
        pooled = tokens[:, 0] if self.pooling == "cls" else masked_mean(tokens, attention_mask)
        return tokens, pooled


class EmotiFusionAttentionFusion(nn.Module):
    """Cross-modal attention both ways, then a learned gate mixes the two attended summaries.

    Text tokens query the visual cells ("which part of the face does this wording point at") and visual cells
    query the text ("which words explain this expression"). A missing modality is masked out of the gate, so
    the fused embedding then comes from the present one alone.
    """

    def __init__(self, config: EmotiFusionConfig):
        super().__init__()
        self.text_to_image = EmotiFusionCrossAttentionBlock(config)
        self.image_to_text = EmotiFusionCrossAttentionBlock(config)
        self.gate = nn.Linear(2 * config.embed_dim, config.embed_dim)
        self.norm = nn.LayerNorm(config.embed_dim)
        self.text_pooling = config.text_pooling

    def forward(self, image_tokens, text_tokens, text_mask, image_present, text_present, output_attentions=False):
        """The fused embedding; with `output_attentions=True`, `(fused, text-to-image weights, image-to-text weights)`."""
        text_attended = self.text_to_image(text_tokens, image_tokens, output_attentions=output_attentions)
        image_attended = self.image_to_text(
            image_tokens, text_tokens, context_mask=text_mask, output_attentions=output_attentions
        )
        if output_attentions:
            (text_attended, text_to_image_weights), (image_attended, image_to_text_weights) = text_attended, image_attended
        text_summary = text_attended[:, 0] if self.text_pooling == "cls" else masked_mean(text_attended, text_mask)
        image_summary = image_attended.mean(dim=1)
        gate = torch.sigmoid(self.gate(torch.cat([image_summary, text_summary], dim=-1)))
        # Weight 1 on the image where text is missing, 0 where the image is missing.
        gate = torch.where(text_present[:, None], gate, torch.ones_like(gate))
        gate = torch.where(image_present[:, None], gate, torch.zeros_like(gate))
        fused = self.norm(gate * image_summary + (1.0 - gate) * text_summary)
        return (fused, text_to_image_weights, image_to_text_weights) if output_attentions else fused


class EmotiFusionConcatFusion(nn.Module):
    """The original notebook's fusion: concatenated embeddings -> `embed_dim` -> ReLU."""

    def __init__(self, config: EmotiFusionConfig):
        super().__init__()
        self.dense = nn.Linear(2 * config.embed_dim, config.embed_dim)
        self.act = nn.ReLU()

    def forward(self, image_embeds, text_embeds) -> torch.Tensor:
        return self.act(self.dense(torch.cat([image_embeds, text_embeds], dim=-1)))


class EmotiFusionPreTrainedModel(PreTrainedModel):
    config_class = EmotiFusionConfig
    config: EmotiFusionConfig
    base_model_prefix = "emotifusion"
    main_input_name = "pixel_values"
    input_modalities = ("image", "text")
    supports_gradient_checkpointing = True
    _no_split_modules = ["BertLayer", "EmotiFusionVisionEncoder", "EmotiFusionCrossAttentionBlock"]
    # Checkpoints saved before the evidence weights existed load them unfitted, which predicts exactly as before.
    _keys_to_ignore_on_load_missing = [r"^evidence_weights$", r"^missing_evidence_weights$"]
    _supports_sdpa = True

    @classmethod
    def from_pretrained(cls, *args, **kwargs):
        # Weights load from safetensors only: a pickled `pytorch_model.bin` can run code when unpickled.
        if kwargs.get("use_safetensors") is False:
            raise ValueError("EmotiFusion checkpoints load from safetensors only; `use_safetensors=False` is refused.")
        kwargs["use_safetensors"] = True
        return super().from_pretrained(*args, **kwargs)

    def save_pretrained(self, save_directory, *args, **kwargs):
        # Every checkpoint declares the "emotion-fusion" pipeline and carries its code file (with the files it
        # imports), so `pipeline(model=dir, trust_remote_code=True)` works without naming the task and without this
        # package installed. The pipeline is imported here, at save time, not with the model.
        from transformers.dynamic_module_utils import custom_object_save

        from .pipeline_emotifusion import CUSTOM_PIPELINE_ENTRY, EMOTION_FUSION_TASK, EmotionFusionPipeline

        self.config.custom_pipelines = {EMOTION_FUSION_TASK: dict(CUSTOM_PIPELINE_ENTRY)}
        saved = super().save_pretrained(save_directory, *args, **kwargs)
        if kwargs.get("is_main_process", True):
            custom_object_save(EmotionFusionPipeline, save_directory)
        return saved

    def _group_prefix(self) -> str:
        return "" if self.base_model is self else f"{self.base_model_prefix}."

    def group_matcher(self, coarse: bool = False) -> dict:
        """timm-style parameter groups, as regular expressions over `named_parameters()` names, tried in order:
        `"text"` (the BERT encoder), `"vision"` (the timm trunks) and `"fusion"` (everything else: attention,
        projections, fusion and heads). With `coarse=False` the text group is `[(pattern, layer_index), ...]`:
        embeddings are layer 0 and encoder layer k is k + 1 (see `text_layer_index`)."""
        prefix = re.escape(self._group_prefix())
        bert = rf"^{prefix}text_model\.bert\."
        text = bert if coarse else [(rf"{bert}embeddings\.", (0,)), (rf"{bert}encoder\.layer\.(\d+)\.", None)]
        return {"text": text, "vision": rf"^{prefix}vision_model\.trunks\.", "fusion": r".*"}

    def parameter_groups(self) -> dict[str, list[tuple[str, nn.Parameter]]]:
        """`named_parameters()` split by `group_matcher(coarse=True)`: `{"text": [...], "vision": [...], "fusion": [...]}`."""
        patterns = {name: re.compile(pattern) for name, pattern in self.group_matcher(coarse=True).items()}
        groups = {name: [] for name in patterns}
        for name, parameter in self.named_parameters():
            group = next(group for group, pattern in patterns.items() if pattern.match(name))
            groups[group].append((name, parameter))
        return groups

    def parameter_group_of(self, name: str) -> str:
        """The group (`"text"`, `"vision"` or `"fusion"`) of a parameter name as `named_parameters()` spells it."""
        for group, pattern in self.group_matcher(coarse=True).items():
            if re.match(pattern, name):
                return group
        raise KeyError(name)

    def text_layer_index(self, name: str) -> int:
        """Depth of a text-encoder parameter: 0 for the embeddings, k + 1 for encoder layer k, and one past the last
        layer for anything above them (BERT's pooler, if any)."""
        for pattern, fixed in self.group_matcher(coarse=False)["text"]:
            match = re.match(pattern, name)
            if match:
                return fixed[0] if fixed is not None else int(match.group(1)) + 1
        return self.config.text_config.num_hidden_layers + 1

    def get_text_encoder(self) -> nn.Module:
        """The BERT encoder of the text stream (e.g. to cache its outputs while it is frozen)."""
        return self.base_model.text_model.bert

    @torch.no_grad()
    def _init_weights(self, module):
        std = self.config.initializer_range
        if isinstance(module, EmotiFusionForEmotionClassification) and module.evidence_weights is not None:
            init.copy_(module.evidence_weights, UNFITTED_EVIDENCE.to(module.evidence_weights))
            init.copy_(module.missing_evidence_weights, UNFITTED_MISSING_EVIDENCE.to(module.missing_evidence_weights))
        if isinstance(module, nn.Conv2d):
            # The attention convolutions feed ReLUs and sigmoids: He init, as timm uses for its trunks.
            init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            if module.bias is not None:
                init.zeros_(module.bias)
        elif isinstance(module, nn.Linear):
            init.normal_(module.weight, mean=0.0, std=std)
            if module.bias is not None:
                init.zeros_(module.bias)
        elif isinstance(module, EmotiFusionModel):
            init.normal_(module.missing_image_embedding, mean=0.0, std=std)
            init.normal_(module.missing_text_embedding, mean=0.0, std=std)
        else:
            # Embeddings, LayerNorm / BatchNorm (weights and running statistics) and BERT's buffers.
            super()._init_weights(module)
            if module.__class__.__name__ == "BertEmbeddings":
                init.copy_(module.position_ids, torch.arange(module.position_ids.shape[-1]).expand((1, -1)))
                init.zeros_(module.token_type_ids)


class EmotiFusionModel(EmotiFusionPreTrainedModel):
    """The two streams and the fusion, without classification heads.

    Either modality may be absent for the whole batch (`pixel_values=None` or `input_ids=None`) or for some
    samples (`image_present` / `text_present`); it is then replaced by a learned missing-modality embedding.
    """

    def __init__(self, config: EmotiFusionConfig):
        super().__init__(config)
        self.vision_model = EmotiFusionVisionEncoder(config)
        self.text_model = EmotiFusionTextEncoder(config)
        self.missing_image_embedding = nn.Parameter(torch.zeros(config.embed_dim))
        self.missing_text_embedding = nn.Parameter(torch.zeros(config.embed_dim))
        if config.fusion == "attention":
            self.fusion = EmotiFusionAttentionFusion(config)
        else:
            self.fusion = EmotiFusionConcatFusion(config)
        self.post_init()

    def get_input_embeddings(self) -> nn.Module:
        return self.text_model.bert.get_input_embeddings()

    def set_input_embeddings(self, value: nn.Module):
        self.text_model.bert.set_input_embeddings(value)

    def _drop_modalities(self, image_present: torch.Tensor, text_present: torch.Tensor):
        """Training-time modality dropout: hide the image or the text of a random subset of samples."""
        draw = torch.rand(image_present.shape, device=image_present.device)
        both = image_present & text_present
        half = self.config.modality_dropout / 2
        image_present = image_present & ~(both & (draw < half))
        text_present = text_present & ~(both & (draw >= half) & (draw < 2 * half))
        return image_present, text_present

    def forward(
        self,
        pixel_values: torch.FloatTensor | None = None,
        input_ids: torch.LongTensor | None = None,
        attention_mask: torch.LongTensor | None = None,
        token_type_ids: torch.LongTensor | None = None,
        image_present: torch.BoolTensor | None = None,
        text_present: torch.BoolTensor | None = None,
        output_attentions: bool = False,
        **kwargs,
    ) -> EmotiFusionModelOutput:
        r"""
        output_attentions (`bool`, *optional*, defaults to `False`):
            Also return the spatial-attention weights and both cross-attention weights (what explanations read).
            Off, the fused attention kernel runs and nothing extra is kept.
        """
        if pixel_values is None and input_ids is None:
            raise ValueError("EmotiFusion needs at least one modality: pass `pixel_values`, `input_ids`, or both.")
        if pixel_values is not None and pixel_values.ndim != 4:
            raise ValueError(
                f"`pixel_values` must have shape (batch, {self.config.num_channels}, height, width), "
                f"got {tuple(pixel_values.shape)}."
            )
        if input_ids is not None and input_ids.ndim != 2:
            raise ValueError(f"`input_ids` must have shape (batch, sequence_length), got {tuple(input_ids.shape)}.")
        if pixel_values is not None and input_ids is not None and pixel_values.shape[0] != input_ids.shape[0]:
            raise ValueError(
                f"`pixel_values` holds {pixel_values.shape[0]} images but `input_ids` holds {input_ids.shape[0]} texts."
            )
        batch_size = pixel_values.shape[0] if pixel_values is not None else input_ids.shape[0]
        device = self.missing_image_embedding.device
        dtype = self.missing_image_embedding.dtype

        image_present = self._presence(image_present, pixel_values is not None, batch_size, device, "image_present")
        text_present = self._presence(text_present, input_ids is not None, batch_size, device, "text_present")
        if self.training and self.config.modality_dropout > 0:
            image_present, text_present = self._drop_modalities(image_present, text_present)

        missing_image = self.missing_image_embedding.to(dtype)
        spatial_attention = text_to_image_attentions = image_to_text_attentions = None
        if pixel_values is not None:
            if output_attentions:
                image_tokens, image_embeds, spatial_attention = self.vision_model(pixel_values.to(dtype), True)
            else:
                image_tokens, image_embeds = self.vision_model(pixel_values.to(dtype))
            image_tokens = torch.where(image_present[:, None, None], image_tokens, missing_image)
            image_embeds = torch.where(image_present[:, None], image_embeds, missing_image)
        else:
            image_tokens = missing_image.expand(batch_size, 1, -1)
            image_embeds = missing_image.expand(batch_size, -1)

        missing_text = self.missing_text_embedding.to(dtype)
        if input_ids is not None:
            if attention_mask is None:
                attention_mask = torch.ones_like(input_ids)
            text_tokens, text_embeds = self.text_model(input_ids, attention_mask, token_type_ids)
            text_tokens = torch.where(text_present[:, None, None], text_tokens, missing_text)
            text_embeds = torch.where(text_present[:, None], text_embeds, missing_text)
        else:
            text_tokens = missing_text.expand(batch_size, 1, -1)
            text_embeds = missing_text.expand(batch_size, -1)
            attention_mask = torch.ones(batch_size, 1, dtype=torch.long, device=device)

        if self.config.fusion == "attention" and output_attentions:
            fused_embeds, text_to_image_attentions, image_to_text_attentions = self.fusion(
                image_tokens, text_tokens, attention_mask, image_present, text_present, output_attentions=True
            )
        elif self.config.fusion == "attention":
            fused_embeds = self.fusion(image_tokens, text_tokens, attention_mask, image_present, text_present)
        else:
            fused_embeds = self.fusion(image_embeds, text_embeds)

        return EmotiFusionModelOutput(
            fused_embeds=fused_embeds,
            image_embeds=image_embeds,
            text_embeds=text_embeds,
            image_token_embeds=image_tokens,
            text_token_embeds=text_tokens,
            image_present=image_present,
            text_present=text_present,
            spatial_attention=spatial_attention,
            text_to_image_attentions=text_to_image_attentions,
            image_to_text_attentions=image_to_text_attentions,
        )

    @staticmethod
    def _presence(given, modality_given: bool, batch_size: int, device, name: str) -> torch.Tensor:
        if given is None:
            return torch.full((batch_size,), modality_given, dtype=torch.bool, device=device)
        given = torch.as_tensor(given, device=device).bool()
        if given.shape != (batch_size,):
            raise ValueError(f"`{name}` must have shape ({batch_size},), got {tuple(given.shape)}.")
        return given & modality_given


# (fusion-logit scale, image-only weight, text-only weight): the fused head exactly as trained.
UNFITTED_EVIDENCE = torch.tensor([1.0, 0.0, 0.0])
# One row per missing modality, `(fusion-logit scale, weight of the present modality's head)`: the fused head as
# trained.
MISSING_CASES = ("text_missing", "image_missing")
UNFITTED_MISSING_EVIDENCE = torch.tensor([[1.0, 0.0], [1.0, 0.0]])


def _combine(weights, fused: torch.Tensor, evidence: list[torch.Tensor]) -> torch.Tensor:
    combined = weights[0] * fused
    for weight, head in zip(weights[1:], evidence):
        combined = combined + weight * head
    return combined


def _fit_evidence(fused: torch.Tensor, evidence: list[torch.Tensor], labels: torch.Tensor, fallbacks: tuple[str, ...]):
    """The weights `(scale, one per evidence head)` of `scale * fused + sum(weight * evidence)` that minimise the
    cross-entropy against `labels`, then the best on macro-F1 of that fit (`"fitted"`), the fused head as trained
    (`"as_trained"`) and each evidence head alone (named by `fallbacks`); the first of equals wins. Returns
    `(choice, weights, macro-F1 per candidate)`."""
    # The scale goes through a softplus: a fused head that learned nothing useful is weighed towards 0, never turned
    # upside down.
    unit_scale = math.log(math.e - 1.0)  # softplus(unit_scale) == 1
    untouched = torch.tensor([unit_scale] + [0.0] * len(evidence))
    parameters = untouched.clone()
    with torch.enable_grad():
        parameters.requires_grad_(True)
        optimizer = torch.optim.LBFGS([parameters], max_iter=200, line_search_fn="strong_wolfe")

        def closure():
            optimizer.zero_grad()
            scale = F.softplus(parameters[0])
            value = F.cross_entropy(_combine((scale, *parameters[1:]), fused, evidence), labels)
            value.backward()
            return value

        optimizer.step(closure)
    parameters = parameters.detach()
    if not torch.isfinite(parameters).all():
        parameters = untouched  # keep the fused head as trained
    no_evidence = [0.0] * len(evidence)
    candidates = {
        "fitted": (float(F.softplus(parameters[0])), *(float(value) for value in parameters[1:])),
        "as_trained": (1.0, *no_evidence),
    }
    for index, name in enumerate(fallbacks):
        alone = list(no_evidence)
        alone[index] = 1.0
        candidates[name] = (0.0, *alone)
    scores = {name: _macro_f1(_combine(weights, fused, evidence).argmax(-1), labels)
              for name, weights in candidates.items()}
    choice = max(candidates, key=lambda name: scores[name])
    return choice, candidates[choice], scores


def _macro_f1(predictions: torch.Tensor, labels: torch.Tensor) -> float:
    """Unweighted mean F1 over the classes that occur in `labels` or `predictions` (as scikit-learn's default)."""
    scores = []
    for label in torch.unique(torch.cat([labels, predictions])):
        true_positive = ((predictions == label) & (labels == label)).sum()
        wrong = (predictions != labels) & ((predictions == label) | (labels == label))
        scores.append(float(2 * true_positive / (2 * true_positive + wrong.sum())))
    return sum(scores) / len(scores) if scores else 0.0


# AffectNet's code for a valence or arousal that was not annotated.
AFFECT_NOT_ANNOTATED = -2.0


def affect_annotated(values: torch.Tensor) -> torch.Tensor:
    """Where a valence/arousal value is given: finite and not AffectNet's -2."""
    return torch.isfinite(values) & (values != AFFECT_NOT_ANNOTATED)


def affect_loss(predictions: torch.Tensor, targets: torch.Tensor, given: torch.Tensor, kind: str) -> torch.Tensor:
    """Valence/arousal loss over the `given` entries of `(batch, 2)` `targets`, the mean over the two dimensions.

    `"mse"`: mean squared error. `"ccc"`: 1 - the concordance correlation coefficient of each dimension over the
    batch (Lin, 1989), which rewards matching the spread of the targets as well as following them; a dimension with
    fewer than two given values falls back to the squared error. Not-given entries never reach the arithmetic, so
    a NaN target cannot leak a NaN gradient. Zero (with a graph) when nothing is given.
    """
    predictions = predictions.float()
    terms = []
    for dimension in range(predictions.shape[-1]):
        mask = given[:, dimension]
        if not bool(mask.any()):
            continue
        predicted = predictions[mask, dimension]
        target = targets[mask, dimension]
        if kind == "mse" or predicted.numel() < 2:
            terms.append(F.mse_loss(predicted, target))
            continue
        predicted_mean, target_mean = predicted.mean(), target.mean()
        covariance = ((predicted - predicted_mean) * (target - target_mean)).mean()
        spread = predicted.var(unbiased=False) + target.var(unbiased=False) + (predicted_mean - target_mean) ** 2
        terms.append(1.0 - 2.0 * covariance / spread.clamp(min=1e-8))
    if not terms:
        return predictions.sum() * 0.0
    return torch.stack(terms).mean()


def _standardize(embeds: torch.Tensor) -> torch.Tensor:
    """Zero mean, unit variance over the feature axis (a LayerNorm without parameters)."""
    return F.layer_norm(embeds, embeds.shape[-1:])


class EmotiFusionForEmotionClassification(EmotiFusionPreTrainedModel):
    """EmotiFusion with a fused classifier and per-modality (image-only, text-only) evidence heads."""

    def __init__(self, config: EmotiFusionConfig):
        super().__init__(config)
        self.emotifusion = EmotiFusionModel(config)
        self.dropout = nn.Dropout(config.classifier_dropout)
        self.classifier = nn.Linear(config.embed_dim, config.num_labels)
        self.image_classifier = nn.Linear(config.embed_dim, config.num_labels)
        self.text_classifier = nn.Linear(config.embed_dim, config.num_labels)
        # Valence and arousal: a linear regression on the same (dropped-out) embeddings as the classifiers, tanh-bounded.
        self.affect_regressor = nn.Linear(config.embed_dim, 2) if config.affect_head else None
        self.image_affect_regressor = nn.Linear(config.embed_dim, 2) if config.affect_head else None
        # Where both modalities are present, the fused logits are `scale * fusion logits + image weight * image-only
        # log-probabilities + text weight * text-only log-probabilities`, `evidence_weights = (scale, image weight,
        # text weight)`. Fitted on held-out data after training (`fit_evidence_weights`), never by the optimizer: on
        # the training set a head that has memorised its inputs looks more reliable than it is. Unfitted, (1, 0, 0),
        # they leave the fused head as trained.
        self.register_buffer("evidence_weights", UNFITTED_EVIDENCE.clone() if config.evidence_fusion else None)
        # With one modality missing the fused head only sees the learned missing-modality embedding in its place, and
        # the one head that saw the same input is the present modality's: `missing_evidence_weights` rows (text
        # missing, image missing) = (scale, present head's weight), fitted the same way
        # (`fit_missing_evidence_weights`).
        self.register_buffer(
            "missing_evidence_weights", UNFITTED_MISSING_EVIDENCE.clone() if config.evidence_fusion else None
        )
        class_weights = torch.tensor(config.class_weights) if config.class_weights is not None else None
        # Not persistent: the weights live in the config, which is the one source of truth.
        self.register_buffer("class_weights", class_weights, persistent=False)
        self.post_init()

    def get_input_embeddings(self) -> nn.Module:
        return self.emotifusion.get_input_embeddings()

    def set_input_embeddings(self, value: nn.Module):
        self.emotifusion.set_input_embeddings(value)

    def forward(
        self,
        pixel_values: torch.FloatTensor | None = None,
        input_ids: torch.LongTensor | None = None,
        attention_mask: torch.LongTensor | None = None,
        token_type_ids: torch.LongTensor | None = None,
        labels: torch.LongTensor | None = None,
        image_present: torch.BoolTensor | None = None,
        text_present: torch.BoolTensor | None = None,
        text_labels: torch.LongTensor | None = None,
        valence_arousal_labels: torch.FloatTensor | None = None,
        output_attentions: bool = False,
        **kwargs,
    ) -> EmotiFusionClassifierOutput:
        r"""
        labels (`torch.LongTensor` of shape `(batch_size,)`, *optional*):
            The emotion of each sample (what the fused and image-only heads are trained on).
        image_present, text_present (`torch.BoolTensor` of shape `(batch_size,)`, *optional*):
            Which samples have an image / a text; the others use the learned missing-modality embedding.
        text_labels (`torch.LongTensor` of shape `(batch_size,)`, *optional*):
            The emotion each text expresses, where a dataset knows it (the synthetic dialogues of `dataset_builder`
            do): the text-only head is trained on it instead of `labels`. A dialogue that does not match its face
            then teaches the text head what the words say rather than label noise.
        valence_arousal_labels (`torch.FloatTensor` of shape `(batch_size, 2)`, *optional*):
            Valence and arousal of each sample in [-1, 1]; NaN (or AffectNet's -2) where not annotated. Only the
            annotated values enter the valence/arousal loss, and only together with `labels`.
        output_attentions (`bool`, *optional*, defaults to `False`):
            Also return the attention weights of [`EmotiFusionModelOutput`].
        """
        outputs = self.emotifusion(
            pixel_values=pixel_values,
            input_ids=input_ids,
            attention_mask=attention_mask,
            token_type_ids=token_type_ids,
            image_present=image_present,
            text_present=text_present,
            output_attentions=output_attentions,
        )
        logits = self.classifier(self.dropout(outputs.fused_embeds))
        # The evidence heads read the pooled embeddings standardised, as the fused head reads a LayerNorm output:
        # raw pooled features share a large common offset that keeps a head over from-scratch trunks from learning.
        image_logits = (
            self.image_classifier(self.dropout(_standardize(outputs.image_embeds))) if pixel_values is not None else None
        )
        text_logits = (
            self.text_classifier(self.dropout(_standardize(outputs.text_embeds))) if input_ids is not None else None
        )
        if self.evidence_weights is not None:
            if image_logits is not None and text_logits is not None:
                both_present = outputs.image_present & outputs.text_present
                logits = self.weigh_evidence(logits, image_logits, text_logits, both_present)
            logits = self.weigh_missing_evidence(
                logits, image_logits, text_logits, outputs.image_present, outputs.text_present
            )

        valence_arousal = image_valence_arousal = None
        if self.affect_regressor is not None:
            valence_arousal = torch.tanh(self.affect_regressor(self.dropout(outputs.fused_embeds)))
            if pixel_values is not None:
                image_valence_arousal = torch.tanh(
                    self.image_affect_regressor(self.dropout(_standardize(outputs.image_embeds)))
                )

        loss = None
        if labels is not None:
            loss = self.compute_loss(
                logits, image_logits, text_logits, labels, outputs.image_present, outputs.text_present, text_labels
            )
            if valence_arousal is not None and valence_arousal_labels is not None:
                loss = loss + self.compute_affect_loss(
                    valence_arousal, image_valence_arousal, valence_arousal_labels, outputs.image_present
                )

        return EmotiFusionClassifierOutput(
            loss=loss,
            logits=logits,
            image_logits=image_logits,
            text_logits=text_logits,
            valence_arousal=valence_arousal,
            image_valence_arousal=image_valence_arousal,
            fused_embeds=outputs.fused_embeds,
            image_embeds=outputs.image_embeds,
            text_embeds=outputs.text_embeds,
            spatial_attention=outputs.spatial_attention,
            text_to_image_attentions=outputs.text_to_image_attentions,
            image_to_text_attentions=outputs.image_to_text_attentions,
        )

    def weigh_evidence(self, logits, image_logits, text_logits, both_present=None):
        """The fused logits with each modality head's verdict weighed in by `evidence_weights`, where both
        modalities are present (`both_present`, default: everywhere). The heads' log-probabilities are detached:
        each evidence head keeps learning its own target only."""
        scale, image_weight, text_weight = self.evidence_weights.to(logits.dtype)
        image_evidence = F.log_softmax(image_logits.detach().float(), dim=-1).to(logits.dtype)
        text_evidence = F.log_softmax(text_logits.detach().float(), dim=-1).to(logits.dtype)
        weighed = scale * logits + image_weight * image_evidence + text_weight * text_evidence
        return weighed if both_present is None else torch.where(both_present[:, None], weighed, logits)

    def weigh_missing_evidence(self, logits, image_logits, text_logits, image_present, text_present):
        """The fused logits where exactly one modality is present, with that modality's head weighed in by
        `missing_evidence_weights` (rows: text missing, image missing); other rows as given. A head that was not
        computed (`None`) leaves its rows as given."""
        cases = ((image_logits, image_present & ~text_present), (text_logits, text_present & ~image_present))
        for (scale, weight), (head_logits, rows) in zip(self.missing_evidence_weights.to(logits.dtype), cases):
            if head_logits is None:
                continue
            evidence = F.log_softmax(head_logits.detach().float(), dim=-1).to(logits.dtype)
            logits = torch.where(rows[:, None], scale * logits + weight * evidence, logits)
        return logits

    @property
    def evidence_weights_fitted(self) -> bool:
        """Whether `fit_evidence_weights` has set the evidence weights (False without them)."""
        weights = self.evidence_weights
        return weights is not None and not torch.equal(weights.cpu(), UNFITTED_EVIDENCE.to(weights.dtype))

    @property
    def missing_evidence_weights_fitted(self) -> bool:
        """Whether `fit_missing_evidence_weights` has set the weights used with a modality missing."""
        weights = self.missing_evidence_weights
        return weights is not None and not torch.equal(weights.cpu(), UNFITTED_MISSING_EVIDENCE.to(weights.dtype))

    @torch.no_grad()
    def fit_evidence_weights(self, fused_logits, image_logits, text_logits, labels, image_present=None,
                             text_present=None) -> dict:
        """Fit how the fused head weighs its own logits against each modality head's verdict, on held-out data.

        Finds the `evidence_weights` (fusion-logit scale, image weight, text weight) that minimise the cross-entropy
        of `scale * fused_logits + w_image * log_softmax(image_logits) + w_text * log_softmax(text_logits)` against
        `labels` (three numbers, so a few hundred samples fit them without overfitting). Cross-entropy is not the
        figure users judge the head by, so that fit then competes, on macro-F1 over the same data, with the head as
        trained and with a fall-back to either modality's head alone (scale 0); the best wins (the fit on a tie).
        They apply where both modalities are present, so only such rows (per the `*_present` flags) are used;
        `fused_logits` (`(n, num_labels)`, like the others) must come from this model with unfitted weights.
        Returns `{"choice", "fused_scale", "image_weight", "text_weight", "nll_before", "nll_after", "macro_f1"}`.
        """
        if self.evidence_weights is None:
            raise ValueError("This model was configured with `evidence_fusion=False`: it has no evidence weights.")
        if self.evidence_weights_fitted:
            raise ValueError("The evidence weights are already fitted; fit on logits of a model with unfitted weights.")
        labels = torch.as_tensor(labels).long()
        both = torch.ones(len(labels), dtype=torch.bool)
        for present in (image_present, text_present):
            if present is not None:
                both &= torch.as_tensor(present).bool()
        labels, fused = labels[both], torch.as_tensor(fused_logits).float()[both]
        evidence = [F.log_softmax(torch.as_tensor(head).float()[both], dim=-1) for head in (image_logits, text_logits)]
        choice, weights, scores = _fit_evidence(fused, evidence, labels, ("image_fallback", "text_fallback"))
        scale, image_weight, text_weight = weights
        self.evidence_weights.copy_(torch.tensor(weights).to(self.evidence_weights))
        return {"choice": choice, "fused_scale": scale, "image_weight": image_weight, "text_weight": text_weight,
                "nll_before": float(F.cross_entropy(fused, labels)),
                "nll_after": float(F.cross_entropy(_combine(weights, fused, evidence), labels)),
                "macro_f1": scores[choice], "macro_f1_before": scores["as_trained"]}

    @torch.no_grad()
    def fit_missing_evidence_weights(self, labels, text_missing_logits=None, image_logits=None,
                                     image_missing_logits=None, text_logits=None) -> dict:
        """Fit, on held-out data, how the fused head given one modality weighs its own logits against that
        modality's head: `missing_evidence_weights`, as `fit_evidence_weights` does where both are present (the
        cross-entropy fit competes on macro-F1 with the head as trained and with the present head alone).

        `text_missing_logits` are the fused logits of this model (unfitted) with every text left out, and
        `image_logits` the image-only head's on the same rows; likewise `image_missing_logits` and `text_logits`.
        Either pair may be left out, which leaves its row unfitted. Returns, per fitted case (`text_missing`,
        `image_missing`), `{case}_choice`, `{case}_fused_scale`, `{case}_weight`, `{case}_macro_f1` and
        `{case}_macro_f1_before`.
        """
        if self.missing_evidence_weights is None:
            raise ValueError("This model was configured with `evidence_fusion=False`: it has no evidence weights.")
        if self.missing_evidence_weights_fitted:
            raise ValueError("The missing-modality evidence weights are already fitted; fit on logits of a model "
                             "with unfitted weights.")
        labels = torch.as_tensor(labels).long()
        pairs = {"text_missing": (text_missing_logits, image_logits),
                 "image_missing": (image_missing_logits, text_logits)}
        fitted = {}
        for row, case in enumerate(MISSING_CASES):
            fused, head = pairs[case]
            if fused is None or head is None:
                continue
            evidence = [F.log_softmax(torch.as_tensor(head).float(), dim=-1)]
            choice, weights, scores = _fit_evidence(torch.as_tensor(fused).float(), evidence, labels, ("fallback",))
            self.missing_evidence_weights[row] = torch.tensor(weights).to(self.missing_evidence_weights)
            fitted.update({f"{case}_choice": choice, f"{case}_fused_scale": weights[0], f"{case}_weight": weights[1],
                           f"{case}_macro_f1": scores[choice], f"{case}_macro_f1_before": scores["as_trained"]})
        return fitted

    def compute_loss(
        self, logits, image_logits, text_logits, labels, image_present, text_present, text_labels=None
    ) -> torch.Tensor:
        """Weighted, label-smoothed cross-entropy of the fused head plus the per-modality auxiliary terms."""
        labels = self._check_labels(labels, logits, "labels")
        text_labels = labels if text_labels is None else self._check_labels(text_labels, logits, "text_labels")
        weight = self.class_weights.to(logits.dtype) if self.class_weights is not None else None

        def cross_entropy(scores, targets):
            return F.cross_entropy(
                scores.float(), targets, weight=weight.float() if weight is not None else None,
                label_smoothing=self.config.label_smoothing,
            )

        loss = cross_entropy(logits, labels)
        auxiliary = []
        for head_logits, present, targets in (
            (image_logits, image_present, labels), (text_logits, text_present, text_labels)
        ):
            if head_logits is not None and bool(present.any()):
                auxiliary.append(cross_entropy(head_logits[present], targets[present]))
        if auxiliary and self.config.modality_loss_weight > 0:
            loss = loss + self.config.modality_loss_weight * torch.stack(auxiliary).mean()
        return loss

    def compute_affect_loss(self, valence_arousal, image_valence_arousal, targets, image_present) -> torch.Tensor:
        """`affect_loss_weight` times the fused head's valence/arousal loss, plus `modality_loss_weight` times the
        image-only head's (over samples with an image), each over the annotated values of `targets` only."""
        targets = targets.to(valence_arousal.device, torch.float32)
        if targets.shape != valence_arousal.shape:
            raise ValueError(
                f"`valence_arousal_labels` must have shape {tuple(valence_arousal.shape)} (valence, arousal per "
                f"sample), got {tuple(targets.shape)}."
            )
        given = affect_annotated(targets)
        outside = given & (targets.abs() > 1.0)
        if bool(outside.any()):
            raise ValueError(
                f"`valence_arousal_labels` must be in [-1, 1] (NaN or -2 where not annotated), got "
                f"{targets[outside].tolist()}."
            )
        loss = self.config.affect_loss_weight * affect_loss(valence_arousal, targets, given, self.config.affect_loss)
        if image_valence_arousal is not None and self.config.modality_loss_weight > 0:
            image_given = given & image_present[:, None]
            loss = loss + self.config.affect_loss_weight * self.config.modality_loss_weight * affect_loss(
                image_valence_arousal, targets, image_given, self.config.affect_loss
            )
        return loss

    def _check_labels(self, labels, logits, name: str) -> torch.Tensor:
        labels = labels.to(logits.device).long()
        if labels.shape != logits.shape[:1]:
            raise ValueError(f"`{name}` must have shape ({logits.shape[0]},), got {tuple(labels.shape)}.")
        if labels.numel() and (labels.min() < 0 or labels.max() >= self.config.num_labels):
            raise ValueError(f"`{name}` must be class ids in [0, {self.config.num_labels - 1}], got {labels.tolist()}.")
        return labels

    def backbone_parameters(self):
        """Parameters of the (typically pretrained) visual trunks and BERT, for a lower learning rate or freezing."""
        groups = self.parameter_groups()
        for name in ("vision", "text"):
            for _, parameter in groups[name]:
                yield parameter

    def lock_backbones(self, locked: bool = True):
        """Freeze (or unfreeze) the visual trunks and BERT; attention, projections, fusion and heads stay trainable.

        Frozen trunks are also kept in eval mode by `train()`, so their BatchNorm statistics stay put.
        """
        for parameter in self.backbone_parameters():
            parameter.requires_grad_(not locked)
        self._backbones_locked = locked
        if locked:
            self.emotifusion.vision_model.trunks.eval()
        return self

    def lock_text_layers(self, trainable_layers: int | None):
        """Freeze the text encoder's embeddings and all but its top `trainable_layers` layers (`None`: no change)."""
        if trainable_layers is None:
            return self
        num_layers = self.config.text_config.num_hidden_layers
        if not 0 <= trainable_layers <= num_layers:
            raise ValueError(f"`trainable_text_layers` must be in [0, {num_layers}], got {trainable_layers}.")
        for name, parameter in self.parameter_groups()["text"]:
            if self.text_layer_index(name) < num_layers - trainable_layers + 1:
                parameter.requires_grad_(False)
        return self

    def train(self, mode: bool = True):
        super().train(mode)
        if mode and getattr(self, "_backbones_locked", False):
            self.emotifusion.vision_model.trunks.eval()
        return self

    @classmethod
    def from_backbones(
        cls,
        text: str | os.PathLike | None = "bert-base-uncased",
        vision: tuple | list | dict | None = ("resnet18.a1_in1k", "mobilenetv3_small_100.lamb_in1k"),
        **config_kwargs,
    ) -> "EmotiFusionForEmotionClassification":
        """A randomly initialised fusion model whose streams start from pretrained weights.

        Args:
            text: a Hub id or a local folder of a BERT-family model (`BertModel.from_pretrained`); `None`
                keeps a random text encoder built from `config_kwargs["text_config"]`.
            vision: one entry per visual trunk, in order: a timm name with a pretrained tag
                (`"resnet18.a1_in1k"`, fetched through timm from the Hub) or a local weight file
                (`.safetensors`, `.pth`, `.bin`) for the architecture at the same position of
                `config_kwargs.get("vision_backbones", ...)`. A dict maps architecture -> tag or file. `None`
                keeps random trunks.
            config_kwargs: any other `EmotiFusionConfig` field.

        The weights are loaded after `__init__` (and so after `post_init()`), so they are not re-initialised.
        """
        default_backbones = list(EmotiFusionConfig.__dataclass_fields__["vision_backbones"].default)
        architectures = list(config_kwargs.pop("vision_backbones", default_backbones))
        vision_sources = _resolve_vision_sources(vision, architectures)

        text_model = None
        if text is not None:
            text_model = _PoolerlessBertModel.from_pretrained(text, add_pooling_layer=False)
            config_kwargs["text_config"] = text_model.config.to_dict()
            config_kwargs["text_backbone"] = str(text)
        if vision_sources is not None:
            architectures = [architecture for architecture, _ in vision_sources]
            config_kwargs["vision_weights"] = [str(source) for _, source in vision_sources]

        config = EmotiFusionConfig(vision_backbones=architectures, **config_kwargs)
        model = cls(config)
        if text_model is not None:
            model.emotifusion.text_model.bert.load_state_dict(text_model.state_dict())
        if vision_sources is not None:
            for trunk, (architecture, source) in zip(model.emotifusion.vision_model.trunks, vision_sources):
                trunk.load_state_dict(_pretrained_trunk(architecture, source, config.num_channels).state_dict())
        return model


class _PoolerlessBertModel(BertModel):
    """`BertModel` without its pooler, for loading encoder weights: a checkpoint's pooler is expected, not reported."""

    _keys_to_ignore_on_load_unexpected = [r"(^|\.)pooler\."]


def _resolve_vision_sources(vision, architectures: list[str]) -> list[tuple[str, str]] | None:
    """Normalise `from_backbones(vision=...)` into `[(architecture, tag_or_file), ...]`."""
    if vision is None:
        return None
    if isinstance(vision, dict):
        return [(architecture, str(source)) for architecture, source in vision.items()]
    if isinstance(vision, (str, os.PathLike)):
        vision = [vision]
    if len(vision) != len(architectures):
        raise ValueError(
            f"`vision` names {len(vision)} trunk(s) but `vision_backbones` has {len(architectures)}: {architectures}."
        )
    sources = []
    for architecture, source in zip(architectures, vision):
        source = str(source)
        if os.path.isfile(source):
            sources.append((architecture, source))
        elif os.path.sep in source or source.endswith((".safetensors", ".pth", ".pt", ".bin")):
            raise FileNotFoundError(f"Vision weight file for `{architecture}` not found: {source}")
        else:
            # A timm name, possibly with a pretrained tag: its architecture replaces the default at this position.
            sources.append((source.split(".")[0], source))
    return sources


def _pretrained_trunk(architecture: str, source: str, num_channels: int) -> nn.Module:
    """A timm feature trunk holding pretrained weights from a local file or a timm Hub tag."""
    overlay = {"file": source} if os.path.isfile(source) else None
    model_name = architecture if overlay else source
    return timm.create_model(
        model_name,
        pretrained=True,
        features_only=True,
        out_indices=(-1,),
        in_chans=num_channels,
        pretrained_cfg_overlay=overlay,
    )


__all__ = [
    "EmotiFusionClassifierOutput",
    "EmotiFusionForEmotionClassification",
    "EmotiFusionModel",
    "EmotiFusionModelOutput",
    "EmotiFusionPreTrainedModel",
]
