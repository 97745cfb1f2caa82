"""What reaches the app at all: requests for a name this server answers to, state changes from its own pages, bodies within the limit.

A web page the user visits can make the browser talk to 127.0.0.1 in two ways: by rebinding its
own name to 127.0.0.1 (the request then carries that name in `Host`), and by posting a form
across sites (a multipart upload is a "simple" request that no CORS preflight stops). The first
is refused by the Host allow-list, the second by checking `Origin` and `Sec-Fetch-Site` on every
request that changes something. Clients that are not browsers send neither and are not affected.
"""

from __future__ import annotations

import ipaddress
import json
from urllib.parse import urlsplit

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

LOOPBACK_NAMES = ("localhost", "localhost.localdomain")
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
# Multipart framing around the file itself: boundaries, part headers, the field name.
MULTIPART_OVERHEAD = 64 * 1024


def split_host(value: str) -> str:
    """The name in a Host header or an Origin's authority, without the port, lower case; "" if malformed."""
    value = value.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        return value[1:end] if end > 0 else ""
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else ("" if ":" in value else value)


def is_ip_literal(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
        return True
    except ValueError:
        return False


class HostPolicy:
    """Which Host names are served: loopback names, IP literals (a rebinding page cannot send one), the bind host, CITEQA_ALLOWED_HOSTS."""

    def __init__(self, bind_host: str = "127.0.0.1", extra: tuple[str, ...] = ()):
        names = {*LOOPBACK_NAMES, split_host(bind_host) or bind_host.lower()}
        self.exact = {n.lower() for n in names if n}
        self.configured = {n.lower() for n in extra if n and not n.startswith(".")}
        # ".example.com" allows every subdomain of example.com, as Django's ALLOWED_HOSTS does.
        self.suffixes = tuple(n.lower() for n in extra if n.startswith("."))
        self.any = "*" in extra

    def allows(self, name: str) -> bool:
        if not name:
            return False
        return self.any or name in self.exact or is_ip_literal(name) or name.endswith(".localhost") or self.is_configured(name)

    def is_configured(self, name: str) -> bool:
        """A name CITEQA_ALLOWED_HOSTS spells out ("*" does not count): a proxy's public name, trusted as an Origin too."""
        return name in self.configured or (bool(self.suffixes) and name.endswith(self.suffixes))


def _header(scope: Scope, name: bytes) -> str | None:
    for k, v in scope.get("headers", []):
        if k == name:
            return v.decode("latin-1")
    return None


class Guard:
    def __init__(self, app: ASGIApp, hosts: HostPolicy, upload_limit: int, upload_path: str = "/api/documents"):
        self.app = app
        self.hosts = hosts
        self.upload_limit = upload_limit
        self.upload_path = upload_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        host = _header(scope, b"host") or ""
        if not self.hosts.allows(split_host(host)):
            return await _error(send, 400, f"this server does not answer to the host name {host[:100]!r}; "
                                          "if it is behind a proxy under that name, add it to CITEQA_ALLOWED_HOSTS")
        method = scope["method"]
        if method not in SAFE_METHODS:
            problem = _cross_site(scope, host, self.hosts)
            if problem:
                return await _error(send, 403, f"refused a {method} from another site ({problem}); use this server's own pages or a client that is not a browser")
        if method == "POST" and scope["path"] == self.upload_path:
            limit = self.upload_limit + MULTIPART_OVERHEAD
            declared = _header(scope, b"content-length")
            if declared is not None and declared.isdigit() and int(declared) > limit:
                return await _error(send, 413, f"the upload is larger than the {self.upload_limit:,}-byte limit (CITEQA_MAX_UPLOAD_BYTES)")
            receive = _capped(receive, limit, self.upload_limit)
        return await self.app(scope, receive, send)


def _cross_site(scope: Scope, host: str, hosts: HostPolicy) -> str:
    """Why a browser's request comes from another site ("" if it does not, or if no browser sent it)."""
    origin = _header(scope, b"origin")
    netloc = urlsplit(origin).netloc.lower() if origin and origin != "null" else ""
    # A proxy may rewrite Host: its own public name, when configured, is this server's origin too.
    if netloc and hosts.is_configured(split_host(netloc)):
        return ""
    site = _header(scope, b"sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        return f"Sec-Fetch-Site: {site}"
    if origin is not None and netloc != host.strip().lower():
        return f"Origin: {origin[:100]}"
    return ""


def _capped(receive: Receive, limit: int, shown: int) -> Receive:
    """A receive that refuses the body once more than `limit` bytes arrived: nothing beyond is read or spooled."""
    seen = 0

    async def wrapped():
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise HTTPException(413, f"the upload is larger than the {shown:,}-byte limit (CITEQA_MAX_UPLOAD_BYTES)")
        return message

    return wrapped


async def _error(send: Send, status: int, message: str) -> None:
    body = json.dumps({"error": message}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
