"""The training row audit: the callback's files, reading them back, the per-epoch counts and bad folders. A real
2-process run writing them is in test_sharded_training_data.py."""

import json
from types import SimpleNamespace

import pytest
from transformers import TrainerState

from training.row_audit import RowAuditCallback, audit_epochs, main, read_row_audit


def _run(folder, rank: int, epochs: list[list[list[int]]]):
    """What the callback writes on process `rank` for a run reading these batches, epoch by epoch."""
    callback = RowAuditCallback(str(folder))
    args, state = SimpleNamespace(process_index=rank), TrainerState()
    callback.on_train_begin(args, state, None)
    step = 0
    for epoch, batches in enumerate(epochs):
        state.epoch = float(epoch)
        callback.on_epoch_begin(args, state, None)
        for rows in batches:
            callback.record(rows, step)
            step += 1
    callback.on_train_end(args, state, None)


def test_rows_read_back_per_epoch_and_process(tmp_path):
    _run(tmp_path, 0, [[[0, 3], [5, 1]], [[2, 0]]])
    _run(tmp_path, 1, [[[4, 2]], [[1, 5]]])
    assert read_row_audit(str(tmp_path)) == {0: {0: [0, 3, 5, 1], 1: [4, 2]}, 1: {0: [2, 0], 1: [1, 5]}}
    assert json.loads((tmp_path / "rows-rank00001.jsonl").read_text().splitlines()[1]) == {
        "epoch": 1, "step": 1, "rows": [1, 5]}
    first, second = audit_epochs(str(tmp_path), num_rows=6)
    assert first == {"epoch": 0, "processes": 2, "rows_read": 6, "distinct_rows": 6, "rows_read_twice_or_more": 0,
                     "rows_not_read": 0}
    assert second["rows_read"] == 4 and second["rows_not_read"] == 2 and second["rows_read_twice_or_more"] == 0
    # A resumed run appends to the same files.
    _run(tmp_path, 1, [[[3]]])
    assert audit_epochs(str(tmp_path))[0]["rows_read_twice_or_more"] == 1


def test_command_prints_one_line_per_epoch(tmp_path, capsys):
    _run(tmp_path, 0, [[[0, 1]], [[1, 0]]])
    assert main([str(tmp_path), "--num-rows", "3"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(line["epoch"], line["rows_not_read"]) for line in lines] == [(0, 1), (1, 1)]


def test_bad_audit_folders_are_named(tmp_path, capsys):
    with pytest.raises(FileNotFoundError, match="No rows-rank"):
        read_row_audit(str(tmp_path))
    assert main([str(tmp_path / "nowhere")]) == 1
    assert "nowhere" in capsys.readouterr().err
    (tmp_path / "rows-rank00000.jsonl").write_text('{"epoch": 0, "step": 0, "rows": [1]}\n{"rows": [2]}\n')
    with pytest.raises(ValueError, match=r"rows-rank00000.jsonl, line 2"):
        read_row_audit(str(tmp_path))
    with pytest.raises(RuntimeError, match="outside training"):
        RowAuditCallback(str(tmp_path)).record([0], 0)
