"""The class-balanced training sampler (`balanced_sampling`): draws each sample with probability inversely
proportional to its class frequency, reproducibly across processes and resumed runs."""

import numpy as np
import torch
from torch.utils.data import WeightedRandomSampler


def inverse_frequency_weights(labels, num_classes: int) -> np.ndarray:
    """One sampling weight per sample, `1 / count(its class)`: every class is drawn equally often on average."""
    labels = np.asarray(labels)
    counts = np.bincount(labels, minlength=num_classes)
    return (1.0 / np.maximum(counts, 1))[labels]


class EpochSeededWeightedSampler(WeightedRandomSampler):
    """`WeightedRandomSampler` whose draws depend only on `(seed, epoch)`: every process draws the same sequence
    (accelerate then shards the batches), and a resumed run draws what the unbroken run drew."""

    def __init__(self, weights, num_samples: int, seed: int = 0):
        super().__init__(weights, num_samples=num_samples, replacement=True, generator=torch.Generator())
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        # The Trainer's dataloader passes each epoch on to its sampler's `set_epoch`.
        self.epoch = epoch

    def __iter__(self):
        self.generator.manual_seed(self.seed + self.epoch)
        return super().__iter__()


__all__ = ["EpochSeededWeightedSampler", "inverse_frequency_weights"]
