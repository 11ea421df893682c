"""The client package and CLI against a real tritonserver."""

from __future__ import annotations

import http.server
import io
import json
from pathlib import Path

import cv2
import jsonschema
import numpy as np
import pytest
from PIL import Image

from seal_client import InputError, PageError, SealClient
from seal_client.cli import main as cli_main
from seal_ocr.result import result_schema
from tests.conftest import require
from tests.local_http import serve

PDF_PAGES = ["paddlex_seal_text_det.png", "nephren_10_oval.jpg", "nephren_2_round_digital.jpeg"]
EXPECTED = {"paddlex_seal_text_det.png": "发票专用章", "nephren_10_oval.jpg": "现金收讫章"}


def pdf_of(eval_dir: Path, names: list[str]) -> bytes:
    """A PDF with one real seal image per page (72 dpi: one image pixel per point)."""
    images = [Image.open(eval_dir / name).convert("RGB") for name in names]
    buffer = io.BytesIO()
    images[0].save(buffer, "PDF", save_all=True, append_images=images[1:], resolution=72)
    return buffer.getvalue()


@pytest.fixture(params=["grpc", "http"])
def client(request, triton_server) -> SealClient:
    url = triton_server.grpc_url if request.param == "grpc" else triton_server.http_url
    return SealClient(url, request.param, max_in_flight=4)


def test_pdf_pages_come_back_in_order(client, eval_dir, tmp_path):
    pdf = tmp_path / "contract.pdf"
    pdf.write_bytes(pdf_of(eval_dir, PDF_PAGES))
    results = list(client.predict(pdf, use_layout_detection=False))
    assert [r.json["page_index"] for r in results] == [0, 1, 2]
    assert all(r.json["input_path"] == str(pdf) for r in results)
    assert "发票专用章" in results[0].texts
    assert "现金收讫章" in results[1].texts
    assert any("阳光省" in text for text in results[2].texts)
    # PaddleX renders PDF pages at scale 2.0 (144 dpi)
    width, height = Image.open(eval_dir / PDF_PAGES[0]).size
    assert results[0].image.shape == (2 * height, 2 * width, 3)


def test_page_selection(client, eval_dir, tmp_path):
    pdf = tmp_path / "contract.pdf"
    pdf.write_bytes(pdf_of(eval_dir, PDF_PAGES))
    results = list(client.predict(pdf, pages="2-3", use_layout_detection=False))
    assert [r.json["page_index"] for r in results] == [1, 2]
    assert "现金收讫章" in results[0].texts


def test_directory_gives_one_result_per_page(client, eval_dir, tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "a.png").write_bytes((eval_dir / "paddlex_seal_text_det.png").read_bytes())
    (tmp_path / "b" / "c.pdf").write_bytes(pdf_of(eval_dir, PDF_PAGES[:2]))
    (tmp_path / "notes.txt").write_text("not an image")
    results = list(client.predict(tmp_path, use_layout_detection=False))
    assert [(Path(r.json["input_path"]).name, r.json["page_index"]) for r in results] == [
        ("a.png", None),
        ("c.pdf", 0),
        ("c.pdf", 1),
    ]
    assert "发票专用章" in results[0].texts and "现金收讫章" in results[2].texts


def test_numpy_bytes_and_list_inputs(client, eval_dir):
    path = eval_dir / "nephren_10_oval.jpg"
    as_array = cv2.imread(str(path))
    results = list(client.predict([as_array, path.read_bytes(), str(path)]))
    assert len(results) == 3
    assert all("现金收讫章" in r.texts for r in results)
    # the array is sent losslessly: same page as decoding the file
    assert results[0].image.shape == results[2].image.shape


def test_url_input(client, eval_dir):
    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(eval_dir), **kwargs)

        def log_message(self, *args):
            pass

    with serve(Handler) as base:
        url = f"{base}/paddlex_seal_text_det.png"
        [result] = client.predict(url)
        assert result.json["input_path"] == url
        assert "发票专用章" in result.texts
        with pytest.raises(InputError, match="404"):
            list(client.predict(url.replace("paddlex", "missing")))


def test_save_to_json_img_and_crops(client, eval_dir, tmp_path):
    [result] = client.predict(eval_dir / "paddlex_seal_text_det.png")
    json_path = result.save_to_json(tmp_path)
    assert json_path.name == "paddlex_seal_text_det_res.json"
    reloaded = json.loads(json_path.read_text("utf-8"))["res"]
    jsonschema.validate(reloaded, result_schema())
    assert reloaded == json.loads(json.dumps(result.json))

    pictures = result.save_to_img(tmp_path)
    names = sorted(p.name for p in pictures)
    seals = result.json["seal_res_list"]
    assert names[0] == "paddlex_seal_text_det_layout_det_res.png"
    assert len(names) == 1 + len(seals)
    layout = cv2.imread(str(tmp_path / names[0]))
    assert layout.shape == result.image.shape
    for number, crop in enumerate(result.seal_crops(), start=1):
        region = cv2.imread(str(tmp_path / f"paddlex_seal_text_det_seal_res_region{number}.png"))
        assert region.shape == (crop.shape[0], 2 * crop.shape[1], 3)

    crops = result.save_crops(tmp_path)
    assert len(crops) == sum(len(seal["dt_polys"]) for seal in seals)
    expected = [line for lines in result.line_crops() for line in lines]
    for path, line in zip(
        sorted(crops, key=lambda p: (len(p.name), p.name)), expected, strict=True
    ):
        written = cv2.imread(str(path))
        assert written is not None and written.size > 0
        np.testing.assert_array_equal(written, line)


def test_failed_page_raises_or_is_reported(client, eval_dir):
    data = (eval_dir / "vignette_3_school_form.png").read_bytes()
    truncated = data[: len(data) // 3]  # valid header, pixel data cut: the server refuses it
    with pytest.raises(PageError):
        list(client.predict(truncated))
    results = list(
        client.predict([truncated, eval_dir / "nephren_10_oval.jpg"], raise_on_error=False)
    )
    assert not results[0].ok
    assert "truncated" in results[0].error or "corrupt" in results[0].error
    assert results[1].ok and "现金收讫章" in results[1].texts


def test_cli_writes_files_and_exit_codes(triton_server, eval_dir, tmp_path, capsys):
    pdf = tmp_path / "in" / "contract.pdf"
    pdf.parent.mkdir()
    pdf.write_bytes(pdf_of(eval_dir, PDF_PAGES[:2]))
    out = tmp_path / "out"
    code = cli_main(["--input", str(pdf), "--save_path", str(out), "--url", triton_server.grpc_url,
                     "--use_layout_detection", "False", "--save_crops", "--quiet"])  # fmt: skip
    assert code == 0
    for page in (0, 1):
        assert (out / f"contract_{page}_res.json").is_file()
        assert (out / f"contract_{page}_seal_res_region1.png").is_file()
        assert list(out.glob(f"contract_{page}_seal_res_region1_line*.png"))
    page_1 = json.loads((out / "contract_1_res.json").read_text("utf-8"))["res"]
    assert "现金收讫章" in page_1["seal_res_list"][0]["rec_texts"]


def test_cli_one_bad_page_among_good_ones(triton_server, eval_dir, tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    data = (eval_dir / "vignette_3_school_form.png").read_bytes()
    (folder / "a_bad.png").write_bytes(data[: len(data) // 3])
    (folder / "b_good.jpg").write_bytes((eval_dir / "nephren_10_oval.jpg").read_bytes())
    out = tmp_path / "out"
    code = cli_main(["--input", str(folder), "--save_path", str(out), "--json-only", "--quiet",
                     "--url", triton_server.http_url, "--protocol", "http"])  # fmt: skip
    assert code == 1
    assert (out / "b_good_res.json").is_file() and not (out / "a_bad_res.json").exists()
    assert "a_bad.png" in capsys.readouterr().err


def test_cli_server_down_and_bad_input(tmp_path, eval_dir, capsys):
    image = str(require(eval_dir / "nephren_10_oval.jpg"))
    assert cli_main(["--input", image, "--url", "127.0.0.1:1", "--quiet"]) == 2
    assert "cannot reach Triton at 127.0.0.1:1" in capsys.readouterr().err
    assert cli_main(["--input", str(tmp_path / "missing.png"), "--quiet"]) == 2
    assert "missing.png" in capsys.readouterr().err
