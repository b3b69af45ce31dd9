"""A whole response arrives within request_timeout, headers included, for API and token requests alike."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from tapruns import discover

# Each writer gets the accepted socket and a stop flag; it sends its answer as slowly as it likes.
Writer = Callable[[socket.socket, threading.Event], None]


def _drip(conn: socket.socket, stop: threading.Event, data: bytes, pieces: int, every: float) -> None:
    step = max(1, len(data) // pieces)
    for i in range(0, len(data), step):
        if stop.wait(every):
            return
        conn.sendall(data[i : i + step])


HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" + b"".join(
    b"X-Filler-%d: %s\r\n" % (i, b"x" * 20) for i in range(200)
)


def header_line_per_second(conn: socket.socket, stop: threading.Event) -> None:
    _drip(conn, stop, HEAD, pieces=200, every=1.0)


def header_byte_per_second(conn: socket.socket, stop: threading.Event) -> None:
    _drip(conn, stop, HEAD, pieces=len(HEAD), every=1.0)


def continue_for_ever(conn: socket.socket, stop: threading.Event) -> None:
    while not stop.wait(0.5):
        conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")


@contextlib.contextmanager
def slow_server(writer: Writer) -> Iterator[str]:
    """A loopback server answering every connection with `writer`; yields its base URL."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def handle(conn: socket.socket) -> None:
        with conn:
            conn.recv(65536)
            with contextlib.suppress(OSError):
                writer(conn, stop)

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=handle, args=(conn,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        listener.close()


SETTINGS = {"username": "u", "password": "p", "request_timeout": 2, "max_retries": 0}


@pytest.mark.parametrize("writer", [header_line_per_second, header_byte_per_second, continue_for_ever])
def test_headers_that_trickle_hit_request_timeout(writer):
    """Headers a line or a byte a second, or 100 Continue for ever: the request fails within the deadline."""
    with slow_server(writer) as url:
        started = time.monotonic()
        with pytest.raises(Exception, match="took longer than request_timeout"):
            discover({"base_url": url + "/env", **SETTINGS})
    assert time.monotonic() - started < 15


def token_byte_per_second(conn: socket.socket, stop: threading.Event) -> None:
    body = b'{"access_token": "t", "expires_in": 3600}'
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)
    conn.sendall(head)
    _drip(conn, stop, body, pieces=len(body), every=1.0)


@pytest.mark.parametrize("writer", [token_byte_per_second, header_byte_per_second])
def test_a_trickling_token_endpoint_cannot_hang_discovery(writer):
    """The OAuth2 token answer, a byte a second (body or headers): discovery fails within the deadline."""
    with slow_server(writer) as url:
        settings = {
            "base_url": url + "/env",
            "auth_method": "oauth2",
            "oauth_client_id": "c",
            "oauth_client_secret": "s",
            "oauth_token_url": url + "/token",
            "request_timeout": 2,
            "max_retries": 0,
        }
        started = time.monotonic()
        with pytest.raises(Exception, match=r"request_timeout|timed out"):
            discover(settings)
    assert time.monotonic() - started < 15
