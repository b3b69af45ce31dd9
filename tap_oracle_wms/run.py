"""One tap run's shared state: its start instant, one authenticator, one page engine, what went wrong."""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tap_oracle_wms.auth import make_authenticator
from tap_oracle_wms.engine import BUFFER_PAGES, Engine
from tap_oracle_wms.lgfapi import UTC

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from singer_sdk.authenticators import BasicAuthenticator

    from tap_oracle_wms.auth import WMSOAuthAuthenticator
    from tap_oracle_wms.engine import Source


@dataclass
class SyncRun:
    """What every stream of one tap run shares; the tap creates it, streams only read from it."""

    config: Mapping[str, Any]
    # The streams in the order the SDK syncs them, for the engine to read ahead.
    upcoming: Callable[[], list[Source]] | None = None
    started_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(UTC))
    lock: threading.RLock = field(default_factory=threading.RLock)
    # Whether sequenced mode keeps our `ordering` (docs/lgfapi.md 2.2 GAP): probed once a run.
    ordering_honoured: bool | None = None
    ordering_probed: bool = False
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

    def close(self) -> None:
        """End the engine's workers; the run is over (normally, by an error, or by a signal)."""
        with self.lock:
            engine, self._engine = self._engine, None
        if engine is not None:
            engine.close()
