"""Emotion classification figures as an `evaluate` metric: accuracy, macro-F1 and weighted-F1 (scikit-learn).

Loaded from this file, offline: `evaluate.load("<this folder>")`. A class that never occurs and is never predicted
has no F1 of its own: as in scikit-learn's default, the macro average runs over the classes seen in either input.
"""

import datasets
import evaluate
import numpy as np
from sklearn import metrics


_DESCRIPTION = """Accuracy, macro-F1 and weighted-F1 of predicted class ids against the true ones."""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list[int]`): predicted class ids.
    references (`list[int]`): true class ids.
Returns:
    `{"accuracy", "macro_f1", "weighted_f1", "num_samples"}`; every figure is 0.0 over no samples.
Example:
    >>> metric = evaluate.load("training/metric_modules/emotion_classification")
    >>> metric.compute(predictions=[0, 1, 1], references=[0, 1, 2])["accuracy"]
    0.6666666666666666
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class EmotionClassification(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation="",
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features({"predictions": datasets.Value("int64"), "references": datasets.Value("int64")}),
            reference_urls=["https://scikit-learn.org/stable/modules/model_evaluation.html"],
        )

    def _compute(self, predictions, references):
        predictions = np.asarray(predictions, dtype=np.int64)
        references = np.asarray(references, dtype=np.int64)
        if not references.size:
            return {"accuracy": 0.0, "macro_f1": 0.0, "weighted_f1": 0.0, "num_samples": 0}
        return {
            "accuracy": float(metrics.accuracy_score(references, predictions)),
            "macro_f1": float(metrics.f1_score(references, predictions, average="macro", zero_division=0.0)),
            "weighted_f1": float(metrics.f1_score(references, predictions, average="weighted", zero_division=0.0)),
            "num_samples": int(references.size),
        }
