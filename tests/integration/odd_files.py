"""Odd and broken input files for the bad-input tests, built in memory from the eval images."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

GOOD_IMAGE, GOOD_TEXT = "nephren_10_oval.jpg", "现金收讫章"
PIXEL_CAP = 100_000_000  # decode_page's max_image_pixels (model_repository/decode_page)


def png(image: np.ndarray) -> bytes:
    ok, encoded = cv2.imencode(".png", image)
    assert ok
    return encoded.tobytes()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def png_claiming(width: int, height: int) -> bytes:
    """A tiny, well-formed PNG (valid CRCs) whose IHDR claims ``width`` x ``height`` RGB pixels;
    its IDAT holds one row of one pixel."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", zlib.compress(b"\x00\x00\x00\x00"))
        + _png_chunk(b"IEND", b"")
    )


def pil_bytes(image: Image.Image, image_format: str, **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, image_format, **kwargs)
    return buffer.getvalue()


def seal_pil(eval_dir: Path) -> Image.Image:
    return Image.open(eval_dir / GOOD_IMAGE).convert("RGB")


def animated_gif(eval_dir: Path) -> bytes:
    frames = [seal_pil(eval_dir), Image.new("RGB", (500, 500), "white")]
    return pil_bytes(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)


def pdf_of(*images: Image.Image) -> bytes:
    return pil_bytes(images[0], "PDF", save_all=True, append_images=list(images[1:]))


def random_bytes() -> bytes:
    return np.random.default_rng(7).integers(0, 256, 4096, dtype=np.uint8).tobytes()


def first_half(data: bytes) -> bytes:
    return data[: len(data) // 2]


def exif_rotated_jpeg(eval_dir: Path) -> bytes:
    """The oval seal on a 500 x 800 (h x w) canvas, stored unrotated with EXIF orientation 6."""
    canvas = Image.new("RGB", (800, 500), "white")
    canvas.paste(seal_pil(eval_dir), (0, 0))
    exif = canvas.getexif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    return pil_bytes(canvas, "JPEG", exif=exif.tobytes(), quality=95)


def tiff_of(*pages: Image.Image) -> bytes:
    return pil_bytes(pages[0], "TIFF", save_all=True, append_images=list(pages[1:]))
