"""Request options: PaddleX names and defaults, strict validation, JSON round trip."""

import json

import pytest

from seal_ocr.errors import InvalidOptionError
from seal_ocr.params import (
    OPTION_NAMES,
    OPTIONS,
    PipelineOptions,
    options_from_json,
    parse_options,
    parse_options_json,
)


def test_defaults_are_paddlex_seal_defaults():
    options = parse_options({})
    assert options.use_layout_detection is True
    assert options.layout.threshold == 0.5 and options.layout.nms is True
    assert options.layout.unclip_ratio == 1.0 and options.layout.merge_bboxes_mode == "large"
    assert options.seal_det.as_text_det_params() == {
        "limit_side_len": 736,
        "limit_type": "min",
        "thresh": 0.2,
        "max_side_limit": 4000,
        "box_thresh": 0.6,
        "unclip_ratio": 0.5,
    }
    assert options.seal_rec_score_thresh == 0.0


def test_every_option_is_applied():
    options = parse_options(
        {
            "use_layout_detection": False,
            "layout_threshold": {"2": 0.3},
            "layout_nms": False,
            "layout_unclip_ratio": [1.1, 1.2],
            "layout_merge_bboxes_mode": "union",
            "seal_det_limit_side_len": 960,
            "seal_det_limit_type": "max",
            "seal_det_thresh": 0.3,
            "seal_det_box_thresh": 0.5,
            "seal_det_unclip_ratio": 1.5,
            "seal_rec_score_thresh": 0.4,
        }
    )
    assert options.use_layout_detection is False
    assert options.layout.threshold == {2: 0.3}
    assert options.layout.nms is False
    assert options.layout.unclip_ratio == (1.1, 1.2)
    assert options.layout.merge_bboxes_mode == "union"
    det = options.seal_det
    assert (det.limit_side_len, det.limit_type, det.thresh) == (960, "max", 0.3)
    assert (det.box_thresh, det.unclip_ratio) == (0.5, 1.5)
    assert options.seal_rec_score_thresh == 0.4


def test_zero_falls_back_to_default_as_in_paddlex():
    # PaddleX resolves det overrides with `x or default`
    assert parse_options({"seal_det_thresh": 0}).seal_det.thresh == 0.2
    assert parse_options({"seal_det_limit_side_len": 0}).seal_det.limit_side_len == 736


def test_none_means_not_set():
    assert parse_options({"seal_det_thresh": None, "layout_nms": None}) == PipelineOptions()


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ({"seal_det_thresh": -0.1}, "seal_det_thresh"),
        ({"seal_det_thresh": 1.5}, "seal_det_thresh"),
        ({"seal_det_thresh": "0.3"}, "must be a number"),
        ({"seal_det_thresh": True}, "must be a number"),
        ({"seal_det_limit_side_len": 12.5}, "integer"),
        ({"seal_det_limit_type": "longest"}, "seal_det_limit_type"),
        ({"layout_merge_bboxes_mode": "biggest"}, "layout_merge_bboxes_mode"),
        ({"layout_unclip_ratio": [1, 2, 3]}, "layout_unclip_ratio"),
        ({"layout_threshold": {"x": 0.3}}, "class id"),
        ({"use_layout_detection": "yes"}, "true or false"),
        ({"use_doc_unwarping": 1}, "true or false"),
        ({"unknown_knob": 1}, "unknown option"),
        ({"seal_rec_score_thresh": float("nan")}, "seal_rec_score_thresh"),
    ],
)
def test_bad_values_name_the_option(raw, fragment):
    with pytest.raises(InvalidOptionError, match=fragment):
        parse_options(raw)


def test_doc_preprocessor_off_is_accepted():
    assert parse_options({"use_doc_orientation_classify": False}) == PipelineOptions()


def test_json_parsing_errors():
    with pytest.raises(InvalidOptionError, match="not valid JSON"):
        parse_options_json(b"{nope")
    with pytest.raises(InvalidOptionError, match="JSON object"):
        parse_options_json(b"[1, 2]")
    with pytest.raises(InvalidOptionError, match="UTF-8"):
        parse_options_json(b"\xff\xfe")
    assert parse_options_json(b"") == PipelineOptions()
    assert parse_options_json(None) == PipelineOptions()


def test_json_round_trip_keeps_every_value():
    options = parse_options(
        {
            "layout_threshold": {"2": 0.25, "0": 0.7},
            "layout_unclip_ratio": [1.1, 1.3],
            "layout_merge_bboxes_mode": {"2": "small"},
            "seal_det_limit_type": "max",
        }
    )
    assert options_from_json(options.to_json()) == options


def test_option_names_are_paddlex_predict_keywords_then_ours():
    assert OPTION_NAMES == (
        "use_doc_orientation_classify",
        "use_doc_unwarping",
        "use_layout_detection",
        "layout_threshold",
        "layout_nms",
        "layout_unclip_ratio",
        "layout_merge_bboxes_mode",
        "seal_det_limit_side_len",
        "seal_det_limit_type",
        "seal_det_thresh",
        "seal_det_box_thresh",
        "seal_det_unclip_ratio",
        "seal_rec_score_thresh",
        "keep_nested_seals",
        "use_textline_orientation",
        "use_seal_quarter_turns",
    )
    assert [option.name for option in OPTIONS if not option.paddlex] == [
        "keep_nested_seals",
        "use_textline_orientation",
        "use_seal_quarter_turns",
    ]


def test_table_defaults_are_the_pipeline_defaults():
    defaults = {option.name: option.default for option in OPTIONS}
    assert defaults == {
        "use_doc_orientation_classify": False,
        "use_doc_unwarping": False,
        "use_layout_detection": True,
        "layout_threshold": 0.5,
        "layout_nms": True,
        "layout_unclip_ratio": 1.0,
        "layout_merge_bboxes_mode": "large",
        "seal_det_limit_side_len": 736,
        "seal_det_limit_type": "min",
        "seal_det_thresh": 0.2,
        "seal_det_box_thresh": 0.6,
        "seal_det_unclip_ratio": 0.5,
        "seal_rec_score_thresh": 0.0,
        "keep_nested_seals": False,
        "use_textline_orientation": False,
        "use_seal_quarter_turns": False,
    }
    # setting every option to its default changes nothing
    assert parse_options(defaults) == PipelineOptions()


def test_every_stored_option_lands_in_its_own_field():
    # a value unlike the default, per option: each moves exactly the field its row names
    changed = {
        "use_doc_orientation_classify": True,
        "use_doc_unwarping": True,
        "use_layout_detection": False,
        "layout_threshold": 0.7,
        "layout_nms": False,
        "layout_unclip_ratio": 1.5,
        "layout_merge_bboxes_mode": "small",
        "seal_det_limit_side_len": 960,
        "seal_det_limit_type": "max",
        "seal_det_thresh": 0.3,
        "seal_det_box_thresh": 0.5,
        "seal_det_unclip_ratio": 1.5,
        "seal_rec_score_thresh": 0.4,
        "keep_nested_seals": True,
        "use_textline_orientation": True,
        "use_seal_quarter_turns": True,
    }
    stored = [option for option in OPTIONS if option.path]
    assert {option.name for option in stored} == set(changed)
    base = json.loads(PipelineOptions().to_json())
    for option in stored:
        after = json.loads(parse_options({option.name: changed[option.name]}).to_json())
        differences = _leaf_differences(base, after)
        assert differences == [option.path], option.name


def _leaf_differences(a: dict, b: dict, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = []
    for key in a:
        if isinstance(a[key], dict) and isinstance(b[key], dict):
            out += _leaf_differences(a[key], b[key], (*prefix, key))
        elif a[key] != b[key]:
            out.append((*prefix, key))
    return out


def test_zero_falls_back_to_the_base_not_the_built_in_default():
    base = parse_options({"seal_det_thresh": 0.35, "seal_det_limit_side_len": 1024})
    options = parse_options({"seal_det_thresh": 0, "seal_det_limit_side_len": 0}, base)
    assert (options.seal_det.thresh, options.seal_det.limit_side_len) == (0.35, 1024)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"layout_threshold": {"1": 1.5}}, "option 'layout_threshold[1]' must be in [0.0, 1.0]"),
        ({"layout_threshold": {"-1": 0.5}}, "option 'layout_threshold': class id -1 is negative"),
        ({"layout_unclip_ratio": [1.0, 0]}, "option 'layout_unclip_ratio' must be in"),
        ({"layout_merge_bboxes_mode": {"2": "big"}}, "option 'layout_merge_bboxes_mode[2]'"),
        ({"seal_det_limit_side_len": 20000}, "must be in [0.0, 16000], got 20000.0"),
        ({"seal_det_limit_side_len": True}, "must be an integer, got True"),
        ({"layout_nms": 0}, "option 'layout_nms' must be true or false, got 0"),
    ],
)
def test_error_messages_name_the_option_and_the_rule(raw, message):
    with pytest.raises(InvalidOptionError) as caught:
        parse_options(raw)
    assert message in str(caught.value)


def test_keep_nested_seals_is_our_extension_off_by_default():
    assert parse_options({}).layout.keep_nested_seals is False
    assert parse_options({"keep_nested_seals": True}).layout.keep_nested_seals is True
    with pytest.raises(InvalidOptionError, match="keep_nested_seals"):
        parse_options({"keep_nested_seals": 1})
    assert options_from_json(
        parse_options({"keep_nested_seals": True}).to_json()
    ).layout.keep_nested_seals


def test_use_textline_orientation_is_our_extension_off_by_default():
    assert parse_options({}).use_textline_orientation is False
    options = parse_options({"use_textline_orientation": True})
    assert options.use_textline_orientation is True
    assert options_from_json(options.to_json()).use_textline_orientation is True
    with pytest.raises(InvalidOptionError, match="use_textline_orientation"):
        parse_options({"use_textline_orientation": "yes"})


def test_use_seal_quarter_turns_is_our_extension_off_by_default():
    assert parse_options({}).use_seal_quarter_turns is False
    options = parse_options({"use_seal_quarter_turns": True})
    assert options.use_seal_quarter_turns is True and not options.use_textline_orientation
    assert options_from_json(options.to_json()).use_seal_quarter_turns is True
    with pytest.raises(InvalidOptionError, match="use_seal_quarter_turns"):
        parse_options({"use_seal_quarter_turns": 1})
