"""Model cards: the `README.md` of every checkpoint, rendered from `model_card.md` (the prose lives there), the
checkpoint's config and the reports saved beside it (see `eval_report` for their schema)."""

import json
import os
import sys
from pathlib import Path

from .eval_report import (
    AFFECT,
    AFFECT_DIMENSIONS,
    AFFECT_HEADS,
    AGREEMENT_LEVELS,
    CALIBRATION,
    EVAL_REPORT_NAME,
    HEADS,
    NUM_SAMPLES,
    SOURCE,
    SPLIT,
    TEXT_LABEL_HEAD,
    TRAINING_SUMMARY_NAME,
)
from .labels import EMOTIONS


CARD_TEMPLATE_NAME = "model_card.md"


def card_template_path() -> Path:
    """`model_card.md`: beside the package in a source checkout, or in `<prefix>/share/emotifusion-hf` when installed."""
    candidates = [
        Path(__file__).resolve().parent.parent / CARD_TEMPLATE_NAME,
        Path(sys.prefix) / "share" / "emotifusion-hf" / CARD_TEMPLATE_NAME,
    ]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"Model card template not found; looked in: {', '.join(map(str, candidates))}")


def _fmt(value, digits: int = 4) -> str:
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def markdown_table(headers: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(_fmt(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _columns_present(entries: list[dict], candidates: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The (key, header) columns every entry has a number for: a table never shows a blank cell."""
    return [(key, header) for key, header in candidates if all(isinstance(entry.get(key), (int, float)) for entry in entries)]


def evaluation_sections(report: dict) -> list[dict]:
    """Markdown tables for the card from an `eval_report.json`: modality ablation, per class, text agreement,
    text missing, calibration. Sections whose figures the report lacks are left out, never filled in."""
    sections = []
    heads = dict(HEADS, **{TEXT_LABEL_HEAD: "text only, against the dialogue's own emotion"})
    modalities = [(key, name, report[key]) for key, name in heads.items() if isinstance(report.get(key), dict)]
    if modalities:
        columns = _columns_present(
            [entry for _, _, entry in modalities],
            [("accuracy", "accuracy"), ("macro_f1", "macro-F1"), ("weighted_f1", "weighted-F1"), ("ece", "ECE")],
        )
        rows = [[name] + [entry[key] for key, _ in columns] for _, name, entry in modalities]
        sections.append({
            "title": "Modality ablation",
            "intro": "The same test samples through the fused head and through each single-modality head, each scored "
            "against the face label (what the model is trained to predict)"
            + (", except the last row: the text-only head against the emotion its dialogue expresses (`text_label`), "
               "the target it learns, since a dialogue may not match its face." if TEXT_LABEL_HEAD in report else "."),
            "table": markdown_table(["input"] + [header for _, header in columns], rows),
        })
    per_class = (report.get("fused") or {}).get("per_class")
    if isinstance(per_class, dict) and per_class:
        entries = [per_class[label] for label in EMOTIONS if label in per_class]
        columns = _columns_present(
            entries, [("precision", "precision"), ("recall", "recall"), ("f1", "F1"), ("support", "support")]
        )
        rows = [[label] + [per_class[label][key] for key, _ in columns] for label in EMOTIONS if label in per_class]
        sections.append({
            "title": "Per class (fused)",
            "intro": "Precision, recall and F1 of each emotion on the test split.",
            "table": markdown_table(["emotion"] + [header for _, header in columns], rows),
        })
    agreement = report.get(AGREEMENT_LEVELS)
    if isinstance(agreement, dict) and agreement:
        items = sorted(agreement.items(), key=lambda item: -float(item[0]))
        entries = [entry for _, entry in items if isinstance(entry, dict)]
        columns = _columns_present(entries, [("accuracy", "accuracy"), ("macro_f1", "macro-F1")])
        if columns and len(entries) == len(items):
            rows = [[f"{float(level):.0%}"] + [entry[key] for key, _ in columns] for level, entry in items]
            sections.append({
                "title": "Text agreement",
                "intro": "Test faces paired with dialogues whose own emotion agrees with the face in the given share "
                "of samples (the text is evidence, not the answer).",
                "table": markdown_table(["text agrees with face"] + [header for _, header in columns], rows),
            })
    affect_rows = []
    for key, name in AFFECT_HEADS.items():
        affect = (report.get(key) or {}).get(AFFECT)
        for dimension in AFFECT_DIMENSIONS:
            figures = (affect or {}).get(dimension)
            if isinstance(figures, dict) and figures.get("num_samples"):
                affect_rows.append((f"{dimension}, {name}", figures))
    if affect_rows:
        columns = _columns_present([figures for _, figures in affect_rows], [
            ("ccc", "CCC"), ("rmse", "RMSE"), ("pcc", "PCC"), ("sagr", "SAGR"), ("num_samples", "samples")])
        sections.append({
            "title": "Valence and arousal",
            "intro": "The valence/arousal heads (in [-1, 1]) against the annotated values, over the samples that have "
            "them: concordance correlation (CCC, the figure AffectNet results are reported in), root mean squared "
            "error, Pearson correlation and sign agreement.",
            "table": markdown_table(["head"] + [header for _, header in columns],
                                    [[name] + [figures[key] for key, _ in columns] for name, figures in affect_rows]),
        })
    text_missing = report.get("text_missing")
    if isinstance(text_missing, dict):
        columns = _columns_present([text_missing], [("accuracy", "accuracy"), ("macro_f1", "macro-F1")])
        if columns:
            sections.append({
                "title": "Text missing",
                "intro": "The fused head with no dialogue at all (the learned missing-text embedding stands in).",
                "table": markdown_table([header for _, header in columns], [[text_missing[key] for key, _ in columns]]),
            })
    calibration = report.get(CALIBRATION)
    if isinstance(calibration, dict):
        columns = _columns_present(
            [calibration],
            [("temperature", "temperature"), ("ece_before", "ECE before scaling"), ("ece_after", "ECE after scaling")],
        )
        if columns:
            sections.append({
                "title": "Calibration",
                "intro": "Expected calibration error (15 bins) of the fused scores, before and after temperature scaling.",
                "table": markdown_table([header for _, header in columns], [[calibration[key] for key, _ in columns]]),
            })
    return sections


def model_index_results(report: dict, dataset_name: str, dataset_type: str):
    """`EvalResult`s for the card's `model-index`, from the report's own numbers."""
    from huggingface_hub import EvalResult

    split = report.get(SPLIT, "test")

    def result(metric_type: str, metric_name: str, value, metric_args=None):
        return EvalResult(
            task_type="image-classification",
            task_name="Multimodal emotion recognition",
            dataset_type=dataset_type,
            dataset_name=dataset_name,
            dataset_split=split,
            metric_type=metric_type,
            metric_name=metric_name,
            metric_value=round(float(value), 4),
            metric_args=metric_args,
        )

    results = []
    for key, name in HEADS.items():
        entry = report.get(key)
        if not isinstance(entry, dict):
            continue
        if isinstance(entry.get("accuracy"), (int, float)):
            results.append(result("accuracy", f"Accuracy ({name})", entry["accuracy"]))
        if isinstance(entry.get("macro_f1"), (int, float)):
            results.append(result("f1", f"Macro F1 ({name})", entry["macro_f1"], {"average": "macro"}))
    for key, name in AFFECT_HEADS.items():
        affect = (report.get(key) or {}).get(AFFECT) or {}
        for dimension in AFFECT_DIMENSIONS:
            figures = affect.get(dimension) or {}
            value = figures.get("ccc")
            if figures.get("num_samples") and isinstance(value, (int, float)) and value == value:
                results.append(result("ccc", f"{dimension.capitalize()} CCC ({name})", value))
    return results


def _corpus_sentence(corpus) -> str:
    """What the card says of a corpus-grounded dialogue backend (`training_summary["dialogue_corpus"]`)."""
    if not isinstance(corpus, dict) or not corpus.get("name"):
        return ""
    share = corpus.get("corpus_share")
    sentence = f" The dialogues quote real utterances from the corpus `{corpus['name']}`"
    if isinstance(corpus.get("rows_used"), int):
        sentence += f" ({corpus['rows_used']} utterances used"
        sentence += f"; licence: {corpus['licence']})" if corpus.get("licence") else ")"
    elif corpus.get("licence"):
        sentence += f" (licence: {corpus['licence']})"
    if isinstance(share, (int, float)):
        sentence += f" in {share:.0%} of the training dialogues; the rest come from the grammar generator"
    return sentence + "."


def render_model_card(
    config,
    eval_report: dict | None = None,
    training_summary: dict | None = None,
    repo_id: str | None = None,
    num_parameters: int | None = None,
    max_length: int = 128,
    vision_channels: list[int] | None = None,
    checkpoint_path: str | None = None,
):
    """The `huggingface_hub.ModelCard` of a checkpoint: YAML metadata (with a `model-index` built from the run's
    own `eval_report`) and the body of `model_card.md`. Usage snippets name `repo_id`, or else the local
    `checkpoint_path`."""
    from huggingface_hub import ModelCard, ModelCardData

    training_summary = dict(training_summary or {})
    dataset = str(training_summary.get("dataset", "unknown"))
    trained_on_affectnet = "affectnet" in dataset.lower()
    dataset_name = (
        "AffectNet-8 faces + synthetic dialogues" if trained_on_affectnet
        else "EmotiFusion demo (procedural faces + synthetic dialogues)" if dataset.lower() == "demo"
        else dataset
    )
    dataset_type = "affectnet" if trained_on_affectnet else dataset.lower().replace(" ", "-")
    name = repo_id or training_summary.get("model_name") or "EmotiFusion"
    evaluated = bool(eval_report) and any(isinstance(eval_report.get(key), dict) for key in HEADS)

    card_data = ModelCardData(
        language=["en"],
        license="other" if trained_on_affectnet else "apache-2.0",
        license_name="affectnet-research-only" if trained_on_affectnet else None,
        license_link="http://mohammadmahoor.com/affectnet/" if trained_on_affectnet else None,
        library_name="transformers",
        pipeline_tag="image-classification",
        tags=["emotion-recognition", "facial-expression-recognition", "multimodal", "image-text", "affective-computing",
              "emotifusion", "custom_code", "timm", "bert"],
        metrics=["accuracy", "f1"],
        model_name=name,
        eval_results=model_index_results(eval_report, dataset_name, dataset_type) if evaluated else None,
    )

    fusion_description = (
        f"cross-modal attention both ways ({config.fusion_num_heads} heads: text tokens query the face cells, face "
        "cells query the words), each block residual with a feed-forward layer, then a learned sigmoid gate mixes "
        "the two attended summaries"
        if config.fusion == "attention"
        else f"concatenation of the two {config.embed_dim}-d embeddings -> {config.embed_dim} -> ReLU -> dropout "
        f"{config.classifier_dropout} -> {config.num_labels} (the original notebook's fusion)"
    )
    training_rows = [(key.replace("_", " "), _fmt(value)) for key, value in training_summary.items()
                     if key not in ("dataset", "model_name", "description") and isinstance(value, (str, int, float))]
    training_data = training_summary.get("description") or (
        "Faces from AffectNet (8 expression classes; the official validation set is the test split), each paired "
        "with a synthetic dialogue whose own emotion matches the face label with a set probability."
        if trained_on_affectnet else
        "Procedural demo faces (parametric brows, eyes, mouth, nose wrinkle; random identity, pose, lighting) paired "
        "with synthetic dialogues whose own emotion matches the face label with a set probability."
        if dataset.lower() == "demo" else
        "No training run is recorded in this checkpoint: it holds the weights it was saved with."
    ) + _corpus_sentence(training_summary.get("dialogue_corpus"))
    eval_samples = None
    if evaluated:
        eval_samples = eval_report.get(NUM_SAMPLES)
    if vision_channels is None:
        import timm

        vision_channels = [
            timm.create_model(arch, pretrained=False, features_only=True, out_indices=(-1,)).feature_info.channels()[-1]
            for arch in config.vision_backbones
        ]

    import jinja2

    # As `ModelCard.from_template`, with block tags that leave no blank lines behind.
    environment = jinja2.Environment(trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)
    template = environment.from_string(card_template_path().read_text())
    content = template.render(
        card_data=card_data.to_yaml(),
        model_name=name,
        repo_id=repo_id or checkpoint_path or ".",
        emotions=list(EMOTIONS),
        config=config,
        vision_backbones=list(config.vision_backbones),
        vision_channels=" + ".join(map(str, vision_channels)),
        fusion_description=fusion_description,
        temperature_fitted=bool(training_summary.get("temperature_fitted")) or config.temperature != 1.0,
        num_parameters=num_parameters or 0,
        max_length=max_length,
        text_backbone=f"`{config.text_backbone}`" if config.text_backbone else "random initialisation",
        vision_weights=", ".join(f"`{source}`" for source in config.vision_weights) if config.vision_weights
        else "random initialisation",
        trained_on_affectnet=trained_on_affectnet,
        training_data=training_data,
        training_rows=training_rows,
        evaluated=evaluated,
        eval_split=(eval_report or {}).get(SPLIT, "test"),
        eval_samples=eval_samples,
        eval_source=(eval_report or {}).get(SOURCE) if evaluated else None,
        eval_sections=evaluation_sections(eval_report) if evaluated else [],
    )
    return ModelCard(content)


def write_model_card(checkpoint_dir, model=None, processor=None, repo_id: str | None = None, checkpoint_path=None) -> Path:
    """(Re)render `README.md` of a checkpoint folder from its config and the reports saved beside it. Snippets
    name `repo_id`, else `checkpoint_path`, else the folder itself."""
    checkpoint_dir = Path(checkpoint_dir)
    if model is not None:
        config = model.config
    else:
        from .configuration_emotifusion import EmotiFusionConfig

        config = EmotiFusionConfig.from_pretrained(checkpoint_dir)
    eval_report = _read_json(checkpoint_dir / EVAL_REPORT_NAME)
    training_summary = _read_json(checkpoint_dir / TRAINING_SUMMARY_NAME)
    vision_channels = None
    if model is not None:
        num_parameters = sum(parameter.numel() for parameter in model.parameters())
        trunks = model.base_model.vision_model.trunks
        vision_channels = [trunk.feature_info.channels()[-1] for trunk in trunks]
    else:
        from safetensors import safe_open

        with safe_open(checkpoint_dir / "model.safetensors", framework="pt") as weights:
            num_parameters = sum(_prod(weights.get_slice(name).get_shape()) for name in weights.keys())
    max_length = getattr(processor, "max_length", None) or _read_json(
        checkpoint_dir / "processor_config.json").get("max_length", 128)
    card = render_model_card(
        config, eval_report, training_summary, repo_id=repo_id, num_parameters=num_parameters, max_length=max_length,
        vision_channels=vision_channels, checkpoint_path=os.fspath(Path(checkpoint_path or checkpoint_dir).resolve()),
    )
    path = checkpoint_dir / "README.md"
    card.save(path)
    return path


def _prod(shape) -> int:
    total = 1
    for size in shape:
        total *= int(size)
    return total


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text()) if path.is_file() else {}


__all__ = ["evaluation_sections", "render_model_card", "write_model_card"]
