"""One tap run's shared state: its start instant, one lgfapi client, one page engine, what went wrong."""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from singer_sdk import metrics
from singer_sdk.exceptions import FatalAPIError
from singer_sdk.singerlib.messages import StateMessage

from tap_oracle_wms.engine import BUFFER_PAGES, Engine
from tap_oracle_wms.lgfapi.client import Client, Hooks
from tap_oracle_wms.lgfapi.errors import reason
from tap_oracle_wms.lgfapi.wire import UTC
from tap_oracle_wms.output import BufferedMsgSpecWriter
from tap_oracle_wms.progress import Progress
from tap_oracle_wms.settings import MAX_PAGE_SIZE

if TYPE_CHECKING:
    from collections.abc import Mapping

    import requests


class StreamsFailedError(FatalAPIError):
    """The run read every stream it could; these failed for good (exit code 1, each named).

    The line says how many of the `selected` streams are complete, so "the others" never stands
    for none.
    """

    def __init__(self, failures: dict[str, str], selected: int) -> None:
        failed, selected = len(failures), max(selected, len(failures))
        detail = "; ".join(f"{name}: {why}" for name, why in failures.items())
        if failed == selected == 1:
            verdict = "the only selected stream failed"
        elif failed == selected:
            verdict = f"all {selected} selected streams failed, none is complete"
        elif selected - failed == 1:
            verdict = f"{failed} of {selected} streams failed, the other is complete"
        else:
            verdict = f"{failed} of {selected} streams failed, the other {selected - failed} are complete"
        super().__init__(f"{verdict}: {detail}")
        self.failures = failures


@dataclass
class SyncRun:
    """What every stream of one tap run shares; the tap creates it, streams only read from it."""

    config: Mapping[str, Any]
    # The tap's message writer when it holds ACTIVATE_VERSION back until a stream's records are out.
    writer: BufferedMsgSpecWriter | None = None
    started_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(UTC))
    lock: threading.RLock = field(default_factory=threading.RLock)
    # Streams that failed for good, and why: the run goes on, then exits non-zero naming them.
    failures: dict[str, str] = field(default_factory=dict)
    errors: dict[str, BaseException] = field(default_factory=dict)
    # Counts per stream and the lines a person watching the run reads.
    progress: Progress = field(default_factory=Progress)
    _client: Client | None = None
    _engine: Engine | None = None

    @property
    def client(self) -> Client:
        """The run's one lgfapi client (discovery and every stream): one session, one OAuth2 token."""
        with self.lock:
            if self._client is None:
                hooks = Hooks(
                    request=self.count_request,
                    answered=self.answered,
                    note=self.progress.note,
                    counted=self.progress.counted,
                )
                self._client = Client(self.config, hooks)
            return self._client

    @property
    def engine(self) -> Engine:
        """The run's page engine: `concurrency` requests in flight, 4 full pages (1,250 rows) each buffered.

        A budget of rows, not of pages: memory goes by rows, and at a small page_size a budget of
        pages left the workers idle behind one slow range (the read-ahead ran out).
        """
        with self.lock:
            if self._engine is None:
                concurrency = int(self.config["concurrency"])
                buffer_rows = concurrency * BUFFER_PAGES * MAX_PAGE_SIZE
                self._engine = Engine(concurrency, buffer_rows)
            return self._engine

    def answered(self, entity: str | None, response: requests.Response) -> None:
        """An answer arrived: its metric, and the entity's last answer for its seconds."""
        log_request_metric(entity, response)
        if entity is not None:
            self.progress.answered(entity)

    def count_request(self, stream: str, retry: bool) -> None:
        """One request (or retry) of a stream, for its progress counts."""
        self.progress.request(stream, retry=retry)

    def fail(self, stream: str, error: BaseException) -> None:
        """Remember a stream that failed for good; the other streams go on."""
        with self.lock:
            self.failures.setdefault(stream, reason(error))
            self.errors.setdefault(stream, error)
        self.progress.note(stream, "failed")

    def complete(self, streams: list[str]) -> None:
        """A stream's records are all out: its ACTIVATE_VERSION may follow them now."""
        if self.writer is not None:
            self.writer.release_activation(streams)

    def write_state(self, state: Mapping[str, Any]) -> None:
        """A STATE message now (BATCH output ends with one after ACTIVATE_VERSION, as RECORD output)."""
        if self.writer is not None:
            self.writer.write_message(StateMessage(value=dict(state)))

    def raise_failures(self, selected: int) -> None:
        """End the run non-zero if any of the `selected` streams failed, naming each one and why."""
        if self.failures:
            raise StreamsFailedError(dict(self.failures), selected)

    def close(self) -> None:
        """End the engine's workers and the client's connections; the run is over."""
        with self.lock:
            engine, self._engine = self._engine, None
            client, self._client = self._client, None
        if engine is not None:
            engine.close()
        if client is not None:
            client.close()


def log_request_metric(entity: str | None, response: requests.Response) -> None:
    """The SDK's request-duration metric, tagged with the entity the request was about."""
    endpoint = urlparse(response.url).path.split("/wms/lgfapi/", 1)[-1].split("/", 1)[-1]
    status = response.status_code
    ok = status < HTTPStatus.BAD_REQUEST or status == HTTPStatus.NOT_FOUND  # a list 404 is no failure
    tags: dict[str, Any] = {} if entity is None else {metrics.Tag.STREAM: entity}
    tags[metrics.Tag.ENDPOINT] = endpoint
    tags[metrics.Tag.HTTP_STATUS_CODE] = status
    tags[metrics.Tag.STATUS] = metrics.Status.SUCCEEDED if ok else metrics.Status.FAILED
    point = metrics.Point(
        "timer",
        metric=metrics.Metric.HTTP_REQUEST_DURATION,
        value=response.elapsed.total_seconds(),
        tags=tags,
    )
    metrics.log(metrics.get_metrics_logger(), point)
