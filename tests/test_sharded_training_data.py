"""A sharded build as training reads it: memory-mapped Arrow shards, and under several processes each process reads
its own share (accelerate's sharding of the Trainer's DataLoader), no sample seen twice per epoch."""

import datasets
import pytest
import torch
from accelerate.data_loader import prepare_data_loader
from test_arguments import _write_config
from torch.utils.data import DataLoader, RandomSampler

from training.arguments import adjust_training_arguments, parse_arguments

ROWS, BATCH, PROCESSES = 45, 4, 2


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
