"""The video benchmark's parts: its clips, its decoding rates and the CPU flags it records."""

import pytest

pytest.importorskip("av")

from bench.video import CPU_FLAGS, cpu_flags, decode_rate_opencv, decode_rate_pyav, demo_scenes
from dataset_builder.demo_video import write_demo_video


def test_demo_scenes_fill_the_duration_and_alternate_speech():
    scenes = demo_scenes(10.0)
    assert sum(scene.seconds for scene in scenes) == pytest.approx(10.0)
    assert [scene.text is not None for scene in scenes] == [False, True, False, True]


def test_cpu_flags_are_a_known_subset():
    assert set(cpu_flags()) <= set(CPU_FLAGS)


def test_both_decoders_sample_the_same_clip(tmp_path):
    video = str(tmp_path / "clip.mp4")
    write_demo_video(video, demo_scenes(2.0), size=(96, 64), fps=10)
    assert decode_rate_pyav(video) > 0
    opencv_rate = decode_rate_opencv(video)
    assert opencv_rate is None or opencv_rate > 0
