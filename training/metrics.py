"""Metrics of the classification and valence/arousal heads: the standard figures come from `evaluate` metric modules
shipped in `training/metric_modules/` (loaded from those files, never from the Hub; scikit-learn inside), plus what no
library offers here: calibration (ECE, reliability bins and diagram, NLL, temperature fitting), the per-head report,
the valence-arousal scatter and the `Trainer`'s `compute_metrics`.

Everything takes plain arrays: `labels` of shape `(n,)` holding class ids and `logits` or `probabilities` of shape
`(n, num_classes)`. Plots are written with matplotlib's Agg backend, so no display is needed.
"""

import functools
import math
import os
from collections.abc import Sequence

import numpy as np
import torch
from sklearn import metrics as sklearn_metrics

from emotifusion_hf import EMOTIONS


DEFAULT_NUM_BINS = 15
METRIC_MODULES_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "metric_modules")
CLASSIFICATION_METRIC = "emotion_classification"
AFFECT_METRIC = "valence_arousal"
AFFECT_DIMENSIONS = ("valence", "arousal")


@functools.cache
def load_metric(name: str):
    """One of the packaged `evaluate` metric modules (`emotion_classification`, `valence_arousal`), loaded from its
    file in `training/metric_modules/`: works offline, and the figures never depend on what the Hub holds today."""
    import evaluate

    path = os.path.join(METRIC_MODULES_DIR, name)
    if not os.path.isfile(os.path.join(path, f"{name}.py")):
        raise FileNotFoundError(f"No packaged metric `{name}` (looked for {path}/{name}.py).")
    return evaluate.load(path, module_type="metric")


def affect_report(predictions, references) -> dict:
    """`{"valence": {"ccc", "rmse", "pcc", "sagr", "num_samples"}, "arousal": {...}}` of `(n, 2)` predicted against
    `(n, 2)` annotated valence/arousal (NaN or -2 where not annotated, left out), through the `valence_arousal`
    metric module."""
    predictions = np.asarray(predictions, dtype=np.float64)
    references = np.asarray(references, dtype=np.float64)
    if predictions.ndim != 2 or predictions.shape[1] != 2 or references.shape != predictions.shape:
        raise ValueError(f"Valence/arousal `predictions` and `references` must both have shape (n, 2), got "
                         f"{predictions.shape} and {references.shape}.")
    return load_metric(AFFECT_METRIC).compute(predictions=predictions.tolist(), references=references.tolist())


def _check_labels(labels, num_classes: int) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"`labels` must be a 1-D array of class ids, got shape {labels.shape}.")
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"`labels` must be class ids in [0, {num_classes - 1}], got values in "
                         f"[{labels.min()}, {labels.max()}].")
    return labels.astype(np.int64)


def _check_scores(scores, labels: np.ndarray, name: str) -> np.ndarray:
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 2 or scores.shape[0] != labels.shape[0]:
        raise ValueError(f"`{name}` must have shape ({labels.shape[0]}, num_classes), got {scores.shape}.")
    return scores


def softmax(logits, temperature: float = 1.0) -> np.ndarray:
    """Row-wise softmax of `logits / temperature`, computed stably."""
    if not temperature > 0:
        raise ValueError(f"`temperature` must be > 0, got {temperature!r}.")
    scaled = np.asarray(logits, dtype=np.float64) / temperature
    scaled = scaled - scaled.max(axis=-1, keepdims=True)
    exp = np.exp(scaled)
    return exp / exp.sum(axis=-1, keepdims=True)


def confusion_matrix(labels, predictions, num_classes: int = len(EMOTIONS)) -> np.ndarray:
    """`(num_classes, num_classes)` counts: row = true class, column = predicted class."""
    labels = _check_labels(labels, num_classes)
    predictions = _check_labels(predictions, num_classes)
    if predictions.shape != labels.shape:
        raise ValueError(f"`predictions` has shape {predictions.shape} but `labels` has shape {labels.shape}.")
    if not labels.size:
        # scikit-learn refuses empty input; nothing to count is an all-zero matrix.
        return np.zeros((num_classes, num_classes), dtype=np.int64)
    return sklearn_metrics.confusion_matrix(labels, predictions, labels=np.arange(num_classes))


def classification_report(labels, predictions, class_names: Sequence[str] = EMOTIONS) -> dict:
    """Accuracy, macro- and weighted-F1, per-class precision/recall/F1/support and the confusion matrix
    (scikit-learn's figures).

    A class that never occurs and is never predicted has no defined F1: as in scikit-learn's default, the macro
    average runs over the classes that occur in `labels` or `predictions` only. Undefined precision or recall
    (nothing predicted, nothing to find) counts as 0, and so does every figure of an empty set.
    """
    num_classes = len(class_names)
    matrix = confusion_matrix(labels, predictions, num_classes)
    labels, predictions = _check_labels(labels, num_classes), _check_labels(predictions, num_classes)
    per_class = np.zeros((4, num_classes))
    summary = {"accuracy": 0.0, "macro_f1": 0.0, "weighted_f1": 0.0}
    if labels.size:
        per_class = np.asarray(sklearn_metrics.precision_recall_fscore_support(
            labels, predictions, labels=np.arange(num_classes), zero_division=0.0
        ))
        figures = load_metric(CLASSIFICATION_METRIC).compute(predictions=predictions, references=labels)
        summary = {key: figures[key] for key in summary}
    precision, recall, f1, support = per_class
    return {
        **{key: float(value) for key, value in summary.items()},
        "num_samples": int(labels.size),
        "per_class": {
            name: {
                "precision": float(precision[index]),
                "recall": float(recall[index]),
                "f1": float(f1[index]),
                "support": int(support[index]),
            }
            for index, name in enumerate(class_names)
        },
        "confusion_matrix": matrix.tolist(),
    }


def reliability_bins(probabilities, labels, num_bins: int = DEFAULT_NUM_BINS) -> dict:
    """Top-1 confidence vs. accuracy in `num_bins` equal-width confidence bins over (0, 1].

    Returns `{"edges", "confidence", "accuracy", "count"}`; empty bins hold `nan` confidence and accuracy.
    """
    labels = np.asarray(labels).astype(np.int64)
    probabilities = _check_scores(probabilities, labels, "probabilities")
    if num_bins < 1:
        raise ValueError(f"`num_bins` must be >= 1, got {num_bins}.")
    confidence = probabilities.max(axis=1)
    correct = (probabilities.argmax(axis=1) == labels).astype(np.float64)
    edges = np.linspace(0.0, 1.0, num_bins + 1)
    # Bin i holds confidences in (edges[i], edges[i+1]]; a confidence of exactly 0 cannot occur for a softmax.
    bin_index = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, num_bins - 1)
    count = np.bincount(bin_index, minlength=num_bins).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_confidence = np.bincount(bin_index, weights=confidence, minlength=num_bins) / count
        accuracy = np.bincount(bin_index, weights=correct, minlength=num_bins) / count
    return {"edges": edges, "confidence": mean_confidence, "accuracy": accuracy, "count": count}


def expected_calibration_error(probabilities, labels, num_bins: int = DEFAULT_NUM_BINS) -> float:
    """ECE: the sample-weighted mean of |accuracy - confidence| over equal-width confidence bins."""
    bins = reliability_bins(probabilities, labels, num_bins)
    total = bins["count"].sum()
    if not total:
        return 0.0
    filled = bins["count"] > 0
    gaps = np.abs(bins["accuracy"][filled] - bins["confidence"][filled])
    return float((gaps * bins["count"][filled]).sum() / total)


def negative_log_likelihood(logits, labels, temperature: float = 1.0) -> float:
    """Mean cross-entropy of `softmax(logits / temperature)` against `labels`."""
    labels = np.asarray(labels).astype(np.int64)
    probabilities = softmax(_check_scores(logits, labels, "logits"), temperature)
    picked = probabilities[np.arange(labels.shape[0]), labels]
    return float(-np.log(np.clip(picked, 1e-12, None)).mean()) if labels.size else 0.0


def fit_temperature(logits, labels, max_iter: int = 100, bounds: tuple[float, float] = (0.05, 20.0)) -> float:
    """The temperature `T` minimising the NLL of `softmax(logits / T)` on held-out data (Guo et al., 2017).

    Optimised with L-BFGS over `log T` (so `T` stays positive), clamped to `bounds`. Needs at least one sample.
    """
    labels = np.asarray(labels).astype(np.int64)
    logits = _check_scores(logits, labels, "logits")
    if not labels.size:
        raise ValueError("Cannot fit a temperature on an empty set of logits.")
    logits_t = torch.as_tensor(logits, dtype=torch.float64)
    labels_t = torch.as_tensor(labels)
    log_temperature = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([log_temperature], lr=0.1, max_iter=max_iter, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(logits_t / log_temperature.exp(), labels_t)
        loss.backward()
        return loss

    optimizer.step(closure)
    temperature = float(log_temperature.exp().item())
    if not math.isfinite(temperature):
        return 1.0
    return float(min(max(temperature, bounds[0]), bounds[1]))


def head_report(logits, labels, temperature: float = 1.0, class_names: Sequence[str] = EMOTIONS,
                num_bins: int = DEFAULT_NUM_BINS) -> dict:
    """Everything reported for one classification head: `classification_report` plus calibration figures."""
    labels = _check_labels(labels, len(class_names))
    logits = _check_scores(logits, labels, "logits")
    report = classification_report(labels, logits.argmax(axis=1), class_names)
    report["ece"] = expected_calibration_error(softmax(logits, temperature), labels, num_bins)
    report["nll"] = negative_log_likelihood(logits, labels, temperature)
    if temperature != 1.0:
        report["ece_uncalibrated"] = expected_calibration_error(softmax(logits), labels, num_bins)
    return report


def compute_metrics(eval_prediction) -> dict:
    """`Trainer` metrics: accuracy, macro-F1 and weighted-F1 of the fused head (plus the image-only and text-only
    heads' accuracy and macro-F1 when the model returned them), the fused head's ECE, and, where the model predicts
    valence/arousal and the labels hold some, `valence_ccc`, `arousal_ccc`, ... of the fused head and
    `image_valence_ccc`, ... of the image-only one."""
    predictions = eval_prediction.predictions
    label_ids = eval_prediction.label_ids
    # With valence/arousal among the label names the labels come as (class ids, (n, 2) valence/arousal).
    affect_labels = None
    if isinstance(label_ids, (tuple, list)):
        label_ids, affect_labels = label_ids[0], (label_ids[1] if len(label_ids) > 1 else None)
    labels = np.asarray(label_ids)
    heads = predictions if isinstance(predictions, (tuple, list)) else (predictions,)
    # Prediction tuples follow the model output order: logits, image_logits, text_logits (absent ones are dropped,
    # so only a 2-D array of the right shape counts as a head).
    heads = [np.asarray(head) for head in heads if head is not None]
    # ... then valence_arousal and image_valence_arousal, (n, 2) each.
    affect_heads = [head for head in heads if head.ndim == 2 and head.shape == (labels.shape[0], 2)]
    heads = [head for head in heads if head.ndim == 2 and head.shape == (labels.shape[0], len(EMOTIONS))]
    if not heads:
        raise ValueError("compute_metrics: the predictions hold no (num_samples, 8) logits.")
    fused = classification_report(labels, heads[0].argmax(axis=1))
    metrics = {
        "accuracy": fused["accuracy"],
        "macro_f1": fused["macro_f1"],
        "weighted_f1": fused["weighted_f1"],
        "ece": expected_calibration_error(softmax(heads[0]), labels),
    }
    for name, head in zip(("image", "text"), heads[1:3]):
        report = classification_report(labels, head.argmax(axis=1))
        metrics[f"{name}_accuracy"] = report["accuracy"]
        metrics[f"{name}_macro_f1"] = report["macro_f1"]
    if affect_labels is not None and affect_heads:
        for prefix, head in zip(("", "image_"), affect_heads):
            for dimension, figures in affect_report(head, affect_labels).items():
                if figures["num_samples"]:
                    metrics.update({f"{prefix}{dimension}_{key}": figures[key]
                                    for key in ("ccc", "rmse", "pcc", "sagr", "num_samples")})
    return metrics


def plot_confusion_matrix(matrix, path, class_names: Sequence[str] = EMOTIONS, title: str = "Confusion matrix") -> str:
    """Row-normalised confusion matrix as a heat map, with the raw counts written in each cell."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    matrix = np.asarray(matrix, dtype=np.float64)
    rows = matrix.sum(axis=1, keepdims=True)
    normalised = np.divide(matrix, rows, out=np.zeros_like(matrix), where=rows > 0)
    figure, axes = plt.subplots(figsize=(7, 6))
    image = axes.imshow(normalised, cmap="Blues", vmin=0.0, vmax=1.0)
    figure.colorbar(image, ax=axes, fraction=0.046, pad=0.04, label="fraction of the true class")
    axes.set_xticks(range(len(class_names)), class_names, rotation=45, ha="right")
    axes.set_yticks(range(len(class_names)), class_names)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title(title)
    for row in range(matrix.shape[0]):
        for column in range(matrix.shape[1]):
            colour = "white" if normalised[row, column] > 0.5 else "black"
            axes.text(column, row, int(matrix[row, column]), ha="center", va="center", color=colour, fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return str(path)


def plot_affect_scatter(predictions, references, path, title: str = "Valence and arousal") -> str:
    """Predicted against annotated valence (left) and arousal (right), one dot per annotated sample, with the
    diagonal of perfect prediction and each dimension's CCC in its title."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    predictions = np.asarray(predictions, dtype=np.float64)
    references = np.asarray(references, dtype=np.float64)
    report = affect_report(predictions, references)
    figure, axes = plt.subplots(1, 2, figsize=(10, 5))
    for index, (dimension, panel) in enumerate(zip(AFFECT_DIMENSIONS, axes)):
        given = np.isfinite(references[:, index]) & (references[:, index] != -2.0)
        panel.plot([-1, 1], [-1, 1], linestyle="--", color="grey", label="perfect prediction")
        panel.scatter(references[given, index], predictions[given, index], s=8, alpha=0.5, color="tab:blue")
        panel.set_xlim(-1.05, 1.05)
        panel.set_ylim(-1.05, 1.05)
        panel.set_aspect("equal")
        panel.set_xlabel(f"annotated {dimension}")
        panel.set_ylabel(f"predicted {dimension}")
        figures = report[dimension]
        caption = f"CCC {figures['ccc']:.3f}, n={figures['num_samples']}" if figures["num_samples"] else "no annotations"
        panel.set_title(f"{dimension} ({caption})")
        panel.legend(loc="upper left")
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return str(path)


def plot_reliability_diagram(bins: dict, path, title: str = "Reliability diagram", ece: float | None = None) -> str:
    """Accuracy per confidence bin against the diagonal of perfect calibration, with bin sizes below."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    edges = np.asarray(bins["edges"])
    centres = (edges[:-1] + edges[1:]) / 2
    width = edges[1] - edges[0]
    filled = np.asarray(bins["count"]) > 0
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(6, 7), gridspec_kw={"height_ratios": [3, 1]}, sharex=True)
    top.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfect calibration")
    top.bar(centres[filled], np.asarray(bins["accuracy"])[filled], width=width * 0.9, color="tab:blue",
            edgecolor="black", label="accuracy")
    top.bar(centres[filled], (np.asarray(bins["confidence"]) - np.asarray(bins["accuracy"]))[filled],
            bottom=np.asarray(bins["accuracy"])[filled], width=width * 0.9, color="tab:red", alpha=0.3,
            label="gap to confidence")
    top.set_ylim(0, 1)
    top.set_ylabel("accuracy")
    top.set_title(title if ece is None else f"{title} (ECE {ece:.3f})")
    top.legend(loc="upper left")
    bottom.bar(centres, bins["count"], width=width * 0.9, color="tab:grey")
    bottom.set_xlim(0, 1)
    bottom.set_xlabel("confidence (top-1 probability)")
    bottom.set_ylabel("samples")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return str(path)


__all__ = [
    "affect_report",
    "classification_report",
    "compute_metrics",
    "confusion_matrix",
    "expected_calibration_error",
    "fit_temperature",
    "head_report",
    "load_metric",
    "negative_log_likelihood",
    "plot_affect_scatter",
    "plot_confusion_matrix",
    "plot_reliability_diagram",
    "reliability_bins",
    "softmax",
]
