"""One HTTP exchange with the tenant, bounded: redirects only within base_url's origin, a total deadline.

`request_timeout` bounds each socket read, so a body that trickles a byte at a time would never
end; the whole response (headers and body) must arrive within `request_timeout` seconds. A
redirect is followed only to the same origin (scheme, host, port): requests would otherwise
carry it to another host without the Authorization header, where an empty answer looks like
the end of a listing (docs/lgfapi.md 4.1).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlparse

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from tap_oracle_wms.lgfapi.errors import FatalError, RunFatalError, redacted_query
from tap_oracle_wms.lgfapi.wire import is_loopback, origin

if TYPE_CHECKING:
    from collections.abc import Callable

MAX_REDIRECTS = 5
CHUNK_BYTES = 64 * 1024
MB = 1024 * 1024


class ResponseTooLargeError(FatalError):
    """A response over max_response_mb, as sent or decompressed: no page is that large (not retried)."""


class _HeadersInTime:
    """The status line and headers (and any 100 Continue before them) within the read timeout, in all.

    The socket timeout bounds each read, so headers sent a byte at a time, or 100 Continue
    every half second, would hold a request for ever; a timer shuts the socket at the deadline
    and the wait ends as a read timeout (retried like any other).
    """

    timeout: Any
    sock: socket.socket | None

    def getresponse(self) -> Any:
        limit = self.timeout if isinstance(self.timeout, (int, float)) else None
        if limit is None:
            return super().getresponse()  # type: ignore[misc]
        expired = threading.Event()

        def expire() -> None:
            expired.set()
            if self.sock is not None:
                with contextlib.suppress(OSError):  # already closed
                    self.sock.shutdown(socket.SHUT_RDWR)

        timer = threading.Timer(limit, expire)
        timer.daemon = True
        timer.start()
        try:
            response = super().getresponse()  # type: ignore[misc]
        except Exception as exc:
            if expired.is_set():
                raise TimeoutError(late(limit)) from exc
            raise
        finally:
            timer.cancel()
        if expired.is_set():  # cut short by the timer, the headers read so far may look whole
            response.close()
            raise TimeoutError(late(limit))
        return response


class _Connection(_HeadersInTime, HTTPConnection):
    pass


class _TLSConnection(_HeadersInTime, HTTPSConnection):
    pass


class _Pool(HTTPConnectionPool):
    ConnectionCls = _Connection


class _TLSPool(HTTPSConnectionPool):
    ConnectionCls = _TLSConnection


class DeadlineAdapter(HTTPAdapter):
    """requests' adapter whose connections get their headers within the timeout (see above)."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        """The pool manager of requests, making our connections."""
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _Pool, "https": _TLSPool}

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        """The proxy manager of requests, making our connections."""
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = {"http": _Pool, "https": _TLSPool}
        return manager


NO_PROXY: dict[str, str | None] = {"http": None, "https": None, "all": None}


def proxies_for(url: str) -> dict[str, str | None] | None:
    """No proxy for a loopback host (None: requests' own choice, HTTP(S)_PROXY and NO_PROXY).

    A proxy cannot reach this machine's loopback, and over plain http it would receive the
    credentials in clear: loopback requests always go direct.
    """
    return NO_PROXY if is_loopback(urlparse(url).hostname) else None


def proxy_options(url: str) -> dict[str, Any]:
    """Keyword arguments for a requests call to `url`: no proxy for a loopback host."""
    direct = proxies_for(url)
    return {} if direct is None else {"proxies": direct}


def bounded(session: requests.Session) -> requests.Session:
    """The session with every response (headers too) bounded by its request's timeout."""
    for prefix in ("https://", "http://"):
        session.mount(prefix, DeadlineAdapter())
    return session


def exchange(
    session: requests.Session,
    prepared: requests.PreparedRequest,
    authenticate: Callable[[requests.PreparedRequest], requests.PreparedRequest],
    *,
    timeout: float,
    base_url: str,
    max_bytes: int,
) -> requests.Response:
    """Send `prepared` (authenticated afresh), follow same-origin redirects, read the body in time."""
    deadline = time.monotonic() + timeout

    def send(request: requests.PreparedRequest) -> requests.Response:
        options = proxy_options(request.url or "")
        try:
            return session.send(
                authenticate(request), timeout=timeout, allow_redirects=False, stream=True, **options
            )
        except requests.exceptions.ReadTimeout as exc:
            raise requests.exceptions.ReadTimeout(late(timeout), request=request) from exc

    response = send(prepared)
    for _ in range(MAX_REDIRECTS):
        if not response.is_redirect:
            break
        try:
            target = redirect_target(base_url, response)
        finally:
            response.close()  # a refused redirect leaves no connection open either
        prepared = prepared.copy()
        prepared.prepare_url(target, None)
        response = send(prepared)
    else:
        if response.is_redirect:
            response.close()
            msg = f"GET {redacted_query(prepared.url or '')}: more than {MAX_REDIRECTS} redirects."
            raise RunFatalError(msg)
    read_body(response, deadline, timeout, max_bytes)
    return response


def redirect_target(base_url: str, response: requests.Response) -> str:
    """Where a 3xx may be followed: the same origin only, never plain http or another host."""
    location = response.headers.get("Location", "")
    target = urljoin(response.url, location)
    if not location or origin(target) != origin(base_url):
        where = f"GET {redacted_query(response.url)}"
        to = f"{urlparse(target).scheme}://{urlparse(target).netloc}" if location else "nowhere"
        msg = (
            f"HTTP {response.status_code} from {where} redirects to {to}; the tap follows redirects only "
            "within base_url's origin (never to another host or to plain http); check base_url."
        )
        raise RunFatalError(msg)
    return target


def late(timeout: float) -> str:
    """What a response that did not arrive in time is reported as."""
    return f"the response took longer than request_timeout ({timeout:g} s) to arrive in full"


def read_body(response: requests.Response, deadline: float, timeout: float, max_bytes: int) -> None:
    """Read the whole body before `deadline` and within `max_bytes`, or fail.

    `read1` returns what has arrived (a plain read waits for a whole chunk), so a trickling
    body is checked against the deadline as it comes (a read timeout, retried); the size is
    checked as sent (Content-Length first) and as decompressed, so a gzip bomb stops at the cap
    (not retried). The body grows in one buffer, never in pieces joined afterwards. urllib3's
    errors become requests' own, as `Response.iter_content` would raise them.
    """
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        response.close()
        raise ResponseTooLargeError(too_large(response, max_bytes, f"{int(declared) / MB:.0f} MB announced"))
    body = bytearray()
    try:
        while chunk := response.raw.read1(CHUNK_BYTES, decode_content=True):
            body += chunk
            if len(body) > max_bytes or response.raw.tell() > max_bytes:
                response.close()
                raise ResponseTooLargeError(too_large(response, max_bytes, "read so far"))
            if time.monotonic() > deadline:
                response.close()
                raise requests.exceptions.ReadTimeout(late(timeout), request=response.request)
    except urllib3.exceptions.ReadTimeoutError as exc:
        raise requests.exceptions.ReadTimeout(late(timeout), request=response.request) from exc
    except urllib3.exceptions.ProtocolError as exc:
        raise requests.exceptions.ChunkedEncodingError(readable(exc), request=response.request) from exc
    except urllib3.exceptions.DecodeError as exc:
        raise requests.exceptions.ContentDecodingError(readable(exc), request=response.request) from exc
    # requests serves the body from here afterwards (its own attribute; a bytearray reads alike).
    response._content = body  # type: ignore[assignment]


def too_large(response: requests.Response, max_bytes: int, seen: str) -> str:
    """One line for a response over the size cap."""
    return (
        f"GET {redacted_query(response.url)}: the response is larger than max_response_mb "
        f"({max_bytes // MB} MB, {seen}); no page is that large: check base_url, or raise max_response_mb."
    )


def readable(exc: BaseException) -> str:
    """urllib3's nested error tuples, `('Connection broken: IncompleteRead(...)', ...)`, as one line."""
    args = exc.args
    while len(args) >= 1 and isinstance(args[0], tuple):
        args = args[0]
    first = args[0] if args else exc
    return str(first) if isinstance(first, str) else f"{type(first).__name__}: {first}"


def close_session(session: requests.Session) -> None:
    """Close a session and its open connections now.

    `Session.close` only drops urllib3's connection pools, which close their sockets when they are
    garbage collected; a pool still referenced (by a failed request's traceback, say) would keep
    a connection open after the run.
    """
    for adapter in session.adapters.values():
        pools = getattr(adapter, "poolmanager", None)
        if pools is None:
            continue
        for key in list(pools.pools.keys()):
            pool = pools.pools.get(key)
            if pool is not None:
                pool.close()
    session.close()
