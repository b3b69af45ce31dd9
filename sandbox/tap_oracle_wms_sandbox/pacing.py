"""Answers held back: slow list pages, trickling bodies, dropped connections.

A slow page (knobs slow_page_*) waits before its headers so a client's read timeout fires; a
trickling body (knob trickle_bytes_per_s) defeats a client that only has a per-read timeout.
Every wait ends early when the client disconnects or the server stops (State.closing), so
neither a test nor a shutdown waits for it: the connection is then dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any
from urllib.parse import parse_qsl

from tap_oracle_wms_sandbox.state import SandboxConfig, State

TICK_S = 0.05  # how often a held answer looks for a disconnect or a stopping server
Message = dict[str, Any]


class ConnectionDroppedError(RuntimeError):
    """Raised where no socket exists (TestClient) to simulate a dropped connection."""


def transport_of(send: Any) -> Any:
    """The uvicorn transport behind `send` (its RequestResponseCycle), or None."""
    return getattr(getattr(send, "__self__", None), "transport", None)


async def abort(send: Any) -> None:
    """Close the connection without a (complete) response."""
    transport = transport_of(send)
    if transport is None:
        raise ConnectionDroppedError("sandbox fault: connection dropped")
    transport.abort()
    await asyncio.sleep(0.01)  # let the server notice the lost connection before we return


def list_entity(cfg: SandboxConfig, path: str) -> str:
    """The entity of a list request path (…/entity/{name}/), or '' for any other path."""
    prefix = f"/{cfg.env}/wms/lgfapi/v10/entity/"
    if not path.startswith(prefix):
        return ""
    rest = path[len(prefix) :].strip("/")
    rest = rest[:-5].rstrip("/") if rest.endswith(".json") else rest
    return rest if rest and "/" not in rest else ""


def plan(cfg: SandboxConfig, scope: dict[str, Any]) -> tuple[float, float]:
    """(delay seconds, trickle bytes/s) for this request; (0, 0) = answer normally."""
    if cfg.slow_page_rows <= 0 and cfg.trickle_bytes_per_s <= 0:
        return 0.0, 0.0
    entity = list_entity(cfg, scope["path"])
    if not entity:
        return 0.0, 0.0
    delay = 0.0
    if cfg.slow_page_rows > 0 and (not cfg.slow_page_entities or entity in cfg.slow_page_entities):
        query = scope.get("query_string", b"").decode("latin-1")
        raw = dict(parse_qsl(query, keep_blank_values=True)).get("page_size", "")
        size = int(raw) if raw.isdigit() else cfg.rows_per_page
        delay = float(cfg.slow_page_delay_s) if size > cfg.slow_page_rows else 0.0
    return delay, float(cfg.trickle_bytes_per_s)


class Watch:
    """Watches `receive` for the client's disconnect while an answer is held back."""

    def __init__(self, receive: Any) -> None:
        self.gone = False
        self.task = asyncio.ensure_future(self.run(receive))

    async def run(self, receive: Any) -> None:
        """Read messages until the disconnect (the request body, if unread, comes first)."""
        while (await receive())["type"] != "http.disconnect":
            pass
        self.gone = True

    async def hold(self, state: State, seconds: float) -> bool:
        """Wait `seconds`; False as soon as the client has left or the server is stopping."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while not self.gone and not state.closing.is_set():
            left = deadline - loop.time()
            if left <= 0:
                return True
            await asyncio.sleep(min(left, TICK_S))
        return False

    async def close(self) -> None:
        """Stop watching."""
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


async def paced(
    app: Any, state: State, scope: dict[str, Any], receive: Any, send: Any, out: Any, how: tuple[float, float]
) -> None:
    """Run the app, then send its 200 answer late and/or trickling through `out`.

    `send` is the server's own (needed to drop the connection), `out` the logging chain.
    """
    start: Message = {}
    chunks: list[bytes] = []

    async def capture(message: Message) -> None:
        if message["type"] == "http.response.start":
            start.update(message)
        else:
            chunks.append(message.get("body", b""))

    await app(scope, receive, capture)
    body = b"".join(chunks)
    headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
    head = {**start, "headers": [*headers, (b"content-length", str(len(body)).encode())]}
    delay, rate = how if start["status"] == 200 else (0.0, 0.0)
    watch = Watch(receive)
    try:
        if delay and not await watch.hold(state, delay):
            await abort(send)
            return
        await out(head)
        step = max(1, int(rate / 10)) if rate else max(1, len(body))  # ~10 sends a second
        for n in range(0, len(body), step):
            if n and rate and not await watch.hold(state, step / rate):
                await abort(send)
                return
            await out({"type": "http.response.body", "body": body[n : n + step], "more_body": True})
        await out({"type": "http.response.body", "body": b""})
    finally:
        await watch.close()
