"""`emotifusion video`: an emotion timeline from a video file and, optionally, its transcript.

Frames are decoded as a stream with PyAV (the `[video]` extra; it bundles its own FFmpeg) and sampled by their
timestamps at the requested rate, so memory stays flat however long the video is and variable frame rates are
sampled evenly in time. Each sampled frame is scored by the emotion-fusion pipeline with the utterance being said
at that moment plus the turns before it; the fused scores are smoothed over time (an exponential moving average
with a half-life in seconds) and averaged over each utterance. A model with valence/arousal heads
(`config.affect_head`) adds both dimensions, smoothed and averaged the same way; an older one gives none of those keys.

```python
>>> from emotifusion_hf.video import analyze_video
>>> timeline = analyze_video("runs/demo/model", "clip.mp4", transcript="clip.srt", output_dir="timeline/")
>>> timeline["segments"][0]["scores"]
{'anger': 0.03, 'contempt': 0.02, ..., 'happy': 0.61, ...}
```
"""

import bisect
import csv
import json
import math
import os
import stat
import warnings
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from .transcripts import Utterance, clip_to_duration, read_transcript


DEFAULT_SAMPLE_FPS = 5.0
DEFAULT_HALF_LIFE = 1.0  # seconds: a face's expression holds for about that long
# A model trained on dialogues that carry one emotion reads every turn it is given as evidence for the moment: a
# happy line from half a minute ago outweighs a sad one said now. So the context is the current line and the
# one before it, when it was said shortly before.
DEFAULT_CONTEXT_TURNS = 2
DEFAULT_CONTEXT_SECONDS = 4.0
FACE_HOLD_SECONDS = 1.0  # a face missed for a moment keeps its last box this long
# Container formats FFmpeg opens for still images: a picture is not a video.
_STILL_IMAGE_FORMATS = ("image2", "_pipe", "gif", "webp", "apng")


class VideoError(ValueError):
    """A video that cannot be analysed; the message names the file and the problem."""


@dataclass
class VideoInfo:
    """What the container says about the video, with `width`/`height` as displayed (after rotation)."""

    path: str
    duration: float | None
    fps: float | None
    width: int
    height: int
    rotation: int = 0
    codec: str = ""
    frames_sampled: int = 0
    sample_fps: float = DEFAULT_SAMPLE_FPS
    decoded_until: float | None = None
    complete: bool = True
    problem: str | None = None


def _require_av():
    try:
        import av
    except ImportError as error:
        raise ImportError("Video decoding needs PyAV: `pip install av` (or `emotifusion-hf[video]`).") from error
    return av


def check_video_path(path: str) -> None:
    """Fail before anything opens `path` when it cannot be a video file: missing, a folder, or not a regular file
    (a pipe or device would block the decoder waiting for data)."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"The video must be a file path, got {type(path).__name__}.")
    if not os.path.exists(path):
        raise FileNotFoundError(f"Video file not found: {str(path)!r}")
    mode = os.stat(path).st_mode
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(f"--video expects a video file but got a directory: {str(path)!r}")
    if not stat.S_ISREG(mode):
        raise VideoError(f"Video {str(path)!r} is not a regular file (a pipe, socket or device); save it to a file.")
    if os.path.getsize(path) == 0:
        raise VideoError(f"Video {str(path)!r} is empty (0 bytes).")


def _display_array(frame) -> np.ndarray:
    """A decoded frame as an RGB array the way a player shows it: the display matrix's rotation applied."""
    array = frame.to_ndarray(format="rgb24")
    quarter_turns = round((getattr(frame, "rotation", 0) or 0) / 90) % 4
    # `rotation` is counter-clockwise, as `np.rot90` turns.
    return np.ascontiguousarray(np.rot90(array, quarter_turns)) if quarter_turns else array


class VideoReader:
    """Open a video and stream its frames at a sampling rate; use as a context manager.

    `frames()` yields `(time, rgb_array)` for the sample times 0, 1/fps, 2/fps, ... while the video lasts, each the
    frame on screen at that time (the last one whose timestamp is not after it), so a variable frame rate is
    sampled evenly. Only the frame on screen is held. When decoding fails part-way, the frames decoded so far are
    kept and `info.complete` / `info.problem` say how far it got.
    """

    def __init__(self, path: str):
        check_video_path(path)
        self.path = str(path)
        av = _require_av()
        self._av = av
        try:
            self._container = av.open(self.path, mode="r")
        except (av.FFmpegError, UnicodeDecodeError) as error:
            raise VideoError(f"{self.path!r} is not a video file FFmpeg can read ({error}).") from None
        try:
            self._open_stream()
        except BaseException:
            self._container.close()
            raise

    def _open_stream(self):
        container, av = self._container, self._av
        format_name = container.format.name or ""
        if not container.streams.video:
            kinds = sorted({stream.type for stream in container.streams})
            if "audio" in kinds:
                raise VideoError(f"{self.path!r} is audio only: it has no video stream to read faces from.")
            raise VideoError(f"{self.path!r} has no video stream (streams found: {', '.join(kinds) or 'none'}).")
        if any(marker in format_name for marker in _STILL_IMAGE_FORMATS):
            raise VideoError(f"{self.path!r} is a still image ({format_name}), not a video; use `emotifusion predict`.")
        self._stream = container.streams.video[0]
        self._stream.thread_type = "AUTO"  # frame and slice threads: decoding keeps up with the model
        duration = None
        if container.duration is not None and container.duration > 0:
            duration = container.duration / av.time_base
        elif self._stream.duration and self._stream.time_base:
            duration = float(self._stream.duration * self._stream.time_base)
        rate = self._stream.average_rate or self._stream.guessed_rate
        self._origin = None
        if container.start_time is not None:
            self._origin = container.start_time / av.time_base
        self._frames = self._decoded_frames()
        first = next(self._frames, None)
        if first is None:
            raise VideoError(f"{self.path!r} has a video stream but no frame could be decoded from it"
                             + (f" ({self._problem})." if self._problem else "."))
        self._first = first
        height, width = first[1].height, first[1].width
        rotation = round((getattr(first[1], "rotation", 0) or 0) / 90) % 4 * 90
        if rotation in (90, 270):
            width, height = height, width
        self.info = VideoInfo(
            path=self.path,
            duration=duration,
            fps=float(rate) if rate else None,
            width=width,
            height=height,
            rotation=rotation,
            codec=self._stream.codec_context.name,
        )

    _problem = None

    def _decoded_frames(self):
        """`(time, av.VideoFrame)` in decoding order; a decoding error ends the stream and is kept in `_problem`."""
        av = self._av
        time_base = self._stream.time_base
        rate = self._stream.average_rate or self._stream.guessed_rate or 25
        count = 0
        iterator = self._container.decode(self._stream)
        while True:
            try:
                frame = next(iterator)
            except StopIteration:
                return
            except (av.FFmpegError, MemoryError) as error:
                self._problem = f"{type(error).__name__}: {error}"
                return
            if frame.pts is not None and time_base is not None:
                time = float(frame.pts * time_base)
            else:
                time = count / float(rate)  # a raw stream without timestamps: count frames
            if self._origin is None:
                self._origin = time
            count += 1
            yield max(0.0, time - self._origin), frame

    def frames(self, fps: float = DEFAULT_SAMPLE_FPS):
        if not (isinstance(fps, (int, float)) and not isinstance(fps, bool) and 0 < fps < float("inf")):
            raise ValueError(f"`fps` must be a positive number, got {fps!r}.")
        info = self.info
        info.sample_fps = float(fps)
        native_interval = 1.0 / info.fps if info.fps else 1.0 / 25
        index, held, held_array, last_time = 0, None, None, 0.0

        def sample_time():
            return index / fps

        def chained():
            yield self._first
            yield from self._frames

        def held_until(limit):
            """The held frame at every sample time before `limit` (converted to an array once)."""
            nonlocal index, held_array
            while held is not None and sample_time() < limit:
                if held_array is None:
                    held_array = _display_array(held)
                yield sample_time(), held_array
                index += 1
                info.frames_sampled += 1

        for time, frame in chained():
            yield from held_until(time)
            if held is None or time >= last_time:  # a frame stamped out of order never replaces a later one
                held, held_array, last_time = frame, None, time
        # A stream that ends well before its declared duration was cut or damaged even when FFmpeg raised nothing.
        if self._problem is None and info.duration is not None and last_time + 2 * native_interval + 0.5 < info.duration:
            self._problem = f"the stream ends at {last_time:.2f} s but the file declares {info.duration:.2f} s"
        # The last frame stays on screen for one frame interval (to the declared end when decoding finished).
        if self._problem is None and info.duration is not None:
            end = max(info.duration, last_time + 1e-6)
        else:
            end = last_time + native_interval
        yield from held_until(end)
        info.decoded_until = round(last_time + native_interval, 3)
        if self._problem is not None:
            info.complete = False
            info.problem = (
                f"{self.path!r} is damaged: decoding stopped at {last_time:.2f} s"
                + (f" of {info.duration:.2f} s" if info.duration else "")
                + f" ({self._problem}); the timeline covers the {info.frames_sampled} frames sampled before that."
            )
        if info.duration is None:
            info.duration = round(end, 3)

    def close(self):
        self._container.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# ---------------------------------------------------------------------------------------------------------------
# Faces across frames
# ---------------------------------------------------------------------------------------------------------------


def _detection_scale(width: int, height: int, longest: int = 640) -> float:
    return min(1.0, longest / max(width, height))


class FaceTracker:
    """Follows one person: on each frame it takes the detected face nearest to the previous one (its centre within
    one face size), else the largest; a face missed for up to `hold` seconds keeps its last box."""

    def __init__(self, margin: float = 0.25, hold: float = FACE_HOLD_SECONDS):
        self.margin = margin
        self.hold = hold
        self.box = None
        self.seen_at = None

    def choose(self, boxes, previous):
        if not boxes:
            return None
        if previous is not None:
            px, py = previous[0] + previous[2] / 2, previous[1] + previous[3] / 2

            def distance(box):
                return math.hypot(box[0] + box[2] / 2 - px, box[1] + box[3] / 2 - py)

            nearest = min(boxes, key=distance)
            if distance(nearest) <= max(previous[2], previous[3]):
                return nearest
        return max(boxes, key=lambda box: box[2] * box[3])

    def update(self, image: np.ndarray, time: float):
        """`(box or None, face_found)` for this frame: `box` is where to crop (a held box when the face was missed
        for a moment), `face_found` whether the detector saw a face on this very frame."""
        from PIL import Image

        from .pipeline_emotifusion import detect_faces

        height, width = image.shape[:2]
        scale = _detection_scale(width, height)
        small = Image.fromarray(image)
        if scale < 1.0:  # Haar on a 640-px copy: the same faces at a fraction of the time
            small = small.resize((max(1, round(width * scale)), max(1, round(height * scale))), Image.BILINEAR)
        boxes = [tuple(round(value / scale) for value in box) for box in detect_faces(small, self.margin)]
        chosen = self.choose(boxes, self.box)
        if chosen is not None:
            self.box, self.seen_at = chosen, time
            return chosen, True
        if self.box is not None and time - self.seen_at <= self.hold:
            return self.box, False
        self.box = None
        return None, False


# ---------------------------------------------------------------------------------------------------------------
# Dialogue context, smoothing
# ---------------------------------------------------------------------------------------------------------------


class DialogueContext:
    """The text for a moment of the video: the utterance being said then plus the turns before it, as many as fit
    in the processor's token budget (oldest dropped first), at most `max_turns` in all, and only turns that ended at
    most `max_seconds` before the current one started."""

    def __init__(self, utterances: list[Utterance], processor=None, max_turns: int = DEFAULT_CONTEXT_TURNS,
                 max_seconds: float = DEFAULT_CONTEXT_SECONDS):
        if not isinstance(max_turns, int) or isinstance(max_turns, bool) or max_turns < 1:
            raise ValueError(f"`context_turns` must be a positive integer, got {max_turns!r}.")
        if not 0 <= max_seconds <= float("inf"):
            raise ValueError(f"`context_seconds` must be a number of seconds >= 0, got {max_seconds!r}.")
        self.max_seconds = max_seconds
        self.utterances = utterances
        self.starts = [utterance.start for utterance in utterances]
        self.processor = processor
        self.max_turns = max_turns
        self._turns = {}

    def utterance_at(self, time: float) -> int | None:
        """Index of the utterance said at `time` (the latest started one when they overlap), or `None`."""
        position = bisect.bisect_right(self.starts, time)
        for index in range(position - 1, max(-1, position - 50), -1):
            if self.utterances[index].covers(time):
                return index
        return None

    def _fits(self, turns: list[str]) -> bool:
        if self.processor is None:
            return True
        tokenizer = self.processor.tokenizer
        budget = getattr(self.processor, "max_length", None) or tokenizer.model_max_length
        return len(tokenizer(self.processor.join_turns(turns))["input_ids"]) <= budget

    def turns(self, index: int) -> list[str]:
        if index not in self._turns:
            first = max(0, index - self.max_turns + 1)
            start = self.utterances[index].start
            while first < index and self.utterances[first].end < start - self.max_seconds:
                first += 1
            turns = [utterance.text for utterance in self.utterances[first : index + 1]]
            while len(turns) > 1 and not self._fits(turns):
                turns = turns[1:]
            self._turns = {index: turns}  # frames arrive in time order: one entry is all the cache needs
        return self._turns[index]


class Smoother:
    """Exponential moving average of the score vectors over time, with a half-life in seconds (`None`: no
    smoothing), and optional hysteresis on the top label: it changes only when another emotion leads by more than
    `hysteresis`."""

    def __init__(self, half_life: float | None = DEFAULT_HALF_LIFE, hysteresis: float = 0.0):
        if half_life is not None and not (0 < half_life < float("inf")):
            raise ValueError(f"`half_life` must be a positive number of seconds, got {half_life!r}.")
        if not 0 <= hysteresis < 1:
            raise ValueError(f"`hysteresis` must be in [0, 1), got {hysteresis!r}.")
        self.half_life = half_life
        self.hysteresis = hysteresis
        self.state = None
        self.time = None
        self.label = None

    def update(self, time: float, scores: np.ndarray) -> tuple[np.ndarray, int]:
        if self.state is None or self.half_life is None:
            self.state = scores.copy()
        else:
            # Weight of the new frame for the time since the last one, so an uneven step is smoothed the same.
            alpha = 1.0 - 0.5 ** (max(0.0, time - self.time) / self.half_life)
            self.state = self.state + alpha * (scores - self.state)
        self.time = time
        best = int(np.argmax(self.state))
        if self.label is None or self.state[best] > self.state[self.label] + self.hysteresis:
            self.label = best
        return self.state, self.label


# ---------------------------------------------------------------------------------------------------------------
# The analysis
# ---------------------------------------------------------------------------------------------------------------


@dataclass
class _Pending:
    time: float
    image: np.ndarray
    box: tuple | None
    face_found: bool | None
    utterance: int | None
    extra: dict = field(default_factory=dict)


def _scores_dict(ranked, labels) -> dict | None:
    if ranked is None:
        return None
    by_label = {item["label"]: item["score"] for item in ranked}
    return {label: round(float(by_label[label]), 6) for label in labels}


def has_affect_heads(pipe) -> bool:
    """Whether the pipeline's model predicts valence and arousal (a checkpoint saved before the heads has none)."""
    config = getattr(getattr(pipe, "model", None), "config", None)
    return getattr(config, "affect_head", False) is True


def _crop(image: np.ndarray, box):
    from PIL import Image

    if box is None:
        return Image.fromarray(image)
    x, y, width, height = box
    return Image.fromarray(image[y : y + height, x : x + width])


def analyze_video(
    model,
    video: str,
    transcript=None,
    *,
    fps: float = DEFAULT_SAMPLE_FPS,
    detect_face: bool = False,
    smoothing: str = "ema",
    half_life: float = DEFAULT_HALF_LIFE,
    hysteresis: float = 0.0,
    batch_size: int = 8,
    context_turns: int = DEFAULT_CONTEXT_TURNS,
    context_seconds: float = DEFAULT_CONTEXT_SECONDS,
    face_margin: float = 0.25,
    device=None,
    output_dir: str | None = None,
    annotate: bool = False,
    progress: bool = True,
) -> dict:
    """
    The emotion timeline of `video`.

    Args:
        model: a checkpoint folder or Hub id, or an emotion-fusion pipeline already loaded.
        video (`str`): the video file (anything FFmpeg reads: mp4, mov, mkv, webm, avi, ...).
        transcript: a `.srt`, `.vtt` or `.json` file, or a list of [`Utterance`]; `None` for faces only.
        fps: frames sampled per second of video.
        detect_face: crop the face OpenCV finds (following the same person across frames) instead of scoring the
            whole frame.
        smoothing: `"ema"` (exponential moving average with `half_life` seconds) or `"none"`.
        hysteresis: the top label changes only when another emotion leads it by more than this (0: off).
        batch_size: frames scored per forward pass.
        context_turns: at most this many turns of dialogue per frame (the current one included).
        context_seconds: earlier turns count only when they ended at most this long before the current one began.
        output_dir: when given, `timeline.json`, `timeline.csv`, `timeline.png` (and `annotated.mp4` with
            `annotate=True`) are written there.
        progress: show a progress bar over the video's duration.

    Returns:
        `dict`: `{"video": {...}, "frames": [...], "segments": [...], "warnings": [...]}` as written to
        `timeline.json`. Frame `scores` are the fused (smoothed) scores over all eight emotions; `raw_scores` the
        fused scores before smoothing; `image_only` / `text_only` each stream's own evidence (`text_only` is
        `None` where no one speaks, and those frames are scored from the face alone). With a model that has
        valence/arousal heads, each frame also carries `valence` and `arousal` in [-1, 1] (smoothed like the scores)
        with `raw_valence` / `raw_arousal`, and each segment the mean `valence` / `arousal` of its frames; without
        the heads these keys are absent.
    """
    if smoothing not in ("ema", "none"):
        raise ValueError(f"`smoothing` must be 'ema' or 'none', got {smoothing!r}.")
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise ValueError(f"`batch_size` must be a positive integer, got {batch_size!r}.")
    if annotate and output_dir is None:
        raise ValueError("`annotate=True` writes annotated.mp4 into `output_dir`: give one.")
    smoother = Smoother(half_life if smoothing == "ema" else None, hysteresis)
    affect_smoother = Smoother(half_life if smoothing == "ema" else None)  # its top "label" is never read
    check_video_path(video)
    utterances = transcript if isinstance(transcript, list) or transcript is None else read_transcript(transcript)
    utterances = sorted(utterances or [], key=lambda utterance: (utterance.start, utterance.end))

    if isinstance(model, (str, os.PathLike)):
        from .predict import load_pipeline

        pipe = load_pipeline(str(model), device)
    else:
        pipe = model
    labels = [pipe.model.config.id2label[index] for index in range(len(pipe.model.config.id2label))]
    with_affect = has_affect_heads(pipe)
    affect_request = {"return_affect": True} if with_affect else {}
    if output_dir is not None:
        os.makedirs(output_dir, exist_ok=True)

    from tqdm.auto import tqdm

    warnings_found = []
    frames, writer = [], None
    with VideoReader(video) as reader:
        info = reader.info
        if utterances and info.duration is not None:
            utterances, clip_warnings = clip_to_duration(utterances, info.duration)
            warnings_found += clip_warnings
        context = DialogueContext(utterances, getattr(pipe, "processor", None), context_turns, context_seconds)
        tracker = FaceTracker(face_margin) if detect_face else None
        if annotate:
            writer = AnnotatedVideoWriter(os.path.join(output_dir, "annotated.mp4"), fps)
        bar = tqdm(total=round(info.duration, 2) if info.duration else None, unit="s", desc="video",
                   disable=not progress, bar_format="{l_bar}{bar}| {n:.1f}/{total_fmt} s [{elapsed}<{remaining}]")
        pending = []

        def flush():
            inputs = [
                {"image": _crop(item.image, item.box),
                 "text": context.turns(item.utterance) if item.utterance is not None else None}
                for item in pending
            ]
            results = pipe(inputs, batch_size=batch_size, return_modalities=True, **affect_request)
            for item, result in zip(pending, results):
                raw = _scores_dict(result["scores"], labels)
                smoothed, label = smoother.update(item.time, np.array([raw[name] for name in labels]))
                frame = {
                    "time": round(item.time, 3),
                    "face_found": item.face_found,
                    "face_box": list(item.box) if item.box is not None else None,
                    "utterance": utterances[item.utterance].text if item.utterance is not None else None,
                    "label": labels[label],
                    "scores": {name: round(float(value), 6) for name, value in zip(labels, smoothed)},
                    "raw_scores": raw,
                    "image_only": _scores_dict(result["image_only"], labels),
                    "text_only": _scores_dict(result["text_only"], labels),
                }
                if with_affect:
                    raw_affect = np.array([result["valence"], result["arousal"]], dtype=np.float64)
                    smoothed_affect, _ = affect_smoother.update(item.time, raw_affect)
                    frame["valence"], frame["arousal"] = (round(float(value), 6) for value in smoothed_affect)
                    frame["raw_valence"], frame["raw_arousal"] = (round(float(value), 6) for value in raw_affect)
                frames.append(frame)
                if writer is not None:
                    writer.write(item.image, item.box, frame)
                bar.update(max(0.0, min(item.time, bar.total or item.time) - bar.n))
            pending.clear()

        try:
            for time, image in reader.frames(fps):
                box, found = tracker.update(image, time) if tracker is not None else (None, None)
                pending.append(_Pending(time, image, box, found, context.utterance_at(time)))
                if len(pending) >= batch_size:
                    flush()
            if pending:
                flush()
            if bar.total and info.complete:
                bar.update(bar.total - bar.n)  # the last sample falls short of the end by less than 1/fps
        finally:
            bar.close()
            if writer is not None:
                writer.close()
    if info.problem:
        warnings_found.append(info.problem)
    if not frames:
        raise VideoError(f"{video!r}: no frame could be sampled.")

    timeline = {
        "video": {
            "path": info.path,
            "duration": round(info.duration, 3) if info.duration is not None else None,
            "fps": round(info.fps, 3) if info.fps else None,
            "width": info.width,
            "height": info.height,
            "rotation": info.rotation,
            "codec": info.codec,
            "sample_fps": info.sample_fps,
            "frames_sampled": len(frames),
            "complete": info.complete,
            "decoded_until": info.decoded_until,
            "smoothing": {"method": smoothing, "half_life": half_life if smoothing == "ema" else None,
                          "hysteresis": hysteresis},
        },
        "frames": frames,
        "segments": _segments(utterances, frames, labels, with_affect),
        "warnings": warnings_found,
    }
    for message in warnings_found:
        warnings.warn(message, stacklevel=2)
    if output_dir is not None:
        write_timeline(timeline, output_dir)
    return timeline


def _segments(utterances: list[Utterance], frames: list[dict], labels: list[str],
              with_affect: bool = False) -> list[dict]:
    """Each utterance with the mean smoothed fused scores (and valence/arousal, `with_affect`) of the frames sampled
    while it was said (`None` when it was too short to catch a frame)."""
    times = [frame["time"] for frame in frames]
    segments = []
    for utterance in utterances:
        inside = frames[bisect.bisect_left(times, utterance.start) : bisect.bisect_left(times, utterance.end)]
        inside = [frame for frame in inside if frame["utterance"] == utterance.text] or inside
        scores = None
        if inside:
            mean = np.mean([[frame["scores"][name] for name in labels] for frame in inside], axis=0)
            scores = {name: round(float(value), 6) for name, value in zip(labels, mean / mean.sum())}
        segment = {"start": utterance.start, "end": utterance.end, "text": utterance.text, "frames": len(inside),
                   "label": max(scores, key=scores.get) if scores else None, "scores": scores}
        if with_affect:
            for dimension in ("valence", "arousal"):
                segment[dimension] = (round(float(np.mean([frame[dimension] for frame in inside])), 6)
                                      if inside else None)
        if utterance.speaker is not None:
            segment["speaker"] = utterance.speaker
        segments.append(segment)
    return segments


# ---------------------------------------------------------------------------------------------------------------
# Outputs
# ---------------------------------------------------------------------------------------------------------------


def write_timeline(timeline: dict, output_dir: str) -> dict:
    """`timeline.json`, `timeline.csv` and `timeline.png` in `output_dir`; their paths by kind."""
    os.makedirs(output_dir, exist_ok=True)
    paths = {kind: os.path.join(output_dir, f"timeline.{kind}") for kind in ("json", "csv", "png")}
    with open(paths["json"], "w", encoding="utf-8") as handle:
        json.dump(timeline, handle, indent=1, ensure_ascii=False)
    labels = list(timeline["frames"][0]["scores"])
    # Valence/arousal columns go last, so the columns of a model without the heads stay where they were.
    affect = ["valence", "arousal"] if "valence" in timeline["frames"][0] else []
    with open(paths["csv"], "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["time", "face_found", "label", "utterance", *labels, *(f"image_{name}" for name in labels),
                         *(f"text_{name}" for name in labels), *affect])
        for frame in timeline["frames"]:
            image_only, text_only = frame["image_only"] or {}, frame["text_only"] or {}
            writer.writerow([
                frame["time"], "" if frame["face_found"] is None else int(frame["face_found"]), frame["label"],
                frame["utterance"] or "", *(frame["scores"][name] for name in labels),
                *(image_only.get(name, "") for name in labels), *(text_only.get(name, "") for name in labels),
                *(frame[dimension] for dimension in affect),
            ])
    plot_timeline(timeline, paths["png"])
    return paths


# One colour per emotion, chosen to stay apart (and to read as the emotion where a convention exists).
EMOTION_COLOURS = {
    "anger": "#d62728", "contempt": "#8c564b", "disgust": "#2ca02c", "fear": "#9467bd",
    "happy": "#ffbf00", "neutral": "#7f7f7f", "sad": "#1f77b4", "surprise": "#e377c2",
}


def plot_timeline(timeline: dict, path: str) -> None:
    """The eight emotions' scores over time, the utterances as shaded spans with their words above, a valence/arousal
    panel when the frames carry them, and a strip of the top emotion along the bottom."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    frames = timeline["frames"]
    labels = list(frames[0]["scores"])
    times = np.array([frame["time"] for frame in frames])
    duration = timeline["video"]["duration"] or float(times[-1])
    with_affect = "valence" in frames[0]
    if with_affect:
        figure, (axis, affect_axis, strip) = plt.subplots(
            3, 1, figsize=(11, 6.2), sharex=True, gridspec_kw={"height_ratios": [9, 3.5, 1], "hspace": 0.08}
        )
    else:
        figure, (axis, strip) = plt.subplots(
            2, 1, figsize=(11, 4.6), sharex=True, gridspec_kw={"height_ratios": [9, 1], "hspace": 0.08}
        )
    for span_index, segment in enumerate(timeline["segments"]):
        for spanned in (axis, affect_axis) if with_affect else (axis,):
            spanned.axvspan(segment["start"], segment["end"], color="#000000", alpha=0.06 if span_index % 2 else 0.1,
                            lw=0)
        width = segment["end"] - segment["start"]
        # Lines alternate between two rows, so each may spread over about its own span and half of each neighbour's
        # (about 190 characters over the whole axis); longer words are cut so neighbours on a row never collide.
        room = max(4, int(width / max(duration, 1e-6) * 190))
        text = segment["text"] if len(segment["text"]) <= room else segment["text"][: room - 1] + "\u2026"
        axis.text(segment["start"] + width / 2, 1.02 + 0.06 * (span_index % 2), f"\u201c{text}\u201d",
                  ha="center", va="bottom", fontsize=8, transform=axis.get_xaxis_transform(), clip_on=False)
    for name in labels:
        values = [frame["scores"][name] for frame in frames]
        axis.plot(times, values, color=EMOTION_COLOURS.get(name), lw=1.8, label=name)
    axis.set_ylim(0, 1)
    axis.set_xlim(0, duration)
    axis.set_ylabel("score (fused" + (", smoothed)" if timeline["video"]["smoothing"]["method"] == "ema" else ")"))
    axis.grid(alpha=0.25)
    axis.legend(loc="upper left", bbox_to_anchor=(1.005, 1.0), frameon=False, fontsize=9)
    if with_affect:
        affect_axis.axhline(0.0, color="#000000", lw=0.8, alpha=0.5)
        for dimension, colour in (("valence", "#1a9850"), ("arousal", "#d95f02")):
            affect_axis.plot(times, [frame[dimension] for frame in frames], color=colour, lw=1.6, label=dimension)
        affect_axis.set_ylim(-1.05, 1.05)
        affect_axis.set_yticks([-1, 0, 1])
        affect_axis.set_ylabel("affect", fontsize=9)
        affect_axis.grid(alpha=0.25)
        affect_axis.legend(loc="upper left", bbox_to_anchor=(1.005, 1.0), frameon=False, fontsize=9)
    # The top emotion as coloured blocks: the answer at a glance.
    edges = np.append(times, duration)
    for index, frame in enumerate(frames):
        strip.axvspan(edges[index], edges[index + 1], color=EMOTION_COLOURS.get(frame["label"]), lw=0)
    strip.set_yticks([])
    strip.set_ylabel("top", rotation=0, ha="right", va="center", fontsize=9)
    strip.set_xlabel("time (s)")
    missing = sum(frame["face_found"] is False for frame in frames)
    title = os.path.basename(timeline["video"]["path"])
    if missing:
        title += f"  ({missing} of {len(frames)} frames without a detected face)"
    if not timeline["video"]["complete"]:
        title += "  [decoding stopped early]"
    axis.set_title(title, fontsize=10, pad=30 if timeline["segments"] else 6)
    figure.savefig(path, dpi=80, bbox_inches="tight")
    plt.close(figure)


class AnnotatedVideoWriter:
    """`annotated.mp4`: the sampled frames at the sampling rate, with the face box and the top emotion drawn."""

    def __init__(self, path: str, fps: float):
        self.path = path
        self.rate = Fraction(fps).limit_denominator(1000)
        self.container = None
        self.index = 0

    def _open(self, width: int, height: int):
        av = _require_av()
        self.container = av.open(self.path, mode="w")
        codec = "libx264" if "libx264" in av.codecs_available else "mpeg4"
        self.stream = self.container.add_stream(codec, rate=self.rate)
        # 4:2:0 chroma needs even sides: an odd-sized frame loses its last row or column.
        self.stream.width, self.stream.height = width - width % 2, height - height % 2
        self.stream.pix_fmt = "yuv420p"

    def write(self, image: np.ndarray, box, frame: dict):
        from PIL import Image, ImageDraw, ImageFont

        if self.container is None:
            self._open(image.shape[1], image.shape[0])
        av = _require_av()
        canvas = Image.fromarray(image[: self.stream.height, : self.stream.width])
        draw = ImageDraw.Draw(canvas)
        size = max(12, canvas.height // 24)
        font = ImageFont.load_default(size=size)
        colour = EMOTION_COLOURS.get(frame["label"], "#ffffff")
        if box is not None:
            x, y, width, height = box
            draw.rectangle((x, y, x + width, y + height), outline=colour, width=max(2, size // 6))
        caption = f"{frame['label']} {frame['scores'][frame['label']]:.2f}   t={frame['time']:.1f}s"
        draw.rectangle((0, 0, canvas.width, size + 8), fill=(0, 0, 0))
        draw.text((6, 4), caption, fill=colour, font=font)
        video_frame = av.VideoFrame.from_image(canvas)
        video_frame.pts = self.index
        self.index += 1
        for packet in self.stream.encode(video_frame):
            self.container.mux(packet)

    def close(self):
        if self.container is None:
            return
        for packet in self.stream.encode():
            self.container.mux(packet)
        self.container.close()
        self.container = None


def run_video(args) -> int:
    """`emotifusion video`: the timeline files in `--output`, a one-line summary per utterance on stdout."""
    import sys

    check_video_path(args.video)
    if args.transcript is not None:
        utterances = read_transcript(args.transcript)  # a broken transcript fails before the model loads
    else:
        utterances = None
    if args.detect_face:
        _require_cv2()  # missing OpenCV is said before the model loads
    _require_av()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        timeline = analyze_video(
            args.model, args.video, utterances, fps=args.fps, detect_face=args.detect_face, smoothing=args.smoothing,
            half_life=args.half_life, hysteresis=args.hysteresis, batch_size=args.batch_size, device=args.device,
            context_turns=args.context_turns, context_seconds=args.context_seconds,
            output_dir=args.output, annotate=args.annotate, progress=not args.no_progress,
        )
    for warning in caught:
        print(f"warning: {warning.message}", file=sys.stderr)
    video = timeline["video"]
    print(f"{video['frames_sampled']} frames over {video['duration']:.1f} s -> {args.output}/timeline.json, .csv, .png"
          + (", annotated.mp4" if args.annotate else ""))
    for segment in timeline["segments"]:
        label = segment["label"] or "(no frame)"
        affect = ""
        if segment.get("valence") is not None:
            affect = f"v={segment['valence']:+.2f} a={segment['arousal']:+.2f}  "
        print(f"{segment['start']:7.2f}-{segment['end']:7.2f} s  {label:>8}  {affect}{segment['text'][:70]}")
    return 0


def _require_cv2():
    try:
        import cv2  # noqa: F401
    except ImportError as error:
        raise ImportError("--detect-face needs OpenCV: `pip install opencv-python-headless` (or "
                          "`emotifusion-hf[face]`).") from error


__all__ = [
    "AnnotatedVideoWriter",
    "DialogueContext",
    "FaceTracker",
    "Smoother",
    "VideoError",
    "VideoInfo",
    "VideoReader",
    "analyze_video",
    "check_video_path",
    "has_affect_heads",
    "plot_timeline",
    "run_video",
    "write_timeline",
]
