"""Where a webhook may go: public internet addresses only, unless private ones are allowed.

A URL is refused when its host is, or resolves to, any loopback, private, link-local, shared
(carrier-grade NAT), multicast, reserved or unspecified address, IPv4 or IPv6 (IPv4 addresses embedded
in IPv6 ones are checked too). The check runs when RevOps saves an endpoint and again before every
send, because DNS can change; the send then connects to the very address that was checked (no second
lookup a rebinding DNS server could answer differently), follows no redirects and uses no proxy.
"""

from __future__ import annotations

import functools
import http.client
import ipaddress
import socket
import urllib.request
from dataclasses import dataclass
from urllib.parse import urlsplit

ALLOW_SETTING = "WEBHOOK_ALLOW_PRIVATE"
NAT64_PREFIX = ipaddress.ip_network("64:ff9b::/96")


class RefusedURL(ValueError):
    """A webhook URL that must not be called; the message says why, for RevOps."""


@dataclass(frozen=True)
class Target:
    """A checked URL; ``address`` is the IP to connect to (None: resolve normally, private allowed)."""

    url: str
    host: str
    address: str | None


def _embedded_ipv4(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address a 6to4, Teredo or NAT64 address leads to, if any."""
    if ip.version == 4:
        return None
    if ip.sixtofour:
        return ip.sixtofour
    if ip.teredo:
        return ip.teredo[1]
    if ip in NAT64_PREFIX:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def address_refusal(address: str) -> str | None:
    """What kind of non-public address ``address`` is (``"a loopback address"``), or None if public."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone (fe80::1%eth0)
    if ip.version == 6 and ip.ipv4_mapped:  # ::ffff:a.b.c.d is the IPv4 address itself
        return address_refusal(str(ip.ipv4_mapped))
    embedded = _embedded_ipv4(ip)
    if embedded is not None and (reason := address_refusal(str(embedded))):
        return reason
    if ip.is_unspecified:
        return "an unspecified address"
    if ip.is_loopback:
        return "a loopback address (this machine)"
    if ip.is_link_local:
        return "a link-local address (used by cloud metadata services)"
    if ip.is_multicast:
        return "a multicast address"
    if ip.version == 6 and ip.is_site_local:
        return "a site-local address"
    if ip.is_reserved:
        return "a reserved address"
    if ip.is_private:
        return "a private network address"
    if not ip.is_global:
        return "not a public internet address"
    return None


def url_target(url: str, *, allow_private: bool) -> Target:
    """Check ``url`` and the addresses its host resolves to; RefusedURL if any is not public.

    A failed DNS lookup raises socket.gaierror (an OSError), like any network failure.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise RefusedURL("A webhook URL starts with https:// (or http://).")
    host = parts.hostname
    if not host:
        raise RefusedURL("The webhook URL has no host name.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise RefusedURL("The webhook URL's port is not a number from 1 to 65535.") from exc
    if allow_private:
        return Target(url=url, host=host, address=None)
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    for address in addresses:
        if reason := address_refusal(address):
            where = f"{host} is" if address == host else f"{host} resolves to {address}, which is"
            raise RefusedURL(
                f"{where} {reason}; webhooks are sent only to public internet addresses "
                f"({ALLOW_SETTING}=true allows private ones)."
            )
    return Target(url=url, host=host, address=addresses[0])


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A 3xx answer is a failed attempt: a redirect could lead anywhere, unchecked."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def _pinned(connection_class, address: str):
    """``connection_class`` connecting to ``address`` whatever the host name (TLS still checks the
    certificate against the host name, and the Host header keeps it)."""

    def build(*args, **kwargs):
        connection = connection_class(*args, **kwargs)
        create = connection._create_connection  # socket.create_connection (http.client's hook)
        connection._create_connection = lambda where, *a, **k: create((address, where[1]), *a, **k)
        return connection

    return build


class _PinnedHTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, address: str):
        super().__init__()
        self.address = address

    def http_open(self, req):
        return self.do_open(_pinned(http.client.HTTPConnection, self.address), req)


class _PinnedHTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, address: str):
        super().__init__()
        self.address = address

    def https_open(self, req):
        return self.do_open(_pinned(http.client.HTTPSConnection, self.address), req, context=self._context)


@functools.cache
def _plain_opener() -> urllib.request.OpenerDirector:
    return urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect)


def post(target: Target, body: bytes, headers: dict[str, str], timeout: float) -> int:
    """POST ``body`` as JSON to a checked target; the HTTP status (HTTPError for 3xx/4xx/5xx)."""
    if target.address is None:
        opener = _plain_opener()
    else:
        opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}),
            _NoRedirect,
            _PinnedHTTPHandler(target.address),
            _PinnedHTTPSHandler(target.address),
        )
    request = urllib.request.Request(
        target.url, data=body, headers={"Content-Type": "application/json", **headers}, method="POST"
    )
    with opener.open(request, timeout=timeout) as response:
        return response.status
