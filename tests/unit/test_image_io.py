"""Decoding uploaded image bytes the way PaddleX serving does (cv2.imdecode, BGR)."""

import io

import cv2
import numpy as np
import pytest
from PIL import Image

from seal_ocr.errors import InvalidImageError
from seal_ocr.image_io import decode_image, read_image_header


def encode(image: np.ndarray, ext: str) -> bytes:
    ok, data = cv2.imencode(ext, image)
    assert ok
    return data.tobytes()


@pytest.mark.parametrize("ext", [".png", ".bmp", ".tiff", ".webp"])
def test_lossless_formats_round_trip_bgr(ext):
    image = np.zeros((20, 30, 3), np.uint8)
    image[..., 0] = 200  # blue channel: must stay channel 0 (BGR, as PaddleX)
    image[5:10, 5:10, 2] = 90
    np.testing.assert_array_equal(decode_image(encode(image, ext)), image)


def test_jpeg_decodes_to_three_channels():
    page = decode_image(encode(np.full((40, 60, 3), 128, np.uint8), ".jpg"))
    assert page.shape == (40, 60, 3) and page.dtype == np.uint8


def test_grey_and_rgba_become_bgr():
    grey = decode_image(encode(np.full((8, 8), 77, np.uint8), ".png"))
    assert grey.shape == (8, 8, 3) and (grey == 77).all()
    rgba = np.zeros((8, 8, 4), np.uint8)
    rgba[..., 2], rgba[..., 3] = 255, 0  # red, fully transparent: alpha is dropped
    bgr = decode_image(encode(rgba, ".png"))
    assert bgr.shape == (8, 8, 3) and (bgr[..., 2] == 255).all()


def test_bad_bytes():
    with pytest.raises(InvalidImageError, match="0 bytes"):
        decode_image(b"")
    with pytest.raises(InvalidImageError, match="not a decodable image"):
        decode_image(b"hello, this is text")
    with pytest.raises(InvalidImageError, match="PDF"):
        decode_image(b"%PDF-1.4 ...")


def test_truncated_png_is_rejected():
    data = encode(np.random.default_rng(0).integers(0, 255, (200, 200, 3), np.uint8), ".png")
    with pytest.raises(InvalidImageError):
        decode_image(data[: len(data) // 2])


def test_pixel_cap_is_checked_from_the_header():
    data = encode(np.zeros((100, 200, 3), np.uint8), ".png")
    assert read_image_header(data) == ("PNG", 200, 100)
    with pytest.raises(InvalidImageError, match="20000 pixels"):
        decode_image(data, max_pixels=19_999)
    assert decode_image(data, max_pixels=20_000).shape == (100, 200, 3)


def test_gif_is_refused_with_the_supported_list():
    buffer = io.BytesIO()
    Image.new("RGB", (10, 10)).save(buffer, format="GIF")
    with pytest.raises(InvalidImageError, match="unsupported image format GIF"):
        decode_image(buffer.getvalue())


def test_byte_cap_is_checked_before_anything_else():
    data = encode(np.zeros((10, 10, 3), np.uint8), ".png")
    with pytest.raises(InvalidImageError, match="above the limit of 10 bytes"):
        decode_image(data, max_bytes=10)


def test_truncated_jpeg_is_refused_not_filled_with_stale_memory():
    image = np.random.default_rng(1).integers(0, 255, (120, 160, 3), np.uint8)
    data = encode(image, ".jpg")
    assert decode_image(data).shape == (120, 160, 3)
    for cut in (0.3, 0.6, 0.95):
        with pytest.raises(InvalidImageError, match="truncated JPEG"):
            decode_image(data[: int(len(data) * cut)])


def test_bomb_header_message_names_the_cap():
    buffer = io.BytesIO()
    Image.new("L", (1, 1)).save(buffer, format="PNG")
    data = bytearray(buffer.getvalue())
    # IHDR width/height at bytes 16..24; fix the CRC so only the size is "wrong"
    import struct
    import zlib

    data[16:24] = struct.pack(">II", 50000, 50000)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    with pytest.raises(InvalidImageError, match="above the limit of 100000000 pixels"):
        decode_image(bytes(data))
