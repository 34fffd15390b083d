"""What the int8 fast path costs in quality: macro-F1 of a demo-trained checkpoint on its demo test split, through
the fp32 pipeline and through `quantize=True`.

The checkpoint is the one `make demo` / `emotifusion demo --output-dir DIR` leaves in `DIR/model` (with the data in
`DIR/data`); `EMOTIFUSION_BENCH_DEMO_DIR` points at `DIR` (default `runs/demo`). Without one the section says so.
"""

import os


def run(quick: bool = False) -> dict:
    demo_dir = os.environ.get("EMOTIFUSION_BENCH_DEMO_DIR", "runs/demo")
    model_dir, data_dir = os.path.join(demo_dir, "model"), os.path.join(demo_dir, "data")
    if not (os.path.isfile(os.path.join(model_dir, "config.json")) and os.path.isdir(data_dir)):
        return {"skipped": f"no demo run in {demo_dir!r}: run `make demo` (or set EMOTIFUSION_BENCH_DEMO_DIR) first"}

    import datasets
    import numpy as np

    from emotifusion_hf.predict import load_pipeline
    from training.metrics import classification_report

    test = datasets.load_from_disk(data_dir)["test"]
    if quick:
        test = test.select(range(min(len(test), 96)))
    inputs = [{"image": row["image"], "text": row["dialogue"] or row["text"]} for row in test]
    labels = np.array(test["label"])
    results = {"demo_dir": demo_dir, "test_samples": len(test)}
    for name, quantize in (("fp32", False), ("int8", True)):
        pipe = load_pipeline(model_dir, device="cpu", quantize=quantize)
        outputs = pipe(inputs, batch_size=32, top_k=1)
        predictions = np.array([pipe.model.config.label2id[output[0]["label"]] for output in outputs])
        report = classification_report(labels, predictions)
        results[f"{name}_accuracy"] = report["accuracy"]
        results[f"{name}_macro_f1"] = report["macro_f1"]
    results["quantized_macro_f1_drop"] = results["fp32_macro_f1"] - results["int8_macro_f1"]
    return results


__all__ = ["run"]
