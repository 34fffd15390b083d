"""What the int8 fast path costs in quality: macro-F1 of a demo-trained checkpoint on its demo test split, through
the fp32 pipeline and through the fast path (`quantize=True`, with `calibration_images` taken from the validation
split, never the test split).

The checkpoint is the one `make demo` / `emotifusion demo --output-dir DIR` leaves in `DIR/model` (with the data in
`DIR/data`); `EMOTIFUSION_BENCH_DEMO_DIR` points at `DIR` (default `runs/demo`). Without one the section says so.
Besides the macro-F1 drop it reports how often int8 and fp32 predict the same emotion, and the standard error of
the drop (paired bootstrap), since a few hundred test samples cannot resolve a drop of 0.01 on their own.
"""

import os

CALIBRATION_IMAGES = 64
BOOTSTRAP_ROUNDS = 1000


def run(quick: bool = False) -> dict:
    demo_dir = os.environ.get("EMOTIFUSION_BENCH_DEMO_DIR", "runs/demo")
    model_dir, data_dir = os.path.join(demo_dir, "model"), os.path.join(demo_dir, "data")
    if not (os.path.isfile(os.path.join(model_dir, "config.json")) and os.path.isdir(data_dir)):
        return {"skipped": f"no demo run in {demo_dir!r}: run `make demo` (or set EMOTIFUSION_BENCH_DEMO_DIR) first"}

    import datasets
    import numpy as np

    from emotifusion_hf.predict import load_pipeline
    from training.metrics import classification_report

    splits = datasets.load_from_disk(data_dir)
    test = splits["test"]
    validation = splits["validation"]
    calibration_images = list(validation.select(range(min(len(validation), CALIBRATION_IMAGES)))["image"])
    inputs = [{"image": row["image"], "text": row["dialogue"] or row["text"]} for row in test]
    labels = np.array(list(test["label"]))
    results = {"demo_dir": demo_dir, "test_samples": len(test), "calibration_images": len(calibration_images)}
    predictions = {}
    for name, options in (("fp32", {}), ("int8", {"quantize": True, "calibration_images": calibration_images})):
        pipe = load_pipeline(model_dir, device="cpu", **options)
        outputs = pipe(inputs, batch_size=32, top_k=1)
        predictions[name] = np.array([pipe.model.config.label2id[output[0]["label"]] for output in outputs])
        report = classification_report(labels, predictions[name])
        results[f"{name}_accuracy"] = report["accuracy"]
        results[f"{name}_macro_f1"] = report["macro_f1"]
    results["quantized_macro_f1_drop"] = results["fp32_macro_f1"] - results["int8_macro_f1"]
    results["int8_prediction_agreement"] = float(np.mean(predictions["fp32"] == predictions["int8"]))
    rng = np.random.default_rng(0)
    drops = []
    for _ in range(BOOTSTRAP_ROUNDS // (4 if quick else 1)):
        rows = rng.integers(0, len(labels), len(labels))
        drops.append(
            classification_report(labels[rows], predictions["fp32"][rows])["macro_f1"]
            - classification_report(labels[rows], predictions["int8"][rows])["macro_f1"]
        )
    results["quantized_macro_f1_drop_standard_error"] = float(np.std(drops))
    return results


__all__ = ["run"]
