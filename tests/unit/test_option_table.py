"""The option table (seal_ocr.params.OPTIONS) drives every list of options: the parser, the
client's flags, the HTTP request schema and the README table."""

from __future__ import annotations

import ast
import json
import math
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from seal_api.options import pipeline_options
from seal_api.schemas import InferRequest
from seal_client.cli import parse_args
from seal_ocr.params import (
    OPTION_NAMES,
    OPTIONS,
    Choice,
    Flag,
    Kind,
    Number,
    Option,
    Pair,
    PerClass,
    options_markdown,
    parse_options,
)

REPO = Path(__file__).resolve().parents[2]
README_BEGIN = "<!-- options:begin"
README_END = "<!-- options:end -->"


def sample(kind: Kind, default: Any) -> Any:
    """A valid JSON value of ``kind`` unlike ``default`` (where the kind allows one)."""
    if isinstance(kind, Flag):
        return not default
    if isinstance(kind, Number):
        value = kind.low + 1 if math.isinf(kind.high) else (kind.low + kind.high) / 2
        return int(value) if kind.integer else value
    if isinstance(kind, Choice):
        return next(value for value in kind.values if value != default)
    if isinstance(kind, PerClass):
        return {"1": sample(kind.inner, default)}
    if isinstance(kind, Pair):
        return [sample(kind.inner, default)] * 2
    raise AssertionError(f"no sample for {kind!r}")


SAMPLES = {option.name: sample(option.kind, option.default) for option in OPTIONS}


def test_readme_table_is_the_rendered_table():
    text = (REPO / "README.md").read_text()
    begin = text.index(README_BEGIN)
    block = text[text.index("\n", begin) + 1 : text.index(README_END)]
    assert block == options_markdown(), (
        "README.md's option table differs from seal_ocr.params.OPTIONS; replace the lines "
        f"between the options markers with:\n{options_markdown()}"
    )


def test_every_option_is_a_command_line_flag_with_its_json_value():
    argv = ["--input", "x.png"]
    for name, value in SAMPLES.items():
        text = value if isinstance(value, str) else json.dumps(value)
        if isinstance(value, bool):
            text = str(value)  # the flags take True/False as PaddleX's command line does
        argv += [f"--{name}", text]
    args = parse_args(argv)
    assert args.options == SAMPLES
    assert parse_options(args.options) == parse_options(SAMPLES)


@pytest.mark.parametrize(
    ("text", "value"),
    [("large", "large"), ('"union"', "union"), ('{"2": "small"}', {"2": "small"})],
)
def test_merge_mode_flag_takes_a_bare_word_a_quoted_one_or_json(text, value):
    args = parse_args(["--input", "x", "--layout_merge_bboxes_mode", text])
    assert args.options == {"layout_merge_bboxes_mode": value}


def test_unset_flags_send_no_options():
    assert parse_args(["--input", "x.png"]).options == {}


def test_every_option_is_a_request_field_under_its_camel_case_name():
    fields = {option.camel: SAMPLES[option.name] for option in OPTIONS}
    request = InferRequest.model_validate({"file": "x", **fields})
    assert pipeline_options(request.model_dump()) == SAMPLES
    for option in OPTIONS:
        description = InferRequest.model_fields[option.camel].description
        assert option.kind.describe() in description
        assert json.dumps(option.default) in description


@pytest.mark.parametrize("option", OPTIONS, ids=OPTION_NAMES)
def test_request_fields_are_strictly_typed(option: Option):
    wrong = 5 if isinstance(option.kind, Choice) else "7"
    with pytest.raises(ValidationError):
        InferRequest.model_validate({"file": "x", option.camel: wrong})


DERIVED = (
    "client/seal_client/cli.py",
    "serving/seal_api/schemas.py",
    "serving/seal_api/options.py",
)


def _spelled(path: Path) -> set[str]:
    """Every string constant, name, attribute and keyword of a module."""
    spelled = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            spelled.add(node.value.lstrip("-"))  # "--flag" too
        elif isinstance(node, ast.Name):
            spelled.add(node.id)
        elif isinstance(node, ast.Attribute):
            spelled.add(node.attr)
        elif isinstance(node, ast.keyword) and node.arg:
            spelled.add(node.arg)
    return spelled


@pytest.mark.parametrize("module", DERIVED)
def test_derived_modules_spell_no_option(module):
    names = {option.name for option in OPTIONS} | {option.camel for option in OPTIONS}
    assert names & _spelled(REPO / module) == set()
