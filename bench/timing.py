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


def interleaved_medians(*functions, repeats: int, warmup: int = 1) -> tuple[float, ...]:
    """Median seconds of each of `functions`, run in turn `repeats` times each."""
    for _ in range(warmup):
        for function in functions:
            function()
    times = [[] for _ in functions]
    for _ in range(repeats):
        for function, function_times in zip(functions, times):
            start = time.perf_counter()
            function()
            function_times.append(time.perf_counter() - start)
    return tuple(statistics.median(function_times) for function_times in times)


__all__ = ["interleaved_medians", "median_seconds"]
