"""Benchmarks for EmotiFusion-HF: `python -m bench [--quick] [--gpu] --out FILE.json`.

Every number is a ratio of two measurements taken in the same run (or a rate with its machine stated), because
shared machines are noisy; nothing here is a pass/fail assert.
"""
