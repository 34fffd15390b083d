"""The `emotifusion` command as a user meets it: help pages, exit statuses (0 ok, 1 failed, 2 bad arguments), one-line
errors, Hub ids loaded from the local cache, and no library noise without `--verbose`."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from emotifusion_hf.cli import build_parser, main


ROOT = Path(__file__).resolve().parent.parent


def _emotifusion(*argv, env=None, cwd=None):
    return subprocess.run([sys.executable, "-m", "emotifusion_hf.cli", *argv], capture_output=True, text=True,
                          timeout=300, cwd=cwd or ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})


def _subcommands():
    parser = build_parser()
    return parser._subparsers._group_actions[0].choices  # name -> its parser


def test_every_subcommand_help_says_what_it_does_with_an_example_and_every_option_is_explained():
    for name, parser in _subcommands().items():
        assert parser.description and len(parser.description) > 40, name
        assert parser.epilog.startswith("examples:") and f"emotifusion {name} " in parser.epilog, name
        for action in parser._actions:
            assert action.help, (name, action.option_strings)


def test_exit_statuses_and_one_line_errors():
    assert _emotifusion("--help").returncode == 0
    unknown_option = _emotifusion("predict", "--model", "m", "--text", "hi", "--colour", "red")
    assert unknown_option.returncode == 2 and "unrecognized arguments: --colour red" in unknown_option.stderr
    combination = _emotifusion("predict", "--model", "m", "--text", "hi", "--output", "out.jsonl")
    assert combination.returncode == 2 and "--output writes the results of --inputs" in combination.stderr
    assert "torch" not in combination.stderr
    failed = _emotifusion("predict", "--model", "no/such-model", "--text", "hi", env={"HF_HUB_OFFLINE": "1"})
    assert failed.returncode == 1 and "Traceback" not in failed.stderr
    assert failed.stderr.strip().splitlines() == [failed.stderr.strip()]  # one line


def test_a_hub_id_missing_from_the_cache_offline_says_how_to_fetch_it(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)
    assert main(["predict", "--model", "someone/not-cached", "--text", "hi"]) == 1
    error = capsys.readouterr().err.strip()
    assert "not in the local Hugging Face cache" in error and "`hf download someone/not-cached`" in error
    assert main(["evaluate", "--model", "someone/not-cached", "--data", str(tmp_path), "--output-dir",
                 str(tmp_path / "report")]) == 1
    assert "`hf download someone/not-cached`" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:  # a Hub id has no folder to write the report into
        main(["evaluate", "--model", "someone/not-cached", "--data", str(tmp_path)])
    assert exit_info.value.code == 2 and "--output-dir" in capsys.readouterr().err


def test_a_hub_id_loads_from_the_local_cache_offline_and_prints_no_loading_bar(tiny_checkpoint, tmp_path):
    # The huggingface_hub cache layout: hub/models--owner--name/{refs/main, snapshots/<revision>/...}.
    revision = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "hf-home" / "hub" / "models--you--emotifusion-tiny"
    shutil.copytree(tiny_checkpoint, repo / "snapshots" / revision)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(revision)
    result = _emotifusion("predict", "--model", "you/emotifusion-tiny", "--text", "I am so happy", "--json",
                          env={"HF_HOME": str(tmp_path / "hf-home"), "HF_HUB_OFFLINE": "1"}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert len(json.loads(result.stdout)["scores"]) == 8
    assert "Loading weights" not in result.stderr and result.stderr.strip() == ""
