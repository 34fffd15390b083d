"""`DialogueGenerator`: seeded, deterministic dialogues for one split, from the grammar, a corpus or a language
model."""

import random
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping

from emotifusion_hf.labels import EMOTIONS, label_name

from .corpus import CorpusComposer, CorpusSource, LabelledCorpus, load_corpus
from .dialogue import Dialogue, check_split, derived_seed
from .grammar import GrammarComposer
from .llm import LanguageModelBackend, split_generated_turns
from .templates import template_bank


BACKENDS = ("grammar", "corpus", "llm")


class DialogueGenerator:
    """
    Seeded, deterministic dialogue generator for one split.

    Args:
        split (`str`): which split's templates to use (`"train"`, `"validation"` or `"test"`).
        seed (`int`): the base seed; a dialogue depends only on `(seed, split, label, key)`.
        backend (`str`): `"grammar"` (default), `"corpus"` or `"llm"`.
        llm_model (`str`, *optional*): for `backend="llm"`, the model folder or Hub id.
        blend_probability (`float`): chance that one cue comes from a neighbouring emotion (grammar dialogues).
        corpus (`str`, `CorpusSource` or `LabelledCorpus`, *optional*): for `backend="corpus"`, the labelled corpus:
            a path or Hub id (read with `corpus_options`), a `CorpusSource`, or a corpus already read by
            `load_corpus` (read it once and share it between the splits' generators).
        corpus_options (`dict`, *optional*): `CorpusSource` fields when `corpus` is a path or Hub id
            (`text_column`, `label_column`, `label_map`, `licence`, `name`, `config_name`, `max_turns`).
        llm_kwargs: passed to `LanguageModelBackend`.

    With `backend="corpus"`, an emotion the corpus has no utterance of in this split gets a grammar dialogue
    instead; `report()` counts both.

    Example:

    ```python
    >>> generator = DialogueGenerator(split="train", seed=0)
    >>> dialogue = generator.generate("anger", key=0)
    >>> dialogue.text_label_name, dialogue.turns[0]
    >>> corpus = DialogueGenerator(split="train", backend="corpus", corpus="meld.csv",
    ...                            corpus_options={"label_map": {"joy": "happy"}, "licence": "GPL-3.0"})
    ```"""

    def __init__(self, split: str = "train", seed: int = 0, backend: str = "grammar", llm_model: str | None = None,
                 blend_probability: float = 0.15, corpus: "str | CorpusSource | LabelledCorpus | None" = None,
                 corpus_options: Mapping | None = None, **llm_kwargs):
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
        self.corpus: LabelledCorpus | None = None
        self.corpus_composer: CorpusComposer | None = None
        if backend == "corpus":
            if corpus is None:
                raise ValueError("The 'corpus' dialogue backend needs `corpus` (a file, a folder or a Hub dataset id).")
            if not isinstance(corpus, LabelledCorpus):
                if isinstance(corpus, CorpusSource) and corpus_options:
                    raise ValueError("Give the corpus options in the CorpusSource or in corpus_options, not both.")
                corpus = load_corpus(corpus, **dict(corpus_options or {}))
            self.corpus = corpus
            self.corpus_composer = CorpusComposer(corpus, self.bank, self.split, self.seed)
        elif corpus is not None:
            raise ValueError(f"`corpus` is only used by backend='corpus', not {backend!r}.")
        # Which backend wrote each dialogue, per emotion: the corpus backend falls back to the grammar.
        self.usage: Counter = Counter()

    def generate(self, label: int | str, key: int | str, dialogue_id: str | None = None) -> Dialogue:
        """The dialogue expressing `label` for `key` (any id unique within the split, e.g. a row number)."""
        emotion = label_name(label)
        rng = random.Random(derived_seed("dialogue", self.seed, self.split, emotion, key))
        dialogue_id = dialogue_id or f"{self.split}-{emotion}-{key}"
        if self.corpus_composer is not None:
            dialogue = self.corpus_composer.compose(emotion, key, dialogue_id)
            self.usage[("corpus" if dialogue is not None else "fallback", emotion)] += 1
            if dialogue is not None:
                return dialogue
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

    def report(self) -> dict:
        """
        The backend, the split and, for the corpus backend, the corpus's report plus how many dialogues generated so
        far came from the corpus and how many fell back to the grammar (per emotion), a dict a build report can embed.
        """
        report = {"backend": self.backend, "split": self.split, "seed": self.seed}
        if self.corpus is not None:
            from_corpus = sum(count for (source, _), count in self.usage.items() if source == "corpus")
            fallback = sum(count for (source, _), count in self.usage.items() if source == "fallback")
            report["backend"] = self.corpus.backend_name
            report["corpus"] = self.corpus.report()
            fallback_by_label = {emotion: self.usage[("fallback", emotion)] for emotion in EMOTIONS}
            report["dialogues"] = {
                "from_corpus": from_corpus,
                "fallback_to_grammar": fallback,
                "corpus_share": round(from_corpus / (from_corpus + fallback), 4) if from_corpus + fallback else 0.0,
                "fallback_by_label": {emotion: count for emotion, count in fallback_by_label.items() if count},
            }
        return report

    def generate_many(self, per_label: int, labels: Iterable[int | str] = EMOTIONS) -> Iterator[Dialogue]:
        """`per_label` dialogues for each label, interleaved (label order within each round)."""
        if per_label < 0:
            raise ValueError(f"per_label must be >= 0, got {per_label}.")
        names = [label_name(label) for label in labels]
        for index in range(per_label):
            for emotion in names:
                yield self.generate(emotion, index, dialogue_id=f"{self.split}-{emotion}-{index:06d}")


def generate_dialogues(per_label: int, seed: int = 0, split: str = "train", backend: str = "grammar",
                       llm_model: str | None = None, corpus=None, corpus_options: Mapping | None = None
                       ) -> Iterator[Dialogue]:
    """Shortcut for `DialogueGenerator(split, seed, backend, llm_model, corpus=...).generate_many(per_label)`."""
    generator = DialogueGenerator(
        split=split, seed=seed, backend=backend, llm_model=llm_model, corpus=corpus, corpus_options=corpus_options
    )
    return generator.generate_many(per_label)




__all__ = ["BACKENDS", "DialogueGenerator", "generate_dialogues"]
