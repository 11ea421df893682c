"""The client's errors, in a module of their own so that every client module can raise them.

``InputError`` (and its ``PdfError``): an input that cannot be turned into pages, raised while
the inputs are expanded. ``ServerError``: the server is unreachable or does not serve the
ensemble. ``PageError``: the server refused or failed one page.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: inputs.py imports this module
    from seal_client.inputs import Page


class InputError(Exception):
    """An input the client cannot turn into pages; the message is one line naming the input."""


class PdfError(InputError):
    """A PDF that cannot be rendered: encrypted, corrupt or truncated, empty, bad page choice."""


class ServerError(RuntimeError):
    """The server cannot be reached, or does not serve the expected ensemble."""


class PageError(RuntimeError):
    """The server refused or failed one page; ``page`` says which."""

    def __init__(self, page: Page, message: str, status: str | None = None) -> None:
        where = page.input_path or "<input>"
        if page.page_index is not None:
            where += f" page {page.page_index + 1}"
        super().__init__(f"{where}: {message}")
        self.page = page
        # Triton's status as tritonclient reports it ("StatusCode.INVALID_ARGUMENT" over gRPC,
        # "400" over HTTP), so callers can tell a refused page from an overloaded server.
        self.status = status
