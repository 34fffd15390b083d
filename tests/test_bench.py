"""The benchmark's building blocks at tiny sizes: the AffectNet fixture, the builds it times, the memory probe, the
training DataLoader and a training step. Nothing here asserts on speed."""

import csv
import io
import os

import datasets
import pytest
from PIL import Image

from bench.data import (
    build_affectnet,
    builder_memory_growth,
    builder_throughput,
    demo_train_split,
    loader_samples_per_s,
    sharded_build_memory,
    train_step_seconds,
    training_loader,
    write_affectnet_fixture,
)
from dataset_builder import EmotiFusionBuilder


@pytest.fixture(scope="module")
def affectnet_fixture(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bench") / "affectnet"
    written = write_affectnet_fixture(str(folder), train_rows=40, test_rows=10, image_size=64, distinct_faces=8)
    return str(folder), written


def read_list(folder, name):
    with open(os.path.join(folder, "Manually_Annotated_file_lists", name), newline="") as handle:
        return list(csv.DictReader(handle))


def test_fixture_has_the_official_layout(affectnet_fixture):
    folder, written = affectnet_fixture
    train, test = read_list(folder, "training.csv"), read_list(folder, "validation.csv")
    assert (len(train), len(test)) == (40, 10) and written["rows"] == 50
    assert written["kept"] == sum(int(row["expression"]) < 8 for row in train + test) < 50
    boxes = {(row["face_x"], row["face_y"], row["face_width"], row["face_height"]) for row in train}
    assert ("0", "0", "64", "64") in boxes and len(boxes) > 1  # whole-image boxes and some sub-regions
    image = Image.open(os.path.join(folder, "Manually_Annotated_Images", train[0]["subDirectory_filePath"]))
    assert image.format == "JPEG" and image.size == (64, 64)


def test_build_keeps_whole_face_jpegs_and_crops_sub_regions(affectnet_fixture, tmp_path):
    folder, written = affectnet_fixture
    builder = EmotiFusionBuilder(config_name="affectnet", data_dir=folder, cache_dir=str(tmp_path))
    builder.download_and_prepare()
    dataset = builder.as_dataset().cast_column("image", datasets.Image(decode=False))
    rows = [row for split in dataset.values() for row in split]
    assert len(rows) == written["kept"] == build_affectnet(folder, str(tmp_path / "again"))
    for row in rows:
        stored = open(os.path.join(folder, row["image_id"]), "rb").read()
        if row["face_box"][2:] == [64, 64]:
            assert row["image"]["bytes"] == stored  # kept as it is: no decode, no second lossy encoding
        else:
            assert Image.open(io.BytesIO(row["image"]["bytes"])).size == tuple(row["face_box"][2:])


def test_build_with_decoding_processes_gives_the_same_dataset(affectnet_fixture, tmp_path):
    folder, _ = affectnet_fixture
    built = {}
    for num_proc in (None, 2):
        builder = EmotiFusionBuilder(config_name="affectnet", data_dir=folder, cache_dir=str(tmp_path / str(num_proc)))
        builder.download_and_prepare(num_proc=num_proc)
        dataset = builder.as_dataset().cast_column("image", datasets.Image(decode=False))
        built[num_proc] = (dataset, builder.build_report)
    (single, single_report), (parallel, parallel_report) = built[None], built[2]
    assert single_report == parallel_report
    for split in single:
        assert single[split].to_dict() == parallel[split].to_dict()


def test_builder_throughput_reports_both_builds(affectnet_fixture, tmp_path):
    folder, written = affectnet_fixture
    results = builder_throughput(folder, str(tmp_path), num_proc=2, repeats=1)
    assert results["builder_rows"] == written["kept"] and results["builder_num_proc"] == 2
    assert results["builder_rows_per_s"] > 0 and results["builder_rows_per_s_num_proc"] > 0


@pytest.mark.slow
def test_memory_growth_builds_in_fresh_processes(tmp_path):
    results = builder_memory_growth(str(tmp_path), rows=8)
    small, large = results["builder_rss_rows"]
    assert large > small > 0 and results["builder_rss_growth"] > 0


@pytest.mark.slow
def test_sharded_build_memory_runs_the_build_command_in_fresh_processes(tmp_path):
    results = sharded_build_memory(str(tmp_path), rows=[40, 120], num_shards=2)
    small, large = results["sharded_build_rows"]
    assert large > small > 0 and results["sharded_build_num_shards"] == 2
    assert sorted(os.listdir(tmp_path / "sharded-120" / "train"))[:2] == ["data-00000-of-00002.arrow",
                                                                       "data-00001-of-00002.arrow"]
    # The child's own peaks: not the benchmark process's, which the child would inherit through `ru_maxrss`.
    peaks, anonymous = results["sharded_build_peak_rss_mib"], results["sharded_build_peak_anonymous_rss_mib"]
    assert all(0 < held < peak for held, peak in zip(anonymous, peaks))
    assert results["sharded_build_rss_growth"] == pytest.approx(
        results["sharded_build_peak_rss_mib"][1] / results["sharded_build_peak_rss_mib"][0], rel=0.01)


def test_training_loader_and_step(tmp_path, tiny_model):
    split = demo_train_split(str(tmp_path), per_class=2, image_size=64)
    loader = training_loader(split, batch_size=4, num_workers=0, image_size=64)
    batch = next(iter(loader))
    assert batch["pixel_values"].shape == (4, 3, 64, 64) and batch["labels"].shape == (4,)
    assert batch["input_ids"].shape == batch["attention_mask"].shape
    assert loader_samples_per_s(loader, batches=1) > 0
    assert train_step_seconds(tiny_model, [batch, batch], warmup=1) > 0


def test_seed_style_model_runs_bert_over_every_padded_position():
    import torch

    from bench.inference import seed_style_model
    from conftest import make_tiny_config
    from emotifusion_hf import EmotiFusionForEmotionClassification

    torch.manual_seed(0)
    ours = EmotiFusionForEmotionClassification(make_tiny_config()).eval().to(memory_format=torch.channels_last)
    seed = seed_style_model(ours)
    assert ours.base_model.text_model.inference_bucket_size > 0
    assert seed.base_model.text_model.inference_bucket_size == 0
    conv = next(module for module in seed.modules() if isinstance(module, torch.nn.Conv2d))
    assert conv.weight.is_contiguous() and not conv.weight.is_contiguous(memory_format=torch.channels_last)
    for (name, a), (_, b) in zip(ours.state_dict().items(), seed.state_dict().items()):
        assert torch.equal(a, b), name
    input_ids = torch.randint(1, 90, (3, 16))
    attention_mask = torch.ones_like(input_ids)
    attention_mask[:, 12:] = 0  # bucketing would trim every row to 12 positions
    attention_mask[0, 5:] = 0
    pixel_values = torch.randn(3, 3, 64, 64)
    calls = []
    hook = seed.base_model.text_model.bert.register_forward_hook(
        lambda module, args, kwargs, output: calls.append(tuple(kwargs["input_ids"].shape)), with_kwargs=True
    )
    with torch.no_grad():
        ours_logits = ours(pixel_values, input_ids, attention_mask).logits
        seed_logits = seed(pixel_values, input_ids, attention_mask).logits
    hook.remove()
    same = torch.allclose(ours_logits, seed_logits, atol=1e-4)
    assert same and calls == [(3, 16)]  # one pass over the whole padded batch


def test_interleaved_medians_times_each_function():
    from bench.timing import interleaved_medians

    order = []
    functions = [lambda name=name: order.append(name) for name in "abc"]
    medians = interleaved_medians(*functions, repeats=2)
    assert len(medians) == 3 and all(value >= 0 for value in medians)
    assert order == ["a", "b", "c"] * 3  # one warm-up round, then the repeats in turn


def test_seed_style_batch_pads_to_128_and_costs_more_flops(tmp_path, processor, tokenizer):
    import torch

    from bench.inference import count_forward_flops, make_raw_inputs, seed_style_batch, seed_style_model
    from conftest import TINY_IMAGE_SIZE, make_tiny_config
    from emotifusion_hf import EmotiFusionForEmotionClassification

    torch.manual_seed(0)
    ours = EmotiFusionForEmotionClassification(make_tiny_config()).eval()
    inputs = make_raw_inputs(str(tmp_path), 4, image_size=TINY_IMAGE_SIZE)
    seed_batch = seed_style_batch(tokenizer, inputs, image_size=TINY_IMAGE_SIZE)
    assert seed_batch["input_ids"].shape == (4, 128)
    assert seed_batch["pixel_values"].shape == (4, 3, TINY_IMAGE_SIZE, TINY_IMAGE_SIZE)
    batch = processor(
        images=[item["image"] for item in inputs], text=[item["text"] for item in inputs], return_tensors="pt"
    )
    assert batch["input_ids"].shape[1] < 128
    seed = seed_style_model(ours)
    assert count_forward_flops(seed, seed_batch) > count_forward_flops(ours, dict(batch))

    def text_inputs(encoded):
        return {key: encoded[key] for key in ("input_ids", "attention_mask", "token_type_ids")}

    # The text stream is where the seed's padding costs: 128 positions against dialogues of a few dozen tokens.
    seed_text = count_forward_flops(seed.base_model.text_model, text_inputs(seed_batch))
    ours_text = count_forward_flops(ours.base_model.text_model, text_inputs(batch))
    assert seed_text > 2 * ours_text


def test_int8_linear_speedup_times_both_kernels(monkeypatch):
    from bench import inference
    from conftest import make_tiny_config
    from emotifusion_hf import quantization_emotifusion

    quantized = []
    real = quantization_emotifusion.quantize_linear_layers
    monkeypatch.setattr(quantization_emotifusion, "quantize_linear_layers", lambda m: quantized.append(m) or real(m))
    assert inference.int8_linear_speedup(make_tiny_config(), rows=8, repeats=1) > 0
    (layers,) = quantized
    assert [type(layer).__name__ for layer in layers] == ["FullRangeDynamicQuantizedLinear"] * 4


def test_gpu_section_training_loop_runs_on_cpu(tmp_path, tiny_model):
    """The GPU benchmark's data and step loop, at a tiny size on CPU, so it works the first time a GPU is lent."""
    import torch

    from bench.data import training_loader
    from bench.gpu import jpeg_face_split, training_samples_per_s
    from conftest import TINY_IMAGE_SIZE

    split = jpeg_face_split(str(tmp_path), rows=6, distinct=3, image_size=80)
    assert len(split) == 6 and split[3]["image"] == split[0]["image"] and os.path.isfile(split[0]["image"])
    loader = training_loader(split, batch_size=2, num_workers=0, image_size=TINY_IMAGE_SIZE, drop_last=True)
    before = [parameter.detach().clone() for parameter in tiny_model.parameters()]
    samples_per_s, batch = training_samples_per_s(tiny_model, loader, torch.device("cpu"), steps=2, warmup=1)
    assert samples_per_s > 0
    assert batch["pixel_values"].shape == (2, 3, TINY_IMAGE_SIZE, TINY_IMAGE_SIZE) and batch["labels"].shape == (2,)
    assert any(not torch.equal(a, b) for a, b in zip(before, tiny_model.parameters()))  # the steps trained it
    with pytest.raises(ValueError, match="steps"):
        training_samples_per_s(tiny_model, loader, torch.device("cpu"), steps=0, warmup=1)
