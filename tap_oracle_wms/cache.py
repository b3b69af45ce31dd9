"""Describe payloads kept on disk between runs, so a two-hourly sync does not describe 300 entities.

The cache is its user's own: by default under XDG_CACHE_HOME (or ~/.cache), the directory 0700
and every file 0600. It trusts nothing it reads back: a file of another owner or tenant, or an
entry of the wrong shape, whose payload does not match its digest, or dated in the future, is
ignored (one warning), described again and rewritten.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import os
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping

logger = logging.getLogger("tap-oracle-wms")

FORMAT = 1
# An entry may be dated this far ahead of this machine's clock (another host shared the cache).
CLOCK_SKEW_SECONDS = 300
_ENTRY_KEYS = {"at", "digest", "describe"}


def default_directory() -> Path:
    """The user's cache directory: $XDG_CACHE_HOME (if absolute, per the spec) or ~/.cache."""
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    root = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return root / "tap-oracle-wms"


def digest(tenant: str, name: str, describe: Any) -> str:
    """What binds a payload to its entity and tenant: a hand-edited entry no longer matches it."""
    text = json.dumps([tenant, name, describe], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _is_mine(stat: os.stat_result) -> bool:
    """Owned by this user and writable by nobody else."""
    owner_ok = not hasattr(os, "getuid") or stat.st_uid == os.getuid()
    return owner_ok and not stat.st_mode & 0o022


class DescribeCache:
    """Describe payloads on disk with a time-to-live, keyed by tenant URL and API user.

    The SDK runs discovery on every sync; this keeps a two-hourly run from describing
    hundreds of entities each time.
    """

    def __init__(self, directory: str | None, ttl_seconds: int, tenant_key: str) -> None:
        self.ttl = ttl_seconds
        self.own_directory = not directory  # ours to create and keep owner-only
        self.folder = Path(directory) if directory else default_directory()
        self.tenant = hashlib.sha256(tenant_key.encode()).hexdigest()
        self.path = self.folder / f"describe-{self.tenant[:16]}.json"

    def load(self) -> dict[str, Any]:
        """Return the cached payloads that are valid and still fresh; warn once about bad ones."""
        if self.ttl <= 0:
            return {}
        entries = self.read(warn=True)
        now = time.time()
        return {name: entry["describe"] for name, entry in entries.items() if now - entry["at"] < self.ttl}

    def store(self, payloads: Mapping[str, Any]) -> None:
        """Add fresh payloads, drop bad entries, and write the file atomically and owner-only."""
        if self.ttl <= 0 or not payloads:
            return
        entries = self.read(warn=False)
        now = time.time()
        entries.update(
            {n: {"at": now, "digest": digest(self.tenant, n, p), "describe": p} for n, p in payloads.items()}
        )
        try:
            self.write({"format": FORMAT, "tenant": self.tenant, "entries": entries})
        except OSError as exc:
            logger.warning(
                "Describe cache %s cannot be written (%s); discovery goes on without it.",
                self.path,
                exc.strerror or exc,
            )

    def read(self, *, warn: bool) -> dict[str, dict[str, Any]]:
        """The file's valid entries; bad ones (or a bad file) are left out, with a warning if `warn`."""
        try:
            with self.path.open("rb") as handle:
                mine = _is_mine(os.fstat(handle.fileno()))
                data = json.loads(handle.read()) if mine else None
        except FileNotFoundError:
            return {}
        except (OSError, ValueError):
            data = None
        entries = data.get("entries") if isinstance(data, dict) else None
        if (
            not isinstance(data, dict)
            or data.get("format") != FORMAT
            or data.get("tenant") != self.tenant
            or not isinstance(entries, dict)
        ):
            if warn:
                logger.warning("Describe cache %s is unreadable or malformed; it is rewritten", self.path)
            return {}
        good = {name: entry for name, entry in entries.items() if self.valid(name, entry)}
        bad = sorted(set(entries) - set(good))
        if bad and warn:
            logger.warning(
                "Describe cache %s: ignoring the %s for %s (invalid, e.g. altered or dated in the future); "
                "it is described again and rewritten",
                self.path,
                "entry" if len(bad) == 1 else "entries",
                ", ".join(bad),
            )
        return good

    def valid(self, name: str, entry: Any) -> bool:
        """An entry of the right shape, dated no later than now, whose payload matches its digest."""
        if not isinstance(entry, dict) or set(entry) != _ENTRY_KEYS:
            return False
        at, describe = entry["at"], entry["describe"]
        if isinstance(at, bool) or not isinstance(at, (int, float)) or not math.isfinite(at):
            return False
        if at > time.time() + CLOCK_SKEW_SECONDS:
            return False
        if not isinstance(describe, dict) or not isinstance(describe.get("fields"), (dict, list)):
            return False
        return entry["digest"] == digest(self.tenant, name, describe)

    def write(self, data: dict[str, Any]) -> None:
        """Replace the file atomically (a killed run never leaves a torn one); 0600 in a 0700 folder."""
        self.prepare_folder()
        handle, tmp = tempfile.mkstemp(dir=self.folder, prefix=".describe-", suffix=".tmp")  # 0600
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(data, out, default=str)
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def prepare_folder(self) -> None:
        """Create the folder owner-only; our default folder is made owner-only again if loosened."""
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not self.own_directory:
            return
        stat = self.folder.stat()
        if hasattr(os, "getuid") and stat.st_uid != os.getuid():
            msg = f"{self.folder} belongs to another user"
            raise PermissionError(msg)
        if stat.st_mode & 0o077:
            self.folder.chmod(0o700)
