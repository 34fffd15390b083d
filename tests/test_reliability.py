"""What the package promises under faults and hostile input: atomic checkpoint and dataset saves, builds that
complete when re-run after a kill, safetensors-only loading, bounded image decoding."""

import io
import os
import signal
import subprocess
import sys
import time

import datasets
import pytest
import torch
from PIL import Image

from emotifusion_hf import EmotiFusionForEmotionClassification, EmotiFusionImageProcessor, load_image
from emotifusion_hf.checkpoint import save_checkpoint
from dataset_builder.builder import BUILD_REPORT_FILE, build_dataset

from conftest import make_tiny_config, tiny_text_config


@pytest.fixture
def tiny_classifier(processor):
    torch.manual_seed(0)
    return EmotiFusionForEmotionClassification(
        make_tiny_config(text_config=tiny_text_config(processor.tokenizer.vocab_size))
    )


def test_a_save_killed_midway_leaves_the_previous_checkpoint_loadable(tmp_path, tiny_classifier, processor, monkeypatch):
    target = tmp_path / "model"
    save_checkpoint(tiny_classifier, processor, target)
    before = (target / "model.safetensors").read_bytes()

    changed = EmotiFusionForEmotionClassification(tiny_classifier.config)

    def killed(*args, **kwargs):
        raise KeyboardInterrupt("killed while writing the processor")

    monkeypatch.setattr(type(processor), "save_pretrained", killed)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(changed, processor, target)
    monkeypatch.undo()

    assert (target / "model.safetensors").read_bytes() == before
    assert sorted(path.name for path in tmp_path.iterdir()) == ["model"]  # no half-written folder left behind
    reloaded = EmotiFusionForEmotionClassification.from_pretrained(target)
    for name, tensor in tiny_classifier.state_dict().items():
        torch.testing.assert_close(reloaded.state_dict()[name], tensor)


def test_a_completed_save_replaces_the_checkpoint(tmp_path, tiny_classifier, processor):
    target = tmp_path / "model"
    save_checkpoint(tiny_classifier, processor, target)
    torch.manual_seed(1)
    replacement = EmotiFusionForEmotionClassification(tiny_classifier.config)
    save_checkpoint(replacement, processor, target)
    reloaded = EmotiFusionForEmotionClassification.from_pretrained(target)
    name = "classifier.weight"
    torch.testing.assert_close(reloaded.state_dict()[name], replacement.state_dict()[name])
    assert sorted(path.name for path in tmp_path.iterdir()) == ["model"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the atomic swap is Linux's renameat2")
def test_replacing_a_folder_is_one_atomic_swap_on_linux(tmp_path, monkeypatch):
    from emotifusion_hf import staging

    target, staged = tmp_path / "model", tmp_path / "staged"
    for folder, content in ((target, "old"), (staged, "new")):
        folder.mkdir()
        (folder / "weights").write_text(content)

    def no_window(*args):
        raise AssertionError("the old folder was renamed away: a reader could have found no folder")

    monkeypatch.setattr(staging.os, "replace", no_window)
    staging.replace_directory(staged, target)
    assert (target / "weights").read_text() == "new"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["model"]


def test_replacing_a_folder_without_the_swap_falls_back_to_two_renames(tmp_path, monkeypatch):
    from emotifusion_hf import staging

    target, staged = tmp_path / "model", tmp_path / "staged"
    for folder, content in ((target, "old"), (staged, "new")):
        folder.mkdir()
        (folder / "weights").write_text(content)
    monkeypatch.setattr(staging, "_exchange_paths", lambda first, second: False)
    staging.replace_directory(staged, target)
    assert (target / "weights").read_text() == "new"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["model"]


def test_weights_load_from_safetensors_only(tmp_path, tiny_classifier):
    with pytest.raises(ValueError, match="safetensors only"):
        EmotiFusionForEmotionClassification.from_pretrained(tmp_path, use_safetensors=False)
    pickled = tmp_path / "pickled"
    tiny_classifier.config.save_pretrained(pickled)
    torch.save(tiny_classifier.state_dict(), pickled / "pytorch_model.bin")
    with pytest.raises(OSError):
        EmotiFusionForEmotionClassification.from_pretrained(pickled)
    with pytest.raises(ValueError, match="safetensors only"):
        save_checkpoint(tiny_classifier, None, tmp_path / "x", safe_serialization=False)


def test_decompression_bomb_is_refused_before_decoding():
    # 9000 x 9000 one-bit pixels: a ~20 kB PNG that would decode to 243 MB of RGB.
    buffer = io.BytesIO()
    Image.new("1", (9000, 9000)).save(buffer, format="PNG", optimize=True)
    assert len(buffer.getvalue()) < 200_000
    with pytest.raises(OSError, match="too large"):
        load_image(buffer.getvalue())
    with pytest.raises(ValueError, match="exceeds the limit"):
        load_image(Image.new("1", (9000, 9000)))


@pytest.mark.parametrize("size", [(1, 1), (1, 3000), (3000, 2), (7, 5)])
def test_tiny_and_extreme_aspect_images_give_valid_pixels(size):
    pixel_values = EmotiFusionImageProcessor(size=32)(Image.new("RGB", size, (10, 200, 30)))["pixel_values"]
    assert pixel_values.shape == (1, 3, 32, 32) and torch.isfinite(pixel_values).all()


def _source_ids(path) -> dict:
    saved = datasets.load_from_disk(str(path))
    return {split: list(saved[split]["image_id"]) for split in saved}


def test_a_dataset_save_killed_midway_leaves_the_previous_build(tmp_path, monkeypatch):
    output = tmp_path / "data"
    build_dataset("demo", output_dir=str(output), cache_dir=str(tmp_path / "cache"), per_class=2, image_size=32, seed=0)
    before = _source_ids(output)
    original_save = datasets.Dataset.save_to_disk
    saved_splits = []

    def killed_after_one_split(self, *args, **kwargs):
        if saved_splits:
            raise KeyboardInterrupt("killed while writing the second split")
        saved_splits.append(original_save(self, *args, **kwargs))

    monkeypatch.setattr(datasets.Dataset, "save_to_disk", killed_after_one_split)
    with pytest.raises(KeyboardInterrupt):
        build_dataset("demo", output_dir=str(output), cache_dir=str(tmp_path / "cache"), per_class=3, image_size=32,
                      seed=1)
    monkeypatch.undo()

    assert saved_splits, "the interrupted save never started writing"
    assert _source_ids(output) == before
    assert (output / BUILD_REPORT_FILE).is_file()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["cache", "data"]  # no half-written folder left

    build_dataset("demo", output_dir=str(output), cache_dir=str(tmp_path / "cache"), per_class=3, image_size=32, seed=1)
    assert len(_source_ids(output)["train"]) == 3 * 8


def test_a_dataset_build_killed_midway_completes_when_run_again(tmp_path):
    """SIGKILL the `build` command once it has written part of the train split to the datasets cache, then run
    the same command again: it completes, with every face, and nothing half-built was ever at --output."""
    output, cache = tmp_path / "data", tmp_path / "cache"
    per_class = 150
    command = [sys.executable, "-m", "dataset_builder", "build", "--source", "demo", "--output", str(output),
               "--cache-dir", str(cache), "--per-class", str(per_class), "--eval-per-class", "4", "--image-size", "48"]
    environment = {**os.environ, "PYTHONPATH": os.path.dirname(os.path.dirname(os.path.abspath(__file__)))}
    process = subprocess.Popen(command, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 240
        while not any(cache.rglob("*.arrow")) and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL, "the build finished before it could be killed"
    assert not output.exists()

    rerun = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    ids = _source_ids(output)
    assert len(ids["train"]) == len(set(ids["train"])) == per_class * 8
    assert len(ids["test"]) == 4 * 8
