"""Benchmarks for EmotiFusion-HF: `python -m bench [--quick] [--gpu] [--only SECTION ...] --out FILE.json`.

Sections: `inference` (speed), `quality` (what int8 costs), `data` (builder and loader throughput), `text` (how well
a probe trained on our dialogues does on real text) and, with `--gpu`, GPU training throughput.

Every speed figure is a ratio of two measurements taken in the same run (or a rate with its machine stated), because
shared machines are noisy; nothing here is a pass/fail assert.
"""
