"""A sharded build as training reads it: memory-mapped Arrow shards, and under several processes each process reads
its own share (accelerate's sharding of the Trainer's DataLoader), no sample seen twice per epoch: with the recipe's
arguments in one process, and in a real 2-process launch that records the rows each process reads."""

import os
import socket
import subprocess
import sys

import datasets
import pytest
import torch
from accelerate.data_loader import prepare_data_loader
from test_arguments import _write_config
from test_training import _write_config as _write_training_config
from torch.utils.data import DataLoader, RandomSampler

from training.arguments import adjust_training_arguments, parse_arguments
from training.row_audit import read_row_audit

ROWS, BATCH, PROCESSES = 45, 4, 2
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def sharded_split(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sharded")
    rows = datasets.Dataset.from_dict({"row": list(range(ROWS)), "text": [f"dialogue {i}" for i in range(ROWS)]})
    datasets.DatasetDict({"train": rows}).save_to_disk(str(folder), num_shards={"train": 3})
    return datasets.load_from_disk(str(folder))["train"]


def _rows_seen(split, drop_last: bool, epoch: int) -> list[list[int]]:
    """The rows each of `PROCESSES` processes reads in `epoch`, through the DataLoader the Trainer builds (shuffled,
    `dataloader_drop_last`) prepared by accelerate for that process, as `accelerator.prepare` does under a launch."""
    seen = []
    for rank in range(PROCESSES):
        generator = torch.Generator().manual_seed(0)
        loader = DataLoader(split.with_format("torch"), batch_size=BATCH, drop_last=drop_last,
                            sampler=RandomSampler(split, generator=generator))
        shard = prepare_data_loader(loader, num_processes=PROCESSES, process_index=rank, put_on_device=False,
                                    use_seedable_sampler=True)
        shard.set_epoch(epoch)
        seen.append([int(row) for batch in shard for row in batch["row"]])
    return seen


def test_sharded_build_is_memory_mapped(sharded_split):
    assert len(sharded_split.cache_files) == 3  # read from the Arrow shards on disk, not loaded into memory
    assert sorted(sharded_split["row"]) == list(range(ROWS))


def test_several_processes_read_disjoint_shares_with_the_recipes_arguments(sharded_split, tmp_path, monkeypatch):
    model_args, _, training_args = parse_arguments([str(_write_config(tmp_path / "c.yaml")), "--output_dir",
                                                    str(tmp_path)])
    monkeypatch.setattr(type(training_args), "world_size", property(lambda self: PROCESSES))
    adjust_training_arguments(training_args, model_args)
    assert training_args.dataloader_drop_last
    for epoch in (0, 1):
        first, second = _rows_seen(sharded_split, training_args.dataloader_drop_last, epoch)
        together = first + second
        assert len(together) == len(set(together))  # no row twice in an epoch, within or across processes
        assert len(first) == len(second) and ROWS - len(together) < PROCESSES * BATCH
    # Left to accelerate's defaults, the last uneven batches are completed with rows already read.
    first, second = _rows_seen(sharded_split, False, 0)
    assert len(first + second) > len(set(first + second))


@pytest.mark.slow
def test_two_process_launch_reads_each_row_of_a_sharded_build_once_per_epoch(tmp_path, minilm_dir):
    data = tmp_path / "data"
    per_class, batch = 4, 3  # 32 training rows: 5 rounds of 2 x 3 per epoch, 2 rows left for drop_last
    build = subprocess.run(
        [sys.executable, "-m", "dataset_builder", "build", "--source", "demo", "--per-class", str(per_class),
         "--eval-per-class", "1", "--image-size", "32", "--num-shards", "3", "--output", str(data)],
        cwd=REPO_ROOT, env={**os.environ, "PYTHONPATH": REPO_ROOT}, capture_output=True, text=True, timeout=120,
    )
    assert build.returncode == 0, build.stderr[-3000:]
    assert sorted(os.listdir(data / "train"))[:3] == [f"data-0000{i}-of-00003.arrow" for i in range(3)]
    rows = 8 * per_class
    audit = tmp_path / "audit"
    config = _write_training_config(tmp_path / "c.yaml", str(data), minilm_dir, do_eval=False,
                                    calibrate_temperature=False, max_steps=-1, num_train_epochs=2,
                                    per_device_train_batch_size=batch, logging_steps=5, row_audit_dir=str(audit))
    with socket.socket() as probe:  # a free port for the rendezvous
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "accelerate.commands.launch", "--config_file",
               os.path.join(REPO_ROOT, "training", "configs", "accelerate", "cpu_ddp.yaml"),
               "--num_processes", str(PROCESSES), "--main_process_port", str(port),
               "-m", "training.train", config, "--output_dir", str(tmp_path / "run")]
    environment = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": REPO_ROOT}
    result = subprocess.run(command, cwd=REPO_ROOT, env=environment, capture_output=True, text=True, timeout=300)
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-3000:]
    assert "world size: 2" in log

    read = read_row_audit(str(audit))
    assert sorted(read) == [0, 1]
    for epoch, by_rank in read.items():
        assert sorted(by_rank) == [0, 1]
        first, second = by_rank[0], by_rank[1]
        assert len(first) == len(second) == 5 * batch
        together = first + second
        assert len(together) == len(set(together)), f"epoch {epoch}: a row read twice"
        # Only the last incomplete round of batches is left out (`dataloader_drop_last`): fewer than 2 x 3 rows.
        assert set(together) <= set(range(rows)) and rows - len(together) == rows % (PROCESSES * batch)
    assert read[0] != read[1]  # reshuffled each epoch
