"""Singer output: msgspec encoding with one write per ~64 KiB, and ACTIVATE_VERSION after the records.

The SDK sends a FULL_TABLE stream's ACTIVATE_VERSION before its first record, so a target with
hard_delete empties the table at the start of the weekly full sync and readers see it empty (or
partial, if the run fails) until it ends. The writer holds that message back until the stream
says its records are complete (`release_activation`); a stream that fails never releases it, so
a failed full sync deletes nothing.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, ClassVar

import msgspec
from singer_sdk.contrib.msgspec import MsgSpecWriter, enc_hook
from singer_sdk.singerlib.messages import ActivateVersionMessage, StateMessage
from typing_extensions import override

if TYPE_CHECKING:
    from collections.abc import Callable

    from singer_sdk.singerlib.encoding.simple import Message

FLUSH_BYTES = 64 * 1024
# The SDK's msgspec settings (decimals as JSON numbers), encoding straight into our buffer.
_encoder = msgspec.json.Encoder(enc_hook=enc_hook, decimal_format="number")


class OutputClosedError(BaseException):
    """The reader of stdout went away (a broken pipe): the run cannot deliver anything more.

    Not an Exception, so the SDK does not log it as an error of the stream being synced.
    """


class Writing:
    """Whether a write to stdout is under way; a signal landing then takes effect once its count is kept.

    CPython runs a signal handler as soon as a call returns: raised between `os.write` returning
    and its byte count being stored, the exception would lose the count, and the bytes already
    written would be written again (records twice, or a torn line). A handler that finds `active`
    leaves its action in `pending`, which the writer runs once the count is stored.
    """

    active: ClassVar[bool] = False
    pending: ClassVar[Callable[[], None] | None] = None

    @classmethod
    def run_pending(cls) -> None:
        """Run what a signal left while the write was under way."""
        pending, cls.pending = cls.pending, None
        if pending is not None:
            pending()


class BufferedMsgSpecWriter(MsgSpecWriter):
    """Buffers encoded lines; flushes on every STATE message and every ~64 KiB.

    A STATE line is written and flushed together with every RECORD before it, so a run
    killed at any point has never announced a bookmark whose records are still buffered.
    """

    def __init__(self) -> None:
        super().__init__()
        self._buffer = bytearray()
        self._sent = 0  # bytes of the buffer already written (a signal may cut a flush short)
        self._held: list[ActivateVersionMessage] = []
        self._closed = False  # stdout's reader went away

    @override
    def write_message(self, message: Message) -> None:
        if isinstance(message, ActivateVersionMessage):
            self._held.append(message)  # sent by release_activation, after the stream's records
            return
        self._encode(message)

    def release_activation(self, streams: list[str]) -> None:
        """The streams' records are complete: send their ACTIVATE_VERSION now."""
        for message in [m for m in self._held if m.stream in streams]:
            self._held.remove(message)
            self._encode(message)
        self.flush()

    def _encode(self, message: Message) -> None:
        buffer = self._buffer
        start = len(buffer)
        try:
            _encoder.encode_into(message.to_dict(), buffer, -1)  # appended, no intermediate copy
        except BaseException:
            del buffer[start:]  # a message that cannot be encoded leaves no torn line behind
            raise
        buffer += b"\n"
        if len(buffer) >= FLUSH_BYTES or isinstance(message, StateMessage):
            self.flush()

    def flush(self) -> None:
        """Hand everything buffered to stdout (looked up now: tests redirect it).

        On a real file descriptor each `os.write` either writes some bytes or raises having
        written none, and a signal waits until its count is stored (`Writing`), so a flush cut
        short by a signal resumes exactly where it stopped.
        """
        if not self._buffer:
            return
        if self._closed:
            self._buffer.clear()  # the reader is gone: nothing can be delivered any more
            return
        out = sys.stdout.buffer
        try:
            try:
                fd = out.fileno()
            except (OSError, ValueError):  # an in-memory stream (tests)
                out.write(self._buffer[self._sent :])
                out.flush()
            else:
                out.flush()
                with memoryview(self._buffer) as view:
                    while self._sent < len(view):
                        Writing.active = True
                        try:
                            self._sent += os.write(fd, view[self._sent :])
                        finally:
                            Writing.active = False
                        Writing.run_pending()
        except BrokenPipeError:
            self._closed = True
            self._buffer.clear()
            raise OutputClosedError from None
        self._buffer.clear()
        self._sent = 0

    def discard_partial(self) -> None:
        """Drop a message cut short by a signal while it was encoded (no newline yet), keep the rest."""
        end = self._buffer.rfind(b"\n") + 1
        del self._buffer[max(end, self._sent) :]
