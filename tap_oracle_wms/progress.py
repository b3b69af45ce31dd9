"""What a person watching a long sync sees: a start line per stream, running totals, an end line, a summary.

The SDK's own metrics come every 60 s without totals and, in Meltano's console, without their
stream; these lines carry the stream, the rows so far and (where a count is known) a percentage.
At the end of a run a table on stderr says, per stream, what was read and anything special.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import TextIO

logger = logging.getLogger("tap-oracle-wms")

# Running totals at most this often per stream.
PROGRESS_SECONDS = 30.0


class DropRepeatedStart(logging.Filter):
    """Drops the SDK's "Starting incremental sync" line, which a partitioned stream repeats per partition.

    The stream's own start line (`Progress.start`) already says what is read, once.
    """

    PREFIX = "Starting incremental sync of"

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep every record but that line."""
        return not str(record.msg).startswith(self.PREFIX)

    @classmethod
    def install(cls, stream_logger: logging.Logger) -> None:
        """Add the filter to a stream's logger, once per process."""
        if not any(isinstance(f, cls) for f in stream_logger.filters):
            stream_logger.addFilter(cls())


@dataclass
class StreamStats:
    """One stream's counts for a run."""

    rows: int = 0
    pages: int = 0
    requests: int = 0
    retries: int = 0
    second_pass_rows: int = 0
    reread_rows: int = 0  # rows of hours the drift check read again
    skipped: int = 0  # rows read but not emitted (no usable key; each warned)
    total: int | None = None  # rows the source holds, when a count was asked
    started: float | None = None  # the stream's first request (its pages may be fetched early)
    answered: float | None = None  # the stream's last answer
    ended: float | None = None
    announced: bool = False
    last_report: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        """From the stream's first request to its last answer (so far, while it runs).

        Not to its end line: pages fetched ahead wait for the sync to reach the stream, and that
        wait is the streams before it, not this one.
        """
        if self.started is None:
            return 0.0
        if self.ended is None:
            return time.monotonic() - self.started
        return max(0.0, (self.answered or self.started) - self.started)

    def share(self) -> str:
        """The percentage read, e.g. ` (42% of ~9,000)`, when the source's count is known and not passed."""
        if not self.total or self.rows > self.total:
            return ""
        return f" ({100 * self.rows / self.total:.0f}% of ~{self.total:,})"


class Progress:
    """Per-stream counts of one run, and the lines that report them."""

    def __init__(self, every: float = PROGRESS_SECONDS) -> None:
        self.every = every
        self.began = time.monotonic()  # the run's wall clock, for the summary's total row
        self.streams: dict[str, StreamStats] = {}
        self._lock = threading.Lock()

    def of(self, stream: str) -> StreamStats:
        """The stream's counts (created on first use)."""
        with self._lock:
            return self.streams.setdefault(stream, StreamStats())

    def note(self, stream: str, text: str) -> None:
        """Something special happened to the stream (a fallback, a skip, a failure)."""
        stats = self.of(stream)
        with self._lock:
            if text not in stats.notes:
                stats.notes.append(text)

    def request(self, stream: str, *, retry: bool = False) -> None:
        """One request sent (or one retry decided)."""
        stats = self.of(stream)
        with self._lock:
            if stats.started is None:
                stats.started = stats.last_report = time.monotonic()
            if retry:
                stats.retries += 1
            else:
                stats.requests += 1

    def answered(self, stream: str) -> None:
        """An answer about the stream arrived."""
        stats = self.of(stream)
        with self._lock:
            stats.answered = time.monotonic()

    def counted(self, stream: str, rows: int) -> None:
        """The source counted one of the stream's listings: the total its percentage is of."""
        stats = self.of(stream)
        with self._lock:
            stats.total = (stats.total or 0) + rows

    def start(self, stream: str, what: str) -> None:
        """The stream begins: say once what will be read."""
        stats = self.of(stream)
        with self._lock:
            if stats.announced:
                return
            stats.announced = True
            if stats.started is None:
                stats.started = stats.last_report = time.monotonic()
        logger.info("Stream '%s': reading %s.", stream, what)

    def page(self, stream: str, rows: int, *, second_pass: bool = False, reread: bool = False) -> None:
        """A page handed to the SDK (of the backdated pass, or of hours read again); running totals."""
        stats = self.of(stream)
        stats.pages += 1
        stats.rows += rows
        if second_pass:
            stats.second_pass_rows += rows
        if reread:
            stats.reread_rows += rows
        now = time.monotonic()
        if now - stats.last_report >= self.every:
            stats.last_report = now
            logger.info(
                "Stream '%s': %s rows so far%s, %.0f s.",
                stream,
                f"{stats.rows:,}",
                stats.share(),
                stats.seconds,
            )

    def skipped(self, stream: str) -> None:
        """A row read is not emitted (each is warned): rows count what was read, this says how many."""
        self.of(stream).skipped += 1

    def end(self, stream: str) -> None:
        """The stream is complete: one line with its totals."""
        stats = self.of(stream)
        stats.ended = time.monotonic()
        logger.info(
            "Stream '%s': done, %s rows%s%s in %d pages (%d requests, %d retries), %.1f s.",
            stream,
            f"{stats.rows:,}",
            stats.share(),
            f", {stats.skipped:,} of them skipped," if stats.skipped else "",
            stats.pages,
            stats.requests,
            stats.retries,
            stats.seconds,
        )

    def summary(self, out: TextIO | None = None) -> None:
        """The run's table on stderr: stream, rows, pages, requests, retries, seconds, notes."""
        out = out or sys.stderr
        head = ("stream", "rows", "pages", "requests", "retries", "seconds", "notes")

        def notes(s: StreamStats) -> str:
            extra = [f"{s.second_pass_rows:,} backdated rows"] if s.second_pass_rows else []
            extra += [f"{s.reread_rows:,} rows re-read"] if s.reread_rows else []
            extra += [f"{s.skipped:,} rows skipped (warned)"] if s.skipped else []
            return "; ".join(s.notes + extra)

        shown = [(name, s) for name, s in sorted(self.streams.items()) if s.announced or s.notes]
        # (discovery's requests are not a stream's)
        rows = [
            (name, f"{s.rows:,}", str(s.pages), str(s.requests), str(s.retries), f"{s.seconds:.1f}", notes(s))
            for name, s in shown
        ]
        if not rows:
            return
        rows.append(
            (
                "total",
                f"{sum(s.rows for _, s in shown):,}",
                str(sum(s.pages for _, s in shown)),
                str(sum(s.requests for _, s in shown)),
                str(sum(s.retries for _, s in shown)),
                f"{time.monotonic() - self.began:.1f}",
                "seconds: the run's wall time (streams overlap)",
            )
        )
        widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
        lines = ["tap-oracle-wms run summary:"]
        for row in [head, *rows]:
            cells = [
                c.rjust(w) if 0 < i < 6 else c.ljust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            ]
            lines.append("  " + "  ".join(cells).rstrip())
        out.write("\n".join(lines) + "\n")
        out.flush()
