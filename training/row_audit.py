"""An audit of the training rows each process reads: proof, for a run of several processes or machines, that no row
is read twice in an epoch and none is left out (but the fewer than processes x batch size rows that
`dataloader_drop_last` leaves out of each epoch).

    accelerate launch ... -m training.train CONFIG --row_audit_dir audit/
    python -m training.row_audit audit/ --num-rows 287651

With `--row_audit_dir DIR`, every process of the run appends one line per training batch it reads to
`DIR/rows-rank<R>.jsonl`: `{"epoch": E, "step": S, "rows": [...]}`, the rows' positions in the training split (after
`max_train_samples`) and the optimizer steps done before the batch. A resumed run appends to the same files (the
batches between its checkpoint and the stop are then listed twice, under the same steps). With `balanced_sampling`,
rows are drawn with replacement: repeats are expected.
"""

import argparse
import glob
import json
import os
import re
import sys
from collections import Counter

from transformers import TrainerCallback

from .callbacks import beginning_epoch


AUDIT_FILE = "rows-rank{rank:05d}.jsonl"
AUDIT_FILE_PATTERN = re.compile(r"^rows-rank(\d+)\.jsonl$")


class RowAuditCallback(TrainerCallback):
    """Appends, on each process, the rows of every training batch to `folder`'s `rows-rank<R>.jsonl`.

    The trainer hands it each batch's rows (`record`); the callback hooks open the file, follow the epoch and close
    it."""

    def __init__(self, folder: str):
        self.folder = folder
        self.epoch = 0
        self.handle = None

    def on_train_begin(self, args, state, control, **kwargs):
        os.makedirs(self.folder, exist_ok=True)
        self.handle = open(os.path.join(self.folder, AUDIT_FILE.format(rank=args.process_index)), "a", encoding="utf-8")

    def on_epoch_begin(self, args, state, control, **kwargs):
        self.epoch = beginning_epoch(state)

    def record(self, rows, step: int) -> None:
        if self.handle is None:
            raise RuntimeError("RowAuditCallback.record called outside training (before `on_train_begin`).")
        self.handle.write(json.dumps({"epoch": self.epoch, "step": int(step), "rows": [int(row) for row in rows]}))
        self.handle.write("\n")
        self.handle.flush()  # a run killed midway still leaves what it read

    def on_train_end(self, args, state, control, **kwargs):
        if self.handle is not None:
            self.handle.close()
            self.handle = None


def read_row_audit(folder: str) -> dict[int, dict[int, list[int]]]:
    """Epoch -> process rank -> the rows that process read in that epoch, in reading order.

    Raises:
        FileNotFoundError: `folder` holds no `rows-rank<R>.jsonl` file.
        ValueError: a line is not an audit record (naming the file and line).
    """
    paths = sorted(glob.glob(os.path.join(glob.escape(folder), "rows-rank*.jsonl")))
    paths = [path for path in paths if AUDIT_FILE_PATTERN.match(os.path.basename(path))]
    if not paths:
        raise FileNotFoundError(f"No rows-rank<R>.jsonl file in {folder!r}: was it the --row_audit_dir of a run?")
    epochs: dict[int, dict[int, list[int]]] = {}
    for path in paths:
        rank = int(AUDIT_FILE_PATTERN.match(os.path.basename(path)).group(1))
        with open(path, encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                try:
                    record = json.loads(line)
                    epoch, rows = int(record["epoch"]), [int(row) for row in record["rows"]]
                except (ValueError, TypeError, KeyError) as error:
                    raise ValueError(f"{path}, line {number}: not a row audit record ({error!r}).") from None
                epochs.setdefault(epoch, {}).setdefault(rank, []).extend(rows)
    return dict(sorted(epochs.items()))


def audit_epochs(folder: str, num_rows: int | None = None) -> list[dict]:
    """Per epoch: the processes, rows read, distinct rows, rows read more than once and, given the training split's
    `num_rows`, rows never read."""
    summary = []
    for epoch, by_rank in read_row_audit(folder).items():
        counts = Counter(row for rows in by_rank.values() for row in rows)
        entry = {
            "epoch": epoch,
            "processes": len(by_rank),
            "rows_read": sum(counts.values()),
            "distinct_rows": len(counts),
            "rows_read_twice_or_more": sum(1 for count in counts.values() if count > 1),
        }
        if num_rows is not None:
            entry["rows_not_read"] = sum(1 for row in range(num_rows) if row not in counts)
        summary.append(entry)
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.row_audit", description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", help="The --row_audit_dir of a training run.")
    parser.add_argument("--num-rows", type=int, default=None, help="Rows of the training split (counts those unread).")
    args = parser.parse_args(argv)
    try:
        summary = audit_epochs(args.folder, args.num_rows)
    except (OSError, ValueError) as error:
        print(f"python -m training.row_audit: error: {error}", file=sys.stderr)
        return 1
    for entry in summary:
        print(json.dumps(entry))
    return 0


__all__ = ["RowAuditCallback", "audit_epochs", "main", "read_row_audit"]


if __name__ == "__main__":
    sys.exit(main())
