"""Folders written in full or not at all: a save goes into a staging folder beside its target and is swapped in
when complete, so a save killed midway leaves the previous version loadable. Used for checkpoints and datasets."""

import os
import shutil
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def staged_directory(target):
    """Yield an empty folder beside `target`; when the block completes, it replaces `target` (see
    `replace_directory`). If the block fails or is interrupted, the folder is removed and `target` is untouched, so a
    save killed midway leaves the previous version loadable and nothing half-written."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.saving-", dir=target.parent))
    try:
        yield staging
        if target.exists() and not target.is_dir():
            target.unlink()
        replace_directory(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def replace_directory(source: Path, target: Path) -> None:
    """Move the finished `source` folder to `target`, replacing what was there.

    On Linux the two folders swap in one atomic step, so a reader sees either the old or the new `target`, never
    none. Elsewhere (or on a file system that cannot swap) the old folder is renamed away first: a short window.
    """
    if target.exists():
        if _exchange_paths(source, target):
            shutil.rmtree(source, ignore_errors=True)  # it now holds the previous version
            return
        retired = target.with_name(f".{target.name}.replaced-{os.getpid()}")
        shutil.rmtree(retired, ignore_errors=True)
        os.replace(target, retired)
        os.replace(source, target)
        shutil.rmtree(retired, ignore_errors=True)
    else:
        os.replace(source, target)


def _exchange_paths(first: Path, second: Path) -> bool:
    """Swap two paths atomically with Linux's `renameat2(..., RENAME_EXCHANGE)`. False where the kernel, C library
    or file system cannot; any other failure is raised."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes
    import errno

    renameat2 = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if renameat2 is None:  # a C library older than glibc 2.28
        return False
    at_current_directory, rename_exchange = -100, 2
    first_path, second_path = os.fsencode(first), os.fsencode(second)
    if renameat2(at_current_directory, first_path, at_current_directory, second_path, rename_exchange) == 0:
        return True
    error = ctypes.get_errno()
    if error in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
        return False
    raise OSError(error, os.strerror(error), os.fspath(first), None, os.fspath(second))


__all__ = ["replace_directory", "staged_directory"]
