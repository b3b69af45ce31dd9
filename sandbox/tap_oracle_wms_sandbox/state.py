"""Sandbox state shared by the web app, the activity simulator and the Python API.

Knobs, users, the SQLite database, OAuth tokens and the request log.
"""

from __future__ import annotations

import dataclasses
import os
import random
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from tap_oracle_wms_sandbox import data
from tap_oracle_wms_sandbox.entities import ENTITIES

FAULT_KINDS = ("500", "503", "429", "409", "drop", "truncate", "slow")
CHOICES = {
    "sequenced_ordering": ("honour", "ignore"),
    "page_size_over_max": ("clamp", "reject"),
    "catalog_shape": ("object", "list"),
    "describe_dialect": ("lgf", "django"),
    "datetime_output": ("offset", "naive"),
    "link_origin": ("request", "alias", "port443", "https"),
    "redirect_lists": ("off", "other_host", "same_origin", "plain_http"),
    "next_page_loop": ("off", "on", "alternate", "fresh"),
    "empty_pages": ("off", "on"),
    "echo_credentials": ("off", "on"),
    "token_endpoint": ("normal", "html", "invalid_json", "no_expires_in", "redirect"),
    "unknown_types": ("off", "on"),
}
ORDERING_RULES = ("desc", "non_id", "any")
MAX_PAGE_SIZE = 1250
OAUTH_CLIENT = ("sandbox-client", "sandbox-secret")
OAUTH_SCOPE = "urn:resource:fusion:scm:logistics:wms:lgfapi/"


@dataclass
class SandboxConfig:
    """Every knob of the sandbox, with its default (also CLI flags and POST /_admin/config)."""

    seed: int = 7  # data and fault-choice seed
    scale: int = 200  # rows of order_dtl; other entities are proportional (~5x rows in all)
    env: str = "sandbox"  # environment path segment: /{env}/wms/lgfapi/v10/
    host: str = "127.0.0.1"
    port: int = 0  # 0 = a free port chosen by the OS
    latency_ms: float = 0.0  # added to every API request (async: concurrent requests overlap)
    fault_rate: float = 0.0  # probability 0..1 that an API request gets a fault
    faults: tuple[str, ...] = ("500", "503", "429")  # subset of FAULT_KINDS to draw from
    retry_after_s: int = 1  # Retry-After of 429 and 503 answers
    slow_body_s: float = 2.0  # how long a "slow" fault takes to send its body
    max_concurrency: int = 0  # API requests in flight above this get 429 (0 = unlimited)
    sequenced_ordering: str = "honour"  # honour | ignore `ordering` in page_mode=sequenced
    page_size_over_max: str = "clamp"  # clamp | reject page_size above 1250
    catalog_shape: str = "object"  # object {name: url} | list [name, ...] for entity/
    describe_dialect: str = "lgf"  # lgf ("relation", "datetime", ...) | django (ForeignKey, ...)
    datetime_output: str = "offset"  # offset (+HH:MM) | naive (user's local time, no offset)
    token_ttl_s: int = 3600  # OAuth2 access-token lifetime (expires_in)
    rows_per_page: int = 25  # default page_size (the API user's "Rows per Page")
    extra_entities: int = 0  # extra empty entities in the catalog (a real tenant lists ~300)
    # ---- real-tenant behaviours and hostile answers: all off by default (see quirks.py) ----
    link_origin: str = "request"  # origin named by next/previous/url links
    ordering_rejects: tuple[str, ...] = ()  # entity:rule (rule desc | non_id | any; entity * = all)
    slow_page_rows: int = 0  # list pages asked with page_size above this wait (0 = off)
    slow_page_delay_s: float = 30.0  # how long such a page waits before answering
    slow_page_entities: tuple[str, ...] = ()  # entities whose big pages are slow (empty = all)
    entity_faults: tuple[str, ...] = ()  # entity:status, e.g. order_dtl:500
    later_page_404: str = "off"  # off | once | a rate 0..1 of 404 on pages after the first
    redirect_lists: str = "off"  # off | other_host | same_origin | plain_http (302 on lists)
    retry_after: str = ""  # raw Retry-After header value ("" = retry_after_s)
    trickle_bytes_per_s: float = 0.0  # list bodies sent at this rate (0 = off)
    next_page_loop: str = "off"  # on | alternate | fresh: next_page links that loop (quirks.py)
    empty_pages: str = "off"  # on: each later page first answers no rows and a next_page to itself
    echo_credentials: str = "off"  # on: error bodies echo the Authorization header and secret
    token_endpoint: str = "normal"  # noqa: S105 - a mode: normal, html, invalid_json, no_expires_in, redirect
    tls_certfile: str = ""  # PEM certificate: serve https (read at start)
    tls_keyfile: str = ""  # PEM private key of tls_certfile
    unknown_types: str = "off"  # on: location.geo_coords (describe type "json") exists
    odd_values: tuple[str, ...] = ()  # entities (* = all) whose seeded rows send odd values

    def validated(self) -> SandboxConfig:
        """Check enumerations and ranges; raise ValueError naming the bad knob."""
        for name, allowed in CHOICES.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, not {getattr(self, name)!r}")
        for f in dataclasses.fields(self):
            if f.name in TUPLE_KNOBS:
                setattr(self, f.name, as_tuple(getattr(self, f.name)))
        bad = set(self.faults) - set(FAULT_KINDS)
        if bad:
            raise ValueError(f"faults: unknown kinds {sorted(bad)}; allowed {FAULT_KINDS}")
        if not 0.0 <= float(self.fault_rate) <= 1.0:
            raise ValueError("fault_rate must be within 0..1")
        if self.scale < 1 or self.rows_per_page < 1 or self.max_concurrency < 0:
            raise ValueError("scale and rows_per_page must be >= 1, max_concurrency >= 0")
        check_quirks(self)
        return self


TUPLE_KNOBS = ("faults", "ordering_rejects", "slow_page_entities", "entity_faults", "odd_values")


def as_tuple(value: Any) -> tuple[str, ...]:
    """A comma list (CLI, admin JSON) or a sequence as a tuple of non-empty strings."""
    items = value.split(",") if isinstance(value, str) else value
    return tuple(str(v).strip() for v in items if str(v).strip())


def pairs(name: str, items: tuple[str, ...]) -> list[tuple[str, str]]:
    """`entity:value` items of a knob; ValueError naming the knob when malformed."""
    out = []
    for item in items:
        entity, sep, value = item.partition(":")
        if not sep or not entity or not value:
            raise ValueError(f"{name}: {item!r} is not entity:value")
        out.append((entity, value))
    return out


def number(name: str, value: Any, low: float, high: float = float("inf")) -> float:
    """A finite number within low..high, or ValueError naming the knob."""
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, not {value!r}") from None
    if not low <= out <= high:
        raise ValueError(f"{name} must be within {low:g}..{high:g}, not {value!r}")
    return out


def check_quirks(cfg: SandboxConfig) -> None:
    """Validate the real-tenant/hostile knobs (each error names its knob)."""
    for entity, rule in pairs("ordering_rejects", cfg.ordering_rejects):
        if rule not in ORDERING_RULES:
            raise ValueError(f"ordering_rejects: rule {rule!r} of {entity} not in {ORDERING_RULES}")
    for entity, status in pairs("entity_faults", cfg.entity_faults):
        if not status.isdigit() or not 400 <= int(status) <= 599:
            raise ValueError(f"entity_faults: status {status!r} of {entity} must be 400..599")
    unknown = sorted(set(cfg.odd_values) - {"*"} - {e.name for e in ENTITIES if e.exposed})
    if unknown:
        raise ValueError(f"odd_values: unknown entities {unknown} (entity names, or * for all)")
    number("slow_page_rows", cfg.slow_page_rows, 0)
    number("slow_page_delay_s", cfg.slow_page_delay_s, 0)
    number("trickle_bytes_per_s", cfg.trickle_bytes_per_s, 0)
    number("retry_after_s", cfg.retry_after_s, 0)
    cfg.later_page_404 = str(cfg.later_page_404)
    if cfg.later_page_404 not in ("off", "once"):
        number("later_page_404 (off | once | a rate)", cfg.later_page_404, 0, 1)
    text = cfg.retry_after
    if not isinstance(text, str) or any(c in text for c in "\r\n\0") or not text.isascii():
        raise ValueError("retry_after must be one line of ASCII text (a raw header value)")
    if bool(cfg.tls_certfile) != bool(cfg.tls_keyfile):
        raise ValueError("tls_certfile and tls_keyfile go together (both paths, or both empty)")
    for name in ("tls_certfile", "tls_keyfile"):
        path = getattr(cfg, name)
        if path and not os.path.isfile(path):
            raise ValueError(f"{name}: no such file {path!r}")


def knob_names() -> list[str]:
    """Names of all knobs."""
    return [f.name for f in dataclasses.fields(SandboxConfig)]


@dataclass(frozen=True)
class User:
    """An API user: read permission, eligible facilities/companies, default-facility zone."""

    name: str
    password: str
    read: bool = True
    facilities: frozenset[int] | None = None  # None = all
    companies: frozenset[int] | None = None
    tz: str = "America/New_York"  # default facility DC01
    denied: frozenset[str] = frozenset()  # entities without read permission


USERS = {
    u.name: u
    for u in (
        User("admin", "admin-password"),
        User(
            "limited",
            "limited-password",
            facilities=frozenset({1}),
            companies=frozenset({1}),
            denied=frozenset({"user"}),
        ),
        User("noaccess", "noaccess-password", read=False),
        User("saopaulo", "saopaulo-password", tz="America/Sao_Paulo"),  # default facility DC02
    )
}


@dataclass
class RequestLogEntry:
    """One request the sandbox answered (or dropped)."""

    method: str
    path: str
    query: dict[str, str]
    status: int
    user: str = ""


@dataclass
class State:
    """Everything the app mutates; one SQLite connection guarded by `lock`."""

    config: SandboxConfig
    initial: SandboxConfig = field(init=False)
    lock: threading.RLock = field(default_factory=threading.RLock)
    tokens: dict[str, tuple[str, float]] = field(default_factory=dict)
    log: list[RequestLogEntry] = field(default_factory=list)
    inflight: int = 0
    last_us: int = 0
    conn: sqlite3.Connection = field(init=False)
    pristine: sqlite3.Connection = field(init=False)
    built_for: tuple[int, int] = field(init=False)
    rng: random.Random = field(init=False)
    runner: Any = None  # (thread, stop event, totals) of the continuous activity simulator
    bursts: int = 0  # seeds the activity row picks reproducibly
    closing: threading.Event = field(default_factory=threading.Event)  # server stopping: cut waits
    failed_once: set[str] = field(default_factory=set)  # listings whose later page 404'd (once)
    odd_rows: dict[str, Any] = field(default_factory=dict)  # entity -> its odd rows (quirks.odd_rows)

    def __post_init__(self) -> None:
        self.config.validated()
        self.initial = dataclasses.replace(self.config)
        self.pristine = data.build(self.config.seed, self.config.scale)
        self.built_for = (self.config.seed, self.config.scale)
        self.conn = data.copy_of(self.pristine)
        self.rng = random.Random(self.config.seed)

    def configure(self, **knobs: Any) -> SandboxConfig:
        """Change knobs at run time; a new seed or scale regenerates the data."""
        unknown = set(knobs) - set(knob_names())
        if unknown:
            raise ValueError(f"unknown knobs: {sorted(unknown)}")
        new = dataclasses.replace(self.config, **knobs).validated()
        with self.lock:
            self.config = new
            if "seed" in knobs:
                self.rng = random.Random(new.seed)
            if (new.seed, new.scale) != self.built_for:
                self.reload_data()
        return new

    def reload_data(self) -> None:
        """Restore the pristine seed (regenerate when seed/scale changed)."""
        with self.lock:
            if (self.config.seed, self.config.scale) != self.built_for:
                self.pristine.close()
                self.pristine = data.build(self.config.seed, self.config.scale)
                self.built_for = (self.config.seed, self.config.scale)
            self.conn.close()
            self.conn = data.copy_of(self.pristine)
            self.bursts = 0
            self.odd_rows.clear()

    def reset(self) -> None:
        """Initial knobs, pristine data, no tokens, empty log."""
        with self.lock:
            self.config = dataclasses.replace(self.initial)
            self.rng = random.Random(self.config.seed)
            self.reload_data()
            self.tokens.clear()
            self.log.clear()
            self.failed_once.clear()

    def now_us(self) -> int:
        """Wall-clock UTC microseconds, strictly increasing across calls."""
        with self.lock:
            self.last_us = max(time.time_ns() // 1000, self.last_us + 1)
            return self.last_us

    def pick_fault(self) -> str:
        """Seeded, reproducible fault draw for one API request ('' = none)."""
        cfg = self.config
        with self.lock:
            if cfg.fault_rate <= 0 or not cfg.faults:
                return ""
            hit = self.rng.random() < cfg.fault_rate
            return self.rng.choice(sorted(cfg.faults)) if hit else ""

    def retry_after(self) -> bytes:
        """The Retry-After value of 429/503 answers: the raw knob, or retry_after_s."""
        cfg = self.config
        return (cfg.retry_after or str(cfg.retry_after_s)).encode()

    def draw(self, rate: float) -> bool:
        """A seeded yes/no with probability `rate` (same generator as the fault draw)."""
        with self.lock:
            return rate > 0 and self.rng.random() < rate
