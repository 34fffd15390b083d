"""`emotifusion video` and `emotifusion_hf.video`: the timeline of a small demo-face video written here with PyAV."""

import csv
import json
import math
import os
import threading
from fractions import Fraction

import numpy as np
import pytest
import torch

av = pytest.importorskip("av")

from conftest import make_tiny_config, tiny_text_config

from dataset_builder.demo_video import Scene, write_demo_video, write_srt
from emotifusion_hf import EMOTIONS, EmotiFusionForEmotionClassification
from emotifusion_hf.cli import main
from emotifusion_hf.transcripts import Utterance
from emotifusion_hf.video import (
    DialogueContext,
    FaceTracker,
    Smoother,
    VideoError,
    VideoReader,
    analyze_video,
)

SCENES = [
    Scene("neutral", 1.0),
    Scene("happy", 1.5, "We won the tickets!"),
    Scene("sad", 1.5, "Oh no. I am so sorry."),
    Scene("surprise", 1.0),
]


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    folder = tmp_path_factory.mktemp("video")
    video, transcript = str(folder / "clip.mp4"), str(folder / "clip.srt")
    write_demo_video(video, SCENES, size=(240, 180), fps=10)
    write_srt(transcript, SCENES)
    return video, transcript


def _level_video(path, levels, times=None, size=(33, 17), rotation=0):
    """A lossless video whose frame i is flat grey `levels[i]` (and a white top-left corner), at `times[i]`."""
    width, height = size
    with av.open(path, mode="w") as container:
        stream = container.add_stream("ffv1", rate=10)
        stream.width, stream.height = width, height
        stream.pix_fmt = "rgb24" if "rgb24" in [f.name for f in stream.codec.video_formats or []] else "bgr0"
        stream.codec_context.time_base = stream.time_base = Fraction(1, 1000)
        if rotation:
            stream.set_display_rotation(rotation)
        for index, level in enumerate(levels):
            pixels = np.full((height, width, 3), level, np.uint8)
            pixels[:4, :4] = 255
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            frame.pts = round(1000 * (times[index] if times else index / 10))
            frame.time_base = Fraction(1, 1000)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


# ---------------------------------------------------------------------------------------------------------------
# The command and the Python entry point
# ---------------------------------------------------------------------------------------------------------------


def test_command_writes_the_timeline_files(tiny_checkpoint, clip, tmp_path, capsys):
    video, transcript = clip
    output = tmp_path / "timeline"
    code = main(["video", "--model", tiny_checkpoint, "--video", video, "--transcript", transcript, "--output",
                 str(output), "--detect-face", "--annotate", "--batch-size", "4", "--no-progress"])
    assert code == 0, capsys.readouterr().err
    timeline = json.loads((output / "timeline.json").read_text())

    info = timeline["video"]
    assert (info["width"], info["height"], info["duration"], info["frames_sampled"]) == (240, 180, 5.0, 25)
    assert info["complete"] and timeline["warnings"] == []
    frames = timeline["frames"]
    assert [frame["time"] for frame in frames] == [round(index / 5, 3) for index in range(25)]
    for frame in frames:
        for key in ("scores", "raw_scores", "image_only"):
            assert list(frame[key]) == list(EMOTIONS)
            assert math.isclose(sum(frame[key].values()), 1.0, abs_tol=1e-4)
        speaking = 1.0 <= frame["time"] < 4.0
        assert (frame["utterance"] is not None) == speaking
        assert (frame["text_only"] is not None) == speaking, frame["time"]
        assert isinstance(frame["face_found"], bool) and frame["label"] == max(frame["scores"],
                                                                                 key=frame["scores"].get)
    # The detector sees the demo face on most frames and follows it.
    assert sum(frame["face_found"] for frame in frames) >= len(frames) // 2
    assert [segment["text"] for segment in timeline["segments"]] == ["We won the tickets!", "Oh no. I am so sorry."]
    assert [segment["frames"] for segment in timeline["segments"]] == [8, 7]
    for segment in timeline["segments"]:
        assert math.isclose(sum(segment["scores"].values()), 1.0, abs_tol=1e-4)

    # The tiny checkpoint has valence/arousal heads: every frame carries both, smoothed like the scores.
    for frame in frames:
        for key in ("valence", "arousal", "raw_valence", "raw_arousal"):
            assert isinstance(frame[key], float) and -1.0 <= frame[key] <= 1.0, (key, frame["time"])
    assert frames[0]["valence"] == frames[0]["raw_valence"]  # the moving average starts at the first frame
    smoother = Smoother(half_life=1.0)
    for frame in frames:
        expected, _ = smoother.update(frame["time"], np.array([frame["raw_valence"], frame["raw_arousal"]]))
        assert np.allclose([frame["valence"], frame["arousal"]], expected, atol=2e-6)
    for segment in timeline["segments"]:
        inside = [frame for frame in frames if frame["utterance"] == segment["text"]]
        for key in ("valence", "arousal"):
            assert math.isclose(segment[key], np.mean([frame[key] for frame in inside]), abs_tol=2e-6)

    with open(output / "timeline.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 25 and rows[6]["utterance"] == "We won the tickets!"
    assert float(rows[6]["happy"]) == frames[6]["scores"]["happy"]
    assert list(rows[0])[-2:] == ["valence", "arousal"]
    assert [float(row["valence"]) for row in rows] == [frame["valence"] for frame in frames]
    assert [float(row["arousal"]) for row in rows] == [frame["arousal"] for frame in frames]

    from PIL import Image

    with Image.open(output / "timeline.png") as picture:
        assert picture.width > 600 and picture.height > 250
    with av.open(str(output / "annotated.mp4")) as annotated:
        stream = annotated.streams.video[0]
        assert (stream.width, stream.height) == (240, 180)
        assert sum(1 for _ in annotated.decode(stream)) == 25
    printed = capsys.readouterr().out
    assert "We won the tickets!" in printed and f"v={timeline['segments'][0]['valence']:+.2f}" in printed


@pytest.fixture(scope="module")
def checkpoint_without_affect(tmp_path_factory, processor):
    """A tiny checkpoint as saved before the valence/arousal heads existed."""
    torch.manual_seed(0)
    directory = tmp_path_factory.mktemp("no_affect_checkpoint")
    config = make_tiny_config(text_config=tiny_text_config(processor.tokenizer.vocab_size), affect_head=False)
    EmotiFusionForEmotionClassification(config).eval().save_pretrained(directory)
    processor.save_pretrained(directory)
    return str(directory)


def test_a_model_without_affect_heads_gives_the_timeline_without_them(checkpoint_without_affect, tiny_pipe, clip,
                                                                      tmp_path, capsys):
    video, transcript = clip
    plain, affect = tmp_path / "plain", tmp_path / "affect"
    assert main(["video", "--model", checkpoint_without_affect, "--video", video, "--transcript", transcript,
                 "--output", str(plain), "--fps", "2", "--no-progress"]) == 0
    assert "v=" not in capsys.readouterr().out
    timeline = json.loads((plain / "timeline.json").read_text())
    assert all(set(frame) == {"time", "face_found", "face_box", "utterance", "label", "scores", "raw_scores",
                              "image_only", "text_only"} for frame in timeline["frames"])
    assert all(set(segment) == {"start", "end", "text", "frames", "label", "scores"}
               for segment in timeline["segments"])

    analyze_video(tiny_pipe, video, transcript, fps=2, output_dir=str(affect), progress=False)
    with open(plain / "timeline.csv", newline="") as handle:
        plain_header = next(csv.reader(handle))
    with open(affect / "timeline.csv", newline="") as handle:
        affect_header = next(csv.reader(handle))
    assert affect_header == plain_header + ["valence", "arousal"]
    assert plain_header[:4] == ["time", "face_found", "label", "utterance"] and len(plain_header) == 4 + 3 * 8

    from PIL import Image

    # The valence/arousal panel is drawn only when there is something to show.
    with Image.open(plain / "timeline.png") as without, Image.open(affect / "timeline.png") as with_panel:
        assert without.width == with_panel.width and with_panel.height > without.height + 60


def test_python_entry_point_without_smoothing_returns_the_raw_scores(tiny_pipe, clip, tmp_path):
    video, transcript = clip
    timeline = analyze_video(tiny_pipe, video, transcript, fps=2, smoothing="none", progress=False)
    assert len(timeline["frames"]) == 10 and timeline["video"]["sample_fps"] == 2
    assert all(frame["scores"] == frame["raw_scores"] for frame in timeline["frames"])
    assert all(frame["valence"] == frame["raw_valence"] and frame["arousal"] == frame["raw_arousal"]
               for frame in timeline["frames"])
    assert all(frame["face_found"] is None and frame["face_box"] is None for frame in timeline["frames"])
    # Without a transcript every frame is scored from the face alone.
    silent = analyze_video(tiny_pipe, video, None, fps=2, smoothing="none", progress=False)
    assert all(frame["text_only"] is None for frame in silent["frames"]) and silent["segments"] == []
    speaking = [index for index, frame in enumerate(timeline["frames"]) if frame["utterance"]]
    assert any(timeline["frames"][index]["scores"] != silent["frames"][index]["scores"] for index in speaking)


def test_transcript_times_beyond_the_video_are_clipped_with_a_warning(tiny_pipe, clip, tmp_path):
    video, _ = clip
    transcript = tmp_path / "long.srt"
    transcript.write_text("1\n00:00:04,000 --> 00:00:09,000\nStill talking.\n\n2\n00:00:12,000 --> 00:00:13,000\n"
                          "Nobody hears this.\n")
    with pytest.warns(UserWarning) as caught:
        timeline = analyze_video(tiny_pipe, video, str(transcript), fps=2, progress=False)
    messages = " ".join(str(warning.message) for warning in caught)
    assert "clipped" in messages and "dropped" in messages
    assert [(segment["start"], segment["end"]) for segment in timeline["segments"]] == [(4.0, 5.0)]


# ---------------------------------------------------------------------------------------------------------------
# Decoding: sampling by timestamps, rotation, odd sizes
# ---------------------------------------------------------------------------------------------------------------


def test_variable_frame_rate_is_sampled_by_timestamps(tmp_path):
    path = str(tmp_path / "vfr.mkv")
    times = [0.0, 0.05, 0.5, 0.55, 0.6, 1.4, 1.45]
    _level_video(path, [10, 40, 70, 100, 130, 160, 190], times)
    with VideoReader(path) as reader:
        sampled = [(time, int(array[8, 20, 0])) for time, array in reader.frames(fps=4)]
    # The frame on screen at each sample time: the last one stamped at or before it.
    assert sampled == [(0.0, 10), (0.25, 40), (0.5, 70), (0.75, 130), (1.0, 130), (1.25, 130), (1.5, 190)]


def test_rotation_metadata_and_odd_sizes_are_honoured(tmp_path):
    path = str(tmp_path / "rotated.mkv")
    _level_video(path, [50] * 3, size=(33, 17), rotation=90)
    with VideoReader(path) as reader:
        (_, array), *_ = list(reader.frames(fps=10))
        info = reader.info
    assert (info.width, info.height, info.rotation) == (17, 33, 90)
    assert array.shape == (33, 17, 3)
    # A quarter turn counter-clockwise brings the stored top-left corner to the bottom-left.
    assert array[-1, 0, 0] == 255 and array[0, 0, 0] == 50


def test_a_cut_video_keeps_what_was_decoded_and_says_how_far(tiny_pipe, tmp_path):
    path = tmp_path / "cut.mkv"
    _level_video(str(path), list(range(0, 250, 5)), size=(64, 48))  # 5 s at 10 fps
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 2 // 5])
    with pytest.warns(UserWarning, match=r"cut.mkv.*damaged: decoding stopped at \d\.\d+ s of 5\.00 s"):
        timeline = analyze_video(tiny_pipe, str(path), fps=5, progress=False)
    assert timeline["video"]["complete"] is False
    assert 3 <= len(timeline["frames"]) < 20 and timeline["frames"][-1]["time"] < 4


# ---------------------------------------------------------------------------------------------------------------
# Bad input: named, never a hang
# ---------------------------------------------------------------------------------------------------------------


def test_files_that_are_not_videos_are_named(tmp_path):
    text = tmp_path / "notes.mp4"
    text.write_text("this is not a video\n" * 20)
    with pytest.raises(VideoError, match="notes.mp4.*not a video file"):
        VideoReader(str(text))

    audio = str(tmp_path / "voice.wav")
    with av.open(audio, mode="w") as container:
        stream = container.add_stream("pcm_s16le", rate=8000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 800), np.int16), format="s16", layout="mono")
        frame.sample_rate = 8000
        for packet in stream.encode(frame):
            container.mux(packet)
    with pytest.raises(VideoError, match="voice.wav.*audio only"):
        VideoReader(audio)

    from PIL import Image

    still = tmp_path / "face.png"
    Image.new("RGB", (32, 32)).save(still)
    with pytest.raises(VideoError, match="face.png.*still image"):
        VideoReader(str(still))

    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(VideoError, match="empty"):
        VideoReader(str(empty))
    with pytest.raises(FileNotFoundError, match="missing.mp4"):
        VideoReader(str(tmp_path / "missing.mp4"))
    with pytest.raises(IsADirectoryError):
        VideoReader(str(tmp_path))


def test_a_video_stream_without_frames_is_named(tmp_path):
    path = tmp_path / "hollow.mkv"
    _level_video(str(path), [10, 20, 30], size=(16, 16))
    with av.open(str(path)) as container:
        first_packet = next(container.demux(container.streams.video[0]))
    path.write_bytes(path.read_bytes()[: first_packet.pos])  # the header declares the stream; no frame follows
    with pytest.raises(VideoError, match="hollow.mkv.*has a video stream but no frame"):
        VideoReader(str(path))


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes need POSIX")
def test_a_named_pipe_is_refused_without_waiting(tiny_checkpoint, tmp_path, capsys):
    fifo = str(tmp_path / "stream.mp4")
    os.mkfifo(fifo)
    done = threading.Event()
    result = {}

    def run():
        result["code"] = main(["video", "--model", tiny_checkpoint, "--video", fifo, "--output", str(tmp_path / "o"),
                               "--no-progress"])
        done.set()

    threading.Thread(target=run, daemon=True).start()
    assert done.wait(60), "emotifusion video blocked on a named pipe"
    assert result["code"] == 1
    assert "stream.mp4" in capsys.readouterr().err


def test_a_broken_transcript_fails_before_the_model_loads(clip, tmp_path, capsys):
    video, _ = clip
    transcript = tmp_path / "bad.srt"
    transcript.write_text("1\n00:00:01,000 --> 00:00:02,000\nHi.\n\n2\nnot a time\nBye.\n")
    code = main(["video", "--model", str(tmp_path / "no-model"), "--video", video, "--transcript", str(transcript),
                 "--output", str(tmp_path / "o")])
    assert code == 1
    assert "bad.srt, line 6" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------------------------
# The parts: smoothing, hysteresis, dialogue context, face tracking
# ---------------------------------------------------------------------------------------------------------------


def test_ema_moves_halfway_in_one_half_life_whatever_the_step():
    first, second = np.eye(8)[0], np.eye(8)[4]
    for steps in (1, 4):
        smoother = Smoother(half_life=2.0)
        smoother.update(0.0, first)
        for step in range(1, steps + 1):
            state, _ = smoother.update(2.0 * step / steps, second)
        assert np.allclose(state, 0.5 * first + 0.5 * second)
        assert math.isclose(state.sum(), 1.0)
    unsmoothed = Smoother(half_life=None)
    unsmoothed.update(0.0, first)
    assert np.array_equal(unsmoothed.update(0.2, second)[0], second)


def test_hysteresis_keeps_the_label_until_another_leads_clearly():
    smoother = Smoother(half_life=None, hysteresis=0.1)
    assert smoother.update(0.0, np.array([0.5, 0.4] + [0.1 / 6] * 6))[1] == 0
    assert smoother.update(0.2, np.array([0.42, 0.48] + [0.1 / 6] * 6))[1] == 0  # leads by 0.06 only
    assert smoother.update(0.4, np.array([0.3, 0.6] + [0.1 / 6] * 6))[1] == 1
    with pytest.raises(ValueError, match="hysteresis"):
        Smoother(hysteresis=1.5)


def test_dialogue_context_takes_previous_turns_within_the_token_budget(processor):
    utterances = [Utterance(0, 1, "You ate my cake."), Utterance(1.5, 2, "All of it?"),
                  Utterance(3, 4, "Well. I was hungry.")]
    context = DialogueContext(utterances, processor, max_turns=6, max_seconds=10)
    assert context.utterance_at(0.5) == 0 and context.utterance_at(1.2) is None and context.utterance_at(3.9) == 2
    assert context.turns(2) == ["You ate my cake.", "All of it?", "Well. I was hungry."]
    assert DialogueContext(utterances, processor, max_turns=2).turns(2) == ["All of it?", "Well. I was hungry."]
    # A line that ended long before the current one no longer counts.
    assert DialogueContext(utterances, processor, max_seconds=1.5).turns(2) == ["All of it?", "Well. I was hungry."]
    original = processor.max_length
    try:
        processor.max_length = 16  # room for the last two turns only
        assert DialogueContext(utterances, processor, max_seconds=10).turns(2) == ["All of it?", "Well. I was hungry."]
    finally:
        processor.max_length = original


def test_face_tracker_follows_the_previous_face_not_the_largest():
    tracker = FaceTracker()
    big, small_near, small_far = (200, 10, 90, 90), (12, 14, 40, 40), (150, 150, 30, 30)
    assert tracker.choose([small_near, big], None) == big
    assert tracker.choose([big, small_near, small_far], (10, 10, 40, 40)) == small_near
    # The previous face is gone: back to the largest.
    assert tracker.choose([big, small_far], (10, 10, 40, 40)) == big
