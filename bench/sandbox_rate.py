"""Records per second the sandbox serves to one client (must be well above any tap's rate).

Usage: python bench/sandbox_rate.py [scale]   (order_dtl, page_size 1250, sequenced, no latency)
"""

from __future__ import annotations

import base64
import http.client
import statistics
import sys
import time
from urllib.parse import urlparse

import msgspec

from tap_oracle_wms_sandbox import Sandbox, SandboxConfig

AUTH = "Basic " + base64.b64encode(b"admin:admin-password").decode()


def drain(api_url: str) -> tuple[int, float]:
    """Follow next_page links over one keep-alive connection; (rows, seconds)."""
    parts = urlparse(api_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port)
    path: str | None = parts.path + "entity/order_dtl/?page_mode=sequenced&page_size=1250"
    rows = 0
    start = time.perf_counter()
    while path:
        conn.request("GET", path, headers={"Authorization": AUTH})
        page = msgspec.json.decode(conn.getresponse().read())
        rows += len(page["results"])
        link = page.get("next_page")
        path = urlparse(link)._replace(scheme="", netloc="").geturl() if link else None
    return rows, time.perf_counter() - start


def main() -> None:
    scale = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    with Sandbox(SandboxConfig(scale=scale)) as sandbox:
        runs = [drain(sandbox.api_url) for _ in range(3)]
    rows = runs[0][0]
    rates = [n / s for n, s in runs]
    print(
        f"order_dtl: {rows:,} rows x 3 runs; median {statistics.median(rates):,.0f} records/s served "
        f"(runs: {', '.join(f'{r:,.0f}' for r in rates)})"
    )


if __name__ == "__main__":
    main()
