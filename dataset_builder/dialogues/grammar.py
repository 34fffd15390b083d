"""The grammar backend: composes one dialogue from split-assigned templates and the shared emotion vocabulary."""

import random
import re

from emotifusion_hf.labels import CONFUSIONS, EMOTIONS

from . import lexicon
from .templates import Template, TemplateBank


INTENSITIES = ("low", "mid", "high")
# Most real talk comes one line at a time (a comment, a reply); two or three turns are next, six are rare.
TURN_COUNTS = (1, 2, 3, 4, 5, 6)
TURN_COUNT_WEIGHTS = (0.6, 0.25, 0.1, 0.03, 0.01, 0.01)
# Share of focal turns that are everyday remarks rather than a situation told in a sentence frame.
REMARK_SHARE = 0.9
# A leading interjection ("Ugh.", "Ew.") marks the emotion by form alone; real comments seldom open with one.
INTERJECTION_SHARE = 0.05
# Share of opening remarks followed by a second one: real comments run one to three short sentences.
TWO_REMARK_SHARE = 0.45
ALONE_TWO_REMARK_SHARE = 0.8
# Share of dialogues the focal speaker opens, and of replies that react to an emotional turn in kind.
FOCAL_FIRST_SHARE = 0.5
REACTION_SHARE = 0.75
_SLOT = re.compile(r"\{(\w+)\}")


# A period after another period is an ellipsis, which trails on rather than ending the sentence.
_SENTENCE_START = re.compile(r"(^|(?<!\.)\.\s+|[!?]\s+)([a-z])")


def _capitalise(match: re.Match) -> str:
    return match.group(1) + match.group(2).upper()


def _sentence_case(text: str) -> str:
    """Capitalise the first letter of the text and of every sentence (after . ! ? and a space, not after ...)."""
    return _SENTENCE_START.sub(_capitalise, text)


class GrammarComposer:
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
            neighbours = CONFUSIONS[emotion]
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
            "judge": lambda: self.rng.choice(lexicon.JUDGEMENTS[self.emotion]),
            "time": lambda: self.rng.choice(lexicon.SLOTS["time"]),
            "tail": lambda: self.rng.choice(lexicon.TAILS),
        }

    # -- turns -----------------------------------------------------------------------------------------------------

    def remark(self) -> str:
        text = self.fill(self.pick("remark", self.emotion).text, self.cues(blendable=False))
        # People lead with an interjection ("Ugh.", "Ew.", "Wait, what?"); the shared words also carry an unseen
        # held-out line.
        if self.rng.random() < INTERJECTION_SHARE and not text.startswith(("Ugh", "Ew", "Wow", "Whoa", "Oh")):
            text = f"{self.rng.choice(lexicon.INTERJECTIONS[self.cue_emotion(blendable=True)])} {text}"
        return text

    def main_turn(self, alone: bool = False) -> str:
        if self.rng.random() < REMARK_SHARE:
            text = self.remark()
            # A one-line dialogue is the whole comment: it more often runs to a second sentence.
            if self.rng.random() < (ALONE_TWO_REMARK_SHARE if alone else TWO_REMARK_SHARE):
                text = f"{text} {self.remark()}"
            return text
        frame = self.pick("frame", self.emotion)
        return self.fill(frame.text, self.cues(blendable=False))

    def later_turn(self, allow_filler: bool) -> tuple[str, bool]:
        if allow_filler and self.rng.random() < 0.1:
            return self.fill(self.pick("filler", self.emotion).text), False
        if self.rng.random() < REMARK_SHARE:
            return self.remark(), True
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
        elif previous_emotional and self.rng.random() < REACTION_SHARE:
            reaction = self.fill(self.pick("reaction", self.emotion).text)
            # Listeners often react and ask in one breath.
            if self.rng.random() < 0.15:
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
        n_turns = rng.choices(TURN_COUNTS, weights=TURN_COUNT_WEIGHTS)[0]
        focal_first = n_turns == 1 or rng.random() < FOCAL_FIRST_SHARE
        speakers = [self.focal if (index % 2 == 0) == focal_first else self.other for index in range(n_turns)]
        turns: list[str] = []
        focal_turns = 0
        previous_emotional = False
        filler_used = False
        for position, speaker in enumerate(speakers):
            if speaker == self.focal:
                if focal_turns == 0:
                    text, previous_emotional = self.main_turn(alone=n_turns == 1), True
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




__all__ = ["INTENSITIES", "GrammarComposer"]
