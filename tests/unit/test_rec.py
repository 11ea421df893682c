"""Unit tests of ``seal_ocr.rec``: rec input width, resize/normalise/pad, CTC decoding, dictionary.

Expected values come from PaddleX's rules (``docs/pipeline.md`` §7, PaddleX's
``text_recognition/processors.py`` and PaddleOCR's dictionary reader), worked out by hand.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from seal_ocr.errors import InvalidImageError
from seal_ocr.rec import (
    REC_IMAGE_HEIGHT,
    REC_MAX_WIDTH,
    CTCDecoder,
    load_characters,
    preprocess_rec,
    rec_input_width,
)
from tests.conftest import raw_model

# ---------------------------------------------------------------------------------------------
# Input width and preprocessing
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("h", "w", "expected"),
    [
        (32, 100, 320),  # narrower than 320/48: base width
        (48, 320, 320),  # exactly the base ratio
        (32, 1000, 1500),  # 48 * 31.25
        (10, 237, 1137),  # int(48 * 23.7) = int(1137.6): truncated
        (10, 666, 3196),  # int(3196.8)
        (48, 3200, 3200),  # at the cap: not squashed
        (10, 1000, REC_MAX_WIDTH),  # 4800 > 3200: squashed to 3200
    ],
)
def test_rec_input_width(h: int, w: int, expected: int) -> None:
    assert rec_input_width(h, w) == expected


def _white(h: int, w: int) -> np.ndarray:
    return np.full((h, w, 3), 255, dtype=np.uint8)


@pytest.mark.parametrize(
    ("h", "w", "width", "resized"),
    [
        (20, 50, 320, 120),  # ceil(48 * 2.5) = 120 columns of line, 200 of padding
        (7, 10, 320, 69),  # ceil(68.57) = 69
        (10, 237, 1137, 1137),  # ceil(1137.6) = 1138 > W: clamped to W, no padding
        (10, 1000, 3200, 3200),  # squashed to 3200
    ],
)
def test_preprocess_shape_resized_width_and_zero_padding(
    h: int, w: int, width: int, resized: int
) -> None:
    x = preprocess_rec(_white(h, w))
    assert x.dtype == np.float32
    assert x.shape == (3, REC_IMAGE_HEIGHT, width)
    np.testing.assert_array_equal(x[:, :, :resized], 1.0)  # white -> (1 - 0.5) / 0.5
    assert np.all(x[:, :, resized:] == 0.0)  # padding is exactly 0.0, not -1.0


def test_preprocess_pads_to_a_given_target_width() -> None:
    x = preprocess_rec(_white(20, 50), target_width=400)
    assert x.shape == (3, 48, 400)
    np.testing.assert_array_equal(x[:, :, :120], 1.0)
    assert np.all(x[:, :, 120:] == 0.0)
    with pytest.raises(ValueError, match="target_width"):
        preprocess_rec(_white(20, 50), target_width=300)


def test_preprocess_keeps_bgr_and_value_range() -> None:
    line = np.zeros((48, 320, 3), dtype=np.uint8)
    line[:, :] = (255, 0, 51)  # B, G, R
    x = preprocess_rec(line)
    np.testing.assert_allclose(x[:, 10, 10], [1.0, -1.0, -0.6], atol=1e-6)
    rng = np.random.default_rng(3)
    x = preprocess_rec(rng.integers(0, 256, size=(31, 200, 3), dtype=np.uint8))
    assert x.min() >= -1.0 and x.max() <= 1.0


def test_preprocess_normalises_in_float32_steps() -> None:
    # A 48 x 320 line is not resized; PaddleX: astype(float32) / 255, -= 0.5, /= 0.5.
    values = np.minimum(np.arange(320), 255).astype(np.uint8)
    line = np.ascontiguousarray(np.broadcast_to(values[None, :, None], (48, 320, 3)))
    x = preprocess_rec(line)
    expected = (values.astype(np.float32) / np.float32(255) - np.float32(0.5)) / np.float32(0.5)
    for c in range(3):
        np.testing.assert_array_equal(x[c, 0], expected)


@pytest.mark.parametrize(
    "line",
    [
        np.zeros((20, 50, 3), dtype=np.float32),
        np.zeros((20, 50), dtype=np.uint8),
        np.zeros((0, 50, 3), dtype=np.uint8),
    ],
)
def test_preprocess_rejects_bad_lines(line: np.ndarray) -> None:
    with pytest.raises(InvalidImageError):
        preprocess_rec(line)


# ---------------------------------------------------------------------------------------------
# CTC decoding on hand-made probabilities
# ---------------------------------------------------------------------------------------------

CHARS = ["h", "e", "l", "o"]  # classes: 0 blank, 1 h, 2 e, 3 l, 4 o, 5 space
C_BLANK, C_H, C_E, C_L, C_O, C_SPACE = range(6)


def _probs(steps: list[tuple[int, float]], num_classes: int = 6) -> np.ndarray:
    """(T, C) float32: each row puts p on its class and shares 1 - p over the others."""
    out = np.empty((len(steps), num_classes), dtype=np.float32)
    for t, (cls, p) in enumerate(steps):
        out[t] = (1.0 - p) / (num_classes - 1)
        out[t, cls] = p
    return out


def test_decoder_classes() -> None:
    decoder = CTCDecoder(CHARS)
    assert decoder.num_classes == 6
    assert decoder.classes[C_SPACE] == " " and decoder.classes[1:5] == tuple(CHARS)
    assert CTCDecoder(CHARS, use_space_char=False).num_classes == 5


def test_ctc_collapses_repeats_drops_blanks_and_averages_kept_probs() -> None:
    steps = [(C_H, 0.9), (C_H, 0.8), (C_E, 0.8), (C_L, 0.7), (C_BLANK, 0.9), (C_L, 0.6), (C_O, 0.5)]
    text, score = CTCDecoder(CHARS).decode(_probs(steps))
    assert text == "hello"  # the blank separates the two l's
    # kept: h(0.9), e(0.8), l(0.7), l(0.6), o(0.5); the repeated h and the blank are not averaged
    assert score == pytest.approx(0.7, abs=1e-6)
    assert isinstance(score, float)


def test_ctc_repeat_without_blank_is_one_letter() -> None:
    text, score = CTCDecoder(CHARS).decode(_probs([(C_L, 0.9), (C_L, 0.5)]))
    assert (text, score) == ("l", pytest.approx(0.9, abs=1e-6))


def test_ctc_all_blank_is_empty_with_zero_score() -> None:
    text, score = CTCDecoder(CHARS).decode(_probs([(C_BLANK, 0.99)] * 5))
    assert text == "" and score == 0.0 and isinstance(score, float)
    assert CTCDecoder(CHARS).decode(np.zeros((0, 6), np.float32)) == ("", 0.0)


def test_ctc_space_is_the_last_class() -> None:
    steps = [(C_BLANK, 0.9), (C_H, 0.9), (C_SPACE, 0.6), (C_E, 0.9)]
    assert CTCDecoder(CHARS).decode(_probs(steps))[0] == "h e"


def test_ctc_decode_batch() -> None:
    batch = np.stack(
        [_probs([(C_O, 0.8), (C_BLANK, 0.9)]), _probs([(C_BLANK, 0.9), (C_BLANK, 0.9)])]
    )
    results = CTCDecoder(CHARS).decode_batch(batch)
    assert [t for t, _ in results] == ["o", ""]
    assert results[0][1] == pytest.approx(0.8, abs=1e-6) and results[1][1] == 0.0


def test_ctc_validates_input() -> None:
    decoder = CTCDecoder(CHARS)
    with pytest.raises(ValueError, match="classes"):
        decoder.decode(np.zeros((4, 7), np.float32))
    with pytest.raises(ValueError, match="classes"):
        CTCDecoder(CHARS, use_space_char=False).decode(_probs([(C_H, 0.9)]))
    with pytest.raises(ValueError, match=r"\(T, C\)"):
        decoder.decode(np.zeros((1, 4, 6), np.float32))
    with pytest.raises(ValueError, match=r"\(N, T, C\)"):
        decoder.decode_batch(np.zeros((4, 6), np.float32))
    with pytest.raises(ValueError, match="float32"):
        decoder.decode(np.zeros((4, 6), np.float64))
    with pytest.raises(TypeError):
        CTCDecoder("helo")


# ---------------------------------------------------------------------------------------------
# Dictionary file
# ---------------------------------------------------------------------------------------------


def test_load_characters_reads_like_paddleocr(tmp_path: Path) -> None:
    path = tmp_path / "dict.txt"
    # a, a single space, an empty line, CRLF, a CJK char, a leading CR, U+2028 (not a line
    # break for readlines()), and a last line without newline
    path.write_bytes("a\n \n\nb\r\n中\n\rc\n\u2028\nd".encode())
    assert load_characters(path) == ["a", " ", "", "b", "中", "c", "\u2028", "d"]


def test_load_characters_round_trip(tmp_path: Path) -> None:
    chars = ["0", "1", "印", "章", " ", "%", "é"]
    path = tmp_path / "keys.txt"
    path.write_text("".join(c + "\n" for c in chars), encoding="utf-8")
    assert load_characters(path) == chars  # the final newline adds no empty entry
    decoder = CTCDecoder(load_characters(path))
    assert decoder.num_classes == len(chars) + 2


# ---------------------------------------------------------------------------------------------
# Real rec model (stand-in PP-OCRv4 rec ONNX, dictionary in its metadata)
# ---------------------------------------------------------------------------------------------


def characters_from_onnx_metadata(model_path: Path) -> list[str]:
    """The dictionary RapidOCR stores in the ONNX ``character`` metadata, one per line."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    return session.get_modelmeta().custom_metadata_map["character"].split("\n")


def test_real_rec_model_reads_printed_digits() -> None:
    import onnxruntime as ort

    model = raw_model("ch_PP-OCRv4_rec_infer.onnx")
    characters = characters_from_onnx_metadata(model)
    assert len(characters) == 6623
    decoder = CTCDecoder(characters)

    text = "20261123"
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 2.0, 3)
    line = np.full((th + base + 20, tw + 20, 3), 255, dtype=np.uint8)
    cv2.putText(line, text, (10, 10 + th), cv2.FONT_HERSHEY_SIMPLEX, 2.0, (0, 0, 0), 3)

    x = preprocess_rec(line)
    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    (probs,) = session.run(None, {"x": x[None]})
    assert probs.shape == (1, x.shape[2] // 8, decoder.num_classes)
    decoded, score = decoder.decode(probs[0])
    assert decoded == text
    assert 0.5 < score <= 1.0
