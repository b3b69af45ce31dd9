"""Outermost ASGI wrapper: request log, concurrency cap, latency and fault injection.

Only lgfapi routes get latency, the cap and faults (never /_admin or the token endpoint).
"drop" and "truncate" reach the socket through the server's transport, so a client really sees
a closed connection (no response / a short body), as on a flaky network. Slow pages and trickling
bodies are in `pacing.py`, echoed credentials in `echo.py`.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any
from urllib.parse import parse_qsl

from tap_oracle_wms_sandbox import echo, pacing
from tap_oracle_wms_sandbox.pacing import ConnectionDroppedError, abort
from tap_oracle_wms_sandbox.state import RequestLogEntry, State

__all__ = ["FAULTS", "ConnectionDroppedError", "Gate", "send_error"]

Scope = dict[str, Any]
Message = dict[str, Any]
FAULTS = {
    "500": (500, "INTERNAL_ERROR", "Unhandled server error."),
    "503": (503, "SERVICE_UNAVAILABLE", "Service temporarily unavailable."),
    "429": (429, "TOO_MANY_REQUESTS", "Too many requests."),
    "409": (409, "RECORD_CHANGED", "Record changed by another user; retry."),
}


async def send_error(
    send: Any, status: int, code: str, message: str, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    """Send an lgfapi error body directly."""
    body = json.dumps({"reference": str(uuid.uuid4()), "code": code, "message": message}).encode()
    head = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": head + (headers or [])})
    await send({"type": "http.response.body", "body": body})


class Gate:
    """ASGI app wrapping the Starlette app with the test/benchmark knobs."""

    def __init__(self, app: Any, state: State) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        """Log, cap, delay, then serve or fault one request."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state, cfg = self.state, self.state.config
        path = scope["path"]
        is_api = path.startswith(f"/{cfg.env}/wms/")
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True))
        entry = RequestLogEntry(scope["method"], path, query, 0, "")
        if not path.startswith("/_admin"):
            with state.lock:
                state.log.append(entry)

        async def logged_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                entry.status = message["status"]
            await send(message)

        if not is_api:
            await self.app(scope, receive, logged_send)
            return
        if cfg.echo_credentials == "on":
            logged_send = echo.wrap(scope, logged_send)
        retry = [(b"retry-after", state.retry_after())]
        with state.lock:
            over = 0 < cfg.max_concurrency <= state.inflight
            if not over:
                state.inflight += 1
        if over:
            await send_error(logged_send, 429, "TOO_MANY_REQUESTS", "Too many concurrent requests.", retry)
            return
        try:
            if cfg.latency_ms > 0:
                await asyncio.sleep(cfg.latency_ms / 1000)
            await self.serve(scope, receive, send, logged_send, entry, retry)
        finally:
            entry.user = scope.get("wms_user", "")
            with state.lock:
                state.inflight -= 1

    async def serve(
        self,
        scope: Scope,
        receive: Any,
        send: Any,
        logged_send: Any,
        entry: RequestLogEntry,
        retry: list[tuple[bytes, bytes]],
    ) -> None:
        """Run the app, or replace/alter its answer with the drawn fault."""
        fault = self.state.pick_fault()
        if fault in FAULTS:
            status, code, message = FAULTS[fault]
            await send_error(logged_send, status, code, message, retry if fault in ("429", "503") else None)
            return
        if fault == "drop":
            entry.status = -1
            await abort(send)
            return
        how = pacing.plan(self.state.config, scope) if not fault else (0.0, 0.0)
        if how != (0.0, 0.0):
            await pacing.paced(self.app, self.state, scope, receive, send, logged_send, how)
            entry.status = entry.status or -1  # 0: dropped before an answer (client left, stop)
            return
        if not fault:
            await self.app(scope, receive, logged_send)
            return
        start: Message = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                entry.status = message["status"]
            else:
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, capture)
        body = b"".join(chunks)
        headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        await send({**start, "headers": headers})
        if fault == "truncate":  # promise the full length, send half, then close
            entry.status = -2
            await send({"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True})
            await asyncio.sleep(0.01)
            await abort(send)
            return
        pieces = 10  # slow: the body trickles out over slow_body_s seconds
        step = max(1, -(-len(body) // pieces))
        for n in range(0, len(body), step):
            await send({"type": "http.response.body", "body": body[n : n + step], "more_body": True})
            await asyncio.sleep(self.state.config.slow_body_s / pieces)
        await send({"type": "http.response.body", "body": b""})
