"""Training, evaluation and their helpers on a tiny dataset built here (no dataset builder, no network)."""

import json
import os
import subprocess
import sys
import re

import numpy as np
import pytest
import torch
import yaml
from datasets import ClassLabel, Dataset, DatasetDict, Features, Image as ImageFeature, List, Value
from PIL import Image

from emotifusion_hf import EMOTIONS, EmotiFusionImageProcessor, EmotiFusionProcessor
from emotifusion_hf.eval_report import EVAL_REPORT_NAME, TEXT_LABEL_HEAD
from training import train as train_module
from training.augment import (
    FaceDialogueCollator,
    FaceDialogueTransform,
    build_eval_augmentation,
    build_train_augmentation,
)
from training.evaluate import evaluate_checkpoint, format_summary, repair_dialogues

from conftest import tiny_text_config


REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORDS = {
    "anger": "furious", "contempt": "pathetic", "disgust": "gross", "fear": "terrified",
    "happy": "delighted", "neutral": "fine", "sad": "heartbroken", "surprise": "shocked",
}


def _face(label: int, rng: np.random.Generator) -> Image.Image:
    """A 40 px image whose colour follows the label, plus noise: learnable in a few steps."""
    base = np.array([(label * 37) % 256, (label * 91) % 256, (label * 53) % 256], dtype=np.float32)
    pixels = base + rng.normal(0, 20, (40, 40, 3))
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def _split(per_class: int, seed: int) -> Dataset:
    rng = np.random.default_rng(seed)
    rows = {name: [] for name in ("image", "image_id", "text", "dialogue", "label", "text_label", "face_box", "source")}
    for index in range(per_class):
        for label, emotion in enumerate(EMOTIONS):
            text_label = label if rng.random() < 0.75 else int(rng.integers(len(EMOTIONS)))
            turns = [f"I feel {WORDS[EMOTIONS[text_label]]} about it.", "Oh, really?"]
            rows["image"].append(_face(label, rng))
            rows["image_id"].append(f"{seed}-{emotion}-{index}")
            rows["text"].append("\n".join(turns))
            rows["dialogue"].append(turns)
            rows["label"].append(label)
            rows["text_label"].append(text_label)
            rows["face_box"].append([2, 2, 36, 36] if index % 2 else None)
            rows["source"].append("tiny")
    features = Features({
        "image": ImageFeature(), "image_id": Value("string"), "text": Value("string"),
        "dialogue": List(Value("string")), "label": ClassLabel(names=list(EMOTIONS)),
        "text_label": ClassLabel(names=list(EMOTIONS)), "face_box": List(Value("int32"), length=4),
        "source": Value("string"),
    })
    return Dataset.from_dict(rows, features=features)


@pytest.fixture(scope="module")
def dataset_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("tiny-data") / "dataset"
    DatasetDict({"train": _split(3, 0), "validation": _split(2, 1), "test": _split(2, 2)}).save_to_disk(str(path))
    return str(path)


def _write_config(path, dataset_dir, tokenizer_dir, **overrides) -> str:
    config = {
        "tokenizer_name": tokenizer_dir,
        "text_config": {key: value for key, value in tiny_text_config().items() if key != "vocab_size"},
        # Two small timm trunks keep the two-trunk concatenation under test at a fraction of resnet18's cost.
        "vision_backbones": ["test_resnet", "mobilenetv3_small_050"],
        "image_size": 32,
        "embed_dim": 32,
        "fusion_num_heads": 4,
        "max_text_length": 32,
        "modality_dropout": 0.2,
        "dataset_dir": dataset_dir,
        "do_train": True,
        "do_eval": True,
        "max_steps": 3,
        "per_device_train_batch_size": 8,
        "per_device_eval_batch_size": 16,
        "learning_rate": 1.0e-3,
        "eval_strategy": "no",
        "save_strategy": "no",
        "logging_steps": 1,
        "report_to": "none",
        "use_cpu": True,
        "disable_tqdm": True,
        "seed": 0,
    }
    config.update(overrides)
    with open(path, "w") as handle:
        yaml.safe_dump(config, handle)
    return str(path)


@pytest.fixture(scope="module")
def trained_dir(tmp_path_factory, dataset_dir, minilm_dir):
    """One short training run shared by the checkpoint and evaluation tests."""
    root = tmp_path_factory.mktemp("trained")
    config = _write_config(root / "tiny.yaml", dataset_dir, minilm_dir, class_weighting="inverse",
                           freeze_backbones_steps=1, backbone_learning_rate=1.0e-4)
    output_dir = str(root / "model")
    metrics = train_module.main([config, "--output_dir", output_dir])
    return output_dir, metrics


# ---------------------------------------------------------------------------------------------- data


def test_missing_dataset_is_named(tmp_path, minilm_dir):
    config = _write_config(tmp_path / "c.yaml", str(tmp_path / "nowhere"), minilm_dir)
    with pytest.raises(FileNotFoundError, match="nowhere"):
        train_module.main([config, "--output_dir", str(tmp_path / "out")])


def test_transforms_and_collator(tokenizer, dataset_dir):
    from datasets import load_from_disk

    image_processor = EmotiFusionImageProcessor(size=32)
    processor = EmotiFusionProcessor(image_processor=image_processor, tokenizer=tokenizer)
    split = load_from_disk(dataset_dir)["test"]
    eval_rows = split.with_transform(FaceDialogueTransform(image_processor, build_eval_augmentation(image_processor)))
    train_rows = split.with_transform(FaceDialogueTransform(image_processor, build_train_augmentation(image_processor)))
    # Evaluation sees exactly what inference sees.
    expected = image_processor(split[0]["image"], face_boxes=split[0]["face_box"], return_tensors="np")
    expected = expected["pixel_values"][0]
    np.testing.assert_allclose(eval_rows[0]["pixel_values"], expected, atol=1e-5)
    assert np.asarray(train_rows[1]["pixel_values"]).shape == (3, 32, 32)

    features = [eval_rows[index] for index in range(3)]
    features[1]["text"] = features[1]["text"] + " and much, much longer than the others, with many more words"
    features[2]["text"] = None
    batch = FaceDialogueCollator(processor)(features)
    lengths = batch["attention_mask"].sum(1)
    assert batch["input_ids"].shape[1] == int(lengths.max())  # padded to the longest, not to max_length
    assert batch["text_present"].tolist() == [True, True, False]
    assert batch["pixel_values"].shape == (3, 3, 32, 32) and batch["labels"].dtype == torch.long


def test_seeded_augmentation_depends_on_seed_epoch_and_row_only(dataset_dir):
    """The same rows come out the same with 0 or 2 DataLoader workers (persistent ones too) and in any order;
    another epoch or seed augments differently."""
    from datasets import load_from_disk
    from torch.utils.data import DataLoader

    from training.augment import SeededAugmentedDataset

    image_processor = EmotiFusionImageProcessor(size=32)
    split = load_from_disk(dataset_dir)["train"]

    def rows(seed=0, epoch=0, order=range(8), **loader_kwargs):
        dataset = SeededAugmentedDataset(
            split, FaceDialogueTransform(image_processor, build_train_augmentation(image_processor)), seed=seed
        )
        dataset.set_epoch(epoch)
        loader = DataLoader(dataset, batch_size=4, sampler=list(order), collate_fn=lambda batch: batch, **loader_kwargs)
        return [np.asarray(row["pixel_values"]) for batch in loader for row in batch]

    reference = rows()
    assert all(np.array_equal(a, b) for a, b in zip(reference, rows(num_workers=2)))
    reversed_rows = rows(order=range(7, -1, -1))
    assert all(np.array_equal(a, b) for a, b in zip(reference, reversed_rows[::-1]))
    assert not all(np.array_equal(a, b) for a, b in zip(reference, rows(epoch=1)))
    assert not all(np.array_equal(a, b) for a, b in zip(reference, rows(seed=1)))

    # Persistent workers keep their copy of the dataset; the epoch reaches them through shared memory.
    dataset = SeededAugmentedDataset(
        split, FaceDialogueTransform(image_processor, build_train_augmentation(image_processor)), seed=0
    )
    loader = DataLoader(dataset, batch_size=4, sampler=list(range(8)), collate_fn=lambda batch: batch,
                        num_workers=1, persistent_workers=True)
    first = [np.asarray(row["pixel_values"]) for batch in loader for row in batch]
    dataset.set_epoch(1)
    second = [np.asarray(row["pixel_values"]) for batch in loader for row in batch]
    assert all(np.array_equal(a, b) for a, b in zip(reference, first))
    assert all(np.array_equal(a, b) for a, b in zip(rows(epoch=1), second))


def test_repair_dialogues_hits_the_requested_agreement():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 8, 400)
    text_labels = rng.integers(0, 8, 400)
    for level in (1.0, 0.5, 0.0):
        chosen, achieved = repair_dialogues(labels, text_labels, level, seed=0)
        assert achieved == pytest.approx(np.mean(text_labels[chosen] == labels))
        assert achieved == pytest.approx(level, abs=0.08)
    with pytest.raises(ValueError, match="Agreement"):
        repair_dialogues(labels, text_labels, 1.5)


def test_training_names_no_internal_module_paths():
    """Optimizer groups, freezing and the text cache go through the model's own methods (`parameter_groups`,
    `lock_backbones`, `lock_text_layers`, `get_text_encoder`), never through its module paths."""
    training_dir = os.path.join(REPO_ROOT, "training")
    internal = re.compile(r"text_model|vision_model|\.trunks\b|\.bert\b|\bemotifusion\.")
    offenders = []
    for name in sorted(os.listdir(training_dir)):
        if name.endswith(".py"):
            with open(os.path.join(training_dir, name), encoding="utf-8") as handle:
                code = "".join(line for line in handle if not line.lstrip().startswith("#"))
            offenders += [f"{name}: {match}" for match in internal.findall(code)]
    assert not offenders


# ---------------------------------------------------------------------------------------------- end to end


def test_training_run_saves_a_remote_code_checkpoint(trained_dir):
    output_dir, metrics = trained_dir
    for name in ("config.json", "model.safetensors", "pipeline_emotifusion.py", "modeling_emotifusion.py",
                 "processor_config.json", "README.md", "all_results.json", "trainer_state.json"):
        assert os.path.isfile(os.path.join(output_dir, name)), name
    assert {"train_loss", "eval_accuracy", "eval_macro_f1", "calibration_temperature"} <= set(metrics)
    with open(os.path.join(output_dir, "config.json")) as handle:
        config = json.load(handle)
    assert config["temperature"] == pytest.approx(metrics["calibration_temperature"])
    assert len(config["class_weights"]) == 8

    assert config["auto_map"]["AutoModel"].endswith("EmotiFusionForEmotionClassification")  # remote code declared
    with open(os.path.join(output_dir, "training_summary.json")) as handle:
        summary = json.load(handle)
    assert summary["dataset"] == "tiny" and summary["optimizer_steps"] == 3

    from transformers import AutoModel

    model = AutoModel.from_pretrained(output_dir, trust_remote_code=True)
    assert model.config.temperature == pytest.approx(metrics["calibration_temperature"])
    # The evidence weights were fitted on validation data, with the fused head, before the temperature.
    assert {"calibration_evidence_image_weight", "calibration_evidence_text_weight"} <= set(metrics)
    assert model.evidence_weights.tolist() == pytest.approx([metrics[f"calibration_evidence_{name}"] for name in (
        "fused_scale", "image_weight", "text_weight")], abs=1e-6)
    assert metrics["calibration_evidence_nll_after"] <= metrics["calibration_evidence_nll_before"] + 1e-6
    # So were the weights used with a modality missing, each on the fused head given one modality.
    assert model.missing_evidence_weights.flatten().tolist() == pytest.approx([
        metrics[f"calibration_evidence_{case}_{name}"]
        for case in ("text_missing", "image_missing") for name in ("fused_scale", "weight")], abs=1e-6)
    for case in ("text_missing", "image_missing"):
        assert metrics[f"calibration_evidence_{case}_macro_f1"] >= metrics[f"calibration_evidence_{case}_macro_f1_before"]


def test_evaluation_report(trained_dir, dataset_dir, tmp_path):
    output_dir, _ = trained_dir
    report = evaluate_checkpoint(output_dir, dataset_dir, split="test", output_dir=str(tmp_path), batch_size=8,
                                 agreement_levels=(1.0, 0.0))
    with open(tmp_path / EVAL_REPORT_NAME) as handle:
        assert json.load(handle) == json.loads(json.dumps(report))
    for key in ("fused", "image_only", "text_only", "text_missing", "image_missing"):
        assert {"accuracy", "macro_f1", "weighted_f1", "per_class", "confusion_matrix", "ece"} <= set(report[key])
        assert 0.0 <= report[key]["accuracy"] <= 1.0
    assert set(report["fused"]["per_class"]) == set(EMOTIONS)
    assert report["num_samples"] == 16
    assert set(report["agreement_levels"]) == {"1.00", "0.00"}
    assert report["agreement_levels"]["1.00"]["achieved_agreement"] == 1.0
    assert report["agreement_levels"]["0.00"]["achieved_agreement"] == 0.0
    assert {"agree", "disagree"} >= set(report["as_paired"])
    assert {"temperature", "ece_before", "ece_after"} <= set(report["calibration"])
    for name in report["plots"].values():
        assert os.path.getsize(tmp_path / name) > 1000

    # The text-only head against the label it learns (the dialogue's own emotion), beside the face-label entry.
    from datasets import load_from_disk

    own = report[TEXT_LABEL_HEAD]
    assert {"accuracy", "macro_f1", "ece", "per_class", "confusion_matrix"} <= set(own)
    test_split = load_from_disk(dataset_dir)["test"]
    supports = [own["per_class"][name]["support"] for name in EMOTIONS]
    assert supports == [test_split["text_label"].count(label) for label in range(len(EMOTIONS))]
    assert [report["text_only"]["per_class"][name]["support"] for name in EMOTIONS] == [2] * 8  # face labels
    summary = format_summary(report)
    assert "text only" in summary and "text only vs own label" in summary


def test_evaluate_command(trained_dir, dataset_dir, tmp_path, capsys):
    from emotifusion_hf.cli import main

    output_dir, _ = trained_dir
    assert main(["evaluate", "--model", output_dir, "--data", dataset_dir, "--output-dir", str(tmp_path),
                 "--agreement-levels", "1", "0.5"]) == 0
    assert "image + text (fused)" in capsys.readouterr().out
    assert os.path.isfile(tmp_path / EVAL_REPORT_NAME)
    assert main(["evaluate", "--model", output_dir, "--data", str(tmp_path / "missing")]) == 1
    assert "missing" in capsys.readouterr().err


def test_learned_vocabulary_and_resume(tmp_path, dataset_dir):
    """Without any tokenizer a vocabulary is learned from the texts; a run resumes from its last checkpoint."""
    config = _write_config(tmp_path / "c.yaml", dataset_dir, None, do_eval=False, calibrate_temperature=False,
                           tokenizer_vocab_size=200, save_strategy="steps", save_steps=2, max_steps=2)
    output_dir = str(tmp_path / "run")
    train_module.main([config, "--output_dir", output_dir])
    assert os.path.isdir(os.path.join(output_dir, "checkpoint-2"))
    train_module.main([config, "--output_dir", output_dir, "--max_steps", "4", "--resume_from_checkpoint", "true"])
    with open(os.path.join(output_dir, "trainer_state.json")) as handle:
        state = json.load(handle)
    assert state["global_step"] == 4
    # The log history carries on from the checkpoint: steps 1-2 come from the first run.
    assert [entry["step"] for entry in state["log_history"] if "loss" in entry] == [1, 2, 3, 4]
    with open(os.path.join(output_dir, "config.json")) as handle:
        assert json.load(handle)["text_config"]["vocab_size"] <= 200


def test_a_progress_callback_replaces_the_trainers_output(tmp_path, dataset_dir, minilm_dir, capsys):
    """What `emotifusion demo` shows without --verbose: one bar over the optimizer steps, no log dicts or tables."""
    from training.callbacks import StepProgressCallback

    class CountingProgress(StepProgressCallback):
        def on_train_end(self, args, state, control, **kwargs):
            self.reached = (self.bar.n, self.bar.total)
            super().on_train_end(args, state, control, **kwargs)

    progress = CountingProgress()
    config = _write_config(tmp_path / "c.yaml", dataset_dir, minilm_dir, do_eval=False, calibrate_temperature=False,
                           max_steps=2, logging_steps=1)
    train_module.main([config, "--output_dir", str(tmp_path / "run")], progress_callback=progress)
    assert progress.reached == (2, 2)
    captured = capsys.readouterr()
    assert "'loss'" not in captured.out and "train metrics" not in captured.out and " - INFO - " not in captured.out
    assert "train: 100%" in captured.err and "2/2" in captured.err


def test_demo_stages_show_a_bar_when_quiet_and_headers_when_verbose(capsys):
    from training.demo import StageTimer

    quiet, verbose = StageTimer(verbose=False), StageTimer(verbose=True)
    with quiet.stage("data"):
        pass
    with verbose.stage("data"):
        pass
    captured = capsys.readouterr()
    assert "=== data ===" in captured.out and captured.out.count("data") == 2  # the verbose header and time only
    assert "data: 100%" in captured.err and set(quiet.seconds) == set(verbose.seconds) == {"data"}


# Run in a child process: SIGKILL at the end of a given step, as a crash or a pre-empted job would stop training.
KILL_AT_STEP_SCRIPT = """
import os, signal, sys
from transformers import TrainerCallback
from training import train

class KillAtStep(TrainerCallback):
    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == int(sys.argv[1]):
            os.kill(os.getpid(), signal.SIGKILL)

train.main(sys.argv[2:], callbacks=[KillAtStep()])
"""


def _weights(path) -> dict:
    from safetensors.torch import load_file

    return load_file(os.path.join(path, "model.safetensors"))


@pytest.mark.parametrize("balanced_sampling", [False, True], ids=["shuffled", "balanced-sampler"])
def test_killed_and_resumed_run_ends_with_the_unbroken_weights(tmp_path, dataset_dir, minilm_dir, balanced_sampling):
    """24 samples in batches of 4: six steps per epoch, checkpoints every 4 steps. The run is killed at step 10,
    mid-way through the second epoch and two steps past its last checkpoint, then resumed from that checkpoint;
    augmentation, modality dropout, the sampler and the freezing phase must all replay as in the unbroken run."""
    config = _write_config(
        tmp_path / "c.yaml", dataset_dir, minilm_dir, do_eval=False, calibrate_temperature=False, max_steps=12,
        per_device_train_batch_size=4, save_strategy="steps", save_steps=4, freeze_backbones_steps=2,
        augmentation_strength=1.0, balanced_sampling=balanced_sampling, logging_steps=1,
    )
    unbroken, interrupted = str(tmp_path / "unbroken"), str(tmp_path / "interrupted")
    train_module.main([config, "--output_dir", unbroken])

    environment = {**os.environ, "PYTHONPATH": REPO_ROOT}
    killed = subprocess.run(
        [sys.executable, "-c", KILL_AT_STEP_SCRIPT, "10", config, "--output_dir", interrupted],
        cwd=REPO_ROOT, env=environment, capture_output=True, text=True, timeout=300,
    )
    assert killed.returncode == -9, (killed.stdout + killed.stderr)[-3000:]
    assert sorted(name for name in os.listdir(interrupted) if name.startswith("checkpoint-")) == [
        "checkpoint-4", "checkpoint-8"]
    assert not os.path.exists(os.path.join(interrupted, "model.safetensors"))

    train_module.main([config, "--output_dir", interrupted, "--resume_from_checkpoint", "true"])
    expected, resumed = _weights(unbroken), _weights(interrupted)
    assert expected.keys() == resumed.keys()
    different = [name for name in expected if not torch.equal(expected[name], resumed[name])]
    assert not different, f"{len(different)} tensors differ after resuming, e.g. {different[:5]}"


@pytest.mark.slow
def test_two_process_launch_resumed_by_one_process(tmp_path, dataset_dir, minilm_dir):
    config = _write_config(tmp_path / "c.yaml", dataset_dir, minilm_dir, do_eval=False, calibrate_temperature=False,
                           max_steps=2, per_device_train_batch_size=4, freeze_backbones_steps=1,
                           save_strategy="steps", save_steps=2)
    # `accelerate launch --cpu` starts one process unless MPI is set up; the shipped CPU DDP config goes through
    # torchrun, which runs the processes on CPU with gloo when there is no GPU.
    command = [os.path.join(os.path.dirname(sys.executable), "accelerate"), "launch",
               "--config_file", os.path.join(REPO_ROOT, "training", "configs", "accelerate", "cpu_ddp.yaml"),
               "--num_processes", "2", "-m", "training.train", config, "--output_dir", str(tmp_path / "ddp")]
    environment = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": REPO_ROOT}
    result = subprocess.run(command, cwd=REPO_ROOT, env=environment, capture_output=True, text=True, timeout=300)
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-3000:]
    assert "world size: 2" in log
    assert "process rank: 1" in log
    assert os.path.isfile(tmp_path / "ddp" / "model.safetensors")
    # The checkpoint the two processes wrote resumes in one process (N -> M) and training carries on from its step.
    assert os.path.isdir(tmp_path / "ddp" / "checkpoint-2")
    train_module.main([config, "--output_dir", str(tmp_path / "ddp"), "--max_steps", "4",
                       "--resume_from_checkpoint", "true"])
    with open(tmp_path / "ddp" / "trainer_state.json") as handle:
        assert json.load(handle)["global_step"] == 4


def test_push_to_hub_through_training_arguments(tmp_path, dataset_dir, minilm_dir):
    """`--push_to_hub true --hub_model_id ...` uploads the final checkpoint (not the Trainer's folder or card)."""
    from hub_server import HubStandIn

    token = "hf_training_push_token"
    config = _write_config(tmp_path / "c.yaml", dataset_dir, minilm_dir, do_eval=False, calibrate_temperature=False,
                           max_steps=1)
    output_dir = tmp_path / "run"
    with HubStandIn(tmp_path / "hub", token) as hub:
        environment = {**os.environ, "HF_ENDPOINT": hub.endpoint, "HF_TOKEN": token, "HF_HUB_OFFLINE": "0",
                       "HF_HUB_DISABLE_XET": "1", "PYTHONPATH": REPO_ROOT}
        result = subprocess.run(
            [sys.executable, "-m", "training.train", config, "--output_dir", str(output_dir),
             "--push_to_hub", "true", "--hub_model_id", "you/trained-tiny"],
            cwd=REPO_ROOT, env=environment, capture_output=True, text=True, timeout=300,
        )
        assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
        arrived = hub.files("you/trained-tiny")
        names = {path.name for path in arrived.iterdir()}
    assert {"model.safetensors", "config.json", "modeling_emotifusion.py", "pipeline_emotifusion.py",
            "processor_config.json", "README.md"} <= names
    assert not any(name.endswith((".bin", ".pt", ".pth")) for name in names)
    assert 'model="you/trained-tiny"' in (arrived / "README.md").read_text()


def test_corpus_backed_data_is_named_in_the_training_summary(tmp_path):
    from training.train import dialogue_corpus_summary

    assert dialogue_corpus_summary(None) is None and dialogue_corpus_summary(str(tmp_path)) is None
    report = {"corpus": {"name": "talk", "licence": "CC0-1.0", "rows_used_total": 42},
              "dialogue_sources": {"train": {"corpus_share": 0.9}}}
    (tmp_path / "build_report.json").write_text(json.dumps(report))
    assert dialogue_corpus_summary(str(tmp_path)) == {"name": "talk", "licence": "CC0-1.0", "rows_used": 42,
                                                      "corpus_share": 0.9}
