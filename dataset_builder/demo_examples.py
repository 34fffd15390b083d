"""Example inputs for the interactive demo: a few procedural faces, each with a dialogue that says the same emotion.

Both come from this package's own generators (`demo_faces.render_face` and the grammar dialogue backend, test-split
templates), seeded, so the examples are the same on every machine and never need a download.
"""

import os
from pathlib import Path

from emotifusion_hf.labels import EMOTIONS

from .demo_faces import render_face
from .dialogues import generate_dialogues


DEFAULT_EXAMPLE_EMOTIONS = ("happy", "surprise", "anger", "sad")


def write_demo_examples(folder, emotions=DEFAULT_EXAMPLE_EMOTIONS, seed: int = 0, size: int = 224) -> list[list[str]]:
    """Write one face per emotion in `emotions` into `folder` (`<emotion>.png`) and return
    `[[image path, dialogue (one turn per line)], ...]` in that order."""
    unknown = [emotion for emotion in emotions if emotion not in EMOTIONS]
    if unknown:
        raise ValueError(f"Unknown emotion(s) {unknown}: expected names from {EMOTIONS}.")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    dialogues = {}
    for dialogue in generate_dialogues(per_label=1, seed=seed, split="test"):
        dialogues.setdefault(EMOTIONS[dialogue.text_label], dialogue)
    examples = []
    for index, emotion in enumerate(emotions):
        # A frontal, evenly lit face (variation 0.3) reads clearly at a glance; the expression still varies.
        path = folder / f"{emotion}.png"
        render_face(emotion, seed * 1000 + index, size=size, variation=0.3).save(path)
        examples.append([os.fspath(path), "\n".join(dialogues[emotion].turns)])
    return examples


__all__ = ["DEFAULT_EXAMPLE_EMOTIONS", "write_demo_examples"]
