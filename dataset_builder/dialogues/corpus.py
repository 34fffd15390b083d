"""
The corpus backend: dialogues whose emotional turn is a real utterance from a labelled corpus the user supplies
(GoEmotions, MELD, DailyDialog, EmoryNLP or their own), read with `datasets`.

A corpus is a CSV/TSV/JSONL/JSON/Parquet file, a folder saved by `datasets` (`save_to_disk`), a folder of such
files (split names taken from the file names, as `datasets` does), or a Hub dataset id. Its labels are mapped to the
eight emotions through `emotifusion_hf.labels` aliases plus the user's label map; a label mapped to `None` drops its
rows, an unknown label is an error naming it.

Splits never mix: the corpus's train split feeds our train split, its validation split our validation split and its
test split our test split. A corpus with a single split is carved by a hash of each utterance's text (80/10/10), so
the same text always lands in the same split; a missing validation or test split is carved from the train split the
same way. A text found in a held-out split is dropped from the less held-out ones, so no test utterance ever reaches
a training dialogue, not even as a duplicate.

A dialogue is 1-`max_turns` turns: the focal turn is a real utterance of the wanted emotion, the others short
neutral utterances of the same split (or grammar other-speaker lines when the split has none). Emotions the corpus
lacks (contempt, most often) are `uncovered`: their dialogues come from the grammar backend, and the report says so.
"""

import functools
import hashlib
import json
import os
import random
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field

from emotifusion_hf.labels import EMOTIONS, UnknownLabelError, normalize_label_name, resolve_label

from .dialogue import SPLITS, Dialogue, check_split, derived_seed
from .grammar import GrammarComposer
from .templates import TemplateBank


TEXT_COLUMN_CANDIDATES = ("text", "utterance", "Utterance", "sentence")
LABEL_COLUMN_CANDIDATES = ("label", "emotion", "Emotion", "labels")
# How corpora name their splits -> ours. Splits named otherwise ("unsupervised", ...) are ignored and reported.
SPLIT_ALIASES = {
    "train": "train",
    "training": "train",
    "validation": "validation",
    "valid": "validation",
    "val": "validation",
    "dev": "validation",
    "development": "validation",
    "test": "test",
    "testing": "test",
}
# A corpus with one split is carved by a hash of each utterance's text into these shares of our splits.
CARVE_FRACTIONS = {"train": 0.8, "validation": 0.1, "test": 0.1}
# Context turns are short neutral utterances: longer ones would compete with the focal turn for the reader's attention.
CONTEXT_MAX_WORDS = 12
FILE_FORMATS = {
    ".csv": ("csv", {}),
    ".tsv": ("csv", {"delimiter": "\t"}),
    ".jsonl": ("json", {}),
    ".json": ("json", {}),
    ".parquet": ("parquet", {}),
}
# How a held-out split outranks another: a text in several of our splits is kept only in the highest.
_HELD_OUT_RANK = {"train": 0, "validation": 1, "test": 2}
_TURN_COUNT_WEIGHTS = (0.4, 0.35, 0.25)


def read_label_map(label_map: Mapping | str | os.PathLike | None) -> dict[str, str | None]:
    """
    A validated label map: corpus label -> one of `EMOTIONS`, or `None` to drop that label's rows.

    `label_map` is a mapping or the path of a JSON file holding one object (`{"joy": "happy", "other": null}`).

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: the file is not JSON, not a JSON object, or a value is neither an emotion nor null.
    """
    if label_map is None:
        return {}
    where = "the label map"
    if isinstance(label_map, (str, os.PathLike)):
        where = f"the label map {os.fspath(label_map)!r}"
        if not os.path.isfile(label_map):
            raise FileNotFoundError(f"The label map {os.fspath(label_map)!r} does not exist.")
        try:
            with open(label_map, encoding="utf-8") as handle:
                label_map = json.load(handle)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise ValueError(f"Cannot read {where}: it is not valid JSON ({error}).") from None
    if not isinstance(label_map, Mapping):
        raise ValueError(
            f"{where[0].upper()}{where[1:]} must be a JSON object such as {{\"joy\": \"happy\", \"other\": null}}, "
            f"got a {type(label_map).__name__}."
        )
    checked = {}
    for name, target in label_map.items():
        if target is not None and target not in EMOTIONS:
            raise ValueError(
                f"In {where}, {name!r} maps to {target!r}, which is not one of the emotions {EMOTIONS} "
                "(or null, to drop its rows)."
            )
        checked[str(name)] = target
    return checked


@dataclass
class CorpusSource:
    """
    Where a labelled corpus is and how to read it (checked on creation, read by `load_corpus`).

    Args:
        path (`str`): a CSV/TSV/JSONL/JSON/Parquet file, a folder saved by `datasets`, a folder of such files, or a
            Hub dataset id.
        text_column (`str`, *optional*): the utterance column (default: the first of `TEXT_COLUMN_CANDIDATES`).
        label_column (`str`, *optional*): the label column (default: the first of `LABEL_COLUMN_CANDIDATES`).
        label_map (`dict` or `str`, *optional*): corpus label -> emotion or `None` (drop), or a JSON file of one.
        licence (`str`, *optional*): the corpus's licence, recorded in the report.
        name (`str`, *optional*): the name used in ids and `backend` (default: from the path).
        config_name (`str`, *optional*): the configuration of a Hub dataset.
        max_turns (`int`, defaults to 3): dialogues have 1 to `max_turns` turns, one of them the real utterance.
    """

    path: str
    text_column: str | None = None
    label_column: str | None = None
    label_map: Mapping | str | None = None
    licence: str | None = None
    name: str | None = None
    config_name: str | None = None
    max_turns: int = 3

    def __post_init__(self):
        if not self.path or not str(self.path).strip():
            raise ValueError("The corpus path is empty: give a file, a folder or a Hub dataset id.")
        self.path = os.fspath(self.path)
        self.label_map = read_label_map(self.label_map)
        if not 1 <= int(self.max_turns) <= len(_TURN_COUNT_WEIGHTS):
            raise ValueError(f"max_turns must be in 1-{len(_TURN_COUNT_WEIGHTS)}, got {self.max_turns}.")
        if self.name is None:
            base = os.path.basename(os.path.normpath(self.path)) if os.path.exists(self.path) else self.path
            self.name = os.path.splitext(base)[0] or "corpus"
        # Ids and the backend name travel in ';'-joined CSV cells: keep them to one plain token.
        self.name = "".join(char if char.isalnum() or char in "-_" else "-" for char in self.name)


@dataclass(frozen=True)
class CorpusUtterance:
    """One real utterance: `id` is `corpus.<name>.<digest of its emotion and text>`."""

    id: str
    text: str


@dataclass
class LabelledCorpus:
    """
    A corpus read and mapped to our splits and emotions (`load_corpus` builds it).

    Attributes:
        source (`CorpusSource`): where it came from.
        utterances (`dict`): `(split, emotion)` -> the `CorpusUtterance`s for it, in a stable order.
        report_data (`dict`): what `report()` returns.
    """

    source: CorpusSource
    utterances: dict[tuple[str, str], list[CorpusUtterance]]
    report_data: dict = field(default_factory=dict)

    def __post_init__(self):
        self._orders: dict[tuple, list[CorpusUtterance]] = {}
        self._context: dict[str, list[CorpusUtterance]] = {}

    @property
    def name(self) -> str:
        return self.source.name

    @property
    def backend_name(self) -> str:
        return f"corpus:{self.name}"

    def pool(self, split: str, emotion: str) -> list[CorpusUtterance]:
        return self.utterances.get((split, emotion), [])

    def covers(self, split: str, emotion: str) -> bool:
        return bool(self.pool(split, emotion))

    def context_pool(self, split: str) -> list[CorpusUtterance]:
        """Short neutral utterances of `split`, for the turns around the focal one."""
        if split not in self._context:
            neutral = self.pool(split, "neutral")
            self._context[split] = [item for item in neutral if len(item.text.split()) <= CONTEXT_MAX_WORDS]
        return self._context[split]

    def ordered_pool(self, seed: int, split: str, emotion: str) -> list[CorpusUtterance]:
        """The pool in a seeded order that depends only on the seed and the utterance ids, not on the row order."""
        key = (seed, split, emotion)
        if key not in self._orders:
            self._orders[key] = sorted(
                self.pool(split, emotion), key=lambda utterance: derived_seed("corpus-order", seed, utterance.id)
            )
        return self._orders[key]

    @property
    def fingerprint(self) -> str:
        """A digest of every utterance used, where it went and the dialogue length: changes whenever dialogues could.
        It does not depend on the corpus's row order (nor does any dialogue)."""
        digest = hashlib.sha256(f"{self.name}|{self.source.max_turns}".encode("utf-8"))
        for (split, emotion) in sorted(self.utterances):
            digest.update(f"|{split}|{emotion}|".encode("utf-8"))
            for utterance_id in sorted(utterance.id for utterance in self.utterances[(split, emotion)]):
                digest.update(utterance_id.encode("utf-8"))
        return digest.hexdigest()[:16]

    def report(self) -> dict:
        """Name, path, licence, rows read, rows used per split and emotion, dropped rows, uncovered emotions."""
        return dict(self.report_data)


# -- reading ----------------------------------------------------------------------------------------------------------


def _looks_like_local_path(path: str) -> bool:
    return (
        path.startswith((".", "/", "~"))
        or os.path.splitext(path)[1].lower() in FILE_FORMATS
        or path.count("/") > 1
        or os.sep != "/" and os.sep in path
    )


def _hub_offline() -> bool:
    import datasets

    flags = (os.environ.get(name, "") for name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"))
    return bool(getattr(datasets.config, "HF_HUB_OFFLINE", False)) or any(
        flag.upper() in ("1", "ON", "YES", "TRUE") for flag in flags
    )


def _load_splits(source: CorpusSource) -> tuple[dict, str]:
    """The corpus's splits as `datasets.Dataset`s, by the corpus's own split names, and what kind of source it is."""
    import datasets

    path = os.path.expanduser(source.path)
    if os.path.isfile(path):
        extension = os.path.splitext(path)[1].lower()
        if extension not in FILE_FORMATS:
            raise ValueError(
                f"Cannot read the corpus {source.path!r}: expected a {', '.join(FILE_FORMATS)} file, a folder or a "
                "Hub dataset id."
            )
        builder, options = FILE_FORMATS[extension]
        kind = f"{extension[1:]} file"
        read = functools.partial(datasets.load_dataset, builder, data_files=path, **options)
    elif os.path.isdir(path):
        if any(os.path.isfile(os.path.join(path, name)) for name in ("dataset_dict.json", "state.json")):
            kind = "saved datasets folder"
            read = functools.partial(datasets.load_from_disk, path)
        else:
            files = (name for _, _, names in os.walk(path) for name in names)
            if not any(os.path.splitext(name)[1].lower() in FILE_FORMATS for name in files):
                raise ValueError(
                    f"The corpus folder {source.path!r} holds no {', '.join(FILE_FORMATS)} file and was not saved by "
                    "`datasets` (no dataset_dict.json or state.json)."
                )
            kind = "folder of files"
            read = functools.partial(datasets.load_dataset, path)
    elif _looks_like_local_path(source.path):
        raise FileNotFoundError(f"The corpus {source.path!r} does not exist.")
    else:
        kind = "Hub dataset"
        read = functools.partial(datasets.load_dataset, source.path, source.config_name)

    try:
        loaded = read()
    except (ConnectionError, OSError) as error:
        if kind == "Hub dataset" and _hub_offline():
            raise ValueError(
                f"The corpus {source.path!r} is not a local file or folder, and the Hub dataset {source.path!r} is "
                "not in the local cache (offline mode)."
            ) from None
        raise ValueError(f"Cannot read the corpus {source.path!r} ({kind}): {_first_line(error)}") from None
    except Exception as error:  # a library's parsing error: say which corpus, in one line
        raise ValueError(f"Cannot read the corpus {source.path!r} ({kind}): {_first_line(error)}") from None
    if isinstance(loaded, datasets.Dataset):
        loaded = {"train": loaded}
    return dict(loaded), kind


def _first_line(error: Exception) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}".rstrip(": ")


def _pick_column(columns: list[str], wanted: str | None, candidates: tuple[str, ...], what: str, where: str) -> str:
    if wanted is not None:
        if wanted not in columns:
            raise ValueError(f"The corpus {where} has no {what} column {wanted!r}; its columns are {columns}.")
        return wanted
    for candidate in candidates:
        if candidate in columns:
            return candidate
    raise ValueError(
        f"The corpus {where} has none of the {what} columns {list(candidates)}; its columns are {columns}. "
        f"Name it with text_column/label_column (--{what}-column, or --corpus-{what}-column for `build`)."
    )


def _label_names(feature) -> list[str] | None:
    """The class names of a `ClassLabel` column or a list of them, else None."""
    import datasets

    inner = getattr(feature, "feature", None)
    if isinstance(feature, datasets.ClassLabel):
        return list(feature.names)
    if isinstance(inner, datasets.ClassLabel):
        return list(inner.names)
    return None


def _text_split(text: str) -> str:
    """Our split for a text when carving: a hash of the text, so duplicates of a text land together."""
    share = int(hashlib.sha256(f"emotifusion-corpus-split|{text}".encode("utf-8")).hexdigest()[:8], 16) / 16**8
    if share < CARVE_FRACTIONS["train"]:
        return "train"
    return "validation" if share < CARVE_FRACTIONS["train"] + CARVE_FRACTIONS["validation"] else "test"


def _clean_text(value) -> str:
    # Our turns are joined with newlines, so an utterance must stay on one line.
    return " ".join(str(value).split()) if value is not None else ""


def load_corpus(source: CorpusSource | str, **options) -> LabelledCorpus:
    """
    Read a labelled corpus and map it to our splits and emotions.

    Args:
        source (`CorpusSource` or `str`): the corpus, or its path / Hub id with `options` as `CorpusSource` fields.

    Raises:
        FileNotFoundError: the file or folder does not exist.
        ValueError: unreadable input, a missing column, an empty corpus, a bad label map.
        UnknownLabelError: a label that is neither an emotion, an alias nor in the label map (all of them named).
    """
    if not isinstance(source, CorpusSource):
        source = CorpusSource(source, **options)
    elif options:
        raise TypeError("Pass the options in the CorpusSource, not beside it.")
    return _CorpusReader(source).read()


class _LabelResolver:
    """
    Corpus labels -> emotions, each label resolved once: its emotion, `None` for a label the label map sends to null,
    or `UnknownLabelError` for a label nothing knows. Known labels are recorded in `label_mapping` (for the report),
    unknown ones counted per corpus split in `unknown` (for the error naming them all).
    """

    def __init__(self, label_map: dict[str, str | None]):
        self.label_map = label_map
        self.null_labels = {normalize_label_name(name) for name, target in label_map.items() if target is None}
        self.resolved: dict = {}
        self.unknown: dict[str, Counter] = defaultdict(Counter)
        self.label_mapping: dict[str, str | None] = {}

    def __call__(self, raw, corpus_split: str) -> str | None:
        if raw not in self.resolved:
            self.resolved[raw] = self._resolve(str(raw))
            if self.resolved[raw] is not UnknownLabelError:
                self.label_mapping[str(raw)] = self.resolved[raw]
        if self.resolved[raw] is UnknownLabelError:
            self.unknown[str(raw)][corpus_split] += 1
        return self.resolved[raw]

    def _resolve(self, name: str):
        if normalize_label_name(name) in self.null_labels:
            return None
        try:
            return EMOTIONS[resolve_label(name, aliases=self.label_map)]
        except UnknownLabelError:
            return UnknownLabelError

    def check_all_known(self, label_column: str, path: str) -> None:
        """Raises `UnknownLabelError` naming every unknown label met, with its row count per corpus split."""
        if not self.unknown:
            return
        details = "; ".join(
            f"{name!r} ({', '.join(f'{count} row(s) in split {split!r}' for split, count in splits.items())})"
            for name, splits in sorted(self.unknown.items())
        )
        raise UnknownLabelError(
            f"Unknown label(s) in column {label_column!r} of the corpus {path!r}: {details}. They match none of "
            f"the emotions {EMOTIONS} or their aliases; map them with a label map (--label-map FILE.json, e.g. "
            f"{json.dumps({next(iter(sorted(self.unknown))): 'happy'})}, or null to drop their rows)."
        )


class _CorpusReader:
    """
    One reading of a corpus by `load_corpus`: load its splits, check its columns, map its splits to ours, resolve
    its labels, assign its rows to our splits, and build the `LabelledCorpus` with its report. What each step learns
    (columns, split mapping, label resolutions, rows read, dropped rows by reason) is kept for the report.
    """

    def __init__(self, source: CorpusSource):
        self.source = source
        self.label_resolver = _LabelResolver(source.label_map)
        self.rows_read = 0
        self.dropped: Counter = Counter()

    def read(self) -> LabelledCorpus:
        self.corpus_splits, self.kind = _load_splits(self.source)
        if not self.corpus_splits or all(len(split) == 0 for split in self.corpus_splits.values()):
            raise ValueError(f"The corpus {self.source.path!r} is empty: it has no rows.")
        self.text_column, self.label_column = self._check_columns()
        self.mapped, self.carved = self._map_splits()
        rows = self._read_rows()
        self.label_resolver.check_all_known(self.label_column, self.source.path)
        if self.rows_read == 0:
            raise ValueError(f"The corpus {self.source.path!r} is empty: it has no rows.")
        utterances = self._utterances(rows)
        if not utterances:
            dropped_rows = dict(sorted(self.dropped.items())) or "none"
            raise ValueError(
                f"The corpus {self.source.path!r} has no usable rows: {self.rows_read} read, dropped: {dropped_rows}."
            )
        report = self._report(utterances)
        corpus = LabelledCorpus(self.source, utterances, report)
        report["fingerprint"] = corpus.fingerprint
        return corpus

    def _check_columns(self) -> tuple[str, str]:
        """The text and label columns, picked from the first split and present in every split."""
        source = self.source
        columns = list(next(iter(self.corpus_splits.values())).column_names)
        text_column = _pick_column(columns, source.text_column, TEXT_COLUMN_CANDIDATES, "text", repr(source.path))
        label_column = _pick_column(columns, source.label_column, LABEL_COLUMN_CANDIDATES, "label", repr(source.path))
        for corpus_split, dataset in self.corpus_splits.items():
            missing = [column for column in (text_column, label_column) if column not in dataset.column_names]
            if missing:
                raise ValueError(
                    f"The {corpus_split!r} split of the corpus {source.path!r} has no column {missing[0]!r}; its "
                    f"columns are {list(dataset.column_names)}."
                )
        return text_column, label_column

    def _map_splits(self) -> tuple[dict[str, str | None], list[str]]:
        """Which of our splits each corpus split feeds (None: ignored), and which of ours are carved from the train
        split by text hash (those no corpus split feeds, when one feeds train)."""
        mapped = {name: SPLIT_ALIASES.get(name.lower()) for name in self.corpus_splits}
        if len(self.corpus_splits) == 1:
            mapped = {name: "train" for name in self.corpus_splits}
        fed = set(mapped.values()) - {None}
        carved = [split for split in SPLITS if split not in fed] if "train" in fed else []
        return mapped, carved

    def _read_rows(self) -> list[tuple[str, str, str]]:
        """Every usable row as `(our split, emotion, text)`; counts the rows read and the dropped ones."""
        rows = []
        for corpus_split, dataset in self.corpus_splits.items():
            ours = self.mapped[corpus_split]
            names = _label_names(dataset.features[self.label_column])
            for batch in dataset.select_columns([self.text_column, self.label_column]).iter(batch_size=1024):
                for value, label in zip(batch[self.text_column], batch[self.label_column]):
                    self.rows_read += 1
                    if ours is None:
                        continue
                    row = self._read_row(value, label, names, corpus_split)
                    if row is not None:
                        emotion, text = row
                        rows.append((self._our_split(ours, text), emotion, text))
        return rows

    def _read_row(self, value, label, names: list[str] | None, corpus_split: str) -> tuple[str, str] | None:
        """The row's `(emotion, text)`, or None for a row with an unknown label or a dropped one (counted)."""
        labels = label if isinstance(label, (list, tuple)) else [label]
        if names is not None:
            # ClassLabel ids -> their names; a negative id is the "no label" of `datasets`.
            labels = [names[item] if isinstance(item, int) and item >= 0 else None for item in labels]
        labels = [item for item in labels if item is not None]
        emotions = {self.label_resolver(item, corpus_split) for item in labels}
        if UnknownLabelError in emotions:
            return None
        text = _clean_text(value)
        if not text:
            self.dropped["empty text"] += 1
            return None
        emotions.discard(None)
        if not emotions:
            self.dropped["no label" if not labels else "label mapped to null"] += 1
            return None
        if len(emotions) > 1:
            self.dropped["several emotions"] += 1
            return None
        return emotions.pop(), text

    def _our_split(self, ours: str, text: str) -> str:
        """The split of a row its corpus split sends to `ours`: train rows may be carved to a missing split."""
        if ours != "train" or not self.carved:
            return ours
        split = _text_split(text)
        return split if split in self.carved or split == "train" else "train"

    def _utterances(self, rows: list[tuple[str, str, str]]) -> dict[tuple[str, str], list[CorpusUtterance]]:
        """The utterances by `(split, emotion)`: a text keeps only its most held-out split, so a test utterance never
        reaches training dialogues; repeated rows are kept once."""
        highest: dict[str, str] = {}
        for split, _, text in rows:
            if text not in highest or _HELD_OUT_RANK[split] > _HELD_OUT_RANK[highest[text]]:
                highest[text] = split
        utterances: dict[tuple[str, str], list[CorpusUtterance]] = defaultdict(list)
        seen: set[tuple[str, str, str]] = set()
        for split, emotion, text in rows:
            if highest[text] != split:
                self.dropped["text also in a more held-out split"] += 1
                continue
            if (split, emotion, text) in seen:
                self.dropped["duplicate"] += 1
                continue
            seen.add((split, emotion, text))
            digest = hashlib.sha256(f"{emotion}|{text}".encode("utf-8")).hexdigest()[:12]
            utterances[(split, emotion)].append(CorpusUtterance(f"corpus.{self.source.name}.{digest}", text))
        return dict(utterances)

    def _report(self, utterances: dict[tuple[str, str], list[CorpusUtterance]]) -> dict:
        """The report of `LabelledCorpus.report()`, less the fingerprint."""
        source, carved = self.source, self.carved
        rows_used = {
            split: {emotion: len(utterances.get((split, emotion), ())) for emotion in EMOTIONS} for split in SPLITS
        }
        return {
            "name": source.name,
            "path": source.path,
            "kind": self.kind,
            "licence": source.licence,
            "text_column": self.text_column,
            "label_column": self.label_column,
            "corpus_splits": {name: len(dataset) for name, dataset in self.corpus_splits.items()},
            "split_mapping": {name: ours for name, ours in self.mapped.items() if ours is not None},
            "ignored_splits": sorted(name for name, ours in self.mapped.items() if ours is None),
            "carved": (
                {"splits": carved, "from": "train", "by": "hash of the utterance text", "fractions": CARVE_FRACTIONS}
                if carved else None
            ),
            "label_mapping": dict(sorted(self.label_resolver.label_mapping.items())),
            "rows_read": self.rows_read,
            "rows_used": rows_used,
            "rows_used_total": sum(sum(counts.values()) for counts in rows_used.values()),
            "dropped": dict(sorted(self.dropped.items())),
            "uncovered": [emotion for emotion in EMOTIONS if not any(rows_used[split][emotion] for split in SPLITS)],
            "fallback_labels": {
                split: [emotion for emotion in EMOTIONS if not rows_used[split][emotion]] for split in SPLITS
            },
        }


# -- composing --------------------------------------------------------------------------------------------------------


class CorpusComposer:
    """
    Builds corpus dialogues for one split: a real utterance of the wanted emotion, with short neutral context.

    A dialogue depends only on `(seed, split, emotion, key)` and the corpus: an integer key `k` takes the `k`-th
    utterance of a seeded order of the pool (so the first `len(pool)` keys use every utterance once), any other key
    a hashed position.
    """

    def __init__(self, corpus: LabelledCorpus, bank: TemplateBank, split: str, seed: int):
        self.corpus = corpus
        self.bank = bank
        self.split = check_split(split)
        self.seed = int(seed)
        self.max_turns = corpus.source.max_turns

    def focal_utterance(self, emotion: str, key) -> CorpusUtterance | None:
        pool = self.corpus.ordered_pool(self.seed, self.split, emotion)
        if not pool:
            return None
        if isinstance(key, int) and not isinstance(key, bool):
            return pool[key % len(pool)]
        return pool[derived_seed("corpus-key", self.seed, self.split, emotion, key) % len(pool)]

    @staticmethod
    def _context_utterance(context: list[CorpusUtterance], taken: set[str], rng: random.Random):
        """A neutral utterance not yet in the dialogue (the focal one included), or None when there is none left."""
        if not context:
            return None
        start = rng.randrange(len(context))
        # At most 3 turns are taken, so one of the first 4 positions from `start` is free whenever 4 exist.
        for offset in range(min(len(context), 4)):
            utterance = context[(start + offset) % len(context)]
            if utterance.id not in taken:
                taken.add(utterance.id)
                return utterance
        return None

    def compose(self, emotion: str, key, dialogue_id: str) -> Dialogue | None:
        """The dialogue for `(emotion, key)`, or None when this split of the corpus has no utterance of `emotion`."""
        focal_utterance = self.focal_utterance(emotion, key)
        if focal_utterance is None:
            return None
        rng = random.Random(derived_seed("corpus-dialogue", self.seed, self.split, emotion, key))
        n_turns = rng.choices(range(1, self.max_turns + 1), weights=_TURN_COUNT_WEIGHTS[: self.max_turns])[0]
        focal_index = rng.randrange(n_turns)
        # The grammar composer lends names and, where the corpus has no neutral utterances, other-speaker lines.
        grammar = GrammarComposer(self.bank, self.split, emotion, rng, blend_probability=0.0)
        focal, other = grammar.focal, grammar.other
        context = self.corpus.context_pool(self.split)
        turns, speakers, used = [], [], []
        taken = {focal_utterance.id}
        for position in range(n_turns):
            speaker = focal if (position - focal_index) % 2 == 0 else other
            utterance = focal_utterance if position == focal_index else self._context_utterance(context, taken, rng)
            if utterance is None:
                line = grammar.other_turn(position, False, position == n_turns - 1, n_turns)
                turns.append(grammar.style(line, focal=False))
            else:
                turns.append(utterance.text)
                used.append(utterance.id)
            speakers.append(speaker)
        return Dialogue(
            dialogue_id=dialogue_id,
            split=self.split,
            text_label=EMOTIONS.index(emotion),
            turns=turns,
            speakers=speakers,
            focal_speaker=focal,
            register="corpus",
            intensity="unrated",
            template_ids=list(dict.fromkeys([focal_utterance.id, *used, *grammar.used])),
            backend=self.corpus.backend_name,
        )


# -- command line -----------------------------------------------------------------------------------------------------


def add_corpus_arguments(parser, prefix: str = "") -> None:
    """
    The corpus options, for the `dialogues` subcommand (`prefix=""`: `--text-column`) and for `build`
    (`prefix="corpus-"`: `--corpus-text-column`). `--corpus`, `--corpus-licence`, `--corpus-config` and
    `--corpus-max-turns` keep their names either way; `corpus_source_from_args` reads them back.
    """
    group = parser.add_argument_group("corpus backend")
    group.add_argument("--corpus", default=None, help="A labelled corpus: CSV/TSV/JSONL/Parquet file, a folder "
                       "(saved by datasets, or of such files) or a Hub dataset id.")
    group.add_argument(f"--{prefix}text-column", dest="corpus_text_column", default=None,
                       help=f"The utterance column (default: the first of {', '.join(TEXT_COLUMN_CANDIDATES)}).")
    group.add_argument(f"--{prefix}label-column", dest="corpus_label_column", default=None,
                       help=f"The label column (default: the first of {', '.join(LABEL_COLUMN_CANDIDATES)}).")
    group.add_argument(f"--{prefix}label-map", dest="corpus_label_map", default=None,
                       help='JSON object mapping corpus labels to our emotions, null to drop: {"joy": "happy"}.')
    group.add_argument("--corpus-licence", dest="corpus_licence", default=None,
                       help="The corpus's licence, recorded in the report.")
    group.add_argument("--corpus-config", dest="corpus_config", default=None,
                       help="The configuration of a Hub dataset corpus.")
    group.add_argument("--corpus-max-turns", dest="corpus_max_turns", type=int, default=3,
                       help="Corpus dialogues have 1 to this many turns (1-3).")


def corpus_source_from_args(args) -> CorpusSource | None:
    """The `CorpusSource` named by `corpus` and the `corpus_*` attributes of `args` (the `add_corpus_arguments`
    options, or a dataset builder config, which has fields of the same names); None without `corpus`."""
    if not getattr(args, "corpus", None):
        return None
    return CorpusSource(
        args.corpus,
        text_column=args.corpus_text_column,
        label_column=args.corpus_label_column,
        label_map=args.corpus_label_map,
        licence=args.corpus_licence,
        config_name=args.corpus_config,
        max_turns=args.corpus_max_turns,
    )


__all__ = [
    "CARVE_FRACTIONS",
    "CONTEXT_MAX_WORDS",
    "LABEL_COLUMN_CANDIDATES",
    "SPLIT_ALIASES",
    "TEXT_COLUMN_CANDIDATES",
    "CorpusComposer",
    "CorpusSource",
    "CorpusUtterance",
    "LabelledCorpus",
    "add_corpus_arguments",
    "corpus_source_from_args",
    "load_corpus",
    "read_label_map",
]
