"""A launched process dies with its launcher (torchrun starts each worker in a session of its own)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from emotifusion_hf.launcher import exit_with_launcher

ROOT = Path(__file__).resolve().parent.parent
# A launcher that starts one worker asking to die with it, prints the worker's id, then waits to be killed.
LAUNCHER = """
import subprocess, sys, time
worker = subprocess.Popen([sys.executable, "-c", "from emotifusion_hf.launcher import exit_with_launcher; "
                           "import time; print(exit_with_launcher(), flush=True); time.sleep(60)"],
                          start_new_session=True, stdout=subprocess.PIPE, text=True)
print(worker.stdout.readline().strip(), worker.pid, flush=True)
time.sleep(60)
"""


def test_outside_a_launch_nothing_is_set_up(monkeypatch):
    monkeypatch.delenv("TORCHELASTIC_RUN_ID", raising=False)
    assert exit_with_launcher() is False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl(PR_SET_PDEATHSIG) is Linux's")
def test_a_worker_dies_when_its_launcher_is_killed():
    environment = {**os.environ, "TORCHELASTIC_RUN_ID": "test", "PYTHONPATH": str(ROOT)}
    launcher = subprocess.Popen([sys.executable, "-c", LAUNCHER], env=environment, stdout=subprocess.PIPE, text=True)
    try:
        set_up, worker = launcher.stdout.readline().split()
        assert set_up == "True"
    finally:
        launcher.kill()
        launcher.wait(timeout=30)
    deadline = time.monotonic() + 10
    while _running(int(worker)) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _running(int(worker)):
        os.kill(int(worker), signal.SIGKILL)
        pytest.fail("the worker outlived its launcher")


def _running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
