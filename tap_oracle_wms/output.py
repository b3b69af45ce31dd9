"""Singer output: msgspec encoding with one write per ~64 KiB instead of one per message."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import msgspec
from singer_sdk.contrib.msgspec import MsgSpecWriter, enc_hook
from singer_sdk.singerlib.messages import StateMessage
from typing_extensions import override

if TYPE_CHECKING:
    from singer_sdk.singerlib.encoding.simple import Message

FLUSH_BYTES = 64 * 1024
# The SDK's msgspec settings (decimals as JSON numbers), encoding straight into our buffer.
_encoder = msgspec.json.Encoder(enc_hook=enc_hook, decimal_format="number")


class BufferedMsgSpecWriter(MsgSpecWriter):
    """Buffers encoded lines; flushes on every STATE message and every ~64 KiB.

    A STATE line is written and flushed together with every RECORD before it, so a run
    killed at any point has never announced a bookmark whose records are still buffered.
    """

    def __init__(self) -> None:
        super().__init__()
        self._buffer = bytearray()

    @override
    def write_message(self, message: Message) -> None:
        buffer = self._buffer
        _encoder.encode_into(message.to_dict(), buffer, -1)  # appended, no intermediate copy
        buffer += b"\n"
        if len(buffer) >= FLUSH_BYTES or isinstance(message, StateMessage):
            self.flush()

    def flush(self) -> None:
        """Hand everything buffered to stdout (looked up now: tests redirect it)."""
        if self._buffer:
            out = sys.stdout.buffer
            out.write(self._buffer)
            self._buffer.clear()
            out.flush()
