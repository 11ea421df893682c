"""The Triton model ``seal-recognition`` (PaddleX's HPS protocol) against a real tritonserver.

The client here is written from the protocol alone, as PaddleX's HPS SDK does it: the request
JSON as the one BYTES element of ``input``, shape [1, 1], over gRPC and HTTP; the answer is
the JSON in ``output[0, 0]``. Plain KServe v2 JSON over HTTP works too.
"""

from __future__ import annotations

import base64
import io
import json
import time

import numpy as np
import pypdfium2 as pdfium
import pytest
import requests
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient

from seal_gateway import GatewayConfig
from tests.integration.test_gateway import in_process_gateway, pdf_of

pytestmark = pytest.mark.triton

MODEL = "seal-recognition"
SEAL = "paddlex_seal_text_det.png"
OVAL = "nephren_10_oval.jpg"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hps_infer(protocol: str, client, body: dict) -> dict:
    """One request as PaddleX's HPS client sends it: ``input`` [1, 1] BYTES -> ``output``."""
    triton = grpcclient if protocol == "grpc" else httpclient
    tensor = triton.InferInput("input", [1, 1], "BYTES")
    encoded = json.dumps(body, separators=(",", ":")).encode("utf-8")
    tensor.set_data_from_numpy(np.array([[encoded]], dtype=np.object_))
    output = client.infer(MODEL, inputs=[tensor]).as_numpy("output")
    assert output.shape == (1, 1)
    return json.loads(output[0, 0].decode("utf-8"))


def rec_texts(page: dict) -> list[str]:
    return [text for seal in page["prunedResult"]["seal_res_list"] for text in seal["rec_texts"]]


def two_page_pdf(eval_dir) -> bytes:
    return pdf_of(eval_dir, [SEAL, OVAL])


def hostile_pdf() -> bytes:
    """One 14400 x 14400 pt page: 28800 x 28800 px (829 Mpx) at PaddleX's 144 DPI."""
    document = pdfium.PdfDocument.new()
    document.new_page(14400, 14400)
    buffer = io.BytesIO()
    document.save(buffer)
    document.close()
    return buffer.getvalue()


def test_demo_image_with_pictures(client, eval_dir):
    protocol, triton = client
    body = {"file": b64((eval_dir / SEAL).read_bytes()), "fileType": 1}
    response = hps_infer(protocol, triton, body)
    assert (response["errorCode"], response["errorMsg"]) == (0, "Success"), response["errorMsg"]
    assert len(response["logId"]) == 36
    [page] = response["result"]["sealRecResults"]
    assert "发票专用章" in rec_texts(page)
    seals = len(page["prunedResult"]["seal_res_list"])
    assert seals >= 1
    expected = {"layout_det_res", *(f"seal_res_region{n}" for n in range(1, seals + 1))}
    assert set(page["outputImages"]) == expected
    for picture in [*page["outputImages"].values(), page["inputImage"]]:
        assert base64.b64decode(picture)[:2] == b"\xff\xd8"  # JPEG
    assert "input_path" not in page["prunedResult"]
    assert response["result"]["dataInfo"] == {"width": 640, "height": 640, "type": "image"}


def test_options_without_layout_or_pictures(client, eval_dir):
    protocol, triton = client
    body = {
        "file": b64((eval_dir / OVAL).read_bytes()),
        "fileType": 1,
        "useLayoutDetection": False,
        "visualize": False,
    }
    response = hps_infer(protocol, triton, body)
    assert response["errorCode"] == 0, response["errorMsg"]
    [page] = response["result"]["sealRecResults"]
    assert "现金收讫章" in rec_texts(page)
    assert page["prunedResult"]["model_settings"]["use_layout_detection"] is False
    assert "outputImages" not in page and "inputImage" not in page


def test_two_page_pdf_split_in_the_server(client, eval_dir):
    protocol, triton = client
    body = {
        "file": b64(two_page_pdf(eval_dir)),
        "fileType": 0,
        "useLayoutDetection": False,
        "visualize": False,
    }
    response = hps_infer(protocol, triton, body)
    assert response["errorCode"] == 0, response["errorMsg"]
    result = response["result"]
    assert result["dataInfo"]["numPages"] == 2 and result["dataInfo"]["type"] == "pdf"
    pages = result["sealRecResults"]
    assert len(pages) == 2
    assert "发票专用章" in rec_texts(pages[0])
    assert "现金收讫章" in rec_texts(pages[1])


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"file": "###not base64###", "fileType": 1}, "base64"),
        ({"file": "aGk=", "fileType": 1, "useLayoutDetection": "yes"}, "useLayoutDetection"),
        ({"file": b64(b"plain text, not an image"), "fileType": 1}, "not a decodable image"),
    ],
    ids=["bad-base64", "bad-option-type", "not-an-image"],
)
def test_bad_requests_get_422_and_the_server_answers_the_next(client, eval_dir, body, fragment):
    protocol, triton = client
    response = hps_infer(protocol, triton, body)
    assert set(response) == {"logId", "errorCode", "errorMsg"}
    assert response["errorCode"] == 422
    assert fragment in response["errorMsg"], response["errorMsg"]
    assert "Traceback" not in response["errorMsg"]
    good = {"file": b64((eval_dir / OVAL).read_bytes()), "fileType": 1, "visualize": False}
    assert hps_infer(protocol, triton, good)["errorCode"] == 0


def test_hostile_pdf_refused_in_under_a_second_on_the_model(client):
    protocol, triton = client
    body = {"file": b64(hostile_pdf()), "fileType": 0}
    started = time.perf_counter()
    response = hps_infer(protocol, triton, body)
    elapsed = time.perf_counter() - started
    print(f"\nhostile PDF, seal-recognition over {protocol}: {elapsed * 1000:.1f} ms")
    assert response["errorCode"] == 422
    assert "refused before rendering" in response["errorMsg"]
    assert elapsed < 1.0


def test_hostile_pdf_refused_in_under_a_second_on_the_gateway(triton_server):
    body = {"file": b64(hostile_pdf()), "fileType": 0}
    with in_process_gateway(GatewayConfig(triton_url=triton_server.grpc_url)) as url:
        started = time.perf_counter()
        response = requests.post(f"{url}/seal-recognition", json=body, timeout=60)
        elapsed = time.perf_counter() - started
    print(f"\nhostile PDF, gateway: {elapsed * 1000:.1f} ms")
    assert response.status_code == 422
    assert "refused before rendering" in response.json()["errorMsg"]
    assert elapsed < 1.0


def test_plain_kserve_v2_json_over_http(triton_server, eval_dir):
    body = {"file": b64((eval_dir / OVAL).read_bytes()), "fileType": 1, "visualize": False}
    request = {
        "inputs": [
            {"name": "input", "shape": [1, 1], "datatype": "BYTES", "data": [json.dumps(body)]}
        ]
    }
    url = f"http://{triton_server.http_url}/v2/models/{MODEL}/infer"
    answer = requests.post(url, json=request, timeout=120)
    assert answer.status_code == 200, answer.text
    [output] = answer.json()["outputs"]
    assert (output["name"], output["datatype"], output["shape"]) == ("output", "BYTES", [1, 1])
    response = json.loads(output["data"][0])
    assert response["errorCode"] == 0
    assert "现金收讫章" in rec_texts(response["result"]["sealRecResults"][0])


def test_same_answer_as_the_gateway(triton_server, grpc_client, eval_dir):
    """One implementation: the model's result is the gateway's, field for field."""
    body = {"file": b64(two_page_pdf(eval_dir)), "fileType": 0, "visualize": False}
    from_model = hps_infer("grpc", grpc_client, body)
    with in_process_gateway(GatewayConfig(triton_url=triton_server.grpc_url)) as url:
        from_gateway = requests.post(f"{url}/seal-recognition", json=body, timeout=120).json()
    assert from_gateway["errorCode"] == 0 and from_model["errorCode"] == 0
    assert from_model["result"] == from_gateway["result"]
    assert len(from_model["result"]["sealRecResults"]) == 2


def test_batch_of_two_bodies_answers_each(grpc_client, eval_dir):
    """Not PaddleX's SDK (always [1, 1]), but a [2, 1] batch is two requests, in order."""
    good = {"file": b64((eval_dir / OVAL).read_bytes()), "fileType": 1, "visualize": False}
    bodies = [json.dumps(body).encode() for body in (good, {"file": "###", "fileType": 1})]
    tensor = grpcclient.InferInput("input", [2, 1], "BYTES")
    tensor.set_data_from_numpy(np.array([[body] for body in bodies], dtype=np.object_))
    output = grpc_client.infer(MODEL, inputs=[tensor]).as_numpy("output")
    assert output.shape == (2, 1)
    first, second = (json.loads(row[0]) for row in output)
    assert first["errorCode"] == 0 and second["errorCode"] == 422
