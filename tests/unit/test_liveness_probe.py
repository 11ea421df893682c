"""deploy/kubernetes/probe/seal_liveness.py, the Triton pods' liveness probe: its decisions, the
request it sends and its page. Against real servers (a served page, no server, a killed stub):
tests/integration/test_metric_names.py."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

from seal_ocr import tensor_names as names
from tests.conftest import REPO_ROOT

PROBE_SCRIPT = REPO_ROOT / "deploy" / "kubernetes" / "probe" / "seal_liveness.py"


def probe_module():
    """deploy/kubernetes/probe/seal_liveness.py (a script, not a package), imported."""
    spec = importlib.util.spec_from_file_location("seal_liveness", PROBE_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_the_probe_script_answers_its_help():
    """The exec command's flags are the script's (argparse rejects unknown ones)."""
    result = subprocess.run(
        [sys.executable, str(PROBE_SCRIPT), "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "--url" in result.stdout and "--timeout" in result.stdout


def test_probe_decisions():
    probe = probe_module()
    answer, classify = probe.Answer, probe.classify
    assert classify(answer(200)).alive
    # Triton's answer for a dead stub (docs/robustness.md): dead for good
    dead = classify(answer(500, "Stub process 'read_text_lines_0_0' is not healthy."))
    assert not dead.alive and dead.sticky
    # load is not a reason to restart, as long as the server itself answers
    busy = answer(503, "server busy: 3 requests already in progress (max_in_flight 3)")
    assert classify(busy, live=True).alive
    assert not classify(busy, live=False).alive
    slow = answer(None, "timed out", timed_out=True)
    assert classify(slow, live=True).alive and not classify(slow, live=False).alive
    # a refused connection or another error counts (Kubernetes restarts after 3 in a row)
    refused = classify(answer(None, "Connection refused"))
    assert not refused.alive and not refused.sticky
    other = classify(answer(500, "in ensemble 'seal_recognition', unexpected"))
    assert not other.alive and not other.sticky


def test_probe_request_is_a_kserve_binary_tensor():
    """The body the probe sends: JSON header of the stated length, then the BYTES tensor as a
    4-byte little-endian length and the image, as the binary tensor extension defines."""
    probe = probe_module()
    image = b"\xff\xd8 not really a jpeg"
    body, headers = probe.infer_body(image)
    length = int(headers["Inference-Header-Content-Length"])
    header = json.loads(body[:length])
    [tensor] = header["inputs"]
    assert (tensor["name"], tensor["datatype"], tensor["shape"]) == (names.IMAGE, "BYTES", [1])
    data = body[length:]
    assert tensor["parameters"]["binary_data_size"] == len(data)
    assert int.from_bytes(data[:4], "little") == len(image) and data[4:] == image
    assert header["outputs"] == [{"name": names.RESULT_JSON, "parameters": {"binary_data": False}}]


def test_probe_page_is_a_seeded_seal_picture_made_once(tmp_path):
    probe = probe_module()
    first = probe.probe_page(tmp_path)
    assert first[:2] == b"\xff\xd8"  # JPEG
    assert (tmp_path / probe.PAGE_FILE).read_bytes() == first
    (tmp_path / probe.PAGE_FILE).unlink()
    assert probe.probe_page(tmp_path) == first  # seeded: the same page again
