"""``python -m seal_triton`` (``make serve-cpu``): the embedded CPU server, in the foreground.

The server (:mod:`seal_triton.launcher`) is supervised (a dead stub or a crashed server is
restarted, :mod:`seal_triton.supervisor`) and the PaddleX-compatible HTTP gateway runs beside it.
Ctrl-C or SIGTERM (``make stop``) stops both.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from pathlib import Path

from seal_ocr.model_info import describe_models, read_model_records
from seal_triton.launcher import (
    DEFAULT_BUILD_DIR,
    DEFAULT_ENGINE,
    DEFAULT_MODEL_REPOSITORY,
    ENGINE_CONFIG_NAMES,
    ServerConfig,
    TritonServer,
)
from seal_triton.supervisor import GatewaySidecar, Supervisor


def main(argv: list[str] | None = None) -> int:
    """Serve in the foreground until Ctrl-C/SIGTERM; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m seal_triton", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--model-repository", type=Path, default=DEFAULT_MODEL_REPOSITORY)
    parser.add_argument("--address", default=os.environ.get("TRITON_ADDRESS", "127.0.0.1"))
    parser.add_argument("--http-port", type=int, default=8000)
    parser.add_argument("--grpc-port", type=int, default=8001)
    parser.add_argument("--metrics-port", type=int, default=8002)
    parser.add_argument("--gateway-port", type=int, default=8080)
    parser.add_argument("--no-gateway", action="store_true", help="serve Triton only")
    parser.add_argument("--exit-timeout", type=int, default=10, help="seconds to drain on stop")
    parser.add_argument(
        "--max-in-flight", type=int, help="admission cap (default: decode_page's config; 0 = off)"
    )
    parser.add_argument(
        "--engine",
        choices=sorted(ENGINE_CONFIG_NAMES),
        default=os.environ.get("SEAL_ENGINE") or DEFAULT_ENGINE,
        help="engine of the ONNX entries (default: openvino, FP32; $SEAL_ENGINE)",
    )
    parser.add_argument("--pid-file", type=Path, default=DEFAULT_BUILD_DIR / "tritonserver.pid")
    parser.add_argument("--log-verbose", type=int, default=0)
    args = parser.parse_args(argv)
    if args.engine not in ENGINE_CONFIG_NAMES:  # $SEAL_ENGINE is not checked by argparse
        parser.error(f"--engine must be one of {', '.join(sorted(ENGINE_CONFIG_NAMES))}")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    config = ServerConfig(
        model_repository=args.model_repository.resolve(),
        address=args.address,
        http_port=args.http_port,
        grpc_port=args.grpc_port,
        metrics_port=args.metrics_port,
        log_verbose=args.log_verbose,
        exit_timeout_s=args.exit_timeout,
        max_in_flight=args.max_in_flight,
        model_config_name=ENGINE_CONFIG_NAMES[args.engine],
    )
    gateway = None if args.no_gateway else GatewaySidecar(args.address, args.gateway_port)
    supervisor = Supervisor(TritonServer(config), gateway)

    def _terminate(signum, frame):  # turn SIGTERM (make stop) into the same path as Ctrl-C
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _terminate)
    try:
        supervisor.start()
        args.pid_file.parent.mkdir(parents=True, exist_ok=True)
        args.pid_file.write_text(str(os.getpid()))
        server = supervisor.server
        gateway_line = ""
        if gateway is not None:
            gateway_line = f", PaddleX API http://{gateway.host}:{gateway.port}/seal-recognition"
        models = describe_models(read_model_records(config.model_repository)) or "not recorded"
        print(
            f"seal_recognition is ready: HTTP {server.http_url}, gRPC {server.grpc_url}, "
            f"metrics {config.address}:{config.metrics_port}{gateway_line}\n"
            f"  models: {models}\n"
            f"  try: .venv/bin/seal-client --input <image or PDF> --save_path out "
            f"--url {server.grpc_url}\n  stop: Ctrl-C or `make stop`",
            flush=True,
        )
        return supervisor.run()
    except KeyboardInterrupt:
        print("stopping tritonserver ...", flush=True)
        return 0
    finally:
        supervisor.stop()
        args.pid_file.unlink(missing_ok=True)


if __name__ == "__main__":
    sys.exit(main())
