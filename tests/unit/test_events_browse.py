"""Browsing pending events to show them, against a scripted STOMP broker."""

from __future__ import annotations

import socket

import pytest
from stomp_peer import ScriptedBroker, drop, end_frame, message_frame, stay_until_disconnect

from syncwizard.clients.events import browse_pending
from syncwizard.errors import SyncWizardError


def sends(count: int, then_end: bool) -> object:
    def script(peer: ScriptedBroker, connection: socket.socket, subscription: str) -> None:
        for number in range(count):
            connection.sendall(message_frame(subscription, number))
        if then_end:
            connection.sendall(end_frame(subscription))
            stay_until_disconnect(peer, connection)
        else:
            drop(connection)

    return script


async def test_a_browse_returns_the_events_until_the_end_frame() -> None:
    peer = ScriptedBroker(sends(3, then_end=True))  # type: ignore[arg-type]
    try:
        events = await browse_pending(peer.url, "admin", "admin", "Q", limit=None)
    finally:
        peer.close()
    assert [event.message_id for event in events] == ["ID:fake-0", "ID:fake-1", "ID:fake-2"]
    assert peer.subscribe_headers["browser"] == "true"


async def test_a_browse_cut_short_is_an_error() -> None:
    peer = ScriptedBroker(sends(2, then_end=False))  # type: ignore[arg-type]
    try:
        with pytest.raises(SyncWizardError) as caught:
            await browse_pending(peer.url, "admin", "admin", "Q", limit=None)
    finally:
        peer.close()
    assert caught.value.system == "stomp"
    assert "stopped after 2 messages" in caught.value.message
