"""
Demo videos: a demo face (see `demo_faces`) that changes expression from scene to scene, written with PyAV, and the
subtitle file that goes with it. The video tests, the video benchmark and the README's timeline picture are built
from these, so nothing has to be downloaded.

```python
>>> from dataset_builder.demo_video import Scene, write_demo_video, write_srt
>>> scenes = [Scene("neutral", 2.0), Scene("happy", 2.0, "That's wonderful news!"), Scene("sad", 2.0, "Oh no.")]
>>> write_demo_video("clip.mp4", scenes, size=(320, 240))
>>> write_srt("clip.srt", scenes)
```
"""

import bisect
import math
import random
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from .demo_faces import render_face


@dataclass(frozen=True)
class Scene:
    """`seconds` of the face showing `emotion`, with `text` said over it (or silence)."""

    emotion: str
    seconds: float
    text: str | None = None


def scene_spans(scenes: list[Scene]) -> list[tuple[float, float, Scene]]:
    spans, start = [], 0.0
    for scene in scenes:
        spans.append((start, start + scene.seconds, scene))
        start += scene.seconds
    return spans


def _timestamp(seconds: float, separator: str) -> str:
    millis = round(seconds * 1000)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def write_srt(path: str, scenes: list[Scene]) -> None:
    """A SubRip file with one cue per scene that has words, spanning that scene."""
    cues = [(start, end, scene.text) for start, end, scene in scene_spans(scenes) if scene.text]
    with open(path, "w", encoding="utf-8") as handle:
        handle.writelines(f"{number}\n{_timestamp(start, ',')} --> {_timestamp(end, ',')}\n{text}\n\n" for number, (start, end, text) in enumerate(cues, start=1))


def write_demo_video(
    path: str,
    scenes: list[Scene],
    size: tuple[int, int] = (320, 240),
    fps: float = 10,
    face_size: int | None = None,
    seed: int = 0,
    codec: str | None = None,
    rotation: int = 0,
    variable_frame_rate: bool = False,
    preset: str | None = None,
) -> int:
    """
    Write a video of a demo face acting out `scenes`; returns the number of frames written.

    Args:
        size: `(width, height)` of the stored frames (odd sizes are fine with `codec="ffv1"`; 4:2:0 codecs such as
            H.264 need even sides).
        fps: frame rate; with `variable_frame_rate` the gaps between frames alternate between 0.5x and 1.5x of
            1/fps (the average rate stays `fps`), as phone cameras do.
        face_size: side of the face in pixels (default: 60% of the shorter side). The face drifts slowly.
        codec: an encoder FFmpeg knows (default: H.264 when PyAV has it, else MPEG-4 part 2).
        rotation: display-matrix rotation in degrees, counter-clockwise (a player turns the frames by it).
        preset: the x264 speed preset (e.g. "ultrafast" for long benchmark clips).
    """
    import av

    width, height = size
    face_size = face_size or int(0.6 * min(width, height))
    face_size = max(32, min(512, face_size))
    codec = codec or ("libx264" if "libx264" in av.codecs_available else "mpeg4")
    time_base = Fraction(1, 1000)
    with av.open(path, mode="w") as container:
        stream = container.add_stream(codec, rate=Fraction(fps).limit_denominator(1000))
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv420p" if codec in ("libx264", "mpeg4", "h264") else stream.pix_fmt
        if codec == "libx264" and preset:
            stream.options = {"preset": preset}
        if variable_frame_rate:
            stream.codec_context.time_base = time_base
            stream.time_base = time_base
        if rotation:
            stream.set_display_rotation(rotation)
        total = sum(scene.seconds for scene in scenes)
        background = np.empty((height, width, 3), np.uint8)
        background[:] = np.linspace(70, 150, width, dtype=np.uint8)[None, :, None]
        faces, time, index = {}, 0.0, 0
        ends = [end for _, end, _ in scene_spans(scenes)]
        while time < total - 1e-9:
            scene_index = min(bisect.bisect_right(ends, time), len(scenes) - 1)
            if scene_index not in faces:  # one face per scene: the same person, a new expression
                faces = {scene_index: np.asarray(render_face(
                    scenes[scene_index].emotion, random.Random(f"{seed}|{scene_index}"), size=face_size, variation=0.2
                ))}
            frame = background.copy()
            left = (width - face_size) // 2 + int(0.1 * (width - face_size) * math.sin(time / 3))
            top = (height - face_size) // 2 + int(0.1 * (height - face_size) * math.cos(time / 4))
            frame[top : top + face_size, left : left + face_size] = faces[scene_index]
            video_frame = av.VideoFrame.from_ndarray(frame, format="rgb24")
            if variable_frame_rate:
                video_frame.pts = round(time * 1000)
                video_frame.time_base = time_base
                step = (0.5 if index % 2 == 0 else 1.5) / fps
            else:
                video_frame.pts = index
                step = 1 / fps
            for packet in stream.encode(video_frame):
                container.mux(packet)
            index += 1
            time = index / fps if not variable_frame_rate else time + step
        for packet in stream.encode():
            container.mux(packet)
    return index


# The README's clip: the kind of video the tests build, a little longer.
EXAMPLE_SCENES = [
    Scene("neutral", 1.5),
    Scene("happy", 3.0, "We won the tickets!"),
    Scene("surprise", 2.0, "Wait, both of them?"),
    Scene("sad", 3.0, "Oh no. The concert is cancelled."),
    Scene("anger", 2.5, "They kept our money?!"),
    Scene("neutral", 1.5),
]


def main(argv=None) -> int:
    """`python -m dataset_builder.demo_video --output DIR`: `DIR/clip.mp4` and `DIR/clip.srt`."""
    import argparse
    import os

    parser = argparse.ArgumentParser(prog="python -m dataset_builder.demo_video", description=main.__doc__)
    parser.add_argument("--output", required=True, help="folder for clip.mp4 and clip.srt")
    parser.add_argument("--size", type=int, nargs=2, default=(320, 240), metavar=("WIDTH", "HEIGHT"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    os.makedirs(args.output, exist_ok=True)
    video, transcript = os.path.join(args.output, "clip.mp4"), os.path.join(args.output, "clip.srt")
    count = write_demo_video(video, EXAMPLE_SCENES, size=tuple(args.size), seed=args.seed)
    write_srt(transcript, EXAMPLE_SCENES)
    print(f"{count} frames -> {video}, subtitles -> {transcript}")
    return 0


__all__ = ["EXAMPLE_SCENES", "Scene", "main", "scene_spans", "write_demo_video", "write_srt"]


if __name__ == "__main__":
    raise SystemExit(main())
