"""The bench's fusion section end to end at a toy size: data, demo recipe, evidence fitting, report, table."""

import pytest

from bench import fusion
from bench.report import fusion_runs_table


@pytest.mark.slow
def test_fusion_section_runs_and_reports_the_margin():
    results = fusion.run(per_class=2, agreements=(1.0,), eval_per_class=1,
                         train_overrides=("--num_train_epochs", "1", "--demo_eval_per_class", "1"))
    (run,) = results["runs"]
    assert run["agreement"] == 1.0 and run["per_class"] == 2
    best_single = max(run["image_only_macro_f1"], run["text_only_macro_f1"])
    assert run["fusion_margin"] == pytest.approx(run["fused_macro_f1"] - best_single)
    assert results["worst_fusion_margin"] == run["fusion_margin"]
    assert run["text_missing_margin"] == pytest.approx(run["text_missing_macro_f1"] - run["image_only_macro_f1"])
    assert run["image_missing_margin"] == pytest.approx(run["image_missing_macro_f1"] - run["text_only_macro_f1"])
    assert results["worst_missing_margin"] == min(run["text_missing_margin"], run["image_missing_margin"])
    table = fusion_runs_table({"fusion": results})
    assert table[2].startswith("| text agreement") and table[4].startswith("| 1 |")
    assert table[4].count("|") == table[2].count("|") == 10
