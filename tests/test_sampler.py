"""The class-balanced training sampler."""

import numpy as np
import pytest

from training.sampler import EpochSeededWeightedSampler, inverse_frequency_weights


def test_inverse_frequency_weights_balance_the_classes():
    labels = np.array([0, 0, 0, 1, 2, 2])
    weights = inverse_frequency_weights(labels, num_classes=8)
    assert weights.tolist() == pytest.approx([1 / 3, 1 / 3, 1 / 3, 1.0, 0.5, 0.5])
    per_class = np.bincount(labels, weights=weights)
    assert per_class.tolist() == pytest.approx([1.0, 1.0, 1.0])


def test_draws_depend_on_seed_and_epoch_only():
    weights = inverse_frequency_weights(np.array([0] * 30 + [1] * 3), num_classes=2)

    def draws(seed, epoch):
        sampler = EpochSeededWeightedSampler(weights, num_samples=len(weights), seed=seed)
        sampler.set_epoch(epoch)
        return list(sampler)

    assert draws(0, 0) == draws(0, 0)  # another process, or a resumed run
    assert draws(0, 1) != draws(0, 0) and draws(1, 0) != draws(0, 0)
    minority = sum(index >= 30 for epoch in range(20) for index in draws(0, epoch))
    assert 0.35 < minority / (20 * len(weights)) < 0.65  # the 3 minority samples are drawn about half the time
