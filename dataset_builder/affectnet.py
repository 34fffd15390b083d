"""
Readers turning an AffectNet copy on disk into a stream of `FaceRecord`s.

Three layouts are understood, detected automatically (`detect_layout`) or forced with `layout=`:

- `"official"`: the dataset as distributed, `Manually_Annotated_file_lists/{training,validation}.csv` (columns
  `subDirectory_filePath, face_x, face_y, face_width, face_height, facial_landmarks, expression, valence,
  arousal`) with the images under `Manually_Annotated_Images/`.
- `"folders"`: one folder per class, optionally under split folders: `<split>/<class>/*.jpg` or `<class>/*.jpg`.
- `"yolo"`: `images/` + `labels/*.txt` (`class cx cy w h`, normalised) with the class names in `data.yaml`, the
  splits as `images/<split>` + `labels/<split>` or `<split>/images` + `<split>/labels` (the Roboflow export).

Readers are generators: they walk the annotation files row by row and yield a record holding the image path and
the face box; no pixel is decoded here (`face_images.load_face`/`encode_face` do that, once per record). Every bad
row is skipped and counted by reason in a caller-supplied `collections.Counter`, or raised as a `BadRowError`
naming the file and line when `strict=True`.

A file list is untrusted input (a built dataset may be pushed to the Hub): a row naming a file outside `data_dir`
(an absolute path, a `..` step, or a symlink whose target lies outside) is never read and is counted as
`outside_data_dir` (`DataDirGuard`). Folder and YOLO class names are matched through
`emotifusion_hf.labels.LABEL_ALIASES`.

Split mapping: the official `validation.csv` becomes `test` (as the literature reports) and `validation` is a
stratified slice of training. Folder and YOLO trees use their own split folders when present; a missing
validation (and, without any held-out folder, test) split is carved out of training as a stratified slice.
"""

import contextlib
import csv
import logging
import math
import os
import random
import stat
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import replace

from emotifusion_hf.image_files import IMAGE_EXTENSIONS
from emotifusion_hf.labels import EMOTIONS, LABEL_ALIASES, UnknownLabelError, resolve_label

from .records import SPLITS, BadRowError, FaceRecord


logger = logging.getLogger(__name__)

LAYOUTS = ("official", "folders", "yolo")

# AffectNet's `expression` column -> index into EMOTIONS.
EXPRESSION_CODES = {
    0: EMOTIONS.index("neutral"),
    1: EMOTIONS.index("happy"),
    2: EMOTIONS.index("sad"),
    3: EMOTIONS.index("surprise"),
    4: EMOTIONS.index("fear"),
    5: EMOTIONS.index("disgust"),
    6: EMOTIONS.index("anger"),
    7: EMOTIONS.index("contempt"),
}
# Codes that are valid AffectNet annotations but not an emotion: skipped and counted under these reasons.
SKIPPED_EXPRESSION_CODES = {8: "expression_none", 9: "expression_uncertain", 10: "expression_non_face"}

OFFICIAL_COLUMNS = (
    "subDirectory_filePath",
    "face_x",
    "face_y",
    "face_width",
    "face_height",
    "facial_landmarks",
    "expression",
    "valence",
    "arousal",
)
# Where the official CSVs and images may sit inside `data_dir` (the tarballs unpack slightly differently).
OFFICIAL_CSV_DIRS = ("Manually_Annotated_file_lists", "Manually_Annotated/Manually_Annotated_file_lists", "")
OFFICIAL_IMAGE_DIRS = ("Manually_Annotated_Images", "Manually_Annotated/Manually_Annotated_Images", "")
OFFICIAL_FILES = {"train": "training.csv", "test": "validation.csv"}

YOLO_DATA_FILES = ("data.yaml", "data.yml", "dataset.yaml", "dataset.yml")
# Folders that archive tools leave behind; never a class or a split.
IGNORED_DIRS = ("__MACOSX",)

# Class-name spellings of folders and YOLO exports: the labels module's table, shared with the text corpora.
CLASS_ALIASES = LABEL_ALIASES

SPLIT_FOLDER_ALIASES = {
    "train": "train",
    "training": "train",
    "val": "validation",
    "valid": "validation",
    "validation": "validation",
    "dev": "validation",
    "test": "test",
    "testing": "test",
}

def resolve_class_name(name: str, *, where: str = "") -> int:
    """
    Map a class name (`"Angry"`, `"happiness"`, `"surprised"`, ...) to its index in `EMOTIONS`, through the
    spellings of `emotifusion_hf.labels.LABEL_ALIASES`.

    Raises:
        UnknownClassError: naming `name` (and `where` it was found) when no alias matches.
    """
    return resolve_label(str(name), where=where)



# ---------------------------------------------------------------------------------------------------------------
# Layout detection and split mapping
# ---------------------------------------------------------------------------------------------------------------


def _listdir(path: str) -> list[str]:
    return sorted(name for name in os.listdir(path) if not name.startswith(".") and name not in IGNORED_DIRS)


def _subdirs(path: str) -> list[str]:
    return [name for name in _listdir(path) if os.path.isdir(os.path.join(path, name))]


def _find_official_csv(data_dir: str, filename: str) -> str | None:
    for folder in OFFICIAL_CSV_DIRS:
        candidate = os.path.join(data_dir, folder, filename)
        if os.path.isfile(candidate):
            return candidate
    return None


def _find_yolo_data_file(data_dir: str) -> str | None:
    for name in YOLO_DATA_FILES:
        candidate = os.path.join(data_dir, name)
        if os.path.isfile(candidate):
            return candidate
    return None


def _check_data_dir(data_dir: str) -> str:
    if data_dir is None:
        raise ValueError("An AffectNet `data_dir` is required (the folder holding the dataset), got None.")
    data_dir = os.fspath(data_dir)
    if not os.path.exists(data_dir):
        raise FileNotFoundError(f"AffectNet data_dir {data_dir!r} does not exist.")
    if not os.path.isdir(data_dir):
        raise NotADirectoryError(f"AffectNet data_dir {data_dir!r} is not a directory.")
    return data_dir


def _is_class_name(name: str) -> bool:
    try:
        resolve_label(name)
    except UnknownLabelError:
        return False
    return True


def detect_layout(data_dir: str) -> str:
    """
    Recognise which of `LAYOUTS` `data_dir` holds.

    Raises:
        FileNotFoundError: when `data_dir` does not exist.
        ValueError: naming `data_dir` and what it contains when no layout matches.
    """
    data_dir = _check_data_dir(data_dir)
    if _find_official_csv(data_dir, OFFICIAL_FILES["train"]) or _find_official_csv(data_dir, OFFICIAL_FILES["test"]):
        return "official"
    if _find_yolo_data_file(data_dir) or os.path.isdir(os.path.join(data_dir, "labels")):
        return "yolo"
    subdirs = _subdirs(data_dir)
    if any(SPLIT_FOLDER_ALIASES.get(name.lower()) for name in subdirs):
        split_dirs = [name for name in subdirs if name.lower() in SPLIT_FOLDER_ALIASES]
        # Roboflow-style YOLO exports keep `images/` and `labels/` inside each split folder.
        if any(os.path.isdir(os.path.join(data_dir, name, "labels")) for name in split_dirs):
            return "yolo"
        return "folders"
    if subdirs and any(_is_class_name(name) for name in subdirs):
        return "folders"
    raise ValueError(
        f"Unrecognised AffectNet layout in {data_dir!r}: expected one of {LAYOUTS} "
        f"('official': Manually_Annotated_file_lists/training.csv; 'folders': <split>/<class>/*.jpg or <class>/*.jpg; "
        f"'yolo': data.yaml + images/ + labels/). Found: {_listdir(data_dir)[:20]}. Pass `layout=` to force one."
    )


def check_layout(layout: str | None) -> str:
    """Validate a `layout` argument (`"auto"`/`None` or one of `LAYOUTS`), with an error that names it."""
    if layout in (None, "auto"):
        return "auto"
    if layout not in LAYOUTS:
        raise ValueError(f"Unrecognised AffectNet layout {layout!r}: expected 'auto' or one of {LAYOUTS}.")
    return layout


def plan_splits(source_splits: Iterable[str]) -> tuple[dict[str, str], tuple[str, ...]]:
    """
    Decide where each source split goes and which output splits are carved out of training.

    Args:
        source_splits: the canonical splits (`"train"`, `"validation"`, `"test"`) found on disk.

    Returns:
        `(mapping, holdouts)`: `mapping[source_split] -> output split`, and the output splits taken as stratified
        slices of the training rows.

    A source validation split without a source test split becomes `test` (AffectNet's convention: its validation
    set is the one results are reported on), and validation is then sliced from training.
    """
    present = set(source_splits)
    mapping = {}
    if "test" in present:
        mapping["test"] = "test"
    if "validation" in present:
        mapping["validation"] = "validation" if "test" in present else "test"
    holdouts: tuple[str, ...] = ()
    if "train" in present:
        mapping["train"] = "train"
        holdouts = tuple(split for split in ("validation", "test") if split not in mapping.values())
    return mapping, holdouts


class StratifiedHoldout:
    """
    Streams a stratified slice out of the training rows without a second pass.

    Per class, an error-diffusion accumulator adds each held-out fraction per row and sends the row to a held-out
    split whenever the accumulator crosses one: every class ends with its fraction of rows in each held-out split,
    to within one row, and memory stays constant. A seeded phase per (class, split) varies which rows are picked.
    """

    def __init__(self, fractions: dict[str, float], seed: int = 0):
        total = sum(fractions.values())
        for split, fraction in fractions.items():
            if not 0.0 <= fraction < 1.0:
                raise ValueError(f"The {split} fraction must be in [0, 1), got {fraction}.")
        if total >= 1.0:
            raise ValueError(f"The held-out fractions {fractions} leave no training rows (sum {total} >= 1).")
        self.fractions = dict(fractions)
        self.seed = seed
        self._accumulators: dict[int, dict[str, float]] = {}

    def assign(self, label: int) -> str:
        accumulators = self._accumulators.get(label)
        if accumulators is None:
            accumulators = {
                split: random.Random(f"holdout|{self.seed}|{label}|{split}").random() for split in self.fractions
            }
            self._accumulators[label] = accumulators
        chosen = "train"
        for split, fraction in self.fractions.items():
            accumulators[split] += fraction
        for split in self.fractions:
            if accumulators[split] >= 1.0:
                accumulators[split] -= 1.0
                chosen = split
                break
        return chosen


# ---------------------------------------------------------------------------------------------------------------
# Row parsing helpers
# ---------------------------------------------------------------------------------------------------------------


def _parse_float(value, column: str, location: str) -> float:
    try:
        number = float(str(value).strip())
    except (TypeError, ValueError):
        raise BadRowError("bad_number", location, f"column {column!r} is not a number: {value!r}") from None
    if not math.isfinite(number):
        raise BadRowError("bad_number", location, f"column {column!r} is not a finite number: {value!r}")
    return number


def _parse_int(value, column: str, location: str) -> int:
    number = _parse_float(value, column, location)
    if number != int(number):
        raise BadRowError("bad_number", location, f"column {column!r} must be a whole number, got {value!r}")
    return int(number)


def _parse_affect(value, column: str, location: str) -> float | None:
    """Valence/arousal: a float in [-1, 1], or AffectNet's -2 for 'not annotated' (returned as None)."""
    if value is None or str(value).strip() == "":
        return None
    number = _parse_float(value, column, location)
    if number == -2:
        return None
    if not -1.0 <= number <= 1.0:
        raise BadRowError("bad_number", location, f"column {column!r} must be in [-1, 1] or -2, got {value!r}")
    return number


def _relative(path: str, root: str) -> str:
    # A plain path under `root` (the usual case, once per row) is cut without `os.path.relpath`'s normalisation,
    # which costs as much as the rest of a CSV row's parsing; anything else takes `relpath`.
    prefix = root if root.endswith(os.sep) else root + os.sep
    if path.startswith(prefix):
        rest = path[len(prefix):]
        if rest and not any(part in ("", ".", "..") for part in rest.split(os.sep)):
            return _printable(rest.replace(os.sep, "/"))
    return _printable(os.path.relpath(path, root).replace(os.sep, "/"))


def _printable(name: str) -> str:
    """A file name that is not valid UTF-8 arrives from the OS with surrogate escapes, which no encoder accepts (the
    dataset writer, seeded RNGs): its odd bytes are shown as `\\xNN` instead, so ids stay distinct and printable."""
    if name.isascii():
        return name
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


class DataDirGuard:
    """
    Keeps every file a reader opens inside `data_dir`: an absolute path or a `..` step in a listed path, and a file
    or folder symlink whose target lies outside `data_dir`, become an `outside_data_dir` `BadRowError`.

    Resolving a path costs a system call per component, so each folder is resolved once (cached) and only the file
    itself is checked for being a link (one `lstat`) on every row.
    """

    def __init__(self, data_dir: str):
        self.data_dir = data_dir
        real_root = os.path.realpath(data_dir)
        self._prefix = real_root if real_root.endswith(os.sep) else real_root + os.sep
        self._folders: dict[str, bool] = {}

    def check_listed(self, listed: str, location: str) -> None:
        """Refuse a path as written in a file list: absolute (POSIX, Windows drive or UNC), or stepping up with
        `..`."""
        if listed[:1] in ("/", "\\") or listed[1:2] == ":" or os.path.isabs(listed):
            raise BadRowError("outside_data_dir", location, f"absolute path {listed!r}; paths must be relative")
        if ".." in listed and ".." in listed.replace("\\", "/").split("/"):
            raise BadRowError("outside_data_dir", location, f"path {listed!r} steps out with '..'")

    def is_file(self, path: str, location: str) -> bool:
        """`check(path)`, then whether `path` is a regular file (or a link to one), with the one `lstat` the check
        needs rather than a second `stat`."""
        self._check_folder(path, location)
        try:
            mode = os.lstat(path).st_mode
        except (FileNotFoundError, NotADirectoryError):
            return False
        if not stat.S_ISLNK(mode):
            return stat.S_ISREG(mode)
        self._check_link(path, location)
        return os.path.isfile(path)

    def check(self, path: str, location: str) -> None:
        """Refuse `path` when it (or a folder on the way) resolves outside `data_dir`; a missing file passes
        (the caller reports it as missing)."""
        self._check_folder(path, location)
        if os.path.islink(path):
            self._check_link(path, location)

    def _check_folder(self, path: str, location: str) -> None:
        folder = os.path.dirname(path)
        inside = self._folders.get(folder)
        if inside is None:
            inside = self._inside(os.path.realpath(folder))
            self._folders[folder] = inside
        if not inside:
            self._refuse(path, location)

    def _check_link(self, path: str, location: str) -> None:
        if not self._inside(os.path.realpath(path)):
            self._refuse(path, location)

    def _refuse(self, path: str, location: str):
        shown = _relative(path, self.data_dir)
        raise BadRowError("outside_data_dir", location, f"{shown!r} resolves outside the data folder {self.data_dir!r}")

    def _inside(self, real_path: str) -> bool:
        return real_path.startswith(self._prefix) or real_path + os.sep == self._prefix


class _RowSink:
    """Applies the skip policy: count a bad row under its reason, or raise it when strict."""

    def __init__(self, skipped: Counter | None, strict: bool, counting: bool = True):
        self.skipped = skipped if skipped is not None else Counter()
        self.strict = strict
        self.counting = counting

    def reject(self, error: BadRowError) -> None:
        if self.strict:
            raise error
        if self.counting:
            self.skipped[error.reason] += 1
        logger.debug("Skipped %s", error)


# ---------------------------------------------------------------------------------------------------------------
# Official layout
# ---------------------------------------------------------------------------------------------------------------


def read_official(
    data_dir: str,
    *,
    splits: Iterable[str] = SPLITS,
    skipped: Counter | None = None,
    strict: bool = False,
    validation_fraction: float = 0.1,
    test_fraction: float = 0.1,
    seed: int = 0,
) -> Iterator[FaceRecord]:
    """
    Stream face records from the official layout (`Manually_Annotated_file_lists/*.csv`).

    `training.csv` feeds `train` (and the stratified `validation` slice); `validation.csv` feeds `test`. Without
    `validation.csv`, `test` is sliced from training too. Only the rows of the requested `splits` are yielded;
    a bad row is counted (or raised) by the pass that reads its file for the file's own split, so reading the
    splits one at a time still counts every bad row once.
    """
    data_dir = _check_data_dir(data_dir)
    wanted = set(_check_splits(splits))
    sources = {split: _find_official_csv(data_dir, name) for split, name in OFFICIAL_FILES.items()}
    sources = {split: path for split, path in sources.items() if path is not None}
    if not sources:
        raise FileNotFoundError(
            f"No official AffectNet annotations in {data_dir!r}: expected "
            f"Manually_Annotated_file_lists/training.csv and/or validation.csv."
        )
    image_dirs = [os.path.join(data_dir, folder) for folder in OFFICIAL_IMAGE_DIRS]
    image_root = next((folder for folder in image_dirs if os.path.isdir(folder)), data_dir)
    passes = _plan_passes(sources, wanted, validation_fraction, test_fraction, seed)

    guard = DataDirGuard(data_dir)

    def rows(source_split, csv_path, sink):
        return _read_official_csv(csv_path, data_dir, image_root, guard, sink)

    return _stream(passes, rows, skipped, strict, wanted)


def _plan_passes(sources: dict, wanted: set, validation_fraction: float, test_fraction: float, seed: int) -> list:
    """(source split, source, output split, holdout or None, counts skips) for each source that feeds `wanted`."""
    mapping, holdouts = plan_splits(sources)
    fractions = {"validation": validation_fraction, "test": test_fraction}
    passes = []
    for source_split, source in sources.items():
        produces = {mapping[source_split]} | (set(holdouts) if source_split == "train" else set())
        if not produces & wanted:
            continue
        holdout = None
        if source_split == "train" and holdouts:
            holdout = StratifiedHoldout({split: fractions[split] for split in holdouts}, seed)
        passes.append((source_split, source, mapping[source_split], holdout, mapping[source_split] in wanted))
    return passes


def _stream(passes: list, rows, skipped: Counter | None, strict: bool, wanted: set) -> Iterator[FaceRecord]:
    """Run each planned pass: parse its rows, route each record to its output split, keep the wanted ones."""
    for source_split, source, output_split, holdout, counting in passes:
        sink = _RowSink(skipped, strict, counting=counting)
        for record in rows(source_split, source, sink):
            split = holdout.assign(record.label) if holdout is not None else output_split
            if split in wanted:
                yield record if record.split == split else replace(record, split=split)


def _read_official_csv(
    csv_path: str, data_dir: str, image_root: str, guard: DataDirGuard, sink: _RowSink
) -> Iterator[FaceRecord]:
    name = _relative(csv_path, data_dir)
    with open(csv_path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        with _csv_errors_named(name, reader):
            missing = [column for column in OFFICIAL_COLUMNS if column not in (reader.fieldnames or ())]
            # Landmarks are not used, so a file without them is still readable.
            missing = [column for column in missing if column != "facial_landmarks"]
            if missing:
                raise ValueError(
                    f"{name} is missing the column(s) {missing}; an official AffectNet list has "
                    f"{list(OFFICIAL_COLUMNS)} (found {reader.fieldnames})."
                )
            for row in reader:
                location = f"{name}:{reader.line_num}"
                try:
                    yield _parse_official_row(row, location, image_root, data_dir, guard)
                except BadRowError as error:
                    sink.reject(error)


@contextlib.contextmanager
def _csv_errors_named(name: str, reader: csv.DictReader):
    """A list that is not UTF-8 or not CSV becomes a `ValueError` naming the file and line, not a codec or csv
    module traceback."""
    try:
        yield
    except UnicodeDecodeError as error:
        raise ValueError(f"{name} is not UTF-8 text ({error.reason}); save the list as UTF-8.") from None
    except csv.Error as error:
        # The underlying reader counts the line that failed; the DictReader only counts rows that parsed.
        raise ValueError(f"{name}:{reader.reader.line_num}: malformed CSV ({error}).") from None


def _parse_official_row(row: dict, location: str, image_root: str, data_dir: str, guard: DataDirGuard) -> FaceRecord:
    if None in row:
        raise BadRowError("bad_number", location, f"the row has more fields than the header: {row[None]!r}")
    code = _parse_int(row["expression"], "expression", location)
    if code in SKIPPED_EXPRESSION_CODES:
        raise BadRowError(SKIPPED_EXPRESSION_CODES[code], location, f"expression code {code} is not an emotion")
    if code not in EXPRESSION_CODES:
        raise BadRowError("unknown_label", location, f"expression code {code} is not an AffectNet code (0-10)")
    box = tuple(
        _parse_float(row[column], column, location) for column in ("face_x", "face_y", "face_width", "face_height")
    )
    if box[2] <= 0 or box[3] <= 0:
        raise BadRowError("empty_box", location, f"face box {box} has no area")
    valence = _parse_affect(row.get("valence"), "valence", location)
    arousal = _parse_affect(row.get("arousal"), "arousal", location)
    relative_path = (row["subDirectory_filePath"] or "").strip()
    if not relative_path:
        raise BadRowError("missing_file", location, "subDirectory_filePath is empty")
    guard.check_listed(relative_path, location)
    path = os.path.join(image_root, relative_path)
    if not guard.is_file(path, location):
        raise BadRowError("missing_file", location, f"image {_relative(path, data_dir)!r} does not exist")
    return FaceRecord(
        image=path,
        label=EXPRESSION_CODES[code],
        split="train",
        source_id=_relative(path, data_dir),
        location=location,
        face_box=box,
        valence=valence,
        arousal=arousal,
        source="affectnet-official",
    )


# ---------------------------------------------------------------------------------------------------------------
# Class-folder layout
# ---------------------------------------------------------------------------------------------------------------


def _split_folders(data_dir: str) -> dict[str, str]:
    """Canonical split -> folder name, for the split folders directly under `data_dir`."""
    found: dict[str, str] = {}
    for name in _subdirs(data_dir):
        split = SPLIT_FOLDER_ALIASES.get(name.lower())
        if split is None:
            continue
        if split in found:
            raise ValueError(
                f"{data_dir!r} has two folders for the {split} split: {found[split]!r} and {name!r}; keep one."
            )
        found[split] = name
    return found


def _walk_files(root: str) -> Iterator[str]:
    """All non-hidden files under `root`, in a deterministic (sorted) order."""
    for current, dirs, files in os.walk(root):
        dirs[:] = sorted(name for name in dirs if not name.startswith(".") and name not in IGNORED_DIRS)
        for name in sorted(files):
            if not name.startswith("."):
                yield os.path.join(current, name)


def read_folders(
    data_dir: str,
    *,
    splits: Iterable[str] = SPLITS,
    skipped: Counter | None = None,
    strict: bool = False,
    validation_fraction: float = 0.1,
    test_fraction: float = 0.1,
    seed: int = 0,
) -> Iterator[FaceRecord]:
    """
    Stream face records from class folders: `<split>/<class>/...` or, without split folders, `<class>/...`.

    Class names go through `resolve_class_name` (an unknown one is an error naming the folder, raised before any
    row is read); files without an image extension are counted as `unsupported_file`. Records cover the whole
    image (`face_box=None`).
    """
    data_dir = _check_data_dir(data_dir)
    wanted = set(_check_splits(splits))
    class_dirs = {split: _class_folders(root, data_dir) for split, root in _folder_split_roots(data_dir).items()}
    passes = _plan_passes(class_dirs, wanted, validation_fraction, test_fraction, seed)
    guard = DataDirGuard(data_dir)

    def rows(source_split, folders, sink):
        for folder, label in folders:
            yield from _read_class_folder(folder, label, data_dir, source_split, guard, sink)

    return _stream(passes, rows, skipped, strict, wanted)


def _folder_split_roots(data_dir: str) -> dict[str, str]:
    """Canonical split -> the folder holding its class folders (`data_dir` itself as `train` without splits)."""
    split_folders = _split_folders(data_dir)
    if not split_folders:
        return {"train": data_dir}
    others = [name for name in _subdirs(data_dir) if name not in split_folders.values()]
    if others:
        logger.warning("Ignoring folders of %s that are not split folders: %s", data_dir, others)
    return {split: os.path.join(data_dir, folder) for split, folder in split_folders.items()}


def _class_folders(root: str, data_dir: str) -> list[tuple[str, int]]:
    """(folder, label) of each class folder under `root`; an unknown class name is an error naming the folder."""
    names = _subdirs(root)
    if not names:
        raise ValueError(f"{root!r} holds no class folders (expected <class>/*.jpg, e.g. happy/, sad/).")
    folders = []
    for name in names:
        folder = os.path.join(root, name)
        folders.append((folder, resolve_class_name(name, where=_relative(folder, data_dir))))
    return folders


def _read_class_folder(
    folder: str, label: int, data_dir: str, split: str, guard: DataDirGuard, sink: _RowSink
) -> Iterator[FaceRecord]:
    for path in _walk_files(folder):
        relative_path = _relative(path, data_dir)
        try:
            guard.check(path, relative_path)
        except BadRowError as error:
            sink.reject(error)
            continue
        if not path.lower().endswith(IMAGE_EXTENSIONS):
            sink.reject(BadRowError("unsupported_file", relative_path, "not an image file (by its extension)"))
            continue
        yield FaceRecord(
            image=path,
            label=label,
            split=split,
            source_id=relative_path,
            location=relative_path,
            source="affectnet-folders",
        )


# ---------------------------------------------------------------------------------------------------------------
# YOLO layout
# ---------------------------------------------------------------------------------------------------------------


def read_yolo_names(data_file: str) -> dict[int, int]:
    """
    Read `names:` from a YOLO `data.yaml` (a list, or a dict of id -> name) and map each class id to an emotion.

    Raises:
        ValueError: when `names` is missing or malformed, or disagrees with `nc`.
        UnknownClassError: naming a class no alias matches.
    """
    import yaml

    try:
        with open(data_file, encoding="utf-8") as handle:
            data = yaml.safe_load(handle) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise ValueError(f"{data_file!r} is not a readable YAML file: {error}") from None
    if not isinstance(data, dict) or "names" not in data:
        raise ValueError(f"{data_file!r} has no `names:` entry listing the class names.")
    names = data["names"]
    if isinstance(names, list):
        items = list(enumerate(names))
    elif isinstance(names, dict):
        try:
            items = [(int(key), value) for key, value in names.items()]
        except (TypeError, ValueError):
            raise ValueError(f"`names:` in {data_file!r} must map integer class ids to names, got {names!r}.") from None
    else:
        raise ValueError(f"`names:` in {data_file!r} must be a list or a dict, got {type(names).__name__}.")
    if "nc" in data and data["nc"] != len(items):
        raise ValueError(f"{data_file!r} declares nc={data['nc']} but lists {len(items)} names.")
    return {class_id: resolve_class_name(str(name), where=data_file) for class_id, name in items}


def _yolo_split_dirs(data_dir: str) -> dict[str, tuple[str, str]]:
    """Canonical split -> (images dir, labels dir), for any of the YOLO folder conventions."""
    found: dict[str, tuple[str, str]] = {}
    images, labels = os.path.join(data_dir, "images"), os.path.join(data_dir, "labels")
    if os.path.isdir(images) and os.path.isdir(labels):
        nested = {name: SPLIT_FOLDER_ALIASES.get(name.lower()) for name in _subdirs(images)}
        nested = {name: split for name, split in nested.items() if split is not None}
        for name, split in nested.items():
            found[split] = (os.path.join(images, name), os.path.join(labels, name))
        if not nested:
            found["train"] = (images, labels)
    for split, name in _split_folders(data_dir).items():
        split_images, split_labels = os.path.join(data_dir, name, "images"), os.path.join(data_dir, name, "labels")
        if os.path.isdir(split_images) and split not in found:
            found[split] = (split_images, split_labels)
    return found


def _parse_yolo_line(line: str, location: str, names: dict[int, int]) -> tuple[int, tuple[float, float, float, float]]:
    fields = line.split()
    if len(fields) < 5:
        raise BadRowError("bad_number", location, f"expected 'class cx cy w h', got {line!r}")
    class_id = _parse_int(fields[0], "class", location)
    if class_id not in names:
        raise BadRowError("unknown_label", location, f"class id {class_id} is not in data.yaml names {sorted(names)}")
    values = [_parse_float(value, "coordinate", location) for value in fields[1:]]
    if len(values) == 4:
        cx, cy, width, height = values
        box = (cx - width / 2, cy - height / 2, width, height)
    elif len(values) % 2 == 0:
        # Segmentation export: a polygon `x1 y1 x2 y2 ...`; its bounding box is the face box.
        xs, ys = values[0::2], values[1::2]
        box = (min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))
    else:
        raise BadRowError("bad_number", location, f"expected 4 box values or an even polygon, got {len(values)} values")
    if any(value < -0.5 or value > 1.5 for value in values):
        raise BadRowError("bad_number", location, f"coordinates must be normalised to [0, 1], got {values}")
    if box[2] <= 0 or box[3] <= 0:
        raise BadRowError("empty_box", location, f"box {tuple(round(v, 4) for v in box)} has no area")
    return names[class_id], box


def read_yolo(
    data_dir: str,
    *,
    splits: Iterable[str] = SPLITS,
    skipped: Counter | None = None,
    strict: bool = False,
    validation_fraction: float = 0.1,
    test_fraction: float = 0.1,
    seed: int = 0,
) -> Iterator[FaceRecord]:
    """
    Stream face records from a YOLO tree: one record per box of each `labels/**.txt` file.

    Images without a label file are counted as `missing_label_file`, label files without an image as
    `missing_file`, empty label files as `no_face`; bad lines as `bad_number`/`unknown_label`/`empty_box`.
    Boxes stay normalised in the record (`box_normalized=True`) and become pixels when the image is decoded.
    """
    data_dir = _check_data_dir(data_dir)
    wanted = set(_check_splits(splits))
    data_file = _find_yolo_data_file(data_dir)
    if data_file is None:
        raise FileNotFoundError(
            f"YOLO layout in {data_dir!r} needs a data.yaml with `names:` (the class names); "
            f"none of {YOLO_DATA_FILES} found."
        )
    names = read_yolo_names(data_file)
    split_dirs = _yolo_split_dirs(data_dir)
    if not split_dirs:
        raise ValueError(
            f"YOLO layout in {data_dir!r}: no images/ + labels/ folders (or <split>/images + <split>/labels) found."
        )
    passes = _plan_passes(split_dirs, wanted, validation_fraction, test_fraction, seed)

    guard = DataDirGuard(data_dir)

    def rows(source_split, folders, sink):
        images_dir, labels_dir = folders
        return _read_yolo_split(data_dir, images_dir, labels_dir, names, source_split, guard, sink)

    return _stream(passes, rows, skipped, strict, wanted)


def _read_yolo_split(data_dir, images_dir, labels_dir, names, split, guard, sink) -> Iterator[FaceRecord]:
    images = _index_yolo_images(data_dir, images_dir, guard, sink)
    labelled = set()
    for label_path in _walk_files(labels_dir) if os.path.isdir(labels_dir) else ():
        if label_path.endswith(".cache"):
            continue  # Ultralytics' own index of the folder, not annotations
        stem = os.path.splitext(os.path.relpath(label_path, labels_dir))[0]
        try:
            guard.check(label_path, _relative(label_path, data_dir))
        except BadRowError as error:
            sink.reject(error)
            labelled.add(stem)  # its image is not counted again as missing a label file
            continue
        if not label_path.endswith(".txt"):
            sink.reject(BadRowError("unsupported_file", _relative(label_path, data_dir), "not a .txt label file"))
            continue
        labelled.add(stem)
        if stem not in images:
            folder = _relative(images_dir, data_dir)
            detail = f"no image named {stem!r} in {folder!r}"
            sink.reject(BadRowError("missing_file", _relative(label_path, data_dir), detail))
            continue
        if images[stem] is None:
            continue  # its image lies outside data_dir, already counted
        yield from _read_yolo_label_file(label_path, images[stem], data_dir, names, split, sink)
    for stem, image_path in images.items():
        if stem not in labelled and image_path is not None:
            image_id = _relative(image_path, data_dir)
            sink.reject(BadRowError("missing_label_file", image_id, "the image has no label file"))


def _index_yolo_images(data_dir: str, images_dir: str, guard: DataDirGuard, sink: _RowSink) -> dict[str, str | None]:
    """Stem -> image path for one images folder (label files name their image by stem only), `None` for an image
    refused as outside `data_dir`: memory grows with the file names of one folder, not with the images."""
    images: dict[str, str | None] = {}
    for path in _walk_files(images_dir):
        relative_path = _relative(path, data_dir)
        stem = os.path.splitext(os.path.relpath(path, images_dir))[0]
        try:
            guard.check(path, relative_path)
        except BadRowError as error:
            # Counted here, once: its label file is then passed over rather than counted again as missing_file.
            sink.reject(error)
            images.setdefault(stem, None)
            continue
        if not path.lower().endswith(IMAGE_EXTENSIONS):
            sink.reject(BadRowError("unsupported_file", relative_path, "not an image file (by extension)"))
            continue
        if images.get(stem) is not None:
            other = _relative(images[stem], data_dir)
            sink.reject(BadRowError("duplicate_image", relative_path, f"{other!r} has the same stem {stem!r}"))
            continue
        images[stem] = path
    return images


def _read_yolo_label_file(label_path, image_path, data_dir, names, split, sink) -> Iterator[FaceRecord]:
    """One record per box line of a label file; bad lines are rejected one by one."""
    label_name = _relative(label_path, data_dir)
    try:
        with open(label_path, encoding="utf-8") as handle:
            lines = [(number, line.strip()) for number, line in enumerate(handle, start=1) if line.strip()]
    except UnicodeDecodeError as error:
        sink.reject(BadRowError("unsupported_file", label_name, f"not a UTF-8 text label file ({error.reason})"))
        return
    if not lines:
        sink.reject(BadRowError("no_face", label_name, "the label file lists no box"))
        return
    image_id = _relative(image_path, data_dir)
    for box_index, (number, line) in enumerate(lines):
        location = f"{label_name}:{number}"
        try:
            label, box = _parse_yolo_line(line, location, names)
        except BadRowError as error:
            sink.reject(error)
            continue
        yield FaceRecord(
            image=image_path,
            label=label,
            split=split,
            source_id=f"{image_id}#{box_index}",
            location=location,
            face_box=box,
            box_normalized=True,
            source="affectnet-yolo",
        )


# ---------------------------------------------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------------------------------------------

READERS = {"official": read_official, "folders": read_folders, "yolo": read_yolo}


def _check_splits(splits: Iterable[str]) -> tuple[str, ...]:
    splits = (splits,) if isinstance(splits, str) else tuple(splits)
    unknown = [split for split in splits if split not in SPLITS]
    if unknown:
        raise ValueError(f"Unknown split(s) {unknown}: expected a subset of {SPLITS}.")
    return splits


def read_affectnet(
    data_dir: str,
    layout: str | None = "auto",
    *,
    splits: Iterable[str] = SPLITS,
    skipped: Counter | None = None,
    strict: bool = False,
    validation_fraction: float = 0.1,
    test_fraction: float = 0.1,
    seed: int = 0,
) -> Iterator[FaceRecord]:
    """
    Stream the face records of an AffectNet copy in any of `LAYOUTS`.

    Args:
        data_dir (`str`): the dataset folder.
        layout (`str`, *optional*, defaults to `"auto"`): `"auto"` (see `detect_layout`) or one of `LAYOUTS`.
        splits (`Iterable[str]`): output splits to yield records of.
        skipped (`collections.Counter`, *optional*): receives the number of skipped rows per reason.
        strict (`bool`): raise a `BadRowError` naming the first bad row instead of skipping it.
        validation_fraction / test_fraction (`float`): sizes of the stratified slices carved out of training.
        seed (`int`): varies which rows the slices pick.

    Example:

    ```python
    >>> from collections import Counter
    >>> from dataset_builder import load_face
    >>> skipped = Counter()
    >>> for record in read_affectnet("/data/AffectNet", skipped=skipped):
    ...     image, box = load_face(record)
    ```"""
    layout = check_layout(layout)
    data_dir = _check_data_dir(data_dir)
    if layout == "auto":
        layout = detect_layout(data_dir)
    slices = {"validation_fraction": validation_fraction, "test_fraction": test_fraction, "seed": seed}
    return READERS[layout](data_dir, splits=splits, skipped=skipped, strict=strict, **slices)


__all__ = [
    "CLASS_ALIASES",
    "EXPRESSION_CODES",
    "LAYOUTS",
    "OFFICIAL_COLUMNS",
    "SKIPPED_EXPRESSION_CODES",
    "DataDirGuard",
    "StratifiedHoldout",
    "check_layout",
    "detect_layout",
    "plan_splits",
    "read_affectnet",
    "read_folders",
    "read_official",
    "read_yolo",
    "read_yolo_names",
    "resolve_class_name",
]
