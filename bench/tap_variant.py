"""This tap with levers switched by environment variables (bench only, not a user setting).

BENCH_WRITER=singer|msgspec|buffered   Singer writer (default: the tap's)
BENCH_CONFORMANCE=RECURSIVE|ROOT_ONLY|NONE   the SDK's TYPE_CONFORMANCE_LEVEL (default: the tap's)
Requests in flight are the `concurrency` setting (1: one request at a time).
Contender (b) "SDK defaults" is BENCH_WRITER=singer BENCH_CONFORMANCE=RECURSIVE with concurrency 1.
"""

from __future__ import annotations

import os
from typing import Any

from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.singerlib.messages import SingerWriter

from tap_oracle_wms.cli import main
from tap_oracle_wms.output import BufferedMsgSpecWriter
from tap_oracle_wms.tap import TapOracleWMS

WRITERS = {"singer": SingerWriter, "msgspec": MsgSpecWriter, "buffered": BufferedMsgSpecWriter}
WRITER = os.environ.get("BENCH_WRITER")
CONFORMANCE = os.environ.get("BENCH_CONFORMANCE")


class VariantTap(TapOracleWMS):
    """TapOracleWMS with the bench's levers applied to every stream."""

    message_writer_class = WRITERS[WRITER] if WRITER else TapOracleWMS.message_writer_class

    def make_stream(self, name: str, schema: dict[str, Any]) -> Any:
        stream = super().make_stream(name, schema)
        if CONFORMANCE:
            stream.TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel[CONFORMANCE]
        return stream


if __name__ == "__main__":
    main(tap_class=VariantTap)
