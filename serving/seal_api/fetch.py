"""URL inputs: fetched with a timeout and a size cap, never from a non-public address.

A server that fetches what a request names is a way into the network it sits in (SSRF). Unless
``allow_private_urls`` is set, every address a host resolves to must be public (not loopback,
private, link-local, CGNAT, multicast, reserved or unspecified; IPv4 inside IPv6 is unwrapped).
The check runs in the resolver the connection itself uses (:class:`PublicOnlyResolver`), so
the address connected to is the address checked (no DNS-rebinding window), and for IP-literal
hosts (which aiohttp never sends to a resolver) before each request. Redirects are followed by
hand, each hop checked again; proxies from the environment are not used.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass

import aiohttp
import yarl
from aiohttp.abc import AbstractResolver, ResolveResult

from seal_api.errors import ApiError

_REDIRECTS = (301, 302, 303, 307, 308)
_CHUNK = 1 << 16
ALLOW_HINT = (
    "start the gateway with --allow-private-urls, or set the seal-recognition model's "
    "allow_private_urls parameter, to allow it"
)


class UrlRefusedError(OSError):
    """A URL whose host is, or resolves to, an address the server may not reach."""


def is_public_address(address: str) -> bool:
    """Whether an IP address is globally routable (what a URL input may reach by default)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone ("fe80::1%eth0")
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        # IPv4 carried in IPv6 reaches the IPv4 host: judge that one
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None:
            ip = embedded
    return ip.is_global and not ip.is_multicast


def check_resolved(host: str, addresses: list[str]) -> None:
    """Raise :class:`UrlRefusedError` unless every address of ``host`` is public."""
    for address in addresses:
        if not is_public_address(address):
            raise UrlRefusedError(
                f"URL host {host!r} is or resolves to {address}, a loopback, private or other "
                f"non-public address; {ALLOW_HINT}"
            )


def check_url(url: yarl.URL, allow_private: bool) -> None:
    """Scheme http(s) and a host; an IP-literal host must be public unless allowed."""
    if url.scheme not in ("http", "https") or not url.host:
        raise UrlRefusedError(f"only http(s) URLs with a host can be fetched, got {str(url)!r}")
    if allow_private:
        return
    try:
        ipaddress.ip_address(url.host.split("%", 1)[0])
    except ValueError:
        return  # a name: checked by the resolver when connecting
    check_resolved(url.host, [url.host])


class PublicOnlyResolver(AbstractResolver):
    """aiohttp's threaded resolver, refusing a host if any of its addresses is not public."""

    def __init__(self) -> None:
        self._inner = aiohttp.ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        check_resolved(host, [result["host"] for result in results])
        return results

    async def close(self) -> None:
        await self._inner.close()


def make_session(allow_private: bool) -> aiohttp.ClientSession:
    """The session URL inputs are fetched with (create it inside the running loop)."""
    resolver = aiohttp.ThreadedResolver() if allow_private else PublicOnlyResolver()
    connector = aiohttp.TCPConnector(resolver=resolver, limit=32)
    # no cookies kept between requests of different callers; no proxies from the environment
    return aiohttp.ClientSession(
        connector=connector, cookie_jar=aiohttp.DummyCookieJar(), trust_env=False
    )


@dataclass(frozen=True)
class FetchPolicy:
    """Limits of one URL fetch."""

    timeout_s: float
    max_bytes: int
    max_redirects: int
    allow_private: bool


async def fetch_url(session: aiohttp.ClientSession, url: str, policy: FetchPolicy) -> bytes:
    """The body of ``url`` within ``policy``; any failure is a 422 :class:`ApiError`."""
    target = yarl.URL(url, encoded=True)  # as PaddleX: the URL is sent as written
    try:
        async with asyncio.timeout(policy.timeout_s):
            for _ in range(policy.max_redirects + 1):
                check_url(target, policy.allow_private)
                body, location = await _get_once(session, target, policy.max_bytes)
                if location is None:
                    return body
                target = target.join(yarl.URL(location))
    except UrlRefusedError as error:
        raise ApiError(422, str(error)) from None
    except TimeoutError:
        raise ApiError(422, f"{url} timed out after {policy.timeout_s:g} s") from None
    except aiohttp.ClientConnectorError as error:
        if isinstance(error.os_error, UrlRefusedError):
            raise ApiError(422, str(error.os_error)) from None
        raise ApiError(422, f"{url} cannot be fetched: {error.os_error}") from None
    except (aiohttp.ClientError, ValueError) as error:
        raise ApiError(422, f"{url} cannot be fetched: {error}") from None
    raise ApiError(422, f"{url} redirects more than {policy.max_redirects} times")


async def _get_once(
    session: aiohttp.ClientSession, url: yarl.URL, max_bytes: int
) -> tuple[bytes, str | None]:
    """(body, None), or (b"", Location) for a redirect; HTTP errors raise ApiError."""
    async with session.get(url, allow_redirects=False) as response:
        location = response.headers.get("Location")
        if response.status in _REDIRECTS and location:
            return b"", location
        if response.status >= 400:
            raise ApiError(422, f"{url} returned HTTP {response.status} ({response.reason})")
        if response.content_length is not None and response.content_length > max_bytes:
            raise ApiError(
                422, f"{url} is {response.content_length} bytes, above the cap of {max_bytes}"
            )
        chunks: list[bytes] = []
        total = 0
        async for chunk in response.content.iter_chunked(_CHUNK):
            total += len(chunk)
            if total > max_bytes:
                raise ApiError(422, f"{url} is larger than the cap of {max_bytes} bytes")
            chunks.append(chunk)
        return b"".join(chunks), None
