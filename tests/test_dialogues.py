"""The synthetic dialogue generator: determinism, template splits, diversity, learnability across splits, the
`dialogues` command line and the language-model backend (with a tiny random GPT-2 built offline)."""

import csv
import json
import os
import subprocess
import sys
from collections import Counter

import pytest

from dataset_builder.dialogues import lexicon
from dataset_builder.__main__ import main
from dataset_builder.dialogues import (
    CSV_COLUMNS,
    SPLITS,
    TURN_SEPARATOR,
    DialogueGenerator,
    diversity_report,
    generate_dialogues,
    read_dialogues_csv,
    split_generated_turns,
    template_bank,
)
from emotifusion_hf.configuration_emotifusion import EMOTIONS


REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_generation_is_deterministic_and_keyed():
    first = [dialogue.text for dialogue in generate_dialogues(5, seed=11, split="train")]
    assert first == [dialogue.text for dialogue in generate_dialogues(5, seed=11, split="train")]
    assert first != [dialogue.text for dialogue in generate_dialogues(5, seed=12, split="train")]
    generator = DialogueGenerator(split="validation", seed=3)
    # A dialogue depends on (seed, split, label, key) only, not on what was generated before it.
    alone = generator.generate("sad", key="face-17").text
    list(generator.generate_many(3))
    assert generator.generate(EMOTIONS.index("sad"), key="face-17").text == alone


def test_dialogue_shape():
    for dialogue in generate_dialogues(25, seed=0, split="train"):
        assert 1 <= len(dialogue.turns) <= 6
        assert len(dialogue.speakers) == len(dialogue.turns) and dialogue.focal_speaker in dialogue.speakers
        assert dialogue.text == TURN_SEPARATOR.join(dialogue.turns)
        assert all(turn.strip() and "{" not in turn and "}" not in turn for turn in dialogue.turns)
        assert dialogue.register in lexicon.REGISTERS and dialogue.intensity in ("low", "mid", "high")
        # Speakers alternate.
        assert all(a != b for a, b in zip(dialogue.speakers, dialogue.speakers[1:]))


def test_every_template_belongs_to_exactly_one_split():
    bank = template_bank()
    by_split = bank.ids_by_split()
    assert by_split["train"].isdisjoint(by_split["validation"])
    assert by_split["train"].isdisjoint(by_split["test"])
    assert by_split["validation"].isdisjoint(by_split["test"])
    assert sum(len(ids) for ids in by_split.values()) == len(bank.templates)
    # Roughly 70/15/15, whatever the seed.
    assert 0.6 < len(by_split["train"]) / len(bank.templates) < 0.8
    # Every emotion has events, situations, appraisals, remarks, frames and reactions in every split.
    for split in SPLITS:
        for emotion in EMOTIONS:
            for kind in ("event", "situation", "appraisal", "remark", "frame", "continuation", "filler", "reaction"):
                assert bank.choices(kind, split, emotion), (kind, split, emotion)


def test_every_template_slot_has_a_filler():
    import re

    cues = {
        "event", "feel", "body", "appraisal", "appraisal_lc", "action", "interj", "judge", "time", "tail", "focal",
        "other",
    }
    prompt_fields = {"emotion", "n", "register"}
    known = set(lexicon.SLOTS) | set(lexicon.SITUATION_SLOTS) | cues
    vocabulary = [text for table in (lexicon.SLOTS, lexicon.SITUATION_SLOTS) for texts in table.values() for text in texts]
    for template in list(template_bank().templates.values()) + [{"kind": "slot", "text": text} for text in vocabulary]:
        kind, text = (template["kind"], template["text"]) if isinstance(template, dict) else (template.kind, template.text)
        allowed = known | prompt_fields if kind == "prompt" else known
        assert set(re.findall(r"\{(\w+)\}", text)) <= allowed, text


def test_test_dialogues_never_reuse_training_templates():
    bank = template_bank()
    used = {}
    for split in SPLITS:
        dialogues = generate_dialogues(30, seed=5, split=split)
        used[split] = {template_id for dialogue in dialogues for template_id in dialogue.template_ids}
        assert {bank.split_of(template_id) for template_id in used[split]} == {split}
    assert used["test"].isdisjoint(used["train"]) and used["validation"].isdisjoint(used["train"])


def test_diversity_report():
    report = diversity_report(generate_dialogues(60, seed=0, split="train"))
    assert report["num_dialogues"] == 480 and report["per_label"] == {emotion: 60 for emotion in EMOTIONS}
    assert report["distinct_2"] > 0.2 and report["distinct_1"] > 0.04
    assert report["duplicate_rate"] < 0.01
    # Mostly one line or a short exchange, as in real talk: other-speaker turns shared by every emotion dilute the
    # emotional ones.
    assert 1.4 < report["mean_turns"] < 2.2 and report["mean_words"] > 10
    assert report["templates_used"] > 250 and 0.0 < report["blended_rate"] < 0.2
    # The held-out splits have fewer templates but are still far from a lookup table.
    test_report = diversity_report(generate_dialogues(60, seed=0, split="test"))
    assert test_report["distinct_2"] > 0.1 and test_report["duplicate_rate"] < 0.03


def test_remarks_are_everyday_lines_with_split_assigned_ids():
    bank = template_bank()
    remarks = [template for template in bank.templates.values() if template.kind == "remark"]
    assert {template.emotions for template in remarks} == {(emotion,) for emotion in EMOTIONS}
    for emotion in EMOTIONS:
        texts = [template.text for template in remarks if template.emotions == (emotion,)]
        assert len(texts) >= 20, emotion
        # Short lines: a remark is something said in one breath, not a story.
        assert sum(len(text.split()) for text in texts) / len(texts) < 10, emotion
    # Disgust is said outright in real talk (gross, nasty, ew); a line without such a word reads as mere anger.
    markers = (
        "gross", "disgust", "ew", "nasty", "vile", "yuck", "revolt", "repuls", "sick", "gag", "throw up", "{judge}",
    )
    for template in remarks:
        if template.emotions == ("disgust",):
            assert any(marker in template.text.lower() for marker in markers), template.text


def test_a_text_classifier_transfers_from_train_to_test_templates():
    """Dialogues teach emotional language, not template ids: a bag-of-words model trained on train-split dialogues
    recognises test-split dialogues built from situations, appraisals and frames it never saw."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    train = list(generate_dialogues(80, seed=1, split="train"))
    test = list(generate_dialogues(30, seed=2, split="test"))
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
    features = vectorizer.fit_transform([dialogue.text for dialogue in train])
    model = LogisticRegression(max_iter=2000, C=5.0).fit(features, [dialogue.text_label for dialogue in train])
    predictions = model.predict(vectorizer.transform([dialogue.text for dialogue in test]))
    accuracy = sum(int(p == d.text_label) for p, d in zip(predictions, test)) / len(test)
    assert accuracy > 0.6, accuracy
    # Held-out real-world phrasings share no template with the grammar.
    real = {
        "happy": "I just got accepted into grad school, I'm so excited!",
        "sad": "My grandmother passed away and I miss her so much.",
        "anger": "I'm furious, my roommate ate my food again without asking.",
        "fear": "I'm really scared about the biopsy results tomorrow.",
    }
    guesses = model.predict(vectorizer.transform(list(real.values())))
    assert sum(EMOTIONS[guess] == emotion for guess, emotion in zip(guesses, real)) >= 3


def test_input_errors():
    with pytest.raises(ValueError, match="'bored'"):
        DialogueGenerator().generate("bored", key=0)
    with pytest.raises(ValueError, match="'holdout'"):
        DialogueGenerator(split="holdout")
    with pytest.raises(ValueError, match="llm_model"):
        DialogueGenerator(backend="llm")


def test_split_generated_turns():
    turns = split_generated_turns("Hi there.\nMaya: I'm fine.\nSam: ok", ("Maya", "Sam"))
    assert turns == ["Hi there.", "I'm fine.", "ok"]
    assert split_generated_turns("One sentence. Another one!", ("A", "B")) == ["One sentence.", "Another one!"]
    assert split_generated_turns("just some words here", ("A", "B")) == ["just some", "words here"]
    assert split_generated_turns("word", ("A", "B")) == ["word"]
    assert len(split_generated_turns("\n".join(f"line {i}" for i in range(10)), ("A", "B"), max_turns=6)) == 6


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_cli_dialogues(tmp_path, capsys):
    out = tmp_path / "test.csv"
    report_path = tmp_path / "report.json"
    args = ["dialogues", "--per-label", "4", "--seed", "9", "--split", "test", "--out", str(out), "--no-progress"]
    assert main(args + ["--report", str(report_path)]) == 0
    rows = read_csv(out)
    assert len(rows) == 32 and tuple(rows[0]) == CSV_COLUMNS
    assert Counter(row["text_label"] for row in rows) == {emotion: 4 for emotion in EMOTIONS}
    bank = template_bank()
    for row in rows:
        turns = json.loads(row["turns"])
        assert row["text"] == "\n".join(turns) and 1 <= len(turns) <= 6
        assert EMOTIONS[int(row["text_label_id"])] == row["text_label"]
        assert {bank.split_of(template_id) for template_id in row["template_ids"].split(";")} == {"test"}
    assert len({row["dialogue_id"] for row in rows}) == 32
    report = json.loads(report_path.read_text())
    assert report["num_dialogues"] == 32 and report["split"] == "test"
    assert '"distinct_2"' in capsys.readouterr().err
    # Same seed, same bytes; and the file reads back.
    again = tmp_path / "again.csv"
    assert main([*args[:-2], str(again), "--no-progress"]) == 0
    assert again.read_bytes() == out.read_bytes()
    assert [dialogue.text for dialogue in read_dialogues_csv(out)] == [row["text"] for row in rows]
    assert main(["dialogues", "--per-label", "0", "--out", str(tmp_path / "none.csv")]) == 2
    assert main(["dialogues", "--per-label", "1", "--backend", "llm", "--out", str(tmp_path / "x.csv")]) == 2
    assert "--llm-model" in capsys.readouterr().err


def test_python_dash_m_entry_point(tmp_path):
    out = tmp_path / "train.csv"
    environment = dict(os.environ, PYTHONPATH=REPO_ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    result = subprocess.run(
        [sys.executable, "-m", "dataset_builder", "dialogues", "--per-label", "2", "--seed", "0", "--split", "train",
         "--out", str(out), "--no-progress"],
        cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert len(read_csv(out)) == 16


@pytest.fixture(scope="module")
def tiny_language_model(tmp_path_factory):
    """A randomly initialised 1-layer GPT-2 with a word-level tokenizer trained here: no download anywhere."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    corpus = [text for texts in lexicon.APPRAISALS.values() for text in texts] + list(lexicon.FOLLOW_UPS)
    corpus += [text for text in lexicon.LLM_PROMPTS]
    tokenizer = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.train_from_iterator(corpus, trainers.WordLevelTrainer(special_tokens=["[UNK]", "[PAD]", "<|endoftext|>"]))
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, unk_token="[UNK]", pad_token="[PAD]", eos_token="<|endoftext|>"
    )
    path = tmp_path_factory.mktemp("tiny_gpt2")
    fast.save_pretrained(path)
    config = GPT2Config(
        vocab_size=len(fast), n_positions=256, n_embd=16, n_layer=1, n_head=2,
        bos_token_id=fast.eos_token_id, eos_token_id=fast.eos_token_id, pad_token_id=fast.pad_token_id,
    )
    GPT2LMHeadModel(config).save_pretrained(path)
    return str(path)


def test_llm_backend_writes_the_same_schema(tiny_language_model, tmp_path):
    out = tmp_path / "llm.csv"
    args = ["dialogues", "--per-label", "1", "--seed", "4", "--split", "validation", "--out", str(out),
            "--backend", "llm", "--llm-model", tiny_language_model, "--max-new-tokens", "12", "--no-progress"]
    assert main(args) == 0
    rows = read_csv(out)
    assert len(rows) == 8 and tuple(rows[0]) == CSV_COLUMNS
    bank = template_bank()
    for row in rows:
        turns = json.loads(row["turns"])
        assert 1 <= len(turns) <= 6 and row["text"] == "\n".join(turns)
        assert row["backend"] == f"llm:{tiny_language_model}"
        ids = row["template_ids"].split(";")
        assert any(template_id.startswith("prompt.") for template_id in ids)
        assert {bank.split_of(template_id) for template_id in ids} == {"validation"}
    # Seeded sampling: the same seed writes the same file.
    again = tmp_path / "again.csv"
    assert main(args[:8] + [str(again)] + args[9:]) == 0
    assert again.read_bytes() == out.read_bytes()


def test_builder_with_the_llm_backend(tiny_language_model, tmp_path):
    from dataset_builder.builder import build_dataset

    dataset = build_dataset(
        "demo", per_class=1, eval_per_class=1, image_size=32, cache_dir=str(tmp_path),
        dialogue_backend="llm", llm_model=tiny_language_model, llm_max_new_tokens=8,
    )
    assert {split: rows.num_rows for split, rows in dataset.items()} == {"train": 8, "validation": 8, "test": 8}
    row = dataset["test"][0]
    assert row["text"] == "\n".join(row["dialogue"]) and len(row["dialogue"]) >= 1
    assert {template_bank().split_of(template_id) for template_id in row["template_ids"]} == {"test"}
