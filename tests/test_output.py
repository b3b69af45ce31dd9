"""The Singer writer: what reaches stdout is whole lines, whatever fails on the way."""

from __future__ import annotations

import json

import pytest
from singer_sdk.singerlib.messages import RecordMessage

from tap_oracle_wms.output import BufferedMsgSpecWriter


def test_a_message_that_cannot_be_encoded_leaves_no_partial_line(capsysbinary):
    """The record that fails to encode is not half-written: the lines around it stay whole."""
    writer = BufferedMsgSpecWriter()
    writer.write_message(RecordMessage(stream="item", record={"id": 1}))
    with pytest.raises(UnicodeEncodeError):  # a lone surrogate has no UTF-8 form
        writer.write_message(RecordMessage(stream="item", record={"id": 2, "note": "ok so far \ud800"}))
    writer.write_message(RecordMessage(stream="item", record={"id": 3}))
    writer.flush()
    lines = capsysbinary.readouterr().out.splitlines()
    assert [json.loads(line)["record"]["id"] for line in lines] == [1, 3]
