"""What a process started by a launcher (`accelerate launch` of several processes, `torchrun`) does about its
launcher."""

import os
import signal
import sys

# prctl(2): deliver a signal to this process when the thread that started it exits.
PR_SET_PDEATHSIG = 1


def exit_with_launcher() -> bool:
    """Have Linux kill this process (SIGKILL) when the torchrun launcher that started it dies; returns whether it is
    set up (only under torchrun, on Linux).

    torchrun starts each worker in a session of its own, so a launcher killed outright (`kill -9` on the launch's
    process group, the out-of-memory killer) would leave its workers running: still answering rows or training,
    writing into the same output folder as the run that resumes the work."""
    if not sys.platform.startswith("linux") or "TORCHELASTIC_RUN_ID" not in os.environ:
        return False
    import ctypes

    launcher = os.getppid()
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) != 0:
        return False
    if os.getppid() != launcher:  # the launcher died before the request was in place
        os.kill(os.getpid(), signal.SIGKILL)
    return True


__all__ = ["exit_with_launcher"]
