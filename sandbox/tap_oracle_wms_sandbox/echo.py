"""A careless server (knob echo_credentials=on): API error bodies echo the request's credentials.

Every 4xx/5xx answer of the lgfapi routes (app errors, faults, the concurrency cap, 404 "no
records") gets the raw Authorization header and the decoded Basic password (or the Bearer token)
in `message`, and the same values as `details` strings. The password is echoed exactly; the JSON
encoder then escapes it (a backslash, quote or newline changes form), so a client that redacts
secrets from logged bodies must look for the escaped form too.
"""

from __future__ import annotations

import base64
import json
from typing import Any

Message = dict[str, Any]


def secret_of(header: str) -> tuple[str, str]:
    """('password', p) of a Basic header, ('token', t) of a Bearer header, else ('', '')."""
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer":
        return "token", value
    if scheme.lower() != "basic":
        return "", ""
    try:
        raw = base64.b64decode(value)
    except ValueError:
        return "", ""
    try:
        text = raw.decode()
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    return "password", text.partition(":")[2]


def echoed(body: bytes, header: str) -> bytes:
    """The error body with the credentials added to `message` and `details`."""
    try:
        doc = json.loads(body)
    except ValueError:
        doc = None
    if not isinstance(doc, dict):
        doc = {"message": body.decode("utf-8", "replace")}
    kind, secret = secret_of(header)
    told = f"Authorization: {header}" + (f"; {kind}: {secret}" if kind else "")
    doc["message"] = f"{doc.get('message', '')} ({told})".lstrip()
    details = doc.get("details")
    extra = {"authorization": header, **({kind: secret} if kind else {})}
    kept = details if isinstance(details, dict) else {} if details is None else {"original": details}
    doc["details"] = {**kept, **extra}
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()


def wrap(scope: dict[str, Any], send: Any) -> Any:
    """`send` that rewrites error answers of a request carrying an Authorization header."""
    header = dict(scope.get("headers") or []).get(b"authorization", b"").decode("latin-1")
    if not header:
        return send
    held: Message = {}
    chunks: list[bytes] = []

    async def echo_send(message: Message) -> None:
        if message["type"] == "http.response.start" and message["status"] >= 400:
            held.update(message)
            return
        if not held or message["type"] != "http.response.body":
            await send(message)
            return
        chunks.append(message.get("body", b""))
        if message.get("more_body"):
            return
        body = echoed(b"".join(chunks), header)
        headers = [(k, v) for k, v in held["headers"] if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        await send({**held, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return echo_send
