"""One dialogue: its turns, speakers, the emotion it expresses and the templates that built it."""

import hashlib
import json
from dataclasses import dataclass, field

from emotifusion_hf.labels import EMOTIONS


SPLITS = ("train", "validation", "test")
# How a dialogue's turns are joined in its `text` column (what the processor receives as one string).
TURN_SEPARATOR = "\n"


def derived_seed(*parts) -> int:
    """A 64-bit seed from any parts: a dialogue depends only on what it is seeded from, never on generation order."""
    return int.from_bytes(hashlib.sha256("|".join(map(str, parts)).encode("utf-8")).digest()[:8], "big")


def check_split(split: str) -> str:
    if split not in SPLITS:
        raise ValueError(f"Unknown split {split!r}: expected one of {SPLITS}.")
    return split


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
        register (`str`): casual, work, family or online; `corpus` for a real utterance.
        intensity (`str`): low, mid or high; `unrated` for a real utterance.
        template_ids (`list[str]`): every split-assigned template used, and the ids of corpus utterances
            (`corpus.<name>.<digest>`, the focal one first).
        secondary_label (`int`, *optional*): a neighbouring emotion one cue was borrowed from.
        backend (`str`): `"grammar"`, `"corpus:<name>"` or `"llm:<model>"`.
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




__all__ = ["SPLITS", "TURN_SEPARATOR", "Dialogue", "check_split", "derived_seed"]
