"""Model cards rendered from a report: which label each head is scored against, and where the dialogues came from."""

from emotifusion_hf.card import evaluation_sections, render_model_card

from conftest import make_tiny_config


REPORT = {
    "split": "test",
    "num_samples": 40,
    "fused": {"accuracy": 0.7, "macro_f1": 0.68},
    "image_only": {"accuracy": 0.5, "macro_f1": 0.49},
    "text_only": {"accuracy": 0.45, "macro_f1": 0.44},
    "text_only_vs_text_label": {"accuracy": 0.81, "macro_f1": 0.8},
}


def test_ablation_says_which_label_each_head_is_scored_against():
    ablation = next(section for section in evaluation_sections(REPORT) if section["title"] == "Modality ablation")
    rows = ablation["table"].splitlines()[2:]
    assert [row.split("|")[1].strip() for row in rows] == [
        "image + text (fused)", "image only", "text only", "text only, against the dialogue's own emotion"]
    assert "0.8000" in rows[-1] and "`text_label`" in ablation["intro"]
    without = evaluation_sections({key: value for key, value in REPORT.items() if key != "text_only_vs_text_label"})
    assert "text_label" not in without[0]["intro"] and len(without[0]["table"].splitlines()) == 5


def test_card_records_the_dialogue_corpus():
    summary = {"dataset": "demo", "dialogue_corpus": {"name": "talk", "rows_used": 120, "licence": "CC-BY-4.0",
                                                      "corpus_share": 0.875}}
    card = render_model_card(make_tiny_config(), REPORT, summary, repo_id="you/x", num_parameters=10,
                             vision_channels=[512, 576])
    assert "quote real utterances from the corpus `talk` (120 utterances used; licence: CC-BY-4.0)" in card.text
    assert "in 88% of the training dialogues" in card.text
    plain = render_model_card(make_tiny_config(), REPORT, {"dataset": "demo"}, repo_id="you/x", num_parameters=10,
                              vision_channels=[512, 576])
    assert "quote real utterances" not in plain.text
