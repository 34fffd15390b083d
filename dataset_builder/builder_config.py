"""
`EmotiFusionBuilderConfig`: the settings of one EmotiFusion build, checked as a whole in `__post_init__`.

The settings fall in four groups: where the faces come from (`source`, `data_dir`, `layout`, the demo faces'
`per_class`, `image_size`, ...), how faces are paired with dialogues (`seed`, `agreement`), how the dialogues are
written (`dialogue_backend` and its own settings, gathered by `dialogue_generator_kwargs`), and how faces are
stored (`max_face_size`, `jpeg_quality`). A new dialogue backend adds its fields, a check in
`_check_dialogues` and its arguments in `dialogue_generator_kwargs`.
"""

from dataclasses import dataclass

import datasets

from .affectnet import check_layout
from .dialogues import BACKENDS, CorpusSource, corpus_source_from_args
from .sources import DEMO_DEFAULTS, FACE_SOURCES, SOURCES


@dataclass
class EmotiFusionBuilderConfig(datasets.BuilderConfig):
    """
    Configuration of `EmotiFusionBuilder`.

    Args:
        source (`str`): `"demo"` (procedural faces) or `"affectnet"` (faces from `data_dir`).
        data_dir (`str`): the AffectNet folder (required for `"affectnet"`).
        layout (`str`, defaults to `"auto"`): `"auto"` or one of `affectnet.LAYOUTS`.
        seed (`int`, defaults to 0): seeds the pairing, the dialogues, the demo faces and the stratified slices.
        agreement (`float`, defaults to 0.8): probability that a dialogue's emotion equals its face's.
        per_class (`int`, defaults to 64): demo faces per class in train.
        eval_per_class (`int`, *optional*): demo faces per class in validation and test
            (default: a quarter of `per_class`, at least one).
        image_size (`int`, defaults to 112): side of the demo faces in pixels.
        face_variation (`float`, defaults to 1.0): how far the demo faces' pose, lighting, clutter, blur and noise
            vary, 0 to 1 (see `demo_faces.render_face`).
        validation_fraction / test_fraction (`float`, default 0.1): stratified slices carved out of training when
            the source has no such split.
        strict (`bool`, defaults to False): raise on the first bad row instead of skipping and counting it.
        max_face_size (`int`, *optional*): shrink AffectNet crops so their longer side is at most this.
        jpeg_quality (`int`, defaults to 95): quality of re-encoded crops.
        dialogue_backend (`str`, defaults to `"grammar"`): `"grammar"`, `"corpus"` or `"llm"`.
        corpus (`str`, *optional*): for the `"corpus"` backend, the labelled corpus (file, folder or Hub dataset id);
            `corpus_text_column`, `corpus_label_column`, `corpus_label_map`, `corpus_licence`, `corpus_config` and
            `corpus_max_turns` are the `dialogues.CorpusSource` fields of the same names.
        llm_model (`str`, *optional*): the model of the `"llm"` backend.
        llm_max_new_tokens (`int`, defaults to 96): generation budget per dialogue of the `"llm"` backend.

    Raises:
        ValueError: naming the field, when a setting is out of range or two settings disagree.
    """

    source: str = "demo"
    layout: str = "auto"
    seed: int = 0
    agreement: float = DEMO_DEFAULTS["agreement"]
    per_class: int = DEMO_DEFAULTS["per_class"]
    eval_per_class: int | None = None
    image_size: int = DEMO_DEFAULTS["image_size"]
    face_variation: float = DEMO_DEFAULTS["face_variation"]
    validation_fraction: float = 0.1
    test_fraction: float = 0.1
    strict: bool = False
    max_face_size: int | None = None
    jpeg_quality: int = 95
    dialogue_backend: str = "grammar"
    llm_model: str | None = None
    llm_max_new_tokens: int = 96
    corpus: str | None = None
    corpus_text_column: str | None = None
    corpus_label_column: str | None = None
    corpus_label_map: str | dict | None = None
    corpus_licence: str | None = None
    corpus_config: str | None = None
    corpus_max_turns: int = 3

    def __post_init__(self):
        super().__post_init__()
        self._check_source()
        if not 0.0 <= self.agreement <= 1.0:
            raise ValueError(f"agreement must be in [0, 1], got {self.agreement}.")
        self._check_dialogues()
        self._check_slices()
        self._check_face_encoding()
        check_layout(self.layout)
        FACE_SOURCES[self.source].check_config(self)

    def _check_source(self) -> None:
        if self.source not in SOURCES:
            raise ValueError(f"Unknown source {self.source!r}: expected one of {SOURCES}.")
        # The named configs are the sources themselves: `config_name="demo", source="affectnet"` is a mistake.
        if self.name in SOURCES and self.name != self.source:
            raise ValueError(
                f"Config {self.name!r} cannot have source={self.source!r}; use config_name={self.source!r}."
            )

    def _check_dialogues(self) -> None:
        if self.dialogue_backend not in BACKENDS:
            raise ValueError(f"Unknown dialogue_backend {self.dialogue_backend!r}: expected one of {BACKENDS}.")
        if self.dialogue_backend == "llm" and not self.llm_model:
            raise ValueError("dialogue_backend='llm' needs llm_model (a local model folder or a Hub id).")
        if self.dialogue_backend == "corpus":
            self.corpus_source()  # a bad label map or turn count fails here, before any face is read
        elif self.corpus is not None:
            raise ValueError(f"corpus is only read by dialogue_backend='corpus', not {self.dialogue_backend!r}.")

    def corpus_source(self) -> CorpusSource:
        """The `CorpusSource` of the `"corpus"` dialogue backend."""
        if not self.corpus:
            raise ValueError("dialogue_backend='corpus' needs corpus (a labelled file, folder or Hub dataset id).")
        return corpus_source_from_args(self)

    def _check_slices(self) -> None:
        for name in ("validation_fraction", "test_fraction"):
            value = getattr(self, name)
            if not 0.0 <= value < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {value}.")
        if self.validation_fraction + self.test_fraction >= 1.0:
            raise ValueError("validation_fraction + test_fraction must leave some training rows (sum < 1).")

    def _check_face_encoding(self) -> None:
        if not 1 <= self.jpeg_quality <= 100:
            raise ValueError(f"jpeg_quality must be in [1, 100], got {self.jpeg_quality}.")
        if self.max_face_size is not None and self.max_face_size < 1:
            raise ValueError(f"max_face_size must be a positive number of pixels, got {self.max_face_size}.")

    def dialogue_generator_kwargs(self) -> dict:
        """Keyword arguments of `DialogueGenerator` (besides `split` and `seed`) for the chosen backend."""
        kwargs = {"backend": self.dialogue_backend, "llm_model": self.llm_model}
        if self.dialogue_backend == "llm":
            kwargs["max_new_tokens"] = self.llm_max_new_tokens
        return kwargs


__all__ = ["EmotiFusionBuilderConfig"]
