"""The eight emotions, their spellings in other datasets, and which of them people (and faces) confuse.

Imports nothing: the configuration (remote code, so this file travels with every checkpoint), the dataset builder
and the torch-free runtimes all read the labels from here.
"""

EMOTIONS = ("anger", "contempt", "disgust", "fear", "happy", "neutral", "sad", "surprise")

# Class-name spellings found in AffectNet derivatives, FER-style folders, YOLO exports and text corpora.
LABEL_ALIASES = {
    "anger": ("anger", "angry", "angered", "mad", "rage", "fury", "furious"),
    "contempt": ("contempt", "contemptuous", "contemptful", "disdain", "disdainful", "scorn", "scornful"),
    "disgust": ("disgust", "disgusted", "disgusting", "revulsion", "repulsion"),
    "fear": ("fear", "fearful", "feared", "scared", "afraid", "fright", "frightened", "terrified"),
    "happy": ("happy", "happiness", "joy", "joyful", "joyous", "smile", "smiling", "happy face"),
    "neutral": ("neutral", "neutrality", "calm", "neutral face"),
    "sad": ("sad", "sadness", "sorrow", "sorrowful", "unhappy"),
    "surprise": ("surprise", "surprised", "surprising", "astonished", "astonishment", "amazed", "shocked", "shock"),
}

# Which emotions each one is plausibly mistaken for, with weights summing to 1 per emotion: the fear/surprise,
# anger/disgust/contempt and sad/neutral confusions of facial-expression and dialogue-emotion studies. The dataset
# builder pairs a face with a dialogue of a neighbouring emotion from this table, and the demo faces borrow
# features from a neighbour's expression.
CONFUSIONS = {
    "anger": {"disgust": 0.4, "contempt": 0.4, "sad": 0.2},
    "contempt": {"anger": 0.35, "disgust": 0.35, "neutral": 0.2, "happy": 0.1},
    "disgust": {"anger": 0.4, "contempt": 0.4, "sad": 0.2},
    "fear": {"surprise": 0.6, "sad": 0.2, "disgust": 0.2},
    "happy": {"surprise": 0.5, "neutral": 0.4, "contempt": 0.1},
    "neutral": {"sad": 0.5, "contempt": 0.3, "happy": 0.2},
    "sad": {"neutral": 0.5, "fear": 0.25, "disgust": 0.25},
    "surprise": {"fear": 0.45, "happy": 0.45, "neutral": 0.1},
}


class UnknownLabelError(ValueError):
    """A label name that no alias maps to one of the eight emotions."""


def normalize_label_name(name: str) -> str:
    return " ".join(str(name).strip().lower().replace("_", " ").replace("-", " ").split())


_ALIAS_TO_ID = {
    normalize_label_name(alias): EMOTIONS.index(emotion) for emotion, aliases in LABEL_ALIASES.items() for alias in aliases
}


def resolve_label(name: str, *, where: str = "", aliases: dict[str, str] | None = None) -> int:
    """The index in `EMOTIONS` of a label spelt `name` (`"Angry"`, `"happiness"`, `"surprised"`, ...).

    `aliases` adds the caller's own spellings (`{"joy": "happy"}`); its values must be our emotion names.

    Raises:
        UnknownLabelError: naming `name` (and `where` it was found) when no alias matches.
    """
    key = normalize_label_name(name)
    if aliases:
        extra = {normalize_label_name(alias): target for alias, target in aliases.items()}
        if key in extra:
            return resolve_label(extra[key], where=where)
    label = _ALIAS_TO_ID.get(key)
    if label is None:
        place = f" in {where}" if where else ""
        raise UnknownLabelError(
            f"Unknown class name {name!r}{place}: it matches none of the eight emotions {EMOTIONS} or their aliases "
            f"({', '.join(sorted(_ALIAS_TO_ID))}). Rename the class or drop it from the data."
        )
    return label


def label_name(label: int | str) -> str:
    """The emotion name of a label given as an index into `EMOTIONS` or as a name (validated either way)."""
    if isinstance(label, str):
        if label not in EMOTIONS:
            raise ValueError(f"Unknown emotion {label!r}: expected one of {EMOTIONS}.")
        return label
    if not 0 <= int(label) < len(EMOTIONS):
        raise ValueError(f"Emotion index {label} is out of range 0-{len(EMOTIONS) - 1}.")
    return EMOTIONS[int(label)]


__all__ = ["CONFUSIONS", "EMOTIONS", "LABEL_ALIASES", "UnknownLabelError", "label_name", "normalize_label_name",
           "resolve_label"]
