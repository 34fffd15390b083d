"""
Synthetic emotion dialogues, composed from a grammar rather than picked from a list of sentences.

A dialogue has 2-6 turns between a focal speaker, who carries the emotion, and another speaker. The focal speaker
expresses it through explicit words at graded intensity ("a bit annoyed" ... "livid"), and implicitly through a
situation ("my manager moved my deadline up by a week", "I found a clump of hair in the office fridge"), bodily
reactions ("my jaw is clenched"), appraisals ("Who does that?") and action tendencies ("I'm writing a very
strongly worded email"), with hedges and neutral filler turns. The other speaker opens, asks, reacts or closes.
Registers (casual, work, family, online) change the situations, the openers and the surface style. With a small
probability one cue comes from a neighbouring emotion (anger and disgust, fear and surprise, ...): real text is
ambiguous too.

Templates and vocabulary are kept apart. Every template (sentence frame, situation, appraisal, other-speaker line,
LLM prompt) has an id and belongs to exactly one of train/validation/test (`TemplateBank`): inside each group
(kind, emotion, register) the templates are ranked by a hash of their id and the first 70% go to train, the next
15% to validation and the rest to test, so every emotion has templates in every split, test dialogues never reuse
a training template, and the assignment does not depend on the seed. The emotion vocabulary (explicit words,
interjections, bodily-reaction and action phrases, the per-emotion situation fillers of
`dialogue_lexicon.SITUATION_SLOTS`) is shared by all splits, the way real speakers share words: a model trained
on the train split meets familiar emotional language in unseen sentences and situations, which is what lets it
transfer to held-out templates and to real utterances.

Generation is seeded and deterministic: a dialogue depends only on `(seed, split, label, key)`, so a dataset can
ask for the dialogue of its k-th face without generating the others.

`text` is the turns joined with a newline (`TURN_SEPARATOR`); the `turns` list is kept as well, for processors
that take a list of turns.

Command line (see `python -m dataset_builder dialogues --help`):

    python -m dataset_builder dialogues --per-label 100 --seed 0 --split train --out train.csv
"""

import csv
import hashlib
import json
import logging
import random
import re
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from emotifusion_hf.configuration_emotifusion import EMOTIONS

from . import dialogue_lexicon as lexicon


logger = logging.getLogger(__name__)

SPLITS = ("train", "validation", "test")
SPLIT_FRACTIONS = {"train": 0.7, "validation": 0.15, "test": 0.15}
TURN_SEPARATOR = "\n"
BACKENDS = ("grammar", "llm")
INTENSITIES = ("low", "mid", "high")

# Which emotion a cue may borrow from when a dialogue blends in a neighbour (weights sum to 1 per emotion).
NEIGHBOURS = {
    "anger": {"disgust": 0.4, "contempt": 0.4, "sad": 0.2},
    "contempt": {"anger": 0.45, "disgust": 0.45, "neutral": 0.1},
    "disgust": {"anger": 0.4, "contempt": 0.4, "fear": 0.2},
    "fear": {"surprise": 0.6, "sad": 0.2, "disgust": 0.2},
    "happy": {"surprise": 0.6, "neutral": 0.4},
    "neutral": {"sad": 0.5, "happy": 0.25, "contempt": 0.25},
    "sad": {"neutral": 0.5, "fear": 0.25, "anger": 0.25},
    "surprise": {"fear": 0.45, "happy": 0.45, "neutral": 0.1},
}

CSV_COLUMNS = (
    "dialogue_id",
    "split",
    "text_label",
    "text_label_id",
    "text",
    "turns",
    "speakers",
    "focal_speaker",
    "register",
    "intensity",
    "secondary_label",
    "template_ids",
    "backend",
)

_SLOT = re.compile(r"\{(\w+)\}")
_WORD = re.compile(r"[a-z0-9']+")


def _digest(text: str, length: int = 8) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:length]


def _derived_seed(*parts) -> int:
    return int.from_bytes(hashlib.sha256("|".join(map(str, parts)).encode("utf-8")).digest()[:8], "big")


def label_name(label: int | str) -> str:
    """The emotion name of a label given as an index into `EMOTIONS` or as a name (validated either way)."""
    if isinstance(label, str):
        if label not in EMOTIONS:
            raise ValueError(f"Unknown emotion {label!r}: expected one of {EMOTIONS}.")
        return label
    if not 0 <= int(label) < len(EMOTIONS):
        raise ValueError(f"Emotion index {label} is out of range 0-{len(EMOTIONS) - 1}.")
    return EMOTIONS[int(label)]


def _check_split(split: str) -> str:
    if split not in SPLITS:
        raise ValueError(f"Unknown split {split!r}: expected one of {SPLITS}.")
    return split


# ---------------------------------------------------------------------------------------------------------------
# Templates and their split assignment
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Template:
    """
    One grammar template.

    Attributes:
        id (`str`): `kind.group[.register].digest`, stable while the text does not change.
        kind (`str`): `frame`, `continuation`, `filler`, `event`, `situation`, `appraisal`, `opener`, `follow_up`,
            `reaction`, `closer` or `prompt`.
        text (`str`): the template, with `{slot}` placeholders.
        emotions (`tuple[str, ...]`): the emotions it may be used for (empty: any).
        register (`str`, *optional*): the register it belongs to, if any.
        split (`str`): the one split it belongs to.
    """

    id: str
    kind: str
    text: str
    emotions: tuple[str, ...]
    register: str | None
    split: str


def _assign_splits(group: list[tuple[str, str]]) -> dict[str, str]:
    """Template id -> split for one group: rank by id hash, then 70/15/15 with at least one per split."""
    ranked = sorted(group, key=lambda item: hashlib.sha256(f"emotifusion-split|{item[0]}".encode()).hexdigest())
    size = len(ranked)
    if size < len(SPLITS):
        raise ValueError(f"Template group {[item[0] for item in group]} needs at least {len(SPLITS)} templates.")
    n_validation = max(1, round(size * SPLIT_FRACTIONS["validation"]))
    n_test = max(1, round(size * SPLIT_FRACTIONS["test"]))
    n_train = size - n_validation - n_test
    splits = ["train"] * n_train + ["validation"] * n_validation + ["test"] * n_test
    return {template_id: split for (template_id, _), split in zip(ranked, splits)}


class TemplateBank:
    """
    All templates of `dialogue_lexicon`, each with an id and its split, indexed for generation.

    The bank is the same for every seed: which split a template belongs to is a property of the template.
    """

    def __init__(self):
        groups: dict[tuple, list[tuple[str, str]]] = defaultdict(list)
        meta: dict[str, tuple[str, str, tuple[str, ...], str | None]] = {}

        def add(kind, group, text, emotions, register=None):
            parts = [kind, group] + ([register] if register else []) + [_digest(text)]
            template_id = ".".join(parts)
            if template_id in meta:
                raise ValueError(f"Duplicate template {template_id}: {text!r}")
            meta[template_id] = (kind, text, tuple(emotions), register)
            groups[(kind, group, register)].append((template_id, text))

        frame_tables = (("frame", lexicon.FRAMES), ("continuation", lexicon.CONTINUATIONS), ("filler", lexicon.FILLERS))
        for kind, table in frame_tables:
            for group, (emotions, texts) in table.items():
                for text in texts:
                    add(kind, group, text, emotions)
        for emotion, texts in lexicon.SITUATIONS.items():
            for text in texts:
                add("situation", emotion, text, (emotion,))
        for emotion, by_register in lexicon.EVENTS.items():
            for register, texts in by_register.items():
                for text in texts:
                    add("event", emotion, text, (emotion,), register)
        for kind, table in (("appraisal", lexicon.APPRAISALS), ("reaction", lexicon.REACTIONS)):
            for emotion, texts in table.items():
                for text in texts:
                    add(kind, emotion, text, (emotion,))
        for register, texts in lexicon.OPENERS.items():
            for text in texts:
                add("opener", "any", text, (), register)
        shared_lines = (("follow_up", lexicon.FOLLOW_UPS), ("closer", lexicon.CLOSERS), ("prompt", lexicon.LLM_PROMPTS))
        for kind, texts in shared_lines:
            for text in texts:
                add(kind, "any", text, ())

        self.templates: dict[str, Template] = {}
        self._index: dict[tuple, list[Template]] = defaultdict(list)
        for group in groups.values():
            for template_id, split in _assign_splits(group).items():
                kind, text, emotions, register = meta[template_id]
                template = Template(template_id, kind, text, emotions, register, split)
                self.templates[template_id] = template
                for emotion in emotions or (None,):
                    self._index[(kind, split, emotion, register)].append(template)
                    if register is not None:
                        self._index[(kind, split, emotion, None)].append(template)

    def split_of(self, template_id: str) -> str:
        """The split a template id belongs to."""
        try:
            return self.templates[template_id].split
        except KeyError:
            raise KeyError(f"Unknown template id {template_id!r}.") from None

    def choices(self, kind: str, split: str, emotion: str | None = None, register: str | None = None) -> list[Template]:
        """The templates of `kind` usable for `emotion` (and `register`, falling back to any register) in `split`."""
        found = self._index.get((kind, split, emotion, register))
        if not found and register is not None:
            found = self._index.get((kind, split, emotion, None))
        if not found:
            raise LookupError(
                f"No {kind} template for emotion={emotion!r}, register={register!r} in the {split} split."
            )
        return found

    def ids_by_split(self) -> dict[str, set[str]]:
        result: dict[str, set[str]] = {split: set() for split in SPLITS}
        for template in self.templates.values():
            result[template.split].add(template.id)
        return result


_BANK: TemplateBank | None = None


def template_bank() -> TemplateBank:
    """The process-wide `TemplateBank` (built once; it is immutable)."""
    global _BANK
    if _BANK is None:
        _BANK = TemplateBank()
    return _BANK


# ---------------------------------------------------------------------------------------------------------------
# Dialogues
# ---------------------------------------------------------------------------------------------------------------


@dataclass
class Dialogue:
    """
    One synthetic dialogue.

    Attributes:
        dialogue_id (`str`): unique within a split and seed.
        split (`str`): the split whose templates built it.
        text_label (`int`): index into `EMOTIONS` of the emotion the text expresses.
        turns (`list[str]`): the utterances, in order.
        speakers (`list[str]`): who says each turn.
        focal_speaker (`str`): the speaker carrying the emotion.
        register (`str`): casual, work, family or online.
        intensity (`str`): low, mid or high.
        template_ids (`list[str]`): every split-assigned template used.
        secondary_label (`int`, *optional*): a neighbouring emotion one cue was borrowed from.
        backend (`str`): `"grammar"` or `"llm:<model>"`.
    """

    dialogue_id: str
    split: str
    text_label: int
    turns: list[str]
    speakers: list[str]
    focal_speaker: str
    register: str
    intensity: str
    template_ids: list[str] = field(default_factory=list)
    secondary_label: int | None = None
    backend: str = "grammar"

    @property
    def text(self) -> str:
        """The turns joined with `TURN_SEPARATOR`: exactly what the processor receives."""
        return TURN_SEPARATOR.join(self.turns)

    @property
    def text_label_name(self) -> str:
        return EMOTIONS[self.text_label]

    def to_row(self) -> dict:
        """A flat row for CSV files (`CSV_COLUMNS`); lists are JSON, template ids are joined with `;`."""
        return {
            "dialogue_id": self.dialogue_id,
            "split": self.split,
            "text_label": self.text_label_name,
            "text_label_id": self.text_label,
            "text": self.text,
            "turns": json.dumps(self.turns, ensure_ascii=False),
            "speakers": json.dumps(self.speakers, ensure_ascii=False),
            "focal_speaker": self.focal_speaker,
            "register": self.register,
            "intensity": self.intensity,
            "secondary_label": "" if self.secondary_label is None else EMOTIONS[self.secondary_label],
            "template_ids": ";".join(self.template_ids),
            "backend": self.backend,
        }


# A period after another period is an ellipsis, which trails on rather than ending the sentence.
_SENTENCE_START = re.compile(r"(^|(?<!\.)\.\s+|[!?]\s+)([a-z])")


def _capitalise(match: re.Match) -> str:
    return match.group(1) + match.group(2).upper()


def _sentence_case(text: str) -> str:
    """Capitalise the first letter of the text and of every sentence (after . ! ? and a space, not after ...)."""
    return _SENTENCE_START.sub(_capitalise, text)


class _Composer:
    """Builds one grammar dialogue; holds the per-dialogue state (rng, chosen situation, templates used)."""

    def __init__(self, bank: TemplateBank, split: str, emotion: str, rng: random.Random, blend_probability: float):
        self.bank = bank
        self.split = split
        self.emotion = emotion
        self.rng = rng
        self.used: list[str] = []
        self.register = rng.choices(lexicon.REGISTERS, weights=(0.35, 0.25, 0.2, 0.2))[0]
        self.intensity = rng.choices(INTENSITIES, weights=(0.3, 0.45, 0.25))[0]
        self.focal, self.other = rng.sample(lexicon.NAMES, 2)
        self.event_text: str | None = None
        self.event_used = False
        self.seen_texts: set[str] = set()
        self.blend: str | None = None
        if rng.random() < blend_probability:
            neighbours = NEIGHBOURS[emotion]
            self.blend = rng.choices(list(neighbours), weights=list(neighbours.values()))[0]
        self.blend_pending = self.blend is not None

    # -- template and vocabulary picks ---------------------------------------------------------------------------

    def pick(self, kind: str, emotion: str | None = None, register: str | None = None) -> Template:
        options = self.bank.choices(kind, self.split, emotion, register)
        template = self.rng.choice(options)
        # One retry keeps a dialogue from repeating the same appraisal or reaction twice.
        if template.text in self.seen_texts and len(options) > 1:
            template = self.rng.choice([option for option in options if option.text not in self.seen_texts] or options)
        self.seen_texts.add(template.text)
        self.used.append(template.id)
        return template

    def fill(self, text: str, cues: dict | None = None) -> str:
        cues = cues or {}

        def replace(match):
            slot = match.group(1)
            if slot in cues:
                value = cues[slot]
                return value() if callable(value) else value
            if slot == "focal":
                return self.focal
            if slot == "other":
                return self.other
            if slot in lexicon.SLOTS:
                return self.fill(self.rng.choice(lexicon.SLOTS[slot]))
            if slot in lexicon.SITUATION_SLOTS:
                return self.fill(self.rng.choice(lexicon.SITUATION_SLOTS[slot]))
            raise KeyError(f"Template slot {{{slot}}} has no filler (in {text!r}).")

        return _SLOT.sub(replace, text)

    def phrase(self, table: dict, emotion: str) -> str:
        """A shared-vocabulary phrase (bodily reaction, action tendency) not yet used in this dialogue."""
        options = [text for text in table[emotion] if text not in self.seen_texts] or table[emotion]
        text = self.rng.choice(options)
        self.seen_texts.add(text)
        return self.fill(text)

    def feel(self, emotion: str) -> str:
        word = self.rng.choice(lexicon.EXPLICIT[emotion][self.intensity])
        if " " not in word and emotion != "neutral":
            modifier = self.rng.choice(lexicon.INTENSITY_MODIFIERS[self.intensity])
            if modifier:
                return f"{modifier} {word}"
        return word

    def event(self) -> str:
        if self.event_text is None:
            # Half concrete register-specific events, half situations composed from the shared emotion vocabulary.
            if self.rng.random() < 0.5:
                template = self.pick("event", self.emotion, self.register)
            else:
                template = self.pick("situation", self.emotion)
            self.event_text = self.fill(template.text)
        self.event_used = True
        return self.event_text

    def cue_emotion(self, blendable: bool) -> str:
        """The emotion of the next cue: the dialogue's own, or once the blended neighbour's."""
        if blendable and self.blend_pending and self.rng.random() < 0.6:
            self.blend_pending = False
            return self.blend
        return self.emotion

    def cues(self, blendable: bool) -> dict:
        """Lazy cue fillers for a frame: each is only drawn if the frame uses it."""
        return {
            "event": self.event,
            "feel": lambda: self.feel(self.emotion),
            "body": lambda: self.phrase(lexicon.BODILY, self.cue_emotion(blendable)),
            "appraisal": lambda: self.fill(self.pick("appraisal", self.cue_emotion(blendable)).text),
            "appraisal_lc": lambda: _lower_first(self.fill(self.pick("appraisal", self.cue_emotion(blendable)).text)),
            "action": lambda: self.phrase(lexicon.ACTIONS, self.cue_emotion(blendable)),
            "interj": lambda: self.rng.choice(lexicon.INTERJECTIONS[self.cue_emotion(blendable)]),
            "time": lambda: self.rng.choice(lexicon.SLOTS["time"]),
            "tail": lambda: self.rng.choice(lexicon.TAILS),
        }

    # -- turns -----------------------------------------------------------------------------------------------------

    def main_turn(self) -> str:
        frame = self.pick("frame", self.emotion)
        return self.fill(frame.text, self.cues(blendable=False))

    def later_turn(self, allow_filler: bool) -> tuple[str, bool]:
        if allow_filler and self.rng.random() < 0.22:
            return self.fill(self.pick("filler", self.emotion).text), False
        options = self.bank.choices("continuation", self.split, self.emotion)
        if self.event_used:
            options = [option for option in options if "{event}" not in option.text] or options
        template = self.rng.choice(options)
        self.used.append(template.id)
        return self.fill(template.text, self.cues(blendable=True)), True

    def other_turn(self, position: int, previous_emotional: bool, last: bool, n_turns: int) -> str:
        if position == 0:
            template = self.pick("opener", register=self.register)
        elif last and n_turns >= 4 and self.rng.random() < 0.35:
            template = self.pick("closer")
        elif previous_emotional and self.rng.random() < 0.5:
            reaction = self.fill(self.pick("reaction", self.emotion).text)
            # Listeners often react and ask in one breath.
            if self.rng.random() < 0.3:
                return f"{reaction} {self.fill(self.pick('follow_up').text)}"
            return reaction
        else:
            template = self.pick("follow_up")
        return self.fill(template.text)

    def style(self, text: str, focal: bool) -> str:
        text = _sentence_case(" ".join(text.split()))
        if self.register == "online":
            text = text.lower().rstrip(".")
            if focal and self.rng.random() < 0.5:
                text += self.rng.choice(lexicon.ONLINE_TAGS[self.emotion])
        return text

    def compose(self) -> tuple[list[str], list[str], int | None]:
        rng = self.rng
        n_turns = rng.choices((2, 3, 4, 5, 6), weights=(0.2, 0.25, 0.25, 0.17, 0.13))[0]
        focal_first = rng.random() < 0.5
        speakers = [self.focal if (index % 2 == 0) == focal_first else self.other for index in range(n_turns)]
        turns: list[str] = []
        focal_turns = 0
        previous_emotional = False
        filler_used = False
        for position, speaker in enumerate(speakers):
            if speaker == self.focal:
                if focal_turns == 0:
                    text, previous_emotional = self.main_turn(), True
                else:
                    text, previous_emotional = self.later_turn(allow_filler=not filler_used)
                    filler_used = filler_used or not previous_emotional
                focal_turns += 1
                turns.append(self.style(text, focal=True))
            else:
                text = self.other_turn(position, previous_emotional, position == n_turns - 1, n_turns)
                turns.append(self.style(text, focal=False))
        secondary = None
        if self.blend is not None and not self.blend_pending:
            secondary = EMOTIONS.index(self.blend)
        return turns, speakers, secondary


def _lower_first(text: str) -> str:
    # Keep "I" and names capitalised: only lower a first word that is a common word.
    first, _, rest = text.partition(" ")
    if first.rstrip(",.!?") in ("I", "I'm", "I've", "I'll", "I'd", *lexicon.NAMES):
        return text
    return first[:1].lower() + first[1:] + (" " + rest if rest else "")


class LanguageModelBackend:
    """
    Writes dialogues with a transformers causal language model, prompted from the same split-assigned situations
    and prompt templates as the grammar, so the split guarantees hold.

    Args:
        model_name_or_path (`str`): a local folder or a Hub id of a causal LM and its tokenizer.
        device (`str`, *optional*): where to run it (default: cuda when available, else cpu).
        max_new_tokens (`int`): generation budget per dialogue.
        temperature / top_p (`float`): sampling settings.
    """

    def __init__(self, model_name_or_path: str, *, device: str | None = None, max_new_tokens: int = 96,
                 temperature: float = 0.9, top_p: float = 0.95):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        try:
            self.tokenizer = AutoTokenizer.from_pretrained(model_name_or_path)
            self.model = AutoModelForCausalLM.from_pretrained(model_name_or_path)
        except (OSError, ValueError) as error:
            raise ValueError(f"Cannot load the language model {model_name_or_path!r}: {error}") from error
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.model.to(self.device).eval()
        self.name = str(model_name_or_path)
        self.max_new_tokens = max_new_tokens
        self.temperature = temperature
        self.top_p = top_p

    def complete(self, prompt: str, seed: int) -> str:
        import torch

        inputs = self.tokenizer(prompt, return_tensors="pt").to(self.device)
        pad_token_id = self.tokenizer.pad_token_id
        if pad_token_id is None:
            pad_token_id = self.tokenizer.eos_token_id
        torch.manual_seed(seed % (2**63))
        with torch.no_grad():
            output = self.model.generate(
                **inputs,
                do_sample=True,
                temperature=self.temperature,
                top_p=self.top_p,
                max_new_tokens=self.max_new_tokens,
                min_new_tokens=min(8, self.max_new_tokens),
                pad_token_id=pad_token_id,
            )
        return self.tokenizer.decode(output[0, inputs["input_ids"].shape[1]:], skip_special_tokens=True)


def split_generated_turns(text: str, speakers: tuple[str, str], max_turns: int = 6) -> list[str]:
    """
    Cut a model's continuation into 2-`max_turns` turns: by line (dropping `Name:` prefixes), else by sentence,
    else by halving the words. Returns fewer than two turns only when the text has fewer than two words.
    """
    prefix = re.compile(r"^\s*(?:%s|[A-Z][\w]{0,20})\s*:\s*" % "|".join(re.escape(name) for name in speakers))
    turns = [prefix.sub("", line).strip() for line in text.splitlines()]
    turns = [turn for turn in turns if turn]
    if len(turns) < 2:
        turns = [part.strip() for part in re.split(r"(?<=[.!?])\s+", " ".join(turns)) if part.strip()]
    if len(turns) < 2:
        words = " ".join(turns).split()
        if len(words) < 2:
            return turns
        middle = len(words) // 2
        turns = [" ".join(words[:middle]), " ".join(words[middle:])]
    return turns[:max_turns]


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
        self.split = _check_split(split)
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
        rng = random.Random(_derived_seed("dialogue", self.seed, self.split, emotion, key))
        dialogue_id = dialogue_id or f"{self.split}-{emotion}-{key}"
        composer = _Composer(self.bank, self.split, emotion, rng, self.blend_probability)
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

    def _generate_with_model(self, composer: _Composer, emotion: str, dialogue_id: str, rng: random.Random) -> Dialogue:
        n_turns = rng.randint(2, 6)
        event = composer.event()
        prompt_template = composer.pick("prompt")
        prompt = composer.fill(
            prompt_template.text,
            {"emotion": composer.feel(emotion), "event": event, "n": str(n_turns), "register": composer.register},
        )
        for attempt in range(3):
            completion = self.language_model.complete(prompt, _derived_seed("llm", self.seed, dialogue_id, attempt))
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


# ---------------------------------------------------------------------------------------------------------------
# Diversity and files
# ---------------------------------------------------------------------------------------------------------------


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


class DiversityMeter:
    """
    Accumulates diversity statistics over a stream of dialogues (memory grows with the vocabulary, not the rows).

    `report()` gives `num_dialogues`, `per_label`, `distinct_1` / `distinct_2` (distinct uni-/bigrams over all
    uni-/bigrams, corpus level, within turns), `duplicate_rate` (share of dialogues whose text repeats an earlier
    one), `mean_turns`, `mean_words`, `vocabulary_size`, `templates_used` and `blended_rate`.
    """

    def __init__(self):
        self.unigrams: set[str] = set()
        self.bigrams: set[tuple[str, str]] = set()
        self.total_unigrams = self.total_bigrams = 0
        self.text_digests: set[bytes] = set()
        self.count = self.duplicates = self.blended = self.turns = 0
        self.per_label: Counter = Counter()
        self.templates: set[str] = set()

    def add(self, dialogue: Dialogue) -> None:
        self.count += 1
        self.per_label[dialogue.text_label_name] += 1
        self.turns += len(dialogue.turns)
        self.blended += dialogue.secondary_label is not None
        self.templates.update(dialogue.template_ids)
        digest = hashlib.sha1(dialogue.text.encode("utf-8")).digest()
        self.duplicates += digest in self.text_digests
        self.text_digests.add(digest)
        for turn in dialogue.turns:
            words = _words(turn)
            self.unigrams.update(words)
            self.bigrams.update(zip(words, words[1:]))
            self.total_unigrams += len(words)
            self.total_bigrams += max(0, len(words) - 1)

    def report(self) -> dict:
        count = self.count
        return {
            "num_dialogues": count,
            "per_label": {emotion: self.per_label.get(emotion, 0) for emotion in EMOTIONS},
            "distinct_1": round(len(self.unigrams) / self.total_unigrams, 4) if self.total_unigrams else 0.0,
            "distinct_2": round(len(self.bigrams) / self.total_bigrams, 4) if self.total_bigrams else 0.0,
            "duplicate_rate": round(self.duplicates / count, 4) if count else 0.0,
            "mean_turns": round(self.turns / count, 3) if count else 0.0,
            "mean_words": round(self.total_unigrams / count, 2) if count else 0.0,
            "vocabulary_size": len(self.unigrams),
            "templates_used": len(self.templates),
            "blended_rate": round(self.blended / count, 4) if count else 0.0,
        }


def diversity_report(dialogues: Iterable[Dialogue]) -> dict:
    """The `DiversityMeter` report of a set of dialogues."""
    meter = DiversityMeter()
    for dialogue in dialogues:
        meter.add(dialogue)
    return meter.report()


def write_dialogues_csv(dialogues: Iterable[Dialogue], path: str) -> Iterator[Dialogue]:
    """Write dialogues to a CSV file (`CSV_COLUMNS`) as they stream past; yields each one after writing it."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        for dialogue in dialogues:
            writer.writerow(dialogue.to_row())
            yield dialogue


def read_dialogues_csv(path: str) -> list[Dialogue]:
    """Read back a file written by `write_dialogues_csv`."""
    dialogues = []
    with open(path, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            dialogues.append(
                Dialogue(
                    dialogue_id=row["dialogue_id"],
                    split=row["split"],
                    text_label=EMOTIONS.index(row["text_label"]),
                    turns=json.loads(row["turns"]),
                    speakers=json.loads(row["speakers"]),
                    focal_speaker=row["focal_speaker"],
                    register=row["register"],
                    intensity=row["intensity"],
                    template_ids=[value for value in row["template_ids"].split(";") if value],
                    secondary_label=EMOTIONS.index(row["secondary_label"]) if row["secondary_label"] else None,
                    backend=row["backend"],
                )
            )
    return dialogues


# ---------------------------------------------------------------------------------------------------------------
# Command line: `python -m dataset_builder dialogues`
# ---------------------------------------------------------------------------------------------------------------


def add_dialogue_arguments(parser) -> None:
    """Arguments of the `dialogues` subcommand."""
    parser.add_argument("--per-label", type=int, required=True, help="Dialogues to write per emotion.")
    parser.add_argument("--seed", type=int, default=0, help="Base seed (same seed, same file).")
    parser.add_argument("--split", choices=SPLITS, default="train", help="Whose templates to use.")
    parser.add_argument("--out", required=True, help="Output CSV file.")
    parser.add_argument("--backend", choices=BACKENDS, default="grammar", help="Grammar (default) or a language model.")
    parser.add_argument("--llm-model", default=None, help="With --backend llm: a local model folder or a Hub id.")
    parser.add_argument("--max-new-tokens", type=int, default=96, help="With --backend llm: tokens per dialogue.")
    parser.add_argument("--report", default=None, help="Also write the diversity report (JSON) to this file.")
    parser.add_argument("--no-progress", action="store_true", help="Hide the progress bar.")


def run_dialogues(args) -> dict:
    """Run the `dialogues` subcommand: write the CSV, print (and optionally save) the diversity report."""
    from tqdm.auto import tqdm

    if args.per_label < 1:
        raise ValueError(f"--per-label must be >= 1, got {args.per_label}.")
    if args.backend == "llm" and not args.llm_model:
        raise ValueError("--backend llm needs --llm-model (a local model folder or a Hub model id).")
    llm_kwargs = {"max_new_tokens": args.max_new_tokens} if args.backend == "llm" else {}
    generator = DialogueGenerator(
        split=args.split, seed=args.seed, backend=args.backend, llm_model=args.llm_model, **llm_kwargs
    )
    total = args.per_label * len(EMOTIONS)
    stream = tqdm(
        generator.generate_many(args.per_label), total=total, desc=f"Dialogues ({args.split})", unit=" dialogues",
        disable=args.no_progress,
    )
    report = diversity_report(write_dialogues_csv(stream, args.out))
    report.update({"split": args.split, "seed": args.seed, "backend": args.backend, "out": args.out})
    if args.report:
        with open(args.report, "w", encoding="utf-8") as handle:
            json.dump(report, handle, indent=2)
    print(json.dumps(report, indent=2), file=sys.stderr)
    return report


__all__ = [
    "BACKENDS",
    "CSV_COLUMNS",
    "NEIGHBOURS",
    "SPLITS",
    "TURN_SEPARATOR",
    "Dialogue",
    "DialogueGenerator",
    "DiversityMeter",
    "LanguageModelBackend",
    "Template",
    "TemplateBank",
    "add_dialogue_arguments",
    "diversity_report",
    "generate_dialogues",
    "label_name",
    "read_dialogues_csv",
    "run_dialogues",
    "split_generated_turns",
    "template_bank",
    "write_dialogues_csv",
]
