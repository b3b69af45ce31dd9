"""One tap run's shared state: its start instant, one authenticator, one page engine, what went wrong."""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from singer_sdk.exceptions import FatalAPIError

from tap_oracle_wms.engine import BUFFER_PAGES, Engine
from tap_oracle_wms.lgfapi.auth import make_authenticator
from tap_oracle_wms.lgfapi.wire import UTC
from tap_oracle_wms.progress import Progress

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from singer_sdk.authenticators import BasicAuthenticator

    from tap_oracle_wms.engine import Source
    from tap_oracle_wms.lgfapi.auth import WMSOAuthAuthenticator


class StreamsFailedError(FatalAPIError):
    """The run read every stream it could; these failed for good (exit code 1, each named)."""

    def __init__(self, failures: dict[str, str]) -> None:
        count = f"{len(failures)} stream{'s' if len(failures) > 1 else ''}"
        detail = "; ".join(f"{name}: {why}" for name, why in failures.items())
        super().__init__(f"{count} failed, the others are complete: {detail}")
        self.failures = failures


@dataclass
class SyncRun:
    """What every stream of one tap run shares; the tap creates it, streams only read from it."""

    config: Mapping[str, Any]
    # The streams in the order the SDK syncs them, for the engine to read ahead.
    upcoming: Callable[[], Sequence[Source]] | None = None
    started_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(UTC))
    lock: threading.RLock = field(default_factory=threading.RLock)
    # Held while the ordering probe is on the wire (never while holding `lock`).
    probe_lock: threading.Lock = field(default_factory=threading.Lock)
    # Whether sequenced mode keeps our `ordering` (docs/lgfapi.md 2.2 GAP): probed once a run
    # (None: not known yet, probed again by the next stream).
    ordering_honoured: bool | None = None
    # The entity API answered at base_url (checked once, before the first listing).
    api_checked: bool = False
    # Streams that failed for good, and why: the run goes on, then exits non-zero naming them.
    failures: dict[str, str] = field(default_factory=dict)
    errors: dict[str, BaseException] = field(default_factory=dict)
    # The tap's message writer, told when a stream's records are complete (ACTIVATE_VERSION).
    writer: Any = None
    # Counts per stream and the lines a person watching the run reads.
    progress: Progress = field(default_factory=Progress)
    _authenticator: BasicAuthenticator | WMSOAuthAuthenticator | None = None
    _engine: Engine | None = None

    @property
    def authenticator(self) -> BasicAuthenticator | WMSOAuthAuthenticator:
        """One authenticator per run, so every stream shares one OAuth2 token."""
        with self.lock:
            if self._authenticator is None:
                self._authenticator = make_authenticator(self.config)
            return self._authenticator

    @property
    def engine(self) -> Engine:
        """The run's page engine: `concurrency` requests in flight, ~4 pages each buffered."""
        with self.lock:
            if self._engine is None:
                concurrency = int(self.config["concurrency"])
                buffer_rows = concurrency * BUFFER_PAGES * int(self.config["page_size"])
                self._engine = Engine(concurrency, buffer_rows, self.upcoming)
            return self._engine

    def check_api(self, fetch: Callable[[str], Any]) -> None:
        """Once a run: the entity catalog must answer at base_url, or nothing can be read there."""
        with self.lock:
            if not self.api_checked:
                fetch("entity/")
                self.api_checked = True

    def fail(self, stream: str, error: BaseException) -> None:
        """Remember a stream that failed for good; the other streams go on."""
        with self.lock:
            self.failures.setdefault(stream, " ".join(str(error).split()))
            self.errors.setdefault(stream, error)
        self.progress.note(stream, "failed")

    def complete(self, streams: list[str]) -> None:
        """A stream's records are all out: its ACTIVATE_VERSION may follow them now."""
        release = getattr(self.writer, "release_activation", None)
        if release is not None:
            release(streams)

    def raise_failures(self) -> None:
        """End the run non-zero if a stream failed, naming each one and why."""
        if self.failures:
            raise StreamsFailedError(dict(self.failures))

    def close(self) -> None:
        """End the engine's workers; the run is over (normally, by an error, or by a signal)."""
        with self.lock:
            engine, self._engine = self._engine, None
        if engine is not None:
            engine.close()
        close = getattr(self._authenticator, "close", None)  # the OAuth2 token session
        if close is not None:
            close()
