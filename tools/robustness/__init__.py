"""Robustness checks of the served ``seal_recognition`` ensemble: overload, faults, soak.

``make overload`` (:mod:`tools.robustness.overload`) and ``make soak``
(:mod:`tools.robustness.soak`) are the entry points. What they, the tests and
``perf/locustfile.py`` share needs neither locust nor gevent and lives in one module per
concern, all importable from this package:

- :mod:`~tools.robustness.targets`: the model and 127.0.0.1 only (:func:`local_url` refuses
  anything else);
- :mod:`~tools.robustness.samples`: the image set and the weighted random request mix;
- :mod:`~tools.robustness.calls`: one request over gRPC or HTTP, and the classification of
  failures (``rejected`` = the server refused or timed out the work, ``error`` = anything else);
- :mod:`~tools.robustness.load`: a bounded closed-loop load driver on threads, percentiles;
- :mod:`~tools.robustness.metrics`: the server's pending-request metric;
- :mod:`~tools.robustness.repository`: repository copies with other queue policies;
- :mod:`~tools.robustness.locust_runner`: the locustfile run headless, bounded;
- :mod:`~tools.robustness.doc_sections`: the marked sections of ``docs/robustness.md``.

Process helpers (server and stub PIDs, RSS) are in :mod:`seal_triton.procs`.
"""

from tools.robustness.calls import (
    QUEUE_FULL,
    QUEUE_TIMEOUT,
    SERVER_BUSY,
    classify,
    client_module,
    infer,
    is_complete_result,
    make_client,
)
from tools.robustness.doc_sections import update_doc_section
from tools.robustness.load import LoadDriver, Record, percentile, summarize
from tools.robustness.locust_runner import LOCUSTFILE, run_locust_headless
from tools.robustness.metrics import pending_requests, wait_drained
from tools.robustness.repository import (
    ONNX_ENTRIES,
    PYTHON_STEPS,
    QueuePolicy,
    copy_repository,
    read_backlog,
    read_max_in_flight,
    read_queue_policy,
)
from tools.robustness.samples import (
    DEFAULT_EVAL_DIR,
    DEFAULT_PAGE_GLOB,
    IMAGE_SUFFIXES,
    Mix,
    Sample,
    eval_dir,
    load_samples,
    request_name,
    synth_samples,
)
from tools.robustness.targets import DEFAULT_PORTS, LOCAL_HOST, MODEL, REPO_ROOT, local_url

__all__ = [
    "DEFAULT_EVAL_DIR",
    "DEFAULT_PAGE_GLOB",
    "DEFAULT_PORTS",
    "IMAGE_SUFFIXES",
    "LOCAL_HOST",
    "LOCUSTFILE",
    "MODEL",
    "ONNX_ENTRIES",
    "PYTHON_STEPS",
    "QUEUE_FULL",
    "QUEUE_TIMEOUT",
    "REPO_ROOT",
    "SERVER_BUSY",
    "LoadDriver",
    "Mix",
    "QueuePolicy",
    "Record",
    "Sample",
    "classify",
    "client_module",
    "copy_repository",
    "eval_dir",
    "infer",
    "is_complete_result",
    "load_samples",
    "local_url",
    "make_client",
    "pending_requests",
    "percentile",
    "read_backlog",
    "read_max_in_flight",
    "read_queue_policy",
    "request_name",
    "run_locust_headless",
    "summarize",
    "synth_samples",
    "update_doc_section",
    "wait_drained",
]
