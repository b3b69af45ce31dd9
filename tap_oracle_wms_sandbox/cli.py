"""`tap-oracle-wms-sandbox`: serve the emulator in the foreground; every knob is a flag."""

from __future__ import annotations

import argparse
import dataclasses
import signal
import sys
import threading
from collections.abc import Sequence

from tap_oracle_wms_sandbox.state import CHOICES, FAULT_KINDS, OAUTH_CLIENT, OAUTH_SCOPE, USERS, SandboxConfig

HELP = {
    "seed": "seed of the synthetic data and of fault choices (same seed = same data)",
    "scale": "rows of order_dtl; every other entity is proportional (about 5x rows in all)",
    "env": "environment segment of the URL: /{env}/wms/lgfapi/v10/",
    "host": "interface to listen on",
    "port": "port to listen on (0 = any free port)",
    "latency_ms": "latency added to every API request, in milliseconds",
    "fault_rate": "probability (0..1) that an API request gets a fault",
    "faults": f"comma list of fault kinds to draw from: {','.join(FAULT_KINDS)}",
    "retry_after_s": "Retry-After seconds sent with 429 and 503 answers",
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
        if f.name == "faults":
            p.add_argument(flag, default=",".join(default), help=HELP[f.name])
        elif f.name in CHOICES:
            p.add_argument(flag, default=default, choices=CHOICES[f.name], help=HELP[f.name])
        else:
            p.add_argument(flag, type=type(default), default=default, help=HELP[f.name])
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Parse flags, start the sandbox, print where it is, serve until interrupted."""
    args = vars(parser().parse_args(argv))
    args["faults"] = tuple(k for k in args["faults"].split(",") if k)
    try:
        cfg = SandboxConfig(**args).validated()
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from tap_oracle_wms_sandbox.server import Sandbox

    sandbox = Sandbox(cfg).start()
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
