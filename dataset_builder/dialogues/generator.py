"""`DialogueGenerator`: seeded, deterministic dialogues for one split, from the grammar or a language model."""

import random
from collections.abc import Iterable, Iterator

from emotifusion_hf.labels import EMOTIONS, label_name

from .dialogue import Dialogue, check_split, derived_seed
from .grammar import GrammarComposer
from .llm import LanguageModelBackend, split_generated_turns
from .templates import template_bank


BACKENDS = ("grammar", "llm")


class DialogueGenerator:
    """
    Seeded, deterministic dialogue generator for one split.

    Args:
        split (`str`): which split's templates to use (`"train"`, `"validation"` or `"test"`).
        seed (`int`): the base seed; a dialogue depends only on `(seed, split, label, key)`.
        backend (`str`): `"grammar"` (default) or `"llm"`.
        llm_model (`str`, *optional*): for `backend="llm"`, the model folder or Hub id.
        blend_probability (`float`): chance that one cue comes from a neighbouring emotion.
        llm_kwargs: passed to `LanguageModelBackend`.

    Example:

    ```python
    >>> generator = DialogueGenerator(split="train", seed=0)
    >>> dialogue = generator.generate("anger", key=0)
    >>> dialogue.text_label_name, dialogue.turns[0]
    ```"""

    def __init__(self, split: str = "train", seed: int = 0, backend: str = "grammar", llm_model: str | None = None,
                 blend_probability: float = 0.15, **llm_kwargs):
        self.split = check_split(split)
        self.seed = int(seed)
        if backend not in BACKENDS:
            raise ValueError(f"Unknown dialogue backend {backend!r}: expected one of {BACKENDS}.")
        if not 0.0 <= blend_probability <= 1.0:
            raise ValueError(f"blend_probability must be in [0, 1], got {blend_probability}.")
        self.backend = backend
        self.blend_probability = blend_probability
        self.bank = template_bank()
        self.language_model = None
        if backend == "llm":
            if not llm_model:
                raise ValueError("The 'llm' dialogue backend needs `llm_model` (a local folder or a Hub model id).")
            self.language_model = LanguageModelBackend(llm_model, **llm_kwargs)

    def generate(self, label: int | str, key: int | str, dialogue_id: str | None = None) -> Dialogue:
        """The dialogue expressing `label` for `key` (any id unique within the split, e.g. a row number)."""
        emotion = label_name(label)
        rng = random.Random(derived_seed("dialogue", self.seed, self.split, emotion, key))
        dialogue_id = dialogue_id or f"{self.split}-{emotion}-{key}"
        composer = GrammarComposer(self.bank, self.split, emotion, rng, self.blend_probability)
        if self.language_model is not None:
            return self._generate_with_model(composer, emotion, dialogue_id, rng)
        turns, speakers, secondary = composer.compose()
        return Dialogue(
            dialogue_id=dialogue_id,
            split=self.split,
            text_label=EMOTIONS.index(emotion),
            turns=turns,
            speakers=speakers,
            focal_speaker=composer.focal,
            register=composer.register,
            intensity=composer.intensity,
            template_ids=list(dict.fromkeys(composer.used)),
            secondary_label=secondary,
        )

    def _generate_with_model(self, composer: GrammarComposer, emotion: str, dialogue_id: str, rng: random.Random) -> Dialogue:
        n_turns = rng.randint(2, 6)
        event = composer.event()
        prompt_template = composer.pick("prompt")
        prompt = composer.fill(
            prompt_template.text,
            {"emotion": composer.feel(emotion), "event": event, "n": str(n_turns), "register": composer.register},
        )
        for attempt in range(3):
            completion = self.language_model.complete(prompt, derived_seed("llm", self.seed, dialogue_id, attempt))
            turns = split_generated_turns(completion, (composer.focal, composer.other), max_turns=n_turns)
            if len(turns) >= 2:
                break
        else:
            raise RuntimeError(
                f"The language model {self.language_model.name!r} produced fewer than two words three times for "
                f"{dialogue_id} (prompt {prompt!r}); use a stronger model or a larger max_new_tokens."
            )
        speakers = [composer.focal if index % 2 == 0 else composer.other for index in range(len(turns))]
        return Dialogue(
            dialogue_id=dialogue_id,
            split=self.split,
            text_label=EMOTIONS.index(emotion),
            turns=turns,
            speakers=speakers,
            focal_speaker=composer.focal,
            register=composer.register,
            intensity=composer.intensity,
            template_ids=list(dict.fromkeys(composer.used)),
            backend=f"llm:{self.language_model.name}",
        )

    def generate_many(self, per_label: int, labels: Iterable[int | str] = EMOTIONS) -> Iterator[Dialogue]:
        """`per_label` dialogues for each label, interleaved (label order within each round)."""
        if per_label < 0:
            raise ValueError(f"per_label must be >= 0, got {per_label}.")
        names = [label_name(label) for label in labels]
        for index in range(per_label):
            for emotion in names:
                yield self.generate(emotion, index, dialogue_id=f"{self.split}-{emotion}-{index:06d}")


def generate_dialogues(per_label: int, seed: int = 0, split: str = "train", backend: str = "grammar",
                       llm_model: str | None = None) -> Iterator[Dialogue]:
    """Shortcut for `DialogueGenerator(split, seed, backend, llm_model).generate_many(per_label)`."""
    return DialogueGenerator(split=split, seed=seed, backend=backend, llm_model=llm_model).generate_many(per_label)




__all__ = ["BACKENDS", "DialogueGenerator", "generate_dialogues"]
