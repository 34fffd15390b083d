"""Valence and arousal regression figures as an `evaluate` metric, per dimension: CCC, RMSE, PCC and SAGR.

Loaded from this file, offline: `evaluate.load("<this folder>")`. The figures AffectNet results are reported in:

- CCC, the concordance correlation coefficient (Lin, 1989): `2 cov(p, t) / (var p + var t + (mean p - mean t)^2)`,
  1 for perfect agreement, 0 for none; unlike PCC it also punishes a shift or a wrong spread;
- RMSE, the root mean squared error;
- PCC, Pearson's correlation (0 where either side is constant);
- SAGR, the sign agreement: the share of samples whose prediction has the sign of the truth (0 counts as positive).

Only annotated values count: a reference that is NaN or AffectNet's -2 ("not annotated") is left out of its
dimension, and the number of values used is returned as `num_samples`.
"""

import datasets
import evaluate
import numpy as np


_DESCRIPTION = """CCC, RMSE, PCC and SAGR of predicted valence and arousal against annotated ones."""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list[list[float]]`): `[valence, arousal]` per sample, in [-1, 1].
    references (`list[list[float]]`): `[valence, arousal]` per sample; NaN or -2 where not annotated.
Returns:
    `{"valence": {"ccc", "rmse", "pcc", "sagr", "num_samples"}, "arousal": {...}}`; a dimension with no annotated
    value has `num_samples` 0 and NaN figures (there is nothing to score, and 0 would read as a score).
Example:
    >>> metric = evaluate.load("training/metric_modules/valence_arousal")
    >>> metric.compute(predictions=[[0.5, 0.1], [-0.5, 0.2]], references=[[0.5, -2], [-0.5, -2]])["valence"]["ccc"]
    1.0
"""

DIMENSIONS = ("valence", "arousal")
NOT_ANNOTATED = -2.0


def concordance_correlation(predictions: np.ndarray, references: np.ndarray) -> float:
    """Lin's concordance correlation coefficient (population moments); 1.0 for identical constants."""
    predicted_mean, reference_mean = predictions.mean(), references.mean()
    covariance = ((predictions - predicted_mean) * (references - reference_mean)).mean()
    spread = predictions.var() + references.var() + (predicted_mean - reference_mean) ** 2
    if spread == 0:
        return 1.0
    return float(2.0 * covariance / spread)


def dimension_figures(predictions: np.ndarray, references: np.ndarray) -> dict:
    """The four figures of one dimension over its annotated samples."""
    given = np.isfinite(references) & (references != NOT_ANNOTATED)
    predictions, references = predictions[given], references[given]
    if not references.size:
        nan = float("nan")
        return {"ccc": nan, "rmse": nan, "pcc": nan, "sagr": nan, "num_samples": 0}
    constant = predictions.size < 2 or np.ptp(predictions) == 0 or np.ptp(references) == 0
    return {
        "ccc": concordance_correlation(predictions, references),
        "rmse": float(np.sqrt(np.mean((predictions - references) ** 2))),
        "pcc": 0.0 if constant else float(np.corrcoef(predictions, references)[0, 1]),
        "sagr": float(np.mean((predictions >= 0) == (references >= 0))),
        "num_samples": int(references.size),
    }


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class ValenceArousal(evaluate.Metric):
    def _info(self):
        pair = datasets.Sequence(datasets.Value("float64"), length=len(DIMENSIONS))
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation="",
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features({"predictions": pair, "references": pair}),
            reference_urls=["https://doi.org/10.2307/2532051"],
        )

    def _compute(self, predictions, references):
        predictions = np.asarray(predictions, dtype=np.float64).reshape(-1, len(DIMENSIONS))
        references = np.asarray(references, dtype=np.float64).reshape(-1, len(DIMENSIONS))
        if not np.isfinite(predictions).all():
            raise ValueError("valence_arousal: `predictions` hold NaN or infinite values; predictions must be numbers.")
        return {
            name: dimension_figures(predictions[:, index], references[:, index])
            for index, name in enumerate(DIMENSIONS)
        }
