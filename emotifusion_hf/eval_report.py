"""The evaluation report's schema: its file name, keys and head names, in one place for the code that writes it
(`training.evaluate`), the model card that reads it and the benchmarks.

`eval_report.json` holds:
- `split`, `num_samples`, `temperature`;
- one entry per head in `HEADS` (`fused`, `image_only`, `text_only`): accuracy, macro-/weighted-F1, ECE, per-class
  precision/recall/F1/support and the confusion matrix, all against the face label; `fused` and `image_only` of a
  model with valence/arousal heads also hold `affect`: `{"valence": {"ccc", "rmse", "pcc", "sagr", "num_samples"},
  "arousal": {...}}` over the samples whose valence/arousal is annotated;
- `text_only_vs_text_label`: the text-only head against the emotion of the dialogue itself (what it learns);
- `text_missing` / `image_missing`: the fused head given only the image / only the dialogue;
- `calibration`: the temperature and the fused ECE before and after applying it;
- `dataset_agreement`, `as_paired` (`agree` / `disagree` subsets) and `agreement_levels` (the fused and text-only
  heads when the test faces are re-paired with dialogues that agree with them in a given share of samples).

A report written by `training.train` from the `Trainer`'s own evaluation (`--do_eval` / `--do_predict`) holds the
summary figures only (accuracy, macro-/weighted-F1, ECE, `affect` CCC/RMSE/PCC/SAGR) and says so in `source`.
"""

EVAL_REPORT_NAME = "eval_report.json"
TRAINING_SUMMARY_NAME = "training_summary.json"

# Report key -> how the card and the bench name that head.
HEADS = {"fused": "image + text (fused)", "image_only": "image only", "text_only": "text only"}
TEXT_LABEL_HEAD = "text_only_vs_text_label"
MISSING_MODALITY = {"text_missing": "text missing", "image_missing": "image missing"}

SPLIT = "split"
NUM_SAMPLES = "num_samples"
TEMPERATURE = "temperature"
CALIBRATION = "calibration"
DATASET_AGREEMENT = "dataset_agreement"
AS_PAIRED = "as_paired"
AGREEMENT_LEVELS = "agreement_levels"
SOURCE = "source"
TRAINER_EVALUATION_SOURCE = "training.train (Trainer evaluation)"

# Valence/arousal: the key inside a head's entry, the heads that have one, the dimensions and their figures.
AFFECT = "affect"
AFFECT_HEADS = {"fused": HEADS["fused"], "image_only": HEADS["image_only"]}
AFFECT_DIMENSIONS = ("valence", "arousal")
AFFECT_FIGURES = ("ccc", "rmse", "pcc", "sagr")


__all__ = [
    "AFFECT", "AFFECT_DIMENSIONS", "AFFECT_FIGURES", "AFFECT_HEADS", "SOURCE", "TRAINER_EVALUATION_SOURCE",
    "AGREEMENT_LEVELS", "AS_PAIRED", "CALIBRATION", "DATASET_AGREEMENT", "EVAL_REPORT_NAME", "HEADS",
    "MISSING_MODALITY", "NUM_SAMPLES", "SPLIT", "TEMPERATURE", "TEXT_LABEL_HEAD", "TRAINING_SUMMARY_NAME",
]
