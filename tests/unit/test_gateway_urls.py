"""URL inputs: which addresses may be fetched, per hop, and the body size cap."""

from __future__ import annotations

import asyncio
import ipaddress
import json

import pytest
import yarl
from hypothesis import given
from hypothesis import strategies as st

from seal_api.fetch import (
    PublicOnlyResolver,
    UrlRefusedError,
    check_resolved,
    check_url,
    is_public_address,
)
from seal_gateway.limits import BodySizeLimit


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata
        "100.64.0.1",  # carrier-grade NAT
        "0.0.0.0",
        "224.0.0.1",
        "255.255.255.255",
        "::1",
        "fe80::1%eth0",
        "fc00::1",
        "::ffff:127.0.0.1",  # IPv4-mapped loopback
        "2002:7f00:1::",  # 6to4 around 127.0.0.1
        "::",
        "not-an-ip",
    ],
)
def test_non_public_addresses_are_refused(address):
    assert not is_public_address(address)


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111"])
def test_public_addresses_are_allowed(address):
    assert is_public_address(address)


@given(st.ip_addresses(network="10.0.0.0/8") | st.ip_addresses(network="fe80::/10"))
def test_any_private_or_link_local_address_is_refused(ip):
    assert not is_public_address(str(ip))


@given(st.ip_addresses(v=4))
def test_ipv4_mapped_form_is_judged_like_the_ipv4_address(ip):
    mapped = ipaddress.IPv6Address(f"::ffff:{ip}")
    assert is_public_address(str(mapped)) == is_public_address(str(ip))


def test_one_non_public_address_among_public_ones_refuses_the_host():
    with pytest.raises(UrlRefusedError, match=r"10\.0\.0\.5"):
        check_resolved("mixed.example", ["8.8.8.8", "10.0.0.5"])


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8000/a.png", "http://[::1]/a.png", "https://169.254.169.254/latest"],
)
def test_literal_private_hosts_are_refused_unless_allowed(url):
    with pytest.raises(UrlRefusedError, match="--allow-private-urls"):
        check_url(yarl.URL(url), allow_private=False)
    check_url(yarl.URL(url), allow_private=True)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/a.png", "http:///x"])
def test_other_schemes_are_refused_even_when_private_urls_are_allowed(url):
    # a redirect may point anywhere: each hop goes through this check
    with pytest.raises(UrlRefusedError, match="only http"):
        check_url(yarl.URL(url), allow_private=True)


def test_names_are_left_to_the_resolver_which_refuses_localhost():
    check_url(yarl.URL("http://localhost/a.png"), allow_private=False)  # no DNS here

    async def resolve() -> None:
        resolver = PublicOnlyResolver()
        try:
            await resolver.resolve("localhost", 80)
        finally:
            await resolver.close()

    with pytest.raises(UrlRefusedError, match="localhost"):
        asyncio.run(resolve())


# --- body size cap --------------------------------------------------------------------------


def _run_limit(max_bytes: int, chunks: list[bytes], content_length: int | None) -> tuple[int, dict]:
    """Send a request through BodySizeLimit; (status, JSON body) of the answer."""
    seen: dict = {}

    async def app(scope, receive, send):
        message = await receive()
        seen["body"] = message["body"]
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    messages = [
        {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
        for i, chunk in enumerate(chunks)
    ]
    sent: list[dict] = []

    async def receive():
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    headers = [] if content_length is None else [(b"content-length", str(content_length).encode())]
    scope = {"type": "http", "method": "POST", "path": "/", "headers": headers}
    asyncio.run(BodySizeLimit(app, max_bytes)(scope, receive, send))
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    if sent[0]["status"] == 200:
        assert seen["body"] == b"".join(chunks)  # the app got the whole body, in one piece
    return sent[0]["status"], json.loads(body)


def test_body_within_the_cap_reaches_the_app():
    status, _ = _run_limit(10, [b"12345", b"67890"], None)
    assert status == 200


@pytest.mark.parametrize("content_length", [None, 11])
def test_body_over_the_cap_gets_413_in_paddlex_envelope(content_length):
    status, body = _run_limit(10, [b"123456", b"78901"], content_length)
    assert status == 413
    assert body["errorCode"] == 413 and "cap of 10 bytes" in body["errorMsg"]
    assert set(body) == {"logId", "errorCode", "errorMsg"}
