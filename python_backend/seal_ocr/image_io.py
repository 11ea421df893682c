"""Decode one encoded image file into the BGR page PaddleX works on.

PaddleX serving decodes with ``cv2.imdecode(..., IMREAD_COLOR)``: BGR uint8, alpha dropped,
grey expanded to 3 channels, 16-bit scaled to 8-bit. We do the same, after reading the header
with Pillow so that a "decompression bomb" (a small file claiming a huge canvas) is refused
before any pixel is decoded.
"""

from __future__ import annotations

import io
import warnings

import cv2
import numpy as np
from PIL import Image

from seal_ocr.errors import InvalidImageError

# the formats the server decodes (Pillow's names) and the file suffixes that mark them
FORMAT_SUFFIXES: dict[str, tuple[str, ...]] = {
    "PNG": (".png",),
    "JPEG": (".jpg", ".jpeg"),
    "BMP": (".bmp",),
    "TIFF": (".tif", ".tiff"),
    "WEBP": (".webp",),
}
SUPPORTED_FORMATS = tuple(FORMAT_SUFFIXES)
IMAGE_SUFFIXES = tuple(suffix for suffixes in FORMAT_SUFFIXES.values() for suffix in suffixes)
# ImageNet statistics (RGB order) of the layout and seal-det inputs, for (x / 255 - mean) / std
IMAGENET_MEAN: tuple[float, float, float] = (0.485, 0.456, 0.406)
IMAGENET_STD: tuple[float, float, float] = (0.229, 0.224, 0.225)
DEFAULT_MAX_PIXELS = 100_000_000  # ~10000 x 10000; a 144-DPI A0 page is ~ 4800 x 6700
DEFAULT_MAX_BYTES = 64 * 2**20  # an encoded page above 64 MiB is refused before decoding


def read_image_header(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[str, int, int]:
    """Return (format, width, height) from the header only; raise InvalidImageError."""
    if not data:
        raise InvalidImageError("empty image: the request carried 0 bytes")
    with warnings.catch_warnings():
        # Pillow warns (and past 2x its own limit raises) on huge canvases; we apply our own cap.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data)) as image:
                return image.format or "", image.width, image.height
        except Image.DecompressionBombError as exc:
            raise InvalidImageError(
                f"image header claims an absurd pixel count ({exc}); above the limit of "
                f"{max_pixels} pixels"
            ) from None
        except Exception:
            head = data[:8]
            hint = (
                " (this looks like a PDF: send its pages as images)" if head[:5] == b"%PDF-" else ""
            )
            raise InvalidImageError(
                f"not a decodable image file{hint}; supported formats: "
                f"{', '.join(SUPPORTED_FORMATS)}; first bytes {head!r}"
            ) from None


def decode_image(
    data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS, max_bytes: int = DEFAULT_MAX_BYTES
) -> np.ndarray:
    """Decode ``data`` to an (H, W, 3) uint8 BGR array; raise InvalidImageError on bad input.

    Like PaddleX (``cv2.imdecode(..., IMREAD_COLOR)``): EXIF orientation is applied, alpha is
    dropped, grey and CMYK become BGR, 16-bit is scaled to 8-bit, and a multi-page TIFF gives
    its first page. GIF is not among the accepted formats.
    """
    if len(data) > max_bytes:
        raise InvalidImageError(
            f"image file is {len(data)} bytes, above the limit of {max_bytes} bytes"
        )
    image_format, width, height = read_image_header(data, max_pixels)
    if image_format not in SUPPORTED_FORMATS:
        raise InvalidImageError(
            f"unsupported image format {image_format or 'unknown'}; "
            f"supported: {', '.join(SUPPORTED_FORMATS)}"
        )
    if width * height > max_pixels:
        raise InvalidImageError(
            f"image is {width} x {height} = {width * height} pixels, above the limit of "
            f"{max_pixels} pixels"
        )
    if image_format == "JPEG" and _jpeg_is_truncated(data):
        # libjpeg "decodes" a cut file and leaves the missing rows uninitialised: they can hold
        # an earlier request's pixels. Refuse it instead.
        raise InvalidImageError(f"corrupt or truncated JPEG data ({len(data)} bytes)")
    page = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if page is None or page.size == 0:
        raise InvalidImageError(f"corrupt or truncated {image_format} data ({len(data)} bytes)")
    return page


def normalize_to_chw(
    image: np.ndarray,
    alpha: np.ndarray,
    beta: np.ndarray,
    channels: tuple[int, int, int] = (0, 1, 2),
) -> np.ndarray:
    """``x.astype(float32) * alpha_c + beta_c`` per channel, written straight into CHW planes.

    Args:
        image: (H, W, 3) uint8 (any channel order; C-contiguous or not).
        alpha, beta: (3,) float32 per *output* channel.
        channels: output plane c reads input channel ``channels[c]``, e.g. (2, 1, 0) turns BGR
            into RGB planes without a ``cvtColor`` pass over the image.

    Returns:
        (3, H, W) float32, C-contiguous. Two float32 roundings per value (product, then sum),
        exactly PaddleX's ``split; astype(float32); *= alpha; += beta; merge; transpose``: only
        the memory layout work differs. Computing plane by plane avoids NumPy's slow broadcast
        over a trailing axis of 3 and the HWC -> CHW copy.
    """
    height, width = image.shape[:2]
    out = np.empty((3, height, width), dtype=np.float32)
    for index, source in enumerate(channels):
        plane = out[index]
        # uint8 -> float32 is exact, so each in-place op rounds once, as PaddleX's do.
        np.multiply(image[:, :, source], alpha[index], out=plane, dtype=np.float32)
        plane += beta[index]
    return out


def _jpeg_is_truncated(data: bytes) -> bool:
    """No end-of-image marker (FFD9) after the last start-of-scan (FFDA)."""
    # Same answer as rfind(FFD9) < rfind(FFDA), but a complete file is only scanned from its
    # last FFD9 (normally the final two bytes) onwards instead of back to its last FFDA, near
    # the start. The two markers cannot overlap (FF D9 FF DA would need D9 == FF).
    end = data.rfind(b"\xff\xd9")
    return data.find(b"\xff\xda", end + 1) != -1


def check_bgr_image(image: np.ndarray, what: str) -> None:
    """Raise InvalidImageError unless ``image`` is a non-empty (H, W, 3) uint8 array."""
    if not isinstance(image, np.ndarray):
        raise InvalidImageError(f"{what} must be a numpy array, got {type(image).__name__}")
    if image.dtype != np.uint8:
        raise InvalidImageError(f"{what} must be uint8, got {image.dtype}")
    if image.ndim != 3 or image.shape[2] != 3:
        raise InvalidImageError(f"{what} must be (H, W, 3) BGR, got shape {image.shape}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise InvalidImageError(f"{what} must be non-empty, got shape {image.shape}")
