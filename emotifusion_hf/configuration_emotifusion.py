"""EmotiFusion model configuration."""

from transformers import BertConfig, PretrainedConfig

from .labels import EMOTIONS

FUSION_TYPES = ("attention", "concat")
AFFECT_LOSSES = ("ccc", "mse")
TEXT_POOLING_TYPES = ("cls", "mean")


class EmotiFusionConfig(PretrainedConfig):
    r"""
    Configuration of an EmotiFusion model: a two-trunk timm visual stream with channel and spatial attention,
    a BERT-family text stream, and a fusion module over both, classifying the eight `EMOTIONS`.

    A model built from this configuration is randomly initialised and never touches the network; pretrained
    backbones come in through `EmotiFusionForEmotionClassification.from_backbones`.

    Args:
        text_config (`dict` or `BertConfig`, *optional*):
            The text encoder's configuration (defaults to `bert-base-uncased`'s shape).
        vision_backbones (`tuple[str, ...]`, *optional*, defaults to `("resnet18", "mobilenetv3_small_100")`):
            timm architectures whose last feature stage is concatenated along channels.
        image_size (`int`, *optional*, defaults to 224):
            Square input resolution the image processor produces.
        num_channels (`int`, *optional*, defaults to 3):
            Input image channels.
        channel_attention_reduction (`int`, *optional*, defaults to 16):
            Bottleneck ratio of the channel-attention MLP.
        spatial_attention_kernel_size (`int`, *optional*, defaults to 7):
            Kernel of the spatial-attention convolution (odd).
        embed_dim (`int`, *optional*, defaults to 512):
            Width of the image, text and fused embeddings.
        text_pooling (`str`, *optional*, defaults to `"cls"`):
            How the text embedding is pooled from token states: `"cls"` or `"mean"` (over non-padding tokens).
        fusion (`str`, *optional*, defaults to `"attention"`):
            `"attention"`: cross-modal attention both ways, mixed by a learned gate. `"concat"`: the original
            notebook's concatenation -> `embed_dim` -> ReLU.
        fusion_num_heads (`int`, *optional*, defaults to 8):
            Heads of the cross-modal attention; must divide `embed_dim`.
        fusion_dropout (`float`, *optional*, defaults to 0.1):
            Dropout inside the cross-modal attention blocks.
        evidence_fusion (`bool`, *optional*, defaults to `True`):
            Add to the fused logits the image-only and text-only heads' log-probabilities, each times a weight
            (`evidence_weights`, zero until fitted). The weights are fitted on held-out data after training, with
            a rescaling of the fused classifier (`fit_evidence_weights`), so the fused head can fall back to its
            better input where the fusion block learned less than a single stream. With one modality missing, the
            present modality's head is weighed in likewise (`missing_evidence_weights`, `fit_missing_evidence_weights`).
        classifier_dropout (`float`, *optional*, defaults to 0.4):
            Dropout before each classification head.
        modality_dropout (`float`, *optional*, defaults to 0.0):
            During training, the probability of hiding one modality of a sample (replaced by its learned
            missing-modality embedding), so the model learns to answer from either stream alone.
        modality_loss_weight (`float`, *optional*, defaults to 0.5):
            Weight of the image-only and text-only heads' cross-entropy added to the fused loss.
        class_weights (`list[float]`, *optional*):
            Per-class weights of the cross-entropy, one per emotion.
        label_smoothing (`float`, *optional*, defaults to 0.0):
            Label smoothing of the cross-entropy.
        affect_head (`bool`, *optional*, defaults to `True`):
            Add valence/arousal regression heads (tanh, in [-1, 1]) on the fused and on the image-only embedding.
            A configuration saved before this field existed loads with `False`, so such checkpoints predict as before.
        affect_loss (`str`, *optional*, defaults to `"ccc"`):
            The valence/arousal loss: `"ccc"` (1 - concordance correlation, per dimension, averaged) or `"mse"`.
            Either is computed only over the samples whose valence/arousal is given.
        affect_loss_weight (`float`, *optional*, defaults to 1.0):
            Weight of the valence/arousal loss (the image-only head's term counts `modality_loss_weight` as much).
        temperature (`float`, *optional*, defaults to 1.0):
            Softmax temperature fitted on validation data; the pipeline divides logits by it.
        initializer_range (`float`, *optional*, defaults to 0.02):
            Standard deviation of the normal initialiser of linear and embedding layers.
        text_inference_bucket_size (`int`, *optional*, defaults to 8):
            At inference (no gradients), BERT runs over groups of this many samples of similar length, each trimmed
            to its own longest sample, instead of the whole batch padded to its longest: same outputs, less work on
            padding. 0 turns it off.
        text_backbone (`str`, *optional*):
            Where the text encoder's pretrained weights came from (recorded by `from_backbones`).
        vision_weights (`list[str]`, *optional*):
            Where each visual trunk's pretrained weights came from (recorded by `from_backbones`).

    Example:

    ```python
    >>> from emotifusion_hf import EmotiFusionConfig, EmotiFusionForEmotionClassification

    >>> config = EmotiFusionConfig(text_config={"hidden_size": 128, "num_hidden_layers": 2,
    ...                                         "num_attention_heads": 2, "intermediate_size": 256})
    >>> model = EmotiFusionForEmotionClassification(config)
    ```"""

    model_type = "emotifusion"
    sub_configs_defaults = {"text_config": BertConfig}

    text_config: dict | PretrainedConfig | None = None
    vision_backbones: list[str] | tuple[str, ...] = ("resnet18", "mobilenetv3_small_100")
    image_size: int = 224
    num_channels: int = 3
    channel_attention_reduction: int = 16
    spatial_attention_kernel_size: int = 7
    embed_dim: int = 512
    text_pooling: str = "cls"
    fusion: str = "attention"
    fusion_num_heads: int = 8
    fusion_dropout: float | int = 0.1
    evidence_fusion: bool = True
    classifier_dropout: float | int = 0.4
    modality_dropout: float | int = 0.0
    modality_loss_weight: float | int = 0.5
    class_weights: list[float] | None = None
    label_smoothing: float | int = 0.0
    affect_head: bool = True
    affect_loss: str = "ccc"
    affect_loss_weight: float | int = 1.0
    temperature: float | int = 1.0
    initializer_range: float = 0.02
    text_inference_bucket_size: int = 8
    text_backbone: str | None = None
    vision_weights: list[str] | None = None

    def __post_init__(self, **kwargs):
        num_labels = kwargs.pop("num_labels", None)
        if num_labels is not None and num_labels != len(EMOTIONS):
            raise ValueError(
                f"`num_labels` must be {len(EMOTIONS)} (one per emotion in {EMOTIONS}), got {num_labels}."
            )
        expected_id2label = dict(enumerate(EMOTIONS))
        if self.id2label is not None:
            given = {int(index): name for index, name in self.id2label.items()}
            if given != expected_id2label:
                raise ValueError(f"`id2label` must be {expected_id2label} (the EMOTIONS order), got {given}.")
        if self.label2id is not None:
            given = {name: int(index) for name, index in self.label2id.items()}
            if given != {name: index for index, name in expected_id2label.items()}:
                raise ValueError(f"`label2id` must map {EMOTIONS} to 0-{len(EMOTIONS) - 1} in order, got {given}.")
        self.id2label = expected_id2label
        self.label2id = {name: index for index, name in expected_id2label.items()}
        self.vision_backbones = list(self.vision_backbones)
        super().__post_init__(**kwargs)
        self._validate()

    @classmethod
    def from_dict(cls, config_dict, **kwargs):
        # A configuration saved before the valence/arousal heads existed has no `affect_head`: it describes a model
        # without them (new configurations get them by default).
        if "affect_head" not in config_dict and "affect_head" not in kwargs:
            config_dict = {**config_dict, "affect_head": False}
        return super().from_dict(config_dict, **kwargs)

    def _validate(self):
        if not isinstance(self.text_config, BertConfig):
            raise ValueError(f"`text_config` must describe a BERT-family encoder, got {type(self.text_config).__name__}.")
        if self.fusion not in FUSION_TYPES:
            raise ValueError(f"`fusion` must be one of {FUSION_TYPES}, got {self.fusion!r}.")
        if self.text_pooling not in TEXT_POOLING_TYPES:
            raise ValueError(f"`text_pooling` must be one of {TEXT_POOLING_TYPES}, got {self.text_pooling!r}.")
        for name in ("embed_dim", "fusion_num_heads", "image_size", "num_channels", "channel_attention_reduction"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"`{name}` must be a positive integer, got {value!r}.")
        if self.embed_dim % self.fusion_num_heads:
            raise ValueError(
                f"`embed_dim` ({self.embed_dim}) must be divisible by `fusion_num_heads` ({self.fusion_num_heads})."
            )
        if self.spatial_attention_kernel_size < 1 or self.spatial_attention_kernel_size % 2 == 0:
            raise ValueError(
                f"`spatial_attention_kernel_size` must be a positive odd integer, got {self.spatial_attention_kernel_size}."
            )
        if not self.vision_backbones or not all(isinstance(name, str) and name for name in self.vision_backbones):
            raise ValueError(f"`vision_backbones` must be a non-empty list of timm model names, got {self.vision_backbones!r}.")
        for name in ("fusion_dropout", "classifier_dropout", "modality_dropout", "label_smoothing"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0.0 <= value < 1.0:
                raise ValueError(f"`{name}` must be in [0, 1), got {value!r}.")
        if not isinstance(self.modality_loss_weight, (int, float)) or self.modality_loss_weight < 0:
            raise ValueError(f"`modality_loss_weight` must be >= 0, got {self.modality_loss_weight!r}.")
        if not isinstance(self.affect_head, bool):
            raise ValueError(f"`affect_head` must be True or False, got {self.affect_head!r}.")
        if self.affect_loss not in AFFECT_LOSSES:
            raise ValueError(f"`affect_loss` must be one of {AFFECT_LOSSES}, got {self.affect_loss!r}.")
        if not isinstance(self.affect_loss_weight, (int, float)) or isinstance(self.affect_loss_weight, bool) \
                or self.affect_loss_weight < 0:
            raise ValueError(f"`affect_loss_weight` must be >= 0, got {self.affect_loss_weight!r}.")
        if not isinstance(self.temperature, (int, float)) or not self.temperature > 0:
            raise ValueError(f"`temperature` must be > 0, got {self.temperature!r}.")
        if not isinstance(self.text_inference_bucket_size, int) or self.text_inference_bucket_size < 0:
            raise ValueError(
                f"`text_inference_bucket_size` must be an integer >= 0, got {self.text_inference_bucket_size!r}."
            )
        if self.class_weights is not None:
            if len(self.class_weights) != len(EMOTIONS) or any(weight < 0 for weight in self.class_weights):
                raise ValueError(
                    f"`class_weights` must hold {len(EMOTIONS)} non-negative numbers (one per emotion), "
                    f"got {self.class_weights!r}."
                )
            self.class_weights = [float(weight) for weight in self.class_weights]


__all__ = ["EMOTIONS", "EmotiFusionConfig"]
