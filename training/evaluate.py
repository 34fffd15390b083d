"""`emotifusion evaluate`: the report of a checkpoint on a dataset split.

Writes `eval_report.json` (its schema: `emotifusion_hf.eval_report`) with

- `fused`, `image_only`, `text_only`: accuracy, macro-/weighted-F1, per-class precision/recall/F1, confusion
  matrix, ECE and NLL of the fused head and of the two single-modality heads, on the same samples, against the face
  label;
- `text_only_vs_text_label`: the text-only head against the label it learns, the dialogue's own emotion
  (`text_label`), where the data records it;
- `text_missing` / `image_missing`: the fused head given only the image / only the dialogue;
- `fused.affect` / `image_only.affect` (models with valence/arousal heads): CCC, RMSE, PCC and SAGR of valence and
  of arousal over the samples whose valence/arousal is annotated;
- `calibration`: the stored temperature and the fused ECE before and after applying it;
- `agreement_levels`: the fused head when the test faces are re-paired with test dialogues whose own emotion
  (`text_label`) agrees with the face label in a chosen share of samples (1.0 = the text always says the answer,
  0.0 = it never does), plus `as_paired`: the dataset's own pairing split into agreeing / disagreeing samples;

and the plots `confusion_matrix.png`, `reliability_diagram.png` (calibrated),
`reliability_diagram_uncalibrated.png` and, with valence/arousal heads, `valence_arousal.png` (predicted against
annotated, fused head).
"""

import json
import logging
import os
import time

import numpy as np
import torch

from emotifusion_hf import EMOTIONS
from emotifusion_hf.model_source import hub_load_error, resolve_checkpoint
from emotifusion_hf.eval_report import (
    AFFECT,
    AFFECT_HEADS,
    AGREEMENT_LEVELS,
    AS_PAIRED,
    CALIBRATION,
    DATASET_AGREEMENT,
    EVAL_REPORT_NAME,
    HEADS,
    MISSING_MODALITY,
    NUM_SAMPLES,
    SPLIT,
    TEMPERATURE,
    TEXT_LABEL_HEAD,
)

from .augment import FaceDialogueCollator, FaceDialogueTransform, build_eval_augmentation
from .data import load_dataset_dir
from .metrics import (
    affect_report,
    classification_report,
    expected_calibration_error,
    head_report,
    plot_affect_scatter,
    plot_confusion_matrix,
    plot_reliability_diagram,
    reliability_bins,
    softmax,
)
from .text_cache import attach_text_feature_cache, detach_text_feature_cache


logger = logging.getLogger(__name__)

DEFAULT_AGREEMENT_LEVELS = (1.0, 0.75, 0.5, 0.25, 0.0)
PLOT_NAMES = {
    "confusion_matrix": "confusion_matrix.png",
    "reliability_diagram": "reliability_diagram.png",
    "reliability_diagram_uncalibrated": "reliability_diagram_uncalibrated.png",
    "valence_arousal": "valence_arousal.png",
}


def load_checkpoint(model_path: str, device: str | torch.device | None = None):
    """`(model, processor)` of a checkpoint, loaded the way its users load it: as remote code."""
    from transformers import AutoModel, AutoProcessor

    model_path = resolve_checkpoint(model_path)
    try:
        model = AutoModel.from_pretrained(model_path, trust_remote_code=True)
        processor = AutoProcessor.from_pretrained(model_path, trust_remote_code=True)
    except OSError as error:
        if os.path.isdir(model_path):
            raise
        raise hub_load_error(model_path, error) from None
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    return model.to(device).eval(), processor


def repair_dialogues(labels, text_labels, agreement: float, seed: int = 0) -> tuple[np.ndarray, float]:
    """Pick, for every face, a dialogue of the same split whose `text_label` equals the face label with probability
    `agreement` and differs from it (uniformly among the dialogues of other emotions) otherwise.

    Returns `(dialogue index per face, achieved agreement)`. Where no dialogue of the wanted kind exists, the other
    kind is used, which the achieved agreement shows.
    """
    if not 0.0 <= agreement <= 1.0:
        raise ValueError(f"Agreement levels must be in [0, 1], got {agreement!r}.")
    labels = np.asarray(labels)
    text_labels = np.asarray(text_labels)
    rng = np.random.default_rng([seed, round(agreement * 1000)])
    by_label = {label: np.flatnonzero(text_labels == label) for label in range(len(EMOTIONS))}
    everything = np.arange(len(text_labels))
    chosen = np.empty(len(labels), dtype=np.int64)
    for index, label in enumerate(labels):
        agreeing = by_label[int(label)]
        disagreeing = everything[text_labels != label]
        want_agreeing = rng.random() < agreement
        pool = agreeing if (want_agreeing and len(agreeing)) or not len(disagreeing) else disagreeing
        chosen[index] = pool[rng.integers(len(pool))]
    achieved = float(np.mean(text_labels[chosen] == labels)) if len(labels) else 0.0
    return chosen, achieved


def _forward(model, batch: dict, device, image: bool = True, text: bool = True):
    inputs = {key: value.to(device) for key, value in batch.items() if key not in ("labels", "valence_arousal_labels")}
    if not image:
        inputs.pop("pixel_values")
    if not text:
        for key in ("input_ids", "attention_mask", "token_type_ids", "text_present"):
            inputs.pop(key, None)
    with torch.no_grad():
        return model(**inputs)


def _numpy(tensor):
    return tensor.float().cpu().numpy() if tensor is not None else None


def collect_logits(model, processor, split, batch_size: int = 32, agreement_levels=DEFAULT_AGREEMENT_LEVELS,
                   seed: int = 0, text_column: str = "text", label_column: str = "label",
                   text_label_column: str = "text_label") -> dict:
    """Run every evaluation condition over `split`, a batch of faces at a time (each face is decoded once).

    Returns `{"labels", "text_labels", "as_paired": {fused, image_only, text_only}, "text_missing", "image_missing",
    "agreement": {level: {"fused", "text_only", "achieved"}}}` with `(n, 8)` logits, and, for a model with
    valence/arousal heads, `"affect": {"labels", "fused", "image_only"}` with `(n, 2)` values (labels NaN where not
    annotated).
    """
    device = next(model.parameters()).device
    image_processor = processor.image_processor
    transform = FaceDialogueTransform(
        image_processor, build_eval_augmentation(image_processor), join_turns=processor.join_turns,
        text_column=text_column, label_column=label_column,
    )
    collate = FaceDialogueCollator(processor, max_length=getattr(processor, "max_length", None))
    raw_texts = split[text_column]
    texts = [transform._text(sample) for sample in raw_texts]
    labels = np.asarray(split[label_column], dtype=np.int64)
    has_text_labels = text_label_column in split.column_names
    text_labels = np.asarray(split[text_label_column], dtype=np.int64) if has_text_labels else None

    pairings = {}
    if has_text_labels:
        for level in agreement_levels:
            pairings[float(level)] = repair_dialogues(labels, text_labels, float(level), seed)

    # Inference never changes the text encoder, and the re-pairings reuse the split's dialogues: encode each once.
    attach_text_feature_cache(model, freeze=False)
    try:
        return _collect(model, collate, transform, split, texts, labels, text_labels, pairings, batch_size, device)
    finally:
        detach_text_feature_cache(model)


def _collect(model, collate, transform, split, texts, labels, text_labels, pairings, batch_size, device) -> dict:
    heads = {"fused": [], "image_only": [], "text_only": [], "text_missing": [], "image_missing": []}
    affect = {"labels": [], "fused": [], "image_only": []}
    repaired = {level: {"fused": [], "text_only": []} for level in pairings}
    transformed = split.with_transform(transform)
    for start in range(0, len(split), batch_size):
        stop = min(start + batch_size, len(split))
        rows = transformed[start:stop]
        features = [
            {"pixel_values": pixel_values, "text": text, "labels": label}
            for pixel_values, text, label in zip(rows["pixel_values"], rows["text"], rows["labels"])
        ]
        batch = collate(features)
        outputs = _forward(model, batch, device)
        if getattr(outputs, "valence_arousal", None) is not None:
            affect["labels"].append(np.asarray(rows["valence_arousal_labels"], dtype=np.float32).reshape(-1, 2))
            affect["fused"].append(_numpy(outputs.valence_arousal))
            affect["image_only"].append(_numpy(outputs.image_valence_arousal))
        heads["fused"].append(_numpy(outputs.logits))
        heads["image_only"].append(_numpy(outputs.image_logits))
        heads["text_only"].append(_numpy(outputs.text_logits))
        heads["text_missing"].append(_numpy(_forward(model, batch, device, text=False).logits))
        heads["image_missing"].append(_numpy(_forward(model, batch, device, image=False).logits))
        for level, (chosen, _) in pairings.items():
            swapped = collate([
                {"pixel_values": feature["pixel_values"], "text": texts[index], "labels": feature["labels"]}
                for feature, index in zip(features, chosen[start:stop])
            ])
            outputs = _forward(model, swapped, device)
            repaired[level]["fused"].append(_numpy(outputs.logits))
            repaired[level]["text_only"].append(_numpy(outputs.text_logits))

    def stack(chunks):
        return np.concatenate(chunks) if chunks else np.zeros((0, len(EMOTIONS)), dtype=np.float32)

    return {
        "labels": labels,
        "text_labels": text_labels,
        "affect": {name: np.concatenate(chunks) for name, chunks in affect.items()} if affect["fused"] else None,
        **{name: stack(chunks) for name, chunks in heads.items()},
        "agreement": {
            level: {"fused": stack(outputs["fused"]), "text_only": stack(outputs["text_only"]),
                    "achieved": pairings[level][1]}
            for level, outputs in repaired.items()
        },
    }


def _summary(logits, labels) -> dict:
    report = classification_report(labels, logits.argmax(axis=1))
    return {"accuracy": report["accuracy"], "macro_f1": report["macro_f1"], "num_samples": report["num_samples"]}


def _calibration(fused, labels, temperature: float) -> dict:
    return {
        "temperature": float(temperature),
        "ece_before": expected_calibration_error(softmax(fused), labels),
        "ece_after": expected_calibration_error(softmax(fused, temperature), labels),
    }


def _as_paired(logits: dict, labels, agrees) -> dict:
    """The heads on the samples whose dialogue agrees with the face, and on those whose dialogue does not."""
    subsets = {}
    for name, mask in (("agree", agrees), ("disagree", ~agrees)):
        if mask.any():
            subsets[name] = {head: _summary(logits[head][mask], labels[mask]) for head in HEADS}
    return subsets


def _agreement_levels(repaired: dict, labels) -> dict:
    """The fused and text-only heads per re-pairing level, highest agreement first."""
    levels = {}
    for level, outputs in sorted(repaired.items(), reverse=True):
        fused = _summary(outputs["fused"], labels)
        text_only = _summary(outputs["text_only"], labels)
        levels[f"{level:.2f}"] = {
            "accuracy": fused["accuracy"],
            "macro_f1": fused["macro_f1"],
            "text_only_accuracy": text_only["accuracy"],
            "text_only_macro_f1": text_only["macro_f1"],
            "achieved_agreement": outputs["achieved"],
        }
    return levels


def build_report(logits: dict, temperature: float = 1.0) -> dict:
    """The `eval_report.json` content from `collect_logits`'s output."""
    labels = logits["labels"]
    calibrated = {"fused": temperature, "image_only": 1.0, "text_only": 1.0}
    report = {
        NUM_SAMPLES: int(len(labels)),
        TEMPERATURE: float(temperature),
        **{head: head_report(logits[head], labels, calibrated[head]) for head in HEADS},
        **{key: head_report(logits[key], labels, temperature) for key in MISSING_MODALITY},
        CALIBRATION: _calibration(logits["fused"], labels, temperature),
    }
    affect = logits.get("affect")
    if affect is not None:
        for head in AFFECT_HEADS:
            # Dimensions nobody annotated in this split are left out (no NaN figures in the JSON).
            figures = {dimension: values for dimension, values in affect_report(affect[head], affect["labels"]).items()
                       if values["num_samples"]}
            if figures:
                report[head][AFFECT] = figures
    text_labels = logits["text_labels"]
    if text_labels is not None:
        # What the text-only head learns is the dialogue's own emotion; against the face label it is only evidence.
        report[TEXT_LABEL_HEAD] = head_report(logits["text_only"], text_labels)
        agrees = text_labels == labels
        report[DATASET_AGREEMENT] = float(agrees.mean()) if len(labels) else 0.0
        report[AS_PAIRED] = _as_paired(logits, labels, agrees)
        report[AGREEMENT_LEVELS] = _agreement_levels(logits["agreement"], labels)
    return report


def write_plots(logits: dict, temperature: float, output_dir: str) -> dict:
    labels = logits["labels"]
    fused = logits["fused"]
    paths = {}
    paths["confusion_matrix"] = plot_confusion_matrix(
        classification_report(labels, fused.argmax(axis=1))["confusion_matrix"],
        os.path.join(output_dir, PLOT_NAMES["confusion_matrix"]), title="Confusion matrix (fused, test)",
    )
    for key, scale, title in (
        ("reliability_diagram", temperature, f"Reliability (fused, T={temperature:.2f})"),
        ("reliability_diagram_uncalibrated", 1.0, "Reliability (fused, T=1)"),
    ):
        probabilities = softmax(fused, scale)
        paths[key] = plot_reliability_diagram(
            reliability_bins(probabilities, labels), os.path.join(output_dir, PLOT_NAMES[key]), title=title,
            ece=expected_calibration_error(probabilities, labels),
        )
    affect = logits.get("affect")
    if affect is not None:
        paths["valence_arousal"] = plot_affect_scatter(
            affect["fused"], affect["labels"], os.path.join(output_dir, PLOT_NAMES["valence_arousal"]),
            title="Valence and arousal (fused, test): predicted vs annotated",
        )
    return {key: os.path.basename(path) for key, path in paths.items()}


def evaluate_checkpoint(model_path: str, data, split: str = "test", output_dir: str | None = None,
                        batch_size: int = 32, agreement_levels=DEFAULT_AGREEMENT_LEVELS, seed: int = 0,
                        device=None, model=None, processor=None) -> dict:
    """Evaluate a checkpoint on `data[split]` and write `eval_report.json` and the plots to `output_dir`
    (default: the checkpoint folder). `data` is a dataset folder or a loaded `DatasetDict`."""
    if batch_size < 1:
        raise ValueError(f"--batch-size must be >= 1, got {batch_size}.")
    if model is None or processor is None:
        resolve_checkpoint(model_path)  # a missing model fails before the data is read
    dataset = load_dataset_dir(data) if isinstance(data, (str, os.PathLike)) else data
    if split not in dataset:
        raise ValueError(f"The dataset has no `{split}` split (it has {list(dataset)}).")
    if len(dataset[split]) == 0:
        raise ValueError(f"The `{split}` split is empty.")
    if model is None or processor is None:
        model, processor = load_checkpoint(model_path, device)
    output_dir = os.fspath(output_dir or model_path)
    os.makedirs(output_dir, exist_ok=True)

    temperature = float(getattr(model.config, "temperature", 1.0) or 1.0)
    logits = collect_logits(model, processor, dataset[split], batch_size, agreement_levels, seed)
    data_path = os.fspath(data) if isinstance(data, (str, os.PathLike)) else None
    report = {"model": os.fspath(model_path), "data": data_path, SPLIT: split, **build_report(logits, temperature)}
    report["plots"] = write_plots(logits, temperature, output_dir)
    with open(os.path.join(output_dir, EVAL_REPORT_NAME), "w", encoding="utf-8") as handle:
        json.dump(report, handle, indent=2)
    return report


def attach_report(checkpoint_dir: str, report: dict) -> None:
    """Store `report` in a local checkpoint folder and re-render its model card from it."""
    from emotifusion_hf.card import write_model_card

    with open(os.path.join(checkpoint_dir, EVAL_REPORT_NAME), "w", encoding="utf-8") as handle:
        json.dump(report, handle, indent=2)
    write_model_card(checkpoint_dir)


def format_summary(report: dict) -> str:
    """A few lines for the terminal: the modality ablation (the text-only head against the face label and against
    the dialogue's own emotion) and the agreement sweep."""
    rows = {**HEADS, TEXT_LABEL_HEAD: "text only vs own label",
            **{key: f"fused, {name}" for key, name in MISSING_MODALITY.items()}}
    lines = [f"{'input':<24}{'accuracy':>10}{'macro-F1':>10}{'ECE':>8}"]
    for key, name in rows.items():
        entry = report.get(key)
        if entry is not None:
            lines.append(f"{name:<24}{entry['accuracy']:>10.3f}{entry['macro_f1']:>10.3f}{entry['ece']:>8.3f}")
    if report.get(AGREEMENT_LEVELS):
        lines.append(f"{'text agrees with face':<24}{'accuracy':>10}{'macro-F1':>10}{'text acc':>10}")
        for level, entry in report[AGREEMENT_LEVELS].items():
            lines.append(f"{float(level):<24.0%}{entry['accuracy']:>10.3f}{entry['macro_f1']:>10.3f}"
                         f"{entry['text_only_accuracy']:>10.3f}")
    for head, name in AFFECT_HEADS.items():
        affect = (report.get(head) or {}).get(AFFECT) or {}
        cells = [f"{dimension} CCC {figures['ccc']:.3f} RMSE {figures['rmse']:.3f}"
                 for dimension, figures in affect.items() if figures.get("num_samples")]
        if cells:
            lines.append(f"{name}: " + "; ".join(cells))
    calibration = report[CALIBRATION]
    lines.append(f"temperature {calibration['temperature']:.3f}: ECE {calibration['ece_before']:.3f} -> "
                 f"{calibration['ece_after']:.3f}")
    return "\n".join(lines)


def run_evaluate(args) -> int:
    """Entry point of `emotifusion evaluate`."""
    levels = tuple(args.agreement_levels) if getattr(args, "agreement_levels", None) else DEFAULT_AGREEMENT_LEVELS
    started = time.perf_counter()
    report = evaluate_checkpoint(
        args.model, args.data, split=args.split, output_dir=args.output_dir, batch_size=args.batch_size,
        agreement_levels=levels, seed=getattr(args, "seed", 0), device=getattr(args, "device", None),
    )
    output_dir = args.output_dir or args.model
    if os.path.isdir(args.model) and os.path.abspath(output_dir) == os.path.abspath(args.model):
        # The report now sits in the checkpoint: its model card shows the figures.
        attach_report(args.model, report)
    print(format_summary(report))
    print(f"{report[NUM_SAMPLES]} `{args.split}` samples in {time.perf_counter() - started:.1f}s; "
          f"report: {os.path.join(output_dir, EVAL_REPORT_NAME)}")
    return 0


__all__ = [
    "DEFAULT_AGREEMENT_LEVELS",
    "attach_report",
    "build_report",
    "collect_logits",
    "evaluate_checkpoint",
    "format_summary",
    "load_checkpoint",
    "repair_dialogues",
    "run_evaluate",
]
