"""`tap-oracle-wms-sandbox`: serve the emulator in the foreground; every knob is a flag."""

from __future__ import annotations

import argparse
import dataclasses
import errno
import signal
import sys
import threading
from collections.abc import Sequence

from tap_oracle_wms_sandbox.state import (
    CHOICES,
    FAULT_KINDS,
    OAUTH_CLIENT,
    OAUTH_SCOPE,
    ORDERING_RULES,
    TUPLE_KNOBS,
    USERS,
    SandboxConfig,
    as_tuple,
)

NO_WEB_STACK = "the sandbox needs its web stack: pip install starlette 'uvicorn[standard]'"

HELP = {
    "seed": "seed of the synthetic data and of fault choices (same seed = same data)",
    "scale": "rows of order_dtl; every other entity is proportional (about 5x rows in all)",
    "env": "environment segment of the URL: /{env}/wms/lgfapi/v10/",
    "host": "interface to listen on",
    "port": "port to listen on (0 = any free port)",
    "latency_ms": "latency added to every API request, in milliseconds",
    "fault_rate": "probability (0..1) that an API request gets a fault",
    "faults": f"comma list of fault kinds to draw from: {','.join(FAULT_KINDS)}",
    "retry_after_s": "Retry-After seconds sent with 429 and 503 answers (see --retry-after)",
    "slow_body_s": "seconds a 'slow' fault takes to send its body",
    "max_concurrency": "API requests in flight above this are answered 429 (0 = unlimited)",
    "sequenced_ordering": "page_mode=sequenced honours `ordering`, or ignores it (id keyset)",
    "page_size_over_max": "page_size above 1250 is clamped to 1250, or rejected with 400",
    "catalog_shape": "entity/ answers a flat {name: url} object, or a JSON list of names",
    "describe_dialect": "describe field types: lgf ('relation', 'datetime', ...) or django "
    "(ForeignKey, DateTimeField, ...)",
    "datetime_output": "date-times with UTC offset, or naive local time of the user's facility",
    "token_ttl_s": "OAuth2 access-token lifetime in seconds (expires_in)",
    "rows_per_page": "default page_size (the API user's 'Rows per Page')",
    "extra_entities": "extra empty entities ext_entity_NNN in the catalog (a real tenant lists ~300)",
    "link_origin": "origin named by next_page/previous_page/url links: the one called (request), "
    "host wms-alias.invalid with the same port (alias), https://host:443 (port443), or the same "
    "host and port over https (https); path and query stay right",
    "ordering_rejects": "comma list entity:rule answering 400 on `ordering` in lists; rule desc "
    f"(a -field term), non_id (a field other than id) or any; entity * = all ({', '.join(ORDERING_RULES)})",
    "slow_page_rows": "list pages asked with page_size above this wait --slow-page-delay-s before "
    "answering (0 = off)",
    "slow_page_delay_s": "seconds a slow page waits before answering",
    "slow_page_entities": "comma list of entities whose big pages are slow (empty = all)",
    "entity_faults": "comma list entity:status; every list/retrieve/describe request of that entity "
    "answers that status (400..599) with an error body, e.g. order_dtl:500,wave:418",
    "later_page_404": "pages after the first (cursor, or page > 1) answer 404 'No records found.': "
    "off, once (first later page of each listing, its retry answers) or a seeded rate 0..1",
    "redirect_lists": "list requests answer 302 to host localhost (other_host), to the same URL "
    "plus redirected=1 (same_origin), or to http:// from an https sandbox (plain_http)",
    "retry_after": "raw Retry-After value of 429/503 answers, e.g. 100000, -1, NaN or an HTTP-date "
    "(empty = --retry-after-s)",
    "trickle_bytes_per_s": "list bodies are sent at this many bytes per second (0 = off)",
    "next_page_loop": "next_page links that loop: on (pages after the first link to themselves), "
    "alternate (the first two pages link to each other for ever, each link with a new loop=N, so "
    "no URL repeats) or fresh (pages after the first link to a new cursor, or page and loop=N, that "
    "serves the same rows again)",
    "empty_pages": "on: each page after the first first answers with no rows and a next_page to "
    "the same page (marked emptied=1), which then answers its rows",
    "echo_credentials": "on: API error bodies echo the Authorization header and the password or "
    "token in message and details",
    "token_endpoint": "the OAuth2 token endpoint answers normally, a 200 HTML page, 200 invalid "
    "JSON, a token without expires_in, or a 307 to host localhost (redirect)",
    "tls_certfile": "PEM certificate: serve https (empty = http)",
    "tls_keyfile": "PEM private key of --tls-certfile",
    "unknown_types": "on: location.geo_coords exists, with describe type 'json' that clients may "
    "not know; off: the field is absent",
    "odd_values": "comma list of entities (* = all) whose seeded rows send what real tenants were "
    "seen or feared to send, about one row in 5, in turn: a mod_ts no ISO parser reads, an id as "
    'text ("150"), ids "abc", 12.5 and true, "NaN" and "Infinity" in a decimal field; GET '
    "/_admin/odd_values/{entity} lists them; filters, ordering and counts see the stored values",
}


def parser() -> argparse.ArgumentParser:
    """Flags generated from SandboxConfig so none can be forgotten."""
    p = argparse.ArgumentParser(
        prog="tap-oracle-wms-sandbox",
        description="Local Oracle WMS Cloud lgfapi v10 emulator for tap-oracle-wms. Knobs can "
        "also be changed at run time with POST /_admin/config (JSON body).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    for f in dataclasses.fields(SandboxConfig):
        flag = "--" + f.name.replace("_", "-")
        default = f.default
        if f.name in TUPLE_KNOBS:
            p.add_argument(flag, default=",".join(map(str, tuple(default))), help=HELP[f.name])  # type: ignore[arg-type]
        elif f.name in CHOICES:
            p.add_argument(flag, default=default, choices=CHOICES[f.name], help=HELP[f.name])
        else:
            p.add_argument(flag, type=type(default), default=default, help=HELP[f.name])
    return p


def config_from(argv: Sequence[str] | None) -> SandboxConfig:
    """The knobs the flags give (comma lists as tuples); ValueError naming a bad knob."""
    args = vars(parser().parse_args(argv))
    for name in TUPLE_KNOBS:
        args[name] = as_tuple(args[name])
    return SandboxConfig(**args).validated()


def main(argv: Sequence[str] | None = None) -> int:
    """Parse flags, start the sandbox, print where it is, serve until interrupted."""
    try:
        cfg = config_from(argv)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        import starlette  # noqa: F401 - checked before the data is built
        import uvicorn  # noqa: F401
    except ModuleNotFoundError:
        print(NO_WEB_STACK, file=sys.stderr)
        return 2
    from tap_oracle_wms_sandbox.server import Sandbox

    try:
        sandbox = Sandbox(cfg).start()
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        print(f"port {cfg.port} is in use; choose another with --port", file=sys.stderr)
        return 2
    print(f"base_url   {sandbox.base_url}")
    print(f"api        {sandbox.api_url}")
    print(
        f"token_url  {sandbox.token_url}  (client {OAUTH_CLIENT[0]}/{OAUTH_CLIENT[1]}, scope {OAUTH_SCOPE})"
    )
    print(f"admin      {sandbox.root_url}/_admin/config")
    for user in USERS.values():
        print(f"user       {user.name}/{user.password}")
    sys.stdout.flush()
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    try:
        done.wait()
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
