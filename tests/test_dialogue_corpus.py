"""The corpus dialogue backend: reading labelled corpora (CSV, JSONL, folders, saved `datasets`), label maps, split
isolation, the grammar fallback for uncovered emotions, determinism, the command line and every bad input."""

import argparse
import csv
import json
import random

import datasets
import pytest

from dataset_builder.__main__ import main
from dataset_builder.dialogues import (
    BACKENDS,
    CorpusSource,
    DialogueGenerator,
    LabelledCorpus,
    add_corpus_arguments,
    corpus_source_from_args,
    load_corpus,
    read_dialogues_csv,
    read_label_map,
)
from emotifusion_hf.labels import EMOTIONS, UnknownLabelError


# Our own sentences, a few per corpus label; "excited" needs the label map, "chitchat" is mapped to null.
SENTENCES = {
    "angry": [
        "You parked across my driveway for the third time this week",
        "I told you twice not to touch my bike",
        "Stop forwarding me those chain letters",
        "They cancelled my order without asking me",
        "Every single time you borrow the car it comes back empty",
        "Who keeps leaving the gate open for the goats",
    ],
    "joy": [
        "We won the pub quiz by a single point",
        "My sister is coming home for the holidays",
        "The new bakery on the corner gave us free rolls",
        "I passed the driving test on my first go",
        "Our garden finally grew real tomatoes",
        "The kids built the whole treehouse themselves",
    ],
    "excited": [
        "Tickets for the final are booked",
        "Three more days until we fly to the coast",
    ],
    "neutral": [
        "The bus leaves at ten",
        "I put the forms on your desk",
        "Can you pass the salt",
        "It is on the second shelf",
        "We need more printer paper",
        "The meeting is in room six",
        "Okay, see you then",
        "I will check the schedule",
    ],
    "disgust": [
        "There was mould growing inside the lunch box",
        "He licked his fingers and then shook my hand",
        "The sink smells like rotten cabbage",
        "Someone left old fish in the office microwave",
    ],
    "fear": [
        "I heard footsteps in the attic last night",
        "The brakes felt soft on the mountain road",
        "My test results come back tomorrow and I keep shaking",
        "The dog next door got loose again and it bites",
    ],
    "sadness": [
        "Our old cat died this morning",
        "Nobody remembered my birthday this year",
        "The shop my grandfather opened is closing",
        "I miss how the house sounded when everyone lived here",
    ],
    "surprise": [
        "Wait, you are moving to Norway?",
        "I did not expect the lecture to be cancelled",
        "The package arrived a week early",
        "You have a twin brother?",
    ],
    "chitchat": ["Anyway", "So yeah"],
}
LABEL_MAP = {"excited": "happy", "chitchat": None}
OURS = {"angry": "anger", "joy": "happy", "excited": "happy", "neutral": "neutral", "disgust": "disgust",
        "fear": "fear", "sadness": "sad", "surprise": "surprise", "chitchat": None}


def write_csv(path, rows, columns=("text", "emotion")):
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        writer.writerows(rows)
    return str(path)


def corpus_rows():
    return [(text, label) for label, texts in SENTENCES.items() for text in texts]


@pytest.fixture
def corpus_csv(tmp_path):
    return write_csv(tmp_path / "talk.csv", corpus_rows())


@pytest.fixture
def label_map_file(tmp_path):
    path = tmp_path / "map.json"
    path.write_text(json.dumps(LABEL_MAP))
    return str(path)


# A saved DatasetDict with a ClassLabel column: train and test splits only (validation is carved from train).
CLASS_NAMES = ["joy", "anger", "neutral", "fear", "sadness", "surprise", "disgust"]
TEST_ROWS = [
    ("The ferry sank with our luggage on it", "sadness"),
    ("You really finished the marathon?", "surprise"),
    ("The printer is by the window", "neutral"),
    ("Please close the door behind you", "neutral"),
    ("I got the scholarship!", "joy"),
    ("He ignored my messages for a month", "anger"),
    ("Someone is following me home from the station", "fear"),
    ("The fridge is full of spoiled milk", "disgust"),
    ("Our old cat died this morning", "sadness"),  # also in train: the test split must keep it
]


@pytest.fixture
def saved_corpus(tmp_path):
    features = datasets.Features(
        {"utterance": datasets.Value("string"), "label": datasets.ClassLabel(names=CLASS_NAMES)}
    )

    def split(rows):
        return datasets.Dataset.from_dict(
            {"utterance": [text for text, _ in rows], "label": [CLASS_NAMES.index(label) for _, label in rows]},
            features=features,
        )

    train = [(text, label) for text, label in corpus_rows() if label in CLASS_NAMES]
    folder = tmp_path / "saved"
    datasets.DatasetDict({"train": split(train), "test": split(TEST_ROWS)}).save_to_disk(str(folder))
    return str(folder)


def corpus_texts(corpus: LabelledCorpus, split: str) -> set[str]:
    return {utterance.text for emotion in EMOTIONS for utterance in corpus.pool(split, emotion)}


def test_backends_include_corpus():
    assert BACKENDS == ("grammar", "corpus", "llm")


def test_csv_corpus_dialogues_carry_real_utterances(corpus_csv):
    generator = DialogueGenerator(split="train", seed=0, backend="corpus", corpus=corpus_csv,
                                  corpus_options={"label_map": LABEL_MAP, "licence": "CC0-1.0"})
    corpus = generator.corpus
    by_text = {" ".join(text.split()): OURS[label] for text, label in corpus_rows()}
    for emotion in EMOTIONS:
        if emotion == "contempt":
            continue
        for key in range(4):
            dialogue = generator.generate(emotion, key)
            assert dialogue.backend == "corpus:talk" and dialogue.text_label_name == emotion
            assert 1 <= len(dialogue.turns) <= 3 and "\n" not in "".join(dialogue.turns)
            focal_id = dialogue.template_ids[0]
            assert focal_id.startswith("corpus.talk.")
            focal = next(u for u in corpus.pool("train", emotion) if u.id == focal_id)
            assert focal.text in dialogue.turns and by_text[focal.text] == emotion
            # Context turns are the corpus's own neutral utterances of the same split.
            for turn in dialogue.turns:
                if turn != focal.text:
                    assert by_text.get(turn) == "neutral" and turn in corpus_texts(corpus, "train")
    report = generator.report()["corpus"]
    assert report["licence"] == "CC0-1.0" and report["name"] == "talk" and report["kind"] == "csv file"
    assert report["rows_read"] == len(corpus_rows())
    assert report["dropped"] == {"label mapped to null": len(SENTENCES["chitchat"])}
    assert report["uncovered"] == ["contempt"]
    assert report["rows_used_total"] == len(corpus_rows()) - len(SENTENCES["chitchat"])
    assert sum(report["rows_used"][split]["happy"] for split in report["rows_used"]) == 8  # joy + excited
    assert report["label_mapping"]["excited"] == "happy" and report["label_mapping"]["chitchat"] is None


def test_uncovered_contempt_falls_back_to_the_grammar(corpus_csv):
    generator = DialogueGenerator(split="train", seed=5, backend="corpus", corpus=corpus_csv,
                                  corpus_options={"label_map": LABEL_MAP})
    grammar = DialogueGenerator(split="train", seed=5)
    for key in range(3):
        dialogue = generator.generate("contempt", key)
        assert dialogue.backend == "grammar" and dialogue.text == grammar.generate("contempt", key).text
    generator.generate("anger", 0)
    usage = generator.report()["dialogues"]
    assert usage == {"from_corpus": 1, "fallback_to_grammar": 3, "corpus_share": 0.25,
                     "fallback_by_label": {"contempt": 3}}


def test_a_single_split_is_carved_by_text_hash(corpus_csv):
    corpus = load_corpus(corpus_csv, label_map=LABEL_MAP)
    report = corpus.report()
    assert report["carved"]["splits"] == ["validation", "test"]
    assert report["corpus_splits"] == {"train": len(corpus_rows())}
    texts = {split: corpus_texts(corpus, split) for split in ("train", "validation", "test")}
    assert texts["train"] and sum(map(len, texts.values())) == report["rows_used_total"]
    assert not texts["train"] & texts["validation"] and not texts["train"] & texts["test"]
    assert not texts["validation"] & texts["test"]
    # The carve depends on the text alone: shuffled rows give the same splits.
    rows = corpus_rows()
    random.Random(1).shuffle(rows)
    shuffled = load_corpus(write_csv(corpus_csv.replace("talk.csv", "talk2.csv"), rows), label_map=LABEL_MAP,
                           name="talk")
    assert {split: corpus_texts(shuffled, split) for split in texts} == texts
    assert shuffled.fingerprint == corpus.fingerprint


def test_no_test_utterance_reaches_training_dialogues(saved_corpus):
    corpus = load_corpus(saved_corpus)
    report = corpus.report()
    assert report["kind"] == "saved datasets folder" and report["text_column"] == "utterance"
    assert report["split_mapping"] == {"train": "train", "test": "test"}
    assert report["carved"]["splits"] == ["validation"]
    assert report["dropped"] == {"text also in a more held-out split": 1}
    test_texts = {text for text, _ in TEST_ROWS}
    assert corpus_texts(corpus, "test") == test_texts
    train = DialogueGenerator(split="train", seed=0, backend="corpus", corpus=corpus)
    train_turns = {turn for dialogue in train.generate_many(12) for turn in dialogue.turns}
    assert train_turns and not train_turns & test_texts
    validation = DialogueGenerator(split="validation", seed=0, backend="corpus", corpus=corpus)
    assert not {turn for dialogue in validation.generate_many(6) for turn in dialogue.turns} & test_texts
    test = DialogueGenerator(split="test", seed=0, backend="corpus", corpus=corpus)
    for emotion in ("anger", "fear", "happy", "sad", "surprise", "disgust"):
        dialogue = test.generate(emotion, 0)
        (focal,) = [u for u in corpus.pool("test", emotion) if u.id == dialogue.template_ids[0]]
        assert focal.text in dialogue.turns and set(dialogue.turns) <= test_texts


def test_generation_is_deterministic_and_keyed(corpus_csv):
    def make(seed):
        return DialogueGenerator(split="train", seed=seed, backend="corpus", corpus=corpus_csv,
                                 corpus_options={"label_map": LABEL_MAP})

    first = [dialogue.text for dialogue in make(3).generate_many(5)]
    assert first == [dialogue.text for dialogue in make(3).generate_many(5)]
    assert first != [dialogue.text for dialogue in make(4).generate_many(5)]
    generator = make(3)
    alone = generator.generate("fear", key="face-9").text
    list(generator.generate_many(2))
    assert generator.generate("fear", key="face-9").text == alone
    # Integer keys walk a seeded order of the pool: every utterance once before any repeats.
    pool = generator.corpus.pool("train", "anger")
    focal_ids = [generator.generate("anger", key).template_ids[0] for key in range(len(pool))]
    assert sorted(focal_ids) == sorted(utterance.id for utterance in pool)


def test_labels_in_lists_and_folders_of_files(tmp_path):
    folder = tmp_path / "talk_folder"
    folder.mkdir()
    rows = {
        "train": [("We got the flat!", ["joy", "excited"]), ("Fine, whatever, leave it", ["neutral"]),
                  ("My phone fell in the lake", ["sadness", "anger"]), ("Look, a rainbow over the harbour", ["joy"])],
        "dev": [("The cake is in the oven", ["neutral"])],
        "test": [("The lift stopped between floors", ["fear"])],
    }
    for split, items in rows.items():
        with open(folder / f"{split}_talk.jsonl", "w", encoding="utf-8") as handle:
            for text, labels in items:
                handle.write(json.dumps({"sentence": text, "labels": labels}) + "\n")
    corpus = load_corpus(str(folder), label_map={"excited": "happy"})
    report = corpus.report()
    assert report["kind"] == "folder of files"
    assert (report["text_column"], report["label_column"]) == ("sentence", "labels")
    assert report["split_mapping"] == {"train": "train", "validation": "validation", "test": "test"}
    assert report["carved"] is None and report["dropped"] == {"several emotions": 1}
    assert report["rows_used"]["train"]["happy"] == 2 and report["rows_used"]["validation"]["neutral"] == 1


def test_command_line_end_to_end(corpus_csv, label_map_file, tmp_path):
    out, report_path = tmp_path / "dialogues.csv", tmp_path / "report.json"
    args = ["dialogues", "--backend", "corpus", "--corpus", corpus_csv, "--label-map", label_map_file,
            "--corpus-licence", "CC0-1.0", "--per-label", "3", "--split", "train", "--seed", "2", "--out", str(out),
            "--report", str(report_path), "--no-progress"]
    assert main(args) == 0
    dialogues = read_dialogues_csv(str(out))
    assert len(dialogues) == 3 * len(EMOTIONS)
    assert {d.backend for d in dialogues if d.text_label_name != "contempt"} == {"corpus:talk"}
    assert {d.backend for d in dialogues if d.text_label_name == "contempt"} == {"grammar"}
    report = json.loads(report_path.read_text())
    assert report["backend"] == "corpus:talk" and report["corpus"]["licence"] == "CC0-1.0"
    assert report["backends"] == {"corpus:talk": 21, "grammar": 3}
    assert report["dialogues"]["fallback_by_label"] == {"contempt": 3}
    first = out.read_text()
    assert main(args) == 0 and out.read_text() == first


def test_build_subcommand_options_with_a_prefix(corpus_csv, label_map_file):
    parser = argparse.ArgumentParser()
    add_corpus_arguments(parser, prefix="corpus-")
    args = parser.parse_args(["--corpus", corpus_csv, "--corpus-text-column", "text", "--corpus-label-map",
                              label_map_file, "--corpus-licence", "CC0-1.0", "--corpus-max-turns", "1"])
    source = corpus_source_from_args(args)
    assert isinstance(source, CorpusSource) and source.text_column == "text" and source.licence == "CC0-1.0"
    assert source.label_map == LABEL_MAP and source.max_turns == 1
    generator = DialogueGenerator(split="train", backend="corpus", corpus=source)
    assert all(len(d.turns) == 1 for d in generator.generate_many(2, labels=("anger", "happy")))
    assert corpus_source_from_args(parser.parse_args([])) is None


# -- bad inputs -------------------------------------------------------------------------------------------------------


def test_unknown_label_is_named_with_where_it_was_found(tmp_path):
    path = write_csv(tmp_path / "odd.csv", corpus_rows() + [("The sky went green for a minute", "bewildered")])
    with pytest.raises(UnknownLabelError, match=r"odd\.csv': 'bewildered' \(1 row\(s\) in split 'train'\)"):
        load_corpus(path, label_map=LABEL_MAP)
    with pytest.raises(UnknownLabelError, match="'excited'"):  # an alias we do not have, without the label map
        load_corpus(path, label_map={"bewildered": None, "chitchat": None})
    assert main(["dialogues", "--backend", "corpus", "--corpus", path, "--per-label", "1",
                 "--out", str(tmp_path / "x.csv")]) == 2


def test_missing_column_names_the_columns_it_has(tmp_path):
    path = write_csv(tmp_path / "cols.csv", [("hello", "joy")], columns=("line", "emotion"))
    with pytest.raises(ValueError, match=r"none of the text columns.*its columns are \['line', 'emotion'\]"):
        load_corpus(path)
    with pytest.raises(ValueError, match=r"no label column 'mood'; its columns are \['line', 'emotion'\]"):
        load_corpus(path, text_column="line", label_column="mood")


def test_empty_corpus(tmp_path):
    with pytest.raises(ValueError, match="empty"):
        load_corpus(write_csv(tmp_path / "empty.csv", []))
    only_null = write_csv(tmp_path / "null.csv", [("Anyway", "chitchat"), ("   ", "joy")])
    with pytest.raises(ValueError, match=r"no usable rows.*'empty text': 1.*'label mapped to null': 1"):
        load_corpus(only_null, label_map={"chitchat": None})


@pytest.mark.parametrize(
    "content, message",
    [
        ('["joy", "happy"]', "must be a JSON object.*got a list"),
        ('{"joy": "glad"}', "'joy' maps to 'glad', which is not one of the emotions"),
        ("{joy: happy", "not valid JSON"),
    ],
)
def test_bad_label_maps(tmp_path, corpus_csv, content, message):
    path = tmp_path / "map.json"
    path.write_text(content)
    with pytest.raises(ValueError, match=message):
        read_label_map(str(path))
    assert main(["dialogues", "--backend", "corpus", "--corpus", corpus_csv, "--label-map", str(path),
                 "--per-label", "1", "--out", str(tmp_path / "x.csv")]) == 2
    with pytest.raises(FileNotFoundError, match="label map"):
        read_label_map(str(tmp_path / "absent.json"))


def test_bad_sources(tmp_path, capsys):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_corpus(str(tmp_path / "absent.csv"))
    with pytest.raises(ValueError, match="not in the local cache"):
        load_corpus("someone/an-emotion-corpus")
    (tmp_path / "bare").mkdir()
    (tmp_path / "bare" / "notes.txt").write_text("hello")
    with pytest.raises(ValueError, match="holds no .csv"):
        load_corpus(str(tmp_path / "bare"))
    (tmp_path / "odd.xlsx").write_text("hello")
    with pytest.raises(ValueError, match="expected a .csv"):
        load_corpus(str(tmp_path / "odd.xlsx"))
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"text": "hi", "label": "joy"}\nnot json at all\n')
    with pytest.raises(ValueError, match="Cannot read the corpus .*broken.jsonl"):
        load_corpus(str(broken))
    assert main(["dialogues", "--backend", "corpus", "--per-label", "1", "--out", str(tmp_path / "x.csv")]) == 2
    assert "--backend corpus needs --corpus" in capsys.readouterr().err
    assert main(["dialogues", "--corpus", str(broken), "--per-label", "1", "--out", str(tmp_path / "x.csv")]) == 2
    assert "only used with --backend corpus" in capsys.readouterr().err
    with pytest.raises(ValueError, match="needs `corpus`"):
        DialogueGenerator(backend="corpus")
