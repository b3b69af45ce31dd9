"""Describe payloads kept on disk between runs, so a two-hourly sync does not describe 300 entities."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping


class DescribeCache:
    """Describe payloads on disk with a time-to-live, keyed by tenant URL and API user.

    The SDK runs discovery on every sync; this keeps a two-hourly run from describing
    hundreds of entities each time.
    """

    def __init__(self, directory: str | None, ttl_seconds: int, tenant_key: str) -> None:
        self.ttl = ttl_seconds
        root = Path(directory) if directory else Path(tempfile.gettempdir()) / "tap-oracle-wms"
        digest = hashlib.sha256(tenant_key.encode()).hexdigest()[:16]
        self.path = root / f"describe-{digest}.json"

    def load(self) -> dict[str, Any]:
        """Return the cached payloads that are still fresh."""
        if self.ttl <= 0:
            return {}
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}
        now = time.time()
        return {
            name: entry["describe"]
            for name, entry in data.items()
            if isinstance(entry, dict) and now - entry.get("at", 0) < self.ttl
        }

    def store(self, payloads: Mapping[str, Any]) -> None:
        """Write fresh payloads atomically, so a killed run never leaves a torn file."""
        if self.ttl <= 0 or not payloads:
            return
        try:
            existing = json.loads(self.path.read_text())
        except (OSError, ValueError):
            existing = {}
        now = time.time()
        existing.update({n: {"at": now, "describe": p} for n, p in payloads.items()})
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(existing))
        tmp.replace(self.path)
