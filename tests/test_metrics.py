"""Metrics against hand-computed values, calibration, and the plots."""

import os

import numpy as np
import pytest

from emotifusion_hf import EMOTIONS
from training.metrics import (
    classification_report,
    compute_metrics,
    confusion_matrix,
    expected_calibration_error,
    fit_temperature,
    head_report,
    negative_log_likelihood,
    plot_confusion_matrix,
    plot_reliability_diagram,
    reliability_bins,
    softmax,
)


LABELS = [0, 0, 1, 1, 2, 2]
PREDICTIONS = [0, 1, 1, 1, 2, 0]


def test_confusion_matrix_by_hand():
    matrix = confusion_matrix(LABELS, PREDICTIONS, num_classes=3)
    assert matrix.tolist() == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]


def test_classification_report_by_hand():
    report = classification_report(LABELS, PREDICTIONS)
    # class 0: P 1/2 R 1/2 F1 1/2; class 1: P 2/3 R 1 F1 4/5; class 2: P 1 R 1/2 F1 2/3.
    assert report["accuracy"] == pytest.approx(4 / 6)
    assert report["macro_f1"] == pytest.approx((1 / 2 + 4 / 5 + 2 / 3) / 3)
    assert report["weighted_f1"] == pytest.approx((1 / 2 + 4 / 5 + 2 / 3) / 3)  # equal supports
    anger, contempt, disgust = (report["per_class"][name] for name in EMOTIONS[:3])
    assert (anger["precision"], anger["recall"], anger["f1"], anger["support"]) == pytest.approx((0.5, 0.5, 0.5, 2))
    assert (contempt["precision"], contempt["recall"], contempt["f1"]) == pytest.approx((2 / 3, 1.0, 0.8))
    assert (disgust["precision"], disgust["recall"], disgust["f1"]) == pytest.approx((1.0, 0.5, 2 / 3))
    # Classes never seen nor predicted are reported with zeros but left out of the macro average.
    assert report["per_class"]["surprise"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    assert np.asarray(report["confusion_matrix"]).shape == (8, 8)


def test_weighted_f1_weights_by_support():
    labels = [0, 0, 0, 1]
    predictions = [0, 0, 0, 0]
    report = classification_report(labels, predictions)
    f1_anger = 2 * 0.75 * 1.0 / 1.75
    assert report["macro_f1"] == pytest.approx(f1_anger / 2)
    assert report["weighted_f1"] == pytest.approx(f1_anger * 3 / 4)


def test_report_matches_scikit_learn_on_random_data():
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 8, 500)
    predictions = np.where(rng.random(500) < 0.6, labels, rng.integers(0, 8, 500))
    report = classification_report(labels, predictions)
    assert report["macro_f1"] == pytest.approx(metrics.f1_score(labels, predictions, average="macro"))
    assert report["weighted_f1"] == pytest.approx(metrics.f1_score(labels, predictions, average="weighted"))
    assert report["confusion_matrix"] == metrics.confusion_matrix(labels, predictions, labels=range(8)).tolist()


def _reference_report(labels, predictions, num_classes=8) -> dict:
    """The numpy implementation scikit-learn replaced: the figures must not change."""
    labels, predictions = np.asarray(labels), np.asarray(predictions)
    matrix = np.bincount(labels * num_classes + predictions, minlength=num_classes ** 2).reshape(num_classes, -1)
    true_positives = np.diag(matrix).astype(float)
    support, predicted = matrix.sum(axis=1).astype(float), matrix.sum(axis=0).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted > 0, true_positives / predicted, 0.0)
        recall = np.where(support > 0, true_positives / support, 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    seen = (support > 0) | (predicted > 0)
    return {
        "accuracy": true_positives.sum() / support.sum(), "macro_f1": f1[seen].mean(),
        "weighted_f1": (f1 * support).sum() / support.sum(), "precision": precision, "recall": recall, "f1": f1,
        "support": support, "confusion_matrix": matrix.tolist(),
    }


@pytest.mark.parametrize("seed", range(5))
def test_report_figures_are_those_of_the_numpy_implementation(seed):
    rng = np.random.default_rng(seed)
    size, present = int(rng.integers(5, 200)), int(rng.integers(2, 9))  # some classes absent from the labels
    labels = rng.integers(0, present, size)
    predictions = np.where(rng.random(size) < 0.5, labels, rng.integers(0, 8, size))
    report, expected = classification_report(labels, predictions), _reference_report(labels, predictions)
    for key in ("accuracy", "macro_f1", "weighted_f1"):
        assert report[key] == pytest.approx(expected[key], abs=1e-12)
    assert report["confusion_matrix"] == expected["confusion_matrix"]
    for index, name in enumerate(EMOTIONS):
        figures = report["per_class"][name]
        assert [figures[key] for key in ("precision", "recall", "f1", "support")] == pytest.approx(
            [expected[key][index] for key in ("precision", "recall", "f1", "support")], abs=1e-12)


def test_an_empty_set_reports_zeros():
    report = classification_report([], [])
    assert (report["accuracy"], report["macro_f1"], report["num_samples"]) == (0.0, 0.0, 0)
    assert np.asarray(report["confusion_matrix"]).sum() == 0


def _probabilities(confidences, predicted):
    """Rows whose top-1 probability is `confidence` on `predicted`, the rest spread evenly."""
    rows = []
    for confidence, label in zip(confidences, predicted):
        row = np.full(8, (1 - confidence) / 7)
        row[label] = confidence
        rows.append(row)
    return np.asarray(rows)


def test_expected_calibration_error_by_hand():
    # Two samples at confidence 0.9, one right: gap 0.4. Two at 0.6, both right: gap 0.4. ECE = 0.4.
    probabilities = _probabilities([0.9, 0.9, 0.6, 0.6], [0, 1, 2, 3])
    labels = [0, 0, 2, 3]
    assert expected_calibration_error(probabilities, labels) == pytest.approx(0.4)
    bins = reliability_bins(probabilities, labels, num_bins=10)
    assert bins["count"].sum() == 4
    assert bins["count"][8] == 2 and bins["count"][5] == 2  # (0.8, 0.9] and (0.5, 0.6]
    assert bins["accuracy"][8] == pytest.approx(0.5)
    # Perfectly calibrated: confidence equals accuracy in every bin.
    assert expected_calibration_error(_probabilities([1.0, 1.0], [1, 2]), [1, 2]) == pytest.approx(0.0)


def test_softmax_and_nll():
    logits = np.array([[2.0, 0.0] + [0.0] * 6])
    probabilities = softmax(logits)
    assert probabilities.sum() == pytest.approx(1.0)
    assert probabilities[0, 0] == pytest.approx(np.exp(2) / (np.exp(2) + 7))
    assert negative_log_likelihood(logits, [0]) == pytest.approx(-np.log(np.exp(2) / (np.exp(2) + 7)))
    assert softmax(logits, temperature=1e6)[0, 0] == pytest.approx(1 / 8, abs=1e-5)
    with pytest.raises(ValueError, match="temperature"):
        softmax(logits, temperature=0)


@pytest.fixture
def overconfident_logits():
    """70%-accurate predictions with logits scaled so the model claims ~99% confidence."""
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 8, 2000)
    predicted = np.where(rng.random(2000) < 0.7, labels, rng.integers(0, 8, 2000))
    logits = rng.normal(0, 1, (2000, 8))
    logits[np.arange(2000), predicted] += 8.0
    return logits, labels


def test_temperature_scaling_lowers_ece_and_nll(overconfident_logits):
    logits, labels = overconfident_logits
    temperature = fit_temperature(logits, labels)
    assert temperature > 1.5  # overconfident -> softened
    before = expected_calibration_error(softmax(logits), labels)
    after = expected_calibration_error(softmax(logits, temperature), labels)
    assert after < before / 2
    assert negative_log_likelihood(logits, labels, temperature) < negative_log_likelihood(logits, labels)
    # L-BFGS lands on the NLL minimum a grid search finds.
    grid = np.linspace(0.5, 10, 400)
    best = grid[np.argmin([negative_log_likelihood(logits, labels, t) for t in grid])]
    assert temperature == pytest.approx(best, rel=0.03)


def test_fit_temperature_rejects_bad_input():
    with pytest.raises(ValueError, match="empty"):
        fit_temperature(np.zeros((0, 8)), np.zeros(0, dtype=int))
    with pytest.raises(ValueError, match="logits"):
        fit_temperature(np.zeros((3, 8)), [0, 1])
    with pytest.raises(ValueError, match="class ids"):
        classification_report([0, 9], [0, 1])


def test_head_report_and_compute_metrics(overconfident_logits):
    logits, labels = overconfident_logits
    report = head_report(logits, labels, temperature=2.0)
    expected_keys = {"accuracy", "macro_f1", "weighted_f1", "per_class", "confusion_matrix", "ece", "ece_uncalibrated",
                     "nll"}
    assert expected_keys <= set(report)

    class Prediction:
        predictions = (logits, logits[:, ::-1], logits)
        label_ids = labels

    metrics = compute_metrics(Prediction())
    assert metrics["accuracy"] == pytest.approx(report["accuracy"])
    assert metrics["macro_f1"] == pytest.approx(report["macro_f1"])
    assert metrics["text_accuracy"] == pytest.approx(report["accuracy"])
    assert metrics["image_accuracy"] < 0.3


def test_plots_are_written(tmp_path, overconfident_logits):
    logits, labels = overconfident_logits
    matrix = classification_report(labels, logits.argmax(1))["confusion_matrix"]
    confusion_path = plot_confusion_matrix(matrix, tmp_path / "confusion.png")
    bins = reliability_bins(softmax(logits), labels)
    reliability_path = plot_reliability_diagram(bins, tmp_path / "reliability.png", ece=0.1)
    for path in (confusion_path, reliability_path):
        with open(path, "rb") as handle:
            assert handle.read(8) == b"\x89PNG\r\n\x1a\n"
        assert os.path.getsize(path) > 5000
