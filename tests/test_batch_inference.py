"""Batch inference into a folder of parts: every input format, and every row answered exactly once across the parts
of 2 processes (gloo, under `accelerate launch`) resuming a run stopped mid-way or a launch killed outright, without
redoing finished parts."""

import csv
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import datasets
import numpy as np
import pyarrow
import pyarrow.parquet
import pytest
from PIL import Image
from test_launcher import _running

from emotifusion_hf.batch_inference import MANIFEST_FILE, plan_inputs
from emotifusion_hf.cli import main as emotifusion_main

ROOT = Path(__file__).resolve().parent.parent
CPU_DDP_CONFIG = ROOT / "training" / "configs" / "accelerate" / "cpu_ddp.yaml"


def _face(path, seed):
    pixels = np.random.default_rng(seed).integers(0, 255, (40, 32, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)
    return path


def _mixed_inputs(folder: Path) -> int:
    """A folder with a .jsonl (one bad line), a .csv (a quoted line break) and a .parquet (image bytes) file, in a
    subfolder too; returns the number of rows."""
    folder.mkdir(parents=True)
    _face(folder / "a.jpg", 0)
    lines = [json.dumps({"id": f"j{index}", "image": "a.jpg", "text": f"line {index}"}) for index in range(5)]
    lines.insert(2, "{not json")
    (folder / "a.jsonl").write_text("\n".join(lines) + "\n\n")
    with open(folder / "b.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text", "extra"])
        writer.writerows([["c0", "You're late. || Sorry.", "x"], ["c1", "two\nlines", "y"], ["c2", "fine", ""]])
    (folder / "sub").mkdir()
    image_bytes = (folder / "a.jpg").read_bytes()
    table = pyarrow.table({
        "image": [{"bytes": image_bytes, "path": None}] * 4,
        "text": ["p0", None, "p2", "p3"],
    })
    pyarrow.parquet.write_table(table, folder / "sub" / "c.parquet", row_group_size=3)
    return 6 + 3 + 4


def _read_parts(output: Path) -> list[dict]:
    return [json.loads(line) for part in sorted(output.glob("part-*.jsonl")) for line in part.read_text().splitlines()]


def _env():
    env = dict(os.environ, PYTHONPATH=f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    env.update(OMP_NUM_THREADS="1", TOKENIZERS_PARALLELISM="false", HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    return env


def _launch(checkpoint, inputs, output, processes=2, part_size=2):
    with socket.socket() as probe:  # a free port for the rendezvous
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # The repository's CPU config goes through torchrun (gloo); `--cpu` alone would start a single process.
    command = [
        sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(CPU_DDP_CONFIG),
        "--num_processes", str(processes), "--main_process_port", str(port),
        "-m", "emotifusion_hf.cli", "predict", "--model", checkpoint, "--inputs", str(inputs),
        "--output", str(output), "--batch-size", "2", "--part-size", str(part_size), "--device", "cpu",
    ]
    # In a session of its own, so the whole launch can be killed at once (`os.killpg`).
    return subprocess.Popen(command, env=_env(), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)


def test_plan_reads_every_format_and_counts_rows(tmp_path):
    total = _mixed_inputs(tmp_path / "in")
    sources = plan_inputs(str(tmp_path / "in"))
    assert [(source.path, source.rows) for source in sources] == [("a.jsonl", 6), ("b.csv", 3), ("sub/c.parquet", 4)]
    assert sum(source.rows for source in sources) == total


def test_one_process_answers_each_row_once_with_errors_in_place(tiny_checkpoint, tmp_path, capsys):
    total = _mixed_inputs(tmp_path / "in")
    output = tmp_path / "out"
    arguments = ["predict", "--model", tiny_checkpoint, "--inputs", str(tmp_path / "in"), "--output", str(output),
                 "--batch-size", "2", "--part-size", "4", "--device", "cpu"]
    # One row fails, so the exit status is 1, as with a single output file; every other row is still answered.
    assert emotifusion_main(arguments) == 1
    results = _read_parts(output)
    assert sorted(result["row"] for result in results) == list(range(total))
    errors = {result["id"]: result["error"] for result in results if "error" in result}
    assert list(errors) == ["a.jsonl:3"] and "not a JSON object" in errors["a.jsonl:3"]
    by_id = {result["id"]: result for result in results}
    assert len(by_id["c1"]["scores"]) == 8 and by_id["c2"]["source"] == "b.csv:5"
    assert by_id["sub/c.parquet:row 1"]["scores"]  # image bytes without text
    manifest = json.loads((output / MANIFEST_FILE).read_text())
    assert manifest["complete"] and manifest["rows_answered"] == total and manifest["rows_failed"] == 1
    assert "4 of 4 parts finished" in capsys.readouterr().err

    # A saved datasets folder (a DatasetDict) works alike; other inputs into the same folder are refused.
    dataset = datasets.Dataset.from_dict({"text": ["a", "b", "c"], "label": [0, 1, 2]})
    datasets.DatasetDict({"train": dataset, "test": dataset.select([0])}).save_to_disk(tmp_path / "saved")
    assert emotifusion_main([*arguments[:3], "--inputs", str(tmp_path / "saved"), *arguments[5:]]) == 1
    assert "other inputs" in capsys.readouterr().err
    assert emotifusion_main([*arguments[:3], "--inputs", str(tmp_path / "saved"), "--output",
                             str(tmp_path / "saved_out"), "--device", "cpu"]) == 0
    assert [result["id"] for result in _read_parts(tmp_path / "saved_out")] == [
        "train:row 0", "train:row 1", "train:row 2", "test:row 0"]


def _stop_mid_way(pipe, inputs, output, model, calls_before_stop):
    """Run in this process with a pipeline that dies (as a killed process would) on its `calls_before_stop`-th
    batch; returns the modification times of the parts it finished."""
    from emotifusion_hf import batch_inference

    args = type("Args", (), {"inputs": str(inputs), "output": str(output), "part_size": 3, "batch_size": 2,
                             "model": model, "device": "cpu", "quantize": False})()
    calls = {"count": 0}

    def dying_pipe(*inputs, **kwargs):
        calls["count"] += 1
        if calls["count"] == calls_before_stop:
            raise KeyboardInterrupt
        return pipe(*inputs, **kwargs)

    with pytest.raises(KeyboardInterrupt):
        batch_inference.run_batch_predict(args, {}, pipe=dying_pipe)
    assert list(output.glob(".part-*.tmp"))  # the part it was writing stays unfinished
    return {path.name: path.stat().st_mtime_ns for path in output.glob("part-*.jsonl")}


@pytest.mark.timeout(300)
def test_stopped_run_resumed_by_two_processes_answers_each_row_exactly_once(tiny_pipe, tiny_checkpoint, tmp_path):
    folder = tmp_path / "in"
    total = _mixed_inputs(folder)
    with open(folder / "more.jsonl", "w") as handle:
        handle.writelines(json.dumps({"id": f"r{i}", "text": f"row {i}"}) + "\n" for i in range(20))
    total += 20
    output = tmp_path / "out"
    # Parts 0 and 1 (rows 0-5) finish; the process dies on the first batch of part 2.
    finished = _stop_mid_way(tiny_pipe, folder, output, tiny_checkpoint, calls_before_stop=4)
    assert sorted(finished) == ["part-00000-000000.jsonl", "part-00000-000001.jsonl"]

    run = _launch(tiny_checkpoint, folder, output, part_size=3)
    log, _ = run.communicate(timeout=240)
    # Under a launcher the one bad row is counted in the manifest and the summary, not in the exit status.
    assert run.returncode == 0 and "1 rows failed" in log, log
    results = _read_parts(output)
    assert sorted(result["row"] for result in results) == list(range(total)), log
    assert {path.name[:10] for path in output.glob("part-*.jsonl")} == {"part-00000", "part-00001"}, log
    for name, mtime in finished.items():  # finished parts were not redone
        assert (output / name).stat().st_mtime_ns == mtime
    assert not list(output.glob(".part-*"))
    manifest = json.loads((output / MANIFEST_FILE).read_text())
    assert manifest["complete"] and manifest["rows_answered"] == total and manifest["rows_failed"] == 1


def _processes_under(pid: int) -> list[int]:
    """The descendants of `pid` (Linux /proc)."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children = [int(child) for child in (task / "children").read_text().split()]
        except OSError:
            continue
        for child in children:
            found += [child, *_processes_under(child)]
    return found


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="finds the launched processes through Linux /proc")
@pytest.mark.timeout(300)
def test_killed_launch_rerun_answers_each_row_exactly_once(tiny_checkpoint, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    total = 1200
    with open(folder / "rows.jsonl", "w") as handle:
        handle.writelines(json.dumps({"id": f"r{i}", "text": f"row {i}, said twice: row {i}"}) + "\n"
                          for i in range(total))
    output = tmp_path / "out"
    run = _launch(tiny_checkpoint, folder, output, part_size=20)
    try:
        while not list(output.glob("part-*.jsonl")):
            assert run.poll() is None, run.communicate()[0]
            time.sleep(0.01)
        workers = _processes_under(run.pid)
    finally:
        os.killpg(run.pid, signal.SIGKILL)  # the launcher's session; each worker has one of its own
    run.wait(timeout=30)
    deadline = time.monotonic() + 10
    while any(_running(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert workers and not any(_running(pid) for pid in workers), "a worker outlived its killed launcher"
    finished = {path.name: path.stat().st_mtime_ns for path in output.glob("part-*.jsonl")}
    assert 0 < len(finished) < total // 20, f"{len(finished)} parts finished: the kill came too late"
    manifest = json.loads((output / MANIFEST_FILE).read_text())
    assert not manifest["complete"]

    rerun = _launch(tiny_checkpoint, folder, output, part_size=20)
    log, _ = rerun.communicate(timeout=240)
    assert rerun.returncode == 0, log
    rows = [result["row"] for result in _read_parts(output)]
    assert len(rows) == len(set(rows)) and sorted(rows) == list(range(total)), log
    assert {result["id"] for result in _read_parts(output)} == {f"r{i}" for i in range(total)}
    for name, mtime in finished.items():  # parts the killed run finished were not redone
        assert (output / name).stat().st_mtime_ns == mtime
    assert not list(output.glob(".part-*"))
    manifest = json.loads((output / MANIFEST_FILE).read_text())
    assert manifest["complete"] and manifest["finished_parts"] == total // 20
    assert manifest["rows_answered"] == total and manifest["rows_failed"] == 0
