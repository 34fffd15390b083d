"""`python -m dataset_builder build`: its arguments reach the builder config by name."""

import dataclasses

import pytest

from dataset_builder import DEMO_DEFAULTS, EmotiFusionBuilderConfig
from dataset_builder.__main__ import build_parser
from dataset_builder.build_command import config_kwargs_from_args


def parse(*arguments):
    return build_parser().parse_args(["build", "--output", "out", *arguments])


def test_arguments_named_after_config_fields_reach_the_config():
    args = parse("--source", "demo", "--per-class", "3", "--face-variation", "0.5", "--strict")
    kwargs = config_kwargs_from_args(args)
    assert kwargs["per_class"] == 3 and kwargs["face_variation"] == 0.5 and kwargs["strict"] is True
    assert "source" not in kwargs and "output" not in kwargs and "overwrite" not in kwargs
    fields = {field.name for field in dataclasses.fields(EmotiFusionBuilderConfig)}
    assert set(kwargs) <= fields
    assert {"data_dir", "layout", "seed", "agreement", "dialogue_backend", "llm_model"} <= set(kwargs)


def test_unset_arguments_keep_the_config_defaults():
    kwargs = config_kwargs_from_args(parse("--source", "demo"))
    assert kwargs["per_class"] is None and kwargs["strict"] is None and kwargs["eval_per_class"] is None
    assert kwargs["agreement"] == DEMO_DEFAULTS["agreement"] and kwargs["layout"] == "auto"


def test_unknown_source_and_layout_are_refused_by_the_parser(capsys):
    with pytest.raises(SystemExit):
        parse("--source", "voc")
    with pytest.raises(SystemExit):
        parse("--source", "affectnet", "--layout", "voc")
    assert "'voc'" in capsys.readouterr().err
