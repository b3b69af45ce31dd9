"""A small lgfapi entity on 127.0.0.1 whose rows and paging a test writes itself.

The sandbox renders rows from SQL, so it cannot send a value the API's own types would never
produce (an unparsable `mod_ts`, a string `id`, `"NaN"` in a decimal), nor page in ways no
honest server does. This server can: it keeps each row's true sort keys apart from what it
renders, honours `ordering`, the `id`/`mod_ts` range filters the tap sends, the paged count
query and sequenced cursors, and answers 404 "No records found." for an empty list
(docs/lgfapi.md 2.2-2.11). `paging` overrides how the next page is linked.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlparse

from local_server import send_json, serving

ENTITY = "thing"
API = "/env/wms/lgfapi/v10/"
DESCRIBE = {
    "parameters": ["id", "mod_ts", "amount", "name"],
    "fields": {
        "id": {"type": "primary key", "required": True},
        "mod_ts": {"type": "datetime", "required": False},
        "amount": {"type": "decimal", "required": False},
        "name": {"type": "string", "required": False},
    },
}
START = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


@dataclass
class Row:
    """One row: its true id and mod_ts (what the server sorts and filters on) and what it sends."""

    id: int
    mod_ts: dt.datetime
    sent: dict[str, Any]


def rows(count: int, **changed: dict[str, Any]) -> list[Row]:
    """`count` rows a second apart; `**{"150": {"mod_ts": "junk"}}` changes what row 150 sends."""
    out = []
    for i in range(1, count + 1):
        ts = START + dt.timedelta(seconds=i)
        sent = {"id": i, "mod_ts": ts.isoformat(), "amount": f"{i}.50", "name": f"thing {i}"}
        sent.update(changed.get(str(i), {}))
        out.append(Row(i, ts, sent))
    return out


# A paging rule: (rows of this page, the listing's query, offset of the page, next offset or None)
# -> (rows to send, the next_page link's query, or the link itself as text, or None).
Paging = Callable[[list[dict[str, Any]], dict[str, str], int, int | None], tuple[list[dict[str, Any]], Any]]


@dataclass
class Served:
    """What the server holds and what it was asked."""

    rows: list[Row]
    paging: Paging | None = None
    requests: list[dict[str, str]] = field(default_factory=list)
    latency: float = 0.0  # seconds each request waits before its answer, as a real tenant's do


def _instant(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).astimezone(dt.UTC)


def _select(all_rows: list[Row], query: dict[str, str]) -> list[Row]:
    """The rows matching the query's range filters, in its ordering."""
    tests: dict[str, Callable[[Row, str], bool]] = {
        "id__gt": lambda r, v: r.id > int(v),
        "id__gte": lambda r, v: r.id >= int(v),
        "id__lt": lambda r, v: r.id < int(v),
        "mod_ts__gte": lambda r, v: r.mod_ts >= _instant(v),
        "mod_ts__lt": lambda r, v: r.mod_ts < _instant(v),
    }
    chosen = [r for r in all_rows if all(test(r, query[k]) for k, test in tests.items() if k in query)]
    ordering = query.get("ordering", "id")
    keys = {
        "id": lambda r: (r.id,),
        "mod_ts,id": lambda r: (r.mod_ts, r.id),
        "mod_ts": lambda r: (r.mod_ts, r.id),
    }
    descending = ordering.startswith("-")
    return sorted(chosen, key=keys[ordering.lstrip("-")], reverse=descending)


class _Handler(BaseHTTPRequestHandler):
    served: Served

    def do_GET(self) -> None:
        parts = urlparse(self.path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        self.served.requests.append({"path": parts.path, **query})
        time.sleep(self.served.latency)
        base = f"http://127.0.0.1:{self.server.server_address[1]}{API}"
        if parts.path == API + "entity/":
            self._send(200, {ENTITY: f"{base}entity/{ENTITY}/"})
        elif parts.path == f"{API}entity/{ENTITY}/describe/":
            self._send(200, DESCRIBE)
        elif parts.path == f"{API}entity/{ENTITY}/":
            self._list(query, f"{base}entity/{ENTITY}/")
        else:
            self._send(404, {"code": "NOT_FOUND", "message": "Unknown entity."})

    def _list(self, query: dict[str, str], url: str) -> None:
        chosen = _select(self.served.rows, query)
        if not chosen:
            self._send(404, {"code": "NOT_FOUND", "message": "No records found."})
            return
        size = int(query.get("page_size", 25))
        if query.get("page_mode") == "paged":
            page = int(query.get("page", 1))
            found = [r.sent for r in chosen[(page - 1) * size : page * size]]
            self._send(
                200, {"result_count": len(chosen), "page_nbr": page, "next_page": None, "results": found}
            )
            return
        offset = int(query.get("cursor", "0").split("-")[0])
        found = [r.sent for r in chosen[offset : offset + size]]
        following = offset + size if offset + size < len(chosen) else None
        listing = {k: v for k, v in query.items() if k != "cursor"}
        if self.served.paging is not None:
            found, link_query = self.served.paging(found, listing, offset, following)
        else:
            link_query = None if following is None else {**listing, "cursor": str(following)}
        if link_query is None or isinstance(link_query, str):  # a link as the rule writes it
            link = link_query
        else:
            link = f"{url}?{urlencode(link_query, safe=',:')}"
        self._send(200, {"next_page": link, "previous_page": None, "results": found})

    def _send(self, status: int, body: Any) -> None:
        send_json(self, status, body)

    def log_message(self, *args: object) -> None:
        pass


def keyset_server(served: Served) -> contextlib.AbstractContextManager[str]:
    """The server's base_url (`http://127.0.0.1:PORT/env`) while the block runs."""
    return serving(type("Handler", (_Handler,), {"served": served}))


def config(base_url: str, **overrides: Any) -> dict[str, Any]:
    """Settings for the server: Basic auth (it accepts any), ordering known honoured."""
    return {
        "base_url": base_url,
        "username": "u",
        "password": "p",
        "entities_include": [ENTITY],
        "sequenced_ordering": "honoured",
        "max_retries": 0,
        **overrides,
    }
