"""Which table versions are known complete, so that older rows may go.

Why a ledger and not "delete at ACTIVATE_VERSION": Singer SDK taps announce a version
*before* its records (and child streams announce it again per parent), while this
repository's tap activates it *after* them. Only the second says the version is complete;
a delete after an announcement removes every row the sync has not re-read yet, or all of
them when the tap dies after one record (the target's input still ends normally).

The rule: version v of a table is complete when an ACTIVATE_VERSION of v arrives after
records of v and no record of v follows it. Rows from BATCH files carry no version: files
with no version announced before them, then an ACTIVATE_VERSION of v, are v's records (this
repository's tap with `batch_config`). Anything else deletes nothing. Decided at the end of
the input, after every batch is committed.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field


@dataclass
class _Version:
    has_records: bool = False
    activated: bool = False
    announced_before_records: bool = False
    complete: bool = False


@dataclass
class _Table:
    versions: dict[int, _Version] = field(default_factory=dict)
    latest_activated: int | None = None
    unversioned_rows: bool = False  # BATCH rows loaded since the last activation, with no version

    def of(self, version: int) -> _Version:
        return self.versions.setdefault(version, _Version())


class VersionLedger:
    """Records and activations per table, in input order; thread-safe."""

    def __init__(self) -> None:
        self._tables: dict[str, _Table] = {}
        self._lock = threading.Lock()

    def _table(self, table: str) -> _Table:
        return self._tables.setdefault(table, _Table())

    def record(self, table: str, version: int) -> None:
        """A row of ``version`` arrived: an earlier activation of it was not its end."""
        with self._lock:
            entry = self._table(table).of(version)
            entry.has_records = True
            entry.complete = False

    def unversioned(self, table: str) -> None:
        """Rows from a BATCH file arrived before any version was announced for ``table``."""
        with self._lock:
            self._table(table).unversioned_rows = True

    def activate(self, table: str, version: int) -> None:
        """An ACTIVATE_VERSION of ``version`` arrived."""
        with self._lock:
            state = self._table(table)
            state.latest_activated = version
            entry = state.of(version)
            entry.activated = True
            if state.unversioned_rows and not entry.announced_before_records:
                entry.has_records = True  # the files before it were this version's rows
            state.unversioned_rows = False
            if entry.has_records:
                entry.complete = True
            else:
                entry.announced_before_records = True

    def latest_activated(self, table: str) -> int | None:
        """The version most recently activated for ``table`` (what BATCH rows belong to)."""
        with self._lock:
            return self._table(table).latest_activated

    def complete(self, table: str) -> int | None:
        """The newest version of ``table`` known complete, or None."""
        with self._lock:
            versions = self._table(table).versions
            done = [v for v, e in versions.items() if e.complete and not e.announced_before_records]
            return max(done, default=None)

    def never_activated(self, table: str) -> list[int]:
        """Versions of ``table`` that records carried and no ACTIVATE_VERSION named.

        A tap that stamps versions activates the ones it finished.
        """
        with self._lock:
            versions = self._table(table).versions
            return sorted(v for v, e in versions.items() if e.has_records and not e.activated)

    def incomplete(self, table: str) -> list[int]:
        """Versions of ``table`` that were activated but are not known complete."""
        with self._lock:
            versions = self._table(table).versions
            return sorted(
                v
                for v, e in versions.items()
                if e.activated and (e.announced_before_records or not e.complete)
            )
