"""This tap with levers switched by environment variables (bench only, not a user setting).

BENCH_WRITER=singer|msgspec|buffered   Singer writer (default: the tap's)
BENCH_CONFORMANCE=RECURSIVE|ROOT_ONLY|NONE   the SDK's TYPE_CONFORMANCE_LEVEL (default: the tap's)
BENCH_PREFETCH=0|1   0: the SDK's request_records, one request at a time (default 1)
Contender (b) "SDK defaults" is BENCH_WRITER=singer BENCH_CONFORMANCE=RECURSIVE BENCH_PREFETCH=0.
"""

from __future__ import annotations

import os
import types
from typing import Any

from singer_sdk import RESTStream, Tap
from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.singerlib.messages import SingerWriter

from tap_oracle_wms.cli import run_cli
from tap_oracle_wms.output import BufferedMsgSpecWriter
from tap_oracle_wms.tap import TapOracleWMS

WRITERS = {"singer": SingerWriter, "msgspec": MsgSpecWriter, "buffered": BufferedMsgSpecWriter}
WRITER = os.environ.get("BENCH_WRITER")
CONFORMANCE = os.environ.get("BENCH_CONFORMANCE")
PREFETCH = os.environ.get("BENCH_PREFETCH", "1") != "0"


class VariantTap(TapOracleWMS):
    """TapOracleWMS with the bench's levers applied to every stream."""

    message_writer_class = WRITERS[WRITER] if WRITER else TapOracleWMS.message_writer_class

    def make_stream(self, name: str, schema: dict[str, Any]) -> Any:
        stream = super().make_stream(name, schema)
        if CONFORMANCE:
            stream.TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel[CONFORMANCE]
        if not PREFETCH:
            stream.request_records = types.MethodType(RESTStream.request_records, stream)
        return stream

    def sync_all(self) -> None:
        if PREFETCH:
            super().sync_all()
            return
        try:
            Tap.sync_all(self)
        finally:
            flush = getattr(self.message_writer, "flush", None)
            if flush is not None:
                flush()


if __name__ == "__main__":
    run_cli(VariantTap)
