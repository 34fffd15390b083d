"""Timing helpers: warm up, repeat, take the median; interleave the two sides of a ratio so drift hits both."""

import statistics
import time


def median_seconds(function, repeats: int, warmup: int = 1) -> float:
    for _ in range(warmup):
        function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def interleaved_medians(first, second, repeats: int, warmup: int = 1) -> tuple[float, float]:
    """Median seconds of `first` and of `second`, run alternately `repeats` times each."""
    for _ in range(warmup):
        first()
        second()
    first_times, second_times = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        first()
        first_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        second()
        second_times.append(time.perf_counter() - start)
    return statistics.median(first_times), statistics.median(second_times)


__all__ = ["interleaved_medians", "median_seconds"]
