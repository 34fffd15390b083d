"""How varied a set of dialogues is: distinct-n, duplicates, length, vocabulary, templates used."""

import hashlib
import re
from collections import Counter
from collections.abc import Iterable

from emotifusion_hf.labels import EMOTIONS

from .dialogue import Dialogue


_WORD = re.compile(r"[a-z0-9']+")


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


class DiversityMeter:
    """
    Accumulates diversity statistics over a stream of dialogues (memory grows with the vocabulary, not the rows).

    `report()` gives `num_dialogues`, `per_label`, `distinct_1` / `distinct_2` (distinct uni-/bigrams over all
    uni-/bigrams, corpus level, within turns), `duplicate_rate` (share of dialogues whose text repeats an earlier
    one), `mean_turns`, `mean_words`, `vocabulary_size`, `templates_used`, `blended_rate` and `backends` (dialogues
    per backend: the corpus backend falls back to the grammar for emotions its corpus lacks).
    """

    def __init__(self):
        self.unigrams: set[str] = set()
        self.bigrams: set[tuple[str, str]] = set()
        self.total_unigrams = self.total_bigrams = 0
        self.text_digests: set[bytes] = set()
        self.count = self.duplicates = self.blended = self.turns = 0
        self.per_label: Counter = Counter()
        self.templates: set[str] = set()
        self.backends: Counter = Counter()

    def add(self, dialogue: Dialogue) -> None:
        self.count += 1
        self.per_label[dialogue.text_label_name] += 1
        self.turns += len(dialogue.turns)
        self.blended += dialogue.secondary_label is not None
        self.templates.update(dialogue.template_ids)
        self.backends[dialogue.backend] += 1
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
            "backends": dict(sorted(self.backends.items())),
        }


def diversity_report(dialogues: Iterable[Dialogue]) -> dict:
    """The `DiversityMeter` report of a set of dialogues."""
    meter = DiversityMeter()
    for dialogue in dialogues:
        meter.add(dialogue)
    return meter.report()




__all__ = ["DiversityMeter", "diversity_report"]
