"""The floor: fetch the same pages with requests, decode them, one JSON line per record.

Usage: floor.py BASE_URL ENTITY [ENTITY ...]   (sequenced mode, next_page links, page_size 1250)
"""

from __future__ import annotations

import json
import sys

import requests


def main() -> None:
    base, entities = sys.argv[1].rstrip("/"), sys.argv[2:]
    session = requests.Session()
    session.auth = ("admin", "admin-password")
    out = sys.stdout
    for entity in entities:
        url: str | None = f"{base}/wms/lgfapi/v10/entity/{entity}/"
        params: dict | None = {"page_mode": "sequenced", "page_size": 1250, "ordering": "id"}
        while url:
            response = session.get(url, params=params, timeout=120)
            if response.status_code == 404:
                break
            response.raise_for_status()
            page = json.loads(response.content)
            for row in page["results"]:
                out.write(json.dumps(row))
                out.write("\n")
            url, params = page.get("next_page"), None
    out.flush()


if __name__ == "__main__":
    main()
