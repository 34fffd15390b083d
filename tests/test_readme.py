"""The README's quickstart runs as written."""

import re
from pathlib import Path


def test_readme_quickstart_runs(tmp_path, monkeypatch):
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    quickstart = re.findall(r"```python\n(.*?)```", readme, re.S)[0]
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(compile(quickstart, "README.md quickstart", "exec"), namespace)
    assert namespace["outputs"].logits.shape == (2, 8)
    assert (tmp_path / "my-emotifusion" / "modeling_emotifusion.py").exists()
