"""Starlette app factory: lgfapi routes, auth, OAuth token endpoint, error bodies, admin routes.

Faults, latency, the concurrency cap and the request log live in `gate.py` (a plain ASGI wrapper).
"""

from __future__ import annotations

import base64
import dataclasses
import hmac
import json
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from tap_oracle_wms_sandbox import activity, listing, query, quirks
from tap_oracle_wms_sandbox.entities import BY_NAME, describe, exposed_entities
from tap_oracle_wms_sandbox.gate import FAULTS, Gate
from tap_oracle_wms_sandbox.state import OAUTH_CLIENT, OAUTH_SCOPE, USERS, State, User

Endpoint = Callable[[Request], Awaitable[Response]]
API_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]


def error(
    status: int, code: str, message: str, details: Any = None, headers: dict[str, str] | None = None
) -> Response:
    """The documented error body {reference, code, message, details} (docs/lgfapi.md 4.2)."""
    body = {"reference": str(uuid.uuid4()), "code": code, "message": message}
    if details is not None:
        body["details"] = details
    return JSONResponse(body, status_code=status, headers=headers)


def json_text(body: str, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A response whose JSON body is already text."""
    return Response(body.encode(), status_code=status, headers=headers, media_type="application/json")


def authenticate(state: State, request: Request) -> User | Response:
    """HTTP Basic or an unexpired Bearer token from the token endpoint (docs/lgfapi.md 3.1)."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    challenge = {"WWW-Authenticate": 'Basic realm="lgfapi"'}
    if scheme.lower() == "basic":
        try:  # ValueError covers bad base64, non-ASCII header text and non-UTF-8 credentials
            name, _, password = base64.b64decode(value).decode().partition(":")
        except ValueError:
            name, password = "", ""
        user = USERS.get(name)
        # compare bytes: compare_digest refuses str with non-ASCII characters (a 500 otherwise)
        if user and hmac.compare_digest(user.password.encode(), password.encode()):
            return user
        return error(401, "AUTHENTICATION_FAILED", "Invalid username/password.", headers=challenge)
    if scheme.lower() == "bearer":
        with state.lock:
            entry = state.tokens.get(value)
        if entry is None:
            return error(401, "AUTHENTICATION_FAILED", "Invalid access token.")
        if entry[1] < time.monotonic():
            return error(401, "AUTHENTICATION_FAILED", "Access token expired.")
        return USERS[entry[0]]
    return error(
        401, "AUTHENTICATION_FAILED", "Authentication credentials were not provided.", headers=challenge
    )


def api_handler(state: State) -> Endpoint:
    """Endpoint for everything under /{env}/wms/lgfapi/{version}/."""

    async def api(request: Request) -> Response:
        env, version = request.path_params["env"], request.path_params["version"]
        if env != state.config.env or version != "v10":
            return error(404, "NOT_FOUND", "Not found.")
        path = request.path_params["rest"].strip("/")
        if path.endswith(".json"):  # format suffix (docs/lgfapi.md 1.7)
            path = path[:-5].rstrip("/")
        parts = path.split("/")
        location = quirks.redirect_location(state.config, request.url) if len(parts) == 2 else None
        if location and parts[0] == "entity":  # a list request (knob redirect_lists)
            return Response(status_code=302, headers={"Location": location})
        user = authenticate(state, request)
        if isinstance(user, Response):
            return user
        request.scope["wms_user"] = user.name
        if not user.read:
            return error(403, "PERMISSION_DENIED", "User lacks lgfapi_read_access.")
        if request.method not in ("GET", "HEAD"):
            return error(405, "METHOD_NOT_ALLOWED", f"Method {request.method} not allowed.")
        params = listing.last_wins(request.url.query)
        if params.get("format", "json") != "json":
            return error(406, "NOT_ACCEPTABLE", "The sandbox only renders format=json.")
        origin = quirks.origin(state.config, request.url)
        api_base = f"{origin}/{env}/wms/lgfapi/{version}/"
        if parts[0] != "entity":
            return error(404, "NOT_FOUND", "Not found.")
        if len(parts) == 1:
            return catalog(state, api_base)
        if parts[1] in extra_entity_names(state):
            return extra_entity(parts)
        entity = BY_NAME.get(parts[1])
        if entity is None or not entity.exposed or len(parts) > 3:
            return error(404, "NOT_FOUND", f"Unknown entity '{parts[1]}'.")
        if entity.name in user.denied:
            return error(403, "PERMISSION_DENIED", f"No read permission on entity {entity.name}.")
        failing = quirks.entity_fault(state.config, entity.name)
        if failing:
            return entity_failure(state, entity.name, failing)
        try:
            if len(parts) == 3 and parts[2] == "describe":
                cfg = state.config
                body = describe(entity, cfg.describe_dialect, cfg.unknown_types == "on")
                return json_text(json.dumps(body))
            url_base = f"{origin}{request.url.path}"
            if len(parts) == 3:
                res = listing.retrieve(state, entity, user, parts[2], request.url.query, api_base)
            else:
                res = listing.list_page(state, entity, user, request.url.query, url_base, api_base)
        except query.QueryError as exc:
            return error(400, "VALIDATION_ERROR", exc.message, exc.details)
        except listing.NotFoundError as exc:
            return error(404, "NOT_FOUND", str(exc))
        return json_text(res.body, res.status, res.headers)

    return api


def entity_failure(state: State, entity: str, status: int) -> Response:
    """The answer of every request of a failing entity (knob entity_faults)."""
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    code = FAULTS[str(status)][1] if str(status) in FAULTS else phrase.upper().replace(" ", "_")
    code = "".join(c for c in code if c.isalnum() or c == "_")
    retry = {"Retry-After": state.retry_after().decode()} if status in (429, 503) else None
    return error(status, code, f"Entity {entity} failed: {phrase}.", headers=retry)


def extra_entity_names(state: State) -> set[str]:
    """Names of the knob's padding entities: ext_entity_001, ext_entity_002, ..."""
    return {f"ext_entity_{i:03d}" for i in range(1, state.config.extra_entities + 1)}


def extra_entity(parts: list[str]) -> Response:
    """A padding entity: a small describe, and no rows (every list and retrieve is a 404)."""
    if len(parts) == 3 and parts[2] == "describe":
        fields = {
            "id": {"type": "primary key", "required": True},
            "code": {"type": "string", "required": True, "max_length": 30, "allow_blank": False},
            "create_ts": {"type": "datetime", "required": False, "default": "now"},
            "mod_ts": {"type": "datetime", "required": False, "default": "now"},
        }
        return JSONResponse({"parameters": list(fields), "fields": fields})
    return error(404, "NOT_FOUND", "No records found.")


def catalog(state: State, api_base: str) -> Response:
    """Entity catalog sorted by name: flat {name: url} or a list (knob catalog_shape, 1.4)."""
    names = sorted([e.name for e in exposed_entities()] + list(extra_entity_names(state)))
    if state.config.catalog_shape == "list":
        return JSONResponse(names)
    return JSONResponse({n: f"{api_base}entity/{n}" for n in names})


def oauth_error(status: int, code: str, text: str) -> Response:
    """IDCS-shaped OAuth error."""
    return JSONResponse({"error": code, "error_description": text}, status_code=status)


def token_handler(state: State) -> Endpoint:
    """POST /oauth2/v1/token: client_credentials like Oracle IDCS (docs/lgfapi.md 3.2)."""

    async def token(request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        mode = state.config.token_endpoint
        if mode == "redirect" and request.url.hostname != "localhost":  # a proxy sending it elsewhere
            return Response(
                status_code=307, headers={"Location": str(request.url.replace(hostname="localhost"))}
            )
        if mode == "html":  # a proxy or login page answering instead of IDCS
            return HTMLResponse("<!DOCTYPE html><html><body><h1>Sign In</h1></body></html>")
        if mode == "invalid_json":
            return json_text('{"access_token": "', 200)
        if scheme.lower() == "basic":
            try:
                client_id, _, secret = base64.b64decode(value).decode().partition(":")
            except ValueError:
                client_id = ""
        if (client_id, secret) != OAUTH_CLIENT:
            return oauth_error(401, "invalid_client", "Client authentication failed.")
        if form.get("grant_type") != "client_credentials":
            return oauth_error(400, "unsupported_grant_type", "Only client_credentials.")
        if form.get("scope") != OAUTH_SCOPE:
            return oauth_error(400, "invalid_scope", "The requested scope is invalid.")
        ttl = state.config.token_ttl_s
        access = secrets.token_urlsafe(32)
        with state.lock:
            state.tokens[access] = ("admin", time.monotonic() + ttl)
        if mode == "no_expires_in":
            return JSONResponse({"access_token": access, "token_type": "Bearer"})
        return JSONResponse({"access_token": access, "token_type": "Bearer", "expires_in": ttl})

    return token


def admin_routes(state: State) -> list[Route]:
    """Unauthenticated admin routes for tests, the CLI and Meltano users."""

    async def config(request: Request) -> Response:
        if request.method == "POST":
            try:
                state.configure(**(await request.json()))
            except (ValueError, TypeError) as exc:
                return error(400, "VALIDATION_ERROR", str(exc))
        return JSONResponse(dataclasses.asdict(state.config))

    async def burst(request: Request) -> Response:
        body = await request.json() if await request.body() else {}
        try:
            return JSONResponse(activity.burst(state, **body))
        except (ValueError, TypeError) as exc:
            return error(400, "VALIDATION_ERROR", str(exc))

    async def start(request: Request) -> Response:
        body = await request.json() if await request.body() else {}
        activity.start(state, **body)
        return JSONResponse({"running": True})

    async def stop(_: Request) -> Response:
        return JSONResponse({"running": False, **activity.stop(state)})

    async def truth(request: Request) -> Response:
        """Ground truth of /_admin/truth/{entity}, or the odd rows of /_admin/odd_values/{entity}."""
        entity = BY_NAME.get(request.path_params["entity"])
        user = USERS.get(request.query_params.get("user", "admin"))
        if entity is None or user is None:
            return error(404, "NOT_FOUND", "Unknown entity or user.")
        if request.url.path.startswith("/_admin/odd_values/"):
            return JSONResponse(listing.odd_values(state, entity, user))
        api_base = f"{request.url.scheme}://{request.url.netloc}/{state.config.env}/wms/lgfapi/v10/"
        return JSONResponse(listing.truth(state, entity, user, api_base))

    async def requests(_: Request) -> Response:
        with state.lock:
            log = [dataclasses.asdict(e) for e in state.log]
        by_status: dict[str, int] = {}
        for e in log:
            by_status[str(e["status"])] = by_status.get(str(e["status"]), 0) + 1
        return JSONResponse({"count": len(log), "by_status": by_status, "requests": log})

    async def clear(_: Request) -> Response:
        with state.lock:
            state.log.clear()
        return JSONResponse({"count": 0})

    async def reset(_: Request) -> Response:
        activity.stop(state)
        state.reset()
        return JSONResponse({"reset": True})

    return [
        Route("/_admin/config", config, methods=["GET", "POST"]),
        Route("/_admin/activity", burst, methods=["POST"]),
        Route("/_admin/activity/start", start, methods=["POST"]),
        Route("/_admin/activity/stop", stop, methods=["POST"]),
        Route("/_admin/truth/{entity}", truth, methods=["GET"]),
        Route("/_admin/odd_values/{entity}", truth, methods=["GET"]),
        Route("/_admin/requests", requests, methods=["GET"]),
        Route("/_admin/requests/clear", clear, methods=["POST"]),
        Route("/_admin/reset", reset, methods=["POST"]),
    ]


def create_app(state: State) -> Gate:
    """The ASGI app: Starlette routes wrapped by the fault/latency/concurrency gate."""
    api = api_handler(state)
    token = token_handler(state)
    routes = [
        Route("/oauth2/v1/token", token, methods=["POST"]),
        Route("/oauth2/v1/token/", token, methods=["POST"]),
        Route("/{env}/wms/lgfapi/{version}/{rest:path}", api, methods=API_METHODS),
        *admin_routes(state),
    ]

    async def crash(_: Request, exc: Exception) -> Response:
        return error(500, "INTERNAL_ERROR", f"Unhandled error: {type(exc).__name__}")

    return Gate(Starlette(routes=routes, exception_handlers={Exception: crash}), state)
