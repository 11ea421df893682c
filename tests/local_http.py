"""A local HTTP server for tests of URL inputs: 127.0.0.1 only, a free port, quiet."""

from __future__ import annotations

import contextlib
import http.server
import threading
from collections.abc import Iterator


class QuietServer(http.server.ThreadingHTTPServer):
    """Handler threads are daemons (a test may leave one waiting) and broken pipes of clients
    that gave up (URL timeouts) are not printed."""

    daemon_threads = True

    def handle_error(self, request, client_address):
        pass


@contextlib.contextmanager
def serve(handler: type[http.server.BaseHTTPRequestHandler]) -> Iterator[str]:
    """Serve ``handler`` on 127.0.0.1 in a background thread; yields ``http://127.0.0.1:<port>``."""
    server = QuietServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
