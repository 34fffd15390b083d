"""Valence and arousal: the heads, their masked loss, the data that feeds them, the metrics, the pipeline answer and
the card of a training run that evaluated."""

import csv
import json
import math
import os

import numpy as np
import pytest
import torch
import yaml

from emotifusion_hf import EmotiFusionConfig, EmotiFusionForEmotionClassification
from emotifusion_hf.card import render_model_card
from emotifusion_hf.modeling_emotifusion import affect_loss
from training.augment import FaceDialogueCollator, FaceDialogueTransform, affect_value, build_eval_augmentation
from training.metrics import affect_report, compute_metrics, load_metric

from affectnet_trees import write_jpeg
from conftest import make_tiny_config, tiny_text_config


NAN = float("nan")


# ---------------------------------------------------------------------------------------------- configuration


def test_new_configs_have_the_heads_and_old_ones_do_not():
    assert EmotiFusionConfig().affect_head is True
    # A config.json written before the field existed describes a model without the heads.
    old = EmotiFusionConfig.from_dict({"embed_dim": 32, "fusion_num_heads": 4})
    assert old.affect_head is False
    assert EmotiFusionConfig.from_dict({"affect_head": True}).affect_head is True
    round_trip = EmotiFusionConfig.from_dict(make_tiny_config().to_diff_dict())
    assert round_trip.affect_head is True


@pytest.mark.parametrize("field, value, message", [
    ("affect_loss", "l1", "affect_loss"),
    ("affect_loss_weight", -1.0, "affect_loss_weight"),
    ("affect_head", "yes", "affect_head"),
])
def test_bad_affect_settings_are_named(field, value, message):
    with pytest.raises(ValueError, match=message):
        make_tiny_config(**{field: value})


# ---------------------------------------------------------------------------------------------- model


def _inputs(batch_size=4, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return {
        "pixel_values": torch.randn(batch_size, 3, 64, 64, generator=generator),
        "input_ids": torch.randint(1000, 2000, (batch_size, 7), generator=generator),
        "attention_mask": torch.ones(batch_size, 7, dtype=torch.long),
        "labels": torch.arange(batch_size) % 8,
    }


@pytest.fixture(scope="module")
def affect_model():
    torch.manual_seed(0)
    return EmotiFusionForEmotionClassification(make_tiny_config(affect_loss="mse")).eval()


def test_outputs_are_bounded_and_follow_the_flag(affect_model):
    inputs = _inputs()
    with torch.no_grad():
        output = affect_model(**inputs)
        text_only = affect_model(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"])
    assert output.valence_arousal.shape == (4, 2) and output.image_valence_arousal.shape == (4, 2)
    assert output.valence_arousal.abs().max() <= 1.0
    assert text_only.valence_arousal.shape == (4, 2) and text_only.image_valence_arousal is None

    without = EmotiFusionForEmotionClassification(make_tiny_config(affect_head=False)).eval()
    assert not any("affect" in name for name, _ in without.named_parameters())
    with torch.no_grad():
        plain = without(**inputs)
    assert plain.valence_arousal is None and plain.image_valence_arousal is None


def test_heads_survive_post_init_and_save(tmp_path, affect_model):
    affect_model.save_pretrained(tmp_path)
    reloaded = EmotiFusionForEmotionClassification.from_pretrained(tmp_path).eval()
    assert reloaded.config.affect_head is True
    assert torch.equal(reloaded.affect_regressor.weight, affect_model.affect_regressor.weight)
    with torch.no_grad():
        assert torch.allclose(reloaded(**_inputs()).valence_arousal, affect_model(**_inputs()).valence_arousal)


def test_only_annotated_values_enter_the_loss(affect_model):
    inputs = _inputs()
    targets = torch.tensor([[0.5, -0.25], [-2.0, -2.0], [NAN, NAN], [-0.75, 0.5]])
    with torch.no_grad():
        output = affect_model(**inputs, valence_arousal_labels=targets)
        classification = affect_model(**inputs).loss
    # MSE over the two annotated rows only, fused head plus the image-only head at the modality weight.
    given = torch.tensor([0, 3])
    expected = torch.nn.functional.mse_loss(output.valence_arousal[given], targets[given])
    expected = expected + affect_model.config.modality_loss_weight * torch.nn.functional.mse_loss(
        output.image_valence_arousal[given], targets[given])
    assert output.loss.item() == pytest.approx((classification + expected).item(), rel=1e-5)

    # Whatever stands for "not annotated", the loss is the same; nothing annotated adds nothing.
    other_missing = targets.clone()
    other_missing[1] = NAN
    other_missing[2] = -2.0
    with torch.no_grad():
        assert affect_model(**inputs, valence_arousal_labels=other_missing).loss.item() == pytest.approx(
            output.loss.item(), rel=1e-6)
        nothing = affect_model(**inputs, valence_arousal_labels=torch.full((4, 2), NAN)).loss
    assert nothing.item() == pytest.approx(classification.item(), rel=1e-6)


def test_missing_values_leave_finite_gradients():
    torch.manual_seed(0)
    model = EmotiFusionForEmotionClassification(make_tiny_config()).train()  # the default CCC loss
    targets = torch.tensor([[0.5, NAN], [-2.0, 0.25], [0.1, -0.5], [NAN, NAN]])
    model(**_inputs(), valence_arousal_labels=targets).loss.backward()
    for name, parameter in model.named_parameters():
        if parameter.grad is not None:
            assert torch.isfinite(parameter.grad).all(), name
    assert model.affect_regressor.weight.grad.abs().sum() > 0


def test_bad_affect_labels_are_named(affect_model):
    with pytest.raises(ValueError, match=r"valence_arousal_labels.*\[-1, 1\]"):
        affect_model(**_inputs(), valence_arousal_labels=torch.tensor([[1.5, 0.0]] * 4))
    with pytest.raises(ValueError, match=r"valence_arousal_labels.*shape"):
        affect_model(**_inputs(), valence_arousal_labels=torch.zeros(4))


def test_ccc_loss_is_zero_for_a_perfect_match_and_grows_with_a_shift():
    targets = torch.tensor([[0.5, -0.5], [-0.5, 0.25], [0.1, 0.0]])
    given = torch.ones_like(targets, dtype=torch.bool)
    assert affect_loss(targets, targets, given, "ccc").item() == pytest.approx(0.0, abs=1e-6)
    assert affect_loss(targets + 0.3, targets, given, "ccc").item() > 0.1
    assert affect_loss(targets, targets, torch.zeros_like(given), "ccc").item() == 0.0


# ---------------------------------------------------------------------------------------------- metrics


def test_metric_modules_load_offline_from_the_package(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    classification = load_metric("emotion_classification")
    assert classification.compute(predictions=[0, 1, 1, 2], references=[0, 1, 2, 2])["accuracy"] == 0.75
    with pytest.raises(FileNotFoundError, match="no_such_metric"):
        load_metric("no_such_metric")


def test_affect_figures_by_hand():
    rng = np.random.default_rng(0)
    truth = rng.uniform(-1, 1, (40, 2))
    predicted = 0.5 * truth + 0.1
    truth_with_gaps = truth.copy()
    truth_with_gaps[:10, 1] = -2.0  # AffectNet's "not annotated"
    truth_with_gaps[10:15, 1] = NAN
    report = affect_report(predicted, truth_with_gaps)
    for index, name, used in ((0, "valence", slice(None)), (1, "arousal", slice(15, None))):
        p, t = predicted[used, index], truth[used, index]
        ccc = 2 * np.mean((p - p.mean()) * (t - t.mean())) / (p.var() + t.var() + (p.mean() - t.mean()) ** 2)
        assert report[name]["ccc"] == pytest.approx(ccc)
        assert report[name]["rmse"] == pytest.approx(np.sqrt(np.mean((p - t) ** 2)))
        assert report[name]["pcc"] == pytest.approx(1.0)
        assert report[name]["sagr"] == pytest.approx(np.mean((p >= 0) == (t >= 0)))
        assert report[name]["num_samples"] == len(t)
    empty = affect_report(predicted[:3], np.full((3, 2), -2.0))
    assert empty["valence"]["num_samples"] == 0 and math.isnan(empty["valence"]["ccc"])
    with pytest.raises(ValueError, match=r"\(n, 2\)"):
        affect_report(predicted[:, :1], truth[:, :1])


def test_compute_metrics_reports_ccc_for_both_heads():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 8, 30)
    logits = rng.normal(size=(30, 8))
    values = rng.uniform(-1, 1, (30, 2))
    truth = values.copy()
    truth[:5] = NAN

    class Prediction:
        predictions = (logits, logits, logits, values * 0.9, np.zeros((30, 2)))
        label_ids = (labels, truth)

    metrics = compute_metrics(Prediction())
    assert metrics["valence_ccc"] > 0.9 and metrics["arousal_ccc"] > 0.9
    assert metrics["image_valence_ccc"] == pytest.approx(0.0)
    assert metrics["valence_num_samples"] == 25
    assert {"accuracy", "macro_f1", "image_accuracy", "text_accuracy"} <= set(metrics)


# ---------------------------------------------------------------------------------------------- data


def test_transform_and_collator_carry_missing_values_as_nan(processor):
    assert math.isnan(affect_value(None, "valence")) and math.isnan(affect_value(-2, "arousal"))
    assert affect_value(-0.5, "valence") == -0.5
    with pytest.raises(ValueError, match="`arousal`"):
        affect_value(3.0, "arousal")
    from PIL import Image

    image = Image.new("RGB", (40, 40), (90, 60, 30))
    transform = FaceDialogueTransform(processor.image_processor, build_eval_augmentation(processor.image_processor))
    batch = {"image": [image] * 3, "text": ["hi", "so sad", None], "label": [0, 6, 5],
             "valence": [0.5, None, -2.0], "arousal": [-0.25, None, -2.0]}
    rows = transform(batch)
    features = [{key: values[index] for key, values in rows.items()} for index in range(3)]
    collated = FaceDialogueCollator(processor)(features)
    targets = collated["valence_arousal_labels"]
    assert targets.shape == (3, 2) and targets[0].tolist() == [0.5, -0.25]
    assert torch.isnan(targets[1:]).all()
    # A dataset without the columns (dialogues only, say) has no values: missing, never zero.
    no_columns = transform({key: batch[key] for key in ("image", "text", "label")})
    assert all(math.isnan(value) for pair in no_columns["valence_arousal_labels"] for value in pair)


# ---------------------------------------------------------------------------------------------- training + card


def _affectnet_official_tree(root, per_code=6):
    """An AffectNet official-layout tree: half of the training faces and all of the official validation ones carry
    -2 ("not annotated") valence/arousal."""
    from dataset_builder.affectnet import OFFICIAL_COLUMNS

    images = root / "Manually_Annotated_Images"
    rows = {"training.csv": [], "validation.csv": []}
    rng = np.random.default_rng(0)
    for code in range(8):
        for index in range(per_code + 1):
            relative = f"{code}/face_{index}.jpg"
            write_jpeg(images / relative, colour=(code * 30, index * 40, 90))
            annotated = index % 2 == 0
            valence, arousal = (f"{rng.uniform(-1, 1):.3f}", f"{rng.uniform(-1, 1):.3f}") if annotated else ("-2", "-2")
            name = "validation.csv" if index == per_code else "training.csv"
            if name == "validation.csv":
                valence = arousal = "-2"
            rows[name].append([relative, "0", "0", "64", "48", "1.0;2.0", str(code), valence, arousal])
    lists = root / "Manually_Annotated_file_lists"
    lists.mkdir(parents=True)
    for name, content in rows.items():
        with open(lists / name, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(OFFICIAL_COLUMNS)
            writer.writerows(content)
    return root


@pytest.fixture(scope="module")
def affectnet_run(tmp_path_factory, minilm_dir):
    """A 2-step `training.train` run on an AffectNet-layout dataset with -2 values, evaluating on validation and
    test."""
    from dataset_builder.builder import build_dataset
    from training import train as train_module

    root = tmp_path_factory.mktemp("affectnet-run")
    tree = _affectnet_official_tree(root / "affectnet")
    data_dir = str(root / "data")
    build_dataset("affectnet", data_dir=str(tree), output_dir=data_dir, cache_dir=str(root / "cache"), seed=0)
    config = {
        "tokenizer_name": minilm_dir, "dataset_dir": data_dir,
        "text_config": {key: value for key, value in tiny_text_config().items() if key != "vocab_size"},
        "vision_backbones": ["test_resnet"], "image_size": 32, "embed_dim": 32, "fusion_num_heads": 4,
        "max_text_length": 32, "do_train": True, "do_eval": True, "do_predict": True, "max_steps": 2,
        "per_device_train_batch_size": 8, "per_device_eval_batch_size": 16, "learning_rate": 1.0e-3,
        "eval_strategy": "no", "save_strategy": "no", "report_to": "none", "use_cpu": True, "disable_tqdm": True,
        "seed": 0,
    }
    config_path = root / "run.yaml"
    config_path.write_text(yaml.safe_dump(config))
    output_dir = str(root / "model")
    metrics = train_module.main([str(config_path), "--output_dir", output_dir])
    return data_dir, output_dir, metrics


def test_affectnet_layout_trains_on_annotated_values_only(affectnet_run, processor):
    import datasets

    data_dir, _, metrics = affectnet_run
    dataset = datasets.load_from_disk(data_dir)
    train = dataset["train"]
    annotated = [value is not None for value in train["valence"]]
    assert 0 < sum(annotated) < len(annotated)  # -2 became "missing", not a number
    assert all(value is None for value in dataset["test"]["valence"])  # the official validation list: all -2

    assert math.isfinite(metrics["train_loss"])
    # The validation slice is scored on its annotated faces only; the test split has none, so no CCC for it.
    eval_annotated = sum(value is not None for value in dataset["validation"]["valence"])
    assert metrics.get("eval_valence_num_samples", 0) == eval_annotated
    assert "test_valence_ccc" not in metrics

    # A batch of the built data: the model's loss is the same whatever the not-annotated rows would say.
    transform = FaceDialogueTransform(processor.image_processor, build_eval_augmentation(processor.image_processor),
                                      join_turns=processor.join_turns)
    rows = transform(train[:8])
    batch = FaceDialogueCollator(processor)([{key: values[i] for key, values in rows.items()} for i in range(8)])
    targets = batch.pop("valence_arousal_labels")
    missing = torch.isnan(targets)
    assert missing.any() and (~missing).any()
    torch.manual_seed(0)
    model = EmotiFusionForEmotionClassification(make_tiny_config()).eval()
    with torch.no_grad():
        reference = model(**batch, valence_arousal_labels=targets).loss
        as_numbers = model(**batch, valence_arousal_labels=torch.where(missing, torch.tensor(-2.0), targets)).loss
    assert torch.isfinite(reference) and reference.item() == pytest.approx(as_numbers.item(), rel=1e-6)


def test_an_evaluating_run_card_carries_its_own_figures(affectnet_run):
    import datasets
    from huggingface_hub import ModelCard
    from huggingface_hub.repocard_data import model_index_to_eval_results

    data_dir, output_dir, metrics = affectnet_run
    card = ModelCard.load(os.path.join(output_dir, "README.md"))
    model_index = card.data.to_dict()["model-index"]
    _, results = model_index_to_eval_results(model_index)
    by_name = {result.metric_name: result for result in results}
    # The test split (--do_predict) is the one the card reports; it has no valence/arousal annotations.
    assert by_name["Accuracy (image + text (fused))"].metric_value == pytest.approx(metrics["test_accuracy"], abs=1e-4)
    assert by_name["Macro F1 (image + text (fused))"].metric_value == pytest.approx(metrics["test_macro_f1"], abs=1e-4)
    assert all(result.dataset_split == "test" for result in results)
    assert not any("CCC" in name for name in by_name)
    with open(os.path.join(output_dir, "eval_report.json")) as handle:
        report = json.load(handle)
    assert report["source"].startswith("training.train") and report["split"] == "test"
    assert report["num_samples"] == len(datasets.load_from_disk(data_dir)["test"])
    assert "has not been evaluated" not in card.text


def test_card_model_index_holds_valence_arousal_ccc(affect_model):
    from huggingface_hub import ModelCard

    report = {
        "split": "test", "num_samples": 20, "source": "training.train (Trainer evaluation)",
        "fused": {"accuracy": 0.5, "macro_f1": 0.4,
                  "affect": {"valence": {"ccc": 0.61, "rmse": 0.3, "pcc": 0.7, "sagr": 0.8, "num_samples": 20},
                             "arousal": {"ccc": 0.42, "rmse": 0.35, "pcc": 0.5, "sagr": 0.7, "num_samples": 20}}},
        "image_only": {"accuracy": 0.45, "macro_f1": 0.35},
    }
    card = render_model_card(affect_model.config, report, {"dataset": "demo"}, vision_channels=[1])
    parsed = ModelCard(str(card))
    names = {result.metric_name: result.metric_value for result in parsed.data.eval_results}
    assert names["Valence CCC (image + text (fused))"] == 0.61 and names["Arousal CCC (image + text (fused))"] == 0.42
    assert "### Valence and arousal" in card.text and "return_affect=True" in card.text


def test_an_unevaluated_card_says_so(tmp_path, affect_model):
    from huggingface_hub.repocard import metadata_load

    card = render_model_card(affect_model.config, None, {"dataset": "demo"}, vision_channels=[1])
    path = tmp_path / "README.md"
    card.save(path)
    assert "model-index" not in metadata_load(path)
    assert "has not been evaluated" in card.text


# ---------------------------------------------------------------------------------------------- pipeline + CLI


@pytest.fixture(scope="module")
def affect_checkpoint(tmp_path_factory, processor):
    torch.manual_seed(0)
    directory = tmp_path_factory.mktemp("affect_checkpoint")
    config = make_tiny_config(text_config=tiny_text_config(processor.tokenizer.vocab_size))
    model = EmotiFusionForEmotionClassification(config).eval()
    with torch.no_grad():  # a large bias pushes the heads towards the tanh bounds
        model.affect_regressor.bias.copy_(torch.tensor([5.0, -5.0]))
    model.save_pretrained(directory)
    processor.save_pretrained(directory)
    return str(directory)


def test_pipeline_returns_valence_and_arousal_in_range(affect_checkpoint):
    from PIL import Image
    from transformers import pipeline

    pipe = pipeline("emotion-fusion", model=affect_checkpoint, trust_remote_code=True, device="cpu")
    face = Image.new("RGB", (48, 48), (200, 150, 120))
    results = pipe([{"image": face, "text": "I can't believe it"}, {"text": "so tired"}, {"image": face}],
                   return_affect=True, return_modalities=True, top_k=2)
    for result in results:
        assert isinstance(result["valence"], float) and isinstance(result["arousal"], float)
        assert -1.0 <= result["valence"] <= 1.0 and -1.0 <= result["arousal"] <= 1.0
        assert len(result["scores"]) == 2 and "image_only" in result
    assert results[0]["valence"] > 0.5 and results[0]["arousal"] < -0.5
    # Without the flag the answer keeps its plain list form.
    assert isinstance(pipe({"text": "hello"}), list)


def test_pipeline_refuses_affect_without_the_heads(tmp_path, processor):
    from transformers import pipeline

    config = make_tiny_config(text_config=tiny_text_config(processor.tokenizer.vocab_size), affect_head=False)
    EmotiFusionForEmotionClassification(config).save_pretrained(tmp_path)
    processor.save_pretrained(tmp_path)
    pipe = pipeline("emotion-fusion", model=str(tmp_path), trust_remote_code=True, device="cpu")
    with pytest.raises(ValueError, match="valence/arousal heads"):
        pipe({"text": "hello"}, return_affect=True)


def test_predict_command_with_affect(affect_checkpoint, capsys):
    from emotifusion_hf.cli import main

    assert main(["predict", "--model", affect_checkpoint, "--text", "You're late. || Sorry.", "--affect", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert -1.0 <= result["valence"] <= 1.0 and -1.0 <= result["arousal"] <= 1.0
    assert main(["predict", "--model", affect_checkpoint, "--text", "hi", "--affect"]) == 0
    output = capsys.readouterr().out
    assert "valence" in output and "arousal" in output


# ---------------------------------------------------------------------------------------------- evaluation report


def test_report_and_scatter_hold_valence_and_arousal(tmp_path):
    from training.evaluate import build_report, format_summary, write_plots

    rng = np.random.default_rng(2)
    labels = np.repeat(np.arange(8), 4)
    logits = rng.normal(size=(32, 8))
    truth = rng.uniform(-1, 1, (32, 2))
    annotated = truth.copy()
    annotated[:8] = NAN  # faces without values are left out of the figures
    collected = {
        "labels": labels, "text_labels": None, "agreement": {},
        **{name: logits for name in ("fused", "image_only", "text_only", "text_missing", "image_missing")},
        "affect": {"labels": annotated, "fused": np.clip(truth + 0.05, -1, 1), "image_only": np.zeros((32, 2))},
    }
    report = build_report(collected)
    fused = report["fused"]["affect"]
    assert set(fused) == {"valence", "arousal"}
    assert set(fused["valence"]) == {"ccc", "rmse", "pcc", "sagr", "num_samples"}
    assert fused["valence"]["num_samples"] == 24 and fused["valence"]["ccc"] > 0.95
    assert report["image_only"]["affect"]["arousal"]["ccc"] == pytest.approx(0.0)
    assert "affect" not in report["text_only"]
    assert "valence CCC" in format_summary(report)
    plots = write_plots(collected, 1.0, str(tmp_path))
    assert plots["valence_arousal"] == "valence_arousal.png"
    assert (tmp_path / "valence_arousal.png").stat().st_size > 1000
    json.dumps(report, allow_nan=False)  # no NaN figures in the JSON

    # A split nobody annotated: no affect section at all, rather than NaN figures.
    collected["affect"]["labels"] = np.full((32, 2), NAN)
    assert "affect" not in build_report(collected)["fused"]
