"""Grammar templates with ids, each assigned to exactly one split by a hash of its id (70/15/15 per group)."""

import hashlib
from collections import defaultdict
from dataclasses import dataclass

from . import lexicon
from .dialogue import SPLITS


SPLIT_FRACTIONS = {"train": 0.7, "validation": 0.15, "test": 0.15}


def _digest(text: str, length: int = 8) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


@dataclass(frozen=True)
class Template:
    """
    One grammar template.

    Attributes:
        id (`str`): `kind.group[.register].digest`, stable while the text does not change.
        kind (`str`): `frame`, `continuation`, `filler`, `event`, `situation`, `appraisal`, `remark`, `opener`,
            `follow_up`, `reaction`, `closer` or `prompt`.
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
        per_emotion_tables = (
            ("appraisal", lexicon.APPRAISALS),
            ("reaction", lexicon.REACTIONS),
            ("remark", lexicon.REMARKS),
        )
        for kind, table in per_emotion_tables:
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




__all__ = ["SPLIT_FRACTIONS", "Template", "TemplateBank", "template_bank"]
