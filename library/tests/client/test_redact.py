"""Tests of the masking that diagnostics and ``aioswitchvox capture`` apply to what the PBX sent."""

import pytest

from aioswitchvox import ReceivedMessage, redact


def test_recorded_messages_edge_cases(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cut or odd messages are summarised; answers without an error are left out."""
    answer = ReceivedMessage(0, '2["response",{"result":true}]')
    assert redact.recorded_message(answer, "") is None
    cut = redact.recorded_message(ReceivedMessage(0, '2["notification",{"a":"555'), "")
    assert cut is not None
    assert cut["unparsed"] == '#["notification",{"a":"###'
    assert cut["length"] == 26
    assert redact.recorded_message(ReceivedMessage(0, "0{}"), "") is None
    message = redact.recorded_message(
        ReceivedMessage(0, '2["notification",{"number":12,"sid":"x","ok":true,"name":"Al"}]'), ""
    )
    assert message is not None
    assert message["payload"] == {"number": "**", "sid": "**REDACTED**", "ok": True, "name": "**"}
    monkeypatch.setattr(redact, "MASK_CALLER_DATA", False)
    message = redact.recorded_message(
        ReceivedMessage(0, '2["notification",{"number":"5551234"}]'), ""
    )
    assert message is not None
    assert message["payload"] == {"number": "5551234"}
