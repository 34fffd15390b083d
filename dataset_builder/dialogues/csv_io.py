"""Dialogues as CSV files: one row per dialogue (`CSV_COLUMNS`), streamed."""

import csv
import json
from collections.abc import Iterable, Iterator

from emotifusion_hf.labels import EMOTIONS

from .dialogue import Dialogue


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




__all__ = ["CSV_COLUMNS", "read_dialogues_csv", "write_dialogues_csv"]
