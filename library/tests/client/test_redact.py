"""Tests of the masking that diagnostics and ``aioswitchvox capture`` apply to what the PBX sent."""

import pytest

from aioswitchvox import ReceivedMessage, redact


def test_recorded_messages_edge_cases(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cut or odd messages are summarised; answers without an error are left out."""
    answer = ReceivedMessage(0, '2["response",{"result":true}]')
    assert redact.recorded_message(answer, "") is None
    cut = redact.recorded_message(ReceivedMessage(0, '2["notification",{"a":"555'), "")
    assert cut is not None
    assert cut.unparsed == '#["notification",{"a":"###'
    assert cut.length == 26
    assert cut.event is cut.payload is None
    assert cut.as_json() == {"at": cut.at.isoformat(), "unparsed": cut.unparsed, "length": 26}
    assert redact.recorded_message(ReceivedMessage(0, "0{}"), "") is None
    message = redact.recorded_message(
        ReceivedMessage(0, '2["notification",{"number":12,"sid":"x","ok":true,"name":"Al"}]'), ""
    )
    assert message is not None
    assert message.event == "notification"
    assert message.payload == {"number": "**", "sid": "**REDACTED**", "ok": True, "name": "**"}
    monkeypatch.setattr(redact, "MASK_CALLER_DATA", False)
    message = redact.recorded_message(
        ReceivedMessage(0, '2["notification",{"number":"5551234"}]'), ""
    )
    assert message is not None
    assert message.payload == {"number": "5551234"}


def test_decoded_events() -> None:
    """Only socket.io EVENT packets are decoded; one named by no text is unparsed."""
    assert redact.recorded_message(ReceivedMessage(0, '42["notification",{}]'), "") is None
    odd = redact.recorded_message(ReceivedMessage(0, '2[7,{"a":1}]'), "")
    assert odd is not None
    assert odd.unparsed == '#[#,{"a":#}]'
    error = redact.recorded_message(
        ReceivedMessage(1.5, '2["response",{"id":1,"error":{"message":"no s3cret"}}]'), "s3cret"
    )
    assert error is not None
    assert error.as_json() == {
        "at": "1970-01-01T00:00:01.500000+00:00",
        "event": "response",
        "payload": {"id": 1, "error": {"message": "no **REDACTED**"}},
    }
